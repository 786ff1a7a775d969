//! The clerks' pages around an application: "Meine Anträge", starting one, the overview with
//! task list and timeline, partner confirmation and withdrawal.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::access::{Access, acting, open, owned};
use super::db::{self, ApplicationRow};
use super::dossier::Dossier;
use super::model::{Section, SectionStatus, Status, Transition};
use super::start::{self, Prefill, Starter};
use super::views::{
    ChangeRequestView, Header, PartnerView, TimelineEntry, change_request, timeline,
};
use super::workflow::{self, Input};
use crate::accounts::{Clerk, CurrentUser};
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::programmes::summary::RoundSummary;
use crate::state::AppState;
use crate::validation::{FormErrors, clean_line};
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/antraege", get(list).post(start_application))
        .route("/antraege/{id}", get(overview))
        .route(
            "/antraege/{id}/zurueckziehen",
            get(withdraw_page).post(withdraw),
        )
        .route("/antraege/{id}/loeschen", get(delete_page).post(delete))
        .route("/antraege/{id}/teilnahme", post(confirm_participation))
        .route("/antraege/{id}/bescheid.pdf", get(notice))
        .route("/antraege/{id}/nachrichten", post(send_message))
}

/// An application in a list: its header and where it stands.
pub struct ListItem {
    pub head: Header,
    pub amount: String,
    pub updated: String,
    pub updated_iso: String,
    pub next_step: &'static str,
}

