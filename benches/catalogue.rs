//! The public Nachnutzungskatalog with 10,000 published projects, loaded from this separate
//! process:
//!
//!     cargo bench --bench catalogue     # FP_BENCH_SECONDS=3 per page
//!
//! A scratch database filled by `demo-data --applications 10000`; then every generated
//! application is approved and published (SQL, as if 10,000 municipalities had agreed). The
//! release server runs in its own process; 8 anonymous visitors ask again as soon as they have
//! their answer (a closed loop, like wrk). The public statistics are asked too. Reported per
//! page: requests per second, median, p95 and p99 latency.
// Reports: counts and durations as floating-point rates and milliseconds.
#![allow(clippy::cast_precision_loss)]

mod common;

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use common::{Portal, median_ms, percentile_ms};

const VISITORS: usize = 8;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("FP_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    let portal = Portal::start("catalogue_10k", &["--applications", "10000"]).await?;
    let result = async {
        let (published, pages) = publish(&portal).await?;
        println!("({published} projects in the catalogue, {VISITORS} visitors)");
        println!(
            "{:<66} {:>8} {:>9} {:>8} {:>8}",
            "page", "req/s", "median ms", "p95 ms", "p99 ms"
        );
        let visitors: Vec<reqwest::Client> = (0..VISITORS)
            .map(|_| common::client())
            .collect::<anyhow::Result<_>>()?;
        for page in pages {
            let url = format!("{}{page}", portal.base);
            common::hammer(&visitors, &url, Duration::from_millis(300)).await?;
            let mut latencies = common::hammer(&visitors, &url, duration).await?;
            println!(
                "{:<66} {:>8.0} {:>9.1} {:>8.1} {:>8.1}",
                page,
                latencies.len() as f64 / duration.as_secs_f64(),
                median_ms(&mut latencies),
                percentile_ms(&mut latencies, 95),
                percentile_ms(&mut latencies, 99)
            );
        }
        anyhow::Ok(())
    }
    .await;
    portal.stop().await?;
    result
}

/// Approves and publishes the generated applications; returns how many and the pages to ask.
async fn publish(portal: &Portal) -> anyhow::Result<(i64, Vec<String>)> {
    let mut db = PgConnection::connect(&portal.database_url).await?;
    sqlx::query(
        "UPDATE applications SET status = 'approved',
                granted_cents = coalesce(granted_cents, requested_grant_cents, 1000000)
         WHERE reference IS NOT NULL AND status <> 'approved'",
    )
    .execute(&mut db)
    .await?;
    let published = sqlx::query(
        "INSERT INTO catalogue_entries (application_id, title, summary, reuse, technologies, mailbox, published_by)
         SELECT a.id, a.title, 'Ein Bürgerbüro, das online erreichbar ist: ' || a.title,
                'Konzept und Leistungsbeschreibung stehen allen Kommunen zur Verfügung.',
                'FIT-Connect, XÖV', 'digital@kommune.example', a.created_by
         FROM applications a WHERE a.reference IS NOT NULL ON CONFLICT DO NOTHING",
    )
    .execute(&mut db)
    .await?
    .rows_affected();
    sqlx::query("ANALYZE").execute(&mut db).await?;
    let (entry, district): (i64, i64) = sqlx::query_as(
        "SELECT application_id, (SELECT district_id FROM applications WHERE id = application_id)
         FROM catalogue_entries ORDER BY application_id LIMIT 1",
    )
    .fetch_one(&mut db)
    .await?;
    let pages = vec![
        "/nachnutzung".to_string(),
        "/nachnutzung?suche=B%C3%BCrgerb%C3%BCro".into(),
        "/nachnutzung?suche=Vorhaben+online&sortierung=datum".into(),
        "/nachnutzung?kategorie=2c".into(),
        format!("/nachnutzung?landkreis={district}"),
        "/nachnutzung?status=bewilligt".into(),
        "/nachnutzung?seite=200".into(),
        format!("/nachnutzung/{entry}"),
        "/offene-daten/foerderaufrufe.json".into(),
        "/statistik".into(),
    ];
    Ok((i64::try_from(published)?, pages))
}
