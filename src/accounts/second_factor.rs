//! The second factor: setting up an authenticator app (TOTP) with recovery codes under "Mein
//! Konto", and giving a code after the password at login. Required for reviewer and admin
//! accounts before ministry pages (see `Config::require_second_factor`), optional for clerks.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::json;

use super::db::{self, SessionStage};
use super::guard;
use super::session::{CurrentUser, PendingLogin, start_session};
use super::totp;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{
    ClientAddress, FormErrors, PageContext, ProtectedForm, redirect_with_flash,
    safe_redirect_target,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/anmelden/zweiter-faktor", get(login_page).post(login))
        .route("/konto/zweiter-faktor", get(setup_page).post(enable))
        .route("/konto/zweiter-faktor/neue-codes", post(new_recovery_codes))
}

fn unix_now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/second_factor_login.html")]
struct LoginPage {
    page: PageContext,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn login_page(
    page: PageContext,
    pending: Option<Extension<PendingLogin>>,
    Query(q): Query<NextQuery>,
) -> Response {
    if pending.is_none() {
        return Redirect::to("/anmelden").into_response();
    }
    let next = safe_redirect_target(&q.next).unwrap_or("").to_string();
    LoginPage {
        page,
        next,
        errors: FormErrors::default(),
    }
    .into_response()
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
    /// During setup: the secret the page showed.
    secret: Option<String>,
}

const WRONG_CODE: &str = "Der Code ist nicht richtig oder schon abgelaufen. Bitte geben Sie den aktuellen Code aus Ihrer App oder einen Wiederherstellungscode ein.";

/// Checks the code (or a recovery code), then replaces the half-way session with a full one.
async fn login(
    State(app): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    client: ClientAddress,
    pending: Option<Extension<PendingLogin>>,
    ProtectedForm(form): ProtectedForm<CodeForm>,
) -> Result<Response, AppError> {
    let Some(Extension(pending)) = pending else {
        return Ok(Redirect::to("/anmelden").into_response());
    };
    let next = safe_redirect_target(&form.next).unwrap_or("").to_string();
    let key = format!("second-factor:{}", pending.user_id);
    let subject = format!("user:{}", pending.user_id);
    let actor = Actor {
        user_id: Some(pending.user_id),
        client: &client.0,
    };
    let mut tx = app.db.begin().await?;
    // After ten wrong codes the password is needed again: a stolen password gives at most ten
    // guesses per quarter hour, from however many machines.
    if guard::attempts_on(&mut tx, &key).await? >= MAX_WRONG_CODES {
        db::delete_session(&mut tx, &pending.session_hash).await?;
        audit::record(
            &mut tx,
            actor,
            "login.throttled",
            &subject,
            json!({ "step": "second_factor" }),
        )
        .await?;
        tx.commit().await?;
        return Ok(redirect_with_flash(
            &app.cookies,
            "/anmelden",
            TOO_MANY_CODES,
        ));
    }
    let Some(attempt) = guard::begin(&mut tx, &key, &client.0, false).await? else {
        audit::record(
            &mut tx,
            actor,
            "login.throttled",
            &subject,
            json!({ "step": "second_factor" }),
        )
        .await?;
        tx.commit().await?;
        return Ok(redirect_with_flash(
            &app.cookies,
            "/anmelden",
            TOO_MANY_CODES,
        ));
    };
    if !check_code(&mut tx, pending.user_id, &form.code, true).await? {
        audit::record(
            &mut tx,
            actor,
            "login.second_factor_failed",
            &subject,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        let mut errors = FormErrors::default();
        errors.add("code", WRONG_CODE);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            LoginPage { page, next, errors },
        )
            .into_response());
    }
    guard::forgive(&mut tx, attempt).await?;
    db::delete_session(&mut tx, &pending.session_hash).await?;
    audit::record(&mut tx, actor, "login.second_factor", &subject, json!({})).await?;
    tx.commit().await?;
    let session = start_session(&app, pending.user_id, &headers, SessionStage::Full, true).await?;
    let target = if next.is_empty() {
        "/konto".to_string()
    } else {
        next
    };
    Ok((
        [(header::SET_COOKIE, session.cookie)],
        Redirect::to(&target),
    )
        .into_response())
}

const MAX_WRONG_CODES: i64 = 10;
const TOO_MANY_CODES: &str =
    "Zu viele falsche Codes. Bitte melden Sie sich in 15 Minuten erneut mit Ihrem Passwort an.";

