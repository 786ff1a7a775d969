//! Metrics for Prometheus on `METRICS_ADDR`, scraped and parsed as Prometheus would.

use std::collections::BTreeMap;
use std::time::Duration;

use foerderportal::demo;
use foerderportal::mail::messages::SubmissionReceipt;
use foerderportal::mail::{Message, Outbox, Recipient, outbox};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::common::{TestApp, fresh_database};

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape in the Prometheus text format: each family's HELP and TYPE, and the samples.
#[derive(Debug, Default)]
struct Scrape {
    help: BTreeMap<String, String>,
    kind: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Scrape {
    /// Parses the text, and checks that every sample follows the HELP and TYPE of its family.
    fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                scrape.help.insert(name.into(), help.into());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "{line}"
                );
                scrape.kind.insert(name.into(), kind.into());
            } else {
                assert!(!line.starts_with('#'), "unexpected comment: {line}");
                let sample = parse_sample(line);
                let family = scrape.family_of(&sample.name);
                assert!(
                    scrape.help.contains_key(&family) && scrape.kind.contains_key(&family),
                    "{} comes before the HELP and TYPE of {family}",
                    sample.name
                );
                scrape.samples.push(sample);
            }
        }
        scrape
    }

    fn family_of(&self, sample: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = sample.strip_suffix(suffix)
                && self.kind.get(base).map(String::as_str) == Some("histogram")
            {
                return base.into();
            }
        }
        sample.into()
    }

    fn samples<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The value of the sample without labels.
    fn value(&self, name: &str) -> f64 {
        let found: Vec<_> = self.samples(name).collect();
        assert_eq!(found.len(), 1, "one {name}: {found:?}");
        found[0].value
    }

    /// A gauge by one label, as whole numbers.
    fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, i64> {
        self.samples(name)
            .map(|s| (s.labels[label].clone(), s.value as i64))
            .collect()
    }
}

/// `name{a="x",b="y"} value` (label values with `\\`, `\"` and `\n` escapes).
fn parse_sample(line: &str) -> Sample {
    let (name, rest) = match line.find('{') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => {
            let (name, value) = line.split_once(' ').expect("name value");
            return Sample {
                name: name.into(),
                labels: BTreeMap::new(),
                value: value.parse().expect("a number"),
            };
        }
    };
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars();
    loop {
        let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "a quoted value in {line}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => panic!("a dangling escape in {line}"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(label, value);
        match chars.next() {
            Some(',') => {}
            Some('}') => break,
            other => panic!("unexpected {other:?} in {line}"),
        }
    }
    let value: String = chars.collect();
    let value = match value.trim() {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("a number in {line}")),
    };
    Sample {
        name: name.into(),
        labels,
        value,
    }
}

fn receipt(n: usize) -> Message {
    Message::SubmissionReceipt(SubmissionReceipt {
        reference: format!("EGOV-2027-{n:04}"),
        title: "Gemeinsames Bürgerportal".into(),
        round: "Förderaufruf 2027".into(),
        submitted_at: "02.06.2027, 10:45 Uhr".into(),
        link: format!("https://foerderportal.example/antraege/{n}"),
    })
}

