//! The reviewers' pages at volume, loaded from this separate process:
//!
//!     cargo bench --bench review     # FP_BENCH_SECONDS=3 per page
//!
//! Two scratch databases filled by `demo-data --applications N`, each with the release server in
//! its own process. With 10,000 applications: the dashboard and a case page from 8 concurrent
//! clients. With 100,000: the dashboard unfiltered, with each single filter, and the statistics,
//! from 32 concurrent clients. Every client is a signed-in reviewer that asks again as soon as
//! it has its answer (a closed loop, like wrk). Reported per page: requests per second, median,
//! p95 and p99 latency, and the CPU milliseconds each request cost the server, PostgreSQL and
//! this load generator (so what n cores can give at most: n × 1,000 ms ÷ their sum). `/konto`, a
//! signed-in page with no data of its own, is the floor for any signed-in page.
// Reports: counts and durations as floating-point rates and milliseconds.
#![allow(clippy::cast_precision_loss)]

mod common;

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use common::{Portal, median_ms, percentile_ms};

const REVIEWER: &str = "pruefung@demo.foerderportal.example";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("FP_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    println!(
        "{:<66} {:>8} {:>9} {:>8} {:>8} {:>21}",
        "page", "req/s", "median ms", "p95 ms", "p99 ms", "CPU ms: srv/pg/load"
    );
    let small = Portal::start("review_10k", &["--applications", "10000"]).await?;
    let result = measure(&small, 8, &small_pages(&small).await?, duration).await;
    small.stop().await?;
    result?;
    let started = Instant::now();
    let large = Portal::start("review_100k", &["--applications", "100000"]).await?;
    println!(
        "(100,000 applications generated and server ready in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let result = measure(&large, 32, &large_pages(&large).await?, duration).await;
    large.stop().await?;
    result
}

async fn small_pages(portal: &Portal) -> anyhow::Result<Vec<String>> {
    let mut db = PgConnection::connect(&portal.database_url).await?;
    let case: i64 = sqlx::query_scalar(
        "SELECT id FROM applications WHERE reference IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&mut db)
    .await?;
    Ok(vec![
        "/pruefung".into(),
        format!("/pruefung/antraege/{case}"),
    ])
}

async fn large_pages(portal: &Portal) -> anyhow::Result<Vec<String>> {
    let mut db = PgConnection::connect(&portal.database_url).await?;
    let (round, district, municipality): (i64, i64, i64) = sqlx::query_as(
        "SELECT round_id, district_id, municipality_id FROM applications
         GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&mut db)
    .await?;
    Ok(vec![
        "/konto".to_string(),
        "/pruefung".to_string(),
        format!("/pruefung?runde={round}"),
        "/pruefung?status=in_review".into(),
        "/pruefung?kategorie=2c".into(),
        format!("/pruefung?landkreis={district}"),
        format!("/pruefung?kommune={municipality}"),
        "/pruefung?zuweisung=mir".into(),
        "/pruefung?betrag_von=50.000&betrag_bis=60.000".into(),
        "/pruefung?eingereicht_von=2026-06-01&eingereicht_bis=2026-06-30".into(),
        "/pruefung?suche=B%C3%BCrgerb%C3%BCro".into(),
        "/pruefung?sortierung=betrag&richtung=ab".into(),
        "/pruefung/statistik".into(),
        format!("/pruefung/statistik?runde={round}"),
    ])
}

async fn measure(
    portal: &Portal,
    clients: usize,
    pages: &[String],
    duration: Duration,
) -> anyhow::Result<()> {
    let clients = common::signed_in(&portal.base, REVIEWER, clients).await?;
    for page in pages {
        let url = format!("{}{page}", portal.base);
        // Warm up (connection pools, caches, plans), then measure.
        common::hammer(&clients, &url, Duration::from_millis(300)).await?;
        let before = portal.cpu();
        let mut latencies = common::hammer(&clients, &url, duration).await?;
        let cpu = before.ms_per_operation(&portal.cpu(), latencies.len());
        println!(
            "{:<66} {:>8.0} {:>9.1} {:>8.1} {:>8.1} {:>7.2}/{:.2}/{:.2}",
            format!("{page} ({} clients)", clients.len()),
            latencies.len() as f64 / duration.as_secs_f64(),
            median_ms(&mut latencies),
            percentile_ms(&mut latencies, 95),
            percentile_ms(&mut latencies, 99),
            cpu.server,
            cpu.postgres,
            cpu.bench
        );
    }
    Ok(())
}
