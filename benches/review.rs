//! The reviewers' dashboard and statistics with 100,000 applications:
//!
//!     cargo bench --bench review     # FP_BENCH_APPLICATIONS=100000, FP_BENCH_SECONDS=3 per page
//!
//! The release server runs in its own process on a scratch database filled by
//! `demo-data --applications N`; a reviewer session asks each page (the dashboard unfiltered,
//! with each single filter, and the statistics) from 2 concurrent clients for a few seconds.
//! Reported per page: requests, median and p95 latency. The target is a median under 50 ms.

mod common;

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use common::{Portal, median_ms, percentile_ms};

const CLIENTS: usize = 2;
const REVIEWER: &str = "pruefung@demo.foerderportal.example";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let applications: String =
        std::env::var("FP_BENCH_APPLICATIONS").unwrap_or_else(|_| "100000".into());
    let seconds: u64 = std::env::var("FP_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let started = Instant::now();
    let portal = Portal::start("review", &["--applications", &applications]).await?;
    println!(
        "{applications} applications generated and server ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let result = run(&portal, Duration::from_secs(seconds)).await;
    portal.stop().await?;
    result
}

async fn run(portal: &Portal, duration: Duration) -> anyhow::Result<()> {
    let mut db = PgConnection::connect(&portal.database_url).await?;
    let (round, district, municipality): (i64, i64, i64) = sqlx::query_as(
        "SELECT round_id, district_id, municipality_id FROM applications
         GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&mut db)
    .await?;
    let pages = [
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
    ];
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = common::client()?;
        anyhow::ensure!(
            common::login(&client, &portal.base, REVIEWER).await?,
            "login failed"
        );
        clients.push(client);
    }
    println!(
        "{:<62} {:>8} {:>10} {:>10}",
        "page", "requests", "median ms", "p95 ms"
    );
    for page in pages {
        let url = format!("{}{page}", portal.base);
        // Warm up (connection pool, caches), then measure.
        for client in &clients {
            let warm = client.get(&url).send().await?;
            anyhow::ensure!(
                warm.status().is_success(),
                "{page} answered {}",
                warm.status()
            );
        }
        let deadline = Instant::now() + duration;
        let tasks: Vec<_> = clients
            .iter()
            .cloned()
            .map(|client| {
                let url = url.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        let response = client.get(&url).send().await?;
                        anyhow::ensure!(response.status().is_success(), "{}", response.status());
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
        println!(
            "{page:<62} {:>8} {:>10.1} {:>10.1}",
            latencies.len(),
            median_ms(&mut latencies),
            percentile_ms(&mut latencies, 95)
        );
    }
    Ok(())
}
