//! Server-side sessions in PostgreSQL. The cookie holds a random token; the table holds its
//! SHA-256, the user, the form token and the timestamps for idle and absolute expiry.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use time::OffsetDateTime;

use super::db::{self, SessionStage};
use super::model::{Role, roles_label, token_hash};
use crate::error::AppError;
use crate::secrets::random_token;
use crate::state::AppState;
use crate::web::error_page::error_page;
use crate::web::middleware::request_id;
use crate::web::{CsrfToken, PageContext, Viewer, cookie};

pub const SESSION_COOKIE: &str = "fp_session";

/// Refresh `last_seen_at` at most this often.
const TOUCH_INTERVAL: time::Duration = time::Duration::minutes(1);

/// The signed-in user of this request.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub municipality_id: Option<i64>,
    pub municipality_name: Option<String>,
    session_hash: Vec<u8>,
    /// A ministry account that has to give a second factor before ministry pages.
    second_factor_missing: bool,
}

impl CurrentUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Deny unless the user holds the role; ministry roles also need the second factor where
    /// it is required. Handlers say it in their signature instead: [`Clerk`], [`Reviewer`],
    /// [`Admin`].
    fn require(&self, role: Role) -> Result<(), AppError> {
        if !self.has_role(role) {
            return Err(AppError::Forbidden);
        }
        if role != Role::Clerk && self.second_factor_missing {
            return Err(AppError::SecondFactorRequired);
        }
        Ok(())
    }

    /// This user, from this client, as the audit log records them.
    pub fn actor<'a>(&self, client: &'a crate::web::ClientAddress) -> crate::audit::Actor<'a> {
        crate::audit::Actor {
            user_id: Some(self.id),
            client: &client.0,
        }
    }

    /// Identifies this session among the user's sessions.
    pub fn session_hash(&self) -> &[u8] {
        &self.session_hash
    }

    pub fn roles_label(&self) -> String {
        roles_label(&self.roles)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| AppError::LoginRequired {
                // Only a page can be returned to; a form post would arrive as a GET.
                next: match parts.method {
                    axum::http::Method::GET => parts
                        .uri
                        .path_and_query()
                        .map_or_else(|| "/".into(), |p| p.as_str().to_string()),
                    _ => "/konto".into(),
                },
            })
    }
}

/// A signed-in user who holds a role, as a handler's extractor: the signature says who may
/// call it, and no handler can forget the check.
macro_rules! role_guard {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Debug)]
        pub struct $name(pub CurrentUser);

        impl $name {
            /// For access rules that first look the object up (unknown ones are 404 for
            /// everybody) and only then ask for the role.
            pub fn check(user: &CurrentUser) -> Result<(), AppError> {
                user.require($role)
            }
        }

        impl std::ops::Deref for $name {
            type Target = CurrentUser;
            fn deref(&self) -> &CurrentUser {
                &self.0
            }
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
                let user = CurrentUser::from_request_parts(parts, state).await?;
                user.require($role)?;
                Ok($name(user))
            }
        }
    };
}

role_guard!(
    Clerk,
    Role::Clerk,
    "A municipal clerk (Kommunale Sachbearbeitung)."
);
role_guard!(
    Reviewer,
    Role::Reviewer,
    "A ministry reviewer, with the second factor where it is required."
);
role_guard!(
    Admin,
    Role::Admin,
    "An admin, with the second factor where it is required."
);

