//! Working a case: its sub-pages (the dossier, Prüfung, Nachrichten, Verlauf; the Entscheidung
//! is in `decisions`), internal notes, assignment, the Prüfvermerk, starting the review and the
//! Nachforderung. Every action returns to the sub-page its form is on.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::access::{case_of, reviewer};
use super::case_page::{self, CHECKLIST, CasePage, load_case_page};
use super::case_tabs::CaseTab;
use super::db;
use crate::accounts::CurrentUser;
use crate::applications::db as applications_db;
use crate::applications::model::{Section, Status, Transition};
use crate::applications::workflow::{self, Input};
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::validation::{FormErrors, clean_line};
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung/antraege/{id}", get(application_tab))
        .route("/pruefung/antraege/{id}/pruefung", get(review_tab))
        .route("/pruefung/antraege/{id}/verlauf", get(history_tab))
        .route("/pruefung/antraege/{id}/zuweisen", post(assign))
        .route(
            "/pruefung/antraege/{id}/pruefung-beginnen",
            post(start_review),
        )
        .route(
            "/pruefung/antraege/{id}/pruefvermerk",
            post(save_assessment),
        )
        .route(
            "/pruefung/antraege/{id}/nachforderung",
            post(request_changes),
        )
        .route("/pruefung/antraege/{id}/notizen", post(add_note))
        .route(
            "/pruefung/antraege/{id}/nachrichten",
            get(messages_tab).post(send_message),
        )
        .route("/pruefung/antraege/{id}/anlagen/{file}", get(download))
}

/// The case's own address: the application dossier first.
async fn application_tab(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<CasePage, AppError> {
    case_page::show(&app, page, &user, id, CaseTab::Antrag).await
}

async fn review_tab(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<CasePage, AppError> {
    case_page::show(&app, page, &user, id, CaseTab::Pruefung).await
}

async fn messages_tab(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<CasePage, AppError> {
    case_page::show(&app, page, &user, id, CaseTab::Nachrichten).await
}

async fn history_tab(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<CasePage, AppError> {
    case_page::show(&app, page, &user, id, CaseTab::Verlauf).await
}

/// Back to the sub-page the form was on, with a notice.
fn back_to(app: &AppState, id: i64, tab: CaseTab, message: &str) -> Response {
    redirect_with_flash(&app.cookies, &tab.path(id), message)
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    reviewer: String,
}

async fn assign(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<AssignForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    case_of(&mut tx, &user, id, true).await?;
    let to = match form.reviewer.trim() {
        "" => None,
        "me" => Some(user.id),
        other => Some(other.parse::<i64>().map_err(|_| AppError::BadRequest)?),
    };
    if let Some(to) = to
        && !db::is_reviewer(&mut tx, to).await?
    {
        return Err(AppError::BadRequest);
    }
    db::assign(&mut tx, id, to).await?;
    let name = match to {
        Some(_) => db::assignee(&mut tx, id).await?.map(|(_, n)| n),
        None => None,
    };
    applications_db::insert_event_with_details(
        &mut tx,
        id,
        "assigned",
        Some(user.id),
        "",
        None,
        &json!({ "assignee": name }),
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.assigned",
        Subject::Application(id),
        json!({ "assignee_id": to }),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(
        &app,
        id,
        CaseTab::Pruefung,
        &match name {
            Some(n) => format!("Der Antrag ist {n} zugewiesen."),
            None => "Die Zuweisung ist aufgehoben.".into(),
        },
    ))
}

async fn start_review(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = case_of(&mut tx, &user, id, true).await?;
    if row.status != Status::Submitted {
        return Ok(back_to(
            &app,
            id,
            CaseTab::Pruefung,
            "Die Prüfung läuft bereits.",
        ));
    }
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &row,
        reviewer(&user),
        Transition::StartReview,
        &Input::default(),
    )
    .await?;
    if db::assignee(&mut tx, id).await?.is_none() {
        db::assign(&mut tx, id, Some(user.id)).await?;
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.review_started",
        Subject::Application(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(
        &app,
        id,
        CaseTab::Pruefung,
        "Die Prüfung hat begonnen.",
    ))
}

/// The Prüfvermerk as posted: `{key}-result` and `{key}-note` for each question of
/// [`CHECKLIST`]; the fields are named by that list, so they are read by name from a map.
type AssessmentForm = std::collections::BTreeMap<String, String>;

async fn save_assessment(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(fields): ProtectedForm<AssessmentForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    case_of(&mut tx, &user, id, true).await?;
    let field = |name: String| fields.get(&name).map_or("", String::as_str);
    let mut items = serde_json::Map::new();
    for (key, _) in CHECKLIST {
        let result = match field(format!("{key}-result")) {
            r @ ("ok" | "not_ok") => r,
            _ => "",
        };
        let note = clean_line(field(format!("{key}-note")), 1000);
        items.insert(key.into(), json!({ "result": result, "note": note }));
    }
    let items = serde_json::Value::Object(items);
    db::save_assessment(&mut tx, id, user.id, &items).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.assessed",
        Subject::Application(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(
        &app,
        id,
        CaseTab::Pruefung,
        "Der Prüfvermerk ist gespeichert.",
    ))
}

use crate::applications::forms::MESSAGE_MAX;

/// A Nachforderung as typed: the message, the sections to reopen (one `section` field per
/// ticked box) and the deadline.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ChangeRequestForm {
    message: String,
    #[serde(rename = "section")]
    sections: Vec<String>,
    deadline: String,
}

async fn request_changes(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<ChangeRequestForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = case_of(&mut tx, &user, id, true).await?;
    let message = crate::validation::clean_text(&form.message, MESSAGE_MAX + 1);
    let chosen = form.sections;
    let sections: Vec<Section> = chosen
        .iter()
        .filter_map(|s| Section::from_slug(s))
        .collect();
    let deadline_text = form.deadline;
    let deadline = locale::parse_berlin(&deadline_text, "23:59");
    let mut errors = FormErrors::default();
    if message.is_empty() {
        errors.add(
            "message",
            "Bitte schreiben Sie, was nachgereicht oder geändert werden soll.",
        );
    } else if message.chars().count() > MESSAGE_MAX {
        errors.add(
            "message",
            format!("Die Nachricht darf höchstens {MESSAGE_MAX} Zeichen lang sein."),
        );
    }
    if sections.is_empty() {
        errors.add(
            "section",
            "Bitte wählen Sie mindestens einen Abschnitt, der geändert werden darf.",
        );
    }
    match deadline {
        None => errors.add(
            "deadline",
            "Bitte geben Sie eine Frist als Datum ein, zum Beispiel 15.05.2027.",
        ),
        Some(d) if d <= OffsetDateTime::now_utc() => {
            errors.add("deadline", "Die Frist muss in der Zukunft liegen.");
        }
        Some(_) => {}
    }
    if row.status != Status::InReview {
        errors.add(
            "message",
            "Eine Nachforderung ist nur während der Prüfung möglich.",
        );
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        let mut conn = app.db.acquire().await?;
        let row = case_of(&mut conn, &user, id, false).await?;
        let mut case =
            load_case_page(&mut conn, page, row, user.id, errors, CaseTab::Pruefung).await?;
        case.change_message = message;
        case.change_sections = chosen;
        case.change_deadline = deadline_text;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, case).into_response());
    }
    let input = Input {
        message,
        reopen: sections,
        deadline,
        ..Input::default()
    };
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &row,
        reviewer(&user),
        Transition::RequestChanges,
        &input,
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.changes_requested",
        Subject::Application(id),
        json!({ "sections": chosen }),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(
        &app,
        id,
        CaseTab::Pruefung,
        "Die Nachforderung ist gestellt; die Kommune ist per E-Mail benachrichtigt.",
    ))
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    body: String,
}

