//! "Angaben prüfen", submitting (once, whatever the browser resends), the confirmation page and
//! the print copy.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;
use time::OffsetDateTime;

use super::costs::kind_label;
use super::db;
use super::dossier::{Dossier, Problem};
use super::forms;
use super::model::{Section, Status, Transition};
use super::routes::{Header, PartnerView, TimelineEntry, acting, open, owned_dossier, timeline};
use super::sections::PlanView;
use super::workflow::{self, Input};
use crate::accounts::CurrentUser;
use crate::audit;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, format};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/antraege/{id}/pruefen", get(check_page))
        .route("/antraege/{id}/einreichen", post(submit))
        .route("/antraege/{id}/bestaetigung", get(confirmation))
        .route("/antraege/{id}/druck", get(print))
}

pub struct AnswerRow {
    pub label: String,
    pub value: String,
    /// The change link, where the clerk may change it now.
    pub change: Option<String>,
}

pub struct AnswerGroup {
    pub title: &'static str,
    pub rows: Vec<AnswerRow>,
}

pub struct CostLine {
    pub kind: &'static str,
    pub description: String,
    pub year: i32,
    pub amount: String,
    pub eligible: &'static str,
}

/// Every answer of the application, grouped by section, as the check page and the print copy
/// show them. `editable` adds change links that come back to the check page.
pub fn answer_groups(dossier: &Dossier, editable: bool) -> Vec<AnswerGroup> {
    let id = dossier.id();
    Section::ALL
        .into_iter()
        .filter(|s| *s != Section::Attachments)
        .map(|section| {
            let answers = dossier.answers(section);
            let change = |field: &str| {
                (editable && dossier.is_editable(section))
                    .then(|| format!("/antraege/{id}/{}?zurueck=pruefen#{field}", section.slug()))
            };
            let mut rows: Vec<AnswerRow> = forms::fields(section)
                .iter()
                .filter(|f| {
                    // The explanation belongs only to a project already started.
                    f.name != "started_explanation"
                        || answers.get("started").map(String::as_str) == Some("ja")
                })
                .map(|f| {
                    let raw = answers.get(f.name).map(String::as_str).unwrap_or("");
                    let value = if f.name == "category" {
                        dossier
                            .rules
                            .categories
                            .iter()
                            .find(|(code, _)| code == raw)
                            .map(|(code, title)| format!("{code} {title}"))
                            .unwrap_or_else(|| forms::display(f, raw))
                    } else {
                        forms::display(f, raw)
                    };
                    AnswerRow {
                        label: f.label.to_string(),
                        value,
                        change: change(f.name),
                    }
                })
                .collect();
            if section == Section::Partnership {
                let partners = if dossier.partners.is_empty() {
                    "Keine (Einzelvorhaben)".to_string()
                } else {
                    dossier
                        .partners
                        .iter()
                        .map(|p| {
                            let v = PartnerView::new(p);
                            format!("{} ({})", v.name, v.confirmed)
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                rows.insert(
                    0,
                    AnswerRow {
                        label: "Partnerkommunen".into(),
                        value: partners,
                        change: change("partner"),
                    },
                );
            }
            AnswerGroup {
                title: section.title(),
                rows,
            }
        })
        .collect()
}

pub fn cost_lines(dossier: &Dossier) -> Vec<CostLine> {
    dossier
        .cost_plan()
        .map(|plan| {
            plan.items
                .iter()
                .map(|i| CostLine {
                    kind: kind_label(i.kind),
                    description: i.description.clone(),
                    year: i.year,
                    amount: i.amount.to_string(),
                    eligible: if i.eligible { "Ja" } else { "Nein" },
                })
                .collect()
        })
        .unwrap_or_default()
}

pub struct FileLine {
    pub document: String,
    pub files: Vec<String>,
}

pub fn file_lines(dossier: &Dossier) -> Vec<FileLine> {
    let mut lines: Vec<FileLine> = dossier
        .documents
        .iter()
        .map(|d| FileLine {
            document: if d.required {
                d.name.clone()
            } else {
                format!("{} (optional)", d.name)
            },
            files: dossier
                .attachments
                .iter()
                .filter(|a| a.attachment_type_id == Some(d.id))
                .map(|a| a.file_name.clone())
                .collect(),
        })
        .collect();
    let extra: Vec<String> = dossier
        .attachments
        .iter()
        .filter(|a| a.attachment_type_id.is_none())
        .map(|a| a.file_name.clone())
        .collect();
    if !extra.is_empty() {
        lines.push(FileLine {
            document: "Weitere Unterlagen".into(),
            files: extra,
        });
    }
    lines
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/check.html")]
struct CheckPage {
    page: PageContext,
    head: Header,
    groups: Vec<AnswerGroup>,
    costs: Vec<CostLine>,
    plan: Option<PlanView>,
    files: Vec<FileLine>,
    problems: Vec<Problem>,
    /// The submit was tried and refused.
    refused: bool,
    resubmission: bool,
}

fn check_page_of(page: PageContext, dossier: &Dossier, refused: bool) -> CheckPage {
    CheckPage {
        page,
        head: Header::new(&dossier.application),
        groups: answer_groups(dossier, true),
        costs: cost_lines(dossier),
        plan: dossier.cost_plan().map(|p| PlanView::new(&p, dossier)),
        files: file_lines(dossier),
        problems: dossier.problems(OffsetDateTime::now_utc()),
        refused,
        resubmission: dossier.status() == Status::ChangesRequested,
    }
}

async fn check_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let dossier = owned_dossier(&mut conn, &user, id, false).await?;
    if !dossier.status().is_editable() {
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    }
    Ok(check_page_of(page, &dossier, false).into_response())
}

async fn submit(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    // The lock makes a double click wait for the first submission and then find it done.
    let dossier = owned_dossier(&mut tx, &user, id, true).await?;
    let transition = match dossier.status() {
        Status::Draft => Transition::Submit,
        Status::ChangesRequested => Transition::Resubmit,
        _ => return Ok(Redirect::to(&format!("/antraege/{id}/bestaetigung")).into_response()),
    };
    if !dossier.problems(OffsetDateTime::now_utc()).is_empty() {
        tx.rollback().await?;
        let page = check_page_of(page, &dossier, true);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &dossier.application,
        acting(&user),
        transition,
        &Input::default(),
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        if transition == Transition::Submit {
            "application.submitted"
        } else {
            "application.resubmitted"
        },
        &format!("application:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/antraege/{id}/bestaetigung")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/confirmation.html")]
struct ConfirmationPage {
    page: PageContext,
    head: Header,
    email: String,
    resubmitted: bool,
}

async fn confirmation(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let dossier = owned_dossier(&mut conn, &user, id, false).await?;
    if dossier.application.reference.is_none() || dossier.status().is_editable() {
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    }
    let revisions = db::revisions(&mut conn, id).await?;
    Ok(ConfirmationPage {
        page,
        head: Header::new(&dossier.application),
        email: user.email.clone(),
        resubmitted: revisions.len() > 1,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/print.html")]
struct PrintPage {
    page: PageContext,
    head: Header,
    applicant_ags: String,
    submitted: String,
    groups: Vec<AnswerGroup>,
    costs: Vec<CostLine>,
    plan: Option<PlanView>,
    files: Vec<FileLine>,
    timeline: Vec<TimelineEntry>,
    printed: String,
}

async fn print(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<PrintPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let (row, _) = open(&mut conn, &user, id, false).await?;
    let dossier = Dossier::load(&mut conn, row).await?;
    let municipality =
        crate::municipalities::db::find(&mut conn, dossier.application.municipality_id)
            .await?
            .ok_or(AppError::NotFound)?;
    let events = db::events(&mut conn, id).await?;
    Ok(PrintPage {
        page,
        head: Header::new(&dossier.application),
        applicant_ags: municipality.ags.or(municipality.ars).unwrap_or_default(),
        submitted: dossier
            .application
            .submitted_at
            .map(format::date_time)
            .unwrap_or_else(|| "noch nicht eingereicht".into()),
        groups: answer_groups(&dossier, false),
        costs: cost_lines(&dossier),
        plan: dossier.cost_plan().map(|p| PlanView::new(&p, &dossier)),
        files: file_lines(&dossier),
        timeline: timeline(&events),
        printed: format::date_time(OffsetDateTime::now_utc()),
    })
}
