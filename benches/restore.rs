//! Backup and restore time for 100,000 applications:
//!
//!     cargo bench --bench restore      # FP_BENCH_APPLICATIONS=100000, FP_BENCH_RUNS=3
//!
//! A scratch database filled by `demo-data --applications N`; every generated application then
//! gets the sections, submitted revision and history of the first filed demo application (SQL), as
//! if each had been filed through the pages. Then `foerderportal backup` and `foerderportal
//! restore` (into a new database) run in their own processes, timed; the files in the store
//! come on top at its throughput (`cargo bench --bench storage`).
// Reports: durations as floating-point seconds.
#![allow(clippy::cast_precision_loss)]

use std::process::{Command, Stdio};
use std::time::Instant;

use foerderportal::database::Server;
use sqlx::{Connection, PgConnection};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let number = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let applications = number("FP_BENCH_APPLICATIONS", 100_000);
    let runs = number("FP_BENCH_RUNS", 3);
    let server = Server::from_env_or_local(std::path::Path::new("var")).await?;
    let source = format!("fp_bench_restore_{}", std::process::id());
    let url = server.url_of(&source);
    let status = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
        .args(["demo-data", "--applications", &applications.to_string()])
        .env("DATABASE_URL", &url)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "loading the demo data failed");
    let size = fill(&url).await?;
    println!("({applications} applications, {size} in the database)");
    println!(
        "{:<6} {:>12} {:>10} {:>12}",
        "run", "backup s", "dump MB", "restore s"
    );
    let scratch = std::env::temp_dir().join(&source);
    let mut admin = PgConnection::connect_with(&server.options).await?;
    for run in 1..=runs {
        let dir = scratch.join(format!("backup-{run}"));
        let started = Instant::now();
        cli(&url, &["backup", &dir.to_string_lossy()])?;
        let backup = started.elapsed().as_secs_f64();
        let dump = std::fs::metadata(dir.join("database.dump"))?.len() as f64 / 1e6;
        let target = format!("{source}_restored_{run}");
        let started = Instant::now();
        cli(
            &server.url_of(&target),
            &["restore", &dir.to_string_lossy()],
        )?;
        let restore = started.elapsed().as_secs_f64();
        println!("{run:<6} {backup:>12.1} {dump:>10.1} {restore:>12.1}");
        sqlx::query(&format!("DROP DATABASE \"{target}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
    }
    sqlx::query(&format!("DROP DATABASE \"{source}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn cli(database_url: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Gives every generated application the sections, revision and history of the first filed
/// demo application; returns the database's size.
async fn fill(url: &str) -> anyhow::Result<String> {
    let mut db = PgConnection::connect(url).await?;
    let model: i64 = sqlx::query_scalar(
        "SELECT application_id FROM application_revisions ORDER BY application_id LIMIT 1",
    )
    .fetch_one(&mut db)
    .await?;
    for sql in [
        "INSERT INTO application_sections (application_id, section, answers, version, reopened, updated_by, updated_at)
         SELECT a.id, s.section, s.answers, s.version, s.reopened, s.updated_by, s.updated_at
         FROM applications a CROSS JOIN application_sections s
         WHERE s.application_id = $1 ON CONFLICT DO NOTHING",
        "INSERT INTO application_revisions (application_id, number, answers, submitted_at, submitted_by)
         SELECT a.id, r.number, r.answers, r.submitted_at, r.submitted_by
         FROM applications a CROSS JOIN application_revisions r
         WHERE r.application_id = $1 ON CONFLICT DO NOTHING",
        "INSERT INTO application_events (application_id, at, kind, from_status, to_status, actor_id, message, details)
         SELECT a.id, e.at, e.kind, e.from_status, e.to_status, e.actor_id, e.message, e.details
         FROM applications a CROSS JOIN application_events e
         WHERE e.application_id = $1 AND a.id <> $1
           AND NOT EXISTS (SELECT 1 FROM application_events x WHERE x.application_id = a.id)",
    ] {
        sqlx::query(sql).bind(model).execute(&mut db).await?;
    }
    Ok(
        sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
            .fetch_one(&mut db)
            .await?,
    )
}
