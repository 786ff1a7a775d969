//! Working a case: everything the application consists of, its timeline and revisions, internal
//! notes, assignment, the Prüfvermerk, starting the review and the Nachforderung.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::dashboard::review_label;
use super::db;
use crate::accounts::{CurrentUser, Reviewer};
use crate::applications::db::{self as applications_db, ApplicationRow};
use crate::applications::dossier::Dossier;
use crate::applications::model::{Party, Section, Status, Transition};
use crate::applications::revisions::{self, FieldChange};
use crate::applications::views::{
    AnswerGroup, CostLine, FileLine, Header, PartnerView, PlanView, answer_groups, cost_lines,
    file_lines,
};
use crate::applications::workflow::{self, Acting, Input};
use crate::audit;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{
    ClientAddress, FormErrors, NoFields, PageContext, ProtectedForm, clean_line, field, format,
    redirect_with_flash,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung/antraege/{id}", get(case_page))
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
        .route("/pruefung/antraege/{id}/nachrichten", post(send_message))
        .route("/pruefung/antraege/{id}/anlagen/{file}", get(download))
}

/// The questions of the Prüfvermerk (key, label).
pub const CHECKLIST: [(&str, &str); 6] = [
    ("eligible_applicant", "Antragsberechtigte Kommune"),
    ("category_open", "Fördergegenstand im Förderaufruf geöffnet"),
    (
        "not_started",
        "Nicht vor der Bewilligung begonnen (oder vorzeitiger Maßnahmebeginn zugelassen)",
    ),
    ("costs_plausible", "Kosten förderfähig und plausibel"),
    (
        "caps_respected",
        "Förderquote und Höchstbeträge eingehalten",
    ),
    ("reuse_described", "Nachnutzung beschrieben"),
];

/// The application, for ministry staff (404 for unknown ids and drafts, then 403 for others).
pub async fn case_of(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<ApplicationRow, AppError> {
    let row = if lock {
        applications_db::lock(conn, id).await?
    } else {
        applications_db::find(conn, id).await?
    };
    // Drafts are the municipality's own business until submitted.
    let row = row
        .filter(|a| a.reference.is_some())
        .ok_or(AppError::NotFound)?;
    Reviewer::check(user)?;
    Ok(row)
}

pub fn reviewer(user: &CurrentUser) -> Acting {
    Acting {
        user_id: user.id,
        party: Party::Reviewer,
        municipality_id: None,
    }
}

pub struct CheckItem {
    pub key: &'static str,
    pub label: &'static str,
    pub result: String,
    pub note: String,
}

pub struct EventView {
    pub at: String,
    pub at_iso: String,
    pub what: String,
    pub actor: String,
    pub message: String,
}

pub struct NoteView {
    pub at: String,
    pub author: String,
    pub body: String,
}

pub struct RevisionDiff {
    pub from: i32,
    pub to: i32,
    pub at: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Template, WebTemplate)]
#[template(path = "review/case.html")]
pub struct CasePage {
    page: PageContext,
    head: Header,
    status: Status,
    status_label: &'static str,
    assignee: Option<(i64, String)>,
    reviewers: Vec<(i64, String)>,
    groups: Vec<AnswerGroup>,
    costs: Vec<CostLine>,
    plan: Option<PlanView>,
    files: Vec<FileLine>,
    attachments: Vec<(i64, String, String)>,
    partners: Vec<PartnerView>,
    events: Vec<EventView>,
    notes: Vec<NoteView>,
    diffs: Vec<RevisionDiff>,
    checklist: Vec<CheckItem>,
    assessed: String,
    sections: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
    change_message: String,
    change_sections: Vec<String>,
    change_deadline: String,
    note: String,
    messages: Vec<crate::applications::views::MessageView>,
    message: String,
    decision: Option<super::decisions::DecisionView>,
    /// The open proposal is someone else's: this reviewer may confirm or send it back.
    can_settle: bool,
    pub proposal: super::model::ProposalForm,
    has_notice: bool,
    outcomes: &'static [(&'static str, &'static str)],
}

