//! What the HTTP benchmarks share: the release portal in its own process on a scratch database
//! with the demo data, signed-in clients, and the statistics they report.

#![allow(dead_code)] // each benchmark uses its own part

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use foerderportal::database::Server;
use foerderportal::demo::DEMO_PASSWORD;
use sqlx::{Connection, PgConnection};

/// `FP_BENCH_SECONDS` (default 10): how long each measurement runs.
pub fn seconds() -> u64 {
    std::env::var("FP_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// The release server (`foerderportal serve`) on database `fp_bench_<name>_<pid>` of the local
/// PostgreSQL (or DATABASE_URL's server), loaded with the demo data; both go when it drops.
pub struct Portal {
    pub base: String,
    /// The scratch database, for looking up ids to ask for.
    pub database_url: String,
    child: Child,
    server: Server,
    database: String,
    scratch: std::path::PathBuf,
}

impl Portal {
    /// `demo_args` go to `demo-data` (e.g. `--applications 100000`).
    pub async fn start(name: &str, demo_args: &[&str]) -> anyhow::Result<Portal> {
        Self::start_with(name, demo_args, &[]).await
    }

    /// Like [`Portal::start`], with further environment variables for the server.
    pub async fn start_with(
        name: &str,
        demo_args: &[&str],
        env: &[(&str, String)],
    ) -> anyhow::Result<Portal> {
        let server = Server::from_env_or_local(std::path::Path::new("var")).await?;
        let database = format!("fp_bench_{name}_{}", std::process::id());
        let url = server.url_of(&database);
        let scratch = std::env::temp_dir().join(&database);
        let status = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
            .arg("demo-data")
            .args(demo_args)
            .env("DATABASE_URL", &url)
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "loading the demo data failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
            .arg("serve")
            .env("DATABASE_URL", &url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("VAR_DIR", &scratch)
            .env("RUST_LOG", "warn")
            .env("SECRET_KEY", foerderportal::secrets::new_key())
            // The benchmark signs in with passwords only.
            .env("REQUIRE_SECOND_FACTOR", "false")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .spawn()?;
        let portal = Portal {
            base: format!("http://127.0.0.1:{port}"),
            database_url: url,
            child,
            server,
            database,
            scratch,
        };
        portal.wait_until_ready().await?;
        Ok(portal)
    }

    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        for _ in 0..300 {
            if let Ok(r) = reqwest::get(format!("{}/readyz", self.base)).await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the portal did not become ready")
    }

    /// The server's resident memory now and at its peak so far, in MiB (Linux `/proc`).
    pub fn memory_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kib = |field: &str| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
    }

    /// CPU time used so far by the server, by PostgreSQL (every `postgres` process on the
    /// machine) and by this benchmark process: where a measurement's cores went.
    pub fn cpu(&self) -> Cpu {
        let postgres = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(process_cpu)
            .filter(|(command, _)| command == "postgres")
            .map(|(_, seconds)| seconds)
            .sum();
        let of = |pid| process_cpu(pid).map_or(0.0, |(_, seconds)| seconds);
        Cpu {
            server: of(self.child.id()),
            postgres,
            bench: of(std::process::id()),
        }
    }

    /// Stops the server and drops its database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        let mut admin = PgConnection::connect_with(&self.server.options).await?;
        sqlx::query(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.database))
            .execute(&mut admin)
            .await?;
        let _ = std::fs::remove_dir_all(&self.scratch);
        Ok(())
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A browser-like client: cookies, no redirects followed.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// The value of the first `csrf_token` field in a page.
pub fn form_token(html: &str) -> anyhow::Result<String> {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no form token"))
}

/// A new draft in the open demo round, started as the "Antrag stellen" form does; its id.
pub async fn start_draft(client: &reqwest::Client, base: &str) -> anyhow::Result<i64> {
    let list = client
        .get(format!("{base}/antraege"))
        .send()
        .await?
        .text()
        .await?;
    let round = list
        .split("name=\"round_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no open round"))?
        .to_string();
    let response = client
        .post(format!("{base}/antraege"))
        .form(&[("csrf_token", form_token(&list)?), ("round_id", round)])
        .send()
        .await?;
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| anyhow::anyhow!("no application created"))?;
    Ok(location.rsplit('/').next().unwrap_or_default().parse()?)
}

