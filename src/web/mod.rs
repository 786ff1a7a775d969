//! HTTP plumbing shared by all features: the layout's page context, cookies, CSRF tokens, flash
//! messages, security headers and the error pages. Imports no feature: `accounts` fills the
//! [`Viewer`] and the session's [`CsrfToken`] into the request extensions.

pub mod assets;
pub mod charts;
pub mod csrf;
pub mod error_page;
pub mod forms;
pub mod metrics;
pub mod middleware;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::Config;
use crate::error::AppError;
use assets::Assets;

pub use csrf::{CsrfToken, NoFields, ProtectedForm};
pub use forms::multipart_text;

/// The signed-in person as the layout shows them.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The account's id, for the audit log of refused requests.
    pub user_id: i64,
    pub name: String,
    pub role_label: String,
    pub is_clerk: bool,
    pub is_reviewer: bool,
    pub is_admin: bool,
}

#[derive(Clone, Debug)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// A one-time message shown on the next page ("Sie haben sich abgemeldet.").
#[derive(Clone, Debug)]
pub struct Flash(pub String);

/// Why the previous POST was refused, carried across its redirect (POST-redirect-GET also on
/// refusals, so a reload never sends the action again). The page of the form shows it as that
/// form's error; a page that does not take it shows it in the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The id of the form field or action the message belongs to.
    pub field: String,
    pub message: String,
}

/// What the flash cookie carries.
#[derive(Clone, Debug)]
pub(crate) enum OneTime {
    Notice(Flash),
    Refused(Refusal),
}

/// Layout data every page template gets as `page`.
#[derive(Clone, Debug)]
pub struct PageContext {
    pub viewer: Option<Viewer>,
    pub nav: Vec<NavItem>,
    /// The form token, masked for this response (see [`csrf::masked`]).
    pub csrf_token: String,
    pub flash: Option<Flash>,
    /// A refusal not yet taken by the page's own form (see [`PageContext::take_refusal`]).
    pub refusal: Option<Refusal>,
    pub stylesheet: String,
    pub script: String,
}

impl PageContext {
    pub fn build(parts: &Parts, assets: &Assets) -> Self {
        let viewer = parts.extensions.get::<Viewer>().cloned();
        let path = parts.uri.path();
        PageContext {
            nav: navigation(viewer.as_ref(), path),
            viewer,
            csrf_token: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| csrf::masked(&t.0))
                .unwrap_or_default(),
            flash: parts.extensions.get::<Flash>().cloned(),
            refusal: parts.extensions.get::<Refusal>().cloned(),
            stylesheet: assets.stylesheet_href.clone(),
            script: assets.script_href.clone(),
        }
    }

    /// The refusal the previous POST redirected here with, as the errors of this page's form
    /// (the error summary and the message at the field); the layout then shows it no more.
    pub fn take_refusal(&mut self) -> crate::validation::FormErrors {
        let mut errors = crate::validation::FormErrors::default();
        if let Some(r) = self.refusal.take() {
            errors.add(r.field, r.message);
        }
        errors
    }
}

impl<S> FromRequestParts<S> for PageContext
where
    Arc<Assets>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(PageContext::build(parts, &Arc::<Assets>::from_ref(state)))
    }
}

/// The one place that decides which roles see which navigation entries.
fn navigation(viewer: Option<&Viewer>, path: &str) -> Vec<NavItem> {
    let mut items = vec![
        ("Startseite", "/"),
        ("Förderaufrufe", "/foerderaufrufe"),
        ("Nachnutzung", "/nachnutzung"),
    ];
    if let Some(v) = viewer {
        if v.is_clerk {
            items.push(("Meine Anträge", "/antraege"));
            items.push(("Projektskizzen", "/skizzen"));
            items.push(("Partnersuche", "/partnersuche"));
        }
        if v.is_reviewer {
            items.push(("Prüfung", "/pruefung"));
            items.push(("Projektskizzen", "/pruefung/skizzen"));
        }
        if v.is_admin {
            items.push(("Förderaufrufe verwalten", "/admin/foerderaufrufe"));
            items.push(("Richtlinie", "/admin/programm"));
            items.push(("Benutzer", "/admin/benutzer"));
            items.push(("Zugangsanträge", "/admin/zugangsantraege"));
            items.push(("Kommunen", "/admin/kommunen"));
            items.push(("Postausgang", "/admin/postausgang"));
            items.push(("Protokoll", "/admin/protokoll"));
        }
        items.push(("Mein Konto", "/konto"));
    }
    // The item whose address is the longest prefix of the path is the current one
    // ("/pruefung/skizzen/3" is under "Projektskizzen", not "Prüfung").
    let within = |href: &str| {
        if href == "/" {
            path == "/"
        } else {
            path == href || path.starts_with(&format!("{href}/"))
        }
    };
    let current = items
        .iter()
        .map(|(_, href)| *href)
        .filter(|href| within(href))
        .max_by_key(|href| href.len());
    items
        .into_iter()
        .map(|(label, href)| NavItem {
            label,
            href,
            current: Some(href) == current,
        })
        .collect()
}

