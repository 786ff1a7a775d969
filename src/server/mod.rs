//! Running the portal: request tracing, background workers and graceful shutdown; the
//! connection handling itself is in [`connections`].

pub mod connections;
pub mod metrics;

use std::time::Duration;

use anyhow::Context;
use tracing::Instrument;

use axum::body::Body;
use axum::http::{Request, Response};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Span;

use crate::mail::Worker;
use crate::state::AppState;
use crate::web::middleware::REQUEST_ID_HEADER;
use crate::{accounts, applications};

/// How long shutdown waits for requests in flight and for the workers.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

pub fn request_span(req: &Request<Body>) -> Span {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // `user_id` is filled in by the session layer, `application_id` by the access rules, so
    // every line a request logs says who acted on what.
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id,
        user_id = tracing::field::Empty,
        application_id = tracing::field::Empty,
    )
}

pub fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(status, latency_ms, "response");
    } else {
        tracing::info!(status, latency_ms, "response");
    }
}

/// Files of uploads that never finished are removed once they are this old (or twice the
/// request timeout, if that is longer).
const INCOMING_MAX_AGE: Duration = Duration::from_secs(3600);

/// Kept files that no record names are removed once they are this old: far older than any
/// transaction that may still be about to record one.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(24 * 3600);

/// Background jobs that run inside `serve`: mail delivery, the database's health, and at start
/// and every ten minutes the pruning of dead sessions, the move of documents issued before they
/// were kept in the file store, the sweeps of unfinished uploads and of kept files no record
/// names, and the deadline reminders. Each stops when the token is cancelled.
pub fn spawn_workers(state: &AppState, stop: &CancellationToken) -> JoinSet<()> {
    let mut workers = JoinSet::new();
    let mail = Worker::new(
        state.db.clone(),
        state.mailer.clone(),
        state.config.mail.clone(),
    );
    // Each worker logs in a span of its own name.
    workers.spawn(
        mail.run(stop.clone())
            .instrument(tracing::info_span!("mail_worker")),
    );
    let (health, pool, stop_watching) = (state.db_health.clone(), state.db.clone(), stop.clone());
    workers.spawn(
        async move { health.watch(&pool, &stop_watching).await }
            .instrument(tracing::info_span!("database_health")),
    );
    workers.spawn(
        crate::review::choices::keep_fresh(state.db.clone(), state.choices.clone(), stop.clone())
            .instrument(tracing::info_span!("reference_data")),
    );
    let (app, stop) = (state.clone(), stop.clone());
    let housekeeping = tracing::info_span!("housekeeping");
    workers.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = prune_accounts(&app).await {
                tracing::warn!(error = %e, "removing expired sessions and old login failures failed");
            }
            let unfinished = app.config.request_timeout.mul_f32(2.0).max(INCOMING_MAX_AGE);
            match app.files.sweep_incoming(unfinished).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed files of unfinished uploads"),
                Err(e) => tracing::warn!(error = %e, "sweeping unfinished uploads failed"),
            }
            match applications::documents::move_into_store(&app.db, &app.files).await {
                Ok(0) => {}
                Ok(moved) => tracing::info!(moved, "moved issued documents from the database into the file store"),
                Err(e) => tracing::warn!(error = %e, "moving issued documents into the file store failed"),
            }
            match applications::uploads::sweep_orphans(&app, ORPHAN_MIN_AGE).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed stored files no record names"),
                Err(e) => tracing::warn!(error = %e, "sweeping stored files no record names failed"),
            }
            if let Err(e) = accounts::recovery::send_requested_resets(&app).await {
                tracing::warn!(error = %e, "sending requested reset links failed");
            }
            match applications::reminders::send_due(&app.db, &app.outbox, &app.config.base_url).await {
                Ok(0) => {}
                Ok(sent) => tracing::info!(sent, "enqueued deadline reminders"),
                Err(e) => tracing::warn!(error = %e, "sending deadline reminders failed"),
            }
            match crate::proofs::reminders::send_due(&app.db, &app.outbox, &app.config.base_url).await {
                Ok(0) => {}
                Ok(sent) => tracing::info!(sent, "enqueued proof-of-use reminders"),
                Err(e) => tracing::warn!(error = %e, "sending proof-of-use reminders failed"),
            }
        }
    }.instrument(housekeeping));
    workers
}

/// Expired sessions and login failures too old to count go.
async fn prune_accounts(app: &AppState) -> sqlx::Result<()> {
    let mut conn = app.db.acquire().await?;
    let sessions =
        accounts::db::delete_dead_sessions(&mut conn, app.config.session_idle_timeout).await?;
    let failures = accounts::db::prune_login_failures(&mut conn).await?;
    accounts::db::prune_reset_requests(&mut conn).await?;
    if sessions + failures > 0 {
        tracing::info!(
            sessions,
            failures,
            "removed expired sessions and old login failures"
        );
    }
    Ok(())
}

/// Serves until `stop` is cancelled (or SIGTERM/Ctrl-C arrives), then stops accepting, lets
/// in-flight requests finish (for at most [`SHUTDOWN_GRACE`]), stops the background workers and
/// closes the pool. With `METRICS_ADDR` set, serves the metrics there too.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let metrics = match state.config.metrics_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on METRICS_ADDR {addr}"))?,
        ),
        None => None,
    };
    serve_with_metrics(state, listener, metrics, stop).await
}

/// [`serve`] with the metrics listener bound by the caller (`None`: no metrics).
pub async fn serve_with_metrics(
    state: AppState,
    listener: TcpListener,
    metrics: Option<TcpListener>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let metrics = metrics.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "serving metrics at /metrics");
        }
        tokio::spawn(metrics::serve(state.clone(), listener, stop.clone()))
    });
    // Workers keep running while requests drain; they stop once the server has returned.
    let stop_workers = CancellationToken::new();
    let mut workers = spawn_workers(&state, &stop_workers);
    let pool = state.db.clone();
    let limits = connections::Limits::within_open_file_limit(
        state.config.max_connections,
        state.config.header_timeout,
        // A client that takes no response data for as long as a request may take is gone.
        state.config.request_timeout,
    );
    let router = crate::app(state);
    let on_signal = stop.clone();
    let signals = tokio::spawn(async move {
        tokio::select! {
            () = on_signal.cancelled() => {}
            () = termination_signal() => {
                tracing::info!("shutdown requested");
                on_signal.cancel();
            }
        }
    });
    let server = connections::serve(listener, router, limits, stop.clone());
    let drained = async {
        stop.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        () = server => {}
        () = drained => {
            tracing::warn!("requests still running after the grace period; stopping anyway");
        }
    };
    signals.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    stop_workers.cancel();
    let joined = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while workers.join_next().await.is_some() {}
    });
    if joined.await.is_err() {
        tracing::warn!("background workers did not stop in time");
        workers.abort_all();
    }
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C.
pub async fn termination_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}
