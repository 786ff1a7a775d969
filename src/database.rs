//! Finding the database: the configured `DATABASE_URL`, or in the local default setup a PostgreSQL
//! server on this machine, or else a private instance under `./var/postgres` started from the
//! machine's PostgreSQL binaries. Also migrations and the readiness check. Nothing here ever drops
//! or overwrites data.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::config::Config;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The database name of the local default setup.
pub const LOCAL_DATABASE: &str = "foerderportal";

/// A PostgreSQL server we may create databases on (connection options without a database name).
#[derive(Clone, Debug)]
pub struct Server {
    pub options: PgConnectOptions,
    /// Set when this process started a private instance (and so should stop it on shutdown).
    pub private_instance: Option<PathBuf>,
    pub description: String,
}

/// Where the portal's data lives, as decided from the configuration.
pub struct Located {
    pub options: PgConnectOptions,
    pub server: Option<Server>,
}

pub async fn locate(config: &Config) -> anyhow::Result<Located> {
    if let Some(url) = &config.database_url {
        let options =
            PgConnectOptions::from_str(url).context("DATABASE_URL is not a PostgreSQL URL")?;
        return Ok(Located {
            options,
            server: None,
        });
    }
    let server = local_server(&config.var_dir).await?;
    ensure_database(&server, LOCAL_DATABASE).await?;
    let options = server.options.clone().database(LOCAL_DATABASE);
    Ok(Located {
        options,
        server: Some(server),
    })
}

pub async fn connect(options: PgConnectOptions) -> anyhow::Result<PgPool> {
    let options = options.log_statements(tracing::log::LevelFilter::Debug);
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("cannot connect to PostgreSQL")
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying migrations failed")
}

/// Reachable, and every migration this binary knows has been applied.
pub async fn is_ready(pool: &PgPool) -> bool {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await;
    matches!(applied, Ok(Some(v)) if v >= latest)
}

/// A local server that accepts us, or a private instance under `var_dir/postgres`.
pub async fn local_server(var_dir: &Path) -> anyhow::Result<Server> {
    let candidates = [
        (
            "PostgreSQL on 127.0.0.1:5432",
            PgConnectOptions::new().host("127.0.0.1").port(5432),
        ),
        (
            "PostgreSQL on /var/run/postgresql",
            PgConnectOptions::new().socket("/var/run/postgresql"),
        ),
    ];
    for (description, options) in candidates {
        let options = options.username("postgres").database("postgres");
        if accepts(&options).await {
            return Ok(Server {
                options: options.database(""),
                private_instance: None,
                description: description.into(),
            });
        }
    }
    let dir = std::path::absolute(var_dir.join("postgres"))?;
    start_private_instance(&dir).await
}

async fn accepts(options: &PgConnectOptions) -> bool {
    let attempt = PgConnection::connect_with(options);
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}

/// Creates the database if it does not exist yet.
pub async fn ensure_database(server: &Server, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(&server.options.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Identifiers cannot be bound; the name is ours and validated here.
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            bail!("refusing to create database with unusual name {name:?}");
        }
        let sql = format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0");
        match sqlx::query(&sql).execute(&mut conn).await {
            Ok(_) => tracing::info!(database = name, "created database"),
            // Someone else (another process) created it in the meantime: fine.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}

/// Starts (and on first use initialises) a PostgreSQL cluster that only listens on a Unix socket in
/// its own directory. PostgreSQL refuses to run as root, so as root the cluster belongs to the
/// `postgres` system user and is run through `runuser`.
pub async fn start_private_instance(dir: &Path) -> anyhow::Result<Server> {
    const PORT: u16 = 5432;
    let bindir = postgres_bindir().context(
        "no PostgreSQL server accepted connections and no PostgreSQL binaries were found \
         (install the Debian package `postgresql`, or set DATABASE_URL)",
    )?;
    let as_root = is_root();
    std::fs::create_dir_all(dir)?;
    let data = dir.join("data");
    let socket_path = dir.join(format!(".s.PGSQL.{PORT}"));
    if socket_path.as_os_str().len() > 100 {
        bail!(
            "the path {} is too long for a PostgreSQL socket; set VAR_DIR to a shorter path",
            dir.display()
        );
    }
    if as_root {
        let mut chown = tokio::process::Command::new("chown");
        chown.arg("postgres:postgres").arg(dir);
        run_tokio(chown, "chown").await?;
    }
    let pg = |tool: &str| {
        let mut cmd = if as_root {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bindir.join(tool));
            c
        } else {
            tokio::process::Command::new(bindir.join(tool))
        };
        cmd.kill_on_drop(true);
        cmd
    };

    if !data.join("PG_VERSION").exists() {
        tracing::info!(dir = %data.display(), "initialising a private PostgreSQL cluster");
        let mut init = pg("initdb");
        init.arg("-D").arg(&data).args([
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        run_tokio(init, "initdb").await?;
    }

    let options = PgConnectOptions::new()
        .socket(dir)
        .port(PORT)
        .username("postgres")
        .database("postgres");
    if !accepts(&options).await {
        tracing::info!(dir = %dir.display(), "starting the private PostgreSQL instance");
        let mut start = pg("pg_ctl");
        let server_opts = format!("-c listen_addresses='' -k {} -p {PORT}", dir.display());
        start
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(server_opts)
            .arg("-l")
            .arg(dir.join("server.log"));
        start.args(["-w", "-t", "60", "start"]);
        run_tokio(start, "pg_ctl start").await?;
    }
    if !accepts(&options).await {
        bail!(
            "the private PostgreSQL instance in {} did not come up; see server.log there",
            dir.display()
        );
    }
    tracing::warn!(
        dir = %dir.display(),
        "no PostgreSQL server accepted connections; using a private instance started from {}",
        bindir.display()
    );
    Ok(Server {
        options: options.database(""),
        private_instance: Some(data),
        description: format!("private PostgreSQL instance in {}", dir.display()),
    })
}

/// Stops a private instance this process started.
pub async fn stop_private_instance(data: &Path) {
    let Some(bindir) = postgres_bindir() else {
        return;
    };
    let mut cmd = if is_root() {
        let mut c = tokio::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bindir.join("pg_ctl"));
        c
    } else {
        tokio::process::Command::new(bindir.join("pg_ctl"))
    };
    cmd.arg("-D").arg(data).args(["-m", "fast", "-w", "stop"]);
    if let Err(e) = run_tokio(cmd, "pg_ctl stop").await {
        tracing::warn!(error = %e, "stopping the private PostgreSQL instance failed");
    }
}

fn postgres_bindir() -> Option<PathBuf> {
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut candidates: Vec<PathBuf> = from_pg_config.into_iter().collect();
    // Debian keeps the server binaries out of PATH, one directory per major version; newest first.
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort_by_key(|p| std::cmp::Reverse(version_of(p)));
        candidates.extend(versions);
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

async fn run_tokio(mut cmd: tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .await
        .with_context(|| format!("cannot run {what}"))?;
    check(out, what)
}

fn check(out: std::process::Output, what: &str) -> anyhow::Result<()> {
    if out.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
