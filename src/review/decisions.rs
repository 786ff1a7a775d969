//! Decisions under the four-eyes principle: one reviewer proposes approval (amount, eligible
//! costs, period, Nebenbestimmungen) or rejection; a different reviewer confirms or sends it
//! back. Confirming an approval commits the grant against the round's budget atomically and
//! issues the notice as PDF. All of it happens on the case's Entscheidung sub-page.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::access::{case_of, reviewer};
use super::case_page::{self, CasePage, load_case_page};
use super::case_tabs::CaseTab;
use super::db::{self, DecisionRow, NewDecision};
use super::model::{DecisionState, GrantLimits, Outcome, ProposalForm, ValidProposal};
use super::notice::{self, Notice};
use crate::accounts::CurrentUser;
use crate::applications::db::ApplicationRow;
use crate::applications::documents;
use crate::applications::model::{Status, Transition};
use crate::applications::store::FileStore;
use crate::applications::workflow::{self, Input, TransitionError};
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::letters::Sender;
use crate::locale;
use crate::money::{Cents, Rate};
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, PageContext, ProtectedForm, redirect_with_flash, redirect_with_refusal,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pruefung/antraege/{id}/entscheidung",
            get(decision_tab).post(propose),
        )
        .route(
            "/pruefung/antraege/{id}/entscheidung/bestaetigen",
            post(confirm),
        )
        .route(
            "/pruefung/antraege/{id}/entscheidung/zurueckgeben",
            post(send_back),
        )
        .route("/pruefung/antraege/{id}/bescheid.pdf", get(notice_pdf))
}

fn limits(ctx: &db::NoticeContext) -> GrantLimits {
    GrantLimits {
        requested: Cents::new(ctx.requested_grant_cents.unwrap_or(0)),
        eligible: Cents::new(ctx.eligible_cost_cents.unwrap_or(0)),
        max_rate: Rate::from_basis_points(ctx.max_rate_bp),
        min_grant: Cents::new(ctx.min_grant_cents),
        max_grant: ctx.max_grant_cents.map(Cents::new),
    }
}

async fn decision_tab(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<CasePage, AppError> {
    case_page::show(&app, page, &user, id, CaseTab::Entscheidung).await
}

/// The Entscheidung sub-page again, with the proposal's errors and what was typed.
async fn case_with_errors(
    app: &AppState,
    page: PageContext,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    errors: FormErrors,
    proposal: Option<ProposalForm>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = case_of(&mut conn, user, id, false).await?;
    let mut case =
        load_case_page(&mut conn, page, row, user.id, errors, CaseTab::Entscheidung).await?;
    if let Some(p) = proposal {
        case.proposal = p;
    }
    Ok((status, case).into_response())
}

/// Back to the Entscheidung sub-page, which shows why the action was refused at `field`.
fn refused(app: &AppState, id: i64, field: &str, message: &str) -> Response {
    redirect_with_refusal(
        &app.cookies,
        &CaseTab::Entscheidung.path(id),
        field,
        message,
    )
}

/// Back to the Entscheidung sub-page, with a notice.
fn decided(app: &AppState, id: i64, message: &str) -> Response {
    redirect_with_flash(&app.cookies, &CaseTab::Entscheidung.path(id), message)
}

async fn propose(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<ProposalForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = case_of(&mut tx, &user, id, true).await?;
    if row.status != Status::InReview {
        tx.rollback().await?;
        // Not at `outcome`: without a review in progress the page shows no proposal form.
        return Ok(refused(
            &app,
            id,
            "entscheidung",
            "Eine Entscheidung kann nur während der Prüfung vorgeschlagen werden.",
        ));
    }
    let ctx = db::notice_context(&mut tx, id).await?;
    let budget_years = crate::programmes::db::budget_year_numbers(&mut tx, row.round_id).await?;
    let valid = match form.validate(&limits(&ctx), &budget_years) {
        Ok(valid) => valid,
        Err(errors) => {
            tx.rollback().await?;
            return case_with_errors(
                &app,
                page,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                Some(form),
            )
            .await;
        }
    };
    let decision = new_decision(&valid, id, user.id);
    let decision_id = db::propose(&mut tx, &decision).await?;
    if let ValidProposal::Approve { granted, years, .. } = &valid {
        let split = match years {
            Some(typed) => typed.clone(),
            None => planned_split(&mut tx, &row, *granted, &budget_years).await?,
        };
        db::set_decision_years(&mut tx, decision_id, &split).await?;
    }
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &row,
        reviewer(&user),
        Transition::ProposeDecision,
        &Input::default(),
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "decision.proposed",
        Subject::Application(id),
        json!({ "outcome": decision.outcome, "granted_cents": decision.granted_cents }),
    )
    .await?;
    tx.commit().await?;
    Ok(decided(
        &app,
        id,
        "Die Entscheidung ist vorgeschlagen. Eine zweite Person muss sie bestätigen.",
    ))
}

