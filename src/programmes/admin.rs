//! Admin pages for the rounds (Förderaufrufe): list with drafts, create, edit, publish, close.
//! Every change is in the audit log.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;
use time::OffsetDateTime;

use super::db::{self, CategoryRow, NewRound};
use super::forms::{RoundForm, ValidRound};
use super::model::FinancingType;
use super::model::RoundState;
use super::summary::RoundSummary;
use crate::accounts::Admin;
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::money::Cents;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/foerderaufrufe", get(list))
        .route("/admin/foerderaufrufe/neu", get(new_page).post(create))
        .route("/admin/foerderaufrufe/{id}", get(edit_page).post(update))
        .route("/admin/foerderaufrufe/{id}/veroeffentlichen", post(publish))
        .route(
            "/admin/foerderaufrufe/{id}/schliessen",
            get(close_page).post(close),
        )
}

pub struct AdminRound {
    pub summary: RoundSummary,
    pub state: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/rounds.html")]
struct ListPage {
    page: PageContext,
    rounds: Vec<AdminRound>,
}

async fn programme(app: &AppState) -> Result<(i64, Vec<CategoryRow>), AppError> {
    let mut conn = app.db.acquire().await?;
    let programme = db::main_programme(&mut conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let categories = db::active_categories(&mut conn, programme.id).await?;
    Ok((programme.id, categories))
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
) -> Result<ListPage, AppError> {
    let (programme_id, _) = programme(&app).await?;
    let mut conn = app.db.acquire().await?;
    let now = OffsetDateTime::now_utc();
    let rounds = db::all_rounds(&mut conn, programme_id)
        .await?
        .into_iter()
        .map(|r| AdminRound {
            state: r.state.label(),
            summary: RoundSummary::new(r, now),
        })
        .collect();
    Ok(ListPage { page, rounds })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/round_form.html")]
struct FormPage {
    page: PageContext,
    /// `None` for a new round.
    id: Option<i64>,
    /// The stored title ("Neuer Förderaufruf" for a new one), whatever the form holds.
    heading: String,
    state: &'static str,
    form: RoundForm,
    categories: Vec<CategoryRow>,
    financing_types: &'static [FinancingType],
    errors: FormErrors,
    /// Submitted applications the posted change would put outside the round's rules.
    broken: i64,
}

const NEW_ROUND: &str = "Neuer Förderaufruf";

async fn new_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
) -> Result<FormPage, AppError> {
    let (_, categories) = programme(&app).await?;
    let next_year = OffsetDateTime::now_utc().year() + 1;
    Ok(FormPage {
        page,
        id: None,
        heading: NEW_ROUND.into(),
        state: "Entwurf",
        form: RoundForm::new_round(next_year),
        categories,
        financing_types: &FinancingType::ALL,
        errors: FormErrors::default(),
        broken: 0,
    })
}

fn new_round<'a>(programme_id: i64, r: &'a ValidRound, codes: &'a [&'a str]) -> NewRound<'a> {
    NewRound {
        programme_id,
        title: &r.title,
        year: r.year,
        budget_cents: r.budget.get(),
        opens_at: r.opens_at,
        closes_at: r.closes_at,
        max_rate_bp: r.max_rate.basis_points(),
        min_grant_cents: r.min_grant.get(),
        max_grant_cents: r.max_grant.map(super::super::money::Cents::get),
        financing_type: r.financing_type,
        state: RoundState::Draft,
        retained_bp: r.retained.basis_points(),
        payout_window_months: r.payout_window_months,
        change_shift_bp: r.change_shift.basis_points(),
        proof_due_months: r.proof_due_months,
        category_codes: codes,
        conditions_template: r.conditions.as_deref(),
    }
}

