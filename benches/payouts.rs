//! A payment run of 5,000 payouts (FP_BENCH_PAYOUTS), end to end and the file alone:
//!
//!     cargo bench --bench payouts
//!
//! The release server runs in its own process on a scratch database with 5,000 generated
//! applications; all of them are approved and get one ordered payout each (in SQL). Timed over
//! HTTP, as a reviewer clicks: building the run (locking the ordered payouts, the SEPA file,
//! one state transition with its timeline event and e-mail per payout, in one transaction),
//! downloading the file, and booking the run as paid. The file is then validated against the
//! ISO 20022 schema with `xmllint`. In-process, the file generation alone (median of 20).
// Reports: sizes and durations as floating-point figures.
#![allow(clippy::cast_precision_loss)]

mod common;

use std::time::{Duration, Instant};

use common::{Portal, form_token, median_ms};
use foerderportal::money::Cents;
use foerderportal::payouts::sepa::{self, Debtor, Run, Transfer};
use sqlx::{Connection, PgConnection};

const REVIEWER: &str = "pruefung@demo.foerderportal.example";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let payouts: i64 = std::env::var("FP_BENCH_PAYOUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let portal = Portal::start("payouts", &["--applications", &payouts.to_string()]).await?;
    let result = run(&portal, payouts).await;
    portal.stop().await?;
    result?;
    generation_alone(usize::try_from(payouts)?);
    Ok(())
}

/// Every generated application approved, with one ordered payout of 1.000,00 € (checked by one
/// reviewer, ordered by the other), and the programme's debtor account set.
async fn ordered_payouts(database_url: &str) -> anyhow::Result<i64> {
    let mut db = PgConnection::connect(database_url).await?;
    sqlx::query(
        "UPDATE applications SET status = 'approved', granted_cents = requested_grant_cents, decided_at = now()
         WHERE reference IS NOT NULL AND status <> 'approved'",
    )
    .execute(&mut db)
    .await?;
    let inserted = sqlx::query(
        "WITH people AS (
             SELECT (SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example') AS checker,
                    (SELECT id FROM users WHERE email = 'zweitpruefung@demo.foerderportal.example') AS orderer,
                    (SELECT id FROM users WHERE email = 'kommune@demo.foerderportal.example') AS clerk)
         INSERT INTO payout_requests (application_id, number, status, requested_cents, approved_cents,
                 account_holder, iban, submitted_by, checked_by, checked_at, ordered_by, ordered_at,
                 submission_key)
         SELECT a.id, coalesce((SELECT max(number) FROM payout_requests p WHERE p.application_id = a.id), 0) + 1,
                'ordered', 100000, 100000, 'Stadtkasse ' || m.name, 'DE89370400440532013000',
                people.clerk, people.checker, now(), people.orderer, now(), md5(a.id::text)
         FROM applications a JOIN municipalities m ON m.id = a.municipality_id, people
         WHERE a.status = 'approved' AND a.granted_cents - a.paid_cents - a.payout_pending_cents >= 100000",
    )
    .execute(&mut db)
    .await?
    .rows_affected();
    sqlx::query("UPDATE programmes SET debtor_iban = 'DE25820500003004444040'")
        .execute(&mut db)
        .await?;
    Ok(i64::try_from(inserted)?)
}

