//! Setting a password through a single-use link: accepting an invitation, and "Passwort
//! vergessen" with its reset link. The answer to a reset request never reveals whether the
//! address has an account.

use std::time::Duration;
use tracing::Instrument;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::db::{self, TokenPurpose};
use super::model::EmailAddress;
use super::policy;
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::database;
use crate::error::AppError;
use crate::locale;
use crate::mail::messages::{PasswordChanged, PasswordReset};
use crate::mail::{Message, Recipient};
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, PageContext, ProtectedForm, redirect_with_flash};

/// Reset links are short-lived; invitation links last a week.
pub const RESET_VALIDITY: Duration = Duration::from_secs(3600);
pub const INVITATION_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// At most this many reset mails per account and hour, so the form cannot flood a mailbox.
const RESETS_PER_HOUR: i64 = 3;
/// And at most this many requests from one client per hour, whatever the addresses.
const RESETS_PER_CLIENT_AND_HOUR: i64 = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/passwort-vergessen", get(forgot_page).post(forgot))
        .route("/passwort-zuruecksetzen", get(reset_page).post(reset))
        .route("/einladung", get(invitation_page).post(accept_invitation))
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/forgot_password.html")]
struct ForgotPage {
    page: PageContext,
    email: String,
    errors: FormErrors,
    requested: bool,
}