/// A current code from the app (each time step once) or, where allowed, an unused recovery
/// code; either is used up when accepted.
async fn check_code(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    code: &str,
    recovery_allowed: bool,
) -> sqlx::Result<bool> {
    let factor = db::second_factor(conn, user_id).await?;
    let Some(secret) = factor.totp_secret else {
        return Ok(false);
    };
    match totp::accepted_step(&secret, code, unix_now(), factor.totp_last_step) {
        Some(step) => db::use_totp_step(conn, user_id, step).await,
        None if recovery_allowed => db::use_recovery_code(conn, user_id, code).await,
        None => Ok(false),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/second_factor_setup.html")]
struct SetupPage {
    page: PageContext,
    enabled: bool,
    required: bool,
    codes_left: i64,
    secret: String,
    qr_svg: String,
    errors: FormErrors,
}

/// The setup page. A new secret is made for each visit and travels in the form, so that merely
/// looking at the page changes nothing; it is stored when the first code confirms it.
async fn setup(
    app: &AppState,
    page: PageContext,
    user: &CurrentUser,
    secret: Option<String>,
    errors: FormErrors,
) -> Result<SetupPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let factor = db::second_factor(&mut conn, user.id).await?;
    let required =
        app.config.require_second_factor && user.roles.iter().any(|r| *r != super::Role::Clerk);
    if factor.enabled() {
        let codes_left = factor.recovery_codes_left;
        return Ok(SetupPage {
            page,
            enabled: true,
            required,
            codes_left,
            secret: String::new(),
            qr_svg: String::new(),
            errors,
        });
    }
    let secret = secret
        .filter(|s| totp::is_secret(s))
        .unwrap_or_else(totp::new_secret);
    let qr_svg = totp::qr_svg(&totp::otpauth_url(&secret, &user.email));
    Ok(SetupPage {
        page,
        enabled: false,
        required,
        codes_left: 0,
        secret,
        qr_svg,
        errors,
    })
}

async fn setup_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
) -> Result<SetupPage, AppError> {
    setup(&app, page, &user, None, FormErrors::default()).await
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/recovery_codes.html")]
struct CodesPage {
    page: PageContext,
    codes: Vec<String>,
}

/// Confirms the app with its first code, switches the second factor on, shows the recovery
/// codes once, and continues in a new session that counts as having given the second factor.
async fn enable(
    State(app): State<AppState>,
    mut page: PageContext,
    headers: HeaderMap,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<CodeForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let factor = db::second_factor(&mut tx, user.id).await?;
    let secret = form
        .secret
        .clone()
        .filter(|s| totp::is_secret(s) && !factor.enabled());
    let step = secret
        .as_deref()
        .and_then(|secret| totp::accepted_step(secret, &form.code, unix_now(), 0));
    let (Some(secret), Some(step)) = (secret, step) else {
        let mut errors = FormErrors::default();
        errors.add(
            "code",
            "Der Code stimmt nicht. Bitte geben Sie den Code ein, den Ihre App gerade anzeigt.",
        );
        drop(tx);
        let page = setup(&app, page, &user, form.secret, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let codes = totp::new_recovery_codes();
    if !db::enable_totp(&mut tx, user.id, &secret, step, &codes).await? {
        drop(tx);
        return Ok(redirect_with_flash(
            &app.cookies,
            "/konto/zweiter-faktor",
            "Der zweite Faktor ist schon eingerichtet.",
        ));
    }
    // Every session from before the second factor ends; this one continues as a new one.
    db::delete_sessions_of(&mut tx, user.id, None).await?;
    let actor = user.actor(&client);
    audit::record(
        &mut tx,
        actor,
        "second_factor.enabled",
        &format!("user:{}", user.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    let session = start_session(&app, user.id, &headers, SessionStage::Full, true).await?;
    page.csrf_token = session.csrf_token;
    Ok((
        [(header::SET_COOKIE, session.cookie)],
        CodesPage { page, codes },
    )
        .into_response())
}

async fn new_recovery_codes(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<CodeForm>,
) -> Result<Response, AppError> {
    let actor = user.actor(&client);
    let subject = format!("user:{}", user.id);
    let mut tx = app.db.begin().await?;
    let attempt = guard::begin(&mut tx, &format!("reauth:{}", user.id), &client.0, false).await?;
    let accepted = match &attempt {
        Some(_) => check_code(&mut tx, user.id, &form.code, false).await?,
        None => false,
    };
    if !accepted {
        let action = if attempt.is_some() {
            "second_factor.code_wrong"
        } else {
            "reauth.throttled"
        };
        audit::record(&mut tx, actor, action, &subject, json!({})).await?;
        tx.commit().await?;
        let mut errors = FormErrors::default();
        errors.add(
            "code",
            if attempt.is_some() {
                WRONG_CODE
            } else {
                super::profile::TOO_MANY_TRIES
            },
        );
        let page = setup(&app, page, &user, None, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if let Some(attempt) = attempt {
        guard::forgive(&mut tx, attempt).await?;
    }
    let codes = totp::new_recovery_codes();
    db::replace_recovery_codes(&mut tx, user.id, &codes).await?;
    audit::record(
        &mut tx,
        actor,
        "second_factor.new_codes",
        &subject,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(CodesPage { page, codes }.into_response())
}