async fn run(portal: &Portal, wanted: i64) -> anyhow::Result<()> {
    let ordered = ordered_payouts(&portal.database_url).await?;
    anyhow::ensure!(ordered >= wanted * 9 / 10, "only {ordered} payouts ordered");
    let base = &portal.base;
    let reviewer = common::client()?;
    anyhow::ensure!(
        common::login(&reviewer, base, REVIEWER).await?,
        "login failed"
    );
    let (build_time, run_page) = build(&reviewer, base).await?;
    let started = Instant::now();
    let file = reviewer
        .get(format!("{base}{run_page}/pain001.xml"))
        .send()
        .await?
        .bytes()
        .await?;
    let download_time = started.elapsed();
    let (valid, validation_time) = validate(&file)?;

    let run_html = reviewer
        .get(format!("{base}{run_page}"))
        .send()
        .await?
        .text()
        .await?;
    let token = form_token(&run_html)?;
    let started = Instant::now();
    let paid = reviewer
        .post(format!("{base}{run_page}/bezahlt"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await?;
    let booking_time = started.elapsed();
    anyhow::ensure!(
        paid.status() == reqwest::StatusCode::SEE_OTHER,
        "not booked: {}",
        paid.status()
    );

    let transfers = String::from_utf8_lossy(&file)
        .matches("<CdtTrfTxInf>")
        .count();
    println!("payment run of {transfers} payouts (release server, loopback):");
    println!(
        "  build the run (one POST)      {:>9.0} ms",
        build_time.as_secs_f64() * 1000.0
    );
    println!(
        "  download the file             {:>9.0} ms",
        download_time.as_secs_f64() * 1000.0
    );
    println!(
        "  file size                     {:>9.0} KiB ({:.0} bytes per payout)",
        file.len() as f64 / 1024.0,
        file.len() as f64 / transfers.max(1) as f64
    );
    println!(
        "  xmllint against the XSD       {:>9} ({:.0} ms)",
        if valid { "valid" } else { "INVALID" },
        validation_time.as_secs_f64() * 1000.0
    );
    println!(
        "  book the run as paid          {:>9.0} ms",
        booking_time.as_secs_f64() * 1000.0
    );
    anyhow::ensure!(valid, "the run's file does not validate");
    Ok(())
}

/// Builds the run as a reviewer does, from the runs page: its time, and the run's page.
async fn build(reviewer: &reqwest::Client, base: &str) -> anyhow::Result<(Duration, String)> {
    let page = reviewer
        .get(format!("{base}/pruefung/zahllaeufe"))
        .send()
        .await?
        .text()
        .await?;
    let token = form_token(&page)?;
    let programme = page
        .split("name=\"programme\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no programme to choose"))?
        .to_string();
    let mut day = jiff::Zoned::now().date().tomorrow()?;
    while matches!(
        day.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    ) {
        day = day.tomorrow()?;
    }

    let started = Instant::now();
    let built = reviewer
        .post(format!("{base}/pruefung/zahllaeufe"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("programme", programme.as_str()),
            ("execution_date", &day.to_string()),
        ])
        .send()
        .await?;
    let build_time = started.elapsed();
    anyhow::ensure!(
        built.status() == reqwest::StatusCode::SEE_OTHER,
        "run not built: {}",
        built.status()
    );
    let run_page = built
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| anyhow::anyhow!("no run page"))?
        .to_string();

    Ok((build_time, run_page))
}

/// `xmllint --schema` on the file: whether it is valid, and how long the check took.
fn validate(file: &[u8]) -> anyhow::Result<(bool, Duration)> {
    let path = std::env::temp_dir().join(format!("fp-bench-run-{}.xml", std::process::id()));
    std::fs::write(&path, file)?;
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vendor/iso20022/pain.001.001.09.xsd");
    let started = Instant::now();
    let valid = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(&path)
        .output()
        .is_ok_and(|o| o.status.success());
    let validation_time = started.elapsed();
    let _ = std::fs::remove_file(&path);
    Ok((valid, validation_time))
}

/// The pain.001 generation alone, in this process.
fn generation_alone(transfers: usize) {
    let run = Run {
        message_id: "ZL-2027-0001".into(),
        created_at: time::OffsetDateTime::now_utc(),
        execution_date: time::macros::date!(2027 - 03 - 15),
        debtor: Debtor {
            name: "Freistaat Thüringen".into(),
            iban: "DE25820500003004444040".into(),
            bic: Some("HELADEFF820".into()),
        },
        transfers: (0..transfers)
            .map(|i| Transfer {
                end_to_end_id: format!("EGOV-2027-{i:05}-MA1"),
                creditor_name: "Stadtkasse Mühlhausen/Thüringen".into(),
                creditor_iban: "DE89370400440532013000".into(),
                amount: Cents::new(100_000 + i64::try_from(i).unwrap_or(0)),
                remittance: format!(
                    "Zuwendung ThuerEGovRL EGOV-2027-{i:05} Mittelabruf 1 Digitales Bürgerbüro"
                ),
            })
            .collect(),
    };
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let xml = sepa::pain_001_001_09(&run);
            let elapsed = started.elapsed();
            std::hint::black_box(xml);
            elapsed
        })
        .collect();
    println!(
        "  generate the file alone       {:>9.1} ms (median of 20, in process)",
        median_ms(&mut times)
    );
}
