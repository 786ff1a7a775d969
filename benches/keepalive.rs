//! Small responses on one kept-alive connection, as a browser fetches a page's stylesheet: the
//! time per request over 500 requests, sent one after the other on a single TCP connection by a
//! plain HTTP/1.1 client (no pipelining). Without `TCP_NODELAY` every second response waited
//! about 40 ms for the client's delayed ACK (Nagle's algorithm). Also a streamed body: the
//! dashboard's CSV export of 2,000 applications, sent in chunks, asked for 200 times by a
//! signed-in reviewer whose client keeps its one connection.
//!
//!     cargo bench --bench keepalive
//!
//! The server is the release binary in its own process on a scratch database (see `common`).
// Reports: counts and durations as floating-point rates and milliseconds.
#![allow(clippy::cast_precision_loss)]

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use common::{Portal, median_ms, percentile_ms};

const REQUESTS: usize = 500;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let portal = Portal::start("keepalive", &["--applications", "2000"]).await?;
    let result = match measure(&portal).await {
        Ok(()) => streamed(&portal).await,
        Err(e) => Err(e),
    };
    portal.stop().await?;
    result
}

async fn measure(portal: &Portal) -> anyhow::Result<()> {
    let start_page = reqwest::get(&portal.base).await?.text().await?;
    let stylesheet = start_page
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no stylesheet link on the start page"))?
        .to_string();
    for (what, path) in [
        ("stylesheet", stylesheet.as_str()),
        ("/healthz", "/healthz"),
    ] {
        let address = portal.base.trim_start_matches("http://").to_string();
        let stream = TcpStream::connect(&address).await?;
        let mut stream = BufReader::new(stream);
        let mut times = Vec::with_capacity(REQUESTS);
        let mut bytes = 0;
        let started = Instant::now();
        for _ in 0..REQUESTS {
            let t = Instant::now();
            let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n");
            stream.get_mut().write_all(request.as_bytes()).await?;
            bytes = read_response(&mut stream).await?;
            times.push(t.elapsed());
        }
        report(
            &format!("{what} ({bytes} bytes) on one kept-alive connection"),
            started.elapsed(),
            &mut times,
        );
    }
    Ok(())
}

/// The CSV export is streamed: headers and chunks go out in separate writes.
async fn streamed(portal: &Portal) -> anyhow::Result<()> {
    let reviewer = common::signed_in(&portal.base, "pruefung@demo.foerderportal.example", 1)
        .await?
        .remove(0);
    let url = format!("{}/pruefung/export.csv", portal.base);
    let mut times = Vec::new();
    let mut bytes = 0;
    let started = Instant::now();
    for _ in 0..200 {
        let t = Instant::now();
        let response = reviewer.get(&url).send().await?;
        anyhow::ensure!(response.status().is_success(), "{}", response.status());
        bytes = response.bytes().await?.len();
        times.push(t.elapsed());
    }
    report(
        &format!("CSV export ({bytes} bytes, streamed) for a signed-in reviewer on one connection"),
        started.elapsed(),
        &mut times,
    );
    Ok(())
}

/// Requests per second, median, p99, and how many waited over 20 ms (a delayed ACK).
fn report(what: &str, total: Duration, times: &mut [Duration]) {
    let slow = times
        .iter()
        .filter(|t| **t > Duration::from_millis(20))
        .count();
    println!(
        "{what}, {} requests: {:.0} per second, median {:.2} ms, p99 {:.2} ms, {slow} over 20 ms",
        times.len(),
        times.len() as f64 / total.as_secs_f64(),
        median_ms(times),
        percentile_ms(times, 99),
    );
}

/// Reads one response (headers, then a body of Content-Length bytes); returns the body size.
async fn read_response(stream: &mut BufReader<TcpStream>) -> anyhow::Result<usize> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        anyhow::ensure!(stream.read_line(&mut line).await? > 0, "connection closed");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(length)
}