/// The decision row of a valid proposal.
fn new_decision(valid: &ValidProposal, application_id: i64, proposed_by: i64) -> NewDecision<'_> {
    match valid {
        ValidProposal::Approve {
            granted,
            eligible,
            reason,
            period,
            conditions,
            ..
        } => NewDecision {
            application_id,
            outcome: Outcome::Approve,
            granted_cents: Some(granted.get()),
            eligible_cents: Some(eligible.get()),
            reason,
            period_start: Some(period.0),
            period_end: Some(period.1),
            conditions,
            proposed_by,
        },
        ValidProposal::Reject { reason } => NewDecision {
            application_id,
            outcome: Outcome::Reject,
            granted_cents: None,
            eligible_cents: None,
            reason,
            period_start: None,
            period_end: None,
            conditions: "",
            proposed_by,
        },
    }
}

/// The grant split over the budget years like the eligible costs of the cost plan.
async fn planned_split(
    conn: &mut sqlx::PgConnection,
    row: &ApplicationRow,
    granted: Cents,
    budget_years: &[i32],
) -> Result<Vec<(i32, Cents)>, AppError> {
    let dossier = crate::applications::dossier::Dossier::load(conn, row.clone()).await?;
    let eligible = dossier
        .cost_plan()
        .map(|p| p.eligible_by_year())
        .unwrap_or_default();
    Ok(super::model::split_by_years(
        granted,
        &eligible,
        budget_years,
    ))
}

/// The open proposal, if `user` may settle it (four eyes: never their own).
async fn settleable(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    row: &ApplicationRow,
) -> Result<Result<DecisionRow, &'static str>, AppError> {
    if row.status != Status::DecisionProposed {
        return Ok(Err(
            "Zu diesem Antrag liegt kein offener Entscheidungsvorschlag vor.",
        ));
    }
    let decision = db::current_decision(conn, row.id)
        .await?
        .filter(|d| d.state == DecisionState::Proposed)
        .ok_or(AppError::NotFound)?;
    if decision.proposed_by == user.id {
        return Ok(Err(
            "Vier-Augen-Prinzip: Ihren eigenen Vorschlag muss eine andere Person bestätigen oder zurückgeben.",
        ));
    }
    Ok(Ok(decision))
}

fn notice_of(
    row: &ApplicationRow,
    ctx: &db::NoticeContext,
    d: &DecisionRow,
    (signed_by, date): (&str, OffsetDateTime),
    sender: Sender,
) -> Notice {
    let granted = d.granted_cents.unwrap_or(0);
    let eligible = d.eligible_cents.unwrap_or(0);
    // Rounded to the nearest basis point: a grant of 80 % rounded down to the cent is still
    // the 80 % decided, not 79,99 %.
    let rate = if eligible > 0 {
        let bp = (i128::from(granted) * 20_000 / i128::from(eligible) + 1) / 2;
        Rate::from_basis_points(i32::try_from(bp).unwrap_or(0)).to_string()
    } else {
        String::new()
    };
    let addressee = crate::letters::address(
        &row.municipality_name,
        ctx.street.as_deref(),
        ctx.postal_code.as_deref(),
        ctx.city.as_deref(),
    );
    Notice {
        approved: d.outcome == Outcome::Approve,
        reference: row.reference.clone().unwrap_or_default(),
        date: locale::date(date),
        addressee,
        title: row.display_title(),
        round: ctx.round_title.clone(),
        submitted: row.submitted_at.map(locale::date).unwrap_or_default(),
        amount: Cents::new(granted).to_string(),
        rate,
        eligible: Cents::new(eligible).to_string(),
        financing: ctx.financing_type.label().into(),
        period: locale::period(d.period_start, d.period_end),
        legal_basis: if ctx.legal_basis.is_empty() {
            ctx.programme_name.clone()
        } else {
            ctx.legal_basis.clone()
        },
        conditions: d.conditions.clone(),
        reason: d.reason.clone(),
        signed_by: signed_by.to_string(),
        sender,
    }
}

/// Renders the notice of an application's confirmed decision again, dated and signed as the
/// decision was settled: for a history whose days were moved afterwards (the demo's).
pub async fn reissue_notice(
    conn: &mut sqlx::PgConnection,
    files: &FileStore,
    id: i64,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let row = crate::applications::db::find(conn, id)
        .await?
        .context("the application")?;
    let decision = db::current_decision(conn, id)
        .await?
        .filter(|d| d.state == DecisionState::Confirmed)
        .context("a confirmed decision")?;
    let ctx = db::notice_context(conn, id).await?;
    let sender = crate::programmes::db::legal_texts(conn)
        .await?
        .for_notice()
        .map_err(anyhow::Error::msg)?;
    let settled_at = decision.settled_at.context("the decision's day")?;
    let signed_by = decision.settler.clone().unwrap_or_default();
    let notice = notice_of(&row, &ctx, &decision, (&signed_by, settled_at), sender);
    let pdf = tokio::task::spawn_blocking(move || notice::render(&notice)).await??;
    let reissued = documents::keep(conn, files, &pdf).await?;
    if let Some(replaced) = db::replace_notice(conn, decision.id, reissued).await? {
        documents::forget(conn, replaced).await?;
    }
    Ok(())
}

