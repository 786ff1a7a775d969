//! The ministry's side of change requests: the list "Änderungsanträge", a request with the plan
//! before and after, and the four-eyes decision: one reviewer proposes to approve or reject, a
//! second confirms (issuing the Änderungsbescheid and putting the change into effect) or sends
//! the proposal back.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::db::{self, AmendmentRow, GrantTerms, YearsRefusal};
use super::model::{AmendmentStatus, AmendmentTransition, eligible_by_year};
use super::notice::{self, AmendmentNotice};
use super::routes::{TermsView, amendment_of, notice_download};
use super::views::{AmendmentLine, Comparison, EventView, timeline};
use super::workflow::{self, Acting, Input, TransitionError};
use crate::accounts::{CurrentUser, Reviewer};
use crate::applications::documents;
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, PageContext, ProtectedForm, redirect_refused, redirect_with_flash,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung/aenderungen", get(queue))
        .route("/pruefung/aenderungen/{id}", get(case))
        .route("/pruefung/aenderungen/{id}/vorschlag", post(propose))
        .route("/pruefung/aenderungen/{id}/bestaetigen", post(confirm))
        .route("/pruefung/aenderungen/{id}/zurueckgeben", post(send_back))
        .route("/pruefung/aenderungen/{id}/bescheid.pdf", get(notice_pdf))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct QueueQuery {
    /// "ja": also the decided and notified ones of the last year.
    alle: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "amendments/queue.html")]
struct QueuePage {
    page: PageContext,
    all: bool,
    amendments: Vec<AmendmentLine>,
}

async fn queue(
    State(app): State<AppState>,
    page: PageContext,
    _user: Reviewer,
    Query(query): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let all = query.alle == "ja";
    let mut conn = app.db.acquire().await?;
    let amendments = db::queue(&mut conn, !all)
        .await?
        .iter()
        .map(AmendmentLine::new)
        .collect();
    Ok(QueuePage {
        page,
        all,
        amendments,
    }
    .into_response())
}

/// A decision proposal as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct ProposalForm {
    /// "genehmigen" or "ablehnen".
    outcome: String,
    /// The grounds of a rejection (required then), shown in the notice.
    note: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct SendBackForm {
    reason: String,
}

const NOTE_MAX: usize = 5000;

#[derive(Template, WebTemplate)]
#[template(path = "amendments/case.html")]
struct CasePage {
    page: PageContext,
    amendment: AmendmentLine,
    round: String,
    terms: Option<TermsView>,
    plan: Comparison,
    timeline: Vec<EventView>,
    can_propose: bool,
    can_settle: bool,
    own_proposal: bool,
    proposal: ProposalForm,
    send_back: SendBackForm,
    errors: FormErrors,
}