/// Puts a message into the outbox, due `due_in_secs` from now (negative: overdue); a worker
/// sees it only as committed, already with that time.
async fn enqueue(pool: &PgPool, n: usize, due_in_secs: i32) -> i64 {
    let to = Recipient::new("kommune@gemeinde.example", "Karla Kommunal").unwrap();
    let mut tx = pool.begin().await.unwrap();
    let id = Outbox::new("http://127.0.0.1")
        .enqueue(&mut tx, &to, &receipt(n))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1",
    )
    .bind(id)
    .bind(f64::from(due_in_secs))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn counts(pool: &PgPool, sql: &str) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>(sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_read_the_figures_from_the_database() {
    let app = TestApp::spawn_with(|c| c.metrics_addr = Some(([127, 0, 0, 1], 0).into())).await;
    let metrics_url = format!("http://{}/metrics", app.config.metrics_addr.unwrap());
    // Applications and payouts in many states, filed and decided through the pages.
    demo::load_through_pages(&app.state()).await.unwrap();
    let visitor = app.client();
    let mut answered = Vec::new();
    for path in [
        "/antraege/4711",
        "/antraege/4712",
        "/",
        "/gibt-es-nicht/4713",
    ] {
        answered.push(visitor.get(path).await.status.as_u16());
    }
    // The portal's own address does not serve the metrics.
    assert_eq!(visitor.get("/metrics").await.status, StatusCode::NOT_FOUND);

    // The outbox holds messages not yet due (the running worker leaves them alone) and one
    // given up; what the worker was sending when they were parked goes out first.
    for n in 1..=3 {
        enqueue(&app.pool, n, 3600).await;
    }
    sqlx::query(
        "UPDATE mail_outbox SET next_attempt_at = now() + interval '1 hour' WHERE state = 'queued'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let to = Recipient::new("amt@gemeinde.example", "Amt").unwrap();
    app.failed_message(&to, &receipt(9)).await;
    for _ in 0..200 {
        let sending = "SELECT count(*) FROM mail_outbox WHERE state = 'sending'";
        if scalar(&app.pool, sending).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let response = reqwest::get(&metrics_url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let scrape = Scrape::parse(&text);

    // Requests by route template, never by the raw path.
    let requests = "foerderportal_http_requests_total";
    assert_eq!(scrape.kind[requests], "counter");
    assert!(!scrape.help[requests].is_empty());
    for id in ["4711", "4712", "4713"] {
        assert!(
            !text.contains(id),
            "the raw path leaked into the metrics:\n{text}"
        );
    }
    let of_route = |route: &str| -> Vec<&Sample> {
        scrape
            .samples(requests)
            .filter(|s| s.labels["route"] == route)
            .collect()
    };
    let application = of_route("/antraege/{id}");
    assert_eq!(application.iter().map(|s| s.value).sum::<f64>(), 2.0);
    let status = answered[0].to_string();
    assert!(
        application
            .iter()
            .any(|s| s.labels["status"] == status && s.labels["method"] == "GET"),
        "{application:?}"
    );
    assert!(
        of_route("unmatched")
            .iter()
            .any(|s| s.labels["status"] == "404"),
        "{text}"
    );
    assert!(!of_route("/").is_empty());

    // Latency histograms: buckets only grow, and +Inf holds every request.
    let latency = "foerderportal_http_request_duration_seconds";
    assert_eq!(scrape.kind[latency], "histogram");
    let mut series: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for s in scrape.samples(&format!("{latency}_bucket")) {
        let key = (s.labels["method"].clone(), s.labels["route"].clone());
        let le = match s.labels["le"].as_str() {
            "+Inf" => f64::INFINITY,
            le => le.parse().unwrap(),
        };
        series.entry(key).or_default().push((le, s.value));
    }
    assert!(series.contains_key(&("GET".into(), "/antraege/{id}".into())));
    for ((method, route), mut buckets) in series {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{method} {route}: {buckets:?}"
        );
        let count = scrape
            .samples(&format!("{latency}_count"))
            .find(|s| s.labels["method"] == method && s.labels["route"] == route)
            .unwrap()
            .value;
        assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count));
    }

    // The outbox and the counts by status are what the database holds.
    let waiting = "SELECT count(*) FROM mail_outbox WHERE state IN ('queued', 'sending')";
    assert_eq!(
        scrape.value("foerderportal_mail_outbox_waiting") as i64,
        scalar(&app.pool, waiting).await
    );
    assert!(scrape.value("foerderportal_mail_outbox_waiting") >= 3.0);
    let failed = "SELECT count(*) FROM mail_outbox WHERE state = 'failed'";
    assert_eq!(
        scrape.value("foerderportal_mail_failed") as i64,
        scalar(&app.pool, failed).await
    );
    assert!(scrape.value("foerderportal_mail_outbox_oldest_due_seconds") >= 0.0);
    let applications = counts(
        &app.pool,
        "SELECT status, count(*) FROM applications WHERE reference IS NOT NULL GROUP BY status",
    )
    .await;
    assert!(
        applications.len() > 3,
        "the demo has applications in many states"
    );
    assert_eq!(
        scrape.by_label("foerderportal_applications", "status"),
        applications
    );
    let payouts = counts(
        &app.pool,
        "SELECT status, count(*) FROM payout_requests GROUP BY status",
    )
    .await;
    assert!(!payouts.is_empty(), "the demo has payout requests");
    assert_eq!(
        scrape.by_label("foerderportal_payout_requests", "status"),
        payouts
    );

    // The pool, and the database reached.
    let pool = scrape.by_label("foerderportal_db_pool_connections", "state");
    assert_eq!(
        pool.keys().collect::<Vec<_>>(),
        ["idle", "in_use"],
        "{text}"
    );
    assert!(pool["idle"] + pool["in_use"] >= 1);
    assert!(scrape.value("foerderportal_db_pool_max_connections") >= 1.0);
    assert_eq!(scrape.value("foerderportal_database_up"), 1.0);
}

#[tokio::test]
async fn the_outbox_figures_count_waiting_and_failed_mail_and_the_age_of_the_longest_due() {
    // No portal runs on this database, so no worker sends what is due.
    let (options, _) = fresh_database().await;
    let pool = PgPool::connect_with(options).await.unwrap();
    sqlx::query("DELETE FROM mail_outbox")
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let empty = outbox::queue_figures(&mut conn).await.unwrap();
    assert_eq!(empty, outbox::QueueFigures::default());

    enqueue(&pool, 1, -90).await;
    enqueue(&pool, 2, 3600).await;
    let given_up = enqueue(&pool, 3, -86_400).await;
    sqlx::query("UPDATE mail_outbox SET state = 'failed' WHERE id = $1")
        .bind(given_up)
        .execute(&pool)
        .await
        .unwrap();
    let figures = outbox::queue_figures(&mut conn).await.unwrap();
    assert_eq!((figures.waiting, figures.failed), (2, 1));
    assert!(
        (90.0..3600.0).contains(&figures.oldest_due_seconds),
        "the due message, not the failed one: {figures:?}"
    );
}