async fn forgot_page(page: PageContext) -> ForgotPage {
    ForgotPage {
        page,
        email: String::new(),
        errors: FormErrors::default(),
        requested: false,
    }
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(app): State<AppState>,
    page: PageContext,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<ForgotForm>,
) -> Result<Response, AppError> {
    let email =
        match EmailAddress::from_field(&form.email, "Bitte geben Sie Ihre E-Mail-Adresse ein.") {
            Ok(email) => email,
            Err(message) => {
                let mut errors = FormErrors::default();
                errors.add("email", message);
                let page = ForgotPage {
                    page,
                    email: form.email,
                    errors,
                    requested: false,
                };
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        };
    // The same work for every address: the account is looked up afterwards, outside this
    // request, so neither the answer nor its timing tells whether the address has one.
    // (Not even the audit entry is written here: its reference to the users table would make
    // the request wait on that table.)
    let mut conn = app.db.acquire().await?;
    // Same answer either way; only the mails stop when one client floods the form.
    if db::reset_requests_from(&mut conn, &client.0).await? < RESETS_PER_CLIENT_AND_HOUR {
        db::queue_reset_request(&mut conn, &email, &client.0).await?;
    }
    drop(conn);
    let worker = app.clone();
    tokio::spawn(
        async move {
            if let Err(e) = send_requested_resets(&worker).await {
                tracing::warn!(error = %e, "sending requested reset links failed; retried shortly");
            }
        }
        .instrument(tracing::Span::current()),
    );
    Ok(ForgotPage {
        page,
        email: String::new(),
        errors: FormErrors::default(),
        requested: true,
    }
    .into_response())
}

/// Works off the waiting reset requests: an active account gets a one-hour link (at most
/// three an hour), any other address nothing. Runs after each request and, for requests a
/// crash left behind, with the server's periodic jobs. A request that fails is logged and
/// counted as done, so it cannot hold up the ones behind it.
pub async fn send_requested_resets(app: &AppState) -> Result<usize, AppError> {
    let mut sent = 0;
    loop {
        let mut tx = app.db.begin().await?;
        let Some((email, client)) = db::take_reset_request(&mut tx).await? else {
            return Ok(sent);
        };
        let mut attempt = sqlx::Connection::begin(&mut *tx).await?;
        match answer_reset_request(app, &mut attempt, &email, &client).await {
            Ok(mailed) => {
                attempt.commit().await?;
                sent += usize::from(mailed);
            }
            Err(e) => {
                drop(attempt);
                tracing::warn!(error = %e, "a password-reset request could not be answered");
            }
        }
        tx.commit().await?;
    }
}

/// Audits the request and, for an active account under the hourly limit, enqueues the link.
/// Returns whether a mail went out.
async fn answer_reset_request(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    email: &str,
    client: &str,
) -> Result<bool, AppError> {
    let actor = Actor {
        user_id: None,
        client,
    };
    audit::record(
        conn,
        actor,
        "password.reset_requested",
        Subject::Address(email),
        json!({}),
    )
    .await?;
    let user = match email.parse::<EmailAddress>() {
        Ok(address) => db::find_user_by_email(conn, &address)
            .await?
            .filter(|u| u.active),
        Err(_) => None,
    };
    let Some(user) = user else {
        return Ok(false);
    };
    let subject = Subject::User(user.id);
    database::lock_key(conn, &subject.to_string()).await?;
    let recent =
        audit::count_last_hour(conn, "password.reset_sent", audit::Whose::Subject(subject)).await?;
    if recent >= RESETS_PER_HOUR {
        return Ok(false);
    }
    let token =
        db::create_token(conn, user.id, TokenPurpose::PasswordReset, RESET_VALIDITY).await?;
    let valid_until = time::OffsetDateTime::now_utc() + RESET_VALIDITY;
    let message = Message::PasswordReset(PasswordReset {
        name: user.display_name.clone(),
        link: format!(
            "{}/passwort-zuruecksetzen?token={token}",
            app.config.base_url
        ),
        valid_until: locale::date_time(valid_until),
    });
    let to = Recipient::new(&user.email, &user.display_name)?;
    app.outbox.enqueue(conn, &to, &message).await?;
    audit::record(conn, actor, "password.reset_sent", subject, json!({})).await?;
    Ok(true)
}

/// The set-password page for both kinds of link.
#[derive(Template, WebTemplate)]
#[template(path = "accounts/set_password.html")]
struct SetPasswordPage {
    page: PageContext,
    purpose: TokenPurpose,
    action: &'static str,
    token: String,
    name: String,
    email: String,
    errors: FormErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/link_invalid.html")]
struct LinkInvalidPage {
    page: PageContext,
    purpose: TokenPurpose,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn action_of(purpose: TokenPurpose) -> &'static str {
    match purpose {
        TokenPurpose::Invitation => "/einladung",
        TokenPurpose::PasswordReset => "/passwort-zuruecksetzen",
    }
}

fn link_invalid(page: PageContext, purpose: TokenPurpose) -> Response {
    (StatusCode::NOT_FOUND, LinkInvalidPage { page, purpose }).into_response()
}

async fn show_form(
    app: &AppState,
    page: PageContext,
    purpose: TokenPurpose,
    token: String,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let Some(user) = db::token_user(&mut conn, &token, purpose).await? else {
        return Ok(link_invalid(page, purpose));
    };
    let form = SetPasswordPage {
        page,
        purpose,
        action: action_of(purpose),
        token,
        name: user.display_name,
        email: user.email,
        errors: FormErrors::default(),
    };
    Ok(form.into_response())
}

async fn reset_page(
    State(app): State<AppState>,
    page: PageContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    show_form(&app, page, TokenPurpose::PasswordReset, q.token).await
}

async fn invitation_page(
    State(app): State<AppState>,
    page: PageContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    show_form(&app, page, TokenPurpose::Invitation, q.token).await
}

#[derive(Deserialize)]
struct SetPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

async fn reset(
    State(app): State<AppState>,
    page: PageContext,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<SetPasswordForm>,
) -> Result<Response, AppError> {
    set_password(&app, page, &client.0, TokenPurpose::PasswordReset, form).await
}

async fn accept_invitation(
    State(app): State<AppState>,
    page: PageContext,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<SetPasswordForm>,
) -> Result<Response, AppError> {
    set_password(&app, page, &client.0, TokenPurpose::Invitation, form).await
}

/// Checks the new password, uses up the link, stores the hash and ends every session of the
/// account (a reset may follow a stolen session). The user then signs in with it.
async fn set_password(
    app: &AppState,
    page: PageContext,
    client: &str,
    purpose: TokenPurpose,
    form: SetPasswordForm,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let Some(user) = db::token_user(&mut conn, &form.token, purpose).await? else {
        return Ok(link_invalid(page, purpose));
    };
    drop(conn);
    let mut errors = FormErrors::default();
    if let Err(problem) = policy::check(&form.password, &[&user.display_name, &user.email]) {
        errors.add("password", problem.to_string());
    } else if form.password != form.confirmation {
        errors.add(
            "confirmation",
            "Die beiden Passwörter stimmen nicht überein.",
        );
    }
    if !errors.is_empty() {
        let form_page = SetPasswordPage {
            page,
            purpose,
            action: action_of(purpose),
            token: form.token,
            name: user.display_name,
            email: user.email,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, form_page).into_response());
    }
    let hash = app.passwords.hash(form.password).await?;
    let mut tx = app.db.begin().await?;
    if db::consume_token(&mut tx, &form.token, purpose).await? != Some(user.id) {
        return Ok(link_invalid(page, purpose));
    }
    db::set_password(&mut tx, user.id, &hash).await?;
    db::delete_sessions_of(&mut tx, user.id, None).await?;
    let actor = Actor {
        user_id: Some(user.id),
        client,
    };
    let subject = Subject::User(user.id);
    match purpose {
        TokenPurpose::Invitation => {
            audit::record(&mut tx, actor, "invitation.accepted", subject, json!({})).await?;
        }
        TokenPurpose::PasswordReset => {
            audit::record(&mut tx, actor, "password.reset", subject, json!({})).await?;
            notify_password_changed(app, &mut tx, &user.email, &user.display_name).await?;
        }
    }
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/anmelden",
        "Ihr Passwort ist gespeichert. Bitte melden Sie sich jetzt damit an.",
    ))
}

/// Tells the account's owner that the password changed, in the caller's transaction.
pub(super) async fn notify_password_changed(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    email: &str,
    name: &str,
) -> Result<(), AppError> {
    let message = Message::PasswordChanged(PasswordChanged {
        name: name.to_string(),
        changed_at: locale::date_time(time::OffsetDateTime::now_utc()),
    });
    app.outbox
        .enqueue(conn, &Recipient::new(email, name)?, &message)
        .await?;
    Ok(())
}
