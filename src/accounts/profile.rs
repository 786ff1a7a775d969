//! "Mein Konto": who the user is, changing the password (the current one is required), and
//! the list of active sessions with a way to end all others.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::db::{self, SessionInfo};
use super::guard;
use super::policy;
use super::session::CurrentUser;
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/konto", get(account_page))
        .route("/konto/passwort", post(change_password))
        .route("/konto/sitzungen/beenden", post(end_other_sessions))
}

pub const TOO_MANY_TRIES: &str =
    "Zu viele Fehlversuche. Bitte warten Sie 15 Minuten und versuchen Sie es dann erneut.";

/// Checks the signed-in user's current password before a change of security settings, so a
/// stolen session alone cannot make one; throttled and audited like the login, so it cannot
/// become a way to guess the password either. `Err` holds the message for the field.
pub async fn confirm_password(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientAddress,
    password: String,
) -> Result<Result<(), &'static str>, AppError> {
    if password.is_empty() {
        return Ok(Err("Bitte geben Sie Ihr Passwort ein."));
    }
    let actor = user.actor(client);
    let subject = Subject::User(user.id);
    // The attempt is counted in a transaction of its own, so parallel guesses are serialised
    // by the throttle's lock and none slips past the limit.
    let mut tx = app.db.begin().await?;
    let stored = db::find_user(&mut tx, user.id)
        .await?
        .and_then(|u| u.password_hash);
    let Some(attempt) =
        guard::begin(&mut tx, &format!("reauth:{}", user.id), &client.0, false).await?
    else {
        audit::record(&mut tx, actor, "reauth.throttled", subject, json!({})).await?;
        tx.commit().await?;
        return Ok(Err(TOO_MANY_TRIES));
    };
    tx.commit().await?;
    let right = app.passwords.verify(password, stored).await?;
    let mut conn = app.db.acquire().await?;
    if right {
        guard::forgive(&mut conn, attempt).await?;
        return Ok(Ok(()));
    }
    audit::record(
        &mut conn,
        actor,
        "password.current_wrong",
        subject,
        json!({}),
    )
    .await?;
    Ok(Err(WRONG_PASSWORD))
}

pub const WRONG_PASSWORD: &str = "Das Passwort ist nicht richtig.";

pub struct SessionView {
    pub current: bool,
    pub started: String,
    pub last_seen: String,
    pub browser: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    page: PageContext,
    user: CurrentUser,
    sessions: Vec<SessionView>,
    errors: FormErrors,
}

impl AccountPage {
    async fn load(
        app: &AppState,
        page: PageContext,
        user: CurrentUser,
        errors: FormErrors,
    ) -> Result<Self, AppError> {
        let mut conn = app.db.acquire().await?;
        let sessions = db::sessions_of(&mut conn, user.id).await?;
        let sessions = sessions
            .into_iter()
            .map(|s| view(s, user.session_hash()))
            .collect();
        Ok(AccountPage {
            page,
            user,
            sessions,
            errors,
        })
    }
}

fn view(s: SessionInfo, current: &[u8]) -> SessionView {
    SessionView {
        current: s.id_hash == current,
        started: locale::date_time(s.created_at),
        last_seen: locale::date_time(s.last_seen_at),
        browser: s
            .user_agent
            .map_or_else(|| "unbekannt".into(), |ua| browser_name(&ua)),
    }
}

/// A readable name for a user agent string ("Firefox unter Windows").
fn browser_name(user_agent: &str) -> String {
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"]
        .iter()
        .find(|b| user_agent.contains(*b))
        .map_or("Unbekannter Browser", |b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        });
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} unter {system}"),
        None => browser.to_string(),
    }
}

async fn account_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
) -> Result<AccountPage, AppError> {
    AccountPage::load(&app, page, user, FormErrors::default()).await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

async fn change_password(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<PasswordForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    if form.current.is_empty() {
        errors.add("current", "Bitte geben Sie Ihr bisheriges Passwort ein.");
    } else if let Err(problem) = confirm_password(&app, &user, &client, form.current).await? {
        let problem = match problem {
            WRONG_PASSWORD => "Das bisherige Passwort ist nicht richtig.",
            other => other,
        };
        errors.add("current", problem);
    }
    if let Err(problem) = policy::check(&form.password, &[&user.name, &user.email]) {
        errors.add("password", problem.to_string());
    } else if form.password != form.confirmation {
        errors.add(
            "confirmation",
            "Die beiden Passwörter stimmen nicht überein.",
        );
    }
    if !errors.is_empty() {
        let page = AccountPage::load(&app, page, user, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let hash = app.passwords.hash(form.password).await?;
    let mut tx = app.db.begin().await?;
    db::set_password(&mut tx, user.id, &hash).await?;
    // Whoever else knew the old password is signed out everywhere else.
    db::delete_sessions_of(&mut tx, user.id, Some(user.session_hash())).await?;
    super::recovery::notify_password_changed(&app, &mut tx, &user.email, &user.name).await?;
    let actor = user.actor(&client);
    audit::record(
        &mut tx,
        actor,
        "password.changed",
        Subject::User(user.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/konto",
        "Ihr Passwort ist geändert. Alle anderen Sitzungen sind beendet.",
    ))
}

async fn end_other_sessions(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let ended = db::delete_sessions_of(&mut tx, user.id, Some(user.session_hash())).await?;
    let actor = user.actor(&client);
    audit::record(
        &mut tx,
        actor,
        "sessions.ended",
        Subject::User(user.id),
        json!({ "count": ended }),
    )
    .await?;
    tx.commit().await?;
    let message = match ended {
        0 => "Es gab keine anderen Sitzungen.".to_string(),
        1 => "Eine andere Sitzung ist beendet.".to_string(),
        n => format!("{n} andere Sitzungen sind beendet."),
    };
    Ok(redirect_with_flash(&app.cookies, "/konto", &message))
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn user_agents_are_named_readably() {
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0";
        assert_eq!(browser_name(firefox), "Firefox unter Windows");
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome unter Linux");
        assert_eq!(browser_name("curl/8.0"), "Unbekannter Browser");
    }
}