/// Loads the session named by the cookie and puts the user, the viewer for the layout and the
/// session's form token into the request. A dead session's cookie is removed.
pub async fn load_session(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    // Browsers send the cookie with every stylesheet and script too; those need no session,
    // and looking it up would cost a database round trip each.
    if req.uri().path().starts_with("/static/") {
        return next.run(req).await;
    }
    let cookie_name = app.cookies.name(SESSION_COOKIE);
    let Some(token) = cookie(req.headers(), &cookie_name).map(str::to_string) else {
        return next.run(req).await;
    };
    let id_hash = token_hash(&token);
    // Bounded like the handlers behind it, so a locked table cannot hang requests here.
    let lookup = lookup_and_touch(&app, &id_hash);
    let record = match tokio::time::timeout(app.config.request_timeout, lookup).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("timed out".to_string()),
    };
    let record = match record {
        Ok(r) => r,
        Err(e) => {
            // Without the database the request cannot be served as this user; say so rather
            // than show the page as if they were anonymous.
            app.db_health.unreachable(&e);
            let (parts, _) = req.into_parts();
            let page = PageContext::build(&parts, &app.assets);
            return error_page(
                page,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                request_id(&parts),
            );
        }
    };
    let Some(s) = record else {
        let mut response = next.run(req).await;
        if let Ok(v) = HeaderValue::from_str(&app.cookies.clear(SESSION_COOKIE)) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        return response;
    };
    // A session that has not given the second factor of an account that has one (one from
    // before it was set up, say) opens nothing but the second-factor page.
    if s.stage == "password" || (s.has_second_factor && !s.second_factor) {
        // Only the second-factor page may be used with this session.
        req.extensions_mut().insert(CsrfToken(s.csrf_token));
        req.extensions_mut().insert(PendingLogin {
            user_id: s.user_id,
            session_hash: id_hash,
        });
        return next.run(req).await;
    }
    let roles = s.roles;
    let ministry = roles.iter().any(|r| *r != Role::Clerk);
    let user = CurrentUser {
        second_factor_missing: app.config.require_second_factor && ministry && !s.second_factor,
        id: s.user_id,
        email: s.email,
        name: s.display_name,
        municipality_id: s.municipality_id,
        municipality_name: s.municipality_name,
        session_hash: id_hash,
        roles,
    };
    let viewer = Viewer {
        user_id: user.id,
        name: user.name.clone(),
        role_label: user.roles_label(),
        is_clerk: user.has_role(Role::Clerk),
        is_reviewer: user.has_role(Role::Reviewer),
        is_admin: user.has_role(Role::Admin),
    };
    tracing::Span::current().record("user_id", user.id);
    req.extensions_mut().insert(CsrfToken(s.csrf_token));
    req.extensions_mut().insert(viewer);
    req.extensions_mut().insert(user);
    next.run(req).await
}

async fn lookup_and_touch(
    app: &AppState,
    id_hash: &[u8],
) -> sqlx::Result<Option<db::SessionRecord>> {
    let mut conn = app.db.acquire().await?;
    let idle = app.config.session_idle_timeout;
    let found = db::find_live_session(&mut conn, id_hash, idle).await?;
    // Refresh at most once a minute (or a quarter of a short idle timeout), so browsing does
    // not write on every request.
    let interval = time::Duration::try_from(idle / 4)
        .unwrap_or(TOUCH_INTERVAL)
        .min(TOUCH_INTERVAL);
    if let Some(s) = &found
        && OffsetDateTime::now_utc() - s.last_seen_at > interval
    {
        db::touch_session(&mut conn, id_hash).await?;
    }
    Ok(found)
}

/// A session whose password was right but whose second factor is still to come.
#[derive(Clone, Debug)]
pub struct PendingLogin {
    pub user_id: i64,
    pub session_hash: Vec<u8>,
}

/// A new session: its Set-Cookie value and its form token.
pub struct NewSessionCookie {
    pub cookie: String,
    pub csrf_token: String,
}

/// Starts a fresh session (always a new id, so a planted cookie is worthless).
pub async fn start_session(
    app: &AppState,
    user_id: i64,
    headers: &HeaderMap,
    stage: SessionStage,
    second_factor: bool,
) -> Result<NewSessionCookie, AppError> {
    let token = random_token();
    let csrf = random_token();
    // Half-way through a login, the code has to follow within minutes.
    let lifetime = match stage {
        SessionStage::Password => std::time::Duration::from_secs(5 * 60),
        SessionStage::Full => app.config.session_max_lifetime,
    };
    let expires_at = OffsetDateTime::now_utc() + lifetime;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| truncate(s, 300));
    let mut conn = app.db.acquire().await?;
    // A session this browser still carries is replaced, not left open beside the new one.
    if let Some(previous) = cookie(headers, &app.cookies.name(SESSION_COOKIE)) {
        db::delete_session(&mut conn, &token_hash(previous)).await?;
    }
    db::insert_session(
        &mut conn,
        db::NewSession {
            id_hash: &token_hash(&token),
            user_id,
            csrf_token: &csrf,
            expires_at,
            user_agent: user_agent.as_deref(),
            stage,
            second_factor,
        },
    )
    .await?;
    Ok(NewSessionCookie {
        cookie: app.cookies.set(SESSION_COOKIE, &token),
        csrf_token: csrf,
    })
}

/// Ends the current session server-side and returns the Set-Cookie value that removes it.
pub async fn end_session(app: &AppState, user: &CurrentUser) -> Result<String, AppError> {
    let mut conn = app.db.acquire().await?;
    db::delete_session(&mut conn, &user.session_hash).await?;
    Ok(app.cookies.clear(SESSION_COOKIE))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