/// The address the request came from: the peer's IP, or, when the peer is one of the
/// configured reverse proxies (`TRUSTED_PROXIES`), the nearest address in `X-Forwarded-For`
/// that is not a trusted proxy itself. Client-supplied entries further left are ignored.
#[derive(Clone, Debug)]
pub struct ClientAddress(pub String);

impl<S> FromRequestParts<S> for ClientAddress
where
    Arc<Config>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = Arc::<Config>::from_ref(state);
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let address = client_address(peer, &forwarded.join(","), &config.trusted_proxies);
        Ok(ClientAddress(
            address.map_or_else(|| "unbekannt".into(), |ip| ip.to_string()),
        ))
    }
}

fn client_address(
    peer: Option<std::net::IpAddr>,
    forwarded_for: &str,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let mut address = peer?;
    if !trusted.contains(&address) {
        return Some(address);
    }
    for hop in forwarded_for.rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => address = ip,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(address)
}

/// The value of one cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Cookie attributes shared by every cookie the portal sets: the `__Host-` prefix and `Secure`
/// when served over https, never readable by scripts, not sent on cross-site subrequests.
#[derive(Clone, Debug)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    pub fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// A session cookie (no Max-Age: it ends with the browser; the server enforces lifetimes).
    pub fn set(&self, base: &str, value: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
            self.name(base)
        )
    }

    pub fn clear(&self, base: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
            self.name(base)
        )
    }
}

/// Marks a refusal in the flash cookie: "\u{1}field\u{1}message" (no message starts with it).
const REFUSAL_MARK: char = '\u{1}';
/// Bytes of a flash message; refusals name limits and amounts, so they are long.
const FLASH_MAX_BYTES: usize = 1500;

pub(crate) fn encode_flash(message: &str) -> String {
    URL_SAFE_NO_PAD.encode(message.as_bytes())
}

fn encode_refusal(field: &str, message: &str) -> String {
    encode_flash(&format!("{REFUSAL_MARK}{field}{REFUSAL_MARK}{message}"))
}

pub(crate) fn decode_flash(value: &str) -> Option<OneTime> {
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.is_empty() || text.len() > FLASH_MAX_BYTES {
        return None;
    }
    match text.strip_prefix(REFUSAL_MARK) {
        Some(rest) => {
            let (field, message) = rest.split_once(REFUSAL_MARK)?;
            Some(OneTime::Refused(Refusal {
                field: field.to_string(),
                message: message.to_string(),
            }))
        }
        None => Some(OneTime::Notice(Flash(text))),
    }
}

/// A redirect after a successful POST, carrying a one-time message for the next page.
pub fn redirect_with_flash(
    policy: &CookiePolicy,
    to: &str,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let cookie = policy.set(middleware::FLASH_COOKIE, &encode_flash(message));
    (
        [(header::SET_COOKIE, cookie)],
        axum::response::Redirect::to(to),
    )
        .into_response()
}

/// A redirect after a refused POST: the page at `to` shows `message` at its form's `field`.
pub fn redirect_with_refusal(
    policy: &CookiePolicy,
    to: &str,
    field: &str,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let cookie = policy.set(middleware::FLASH_COOKIE, &encode_refusal(field, message));
    (
        [(header::SET_COOKIE, cookie)],
        axum::response::Redirect::to(to),
    )
        .into_response()
}

/// A redirect after a refused POST whose reason is the first of `errors`.
pub fn redirect_refused(
    policy: &CookiePolicy,
    to: &str,
    errors: &crate::validation::FormErrors,
) -> axum::response::Response {
    let first = errors.iter().next();
    redirect_with_refusal(
        policy,
        to,
        first.map_or("", |e| e.field.as_str()),
        first.map_or("Die Aktion wurde nicht ausgeführt.", |e| {
            e.message.as_str()
        }),
    )
}

