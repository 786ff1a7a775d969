//! The cost of a password hash on this machine, how many logins per second the portal serves
//! with 20 clients signing in at once (each: fetch the form, post it, follow nothing), what that
//! storm does to the review dashboard of two reviewers already signed in (median and p99, quiet
//! and during the storm; the reviewers once clicking every 20 ms, once in a closed loop that
//! takes the cores by itself), the cores each part kept busy, and the server's memory before,
//! after and at the peak of it.
//!
//!     cargo bench --bench login          # FP_BENCH_SECONDS=10 per measurement by default
//!
//! The server runs as its own process (the release binary) on a scratch database
//! `fp_bench_login_<pid>` of the local PostgreSQL (or DATABASE_URL's server), dropped afterwards.
// Reports: counts and durations as floating-point rates and milliseconds.
#![allow(clippy::cast_precision_loss)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use foerderportal::accounts::password::Hasher;
use foerderportal::demo::{DEMO_ACCOUNTS, DEMO_PASSWORD};

use common::{Portal, median_ms, percentile_ms};

const CLIENTS: usize = 20;
const REVIEWER: &str = "pruefung@demo.foerderportal.example";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    argon2_cost().await?;
    let portal = Portal::start("login", &[]).await?;
    let duration = Duration::from_secs(common::seconds());
    let reviewers = common::signed_in(&portal.base, REVIEWER, 2).await?;
    let dashboard = format!("{}/pruefung", portal.base);
    // Warm up (connections, plans), so that neither quiet figure holds the first requests.
    common::hammer(&reviewers, &dashboard, Duration::from_secs(1)).await?;
    let (before, _) = portal.memory_mib();
    // Reviewers clicking (what a user notices), and reviewers who take every core by themselves.
    for (what, pace) in [
        (
            "2 reviewers, each every 20 ms",
            Some(Duration::from_millis(20)),
        ),
        ("2 reviewers, closed loop", None),
    ] {
        let load = || async {
            match pace {
                Some(every) => common::paced(&reviewers, &dashboard, duration, every).await,
                None => common::hammer(&reviewers, &dashboard, duration).await,
            }
        };
        let mut quiet = load().await?;
        let cpu_before = portal.cpu();
        let (result, during) = tokio::join!(logins(&portal.base, duration), load());
        result?;
        let mut during = during?;
        let (quiet_p99, during_p99) = (
            percentile_ms(&mut quiet, 99),
            percentile_ms(&mut during, 99),
        );
        println!(
            "dashboard, {what}: quiet median {:.1} ms, p99 {quiet_p99:.1} ms; during the logins median {:.1} ms, p99 {during_p99:.1} ms ({:.2}x)",
            median_ms(&mut quiet),
            median_ms(&mut during),
            during_p99 / quiet_p99
        );
        // CPU seconds per second of the storm: how many of the two cores each part kept busy.
        let busy = cpu_before.ms_per_operation(&portal.cpu(), 1);
        let seconds = duration.as_secs_f64();
        println!(
            "  cores busy during the storm: server {:.2} (hashes included), PostgreSQL {:.2}, load generator {:.2}",
            busy.server / 1000.0 / seconds,
            busy.postgres / 1000.0 / seconds,
            busy.bench / 1000.0 / seconds
        );
    }
    let (after, peak) = portal.memory_mib();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (later, _) = portal.memory_mib();
    println!(
        "server memory (RSS): {before:.0} MiB before the logins, {after:.0} MiB after, {later:.0} MiB 5 s later, peak {peak:.0} MiB"
    );
    portal.stop().await?;
    Ok(())
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
        &hash[..hash.find("$").map_or(0, |i| i + 30).min(hash.len())]
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
                let logged_in = match common::client() {
                    Ok(client) => common::login(&client, &base, email).await,
                    Err(e) => Err(e),
                };
                match logged_in {
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
    let p95 = percentile_ms(&mut latencies, 95);
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