impl CasePage {
    fn reopen_checked(&self, slug: &str) -> bool {
        self.change_sections.iter().any(|s| s == slug)
    }
}

/// Words for the ministry's timeline (all events, internal ones too).
fn event_text(kind: &str) -> &'static str {
    match kind {
        "created" => "Antrag angelegt",
        "submitted" => "Eingereicht",
        "review_started" => "Prüfung begonnen",
        "changes_requested" => "Nachforderung gestellt",
        "resubmitted" => "Nach Nachforderung erneut eingereicht",
        "decision_proposed" => "Entscheidung vorgeschlagen",
        "proposal_sent_back" => "Vorschlag zurückgegeben",
        "approved" => "Bewilligt",
        "rejected" => "Abgelehnt",
        "withdrawn" => "Zurückgezogen",
        "partner_confirmed" => "Teilnahme eines Partners bestätigt",
        "assigned" => "Zugewiesen",
        _ => "Ereignis",
    }
}

pub async fn load_case_page(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    row: ApplicationRow,
    me: i64,
    errors: FormErrors,
) -> Result<CasePage, AppError> {
    let id = row.id;
    let decision = db::current_decision(conn, id).await?;
    let notice_context = db::notice_context(conn, id).await?;
    let dossier = Dossier::load(conn, row).await?;
    let record = db::case_record(conn, id).await?;
    let (events, revisions) = (record.events.0, record.revisions.0);
    let assessment = record.assessment.map(|a| a.0);
    let items = assessment
        .as_ref()
        .map(|a| a.items.0.clone())
        .unwrap_or_default();
    let status = dossier.status();
    Ok(CasePage {
        page,
        head: Header::new(&dossier.application),
        status,
        status_label: review_label(status),
        assignee: record.assignee.map(|a| a.0),
        reviewers: record.reviewers.0,
        groups: answer_groups(&dossier, false),
        costs: cost_lines(&dossier),
        plan: dossier.cost_plan().map(|p| PlanView::new(&p, &dossier)),
        files: file_lines(&dossier),
        attachments: dossier
            .attachments
            .iter()
            .map(|a| (a.id, a.file_name.clone(), a.content_type.clone()))
            .collect(),
        partners: dossier.partners.iter().map(PartnerView::new).collect(),
        events: events
            .iter()
            .map(|e| EventView {
                at: format::date_time(e.at),
                at_iso: format::iso(e.at),
                what: match (e.kind.as_str(), e.details.0["assignee"].as_str()) {
                    ("assigned", Some(name)) => format!("Zugewiesen an {name}"),
                    ("assigned", None) => "Zuweisung aufgehoben".into(),
                    (kind, _) => event_text(kind).into(),
                },
                actor: e.actor_name.clone().unwrap_or_default(),
                message: e.message.clone(),
            })
            .collect(),
        notes: record
            .notes
            .0
            .into_iter()
            .map(|n| NoteView {
                at: format::date_time(n.at),
                author: n.author,
                body: n.body,
            })
            .collect(),
        diffs: revisions
            .windows(2)
            .map(|w| RevisionDiff {
                from: w[0].number,
                to: w[1].number,
                at: format::date_time(w[1].submitted_at),
                changes: revisions::diff(&w[0].answers.0, &w[1].answers.0),
            })
            .collect(),
        checklist: CHECKLIST
            .iter()
            .map(|(key, label)| CheckItem {
                key,
                label,
                result: items[key]["result"].as_str().unwrap_or("").to_string(),
                note: items[key]["note"].as_str().unwrap_or("").to_string(),
            })
            .collect(),
        assessed: assessment
            .map(|a| format!("{}, {}", a.reviewer, format::date_time(a.at)))
            .unwrap_or_default(),
        sections: Section::ALL
            .into_iter()
            .map(|s| (s.slug(), s.title()))
            .collect(),
        errors,
        change_message: String::new(),
        change_sections: Vec::new(),
        change_deadline: String::new(),
        note: String::new(),
        messages: crate::applications::views::messages(&record.messages.0, true),
        message: String::new(),
        can_settle: status == Status::DecisionProposed
            && decision
                .as_ref()
                .is_some_and(|d| d.state == "proposed" && d.proposed_by != me),
        has_notice: decision.as_ref().is_some_and(|d| d.state == "confirmed"),
        outcomes: &[("approve", "Bewilligen"), ("reject", "Ablehnen")],
        decision: decision.as_ref().map(super::decisions::DecisionView::new),
        proposal: super::decisions::proposal_defaults(
            &notice_context,
            &dossier.answers(Section::Project),
        ),
    })
}