impl ListItem {
    fn new(a: &ApplicationRow) -> Self {
        ListItem {
            head: Header::new(a),
            amount: a
                .requested_grant_cents
                .map_or_else(|| "–".into(), |c| Cents::new(c).to_string()),
            updated: locale::date_time(a.updated_at),
            updated_iso: locale::iso(a.updated_at),
            next_step: a.status.next_step(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/list.html")]
struct ListPage {
    page: PageContext,
    municipality: String,
    own: Vec<ListItem>,
    partner_of: Vec<ListItem>,
    open_rounds: Vec<RoundSummary>,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    user: Clerk,
) -> Result<ListPage, AppError> {
    let municipality_id = user.municipality_id.ok_or(AppError::Forbidden)?;
    let mut conn = app.db.acquire().await?;
    let own = db::of_municipality(&mut conn, municipality_id).await?;
    let partner_of = db::as_partner(&mut conn, municipality_id).await?;
    let open_rounds = start::open_rounds(&mut conn).await?;
    Ok(ListPage {
        page,
        municipality: user.municipality_name.clone().unwrap_or_default(),
        own: own.iter().map(ListItem::new).collect(),
        partner_of: partner_of.iter().map(ListItem::new).collect(),
        open_rounds,
    })
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    round_id: String,
}

async fn start_application(
    State(app): State<AppState>,
    user: Clerk,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<StartForm>,
) -> Result<Response, AppError> {
    let municipality_id = user.municipality_id.ok_or(AppError::Forbidden)?;
    let round_id: i64 = form
        .round_id
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest)?;
    let mut tx = app.db.begin().await?;
    let starter = Starter {
        user_id: user.id,
        municipality_id,
        actor: user.actor(&client),
    };
    let Some(id) = start::start(&mut tx, &app, &starter, round_id, &Prefill::default()).await?
    else {
        return Ok(redirect_with_flash(
            &app.cookies,
            "/antraege",
            "Dieser Förderaufruf nimmt derzeit keine Anträge an.",
        ));
    };
    tx.commit().await?;
    Ok(Redirect::to(&format!("/antraege/{id}")).into_response())
}

pub struct Task {
    pub title: &'static str,
    pub href: String,
    pub status: SectionStatus,
    pub editable: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/overview.html")]
struct OverviewPage {
    page: PageContext,
    head: Header,
    next_step: &'static str,
    editable: bool,
    /// A decision with its notice exists.
    decided: bool,
    /// An approved (or settled) grant: payouts, changes and the proof of use have their pages.
    after_award: bool,
    settled: bool,
    /// When the proof of use is due ("30.06.2028"), for approved grants.
    proof_due: String,
    messages: Vec<super::views::MessageView>,
    /// The municipality may write to the ministry (submitted, owner).
    can_message: bool,
    /// The applying municipality (not a partner): it decides about the catalogue.
    is_owner: bool,
    tasks: Vec<Task>,
    complete_count: usize,
    partners: Vec<PartnerView>,
    confirm_needed: bool,
    can_withdraw: bool,
    /// Never submitted: the draft can be deleted instead of withdrawn.
    can_delete: bool,
    change_request: Option<ChangeRequestView>,
    timeline: Vec<TimelineEntry>,
    /// A message that could not be sent, with its problem.
    errors: FormErrors,
    message: String,
}

async fn overview(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<OverviewPage, AppError> {
    let mut conn = app.db.acquire().await?;
    load_overview(&mut conn, page, &user, id, FormErrors::default()).await
}

async fn load_overview(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    user: &CurrentUser,
    id: i64,
    errors: FormErrors,
) -> Result<OverviewPage, AppError> {
    let (row, access) = open(&mut *conn, user, id, false).await?;
    let dossier = Dossier::load(&mut *conn, row).await?;
    let events = db::events(&mut *conn, id).await?;
    let status = dossier.status();
    let tasks: Vec<Task> = Section::ALL
        .into_iter()
        .map(|s| Task {
            title: s.title(),
            href: format!("/antraege/{id}/{}", s.slug()),
            status: dossier.section_status(s),
            editable: access == Access::Owner && dossier.is_editable(s),
        })
        .collect();
    let my_municipality = user.municipality_id;
    let confirm_needed = access == Access::Partner
        && !status.is_decided()
        && status != Status::Withdrawn
        && dossier
            .partners
            .iter()
            .any(|p| Some(p.municipality_id) == my_municipality && p.confirmed_at.is_none());
    Ok(OverviewPage {
        page,
        head: Header::new(&dossier.application),
        next_step: status.next_step(),
        decided: status.is_decided(),
        after_award: access == Access::Owner
            && matches!(status, Status::Approved | Status::Settled),
        settled: status == Status::Settled,
        // Only an approved grant has a proof of use due: no query for the other pages.
        proof_due: match status {
            Status::Approved => db::proof_due(&mut *conn, id)
                .await?
                .map(|(end, months)| locale::day(locale::add_months(end, months)))
                .unwrap_or_default(),
            _ => String::new(),
        },
        messages: super::views::messages(&db::messages(&mut *conn, id).await?, false),
        can_message: access == Access::Owner && dossier.application.reference.is_some(),
        is_owner: access == Access::Owner,
        editable: access == Access::Owner && status.is_editable(),
        complete_count: tasks
            .iter()
            .filter(|t| t.status == SectionStatus::Complete)
            .count(),
        tasks,
        partners: dossier.partners.iter().map(PartnerView::new).collect(),
        confirm_needed,
        can_withdraw: access == Access::Owner
            && Transition::Withdraw.target(status).is_some()
            && dossier.application.reference.is_some(),
        can_delete: access == Access::Owner && dossier.application.reference.is_none(),
        change_request: change_request(&events, status),
        timeline: timeline(&events),
        errors,
        message: String::new(),
    })
}

async fn confirm_participation(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let (row, access) = open(&mut tx, &user, id, true).await?;
    let status = row.status;
    if access != Access::Partner || status.is_decided() || status == Status::Withdrawn {
        return Err(AppError::Forbidden);
    }
    let municipality = user.municipality_id.ok_or(AppError::Forbidden)?;
    if db::confirm_partner(&mut tx, id, municipality, user.id).await? {
        db::insert_event(&mut tx, id, "partner_confirmed", Some(user.id), "", None).await?;
        audit::record(
            &mut tx,
            user.actor(&client),
            "application.partner_confirmed",
            Subject::Application(id),
            json!({ "municipality_id": municipality }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{id}"),
        "Sie haben die Teilnahme Ihrer Kommune bestätigt.",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/withdraw.html")]
struct WithdrawPage {
    page: PageContext,
    head: Header,
    reason: String,
    errors: FormErrors,
}

async fn withdraw_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = owned(&mut conn, &user, id, false).await?;
    if Transition::Withdraw.target(row.status).is_none() {
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    }
    Ok(WithdrawPage {
        page,
        head: Header::new(&row),
        reason: String::new(),
        errors: FormErrors::default(),
    }
    .into_response())
}

#[derive(Deserialize)]
struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

const REASON_MAX: usize = 2000;

async fn withdraw(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<WithdrawForm>,
) -> Result<Response, AppError> {
    let reason = clean_line(&form.reason, REASON_MAX + 1);
    let mut tx = app.db.begin().await?;
    let row = owned(&mut tx, &user, id, true).await?;
    if reason.chars().count() > REASON_MAX {
        let mut errors = FormErrors::default();
        errors.add(
            "reason",
            format!("Die Begründung darf höchstens {REASON_MAX} Zeichen lang sein."),
        );
        let page = WithdrawPage {
            page,
            head: Header::new(&row),
            reason,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if Transition::Withdraw.target(row.status).is_none() {
        // Already withdrawn (a resent form) or decided meanwhile.
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    }
    let input = Input {
        message: reason,
        ..Input::default()
    };
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &row,
        acting(&user),
        Transition::Withdraw,
        &input,
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.withdrawn",
        Subject::Application(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{id}"),
        "Der Antrag ist zurückgezogen.",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/delete.html")]
struct DeletePage {
    page: PageContext,
    head: Header,
}

/// Asks before a never-submitted draft is deleted (GOV.UK: confirm destructive actions).
async fn delete_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = owned(&mut conn, &user, id, false).await?;
    if row.reference.is_some() {
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    }
    Ok(DeletePage {
        page,
        head: Header::new(&row),
    }
    .into_response())
}

async fn delete(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = owned(&mut tx, &user, id, true).await?;
    let Some(files) = db::delete_unsubmitted(&mut tx, id).await? else {
        // Submitted meanwhile (or a resent form): it stays, and can be withdrawn.
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    };
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.deleted",
        Subject::Application(id),
        json!({ "title": row.title, "round_id": row.round_id }),
    )
    .await?;
    tx.commit().await?;
    for key in files {
        if let Err(e) = app.files.delete(&key).await {
            tracing::warn!(error = %e, "removing a deleted draft's file failed");
        }
    }
    Ok(redirect_with_flash(
        &app.cookies,
        "/antraege",
        &format!("Der Entwurf „{}“ ist gelöscht.", row.display_title()),
    ))
}

/// The notice of the decision, for the applying municipality.
async fn notice(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = owned(&mut conn, &user, id, false).await?;
    super::downloads::notice(&app, &mut conn, &row).await
}

#[derive(Deserialize)]
struct MessageForm {
    #[serde(default)]
    body: String,
}

/// The municipality writes to the ministry about its submitted application.
async fn send_message(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<MessageForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = owned(&mut tx, &user, id, true).await?;
    if row.reference.is_none() {
        return Err(AppError::Forbidden);
    }
    let body = crate::validation::clean_text(&form.body, super::forms::MESSAGE_MAX + 1);
    let problem = if body.is_empty() {
        Some("Bitte schreiben Sie Ihre Nachricht an das Ministerium.".to_string())
    } else if body.chars().count() > super::forms::MESSAGE_MAX {
        Some(format!(
            "Die Nachricht darf höchstens {} Zeichen lang sein.",
            super::forms::MESSAGE_MAX
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        drop(tx);
        let mut errors = FormErrors::default();
        errors.add("body", problem);
        let mut conn = app.db.acquire().await?;
        let mut overview = load_overview(&mut conn, page, &user, id, errors).await?;
        overview.message = form.body;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, overview).into_response());
    }
    super::messages::post(
        &mut tx,
        &app,
        &row,
        user.actor(&client),
        super::messages::Side::Municipality,
        &body,
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{id}#nachrichten"),
        "Ihre Nachricht ist an das Ministerium gesendet.",
    ))
}
