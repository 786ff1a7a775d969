//! The ministry's side of the proof of use: the list (to check, overdue, due soon), a proof
//! with its numerical proof, Belegliste and attachments, the Nachforderung, and the settlement
//! under four eyes: one reviewer proposes it with the Prüfvermerk's checklist, a second
//! confirms it; the confirmation issues the Schlussbescheid, orders the final payment or
//! demands the overpayment back with interest, and closes the grant.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::db::{self, CHECKLIST, ProofListRow, ProofRow};
use super::forms::{FinancingForm, REPORT_FIELDS, ReportForm};
use super::model::{NumericalProof, ProofStatus, Receipt, Settlement, SettlementInput, due_on};
use super::notice::{self, FinalNotice};
use super::views::{NumericalView, ReceiptLine, SettlementView, receipt_lines, timeline};
use super::workflow::{self, About, ProofTransition};
use crate::accounts::{CurrentUser, Reviewer};
use crate::amendments::db::GrantTerms;
use crate::applications::db::ApplicationRow;
use crate::applications::documents;
use crate::applications::model::Transition;
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::review::model::DecisionState;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, NoFields, PageContext, ProtectedForm, redirect_refused, redirect_with_flash,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung/verwendungsnachweise", get(list))
        .route("/pruefung/verwendungsnachweise/{id}", get(case))
        .route(
            "/pruefung/verwendungsnachweise/{id}/nachforderung",
            post(request_changes),
        )
        .route(
            "/pruefung/verwendungsnachweise/{id}/abrechnung",
            post(propose),
        )
        .route(
            "/pruefung/verwendungsnachweise/{id}/abrechnung/bestaetigen",
            post(confirm),
        )
        .route(
            "/pruefung/verwendungsnachweise/{id}/abrechnung/zurueckgeben",
            post(send_back),
        )
        .route(
            "/pruefung/verwendungsnachweise/{id}/anlagen/{file}",
            get(attachment),
        )
        .route(
            "/pruefung/verwendungsnachweise/{id}/schlussbescheid.pdf",
            get(final_notice),
        )
}

/// A grant whose proof is due, as the list shows it.
pub struct DueLine {
    pub application_id: i64,
    pub reference: String,
    pub title: String,
    pub municipality: String,
    pub period_end: String,
    pub due: String,
    pub status: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "proofs/list.html")]
struct ListPage {
    page: PageContext,
    submitted: Vec<(ProofListRow, String)>,
    overdue: Vec<DueLine>,
    soon: Vec<DueLine>,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    _user: Reviewer,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let today = locale::today();
    let submitted = db::submitted(&mut conn)
        .await?
        .into_iter()
        .map(|p| {
            let at = p.submitted_at.map(locale::date).unwrap_or_default();
            (p, at)
        })
        .collect();
    let (mut overdue, mut soon) = (Vec::new(), Vec::new());
    for row in db::due(&mut conn, today + time::Duration::days(60)).await? {
        if matches!(row.proof_status, Some(ProofStatus::Submitted)) {
            continue;
        }
        let due = row.due_on();
        let line = DueLine {
            application_id: row.application_id,
            reference: row.reference.clone(),
            title: row.title.clone(),
            municipality: row.municipality_name.clone(),
            period_end: locale::day(row.period_end),
            due: locale::day(due),
            status: row
                .proof_status
                .map_or("Nicht begonnen", ProofStatus::label),
        };
        if due < today {
            overdue.push(line);
        } else if due <= today + time::Duration::days(56) {
            soon.push(line);
        }
    }
    Ok(ListPage {
        page,
        submitted,
        overdue,
        soon,
    }
    .into_response())
}

/// The proof for ministry staff with everything around it: 404 for unknown ids, 403 for
/// others. With `lock`, the grant first, then the proof.
struct Case {
    proof: ProofRow,
    row: ApplicationRow,
    terms: GrantTerms,
    plan: Vec<crate::amendments::model::PlanRow>,
    receipts: Vec<db::ReceiptRow>,
}

