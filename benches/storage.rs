//! Upload throughput into the file store, the local directory against an S3 bucket:
//!
//!     cargo bench --bench storage     # FP_BENCH_UPLOADS=24 files of 20 MB per store
//!
//! The release server runs in its own process; the S3 server (s3s over s3s-fs, as in the tests)
//! runs in this process on loopback, storing on the same disk. One clerk, then four at once,
//! upload 20 MB PDFs as the Anlagen form sends them; every upload is received, checked and
//! kept (for the bucket: in 8 MiB parts) before the answer. Reported: MB/s and the median and
//! p95 time of one upload.
// Reports: counts and durations as floating-point rates and milliseconds.
#![allow(clippy::cast_precision_loss)]

mod common;
// The tests' S3 server (test code: it unwraps); the bench uses only part of it.
#[allow(dead_code, clippy::unwrap_used)]
#[path = "../tests/portal/common/s3.rs"]
mod s3;

use std::time::{Duration, Instant};

use common::{Portal, form_token, median_ms, percentile_ms};

const CLERK: &str = "kommune@demo.foerderportal.example";
const FILE_BYTES: usize = 20 * 1024 * 1024 - 4096;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let uploads: usize = std::env::var("FP_BENCH_UPLOADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let bucket = s3::S3Server::start().await;
    let file = pdf(FILE_BYTES);
    println!(
        "{:<28} {:>8} {:>8} {:>11} {:>8}",
        "store", "clerks", "MB/s", "median ms", "p95 ms"
    );
    let no_cap = ("APPLICATION_FILES_MAX_MB", "100000".to_string());
    let stores = [
        ("directory", vec![no_cap.clone()]),
        (
            "S3 bucket",
            vec![
                no_cap,
                ("STORAGE_URL", format!("s3://{}/{}", s3::BUCKET, s3::PREFIX)),
                ("S3_ENDPOINT", bucket.endpoint.clone()),
                ("S3_ACCESS_KEY_ID", s3::ACCESS_KEY.to_string()),
                ("S3_SECRET_ACCESS_KEY", s3::SECRET_KEY.to_string()),
            ],
        ),
    ];
    for (name, env) in stores {
        let portal = Portal::start_with("storage", &[], &env).await?;
        let result = async {
            for clerks in [1, 4] {
                let (seconds, mut times) = measure(&portal.base, clerks, uploads, &file).await?;
                let megabytes = (uploads * file.len()) as f64 / 1_000_000.0;
                println!(
                    "{name:<28} {clerks:>8} {:>8.0} {:>11.0} {:>8.0}",
                    megabytes / seconds,
                    median_ms(&mut times),
                    percentile_ms(&mut times, 95)
                );
            }
            anyhow::Ok(())
        }
        .await;
        portal.stop().await?;
        result?;
    }
    Ok(())
}

/// `uploads` files shared among `clerks` uploading at once, each to a draft of its own.
async fn measure(
    base: &str,
    clerks: usize,
    uploads: usize,
    file: &[u8],
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let mut drafts = Vec::new();
    for _ in 0..clerks {
        let client = common::client()?;
        anyhow::ensure!(common::login(&client, base, CLERK).await?, "login failed");
        let id = common::start_draft(&client, base).await?;
        drafts.push((client, id));
    }
    let started = Instant::now();
    let tasks: Vec<_> = drafts
        .into_iter()
        .map(|(client, id)| {
            let (base, file) = (base.to_string(), file.to_vec());
            let share = uploads / clerks;
            tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..share {
                    let begun = Instant::now();
                    upload(&client, &base, id, &file).await?;
                    times.push(begun.elapsed());
                }
                anyhow::Ok(times)
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await??);
    }
    Ok((started.elapsed().as_secs_f64(), times))
}

async fn upload(client: &reqwest::Client, base: &str, id: i64, file: &[u8]) -> anyhow::Result<()> {
    let page = client
        .get(format!("{base}/antraege/{id}/anlagen"))
        .send()
        .await?
        .text()
        .await?;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", form_token(&page)?)
        .text("document", "extra")
        .part(
            "datei",
            reqwest::multipart::Part::bytes(file.to_vec()).file_name("Leistungsverzeichnis.pdf"),
        );
    let response = client
        .post(format!("{base}/antraege/{id}/anlagen"))
        .multipart(form)
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == reqwest::StatusCode::SEE_OTHER,
        "upload refused: {}",
        response.status()
    );
    Ok(())
}

/// A PDF of `size` bytes that does not compress (as scans do not).
fn pdf(size: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut n: u32 = 1;
    while pdf.len() < size {
        n ^= n << 13;
        n ^= n >> 17;
        n ^= n << 5;
        pdf.extend_from_slice(&n.to_le_bytes());
    }
    pdf.truncate(size);
    pdf
}