async fn case_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<CasePage, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = case_of(&mut conn, &user, id, false).await?;
    load_case_page(&mut conn, page, row, user.id, FormErrors::default()).await
}

fn back_to_case(app: &AppState, id: i64, message: &str) -> Response {
    redirect_with_flash(&app.cookies, &format!("/pruefung/antraege/{id}"), message)
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
        &format!("application:{id}"),
        json!({ "assignee_id": to }),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to_case(
        &app,
        id,
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
    if row.status() != Status::Submitted {
        return Ok(back_to_case(&app, id, "Die Prüfung läuft bereits."));
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
        &format!("application:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to_case(&app, id, "Die Prüfung hat begonnen."))
}

async fn save_assessment(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(pairs): ProtectedForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    case_of(&mut tx, &user, id, true).await?;
    let mut items = serde_json::Map::new();
    for (key, _) in CHECKLIST {
        let result = match field(&pairs, &format!("{key}-result")) {
            r @ ("ok" | "not_ok") => r,
            _ => "",
        };
        let note = clean_line(field(&pairs, &format!("{key}-note")), 1000);
        items.insert(key.into(), json!({ "result": result, "note": note }));
    }
    let items = serde_json::Value::Object(items);
    db::save_assessment(&mut tx, id, user.id, &items).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.assessed",
        &format!("application:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to_case(&app, id, "Der Prüfvermerk ist gespeichert."))
}

use crate::applications::forms::MESSAGE_MAX;

async fn request_changes(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(pairs): ProtectedForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = case_of(&mut tx, &user, id, true).await?;
    let message = crate::web::clean_text(field(&pairs, "message"), MESSAGE_MAX + 1);
    let chosen: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "section")
        .map(|(_, v)| v.clone())
        .collect();
    let sections: Vec<Section> = chosen
        .iter()
        .filter_map(|s| Section::from_slug(s))
        .collect();
    let deadline_text = field(&pairs, "deadline").to_string();
    let deadline = format::parse_berlin(&deadline_text, "23:59");
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
            errors.add("deadline", "Die Frist muss in der Zukunft liegen.")
        }
        Some(_) => {}
    }
    if row.status() != Status::InReview {
        errors.add(
            "message",
            "Eine Nachforderung ist nur während der Prüfung möglich.",
        );
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        let mut conn = app.db.acquire().await?;
        let row = case_of(&mut conn, &user, id, false).await?;
        let mut case = load_case_page(&mut conn, page, row, user.id, errors).await?;
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
        &format!("application:{id}"),
        json!({ "sections": chosen }),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to_case(
        &app,
        id,
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
    let body = crate::web::clean_text(&form.body, MESSAGE_MAX + 1);
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
        let mut case = load_case_page(&mut conn, page, row, user.id, errors).await?;
        case.note = body;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, case).into_response());
    }
    db::add_note(&mut conn, id, user.id, &body).await?;
    Ok(back_to_case(&app, id, "Die Notiz ist gespeichert."))
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
    let body = crate::web::clean_text(&form.body, MESSAGE_MAX + 1);
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
        let mut case = load_case_page(&mut conn, page, row, user.id, errors).await?;
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
    Ok(back_to_case(
        &app,
        id,
        "Die Nachricht ist an die Kommune gesendet.",
    ))
}
