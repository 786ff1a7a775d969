//! Request/response middleware of the page shell: the check of the Host header, visitor cookies
//! (anonymous CSRF token, flash), security headers, and German error pages for every error
//! response (which also audit refused requests and note database outages).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sqlx::PgPool;

use super::assets::Assets;
use super::error_page::error_page;
use super::{ClientAddress, CookiePolicy, CsrfToken, PageContext, cookie, decode_flash};
use crate::audit::Subject;
use crate::database::Health;
use crate::error::{AccessDenied, DatabaseUnreachable, ErrorDetail, RawResponse};
use crate::secrets::random_token;

pub const FLASH_COOKIE: &str = "fp_flash";
pub const ANON_CSRF_COOKIE: &str = "fp_csrf";
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The host names the portal answers for: `BASE_URL`'s, any in `ALLOWED_HOSTS`, and loopback
/// (health checks, a proxy on the same machine). Anything else is refused, so a DNS name an
/// attacker points at the server (DNS rebinding) does not reach the portal.
#[derive(Clone, Debug)]
pub struct KnownHosts {
    /// `host:port`, lower case, the port filled in where the name had none.
    hosts: Vec<String>,
    /// The port a Host header without one means (that of `BASE_URL`'s scheme).
    default_port: &'static str,
}

impl KnownHosts {
    pub fn from_config(config: &crate::config::Config) -> Self {
        let (scheme, rest) = config.base_url.split_once("://").unwrap_or(("http", ""));
        let default_port = if scheme == "https" { "443" } else { "80" };
        let base = rest.split('/').next().unwrap_or("");
        let hosts = std::iter::once(base)
            .chain(config.allowed_hosts.iter().map(String::as_str))
            .map(|h| split_host(h, default_port))
            .map(|(name, port)| format!("{name}:{port}"))
            .collect();
        KnownHosts {
            hosts,
            default_port,
        }
    }

    pub fn allows(&self, host: &str) -> bool {
        let (name, port) = split_host(host, self.default_port);
        matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]")
            || self.hosts.contains(&format!("{name}:{port}"))
    }
}

/// "Name:port" (or "[v6]:port") into the lower-case name and the port, `default_port` if none.
fn split_host<'a>(authority: &'a str, default_port: &'a str) -> (String, &'a str) {
    let authority = authority.trim();
    let (name, port) = match authority.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            (name, port)
        }
        _ => (authority, default_port),
    };
    (name.to_ascii_lowercase(), port)
}

/// Refuses requests for a host the portal is not (see [`KnownHosts`]) with a German 400 page.
pub async fn known_host(
    State(hosts): State<Arc<KnownHosts>>,
    State(assets): State<Arc<Assets>>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    if host.as_deref().is_some_and(|h| hosts.allows(h)) {
        return next.run(req).await;
    }
    tracing::info!(host = ?host, "refused a request for a foreign host");
    let (parts, _) = req.into_parts();
    let page = PageContext::build(&parts, &assets);
    error_page(
        page,
        StatusCode::BAD_REQUEST,
        Some(ErrorDetail::UnknownHost),
        request_id(&parts),
    )
}

/// Gives every visitor a CSRF token (double-submit cookie) for anonymous forms such as the login,
/// and hands a pending flash message to the page that displays it.
pub async fn visitor_cookies(
    State(policy): State<CookiePolicy>,
    mut req: Request,
    next: Next,
) -> Response {
    let existing = cookie(req.headers(), &policy.name(ANON_CSRF_COOKIE))
        .filter(|v| {
            v.len() >= 32
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string);
    let new_token = existing.is_none().then(random_token);
    let token = existing.or_else(|| new_token.clone()).unwrap_or_default();
    req.extensions_mut().insert(CsrfToken(token));

    let flash = cookie(req.headers(), &policy.name(FLASH_COOKIE)).and_then(decode_flash);
    let had_flash = flash.is_some();
    match flash {
        Some(super::OneTime::Notice(notice)) => {
            req.extensions_mut().insert(notice);
        }
        Some(super::OneTime::Refused(refusal)) => {
            req.extensions_mut().insert(refusal);
        }
        None => {}
    }

    let mut response = next.run(req).await;
    if let Some(token) = new_token {
        append_cookie(&mut response, &policy.set(ANON_CSRF_COOKIE, &token));
    }
    // Every HTML page shows the message in the layout, so it is consumed by the first page
    // rendered, not by a redirect on the way there, and never when the response sets a new one.
    let sets_flash = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| {
            v.as_bytes()
                .starts_with(format!("{}=", policy.name(FLASH_COOKIE)).as_bytes())
        });
    if had_flash && is_html(&response) && !sets_flash {
        append_cookie(&mut response, &policy.clear(FLASH_COOKIE));
    }
    response
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// A request id from outside is kept only if it is a UUID (as a proxy would send); anything else
/// could forge log correlation or smuggle text into logs and error pages.
pub async fn distrust_client_request_id(mut req: Request, next: Next) -> Response {
    let acceptable = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| uuid::Uuid::try_parse(v).is_ok());
    if !acceptable {
        req.headers_mut().remove(REQUEST_ID_HEADER);
    }
    next.run(req).await
}

