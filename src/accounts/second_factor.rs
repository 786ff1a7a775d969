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
use super::profile::{TOO_MANY_TRIES, confirm_password};
use super::session::{CurrentUser, PendingLogin, start_session};
use super::totp;
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, PageContext, ProtectedForm, redirect_with_flash, safe_redirect_target,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/anmelden/zweiter-faktor", get(login_page).post(login))
        .route("/konto/zweiter-faktor", get(setup_page).post(enable))
        .route(
            "/konto/zweiter-faktor/neue-app",
            get(replace_page).post(replace),
        )
        .route("/konto/zweiter-faktor/neue-codes", post(new_recovery_codes))
        .route("/konto/zweiter-faktor/entfernen", post(remove))
}

fn unix_now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
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

/// The code and password fields; on the page with several forms they carry the form's prefix
/// (`codes_…`, `remove_…`), so each has an id of its own for the error summary.
#[derive(Deserialize)]
struct CodeForm {
    #[serde(default, alias = "codes_code", alias = "remove_code")]
    code: String,
    #[serde(default)]
    next: String,
    /// During setup: the secret the page showed.
    secret: Option<String>,
    /// When replacing the app: a code of the old one, or a recovery code.
    #[serde(default)]
    current_code: String,
    /// The current password, which every change of the second factor needs.
    #[serde(default, alias = "codes_password", alias = "remove_password")]
    password: String,
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
    let subject = Subject::User(pending.user_id);
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
            subject,
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
            subject,
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
    if !check_code(&app, &mut tx, pending.user_id, &form.code, true).await? {
        audit::record(
            &mut tx,
            actor,
            "login.second_factor_failed",
            subject,
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
    audit::record(&mut tx, actor, "login.second_factor", subject, json!({})).await?;
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
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    code: &str,
    recovery_allowed: bool,
) -> Result<bool, AppError> {
    let factor = db::second_factor(conn, user_id).await?;
    let Some(stored) = factor.totp_secret else {
        return Ok(false);
    };
    let secret = app.secrets.reveal(&stored)?;
    Ok(
        match totp::accepted_step(&secret, code, unix_now(), factor.totp_last_step) {
            Some(step) => db::use_totp_step(conn, user_id, step).await?,
            None if recovery_allowed => db::use_recovery_code(conn, user_id, code).await?,
            None => false,
        },
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/second_factor_setup.html")]
struct SetupPage {
    page: PageContext,
    /// This account must have a second factor (so it can be replaced, not removed).
    required: bool,
    codes_left: i64,
    /// Enrolling an app: the new secret and its QR code, and where the form goes.
    enrol: Option<Enrolment>,
    errors: FormErrors,
}

struct Enrolment {
    secret: String,
    qr_svg: String,
    action: &'static str,
    replacing: bool,
}

/// Ministry accounts, where the configuration requires it: they may replace their second
/// factor, never remove it.
fn must_have_second_factor(app: &AppState, user: &CurrentUser) -> bool {
    app.config.require_second_factor && user.roles.iter().any(|r| *r != super::Role::Clerk)
}

const SETUP: &str = "/konto/zweiter-faktor";
const REPLACE: &str = "/konto/zweiter-faktor/neue-app";

/// The setup page. A new secret is made for each visit and travels in the form, so that merely
/// looking at the page changes nothing; it is stored when the password and the first code
/// confirm it. `replacing` shows the enrolment of a new app for an account that has one.
async fn setup(
    app: &AppState,
    page: PageContext,
    user: &CurrentUser,
    secret: Option<String>,
    replacing: bool,
    errors: FormErrors,
) -> Result<SetupPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let factor = db::second_factor(&mut conn, user.id).await?;
    let required = must_have_second_factor(app, user);
    let enrol = (!factor.enabled() || replacing).then(|| {
        let secret = secret
            .filter(|s| totp::is_secret(s))
            .unwrap_or_else(totp::new_secret);
        Enrolment {
            qr_svg: totp::qr_svg(&totp::otpauth_url(&secret, &user.email)),
            secret,
            action: if factor.enabled() { REPLACE } else { SETUP },
            replacing: factor.enabled(),
        }
    });
    Ok(SetupPage {
        page,
        required,
        codes_left: factor.recovery_codes_left,
        enrol,
        errors,
    })
}

async fn setup_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
) -> Result<SetupPage, AppError> {
    setup(&app, page, &user, None, false, FormErrors::default()).await
}

async fn replace_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
) -> Result<SetupPage, AppError> {
    setup(&app, page, &user, None, true, FormErrors::default()).await
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/recovery_codes.html")]
struct CodesPage {
    page: PageContext,
    codes: Vec<String>,
}

const WRONG_NEW_CODE: &str =
    "Der Code stimmt nicht. Bitte geben Sie den Code ein, den Ihre App gerade anzeigt.";

/// The password (throttled) and a first code from the app for the secret the page showed:
/// the errors for the fields, or the secret and the code's time step.
async fn confirm_enrolment(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientAddress,
    form: &CodeForm,
    replacing: bool,
) -> Result<Result<(String, i64), FormErrors>, AppError> {
    let mut errors = FormErrors::default();
    if let Err(problem) = confirm_password(app, user, client, form.password.clone()).await? {
        errors.add("password", problem);
    } else if replacing {
        // Moving the factor to another app needs the factor itself, not only the password.
        let current = &form.current_code;
        if let Err(problem) = confirm_current_code(app, user, client, current, true).await? {
            errors.add("current_code", problem);
        }
    }
    let secret = form.secret.clone().filter(|s| totp::is_secret(s));
    let step = secret
        .as_deref()
        .and_then(|secret| totp::accepted_step(secret, &form.code, unix_now(), 0));
    match (secret, step) {
        (Some(secret), Some(step)) if errors.is_empty() => Ok(Ok((secret, step))),
        (_, None) => {
            errors.add("code", WRONG_NEW_CODE);
            Ok(Err(errors))
        }
        _ => Ok(Err(errors)),
    }
}

/// Confirms the app with the password and its first code, switches the second factor on,
/// shows the recovery codes once, and continues in a new session that counts as having given
/// the second factor.
async fn enable(
    State(app): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<CodeForm>,
) -> Result<Response, AppError> {
    enrol(&app, page, &headers, &user, &client, form, false).await
}

/// A new app in place of the old one (a new phone, say): the password and a code from the new
/// app; the old app's codes and the recovery codes stop working.
async fn replace(
    State(app): State<AppState>,
    page: PageContext,
    headers: HeaderMap,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<CodeForm>,
) -> Result<Response, AppError> {
    enrol(&app, page, &headers, &user, &client, form, true).await
}

/// Stores the confirmed app (the first, or with `replacing` a new one); every session from
/// before ends, this one continues as a new one that has given the second factor, and the
/// recovery codes are shown once.
async fn enrol(
    app: &AppState,
    mut page: PageContext,
    headers: &HeaderMap,
    user: &CurrentUser,
    client: &ClientAddress,
    form: CodeForm,
    replacing: bool,
) -> Result<Response, AppError> {
    let (secret, step) = match confirm_enrolment(app, user, client, &form, replacing).await? {
        Ok(confirmed) => confirmed,
        Err(errors) => {
            let page = setup(app, page, user, form.secret, replacing, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let codes = totp::new_recovery_codes();
    let sealed = app.secrets.seal(&secret);
    let mut tx = app.db.begin().await?;
    if !db::set_totp(&mut tx, user.id, &sealed, step, &codes, replacing).await? {
        // Another request set it up (or removed it) meanwhile: its state stands.
        drop(tx);
        return Ok(Redirect::to(SETUP).into_response());
    }
    db::delete_sessions_of(&mut tx, user.id, None).await?;
    let action = if replacing {
        "second_factor.replaced"
    } else {
        "second_factor.enabled"
    };
    let subject = Subject::User(user.id);
    audit::record(&mut tx, user.actor(client), action, subject, json!({})).await?;
    tx.commit().await?;
    let session = start_session(app, user.id, headers, SessionStage::Full, true).await?;
    page.csrf_token = crate::web::csrf::masked(&session.csrf_token);
    Ok((
        [(header::SET_COOKIE, session.cookie)],
        CodesPage { page, codes },
    )
        .into_response())
}

/// The password and a current code (from the app, or where allowed a recovery code), each
/// throttled; the errors for the fields named `{prefix}_password` and `{prefix}_code`.
async fn confirm_password_and_code(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientAddress,
    form: &CodeForm,
    prefix: &str,
    recovery_allowed: bool,
) -> Result<FormErrors, AppError> {
    let mut errors = FormErrors::default();
    if let Err(problem) = confirm_password(app, user, client, form.password.clone()).await? {
        errors.add(format!("{prefix}_password"), problem);
    } else if let Err(problem) =
        confirm_current_code(app, user, client, &form.code, recovery_allowed).await?
    {
        errors.add(format!("{prefix}_code"), problem);
    }
    Ok(errors)
}

/// A current code of the account's second factor (or where allowed a recovery code), with
/// guessing throttled like at login and audited. `Err` holds the message for the field.
async fn confirm_current_code(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientAddress,
    code: &str,
    recovery_allowed: bool,
) -> Result<Result<(), &'static str>, AppError> {
    let subject = Subject::User(user.id);
    let mut tx = app.db.begin().await?;
    let key = format!("second-factor:{}", user.id);
    let attempt = guard::begin(&mut tx, &key, &client.0, false).await?;
    let accepted = match &attempt {
        Some(_) => check_code(app, &mut tx, user.id, code, recovery_allowed).await?,
        None => false,
    };
    let outcome = match attempt {
        Some(attempt) if accepted => {
            guard::forgive(&mut tx, attempt).await?;
            Ok(())
        }
        Some(_) => {
            let actor = user.actor(client);
            audit::record(
                &mut tx,
                actor,
                "second_factor.code_wrong",
                subject,
                json!({}),
            )
            .await?;
            Err(WRONG_CODE)
        }
        None => {
            let actor = user.actor(client);
            audit::record(&mut tx, actor, "reauth.throttled", subject, json!({})).await?;
            Err(TOO_MANY_TRIES)
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn new_recovery_codes(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<CodeForm>,
) -> Result<Response, AppError> {
    let errors = confirm_password_and_code(&app, &user, &client, &form, "codes", false).await?;
    if !errors.is_empty() {
        let page = setup(&app, page, &user, None, false, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let codes = totp::new_recovery_codes();
    let mut tx = app.db.begin().await?;
    db::replace_recovery_codes(&mut tx, user.id, &codes).await?;
    let subject = Subject::User(user.id);
    audit::record(
        &mut tx,
        user.actor(&client),
        "second_factor.new_codes",
        subject,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(CodesPage { page, codes }.into_response())
}

/// Switches the second factor off, for accounts that need none: the password and a code from
/// the app or a recovery code.
async fn remove(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<CodeForm>,
) -> Result<Response, AppError> {
    if must_have_second_factor(&app, &user) {
        return Err(AppError::Forbidden);
    }
    let errors = confirm_password_and_code(&app, &user, &client, &form, "remove", true).await?;
    if !errors.is_empty() {
        let page = setup(&app, page, &user, None, false, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut tx = app.db.begin().await?;
    db::disable_totp(&mut tx, user.id).await?;
    let subject = Subject::User(user.id);
    audit::record(
        &mut tx,
        user.actor(&client),
        "second_factor.removed",
        subject,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        SETUP,
        "Der zweite Faktor ist entfernt. Bei der Anmeldung genügt jetzt Ihr Passwort.",
    ))
}
