//! The metrics listener (`METRICS_ADDR`, off by default): `GET /metrics` in the Prometheus text
//! format, on an address of its own so that it can stay on loopback or an internal network
//! while the portal faces the public, and so that scrapes pass none of the portal's layers
//! (host check, sessions, CSRF).
//!
//! Request counts and latencies are counted as requests pass (`web::metrics`); the pool is
//! read from the pool; the outbox, payouts and applications are counted in the database at
//! scrape time, with small queries (the application counts come from the tallies table).
//!
//! The text format is written here rather than with a metrics crate: three metric types and one
//! histogram, most figures read at scrape time rather than registered up front — a writer of
//! a few dozen lines fits that better than a registry, and adds nothing to build.

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::web::metrics::{CONTENT_TYPE, Exposition, count};
use crate::{applications, mail, payouts};

/// Serves `/metrics` on `listener` until `stop` is cancelled.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
        .context("serving metrics failed")
}

async fn scrape(State(state): State<AppState>) -> Response {
    let mut out = Exposition::default();
    state.metrics.write(&mut out);
    // Before this scrape takes a connection of its own.
    let size = state.db.size();
    let idle = u32::try_from(state.db.num_idle()).unwrap_or(u32::MAX);
    out.family(
        "foerderportal_db_pool_connections",
        "Connections of the database pool, by whether a request or worker is using them.",
        "gauge",
    );
    let in_use = size.saturating_sub(idle);
    out.sample(
        "foerderportal_db_pool_connections",
        &[("state", "in_use")],
        f64::from(in_use),
    );
    out.sample(
        "foerderportal_db_pool_connections",
        &[("state", "idle")],
        f64::from(idle),
    );
    out.gauge(
        "foerderportal_db_pool_max_connections",
        "The most connections the pool opens.",
        f64::from(state.db.options().get_max_connections()),
    );
    let reached = write_database_figures(&state, &mut out).await;
    if let Err(e) = &reached {
        tracing::warn!(error = %e, "metrics: reading the figures from the database failed");
    }
    out.gauge(
        "foerderportal_database_up",
        "Whether this scrape could read its figures from the database (1) or not (0).",
        if reached.is_ok() { 1.0 } else { 0.0 },
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        out.into_string(),
    )
        .into_response()
}

/// The outbox, payouts and applications as the database has them now.
async fn write_database_figures(state: &AppState, out: &mut Exposition) -> sqlx::Result<()> {
    let mut conn = state.db.acquire().await?;
    let queue = mail::outbox::queue_figures(&mut conn).await?;
    let payouts = payouts::db::counts_by_status(&mut conn).await?;
    let applications = applications::db::counts_by_status(&mut conn).await?;
    drop(conn);
    out.gauge(
        "foerderportal_mail_outbox_waiting",
        "E-mails in the outbox not yet sent: waiting for their time, due, or being sent.",
        signed(queue.waiting),
    );
    out.gauge(
        "foerderportal_mail_outbox_oldest_due_seconds",
        "How long the longest-due waiting e-mail has been due (0 when none is).",
        queue.oldest_due_seconds,
    );
    out.gauge(
        "foerderportal_mail_failed",
        "E-mails given up after their last attempt (until an admin retries them).",
        signed(queue.failed),
    );
    out.family(
        "foerderportal_payout_requests",
        "Payout requests (Mittelabrufe) by status.",
        "gauge",
    );
    for (status, n) in &payouts {
        out.sample(
            "foerderportal_payout_requests",
            &[("status", status)],
            signed(*n),
        );
    }
    out.family(
        "foerderportal_applications",
        "Submitted applications by status (drafts are not counted).",
        "gauge",
    );
    for (status, n) in &applications {
        out.sample(
            "foerderportal_applications",
            &[("status", status)],
            signed(*n),
        );
    }
    Ok(())
}

/// A count from the database (never negative) as a sample value.
fn signed(n: i64) -> f64 {
    count(u64::try_from(n).unwrap_or(0))
}