/// Reads what an answer left unread of the request body before the answer goes out, up to
/// `limit` bytes and for at most `patience`. A request refused before its body was read — an
/// upload after the session ended, a failed cross-site check, a form over the form limit —
/// would otherwise close the connection with the body still arriving: a proxy that sends the
/// whole body before it reads the answer (nginx) gets a broken pipe and shows its own 502, and
/// a browser may see a reset instead of the German page.
pub async fn drain_unread_body(
    State((limit, patience)): State<(usize, std::time::Duration)>,
    request: Request,
    next: Next,
) -> Response {
    use futures_util::StreamExt;
    use hyper::body::Body as _;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if request.body().is_end_stream() || declared.is_some_and(|n| n > limit) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let shared = SharedBody(Arc::new(std::sync::Mutex::new(Some(body))));
    let left = Arc::clone(&shared.0);
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::new(shared)))
        .await;
    let rest = left
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(rest) = rest {
        let drain = async {
            let (mut rest, mut read) = (rest.into_data_stream(), 0);
            while let Some(Ok(chunk)) = rest.next().await {
                read += chunk.len();
                if read > limit {
                    break;
                }
            }
        };
        // A client too slow to finish its body gets the answer and a closed connection.
        let _ = tokio::time::timeout(patience, drain).await;
    }
    response
}

/// The request body as the handler reads it, while the middleware keeps hold of what is left.
struct SharedBody(Arc<std::sync::Mutex<Option<axum::body::Body>>>);

impl hyper::body::Body for SharedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let mut body = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match body.as_mut() {
            Some(body) => std::pin::Pin::new(body).poll_frame(cx),
            None => std::task::Poll::Ready(None),
        }
    }
}

