//! Förderportal: the web portal for grant applications under the ThürEGovRL. The same
//! [`app`] router serves `main` and the integration tests.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::too_many_lines,
        clippy::cast_possible_truncation
    )
)]

pub mod accounts;
pub mod admin;
pub mod amendments;
pub mod applications;
pub mod audit;
pub mod backup;
pub mod catalogue;
pub mod config;
pub mod database;
pub mod demo;
pub mod error;
pub mod letters;
pub mod locale;
pub mod mail;
pub mod malware;
pub mod money;
pub mod municipalities;
pub mod outlines;
pub mod payouts;
pub mod programmes;
pub mod proofs;
pub mod review;
pub mod secrets;
pub mod server;
pub mod site;
pub mod spreadsheet;
pub mod state;
pub mod stored;
pub mod validation;
pub mod web;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::web::middleware::{
    REQUEST_ID_HEADER, distrust_client_request_id, error_pages, known_host, security_headers,
    visitor_cookies,
};

/// The whole portal as one router.
pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let static_files = Router::new()
        .nest_service(
            &format!("/static/{}", state.assets.version),
            ServeDir::new(&state.config.static_dir),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ));

    let pages = Router::new()
        .merge(site::router())
        .merge(accounts::routes::router())
        .merge(accounts::recovery::router())
        .merge(accounts::admin::router())
        .merge(accounts::profile::router())
        .merge(accounts::access::router())
        .merge(accounts::second_factor::router())
        .merge(applications::router(state.config.upload_limit_bytes))
        .merge(review::router())
        .merge(payouts::router(state.config.upload_limit_bytes))
        .merge(amendments::router())
        .merge(proofs::routes::router(state.config.upload_limit_bytes))
        .merge(proofs::review::router())
        .merge(catalogue::router())
        .merge(outlines::router())
        .merge(programmes::routes::router())
        .merge(programmes::admin::router())
        .merge(programmes::programme_admin::router())
        .merge(municipalities::routes::router())
        .merge(admin::router())
        .merge(static_files)
        .fallback(|| async { StatusCode::NOT_FOUND });

    // Outermost first: every request gets an id and is traced with it; the session is loaded
    // before `error_pages`, so error pages show who is signed in; everything inside
    // `error_pages` that answers with an error status (timeout, cross-site check, panic, body
    // limit, handlers) gets the German page with the request id.
    // Behind a proxy that rewrites Host, the configured public origin still counts as ours.
    let csrf = CsrfLayer::new()
        .add_trusted_origin(&state.config.base_url)
        .unwrap_or_else(|_| CsrfLayer::new());
    let layers = ServiceBuilder::new()
        // Outermost, so the latency is the whole request's.
        .layer(from_fn_with_state(
            state.metrics.clone(),
            web::metrics::record,
        ))
        .layer(from_fn_with_state(
            (
                state.config.upload_limit_bytes,
                state.config.request_timeout,
            ),
            web::middleware::drain_unread_body,
        ))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::COOKIE,
            header::AUTHORIZATION,
        ]))
        .layer(from_fn(distrust_client_request_id))
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(server::request_span)
                .on_response(server::log_response),
        )
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(from_fn_with_state(state.clone(), known_host))
        .layer(CompressionLayer::new())
        .layer(from_fn_with_state(state.clone(), security_headers))
        .layer(from_fn_with_state(state.clone(), visitor_cookies))
        .layer(from_fn_with_state(
            state.clone(),
            accounts::session::load_session,
        ))
        .layer(from_fn_with_state(state.clone(), error_pages))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            state.config.request_timeout,
        ))
        .layer(csrf)
        .layer(CatchPanicLayer::new())
        // Nothing larger than the largest upload gets in at all; ordinary forms are held to
        // the smaller form limit by axum's extractors, and upload routes raise it for themselves.
        .layer(RequestBodyLimitLayer::new(state.config.upload_limit_bytes))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.body_limit_bytes,
        ));

    pages.layer(layers).with_state(state)
}
