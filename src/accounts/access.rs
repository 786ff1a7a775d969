//! "Zugang beantragen": a public form on which a municipal employee asks for an account, and
//! the admins' review of these requests: approve (an invitation goes out) or decline (with a
//! reason, by e-mail).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::db::{self, NewUser, TokenPurpose};
use super::model::{EmailAddress, Role};
use super::recovery::INVITATION_VALIDITY;
use crate::accounts::Admin;
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::locale;
use crate::mail::messages::{AccessRequestApproved, AccessRequestDeclined, AccessRequestReceived};
use crate::mail::{Message, Recipient};
use crate::municipalities::db as municipalities;
use crate::state::AppState;
use crate::validation::{FormErrors, required_line};
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/zugang-beantragen", get(request_page).post(request))
        .route("/admin/zugangsantraege", get(list))
        .route("/admin/zugangsantraege/{id}", get(show))
        .route("/admin/zugangsantraege/{id}/freigeben", post(approve))
        .route("/admin/zugangsantraege/{id}/ablehnen", post(decline))
}

/// Requests accepted from one client address per hour; more look like a script.
const REQUESTS_PER_CLIENT_AND_HOUR: i64 = 5;
const TEXT_MAX_CHARS: usize = 200;
const REASON_MAX_CHARS: usize = 2000;

#[derive(Template, WebTemplate)]
#[template(path = "accounts/access_request.html")]
struct RequestPage {
    page: PageContext,
    form: RequestForm,
    municipalities: Vec<(i64, String)>,
    errors: FormErrors,
    sent: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct RequestForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    municipality: String,
    #[serde(default)]
    function: String,
}

async fn request_page(
    State(app): State<AppState>,
    page: PageContext,
) -> Result<RequestPage, AppError> {
    let mut conn = app.db.acquire().await?;
    Ok(RequestPage {
        page,
        form: RequestForm::default(),
        municipalities: municipalities::choices(&mut conn).await?,
        errors: FormErrors::default(),
        sent: false,
    })
}

