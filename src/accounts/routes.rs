//! Login, logout and the account page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::db;
use super::model::EmailAddress;
use super::session::{CurrentUser, end_session, start_session};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageContext, ProtectedForm, redirect_with_flash, safe_redirect_target};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/anmelden", get(login_page).post(login))
        .route("/abmelden", axum::routing::post(logout))
        .route("/konto", get(account_page))
}

/// A field error as the form shows it: next to the field and linked from the error summary.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub field: &'static str,
    pub message: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    page: PageContext,
    email: String,
    next: String,
    errors: Vec<FieldError>,
}

impl LoginPage {
    fn error_for(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message)
    }
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
        errors: Vec::new(),
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
    ProtectedForm(form): ProtectedForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_redirect_target(&form.next).unwrap_or("").to_string();
    let mut errors = Vec::new();
    if form.email.trim().is_empty() {
        errors.push(FieldError {
            field: "email",
            message: "Bitte geben Sie Ihre E-Mail-Adresse ein.",
        });
    }
    if form.password.is_empty() {
        errors.push(FieldError {
            field: "password",
            message: "Bitte geben Sie Ihr Passwort ein.",
        });
    }
    let user = match (errors.is_empty(), form.email.parse::<EmailAddress>()) {
        (true, Ok(email)) => {
            let mut conn = app.db.acquire().await?;
            db::find_user_by_email(&mut conn, &email).await?
        }
        _ => None,
    };
    if errors.is_empty() {
        let stored = user
            .as_ref()
            .filter(|u| u.active)
            .and_then(|u| u.password_hash.clone());
        let ok = app.passwords.verify(form.password, stored).await?;
        match user.filter(|_| ok) {
            Some(user) => {
                tracing::info!(user_id = user.id, "login");
                let cookie = start_session(&app, user.id, &headers).await?;
                let target = if next.is_empty() {
                    "/konto".to_string()
                } else {
                    next
                };
                return Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&target)).into_response());
            }
            None => {
                tracing::info!("failed login");
                errors.push(FieldError {
                    field: "email",
                    message: WRONG_CREDENTIALS,
                });
            }
        }
    }
    let page = LoginPage {
        page,
        email: form.email,
        next,
        errors,
    };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
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

#[derive(Template, WebTemplate)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    page: PageContext,
    user: CurrentUser,
}

async fn account_page(page: PageContext, user: CurrentUser) -> AccountPage {
    AccountPage { page, user }
}