/// A file the portal made, as a download: `name` (ASCII) suggested for saving, never cached.
pub fn download(
    content_type: &str,
    name: &str,
    body: impl Into<axum::body::Body>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body.into(),
    )
        .into_response()
}

/// Only paths on this site may be redirect targets (no `//evil.example`, no `https://…`).
/// Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become
/// "//evil.example": control characters and backslashes are refused outright.
pub fn safe_redirect_target(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next[1..].starts_with('/')
        && !next.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\')
        && !next.contains("://");
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_accepted_as_redirect_targets() {
        assert_eq!(safe_redirect_target("/konto"), Some("/konto"));
        assert_eq!(safe_redirect_target("//evil.example/"), None);
        assert_eq!(safe_redirect_target("/\\evil.example"), None);
        assert_eq!(safe_redirect_target("https://evil.example"), None);
        assert_eq!(safe_redirect_target("konto"), None);
        assert_eq!(safe_redirect_target("/\t/evil.example"), None);
        assert_eq!(safe_redirect_target("/\n/evil.example"), None);
    }

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_nearest_untrusted_hop() {
        let proxy: std::net::IpAddr = "10.0.0.5".parse().unwrap();
        let client = |peer: &str, xff: &str| {
            client_address(Some(peer.parse().unwrap()), xff, &[proxy])
                .unwrap()
                .to_string()
        };
        assert_eq!(
            client("203.0.113.9", "1.2.3.4"),
            "203.0.113.9",
            "no proxy: the header is ignored"
        );
        assert_eq!(client("10.0.0.5", "198.51.100.7"), "198.51.100.7");
        assert_eq!(
            client("10.0.0.5", "6.6.6.6, 198.51.100.7"),
            "198.51.100.7",
            "spoofed hops on the left are ignored"
        );
        assert_eq!(client("10.0.0.5", ""), "10.0.0.5");
    }

    #[test]
    fn cookies_over_https_are_host_bound_and_secure() {
        let policy = CookiePolicy { secure: true };
        assert_eq!(
            policy.set("fp_session", "x"),
            "__Host-fp_session=x; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let policy = CookiePolicy { secure: false };
        assert_eq!(
            policy.set("fp_session", "x"),
            "fp_session=x; Path=/; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn flash_messages_survive_the_cookie_round_trip() {
        let encoded = encode_flash("Sie haben sich abgemeldet.");
        assert!(matches!(
            decode_flash(&encoded),
            Some(OneTime::Notice(Flash(text))) if text == "Sie haben sich abgemeldet."
        ));
        let long = "Das Budget reicht nicht: verfügbar sind noch 1.000,00 €. ".repeat(8);
        let Some(OneTime::Refused(refusal)) = decode_flash(&encode_refusal("entscheidung", &long))
        else {
            panic!("a refusal comes back as one");
        };
        assert_eq!(
            refusal,
            Refusal {
                field: "entscheidung".into(),
                message: long
            }
        );
        assert!(decode_flash("%%%").is_none());
        assert!(decode_flash(&encode_flash(&"x".repeat(FLASH_MAX_BYTES + 1))).is_none());
    }

    #[test]
    fn navigation_depends_on_the_role() {
        let anon = navigation(None, "/");
        assert_eq!(
            anon.iter().map(|i| i.href).collect::<Vec<_>>(),
            ["/", "/foerderaufrufe", "/nachnutzung"]
        );
        assert!(anon[0].current);
        let admin = Viewer {
            user_id: 1,
            name: "A".into(),
            role_label: "Administration".into(),
            is_clerk: false,
            is_reviewer: false,
            is_admin: true,
        };
        let nav = navigation(Some(&admin), "/admin/kommunen/5");
        assert!(nav.iter().any(|i| i.href == "/admin/kommunen" && i.current));
        let clerk = Viewer {
            is_admin: false,
            is_clerk: true,
            ..admin
        };
        let clerk_nav = navigation(Some(&clerk), "/antraege/7/kosten");
        assert!(!clerk_nav.iter().any(|i| i.href.starts_with("/admin")));
        assert!(clerk_nav.iter().any(|i| i.href == "/antraege" && i.current));
        assert!(!nav.iter().any(|i| i.href == "/antraege"));
        // One current item: the most specific one.
        let reviewer = Viewer {
            is_admin: false,
            is_reviewer: true,
            ..clerk
        };
        let current: Vec<&str> = navigation(Some(&reviewer), "/pruefung/skizzen/3")
            .iter()
            .filter(|i| i.current)
            .map(|i| i.href)
            .collect();
        assert_eq!(current, ["/pruefung/skizzen"]);
    }
}