async fn create(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<RoundForm>,
) -> Result<Response, AppError> {
    let (programme_id, categories) = programme(&app).await?;
    let codes: Vec<String> = categories.iter().map(|c| c.code.clone()).collect();
    let round = match form.validate(&codes) {
        Ok(round) => round,
        Err(errors) => {
            let page = FormPage {
                page,
                id: None,
                heading: NEW_ROUND.into(),
                state: "Entwurf",
                form,
                categories,
                financing_types: &FinancingType::ALL,
                errors,
                broken: 0,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let chosen: Vec<&str> = round.categories.iter().map(String::as_str).collect();
    let mut tx = app.db.begin().await?;
    let id = db::insert_round(&mut tx, new_round(programme_id, &round, &chosen)).await?;
    // A new round has nothing committed, so its split always fits.
    let _ = db::set_budget_years(&mut tx, id, &round.budget_years).await?;
    db::set_attachment_types(&mut tx, id, &round.attachments).await?;
    let actor = user.actor(&client);
    audit::record(
        &mut tx,
        actor,
        "round.created",
        Subject::Round(id),
        json!({ "title": round.title }),
    )
    .await?;
    tx.commit().await?;
    let message = "Der Förderaufruf ist als Entwurf gespeichert. Veröffentlichen Sie ihn, wenn er fertig ist.";
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/admin/foerderaufrufe/{id}"),
        message,
    ))
}

async fn edit_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
    Path(id): Path<i64>,
) -> Result<FormPage, AppError> {
    let (_, categories) = programme(&app).await?;
    let mut conn = app.db.acquire().await?;
    let round = db::find_round(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let attachments = db::attachment_types(&mut conn, id).await?;
    let years = db::budget_years(&mut conn, &[id]).await?;
    Ok(FormPage {
        page,
        id: Some(id),
        heading: round.title.clone(),
        state: round.state.label(),
        form: RoundForm::from_round(&round)
            .with_attachments(&attachments)
            .with_budget_years(&years),
        categories,
        financing_types: &FinancingType::ALL,
        errors: FormErrors::default(),
        broken: 0,
    })
}

async fn update(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<RoundForm>,
) -> Result<Response, AppError> {
    let (programme_id, categories) = programme(&app).await?;
    let mut tx = app.db.begin().await?;
    let existing = db::find_round(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let codes: Vec<String> = categories.iter().map(|c| c.code.clone()).collect();
    let granted = Cents::new(db::granted_total(&mut tx, id).await?);
    let validated = form.validate(&codes).and_then(|round| {
        if round.budget < granted {
            let mut errors = FormErrors::default();
            errors.add(
                "budget",
                format!("Das Budget darf nicht unter den in diesem Förderaufruf bereits bewilligten {granted} liegen."),
            );
            Err(errors)
        } else {
            Ok(round)
        }
    });
    let round = match validated {
        Ok(round) => round,
        Err(errors) => {
            let state = existing.state.label();
            let page = FormPage {
                page,
                id: Some(id),
                heading: existing.title.clone(),
                state,
                form,
                categories,
                financing_types: &FinancingType::ALL,
                errors,
                broken: 0,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let chosen: Vec<&str> = round.categories.iter().map(String::as_str).collect();
    let changed = new_round(programme_id, &round, &chosen);
    let broken = db::submissions_broken_by(&mut tx, id, &changed).await?;
    if broken > 0 && !form.confirmed {
        let page = FormPage {
            page,
            id: Some(id),
            heading: existing.title.clone(),
            state: existing.state.label(),
            form,
            categories,
            financing_types: &FinancingType::ALL,
            errors: FormErrors::default(),
            broken,
        };
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    db::update_round(&mut tx, id, &changed).await?;
    if let Err((year, committed)) = db::set_budget_years(&mut tx, id, &round.budget_years).await? {
        tx.rollback().await?;
        let mut errors = FormErrors::default();
        errors.add(
            "budget_years",
            format!(
                "Im Haushaltsjahr {year} sind bereits {} gebunden; sein Budget darf nicht darunter liegen.",
                Cents::new(committed)
            ),
        );
        let page = FormPage {
            page,
            id: Some(id),
            heading: existing.title.clone(),
            state: existing.state.label(),
            form,
            categories,
            financing_types: &FinancingType::ALL,
            errors,
            broken: 0,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    db::set_attachment_types(&mut tx, id, &round.attachments).await?;
    let actor = user.actor(&client);
    let details = json!({
        "submissions_outside_rules": broken,
        "budget_cents": { "before": existing.budget_cents, "after": round.budget.get() },
        "closes_at": { "before": existing.closes_at.unix_timestamp(), "after": round.closes_at.unix_timestamp() },
        "max_rate_bp": { "before": existing.max_rate_bp, "after": round.max_rate.basis_points() },
    });
    audit::record(&mut tx, actor, "round.updated", Subject::Round(id), details).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/admin/foerderaufrufe/{id}"),
        "Die Änderungen sind gespeichert.",
    ))
}

async fn publish(
    State(app): State<AppState>,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    change_state(
        &app,
        &user,
        &client.0,
        id,
        RoundState::Draft,
        RoundState::Published,
        "round.published",
        "Der Förderaufruf ist veröffentlicht.",
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/round_close.html")]
struct ClosePage {
    page: PageContext,
    id: i64,
    title: String,
    closes_at: String,
    unsubmitted: i64,
}

/// Closing a round cannot be undone: the admin confirms it on its own page.
async fn close_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let round = db::find_round(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if round.state != RoundState::Published {
        return Ok(Redirect::to(&format!("/admin/foerderaufrufe/{id}")).into_response());
    }
    Ok(ClosePage {
        page,
        id,
        title: round.title.clone(),
        closes_at: crate::locale::date_time(round.closes_at),
        unsubmitted: db::unsubmitted_in_round(&mut conn, id).await?,
    }
    .into_response())
}

async fn close(
    State(app): State<AppState>,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    change_state(
        &app,
        &user,
        &client.0,
        id,
        RoundState::Published,
        RoundState::Closed,
        "round.closed",
        "Der Förderaufruf ist geschlossen.",
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn change_state(
    app: &AppState,
    user: &Admin,
    client: &str,
    id: i64,
    from: RoundState,
    to: RoundState,
    action: &str,
    done: &str,
) -> Result<Response, AppError> {
    let target = format!("/admin/foerderaufrufe/{id}");
    let mut tx = app.db.begin().await?;
    db::find_round(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !db::set_round_state(&mut tx, id, from, to).await? {
        return Ok(redirect_with_flash(
            &app.cookies,
            &target,
            "Der Förderaufruf hat diesen Zustand nicht (mehr).",
        ));
    }
    audit::record(
        &mut tx,
        Actor {
            user_id: Some(user.id),
            client,
        },
        action,
        Subject::Round(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(&app.cookies, &target, done))
}
