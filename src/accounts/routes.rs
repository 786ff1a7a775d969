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
use super::guard;
use super::model::EmailAddress;
use super::session::{CurrentUser, end_session, start_session};
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash, safe_redirect_target,
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
            LoginOutcome::Success {
                user_id,
                has_second_factor,
                landing,
            } => {
                let target = if next.is_empty() {
                    landing.to_string()
                } else {
                    next
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
    Success {
        user_id: i64,
        has_second_factor: bool,
        /// Where to go when no page asked for the login.
        landing: &'static str,
    },
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
    // The throttle's key is the address as the account has it, so spelling variants of one
    // address share one count; anything that is no address shares one key too.
    let address = email.parse::<EmailAddress>().ok();
    let key = address.as_ref().map_or_else(
        || "<keine gültige Adresse>".into(),
        |a| a.as_str().to_string(),
    );
    let mut tx = app.db.begin().await?;
    let user = match &address {
        Some(address) => db::find_user_by_email(&mut tx, address).await?,
        None => None,
    };
    let known_client = match &user {
        Some(user) => db::signed_in_from_before(&mut tx, user.id, client).await?,
        None => false,
    };
    let Some(attempt) = guard::begin(&mut tx, &key, client, known_client).await? else {
        audit::record(
            &mut tx,
            Actor {
                user_id: None,
                client,
            },
            "login.throttled",
            Subject::Address(&key),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        return Ok(LoginOutcome::Throttled);
    };
    tx.commit().await?;
    // Never hold a connection while hashing.
    let stored = user
        .as_ref()
        .filter(|u| u.active)
        .and_then(|u| u.password_hash.clone());
    let ok = app.passwords.verify(password, stored).await?;
    let mut conn = app.db.acquire().await?;
    match user.filter(|_| ok) {
        Some(user) => {
            guard::forgive(&mut conn, attempt).await?;
            // With a second factor the login is complete only after the code.
            let has_second_factor = db::second_factor(&mut conn, user.id).await?.enabled();
            let action = if has_second_factor {
                "login.password_ok"
            } else {
                "login"
            };
            audit::record(
                &mut conn,
                Actor {
                    user_id: Some(user.id),
                    client,
                },
                action,
                Subject::User(user.id),
                json!({}),
            )
            .await?;
            Ok(LoginOutcome::Success {
                user_id: user.id,
                has_second_factor,
                landing: super::model::landing_page(&user.roles),
            })
        }
        None => {
            audit::record(
                &mut conn,
                Actor {
                    user_id: None,
                    client,
                },
                "login.failed",
                Subject::Address(&key),
                json!({}),
            )
            .await?;
            Ok(LoginOutcome::Failed)
        }
    }
}

async fn logout(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let clear = end_session(&app, &user).await?;
    let mut conn = app.db.acquire().await?;
    let actor = user.actor(&client);
    audit::record(
        &mut conn,
        actor,
        "logout",
        Subject::User(user.id),
        json!({}),
    )
    .await?;
    let mut response = redirect_with_flash(&app.cookies, "/", "Sie haben sich abgemeldet.");
    if let Ok(v) = clear.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