/// One login as a browser does it: the form (for its token and cookie), then the post.
/// Returns whether the portal signed the client in.
pub async fn login(client: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<bool> {
    let form = client
        .get(format!("{base}/anmelden"))
        .send()
        .await?
        .text()
        .await?;
    let token = form_token(&form)?;
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

pub fn median_ms(values: &mut [Duration]) -> f64 {
    percentile_ms(values, 50)
}

pub fn percentile_ms(values: &mut [Duration], percent: usize) -> f64 {
    values.sort();
    values
        .get(values.len() * percent / 100)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Asks for `url` from every client at once, each again as soon as it has its answer, for
/// `duration`; returns every latency. A closed loop: with n clients, n requests are in flight.
pub async fn hammer(
    clients: &[reqwest::Client],
    url: &str,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    load(clients, url, duration, None).await
}

/// Like [`hammer`], but each client asks once every `every` (or as soon as it has its answer,
/// if that took longer): users clicking, not a load that takes every core by itself.
pub async fn paced(
    clients: &[reqwest::Client],
    url: &str,
    duration: Duration,
    every: Duration,
) -> anyhow::Result<Vec<Duration>> {
    load(clients, url, duration, Some(every)).await
}

async fn load(
    clients: &[reqwest::Client],
    url: &str,
    duration: Duration,
    pace: Option<Duration>,
) -> anyhow::Result<Vec<Duration>> {
    let deadline = std::time::Instant::now() + duration;
    let tasks: Vec<_> = clients
        .iter()
        .cloned()
        .map(|client| {
            let url = url.to_string();
            tokio::spawn(async move {
                let mut ticks = pace.map(|every| {
                    let mut ticks = tokio::time::interval(every);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    ticks
                });
                let mut latencies = Vec::new();
                while std::time::Instant::now() < deadline {
                    if let Some(ticks) = ticks.as_mut() {
                        ticks.tick().await;
                    }
                    let started = std::time::Instant::now();
                    let response = client.get(&url).send().await?;
                    anyhow::ensure!(
                        response.status().is_success(),
                        "{url}: {}",
                        response.status()
                    );
                    response.bytes().await?;
                    latencies.push(started.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(latencies)
}

/// `n` clients signed in as `email`.
pub async fn signed_in(base: &str, email: &str, n: usize) -> anyhow::Result<Vec<reqwest::Client>> {
    let mut clients = Vec::new();
    for _ in 0..n {
        let client = client()?;
        anyhow::ensure!(
            login(&client, base, email).await?,
            "login as {email} failed"
        );
        clients.push(client);
    }
    Ok(clients)
}

/// CPU seconds (user + system) of processes, as [`Portal::cpu`] reads them.
#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    pub server: f64,
    pub postgres: f64,
    pub bench: f64,
}

impl Cpu {
    /// The CPU milliseconds per operation from `self` until `later`.
    pub fn ms_per_operation(&self, later: &Cpu, operations: usize) -> Cpu {
        let per = |before: f64, after: f64| (after - before) * 1000.0 / operations.max(1) as f64;
        Cpu {
            server: per(self.server, later.server),
            postgres: per(self.postgres, later.postgres),
            bench: per(self.bench, later.bench),
        }
    }

    /// Per-operation figures as a line of a report, with what this machine's cores allow at
    /// that cost.
    pub fn report(&self) -> String {
        let total = self.server + self.postgres + self.bench;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        format!(
            "CPU per operation: server {:.2} ms, PostgreSQL {:.2} ms, load generator {:.2} ms; \
             {total:.2} ms in all, so {cores} cores allow at most {:.0} per second",
            self.server,
            self.postgres,
            self.bench,
            cores as f64 * 1000.0 / total
        )
    }
}

/// A process's command name and CPU seconds (utime + stime) from `/proc/<pid>/stat`.
fn process_cpu(pid: u32) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": the name may hold spaces, so split after its closing ")".
    let (head, rest) = stat.rsplit_once(") ")?;
    let command = head.split_once(" (")?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the state.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads its integer argument.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((command, ticks / per_second))
}
