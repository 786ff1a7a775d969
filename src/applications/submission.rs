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

use super::access::{acting, open, owned_dossier};
use super::db;
use super::dossier::{Dossier, Problem};
use super::model::{Status, Transition};
use super::views::{
    AnswerGroup, CostLine, FileLine, Header, PlanView, TimelineEntry, answer_groups, cost_lines,
    file_lines, timeline,
};
use super::workflow::{self, Input};
use crate::accounts::CurrentUser;
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/antraege/{id}/pruefen", get(check_page))
        .route("/antraege/{id}/einreichen", post(submit))
        .route("/antraege/{id}/bestaetigung", get(confirmation))
        .route("/antraege/{id}/druck", get(print))
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
    // Recorded first: the transition ends by taking the year's next Aktenzeichen, and every
    // statement after that keeps the other submissions waiting until the commit.
    audit::record(
        &mut tx,
        user.actor(&client),
        if transition == Transition::Submit {
            "application.submitted"
        } else {
            "application.resubmitted"
        },
        Subject::Application(id),
        json!({}),
    )
    .await?;
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &dossier.application,
        acting(&user),
        transition,
        &Input {
            answers: Some(dossier.snapshot()),
            ..Input::default()
        },
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
            .map_or_else(|| "noch nicht eingereicht".into(), locale::date_time),
        groups: answer_groups(&dossier, false),
        costs: cost_lines(&dossier),
        plan: dossier.cost_plan().map(|p| PlanView::new(&p, &dossier)),
        files: file_lines(&dossier),
        timeline: timeline(&events),
        printed: locale::date_time(OffsetDateTime::now_utc()),
    })
}