async fn add_note(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<NoteForm>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = case_of(&mut conn, &user, id, false).await?;
    let body = crate::validation::clean_text(&form.body, MESSAGE_MAX + 1);
    let problem = if body.is_empty() {
        Some("Bitte schreiben Sie eine Notiz.".to_string())
    } else if body.chars().count() > MESSAGE_MAX {
        Some(format!(
            "Eine Notiz darf höchstens {MESSAGE_MAX} Zeichen lang sein."
        ))
    } else {
        None
    };
    if let Some(message) = problem {
        let mut errors = FormErrors::default();
        errors.add("body", message);
        let mut case =
            load_case_page(&mut conn, page, row, user.id, errors, CaseTab::Nachrichten).await?;
        case.note = body;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, case).into_response());
    }
    db::add_note(&mut conn, id, user.id, &body).await?;
    Ok(back_to(
        &app,
        id,
        CaseTab::Nachrichten,
        "Die Notiz ist gespeichert.",
    ))
}

#[derive(Deserialize)]
struct DownloadQuery {
    /// Present: show a PDF in the browser.
    ansehen: Option<String>,
}

async fn download(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, file_id)): Path<(i64, i64)>,
    axum::extract::Query(query): axum::extract::Query<DownloadQuery>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    case_of(&mut conn, &user, id, false).await?;
    let inline = query.ansehen.is_some();
    crate::applications::downloads::attachment(&app, &mut conn, id, file_id, inline).await
}

#[derive(Deserialize)]
struct MessageForm {
    #[serde(default, rename = "nachricht")]
    body: String,
}

/// The ministry writes to the municipality; its clerks get the message by e-mail.
async fn send_message(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<MessageForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = case_of(&mut tx, &user, id, true).await?;
    let body = crate::validation::clean_text(&form.body, MESSAGE_MAX + 1);
    let problem = if body.is_empty() {
        Some("Bitte schreiben Sie eine Nachricht.".to_string())
    } else if body.chars().count() > MESSAGE_MAX {
        Some(format!(
            "Eine Nachricht darf höchstens {MESSAGE_MAX} Zeichen lang sein."
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        tx.rollback().await?;
        let mut errors = FormErrors::default();
        errors.add("nachricht", problem);
        let mut conn = app.db.acquire().await?;
        let mut case =
            load_case_page(&mut conn, page, row, user.id, errors, CaseTab::Nachrichten).await?;
        case.message = body;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, case).into_response());
    }
    crate::applications::messages::post(
        &mut tx,
        &app,
        &row,
        user.actor(&client),
        crate::applications::messages::Side::Ministry,
        &body,
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(
        &app,
        id,
        CaseTab::Nachrichten,
        "Die Nachricht ist an die Kommune gesendet.",
    ))
}
