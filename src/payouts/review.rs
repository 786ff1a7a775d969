//! The ministry's side of a payout request: the queue "Mittelabrufe", a request with its grant's
//! history, and the four-eyes steps: found correct (*sachlich und rechnerisch richtig*, maybe for
//! less), payment ordered (*Auszahlungsanordnung*) by a second person, or sent back.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::db::{self, PayoutRow, QueueFilter};
use super::forms::{CheckForm, SendBackForm};
use super::model::{PayoutStatus, PayoutTransition};
use super::views::{self, BalanceView, EventView, ItemView, PayoutLine, ReceiptView};
use super::workflow::{self, Acting, Input, TransitionError};
use crate::accounts::{CurrentUser, Reviewer};
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::money::Cents;
use crate::review::choices::Choices;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, NoFields, PageContext, ProtectedForm, redirect_refused, redirect_with_flash,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung/mittelabrufe", get(queue))
        .route("/pruefung/mittelabrufe/{id}", get(case))
        .route("/pruefung/mittelabrufe/{id}/pruefen", post(check))
        .route("/pruefung/mittelabrufe/{id}/anordnen", post(order))
        .route("/pruefung/mittelabrufe/{id}/zurueckgeben", post(send_back))
        .route("/pruefung/mittelabrufe/{id}/belege/{file}", get(receipt))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct QueueQuery {
    status: String,
    runde: String,
    landkreis: String,
    /// "ja": only what waits for me.
    fuer_mich: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/queue.html")]
struct QueuePage {
    page: PageContext,
    query: QueueQuery,
    statuses: Vec<(&'static str, &'static str)>,
    choices: std::sync::Arc<Choices>,
    payouts: Vec<PayoutLine>,
    total: String,
    truncated: bool,
    errors: FormErrors,
}

async fn queue(
    State(app): State<AppState>,
    page: PageContext,
    user: Reviewer,
    Query(query): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let mut filter = QueueFilter::default();
    match query.status.trim() {
        "" => {}
        "offen" => {
            filter.statuses = vec![
                PayoutStatus::Submitted,
                PayoutStatus::Checked,
                PayoutStatus::Ordered,
                PayoutStatus::InRun,
            ];
        }
        s => match s.parse::<PayoutStatus>() {
            Ok(status) => filter.statuses = vec![status],
            Err(_) => errors.add("status", "Bitte wählen Sie einen Status aus der Liste."),
        },
    }
    let id = |errors: &mut FormErrors, field: &'static str, value: &str| {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let parsed = value.parse::<i64>().ok();
        if parsed.is_none() {
            errors.add(field, "Bitte wählen Sie einen Eintrag aus der Liste.");
        }
        parsed
    };
    filter.round_id = id(&mut errors, "runde", &query.runde);
    filter.district_id = id(&mut errors, "landkreis", &query.landkreis);
    filter.waiting_for = (query.fuer_mich == "ja").then_some(user.id);
    let mut conn = app.db.acquire().await?;
    let mut rows = if errors.is_empty() {
        db::queue(&mut conn, &filter).await?
    } else {
        Vec::new()
    };
    let truncated = rows.len() > usize::try_from(db::QUEUE_LIMIT).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(db::QUEUE_LIMIT).unwrap_or(usize::MAX));
    let payouts: Vec<PayoutLine> = rows.iter().map(PayoutLine::new).collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        QueuePage {
            page,
            statuses: status_choices(),
            choices: app.choices.get(&mut conn).await?,
            total: views::total(&payouts),
            payouts,
            truncated,
            query,
            errors,
        },
    )
        .into_response())
}

