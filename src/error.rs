//! One error type for handlers. It becomes a bare status plus an [`ErrorDetail`]; the error-page
//! middleware renders the German page around it with the request id. Internals (SQL, paths,
//! panics) go to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("bad request")]
    BadRequest,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("too many requests")]
    TooManyRequests,
    #[error("form token missing or wrong")]
    CsrfMismatch,
    /// Anonymous visitor on a page that needs an account: off to the login, and back afterwards.
    #[error("login required")]
    LoginRequired { next: String },
    /// A ministry account without its second factor: off to set it up.
    #[error("second factor required")]
    SecondFactorRequired,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::mail::outbox::EnqueueError> for AppError {
    fn from(e: crate::mail::outbox::EnqueueError) -> Self {
        AppError::Other(e.into())
    }
}

/// What the error page should say beyond the status (a distinct reason the user can act on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorDetail {
    CsrfMismatch,
    /// The request named a host that is not the portal's (see `web::middleware::KnownHosts`).
    UnknownHost,
}

/// Marks a 403 that refused a signed-in person access (an authorisation decision, unlike a
/// form token that did not match), for the audit log.
#[derive(Clone, Copy, Debug)]
pub struct AccessDenied;

/// Marks a 503 caused by an unreachable database, with the error, for the outage log.
#[derive(Clone, Debug)]
pub struct DatabaseUnreachable(pub String);

/// How long clients are asked to wait when the portal answers 503.
pub const RETRY_AFTER_SECS: &str = "30";

/// Marks a response whose body must reach the client unchanged (health checks).
#[derive(Clone, Copy, Debug)]
pub struct RawResponse;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::CsrfMismatch => StatusCode::FORBIDDEN,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::LoginRequired { next } => {
                let target = format!("/anmelden?next={}", urlencode(next));
                return Redirect::to(&target).into_response();
            }
            AppError::SecondFactorRequired => {
                return Redirect::to("/konto/zweiter-faktor").into_response();
            }
            AppError::Db(_) | AppError::Other(_) => match self.unreachable_database() {
                Some(e) => return database_unreachable(e),
                None => StatusCode::INTERNAL_SERVER_ERROR,
            },
        };
        if status.is_server_error() {
            // Runs inside the request's span, so the log line carries the request id.
            tracing::error!(error = ?self, "request failed");
        }
        let mut response = status.into_response();
        match self {
            AppError::CsrfMismatch => {
                response.extensions_mut().insert(ErrorDetail::CsrfMismatch);
            }
            AppError::Forbidden => {
                response.extensions_mut().insert(AccessDenied);
            }
            _ => {}
        }
        response
    }
}

impl AppError {
    /// The database error behind this one, if it means the database cannot be reached.
    fn unreachable_database(&self) -> Option<&sqlx::Error> {
        let e = match self {
            AppError::Db(e) => e,
            AppError::Other(e) => e.downcast_ref::<sqlx::Error>()?,
            _ => return None,
        };
        crate::database::is_unavailable(e).then_some(e)
    }
}

/// 503; the error-page middleware logs the outage once and renders the page (with
/// `Retry-After`).
fn database_unreachable(e: &sqlx::Error) -> Response {
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    response
        .extensions_mut()
        .insert(DatabaseUnreachable(e.to_string()));
    response
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e[1..].to_string())
        .unwrap_or_default()
}