impl Case {
    fn numbers(&self) -> NumericalProof {
        let listed: Vec<Receipt> = self.receipts.iter().map(|r| r.receipt.clone()).collect();
        NumericalProof::new(&self.plan, &listed)
    }

    fn about(&self) -> About<'_> {
        About {
            reference: &self.terms.reference,
            title: &self.terms.title,
            municipality_id: self.terms.municipality_id,
            application_id: self.terms.application_id,
        }
    }
}

async fn case_of(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<Case, AppError> {
    // A proof never submitted is the municipality's own business.
    let proof = db::proof(conn, id)
        .await?
        .filter(|p| p.submitted_at.is_some())
        .ok_or(AppError::NotFound)?;
    tracing::Span::current().record("application_id", proof.application_id);
    Reviewer::check(user)?;
    let row = crate::applications::db::find(conn, proof.application_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let terms = crate::amendments::db::terms(conn, proof.application_id, lock)
        .await?
        .ok_or(AppError::NotFound)?;
    let proof = if lock {
        db::lock(conn, id).await?.ok_or(AppError::NotFound)?
    } else {
        proof
    };
    let (plan, _) = crate::amendments::db::plan_in_force(conn, &row).await?;
    let receipts = db::receipts(conn, proof.id).await?;
    Ok(Case {
        proof,
        row,
        terms,
        plan,
        receipts,
    })
}

/// The settlement proposal as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct SettlementForm {
    report_complete: String,
    receipts_add_up: String,
    costs_plausible: String,
    procurement_declared: String,
    reuse_described: String,
    disallowed: String,
    note: String,
}

impl SettlementForm {
    fn ticked(&self, field: &str) -> bool {
        match field {
            "report_complete" => self.report_complete == "ja",
            "receipts_add_up" => self.receipts_add_up == "ja",
            "costs_plausible" => self.costs_plausible == "ja",
            "procurement_declared" => self.procurement_declared == "ja",
            _ => self.reuse_described == "ja",
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct MessageForm {
    message: String,
}

const NOTE_MAX: usize = 5000;

#[derive(Template, WebTemplate)]
#[template(path = "proofs/case.html")]
struct CasePage {
    page: PageContext,
    id: i64,
    application_id: i64,
    reference: String,
    title: String,
    municipality: String,
    status: ProofStatus,
    submitted_at: String,
    due: String,
    report: ReportForm,
    fields: &'static [(&'static str, &'static str, &'static str)],
    numbers: NumericalView,
    receipts: Vec<ReceiptLine>,
    total: String,
    delete: String,
    financing: FinancingForm,
    attachments: Vec<(i64, String)>,
    financing_type: &'static str,
    preview: Option<SettlementView>,
    settlement: Option<SettlementView>,
    checklist: &'static [(&'static str, &'static str)],
    can_request: bool,
    can_propose: bool,
    can_settle: bool,
    own_proposal: bool,
    form: SettlementForm,
    message: MessageForm,
    timeline: Vec<super::views::EventView>,
    errors: FormErrors,
}

/// The settlement as it would come out now (no disallowed costs), for the proposal form.
async fn preview(
    conn: &mut sqlx::PgConnection,
    c: &Case,
    disallowed: Cents,
) -> Result<Settlement, AppError> {
    let paid = db::paid_payouts(conn, c.proof.application_id).await?;
    let (rates, margin) = crate::programmes::db::interest_rules(conn).await?;
    Ok(Settlement::new(&SettlementInput {
        basis: c.terms.basis(),
        actual_eligible: c.numbers().actual_eligible,
        disallowed,
        other_funds: c.proof.other_funds(),
        paid: &paid,
        interest_until: locale::today(),
        base_rates: &rates,
        margin_bp: margin,
    }))
}

async fn case_page(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    user: &CurrentUser,
    c: Case,
    errors: FormErrors,
    forms: (SettlementForm, MessageForm),
) -> Result<CasePage, AppError> {
    let settlement = db::settlement(conn, c.proof.id).await?;
    let settlement_view = match &settlement {
        Some(s) => Some(SettlementView::new(
            s,
            &db::settlement_interest(conn, s.id).await?,
        )),
        None => None,
    };
    let open = settlement
        .as_ref()
        .is_some_and(|s| s.state == DecisionState::Proposed);
    let submitted = c.proof.status == ProofStatus::Submitted;
    let preview = if submitted && !open {
        let s = preview(conn, &c, Cents::ZERO).await?;
        Some(preview_view(&c, &s))
    } else {
        None
    };
    let own_proposal = open
        && settlement
            .as_ref()
            .is_some_and(|s| s.proposed_by == user.id);
    let (receipts, total) = receipt_lines(&c.receipts);
    let months = super::routes::proof_due_months(conn, c.terms.round_id).await?;
    let attachments = db::attachments(conn, c.proof.id)
        .await?
        .into_iter()
        .map(|f| (f.id, f.file_name))
        .collect();
    let events = db::events(conn, c.proof.id).await?;
    Ok(CasePage {
        page,
        id: c.proof.id,
        application_id: c.proof.application_id,
        reference: c.terms.reference.clone(),
        title: c.row.display_title(),
        municipality: c.terms.municipality_name.clone(),
        status: c.proof.status,
        submitted_at: c.proof.submitted_at.map(locale::date).unwrap_or_default(),
        due: locale::day(due_on(c.terms.period_end, months)),
        report: ReportForm::of(&c.proof),
        fields: &REPORT_FIELDS,
        numbers: NumericalView::new(&c.numbers()),
        receipts,
        total,
        delete: String::new(),
        financing: FinancingForm::of(&c.proof),
        attachments,
        financing_type: c.terms.financing_type.label(),
        preview,
        settlement: settlement_view,
        checklist: &CHECKLIST,
        can_request: submitted && !open,
        can_propose: submitted && !open,
        can_settle: open && !own_proposal,
        own_proposal,
        form: forms.0,
        message: forms.1,
        timeline: timeline(&events, true),
        errors,
    })
}

/// A settlement as the proposal form previews it (not stored).
fn preview_view(c: &Case, s: &Settlement) -> SettlementView {
    let row = db::SettlementRow {
        id: 0,
        state: DecisionState::Proposed,
        checklist: vec![false; 5],
        note: String::new(),
        planned_eligible_cents: c.terms.eligible_cents,
        actual_eligible_cents: c.numbers().actual_eligible.get(),
        disallowed_cents: 0,
        granted_cents: c.terms.granted_cents,
        final_grant_cents: s.final_grant.get(),
        paid_cents: s.paid.get(),
        balance_cents: s.balance.get(),
        interest_cents: s.interest_total().get(),
        interest_until: Some(locale::today()),
        repayment_due_on: Some(repayment_due()),
        proposed_by: 0,
        proposed_by_name: String::new(),
        proposed_at: time::OffsetDateTime::now_utc(),
        settled_by_name: None,
        settled_at: None,
        settle_note: String::new(),
        has_notice: false,
    };
    SettlementView::new(&row, &s.interest)
}

/// A repayment is due a month after the notice.
fn repayment_due() -> time::Date {
    due_on(locale::today(), 1)
}

async fn case(
    State(app): State<AppState>,
    mut page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let c = case_of(&mut conn, &user, id, false).await?;
    let errors = page.take_refusal();
    Ok(
        case_page(&mut conn, page, &user, c, errors, Default::default())
            .await?
            .into_response(),
    )
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
    forms: (SettlementForm, MessageForm),
) -> Result<Response, AppError> {
    if status == StatusCode::CONFLICT {
        let case = format!("/pruefung/verwendungsnachweise/{id}");
        return Ok(redirect_refused(&app.cookies, &case, &errors));
    }
    let mut conn = app.db.acquire().await?;
    let c = case_of(&mut conn, user, id, false).await?;
    let page = case_page(&mut conn, page, user, c, errors, forms).await?;
    Ok((status, page).into_response())
}

async fn request_changes(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<MessageForm>,
) -> Result<Response, AppError> {
    let message = crate::validation::clean_text(&form.message, NOTE_MAX + 1);
    let mut errors = FormErrors::default();
    if message.trim().is_empty() {
        errors.add(
            "message",
            "Bitte schreiben Sie, was die Kommune ergänzen soll.",
        );
    } else if message.chars().count() > NOTE_MAX {
        errors.add("message", format!("Höchstens {NOTE_MAX} Zeichen."));
    }
    let mut tx = app.db.begin().await?;
    let c = case_of(&mut tx, &user, id, true).await?;
    let open = db::settlement(&mut tx, c.proof.id)
        .await?
        .is_some_and(|s| s.state == DecisionState::Proposed);
    if open {
        errors.add("message", "Zu diesem Verwendungsnachweis ist eine Abrechnung vorgeschlagen; geben Sie sie zuerst zurück.");
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return refused(
            &app,
            page,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            (SettlementForm::default(), form),
        )
        .await;
    }
    match workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &c.proof,
        &c.about(),
        (user.id, false),
        ProofTransition::RequestChanges,
        &message,
    )
    .await
    {
        Ok(_) => {}
        Err(workflow::TransitionError::NotAllowed { .. }) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("message", "Ergänzungen können nur zu einem eingereichten Verwendungsnachweis angefordert werden.");
            return refused(
                &app,
                page,
                &user,
                id,
                StatusCode::CONFLICT,
                errors,
                (SettlementForm::default(), form),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "proof.changes_requested",
        Subject::Application(c.proof.application_id),
        json!({ "proof_id": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/verwendungsnachweise/{id}"),
        "Die Nachforderung ist an die Kommune gegangen.",
    ))
}

async fn propose(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<SettlementForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    for (field, label) in CHECKLIST {
        if !form.ticked(field) {
            errors.add(field, format!("Bitte prüfen und bestätigen Sie: {label}."));
        }
    }
    let disallowed = match form.disallowed.parse::<Cents>() {
        Ok(c) => c,
        Err(crate::money::MoneyError::Empty) => Cents::ZERO,
        Err(e) => {
            errors.add("disallowed", format!("Nicht anerkannte Ausgaben: {e}"));
            Cents::ZERO
        }
    };
    let note = crate::validation::clean_text(&form.note, NOTE_MAX + 1);
    if disallowed > Cents::ZERO && note.trim().is_empty() {
        errors.add("note", "Bitte begründen Sie, warum Ausgaben nicht anerkannt werden; die Begründung steht im Schlussbescheid.");
    } else if note.chars().count() > NOTE_MAX {
        errors.add("note", format!("Höchstens {NOTE_MAX} Zeichen."));
    }
    let mut tx = app.db.begin().await?;
    let c = case_of(&mut tx, &user, id, true).await?;
    let actual = c.numbers().actual_eligible;
    if disallowed > actual {
        errors.add("disallowed", format!("Es können höchstens die abgerechneten zuwendungsfähigen Ausgaben von {actual} abgezogen werden."));
    }
    if c.proof.status != ProofStatus::Submitted
        || db::settlement(&mut tx, c.proof.id)
            .await?
            .is_some_and(|s| s.state != DecisionState::SentBack)
    {
        errors.add("report_complete", "Abgerechnet werden kann nur ein eingereichter Verwendungsnachweis ohne offenen Vorschlag.");
    }
    if db::payouts_in_flight(&mut tx, c.proof.application_id).await? > 0 {
        errors.add("report_complete", "Zu dieser Zuwendung sind Mittelabrufe noch nicht ausgezahlt. Schließen Sie sie zuerst ab (auszahlen oder zurückgeben).");
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return refused(
            &app,
            page,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            (form, MessageForm::default()),
        )
        .await;
    }
    let settlement = preview(&mut tx, &c, disallowed).await?;
    let repayment_due_on = (settlement.balance < Cents::ZERO).then(repayment_due);
    let settlement_id = db::propose_settlement(
        &mut tx,
        &db::NewSettlement {
            proof_id: c.proof.id,
            checklist: [true; 5],
            note: &note,
            planned_eligible: Cents::new(c.terms.eligible_cents),
            settlement: &settlement,
            actual_eligible: actual,
            disallowed,
            granted: Cents::new(c.terms.granted_cents),
            interest_until: locale::today(),
            repayment_due_on,
            proposed_by: user.id,
        },
    )
    .await?;
    db::insert_event(&mut tx, c.proof.id, "settlement_proposed", user.id, "").await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "proof.settlement_proposed",
        Subject::Application(c.proof.application_id),
        json!({ "settlement_id": settlement_id, "final_grant_cents": settlement.final_grant.get(),
                "balance_cents": settlement.balance.get(), "interest_cents": settlement.interest_total().get() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/verwendungsnachweise/{id}"),
        "Die Abrechnung ist vorgeschlagen. Eine zweite Person muss sie bestätigen.",
    ))
}

async fn confirm(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let c = case_of(&mut tx, &user, id, true).await?;
    let open = db::settlement(&mut tx, c.proof.id)
        .await?
        .filter(|s| s.state == DecisionState::Proposed);
    let paid_now: i64 = db::paid_payouts(&mut tx, c.proof.application_id)
        .await?
        .iter()
        .map(|p| p.amount.get())
        .sum();
    let sender = crate::programmes::db::legal_texts(&mut tx)
        .await?
        .for_notice();
    let refusal = match (&open, &sender) {
        (None, _) => {
            Some("Zu diesem Verwendungsnachweis liegt keine vorgeschlagene Abrechnung vor.".into())
        }
        (Some(s), _) if s.proposed_by == user.id => Some(
            "Vier-Augen-Prinzip: Ihren eigenen Vorschlag muss eine andere Person bestätigen oder zurückgeben.".into(),
        ),
        (Some(s), _) if s.paid_cents != paid_now => Some(
            "Seit dem Vorschlag hat sich der ausgezahlte Betrag geändert. Geben Sie den Vorschlag zurück, damit er neu berechnet wird.".into(),
        ),
        (Some(_), Err(missing)) => Some(missing.clone()),
        (Some(_), Ok(_)) => None,
    };
    let (Some(s), Ok(sender)) = (open.filter(|_| refusal.is_none()), sender) else {
        tx.rollback().await?;
        let mut errors = FormErrors::default();
        errors.add("abrechnung", refusal.unwrap_or_default());
        return refused(
            &app,
            page,
            &user,
            id,
            StatusCode::CONFLICT,
            errors,
            Default::default(),
        )
        .await;
    };
    let interest = db::settlement_interest(&mut tx, s.id).await?;
    let view = SettlementView::new(&s, &interest);
    let grant = crate::payouts::db::grant(&mut tx, c.proof.application_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let letter = final_notice_of(&c, view, &grant, &user.name, sender);
    let pdf = tokio::task::spawn_blocking(move || notice::render(&letter))
        .await
        .map_err(anyhow::Error::from)??;
    let notice_id = documents::keep(&mut tx, &app.files, &pdf).await?;
    if !db::settle_settlement(
        &mut tx,
        s.id,
        DecisionState::Confirmed,
        user.id,
        "",
        Some(notice_id),
    )
    .await?
    {
        return Err(AppError::Conflict("the settlement moved on".into()));
    }
    close_grant(&mut tx, &app, &c, &s, &grant, &user).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "proof.settled",
        Subject::Application(c.proof.application_id),
        json!({ "settlement_id": s.id, "final_grant_cents": s.final_grant_cents,
                "balance_cents": s.balance_cents, "interest_cents": s.interest_cents }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/verwendungsnachweise/{id}"),
        "Die Abrechnung ist bestätigt; der Schlussbescheid ist erstellt und die Kommune benachrichtigt.",
    ))
}

/// After the confirmation: the final payment ordered (if any is due), the proof settled and
/// the grant closed.
async fn close_grant(
    conn: &mut sqlx::PgConnection,
    app: &AppState,
    c: &Case,
    s: &db::SettlementRow,
    grant: &crate::payouts::db::GrantRow,
    user: &CurrentUser,
) -> Result<(), AppError> {
    if s.balance_cents > 0 {
        let payout = crate::payouts::workflow::order_final_payment(
            conn,
            &app.outbox,
            &app.config.base_url,
            grant,
            (s.proposed_by, user.id),
            Cents::new(s.balance_cents),
            s.id,
        )
        .await?;
        db::link_final_payout(conn, s.id, payout).await?;
    }
    workflow::apply(
        conn,
        &app.outbox,
        &app.config.base_url,
        &c.proof,
        &c.about(),
        (user.id, false),
        ProofTransition::Settle,
        "",
    )
    .await?;
    crate::applications::workflow::apply(
        conn,
        &app.outbox,
        &app.config.base_url,
        &c.row,
        crate::review::access::reviewer(user),
        Transition::Settle,
        &crate::applications::workflow::Input::default(),
    )
    .await?;
    Ok(())
}

fn final_notice_of(
    c: &Case,
    settlement: SettlementView,
    grant: &crate::payouts::db::GrantRow,
    signed_by: &str,
    sender: crate::letters::Sender,
) -> FinalNotice {
    let t = &c.terms;
    let addressee = crate::letters::address(
        &t.municipality_name,
        t.street.as_deref(),
        t.postal_code.as_deref(),
        t.city.as_deref(),
    );
    FinalNotice {
        reference: t.reference.clone(),
        date: locale::day(locale::today()),
        addressee,
        sender,
        title: c.row.display_title(),
        submitted: c.proof.submitted_at.map(locale::date).unwrap_or_default(),
        awarded: locale::date(t.awarded_at),
        financing_rule: format!("{}: {}", t.financing_type.label(), t.financing_type.rule()),
        settlement,
        account: format!(
            "{}, {}",
            grant.account_holder,
            crate::payouts::views::iban(&grant.iban)
        ),
        signed_by: signed_by.to_string(),
    }
}

async fn send_back(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<MessageForm>,
) -> Result<Response, AppError> {
    let reason = crate::validation::clean_text(&form.message, NOTE_MAX + 1);
    let mut tx = app.db.begin().await?;
    let c = case_of(&mut tx, &user, id, true).await?;
    let open = db::settlement(&mut tx, c.proof.id)
        .await?
        .filter(|s| s.state == DecisionState::Proposed);
    let mut errors = FormErrors::default();
    match &open {
        None => errors.add("message", "Es liegt keine vorgeschlagene Abrechnung vor."),
        Some(s) if s.proposed_by == user.id => errors.add(
            "message",
            "Vier-Augen-Prinzip: Ihren eigenen Vorschlag gibt eine andere Person zurück.",
        ),
        Some(_) if reason.trim().is_empty() => errors.add(
            "message",
            "Bitte schreiben Sie, warum Sie die Abrechnung zurückgeben.",
        ),
        Some(_) => {}
    }
    let Some(s) = open.filter(|_| errors.is_empty()) else {
        tx.rollback().await?;
        return refused(
            &app,
            page,
            &user,
            id,
            StatusCode::CONFLICT,
            errors,
            (SettlementForm::default(), form),
        )
        .await;
    };
    db::settle_settlement(
        &mut tx,
        s.id,
        DecisionState::SentBack,
        user.id,
        &reason,
        None,
    )
    .await?;
    db::insert_event(
        &mut tx,
        c.proof.id,
        "settlement_sent_back",
        user.id,
        &reason,
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "proof.settlement_sent_back",
        Subject::Application(c.proof.application_id),
        json!({ "settlement_id": s.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/verwendungsnachweise/{id}"),
        "Der Vorschlag ist zurückgegeben; die Abrechnung kann neu vorgeschlagen werden.",
    ))
}

async fn attachment(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, file)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let c = case_of(&mut conn, &user, id, false).await?;
    super::routes::attachment_download(&app, &mut conn, c.proof.id, file).await
}

async fn final_notice(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let c = case_of(&mut conn, &user, id, false).await?;
    let notice = db::settlement_notice(&mut conn, c.proof.application_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = format!("Schlussbescheid-{}.pdf", c.terms.reference);
    documents::download(&app, &mut conn, notice, "application/pdf", &name).await
}