fn status_choices() -> Vec<(&'static str, &'static str)> {
    let mut choices = vec![("offen", "Alle offenen")];
    choices.extend(
        PayoutStatus::ALL
            .into_iter()
            .filter(|s| *s != PayoutStatus::Draft)
            .map(|s| (s.as_str(), s.label())),
    );
    choices
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/case.html")]
struct CasePage {
    page: PageContext,
    payout: PayoutLine,
    title: String,
    round: String,
    approval_note: String,
    account: String,
    account_reason: String,
    items: Vec<ItemView>,
    items_total: String,
    receipts: Vec<ReceiptView>,
    receipt_href: String,
    balance: BalanceView,
    payouts: Vec<PayoutLine>,
    total: String,
    payout_href: &'static str,
    timeline: Vec<EventView>,
    checked_by: String,
    ordered_by: String,
    can_check: bool,
    can_order: bool,
    /// The four eyes: this reviewer checked it, so someone else orders.
    own_check: bool,
    can_send_back: bool,
    check: CheckForm,
    send_back: SendBackForm,
    errors: FormErrors,
}

/// The request for ministry staff: 404 for unknown ids, 403 for others.
async fn payout_for_review(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<PayoutRow, AppError> {
    let application = db::application_of(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tracing::Span::current().record("application_id", application);
    Reviewer::check(user)?;
    if lock {
        // The grant first, then the request: the same order as the municipality's steps.
        db::lock_grant(conn, application).await?;
        db::lock_payout(conn, id).await?
    } else {
        db::payout(conn, id).await?
    }
    .ok_or(AppError::NotFound)
}

async fn case_page(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    user: &CurrentUser,
    p: PayoutRow,
    errors: FormErrors,
    forms: (CheckForm, SendBackForm),
) -> Result<CasePage, AppError> {
    let grant = db::grant(conn, p.application_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let (items, items_total) = views::items(&db::items(conn, p.id).await?);
    let payouts: Vec<PayoutLine> = db::payouts_of(conn, p.application_id)
        .await?
        .iter()
        .map(PayoutLine::new)
        .collect();
    let own_check = p.checked_by == Some(user.id);
    let mut check = forms.0;
    if check.approved.is_empty() {
        check.approved = Cents::new(p.requested_cents).plain();
    }
    Ok(CasePage {
        page,
        title: p.title.clone(),
        round: p.round_title.clone(),
        approval_note: p.approval_note.clone(),
        account: format!("{}, {}", p.account_holder, views::iban(&p.iban)),
        account_reason: p.account_reason.clone(),
        items,
        items_total,
        receipts: views::receipts(&db::receipts(conn, p.id).await?),
        receipt_href: format!("/pruefung/mittelabrufe/{}/belege/", p.id),
        balance: BalanceView::new(&grant),
        total: views::total(&payouts),
        payouts,
        payout_href: "/pruefung/mittelabrufe/",
        timeline: views::timeline(&db::events(conn, p.id).await?),
        checked_by: p.checked_by_name.clone().unwrap_or_default(),
        ordered_by: p.ordered_by_name.clone().unwrap_or_default(),
        can_check: p.status == PayoutStatus::Submitted,
        can_order: p.status == PayoutStatus::Checked && !own_check,
        own_check: p.status == PayoutStatus::Checked && own_check,
        can_send_back: PayoutTransition::SendBack.target(p.status).is_some(),
        payout: PayoutLine::new(&p),
        check,
        send_back: forms.1,
        errors,
    })
}

async fn case(
    State(app): State<AppState>,
    mut page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let p = payout_for_review(&mut conn, &user, id, false).await?;
    let errors = page.take_refusal();
    let page = case_page(&mut conn, page, &user, p, errors, Default::default()).await?;
    Ok(page.into_response())
}

async fn receipt(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, file)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    payout_for_review(&mut conn, &user, id, false).await?;
    views::receipt_download(&app, &mut conn, id, file).await
}

/// The request's page again with the form errors (422), or, for a refusal (409), a redirect
/// to it that carries the reason (POST-redirect-GET, so a reload does not send it again).
async fn case_with_errors(
    app: &AppState,
    page: PageContext,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    errors: FormErrors,
    forms: (CheckForm, SendBackForm),
) -> Result<Response, AppError> {
    if status == StatusCode::CONFLICT {
        let case = format!("/pruefung/mittelabrufe/{id}");
        return Ok(redirect_refused(&app.cookies, &case, &errors));
    }
    let mut conn = app.db.acquire().await?;
    let p = payout_for_review(&mut conn, user, id, false).await?;
    let page = case_page(&mut conn, page, user, p, errors, forms).await?;
    Ok((status, page).into_response())
}

fn not_now(transition: PayoutTransition, from: PayoutStatus) -> TransitionError {
    TransitionError::NotAllowed { transition, from }
}

fn refusal(field: &str, e: &TransitionError, status: PayoutStatus) -> FormErrors {
    let mut errors = FormErrors::default();
    let message = match e {
        TransitionError::FourEyes => {
            "Vier-Augen-Prinzip: Wer den Mittelabruf als sachlich und rechnerisch richtig festgestellt hat, kann die Auszahlung nicht selbst anordnen.".to_string()
        }
        _ => format!(
            "Dieser Schritt ist nicht mehr möglich: Der Mittelabruf hat inzwischen den Stand „{}“.",
            status.label()
        ),
    };
    errors.add(field, message);
    errors
}

/// Runs one reviewer transition on the locked request; refusals come back as the page with
/// the reason next to the action.
#[allow(clippy::too_many_arguments)]
async fn act(
    app: &AppState,
    page: PageContext,
    user: &CurrentUser,
    client: &ClientAddress,
    id: i64,
    transition: PayoutTransition,
    input: Input,
    field: &str,
    forms: (CheckForm, SendBackForm),
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let p = payout_for_review(&mut tx, user, id, true).await?;
    match workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &p,
        Acting::reviewer(user),
        transition,
        &input,
    )
    .await
    {
        Ok(_) => {}
        Err(e @ (TransitionError::NotAllowed { .. } | TransitionError::FourEyes)) => {
            tx.rollback().await?;
            let errors = refusal(field, &e, p.status);
            return case_with_errors(app, page, user, id, StatusCode::CONFLICT, errors, forms)
                .await;
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        user.actor(client),
        match transition {
            PayoutTransition::Check => "payout.checked",
            PayoutTransition::Order => "payout.ordered",
            _ => "payout.returned",
        },
        Subject::Payout(id),
        json!({ "application_id": p.application_id,
                "approved_cents": input.approved.map(Cents::get) }),
    )
    .await?;
    tx.commit().await?;
    let flash = match transition {
        PayoutTransition::Check => {
            "Der Mittelabruf ist als sachlich und rechnerisch richtig festgestellt. Eine zweite Person ordnet die Auszahlung an."
        }
        PayoutTransition::Order => {
            "Die Auszahlung ist angeordnet; sie geht mit dem nächsten Zahllauf an die Landeshauptkasse."
        }
        _ => "Der Mittelabruf ist zurückgegeben; die Kommune ist benachrichtigt.",
    };
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/mittelabrufe/{id}"),
        flash,
    ))
}

async fn check(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<CheckForm>,
) -> Result<Response, AppError> {
    let p = {
        let mut conn = app.db.acquire().await?;
        payout_for_review(&mut conn, &user, id, false).await?
    };
    if PayoutTransition::Check.target(p.status).is_none() {
        // Checked, sent back or withdrawn meanwhile: say so, whatever the form holds.
        let errors = refusal(
            "pruefen",
            &not_now(PayoutTransition::Check, p.status),
            p.status,
        );
        let forms = (form, SendBackForm::default());
        return case_with_errors(&app, page, &user, id, StatusCode::CONFLICT, errors, forms).await;
    }
    let requested = Cents::new(p.requested_cents);
    let (approved, note) = match form.validate(requested) {
        Ok(v) => v,
        Err(errors) => {
            let forms = (form, SendBackForm::default());
            return case_with_errors(
                &app,
                page,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                forms,
            )
            .await;
        }
    };
    let input = Input {
        message: note,
        approved: Some(approved),
        run: None,
    };
    let forms = (form, SendBackForm::default());
    act(
        &app,
        page,
        &user,
        &client,
        id,
        PayoutTransition::Check,
        input,
        "pruefen",
        forms,
    )
    .await
}

async fn order(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    act(
        &app,
        page,
        &user,
        &client,
        id,
        PayoutTransition::Order,
        Input::default(),
        "anordnen",
        Default::default(),
    )
    .await
}

async fn send_back(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<SendBackForm>,
) -> Result<Response, AppError> {
    let reason = match form.validate() {
        Ok(r) => r,
        Err(errors) => {
            let forms = (CheckForm::default(), form);
            return case_with_errors(
                &app,
                page,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                forms,
            )
            .await;
        }
    };
    let input = Input {
        message: reason,
        ..Input::default()
    };
    let forms = (CheckForm::default(), form);
    act(
        &app,
        page,
        &user,
        &client,
        id,
        PayoutTransition::SendBack,
        input,
        "zurueckgeben",
        forms,
    )
    .await
}
