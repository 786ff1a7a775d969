//! Per-session CSRF tokens in every form, on top of the Origin/Sec-Fetch-Site check that
//! tower-http's `CsrfLayer` does for the whole router.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The token forms must carry: the session's token when signed in, otherwise the anonymous
/// visitor's token (double-submit cookie).
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// The form of a bare action button: nothing but the token.
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// A urlencoded form whose `csrf_token` field matched the request's [`CsrfToken`].
/// A mismatch is answered with 403 before the handler runs.
pub struct ProtectedForm<T>(pub T);

impl<S, T> FromRequest<S> for ProtectedForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req.extensions().get::<CsrfToken>().map(|t| t.0.clone());
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest
            }
        })?;
        let sent = form_urlencoded_value(&body, "csrf_token");
        match (expected, sent) {
            (Some(expected), Some(sent))
                if !expected.is_empty() && constant_time_eq(&expected, &sent) => {}
            _ => return Err(AppError::CsrfMismatch),
        }
        let value = serde_urlencoded::from_bytes(&body).map_err(|_| AppError::BadRequest)?;
        Ok(ProtectedForm(value))
    }
}

/// For forms that `ProtectedForm` cannot read (multipart uploads): the token they sent.
pub fn verify(expected: Option<&CsrfToken>, sent: &str) -> Result<(), AppError> {
    match expected {
        Some(expected) if !expected.0.is_empty() && constant_time_eq(&expected.0, sent) => Ok(()),
        _ => Err(AppError::CsrfMismatch),
    }
}

fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