async fn request(
    State(app): State<AppState>,
    page: PageContext,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<RequestForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let name = required_line(
        &mut errors,
        TEXT_MAX_CHARS,
        "name",
        &form.name,
        "Bitte geben Sie Ihren Namen ein.",
        "Der Name",
    );
    let email = match EmailAddress::from_field(
        &form.email,
        "Bitte geben Sie Ihre dienstliche E-Mail-Adresse ein.",
    ) {
        Ok(email) => Some(email),
        Err(message) => {
            errors.add("email", message);
            None
        }
    };
    let mut tx = app.db.begin().await?;
    let municipality = match form.municipality.parse::<i64>() {
        Ok(id) if municipalities::exists_active(&mut tx, id).await? => Some(id),
        _ => {
            errors.add("municipality", "Bitte wählen Sie Ihre Kommune aus.");
            None
        }
    };
    let function = required_line(
        &mut errors,
        TEXT_MAX_CHARS,
        "function",
        &form.function,
        "Bitte geben Sie Ihre Funktion an, zum Beispiel „Digitalisierungsbeauftragte“.",
        "Die Funktion",
    );
    let (Some(email), Some(municipality_id)) = (email, municipality.filter(|_| errors.is_empty()))
    else {
        let municipalities = municipalities::choices(&mut tx).await?;
        let page = RequestPage {
            page,
            form,
            municipalities,
            errors,
            sent: false,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    if db::access_requests_in_last_hour(&mut tx, &client.0).await? >= REQUESTS_PER_CLIENT_AND_HOUR {
        return Err(AppError::TooManyRequests);
    }
    let new_request = db::NewAccessRequest {
        name: &name,
        email: &email,
        municipality_id,
        function: &function,
        client: &client.0,
    };
    let id = db::insert_access_request(&mut tx, new_request).await?;
    let municipality = municipalities::name_of(&mut tx, municipality_id)
        .await?
        .unwrap_or_default();
    let message = Message::AccessRequestReceived(AccessRequestReceived { municipality });
    let to = Recipient::new(email.as_str(), &name)?;
    app.outbox.enqueue(&mut tx, &to, &message).await?;
    audit::record(
        &mut tx,
        Actor {
            user_id: None,
            client: &client.0,
        },
        "access.requested",
        Subject::AccessRequest(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(RequestPage {
        page,
        form: RequestForm::default(),
        municipalities: Vec::new(),
        errors: FormErrors::default(),
        sent: true,
    }
    .into_response())
}

pub struct RequestView {
    pub row: db::AccessRequestRow,
    pub created: String,
    pub state: &'static str,
    pub account_exists: bool,
}

fn state_label(state: &str) -> &'static str {
    match state {
        "open" => "Offen",
        "approved" => "Freigegeben",
        _ => "Abgelehnt",
    }
}

async fn find_request(conn: &mut PgConnection, id: i64) -> Result<RequestView, AppError> {
    let row = db::find_access_request(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let account_exists = db::has_account(conn, &row.email).await?;
    Ok(RequestView {
        created: locale::date_time(row.created_at),
        state: state_label(&row.state),
        account_exists,
        row,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/access_requests.html")]
struct ListPage {
    page: PageContext,
    open: Vec<RequestView>,
    decided: Vec<RequestView>,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    _admin: Admin,
) -> Result<ListPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let rows = db::recent_access_requests(&mut conn).await?;
    let (open, decided): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .map(|row| RequestView {
            created: locale::date_time(row.created_at),
            state: state_label(&row.state),
            account_exists: false,
            row,
        })
        .partition(|v| v.row.state == "open");
    Ok(ListPage {
        page,
        open,
        decided,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/access_request.html")]
struct DetailPage {
    page: PageContext,
    request: RequestView,
    reason: String,
    errors: FormErrors,
}

async fn show(
    State(app): State<AppState>,
    page: PageContext,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<DetailPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let request = find_request(&mut conn, id).await?;
    Ok(DetailPage {
        page,
        request,
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

/// The request, locked for a decision; `None` if it is decided already. Two admins deciding at
/// once: the second waits for the first and then sees its decision.
async fn open_request(conn: &mut PgConnection, id: i64) -> Result<Option<RequestView>, AppError> {
    db::lock_access_request(conn, id).await?;
    let request = find_request(conn, id).await?;
    Ok((request.row.state == "open").then_some(request))
}

/// Creates the clerk's account and sends the invitation link with the approval.
async fn approve(
    State(app): State<AppState>,
    admin: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let target = format!("/admin/zugangsantraege/{id}");
    let mut tx = app.db.begin().await?;
    let Some(request) = open_request(&mut tx, id).await? else {
        return Ok(redirect_with_flash(
            &app.cookies,
            &target,
            "Über diesen Antrag ist schon entschieden.",
        ));
    };
    let email: EmailAddress = request.row.email.parse().map_err(anyhow::Error::msg)?;
    let new_user = NewUser {
        email: &email,
        display_name: &request.row.name,
        password_hash: None,
        roles: &[Role::Clerk],
        municipality_id: Some(request.row.municipality_id),
    };
    let Some(user_id) = db::insert_user(&mut tx, new_user).await? else {
        return Ok(redirect_with_flash(
            &app.cookies,
            &target,
            "Zu dieser E-Mail-Adresse gibt es schon ein Konto.",
        ));
    };
    let token = db::create_token(
        &mut tx,
        user_id,
        TokenPurpose::Invitation,
        INVITATION_VALIDITY,
    )
    .await?;
    db::decide_access_request(
        &mut tx,
        id,
        admin.id,
        db::AccessDecision::Approved { user_id },
    )
    .await?;
    let message = Message::AccessRequestApproved(AccessRequestApproved {
        name: request.row.name.clone(),
        link: format!("{}/einladung?token={token}", app.config.base_url),
        valid_until: locale::date(OffsetDateTime::now_utc() + INVITATION_VALIDITY),
    });
    let to = Recipient::new(&request.row.email, &request.row.name)?;
    app.outbox.enqueue(&mut tx, &to, &message).await?;
    let actor = admin.actor(&client);
    audit::record(
        &mut tx,
        actor,
        "access.approved",
        Subject::AccessRequest(id),
        json!({ "user_id": user_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &target,
        "Der Zugang ist freigegeben; die Einladung ist unterwegs.",
    ))
}

#[derive(Deserialize)]
struct DeclineForm {
    #[serde(default)]
    reason: String,
}

async fn decline(
    State(app): State<AppState>,
    page: PageContext,
    admin: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<DeclineForm>,
) -> Result<Response, AppError> {
    let target = format!("/admin/zugangsantraege/{id}");
    let mut tx = app.db.begin().await?;
    let Some(request) = open_request(&mut tx, id).await? else {
        return Ok(redirect_with_flash(
            &app.cookies,
            &target,
            "Über diesen Antrag ist schon entschieden.",
        ));
    };
    let reason: String = form
        .reason
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    let mut errors = FormErrors::default();
    if reason.is_empty() {
        errors.add("reason", "Bitte begründen Sie die Ablehnung; die Begründung wird der Person per E-Mail gesendet.");
    } else if reason.chars().count() > REASON_MAX_CHARS {
        errors.add(
            "reason",
            format!("Die Begründung darf höchstens {REASON_MAX_CHARS} Zeichen lang sein."),
        );
    }
    if !errors.is_empty() {
        let page = DetailPage {
            page,
            request,
            reason,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    db::decide_access_request(
        &mut tx,
        id,
        admin.id,
        db::AccessDecision::Declined { reason: &reason },
    )
    .await?;
    let message = Message::AccessRequestDeclined(AccessRequestDeclined {
        name: request.row.name.clone(),
        reason,
    });
    let to = Recipient::new(&request.row.email, &request.row.name)?;
    app.outbox.enqueue(&mut tx, &to, &message).await?;
    audit::record(
        &mut tx,
        admin.actor(&client),
        "access.declined",
        Subject::AccessRequest(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &target,
        "Der Antrag ist abgelehnt; die Person wird per E-Mail informiert.",
    ))
}
