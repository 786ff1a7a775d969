//! The municipality's side of change requests: the area "Änderungen" of an approved
//! application, the Änderungsantrag form, a request's page, its withdrawal and its notice.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::access::owned_grant;
use super::db::{self, AmendmentRow, GrantTerms, NewAmendment};
use super::forms::{AmendmentForm, ChangeContext};
use super::model::AmendmentTransition;
use super::views::{AmendmentLine, Comparison, EventView, timeline};
use super::workflow::{self, Acting, Input};
use crate::accounts::CurrentUser;
use crate::applications::access::owned;
use crate::applications::costs::COST_KINDS;
use crate::applications::db::ApplicationRow;
use crate::applications::model::Status;
use crate::applications::views::{CostRowView, Header, cost_row_views};
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::money::{Cents, Rate};
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

/// A settled grant is closed.
const CLOSED: &str = "Die Zuwendung ist abgerechnet; Änderungen sind nicht mehr möglich.";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/antraege/{id}/aenderungen", get(grant_page).post(file))
        .route("/antraege/{id}/aenderungen/neu", get(form_page))
        .route(
            "/antraege/{id}/aenderungen/{amendment}",
            get(amendment_page),
        )
        .route(
            "/antraege/{id}/aenderungen/{amendment}/zurueckziehen",
            post(withdraw),
        )
        .route(
            "/antraege/{id}/aenderungen/{amendment}/bescheid.pdf",
            get(notice),
        )
}

/// A request of this application (404 for another application's).
pub(super) async fn amendment_of(
    conn: &mut sqlx::PgConnection,
    application_id: Option<i64>,
    amendment_id: i64,
    lock: bool,
) -> Result<AmendmentRow, AppError> {
    if lock {
        db::lock(conn, amendment_id).await?;
    }
    db::amendment(conn, amendment_id)
        .await?
        .filter(|a| application_id.is_none_or(|id| a.application_id == id))
        .ok_or(AppError::NotFound)
}

/// The grant's terms as the pages show them.
pub struct TermsView {
    pub period: String,
    pub granted: String,
    pub eligible: String,
    pub financing: &'static str,
    pub allowance: String,
}

