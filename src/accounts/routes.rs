//! Login, logout and the account page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::db::{self, SessionStage};
use super::model::{EmailAddress, throttle};
use super::session::{CurrentUser, end_session, start_session};
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{
    ClientAddress, FormErrors, PageContext, ProtectedForm, clean_line, redirect_with_flash,
    safe_redirect_target,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/anmelden", get(login_page).post(login))
        .route("/abmelden", axum::routing::post(logout))
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    page: PageContext,
    email: String,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(page: PageContext, Query(q): Query<NextQuery>) -> LoginPage {
    let next = q
        .next
        .as_deref()
        .and_then(safe_redirect_target)
        .unwrap_or("")
        .to_string();
    LoginPage {
        page,
        email: String::new(),
        next,
        errors: FormErrors::default(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

const WRONG_CREDENTIALS: &str = "E-Mail-Adresse oder Passwort ist nicht richtig.";

async fn login(
    State(app): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_redirect_target(&form.next).unwrap_or("").to_string();
    let mut errors = FormErrors::default();
    if form.email.trim().is_empty() {
        errors.add("email", "Bitte geben Sie Ihre E-Mail-Adresse ein.");
    }
    if form.password.is_empty() {
        errors.add("password", "Bitte geben Sie Ihr Passwort ein.");
    }
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        match attempt_login(&app, &client.0, &form.email, form.password).await? {
            LoginOutcome::Success(user_id) => {
                let target = if next.is_empty() {
                    "/konto".to_string()
                } else {
                    next
                };
                let has_second_factor = {
                    let mut conn = app.db.acquire().await?;
                    db::second_factor(&mut conn, user_id).await?.enabled()
                };
                let (stage, target) = if has_second_factor {
                    let encoded =
                        serde_urlencoded::to_string([("next", &target)]).unwrap_or_default();
                    (
                        SessionStage::Password,
                        format!("/anmelden/zweiter-faktor?{encoded}"),
                    )
                } else {
                    (SessionStage::Full, target)
                };
                let session = start_session(&app, user_id, &headers, stage, false).await?;
                return Ok((
                    [(header::SET_COOKIE, session.cookie)],
                    Redirect::to(&target),
                )
                    .into_response());
            }
            LoginOutcome::Failed => errors.add("email", WRONG_CREDENTIALS),
            LoginOutcome::Throttled => {
                status = StatusCode::TOO_MANY_REQUESTS;
                errors.add("email", THROTTLED);
            }
        }
    }
    let page = LoginPage {
        page,
        email: form.email,
        next,
        errors,
    };
    Ok((status, page).into_response())
}

enum LoginOutcome {
    Success(i64),
    Failed,
    Throttled,
}

const THROTTLED: &str = "Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie 15 Minuten und versuchen Sie es dann erneut.";

/// Checks the throttle, then the password; records failures and audits every outcome.
async fn attempt_login(
    app: &AppState,
    client: &str,
    email: &str,
    password: String,
) -> Result<LoginOutcome, AppError> {
    // What was typed, normalised, is the throttle's key, whether or not such an account exists.
    let typed = clean_line(email, 254).to_lowercase();
    let actor = |user_id| Actor { user_id, client };
    let mut conn = app.db.acquire().await?;
    let failures = db::recent_login_failures(&mut conn, &typed, client, throttle::WINDOW).await?;
    if throttle::is_throttled(failures.pair, failures.client, failures.email) {
        audit::record(&mut conn, actor(None), "login.throttled", &typed, json!({})).await?;
        return Ok(LoginOutcome::Throttled);
    }
    let user = match typed.parse::<EmailAddress>() {
        Ok(address) => db::find_user_by_email(&mut conn, &address).await?,
        Err(_) => None,
    };
    // Never hold a connection while hashing.
    drop(conn);
    let stored = user
        .as_ref()
        .filter(|u| u.active)
        .and_then(|u| u.password_hash.clone());
    let ok = app.passwords.verify(password, stored).await?;
    let mut conn = app.db.acquire().await?;
    match user.filter(|_| ok) {
        Some(user) => {
            audit::record(
                &mut conn,
                actor(Some(user.id)),
                "login",
                &format!("user:{}", user.id),
                json!({}),
            )
            .await?;
            Ok(LoginOutcome::Success(user.id))
        }
        None => {
            db::record_login_failure(&mut conn, &typed, client).await?;
            audit::record(&mut conn, actor(None), "login.failed", &typed, json!({})).await?;
            Ok(LoginOutcome::Failed)
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {}

async fn logout(
    State(app): State<AppState>,
    user: CurrentUser,
    ProtectedForm(_): ProtectedForm<LogoutForm>,
) -> Result<Response, AppError> {
    let clear = end_session(&app, &user).await?;
    let mut response = redirect_with_flash(&app.cookies, "/", "Sie haben sich abgemeldet.");
    if let Ok(v) = clear.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