/// The request for ministry staff: 404 for unknown ids, 403 for others. With `lock`, the
/// grant first, then the request (the order of the municipality's steps).
async fn for_review(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<AmendmentRow, AppError> {
    let amendment = amendment_of(conn, None, id, false).await?;
    tracing::Span::current().record("application_id", amendment.application_id);
    Reviewer::check(user)?;
    if lock {
        crate::payouts::db::lock_grant(conn, amendment.application_id).await?;
        return amendment_of(conn, None, id, true).await;
    }
    Ok(amendment)
}

async fn case_page(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    user: &CurrentUser,
    a: &AmendmentRow,
    errors: FormErrors,
    forms: (ProposalForm, SendBackForm),
) -> Result<CasePage, AppError> {
    let terms = db::terms(conn, a.application_id, false).await?;
    let plan = Comparison::new(
        &db::plan(conn, a.id, false).await?,
        &db::plan(conn, a.id, true).await?,
    );
    let events = db::events(conn, a.id).await?;
    let own_proposal = a.status == AmendmentStatus::Proposed && a.proposed_by == Some(user.id);
    Ok(CasePage {
        page,
        amendment: AmendmentLine::new(a),
        round: a.round_title.clone(),
        terms: terms.as_ref().map(TermsView::new),
        plan,
        timeline: timeline(&events, true),
        can_propose: a.status == AmendmentStatus::Submitted,
        can_settle: a.status == AmendmentStatus::Proposed && !own_proposal,
        own_proposal,
        proposal: forms.0,
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
    let a = for_review(&mut conn, &user, id, false).await?;
    let errors = page.take_refusal();
    let page = case_page(&mut conn, page, &user, &a, errors, Default::default()).await?;
    Ok(page.into_response())
}

/// The case page again with the form errors (422), or, for a refusal (409), a redirect to
/// it that carries the reason (POST-redirect-GET, so a reload does not send the action again).
async fn refused(
    app: &AppState,
    page: PageContext,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    errors: FormErrors,
    forms: (ProposalForm, SendBackForm),
) -> Result<Response, AppError> {
    if status == StatusCode::CONFLICT {
        let case = format!("/pruefung/aenderungen/{id}");
        return Ok(redirect_refused(&app.cookies, &case, &errors));
    }
    let mut conn = app.db.acquire().await?;
    let a = for_review(&mut conn, user, id, false).await?;
    let page = case_page(&mut conn, page, user, &a, errors, forms).await?;
    Ok((status, page).into_response())
}

async fn propose(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<ProposalForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let approve = match form.outcome.as_str() {
        "genehmigen" => Some(true),
        "ablehnen" => Some(false),
        _ => {
            errors.add(
                "outcome",
                "Bitte wählen Sie, ob die Änderung genehmigt oder abgelehnt werden soll.",
            );
            None
        }
    };
    let note = crate::validation::clean_text(&form.note, NOTE_MAX + 1);
    if approve == Some(false) && note.trim().is_empty() {
        errors.add(
            "note",
            "Bitte begründen Sie die Ablehnung; die Begründung steht im Bescheid.",
        );
    } else if note.chars().count() > NOTE_MAX {
        errors.add(
            "note",
            format!("Die Begründung darf höchstens {NOTE_MAX} Zeichen lang sein."),
        );
    }
    let Some(approve) = approve.filter(|_| errors.is_empty()) else {
        return refused(
            &app,
            page,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            (form, SendBackForm::default()),
        )
        .await;
    };
    let mut tx = app.db.begin().await?;
    let a = for_review(&mut tx, &user, id, true).await?;
    let input = Input {
        message: &note,
        approve: Some(approve),
        notice: None,
    };
    match workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &a,
        Acting::reviewer(&user),
        AmendmentTransition::Propose,
        &input,
    )
    .await
    {
        Ok(_) => {}
        Err(TransitionError::NotAllowed { .. }) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("outcome", "Zu diesem Änderungsantrag liegt bereits ein Vorschlag vor, oder er ist entschieden.");
            return refused(
                &app,
                page,
                &user,
                id,
                StatusCode::CONFLICT,
                errors,
                (form, SendBackForm::default()),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "amendment.proposed",
        Subject::Amendment(id),
        json!({ "approve": approve }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/aenderungen/{id}"),
        "Die Entscheidung ist vorgeschlagen. Eine zweite Person muss sie bestätigen.",
    ))
}

/// The notice of the proposal being confirmed.
fn notice_of(
    a: &AmendmentRow,
    terms: &GrantTerms,
    plan: Comparison,
    signed_by: &str,
    sender: crate::letters::Sender,
) -> AmendmentNotice {
    let line = AmendmentLine::new(a);
    let addressee = crate::letters::address(
        &a.municipality_name,
        terms.street.as_deref(),
        terms.postal_code.as_deref(),
        terms.city.as_deref(),
    );
    AmendmentNotice {
        approved: a.approve == Some(true),
        reference: a.reference.clone(),
        date: locale::day(locale::today()),
        addressee,
        sender,
        title: a.title.clone(),
        number: a.number,
        submitted: line.submitted_at,
        awarded: locale::date(terms.awarded_at),
        old_period: line.old_period,
        new_period: line.new_period,
        old_granted: line.old_granted,
        new_granted: line.new_granted,
        old_eligible: line.old_eligible,
        new_eligible: line.new_eligible,
        plan,
        reason: a.reason.clone(),
        grounds: a.proposal_note.clone(),
        signed_by: signed_by.to_string(),
    }
}

/// Why an approved change does not fit the budget years, for the reviewer.
fn years_refusal(refusal: &YearsRefusal) -> String {
    match refusal {
        YearsRefusal::Budget { year, remaining } => format!(
            "Das Budget des Haushaltsjahres {year} reicht für die neue Verteilung nicht: verfügbar sind noch {remaining}. Der Vorschlag bleibt offen; geben Sie ihn zurück, wenn die Änderung so nicht genehmigt werden kann."
        ),
        YearsRefusal::Paid { year, paid } => format!(
            "Im Haushaltsjahr {year} sind bereits {paid} ausgezahlt, mehr als die Zuwendung dort nach der Änderung betrüge. Der Vorschlag bleibt offen."
        ),
    }
}

/// Why the proposal cannot be confirmed by `user` now, if it cannot.
fn confirm_refusal(a: &AmendmentRow, user: &CurrentUser) -> Option<&'static str> {
    if a.status != AmendmentStatus::Proposed {
        Some("Zu diesem Änderungsantrag liegt kein offener Vorschlag vor.")
    } else if a.proposed_by == Some(user.id) {
        Some(
            "Vier-Augen-Prinzip: Ihren eigenen Vorschlag muss eine andere Person bestätigen oder zurückgeben.",
        )
    } else {
        None
    }
}

/// Puts an approved change into effect (grant, period, budget years) and writes the notice of
/// the decision; `Err` with the reviewer's message when the budget years refuse the change.
async fn settle(
    conn: &mut sqlx::PgConnection,
    a: &AmendmentRow,
    signed_by: &str,
) -> Result<Result<Vec<u8>, String>, AppError> {
    let sender = match crate::programmes::db::legal_texts(conn).await?.for_notice() {
        Ok(sender) => sender,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let terms = db::terms(conn, a.application_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let after = db::plan(conn, a.id, true).await?;
    if a.approve == Some(true) {
        let budget_years = crate::programmes::db::budget_year_numbers(conn, terms.round_id).await?;
        let granted = Cents::new(a.new_granted_cents);
        let split =
            crate::review::model::split_by_years(granted, &eligible_by_year(&after), &budget_years);
        if let Err(refusal) =
            db::put_into_effect(conn, &terms, granted, a.new_period_end, &split).await?
        {
            return Ok(Err(years_refusal(&refusal)));
        }
    }
    let plan = Comparison::new(&db::plan(conn, a.id, false).await?, &after);
    let letter = notice_of(a, &terms, plan, signed_by, sender);
    let pdf = tokio::task::spawn_blocking(move || notice::render(&letter))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(Ok(pdf))
}

async fn confirm(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<crate::web::NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let a = for_review(&mut tx, &user, id, true).await?;
    let settled = match confirm_refusal(&a, &user) {
        Some(refusal) => Err(refusal.to_string()),
        None => settle(&mut tx, &a, &user.name).await?,
    };
    let pdf = match settled {
        Ok(pdf) => pdf,
        Err(message) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("entscheidung", message);
            let forms = Default::default();
            return refused(&app, page, &user, id, StatusCode::CONFLICT, errors, forms).await;
        }
    };
    let notice = documents::keep(&mut tx, &app.files, &pdf).await?;
    let approve = a.approve == Some(true);
    let transition = if approve {
        AmendmentTransition::Approve
    } else {
        AmendmentTransition::Reject
    };
    let input = Input {
        message: "",
        approve: None,
        notice: Some(notice),
    };
    let by = Acting::reviewer(&user);
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &a,
        by,
        transition,
        &input,
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "amendment.confirmed",
        Subject::Amendment(id),
        json!({ "approve": approve, "granted_cents": a.new_granted_cents,
                "period_end": a.new_period_end.to_string() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/aenderungen/{id}"),
        if approve {
            "Die Änderung ist genehmigt; der Änderungsbescheid ist erstellt und die Kommune benachrichtigt."
        } else {
            "Die Ablehnung ist bestätigt; der Bescheid ist erstellt und die Kommune benachrichtigt."
        },
    ))
}

async fn send_back(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<SendBackForm>,
) -> Result<Response, AppError> {
    let reason = crate::validation::clean_text(&form.reason, NOTE_MAX + 1);
    let mut errors = FormErrors::default();
    if reason.trim().is_empty() {
        errors.add(
            "reason",
            "Bitte schreiben Sie, warum Sie den Vorschlag zurückgeben.",
        );
    } else if reason.chars().count() > NOTE_MAX {
        errors.add(
            "reason",
            format!("Die Begründung darf höchstens {NOTE_MAX} Zeichen lang sein."),
        );
    }
    if !errors.is_empty() {
        return refused(
            &app,
            page,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            (ProposalForm::default(), form),
        )
        .await;
    }
    let mut tx = app.db.begin().await?;
    let a = for_review(&mut tx, &user, id, true).await?;
    let input = Input {
        message: &reason,
        ..Input::default()
    };
    match workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &a,
        Acting::reviewer(&user),
        AmendmentTransition::SendBack,
        &input,
    )
    .await
    {
        Ok(_) => {}
        Err(e @ (TransitionError::FourEyes | TransitionError::NotAllowed { .. })) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add(
                "reason",
                if matches!(e, TransitionError::FourEyes) {
                    "Vier-Augen-Prinzip: Ihren eigenen Vorschlag gibt eine andere Person zurück."
                } else {
                    "Zu diesem Änderungsantrag liegt kein offener Vorschlag vor."
                },
            );
            return refused(
                &app,
                page,
                &user,
                id,
                StatusCode::CONFLICT,
                errors,
                (ProposalForm::default(), form),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "amendment.sent_back",
        Subject::Amendment(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/aenderungen/{id}"),
        "Der Vorschlag ist zurückgegeben; der Änderungsantrag ist wieder zu entscheiden.",
    ))
}

async fn notice_pdf(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let a = for_review(&mut conn, &user, id, false).await?;
    notice_download(&app, &mut conn, &a).await
}