impl TermsView {
    pub fn new(t: &GrantTerms) -> Self {
        TermsView {
            period: locale::period(Some(t.period_start), Some(t.period_end)),
            granted: Cents::new(t.granted_cents).to_string(),
            eligible: Cents::new(t.eligible_cents).to_string(),
            financing: t.financing_type.label(),
            allowance: Rate::from_basis_points(t.change_shift_bp).to_string(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "amendments/grant.html")]
struct GrantPage {
    page: PageContext,
    head: Header,
    terms: TermsView,
    amendments: Vec<AmendmentLine>,
    open: bool,
    closed: bool,
}

async fn grant_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let (row, terms) = owned_grant(&mut conn, &user, id, false).await?;
    let amendments: Vec<AmendmentLine> = db::amendments_of(&mut conn, id)
        .await?
        .iter()
        .map(AmendmentLine::new)
        .collect();
    Ok(GrantPage {
        page,
        head: Header::new(&row),
        terms: TermsView::new(&terms),
        open: amendments.iter().any(|a| a.status.is_open()),
        closed: terms.status == Status::Settled,
        amendments,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "amendments/form.html")]
struct FormPage {
    page: PageContext,
    head: Header,
    terms: TermsView,
    form: AmendmentForm,
    rows: Vec<CostRowView>,
    kinds: &'static [(&'static str, &'static str)],
    years_hint: String,
    errors: FormErrors,
}

impl FormPage {
    fn new(
        page: PageContext,
        row: &ApplicationRow,
        terms: &GrantTerms,
        form: AmendmentForm,
        errors: FormErrors,
    ) -> Self {
        let (offered, years_hint) = year_choices(terms, &form);
        let mut rows = cost_row_views(form.rows(), &offered);
        for row in &mut rows {
            row.optional = row.row.description.is_empty();
        }
        FormPage {
            page,
            head: Header::new(row),
            terms: TermsView::new(terms),
            rows,
            form,
            kinds: COST_KINDS,
            years_hint,
            errors,
        }
    }
}

/// The years a changed plan may choose, and the hint on them: those of the period, with the
/// end as typed where it is a date (else as granted), and the years an extension could add,
/// marked as needing it, so an item in a new year can be entered with the extension in one go.
fn year_choices(terms: &GrantTerms, form: &AmendmentForm) -> (Vec<(i32, bool)>, String) {
    let first = terms.period_start.year();
    let end = locale::parse_day(&form.period_end)
        .filter(|d| *d >= terms.period_start)
        .unwrap_or(terms.period_end)
        .year();
    // An extension reaches at most five years beyond the granted end (see the form's check).
    let latest = terms.period_end.year() + 5;
    let offered = (first..=latest.max(end)).map(|y| (y, y > end)).collect();
    let span = crate::applications::costs::PlanYears::for_grant(first, end).span();
    let hint = format!(
        "Kosten können in den Jahren {span} anfallen, dem Bewilligungszeitraum. Ein späteres Jahr ist nur möglich, wenn Sie das Ende des Bewilligungszeitraums oben bis in dieses Jahr verlängern."
    );
    (offered, hint)
}

async fn form_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let (row, terms) = owned_grant(&mut conn, &user, id, false).await?;
    if terms.status == Status::Settled {
        return Ok(redirect_with_flash(
            &app.cookies,
            &format!("/antraege/{id}/aenderungen"),
            CLOSED,
        ));
    }
    if db::has_open(&mut conn, id).await? {
        return Ok(redirect_with_flash(
            &app.cookies,
            &format!("/antraege/{id}/aenderungen"),
            "Über Ihren letzten Änderungsantrag ist noch nicht entschieden. Ziehen Sie ihn zurück, wenn Sie ihn ersetzen möchten.",
        ));
    }
    let (before, _) = db::plan_in_force(&mut conn, &row).await?;
    let form = AmendmentForm::prefilled(&before, terms.period_end);
    Ok(FormPage::new(page, &row, &terms, form, FormErrors::default()).into_response())
}

async fn file(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<AmendmentForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    // The grant stays locked until the commit, like for payouts: two changes filed at once
    // are checked one after the other.
    let (row, terms) = owned_grant(&mut tx, &user, id, true).await?;
    let key = form.submission_key();
    if let Some(filed) = db::filed_with(&mut tx, id, &key).await? {
        tx.rollback().await?;
        return Ok(redirect_with_flash(
            &app.cookies,
            &format!("/antraege/{id}/aenderungen/{filed}"),
            "Dieser Änderungsantrag ist bereits eingereicht.",
        ));
    }
    let refusal = if terms.status == Status::Settled {
        Some(CLOSED)
    } else if db::has_open(&mut tx, id).await? {
        Some(
            "Über Ihren letzten Änderungsantrag ist noch nicht entschieden. Ziehen Sie ihn zurück, wenn Sie ihn ersetzen möchten.",
        )
    } else {
        None
    };
    if let Some(refusal) = refusal {
        tx.rollback().await?;
        let mut errors = FormErrors::default();
        errors.add("period_end", refusal);
        let page = FormPage::new(page, &row, &terms, form, errors);
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let (before, other_funds) = db::plan_in_force(&mut tx, &row).await?;
    let ctx = ChangeContext {
        before: &before,
        period_start: terms.period_start,
        period_end: terms.period_end,
        today: locale::today(),
        allowance: Rate::from_basis_points(terms.change_shift_bp),
        basis: terms.basis(),
        other_funds,
        committed_payouts: Cents::new(terms.committed_payouts_cents),
    };
    let valid = match form.validate(&ctx) {
        Ok(v) => v,
        Err(errors) => {
            tx.rollback().await?;
            let page = FormPage::new(page, &row, &terms, form, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let new = NewAmendment {
        application_id: id,
        status: super::model::AmendmentStatus::Submitted,
        reason: &valid.reason,
        terms: &terms,
        new_period_end: valid.period_end,
        new_granted: valid.granted,
        new_eligible: valid.eligible,
        needs_decision: &valid.needs_decision,
        before: &before,
        after: &valid.after,
        submitted_by: user.id,
        submission_key: &key,
    };
    let (amendment_id, _) = workflow::file(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        Acting::applicant(&user),
        &new,
    )
    .await?;
    let notified = valid.needs_decision.is_empty();
    audit::record(
        &mut tx,
        user.actor(&client),
        if notified {
            "amendment.notified"
        } else {
            "amendment.submitted"
        },
        Subject::Amendment(amendment_id),
        json!({ "application_id": id, "period_end": valid.period_end.to_string(),
                "granted_cents": valid.granted.get() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{id}/aenderungen/{amendment_id}"),
        if notified {
            "Ihre Änderung bleibt im Spielraum des Förderaufrufs: Sie ist mitgeteilt und gilt ab sofort."
        } else {
            "Ihr Änderungsantrag ist eingereicht. Das Ministerium entscheidet darüber mit einem Bescheid; Sie erhalten eine E-Mail."
        },
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "amendments/amendment.html")]
struct AmendmentPage {
    page: PageContext,
    head: Header,
    amendment: AmendmentLine,
    plan: Comparison,
    timeline: Vec<EventView>,
    notice_href: String,
}

async fn amendment_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path((id, amendment_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = owned(&mut conn, &user, id, false).await?;
    let amendment = amendment_of(&mut conn, Some(id), amendment_id, false).await?;
    let plan = Comparison::new(
        &db::plan(&mut conn, amendment_id, false).await?,
        &db::plan(&mut conn, amendment_id, true).await?,
    );
    let events = db::events(&mut conn, amendment_id).await?;
    Ok(AmendmentPage {
        page,
        head: Header::new(&row),
        amendment: AmendmentLine::new(&amendment),
        plan,
        timeline: timeline(&events, false),
        notice_href: format!("/antraege/{id}/aenderungen/{amendment_id}/bescheid.pdf"),
    }
    .into_response())
}

async fn withdraw(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path((id, amendment_id)): Path<(i64, i64)>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    owned_grant(&mut tx, &user, id, true).await?;
    let amendment = amendment_of(&mut tx, Some(id), amendment_id, true).await?;
    let href = format!("/antraege/{id}/aenderungen/{amendment_id}");
    if !amendment.status.is_open() {
        tx.rollback().await?;
        return Ok(redirect_with_flash(
            &app.cookies,
            &href,
            "Über diesen Änderungsantrag ist bereits entschieden; er kann nicht mehr zurückgezogen werden.",
        ));
    }
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &amendment,
        Acting::applicant(&user),
        AmendmentTransition::Withdraw,
        &Input::default(),
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "amendment.withdrawn",
        Subject::Amendment(amendment_id),
        json!({ "application_id": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &href,
        "Der Änderungsantrag ist zurückgezogen. Es gilt der bisherige Bescheid.",
    ))
}

async fn notice(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, amendment_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    owned(&mut conn, &user, id, false).await?;
    let amendment = amendment_of(&mut conn, Some(id), amendment_id, false).await?;
    notice_download(&app, &mut conn, &amendment).await
}

/// The issued notice as a download, named after the case and the request.
pub(super) async fn notice_download(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    amendment: &AmendmentRow,
) -> Result<Response, AppError> {
    let notice = db::notice_id(conn, amendment.id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::applications::documents::download(
        app,
        conn,
        notice,
        "application/pdf",
        &format!(
            "Aenderungsbescheid-{}-{}.pdf",
            amendment.reference, amendment.number
        ),
    )
    .await
}