/// Why a confirmation does not fit the budget, for the reviewer.
fn budget_refusal(e: &TransitionError, granted_cents: Option<i64>) -> String {
    match e {
        TransitionError::YearBudgetExceeded {
            year,
            remaining,
            wanted,
        } => format!(
            "Das Budget des Haushaltsjahres {year} reicht nicht: verfügbar sind noch {remaining}, gebunden werden sollen {wanted}. Geben Sie den Vorschlag zurück, damit die Verteilung auf die Haushaltsjahre geändert werden kann; er bleibt bis dahin offen."
        ),
        _ => {
            let remaining = match e {
                TransitionError::BudgetExceeded { remaining } => *remaining,
                _ => Cents::ZERO,
            };
            format!(
                "Das Budget des Förderaufrufs reicht nicht: verfügbar sind noch {remaining}, bewilligt werden sollen {}. Der Vorschlag bleibt offen.",
                Cents::new(granted_cents.unwrap_or(0))
            )
        }
    }
}

async fn confirm(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<crate::web::NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = case_of(&mut tx, &user, id, true).await?;
    let settleable = match settleable(&mut tx, &user, &row).await? {
        Ok(d) => crate::programmes::db::legal_texts(&mut tx)
            .await?
            .for_notice()
            .map(|sender| (d, sender)),
        Err(refusal) => Err(refusal.to_string()),
    };
    let (decision, sender) = match settleable {
        Ok(ready) => ready,
        Err(refusal) => {
            tx.rollback().await?;
            return Ok(refused(&app, id, "entscheidung", &refusal));
        }
    };
    let ctx = db::notice_context(&mut tx, id).await?;
    let signed = (user.name.as_str(), OffsetDateTime::now_utc());
    let notice = notice_of(&row, &ctx, &decision, signed, sender);
    let pdf = tokio::task::spawn_blocking(move || notice::render(&notice))
        .await
        .map_err(anyhow::Error::from)??;
    let notice_id = documents::keep(&mut tx, &app.files, &pdf).await?;
    db::settle(
        &mut tx,
        decision.id,
        DecisionState::Confirmed,
        user.id,
        "",
        Some(notice_id),
    )
    .await?;
    let approve = decision.outcome == Outcome::Approve;
    let input = Input {
        granted: decision.granted_cents.map(Cents::new),
        years: db::decision_years(&mut tx, decision.id).await?,
        period_end: decision.period_end,
        ..Input::default()
    };
    let transition = if approve {
        Transition::Approve
    } else {
        Transition::Reject
    };
    match workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &row,
        reviewer(&user),
        transition,
        &input,
    )
    .await
    {
        Ok(_) => {}
        Err(
            e @ (TransitionError::BudgetExceeded { .. }
            | TransitionError::YearBudgetExceeded { .. }),
        ) => {
            tx.rollback().await?;
            let refusal = budget_refusal(&e, decision.granted_cents);
            return Ok(refused(&app, id, "entscheidung", &refusal));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "decision.confirmed",
        Subject::Application(id),
        json!({ "outcome": decision.outcome, "granted_cents": decision.granted_cents }),
    )
    .await?;
    tx.commit().await?;
    Ok(decided(
        &app,
        id,
        if approve {
            "Die Bewilligung ist bestätigt; der Zuwendungsbescheid ist erstellt und die Kommune benachrichtigt."
        } else {
            "Die Ablehnung ist bestätigt; der Ablehnungsbescheid ist erstellt und die Kommune benachrichtigt."
        },
    ))
}

#[derive(Deserialize)]
struct SendBackForm {
    #[serde(default)]
    note: String,
}

async fn send_back(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<SendBackForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = case_of(&mut tx, &user, id, true).await?;
    let decision = match settleable(&mut tx, &user, &row).await? {
        Ok(d) => d,
        Err(refusal) => {
            tx.rollback().await?;
            return Ok(refused(&app, id, "entscheidung", refusal));
        }
    };
    let note = crate::validation::clean_text(&form.note, 5000);
    db::settle(
        &mut tx,
        decision.id,
        DecisionState::SentBack,
        user.id,
        &note,
        None,
    )
    .await?;
    let input = Input {
        message: note,
        ..Input::default()
    };
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &row,
        reviewer(&user),
        Transition::SendBack,
        &input,
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "decision.sent_back",
        Subject::Application(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(decided(
        &app,
        id,
        "Der Vorschlag ist zurückgegeben; der Antrag ist wieder in Prüfung.",
    ))
}

async fn notice_pdf(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = case_of(&mut conn, &user, id, false).await?;
    crate::applications::downloads::notice(&app, &mut conn, &row).await
}
