//! Mail worker throughput to a local SMTP server (messages per second, median of three runs,
//! with one and with two workers) and its behaviour during an SMTP outage.
//!
//!     cargo bench --bench mail_throughput          # FP_BENCH_MESSAGES=2000 by default
//!
//! Uses the server of DATABASE_URL if set, otherwise the local default discovery; works in a
//! scratch database `fp_bench_<pid>` that it drops at the end.
// Reports in floating point; the shared SMTP test server unwraps like test code.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::unwrap_used
)]

#[allow(dead_code)]
#[path = "../tests/portal/common/smtp.rs"]
mod smtp;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use foerderportal::config::{Config, MailSettings};
use foerderportal::database::{self, Server};
use foerderportal::mail::messages::SubmissionReceipt;
use foerderportal::mail::{Mailer, Message, Outbox, Recipient, Worker};
use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use smtp::{SmtpSink, unused_port, url_for_port};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let messages: usize = std::env::var("FP_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let server = Server::from_env_or_local(std::path::Path::new("var")).await?;
    let name = format!("fp_bench_{}", std::process::id());
    database::ensure_database(&server, &name).await?;
    let pool = database::connect(server.options.clone().database(&name)).await?;
    database::migrate(&pool).await?;

    for workers in [1, 2] {
        let mut rates = Vec::new();
        for _ in 0..3 {
            rates.push(throughput(&pool, messages, workers).await?);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{workers} worker(s), {messages} messages: median {:.0} msg/s (runs: {})",
            rates[1],
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    outage(&pool).await?;

    pool.close().await;
    let mut admin = PgConnection::connect_with(&server.options).await?;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    if let Some(data) = server.started_instance {
        database::stop_private_instance(&data).await;
    }
    Ok(())
}

fn mailer(smtp_url: String) -> Mailer {
    let mut config = Config::local_defaults();
    config.smtp_url = Some(smtp_url.into());
    Mailer::from_config(&config).expect("mailer")
}

async fn enqueue(pool: &PgPool, n: usize) -> anyhow::Result<()> {
    let outbox = Outbox::new("http://localhost:8080");
    let mut tx = pool.begin().await?;
    for i in 0..n {
        let message = Message::SubmissionReceipt(SubmissionReceipt {
            reference: format!("EGOV-2027-{i:04}"),
            title: "Gemeinsames Bürgerportal für die Ämter des Landkreises".into(),
            round: "Förderaufruf 2027".into(),
            submitted_at: "02.06.2027, 10:45 Uhr".into(),
            link: format!("http://localhost:8080/antraege/{i}"),
        });
        let to = Recipient::new(
            &format!("kommune{i}@gemeinde.example"),
            "Kommunale Sachbearbeitung",
        )?;
        outbox.enqueue(&mut tx, &to, &message).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Waits until `n` messages are sent; fails if any failed or if it takes over two minutes.
async fn wait_until_sent(pool: &PgPool, n: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (sent, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state = 'sent'), count(*) FILTER (WHERE state = 'failed') FROM mail_outbox",
        )
        .fetch_one(pool)
        .await?;
        anyhow::ensure!(failed == 0, "{failed} messages failed");
        if sent >= n {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {sent} of {n} messages sent after two minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Messages per second from "all enqueued" to "all marked sent".
async fn throughput(pool: &PgPool, n: usize, workers: usize) -> anyhow::Result<f64> {
    sqlx::query("TRUNCATE mail_outbox").execute(pool).await?;
    let sink = SmtpSink::start().await;
    enqueue(pool, n).await?;
    let stop = CancellationToken::new();
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            tokio::spawn(
                Worker::new(pool.clone(), mailer(sink.url()), MailSettings::default())
                    .run(stop.clone()),
            )
        })
        .collect();
    wait_until_sent(pool, n as i64).await?;
    let elapsed = started.elapsed();
    stop.cancel();
    for h in handles {
        h.await?;
    }
    assert_eq!(sink.messages().len(), n, "every message exactly once");
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// 200 messages while the SMTP server is down for 5 s, retries starting after 1 s.
async fn outage(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("TRUNCATE mail_outbox").execute(pool).await?;
    let port = unused_port();
    let settings = MailSettings {
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(4),
        ..MailSettings::default()
    };
    let stop = CancellationToken::new();
    let worker = tokio::spawn(
        Worker::new(pool.clone(), mailer(url_for_port(port)), settings).run(stop.clone()),
    );
    enqueue(pool, 200).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (queued, attempts): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(attempts), 0) FROM mail_outbox WHERE state = 'queued'",
    )
    .fetch_one(pool)
    .await?;
    let sink = SmtpSink::start_on(port).await;
    let back = Instant::now();
    wait_until_sent(pool, 200).await?;
    let drained = back.elapsed();
    stop.cancel();
    worker.await?;
    let ids: HashSet<_> = sink
        .messages()
        .iter()
        .filter_map(|m| m.header("message-id"))
        .collect();
    anyhow::ensure!(
        ids.len() == 200,
        "lost or duplicated messages: {} distinct of 200",
        ids.len()
    );
    println!(
        "outage: after 5 s down, {queued} of 200 messages queued for retry ({attempts} attempts so far); \
         all 200 delivered {:.1} s after the server came back; {} received, {} distinct Message-IDs",
        drained.as_secs_f64(),
        sink.messages().len(),
        ids.len()
    );
    Ok(())
}
