//! The cost of a password hash on this machine, and how many logins per second the portal
//! serves with 20 clients signing in at once (each: fetch the form, post it, follow nothing).
//!
//!     cargo bench --bench login          # FP_BENCH_SECONDS=10 per measurement by default
//!
//! The server runs as its own process (the release binary) on a scratch database
//! `fp_bench_login_<pid>` of the local PostgreSQL (or DATABASE_URL's server), dropped afterwards.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use foerderportal::accounts::password::Hasher;
use foerderportal::database::{self, Server};
use foerderportal::demo::{DEMO_ACCOUNTS, DEMO_PASSWORD};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

const CLIENTS: usize = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("FP_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    argon2_cost().await?;

    let server = match std::env::var("DATABASE_URL") {
        Ok(url) => Server {
            options: url.parse::<PgConnectOptions>()?.database("postgres"),
            started_instance: None,
            description: "DATABASE_URL".into(),
        },
        Err(_) => database::local_server(std::path::Path::new("var")).await?,
    };
    let name = format!("fp_bench_login_{}", std::process::id());
    let url = database_url(&server.options, &name);
    run(Command::new(env!("CARGO_BIN_EXE_foerderportal"))
        .arg("demo-data")
        .env("DATABASE_URL", &url))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut portal = Portal(
        Command::new(env!("CARGO_BIN_EXE_foerderportal"))
            .arg("serve")
            .env("DATABASE_URL", &url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_until_ready(&base).await?;

    let result = logins(&base, Duration::from_secs(seconds)).await;
    portal.0.kill()?;
    portal.0.wait()?;
    let mut admin = PgConnection::connect_with(&server.options).await?;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    result
}

/// Kills the portal when the benchmark ends early.
struct Portal(Child);

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

async fn argon2_cost() -> anyhow::Result<()> {
    let hasher = Hasher::new();
    let mut hashes = Vec::new();
    let mut verifies = Vec::new();
    let mut hash = String::new();
    for _ in 0..15 {
        let started = Instant::now();
        hash = hasher.hash(DEMO_PASSWORD.to_string()).await?;
        hashes.push(started.elapsed());
        let started = Instant::now();
        anyhow::ensure!(
            hasher
                .verify(DEMO_PASSWORD.to_string(), Some(hash.clone()))
                .await?
        );
        verifies.push(started.elapsed());
    }
    println!(
        "argon2id (m=19 MiB, t=2, p=1): hash median {:.1} ms, verify median {:.1} ms ({})",
        median_ms(&mut hashes),
        median_ms(&mut verifies),
        &hash[..hash.find("$").map(|i| i + 30).unwrap_or(0).min(hash.len())]
    );
    Ok(())
}

async fn logins(base: &str, duration: Duration) -> anyhow::Result<()> {
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (base, done, failed) = (base.to_string(), done.clone(), failed.clone());
        let email = DEMO_ACCOUNTS[i % DEMO_ACCOUNTS.len()].email;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                match login(&base, email).await {
                    Ok(true) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        latencies.push(started.elapsed());
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    let done = done.load(Ordering::Relaxed);
    latencies.sort();
    let p95 = latencies
        .get(latencies.len() * 95 / 100)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0);
    println!(
        "logins with {CLIENTS} concurrent clients over {} s: {:.1} per second, median {:.0} ms, p95 {:.0} ms, {} failed",
        duration.as_secs(),
        done as f64 / duration.as_secs_f64(),
        median_ms(&mut latencies),
        p95,
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}

/// One login as a browser does it: the form (for its token and cookie), then the post.
async fn login(base: &str, email: &str) -> anyhow::Result<bool> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = client
        .get(format!("{base}/anmelden"))
        .send()
        .await?
        .text()
        .await?;
    let token = form
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no form token"))?
        .to_string();
    let response = client
        .post(format!("{base}/anmelden"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await?;
    Ok(response.status() == reqwest::StatusCode::SEE_OTHER)
}

async fn wait_until_ready(base: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the portal did not become ready")
}

fn database_url(options: &PgConnectOptions, name: &str) -> String {
    match options.get_socket() {
        Some(dir) => format!(
            "postgresql:///{name}?host={}&port={}&user=postgres",
            dir.display(),
            options.get_port()
        ),
        None => format!(
            "postgresql://postgres@{}:{}/{name}",
            options.get_host(),
            options.get_port()
        ),
    }
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command.stdout(Stdio::null()).status()?;
    anyhow::ensure!(status.success(), "{command:?} failed");
    Ok(())
}

fn median_ms(values: &mut [Duration]) -> f64 {
    values.sort();
    values
        .get(values.len() / 2)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}
