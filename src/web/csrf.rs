//! Per-session CSRF tokens in every form, on top of the Origin/Sec-Fetch-Site check that
//! tower-http's `CsrfLayer` does for the whole router. Pages carry the token masked afresh in
//! every response (a random pad and the token XORed with it), so compressed pages that also
//! reflect input cannot leak it byte by byte (BREACH).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
/// A mismatch is answered with 403 before the handler runs. A field sent several times (a
/// group of checkboxes) fills a `Vec`.
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
        let sent = form_urlencoded_value(&body, "csrf_token").and_then(|s| unmask(&s));
        match (expected, sent) {
            (Some(expected), Some(sent))
                if !expected.is_empty() && constant_time_eq(&expected, &sent) => {}
            _ => return Err(AppError::CsrfMismatch),
        }
        let value = serde_html_form::from_bytes(&body).map_err(|_| AppError::BadRequest)?;
        Ok(ProtectedForm(value))
    }
}

/// For forms that `ProtectedForm` cannot read (multipart uploads): the token they sent.
pub fn verify(expected: Option<&CsrfToken>, sent: &str) -> Result<(), AppError> {
    match (expected, unmask(sent)) {
        (Some(expected), Some(sent))
            if !expected.0.is_empty() && constant_time_eq(&expected.0, &sent) =>
        {
            Ok(())
        }
        _ => Err(AppError::CsrfMismatch),
    }
}

/// The token as one page carries it: a random pad followed by the token XORed with the pad,
/// base64url; different in every response, opened again by [`unmask`].
pub fn masked(token: &str) -> String {
    let pad: Vec<u8> = (0..token.len()).map(|_| rand::random::<u8>()).collect();
    let mut bytes = pad.clone();
    bytes.extend(token.bytes().zip(&pad).map(|(t, p)| t ^ p));
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unmask(sent: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(sent.trim()).ok()?;
    if bytes.is_empty() || bytes.len() % 2 != 0 {
        return None;
    }
    let (pad, hidden) = bytes.split_at(bytes.len() / 2);
    String::from_utf8(hidden.iter().zip(pad).map(|(h, p)| h ^ p).collect()).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_token_differs_every_time_and_opens_to_the_token() {
        let token = crate::secrets::random_token();
        let (first, second) = (masked(&token), masked(&token));
        assert_ne!(first, second);
        assert!(!first.contains(&token));
        assert_eq!(unmask(&first).as_deref(), Some(token.as_str()));
        let expected = CsrfToken(token.clone());
        assert!(verify(Some(&expected), &second).is_ok());
        assert!(
            verify(Some(&expected), &token).is_err(),
            "the bare token is not a masked one"
        );
        assert!(
            verify(
                Some(&expected),
                &masked("anderes-token-anderes-token-andere")
            )
            .is_err()
        );
        assert!(verify(Some(&expected), "%%%").is_err());
    }
}
