//! Request metrics in the Prometheus text format (version 0.0.4): requests by route template
//! and status, and their latency as histograms. The route is axum's `MatchedPath` (e.g.
//! `/antraege/{id}`), never the raw path, so ids and other values in paths neither leak into
//! monitoring nor grow the number of series; requests that match no route count as
//! `unmatched`. The figures read from the database at scrape time are written by
//! `server::metrics` with the same [`Exposition`] writer.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency buckets, in seconds (`+Inf` follows): from a cached stylesheet
/// to a request that runs into the request timeout.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<(&'static str, String), RouteStats>>,
}

#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Requests at or below each bound of [`LATENCY_BUCKETS`] (not cumulative here).
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl HttpMetrics {
    pub fn observe(&self, method: &Method, route: &str, status: u16, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let stats = routes
            .entry((method_label(method), route.to_string()))
            .or_default();
        *stats.by_status.entry(status).or_default() += 1;
        if let Some(i) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            stats.buckets[i] += 1;
        }
        stats.count += 1;
        stats.sum_seconds += seconds;
    }

    /// Writes the request counter and the latency histogram.
    pub fn write(&self, out: &mut Exposition) {
        let routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        out.family(
            "foerderportal_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            "counter",
        );
        for ((method, route), stats) in routes.iter() {
            for (status, n) in &stats.by_status {
                let status = status.to_string();
                out.sample(
                    "foerderportal_http_requests_total",
                    &[("method", method), ("route", route), ("status", &status)],
                    count(*n),
                );
            }
        }
        out.family(
            "foerderportal_http_request_duration_seconds",
            "Time from receiving a request to its response head, by method and route template.",
            "histogram",
        );
        let name = "foerderportal_http_request_duration_seconds";
        for ((method, route), stats) in routes.iter() {
            let labels = [("method", *method), ("route", route.as_str())];
            let mut cumulative = 0;
            for (bound, n) in LATENCY_BUCKETS.iter().zip(stats.buckets) {
                cumulative += n;
                let le = bound.to_string();
                out.sample(
                    &format!("{name}_bucket"),
                    &[labels[0], labels[1], ("le", &le)],
                    count(cumulative),
                );
            }
            let total = count(stats.count);
            out.sample(
                &format!("{name}_bucket"),
                &[labels[0], labels[1], ("le", "+Inf")],
                total,
            );
            out.sample(&format!("{name}_sum"), &labels, stats.sum_seconds);
            out.sample(&format!("{name}_count"), &labels, total);
        }
    }
}

/// Methods beyond the usual ones are counted together, so a client cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware: counts the request under its route template once the response head is ready.
pub async fn record(State(metrics): State<Arc<HttpMetrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A document in the Prometheus text format, written family by family.
#[derive(Debug, Default)]
pub struct Exposition(String);

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Exposition {
    /// `# HELP` and `# TYPE` of the family whose samples follow.
    pub fn family(&mut self, name: &str, help: &str, kind: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let value = value
                    .replace('\\', r"\\")
                    .replace('"', "\\\"")
                    .replace('\n', r"\n");
                let _ = write!(self.0, "{label}=\"{value}\"");
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    /// A family of one sample without labels.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, help, "gauge");
        self.sample(name, &[], value);
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A count as a sample value; exact up to 2^53 requests, which no counter here reaches.
#[allow(clippy::cast_precision_loss)]
pub fn count(n: u64) -> f64 {
    n as f64
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_template_with_cumulative_buckets() {
        let metrics = HttpMetrics::default();
        let route = "/antraege/{id}";
        metrics.observe(&Method::GET, route, 200, Duration::from_millis(3));
        metrics.observe(&Method::GET, route, 200, Duration::from_millis(70));
        metrics.observe(&Method::GET, route, 404, Duration::from_secs(60));
        let mut out = Exposition::default();
        metrics.write(&mut out);
        let text = out.into_string();
        let has = |line: &str| text.lines().any(|l| l == line);
        assert!(has(
            r#"foerderportal_http_requests_total{method="GET",route="/antraege/{id}",status="200"} 2"#
        ));
        assert!(has(
            r#"foerderportal_http_requests_total{method="GET",route="/antraege/{id}",status="404"} 1"#
        ));
        let bucket = |le: &str| {
            format!(
                r#"foerderportal_http_request_duration_seconds_bucket{{method="GET",route="/antraege/{{id}}",le="{le}"}}"#
            )
        };
        assert!(has(&format!("{} 1", bucket("0.005"))), "{text}");
        assert!(has(&format!("{} 2", bucket("0.1"))), "{text}");
        assert!(
            has(&format!("{} 2", bucket("30"))),
            "over every bound: {text}"
        );
        assert!(has(&format!("{} 3", bucket("+Inf"))), "{text}");
    }

    #[test]
    fn label_values_are_escaped_and_odd_methods_counted_together() {
        let mut out = Exposition::default();
        out.sample("x", &[("path", "a\"b\\c\nd")], 1.5);
        assert_eq!(out.into_string(), "x{path=\"a\\\"b\\\\c\\nd\"} 1.5\n");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