fn append_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Headers for every response. The CSP allows only this origin: no inline scripts, no CDN.
pub async fn security_headers(
    State(cookies): State<CookiePolicy>,
    req: Request,
    next: Next,
) -> Response {
    let mut response = next.run(req).await;
    let html = is_html(&response);
    let h = response.headers_mut();
    let defaults: [(&str, &str); 6] = [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    for (name, value) in defaults {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if cookies.secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // Pages can hold personal data: never store them in shared caches.
    if html && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Turns every error response that is not already a page (404 of the router, 413 of the body
/// limit, 504 of the timeout, 500 of a panic, an `AppError`, …) into the German error page with
/// the request id.
pub async fn error_pages(
    State(assets): State<Arc<Assets>>,
    State(denials): State<Arc<DenialLog>>,
    State(db_health): State<Arc<Health>>,
    State(db): State<PgPool>,
    client: ClientAddress,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let page = PageContext::build(&parts, &assets);
    let request_id = request_id(&parts);
    let (method, path) = (parts.method.clone(), parts.uri.path().to_string());
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.extensions().get::<AccessDenied>().is_some() {
        let user_id = page.viewer.as_ref().map(|v| v.user_id);
        record_denial(&denials, &db, user_id, &client, method.as_str(), &path).await;
    }

    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_html(&response)
        || response.extensions().get::<RawResponse>().is_some()
    {
        return response;
    }
    let cross_site = response
        .extensions()
        .get::<tower_http::csrf::ProtectionError>()
        .is_some();
    let detail = response
        .extensions()
        .get::<ErrorDetail>()
        .copied()
        .or(cross_site.then_some(ErrorDetail::CsrfMismatch));
    if let Some(DatabaseUnreachable(error)) = response.extensions().get() {
        db_health.unreachable(error);
    }
    let mut page = error_page(page, status, detail, request_id);
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}

/// Refused requests go into the audit log, but each person (or anonymous client) and route at
/// most once per [`DENIAL_WINDOW`], so a crawler cannot flood the log.
#[derive(Debug, Default)]
pub struct DenialLog {
    recorded: std::sync::Mutex<std::collections::HashMap<(String, String), std::time::Instant>>,
}

pub const DENIAL_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);
/// At most this many (person, route) pairs are remembered; beyond it nothing more is audited
/// until older ones leave the window.
const DENIALS_KEPT: usize = 10_000;

impl DenialLog {
    /// Whether this refusal is the first of its kind in the window (and so to be recorded).
    pub fn first_in_window(&self, who: &str, route: &str) -> bool {
        let mut recorded = self
            .recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if recorded.len() >= DENIALS_KEPT {
            recorded.retain(|_, at| now.duration_since(*at) < DENIAL_WINDOW);
            if recorded.len() >= DENIALS_KEPT {
                // Thousands of distinct refusals within minutes: the log line stands for them.
                tracing::warn!("refused requests are not audited: too many in the window");
                return false;
            }
        }
        match recorded.get(&(who.to_string(), route.to_string())) {
            Some(at) if now.duration_since(*at) < DENIAL_WINDOW => false,
            _ => {
                recorded.insert((who.to_string(), route.to_string()), now);
                true
            }
        }
    }
}

/// A path with every segment that is not a plain word (`antraege`, `zweiter-faktor`,
/// `bescheid.pdf`) as `{id}`: the route, not the object. Routes match their fixed segments
/// literally, so only the parameters can vary, and `+01`, `%31` or `1` all count as one.
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let word = segment.len() <= 40
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'.');
            if word { segment } else { "{id}" }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn record_denial(
    denials: &DenialLog,
    db: &PgPool,
    user_id: Option<i64>,
    client: &ClientAddress,
    method: &str,
    path: &str,
) {
    let route = format!("{method} {}", route_of(path));
    let who = user_id.map_or_else(|| client.0.clone(), |id| Subject::User(id).to_string());
    if !denials.first_in_window(&who, &route) {
        return;
    }
    let actor = crate::audit::Actor {
        user_id,
        client: &client.0,
    };
    let details = serde_json::json!({ "path": path });
    let recorded = match db.acquire().await {
        Ok(mut conn) => {
            crate::audit::record(
                &mut conn,
                actor,
                "access.denied",
                Subject::Route(&route),
                details,
            )
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "recording a refused request in the audit log failed");
    }
}

pub fn request_id(parts: &Parts) -> String {
    parts
        .headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

impl CookiePolicy {
    pub fn for_base_url(base_url: &str) -> Self {
        CookiePolicy {
            secure: base_url.starts_with("https://"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(base_url: &str, extra: &[&str]) -> KnownHosts {
        let mut config = crate::config::Config::local_defaults();
        config.base_url = base_url.into();
        config.allowed_hosts = extra.iter().map(std::string::ToString::to_string).collect();
        KnownHosts::from_config(&config)
    }

    #[test]
    fn refusals_are_recorded_once_per_person_and_route_in_the_window() {
        let log = DenialLog::default();
        assert!(log.first_in_window("user:7", "GET /pruefung"));
        assert!(!log.first_in_window("user:7", "GET /pruefung"));
        assert!(log.first_in_window("user:7", "GET /admin/benutzer"));
        assert!(log.first_in_window("user:8", "GET /pruefung"));
        assert_eq!(
            route_of("/pruefung/antraege/17/notizen"),
            "/pruefung/antraege/{id}/notizen"
        );
    }

    #[test]
    fn only_the_portals_own_host_and_loopback_are_answered() {
        let public = hosts("https://foerderportal.thueringen.de", &["app1.intern:8080"]);
        assert!(public.allows("foerderportal.thueringen.de"));
        assert!(public.allows("Foerderportal.Thueringen.DE:443"));
        assert!(public.allows("app1.intern:8080"));
        assert!(
            public.allows("127.0.0.1:8080"),
            "health checks on the machine"
        );
        assert!(public.allows("localhost"));
        assert!(public.allows("[::1]:8080"));
        assert!(!public.allows("foerderportal.thueringen.de:8443"));
        assert!(!public.allows("evil.example"));
        assert!(!public.allows("foerderportal.thueringen.de.evil.example"));
        assert!(!public.allows(""));
        let local = hosts("http://localhost:8080", &[]);
        assert!(local.allows("localhost:8080"));
        assert!(!local.allows("rebind.evil.example:8080"));
    }
}
