//! Payment runs (Zahllauf): ordered payouts collected for a value date into one SEPA credit
//! transfer file for the state cash office; marking the run paid books every payout and tells
//! the municipalities. And the payout ledger (Auszahlungsjournal) as a page and as CSV.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::db::{self, NewRun, PayoutRow, RunRow};
use super::forms::{RunForm, next_bank_day};
use super::model::{PayoutStatus, PayoutTransition};
use super::sepa::{self, Debtor, Transfer};
use super::views::{self, PayoutLine};
use super::workflow::{self, Acting, Input};
use crate::accounts::{CurrentUser, Reviewer};
use crate::applications::documents;
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::programmes::db::{self as programmes_db, DebtorRow};
use crate::spreadsheet::{BOM, csv_lines, decimal};
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, NoFields, PageContext, ProtectedForm, download, redirect_with_flash,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung/zahllaeufe", get(runs_page).post(create_run))
        .route("/pruefung/zahllaeufe/{id}", get(run_page))
        .route("/pruefung/zahllaeufe/{id}/pain001.xml", get(run_file))
        .route("/pruefung/zahllaeufe/{id}/bezahlt", post(mark_paid))
        .route("/pruefung/auszahlungen", get(ledger))
        .route("/pruefung/auszahlungen.csv", get(ledger_csv))
}

/// Ordered payouts waiting for a run, per programme, with the account they will be paid from.
struct Ready {
    programme_id: i64,
    programme: String,
    count: i64,
    total: String,
    /// The debtor account is configured; without it no file can be made.
    has_account: bool,
}

struct RunLine {
    id: i64,
    number: String,
    execution_date: String,
    transfers: i32,
    total: String,
    paid: bool,
}

impl RunLine {
    fn new(r: &RunRow) -> Self {
        RunLine {
            id: r.id,
            number: r.number.clone(),
            execution_date: locale::day(r.execution_date),
            transfers: r.transfers,
            total: Cents::new(r.total_cents).to_string(),
            paid: r.paid_at.is_some(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/runs.html")]
struct RunsPage {
    page: PageContext,
    ready: Vec<Ready>,
    runs: Vec<RunLine>,
    form: RunForm,
    errors: FormErrors,
}

async fn runs_view(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    form: RunForm,
    errors: FormErrors,
) -> Result<RunsPage, AppError> {
    let debtors = programmes_db::debtor_accounts(conn).await?;
    let ready = db::ready_for_run(conn)
        .await?
        .into_iter()
        .map(|r| {
            let debtor = debtors.iter().find(|d| d.programme_id == r.programme_id);
            Ready {
                programme_id: r.programme_id,
                programme: debtor.map(|d| d.programme_name.clone()).unwrap_or_default(),
                count: r.count,
                total: Cents::new(r.total_cents).to_string(),
                has_account: debtor.is_some_and(|d| !d.debtor_iban.is_empty()),
            }
        })
        .collect();
    let runs = db::runs(conn).await?.iter().map(RunLine::new).collect();
    Ok(RunsPage {
        page,
        ready,
        runs,
        form,
        errors,
    })
}

async fn runs_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Reviewer,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let form = RunForm {
        execution_date: next_bank_day(locale::today()).to_string(),
        ..RunForm::default()
    };
    Ok(runs_view(&mut conn, page, form, FormErrors::default())
        .await?
        .into_response())
}

/// The run's transfers: one per payout, the programme and Aktenzeichen in the remittance
/// information and the Aktenzeichen in the end-to-end id, so the bank statement names the grant.
pub fn transfers(programme: &str, payouts: &[PayoutRow]) -> Vec<Transfer> {
    payouts
        .iter()
        .map(|p| Transfer {
            end_to_end_id: format!("{}-MA{}", p.reference, p.number),
            creditor_name: p.account_holder.clone(),
            creditor_iban: p.iban.clone(),
            amount: p.amount(),
            remittance: format!(
                "Zuwendung {programme} {} Mittelabruf {} {}",
                p.reference, p.number, p.title
            ),
        })
        .collect()
}

async fn create_run(
    State(app): State<AppState>,
    page: PageContext,
    user: Reviewer,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<RunForm>,
) -> Result<Response, AppError> {
    let refuse = |field: &str, message: &str| {
        let mut errors = FormErrors::default();
        errors.add(field, message);
        errors
    };
    let (programme_id, execution_date) = match form.validate(locale::today()) {
        Ok(v) => v,
        Err(errors) => return runs_with_errors(&app, page, form, errors).await,
    };
    let mut tx = app.db.begin().await?;
    let debtor: Option<DebtorRow> = programmes_db::debtor_accounts(&mut tx)
        .await?
        .into_iter()
        .find(|d| d.programme_id == programme_id);
    let Some(debtor) = debtor.filter(|d| !d.debtor_iban.is_empty()) else {
        tx.rollback().await?;
        let errors = refuse(
            "programme",
            "Für diese Förderrichtlinie ist kein Auszahlungskonto hinterlegt. Die Administration trägt es unter „Richtlinie“ ein.",
        );
        return runs_with_errors(&app, page, form, errors).await;
    };
    let payouts = db::take_ordered(&mut tx, programme_id).await?;
    if payouts.is_empty() {
        // A second click, or another reviewer was quicker.
        tx.rollback().await?;
        let errors = refuse(
            "programme",
            "Es liegen keine angeordneten Auszahlungen vor, die noch in keinem Zahllauf sind.",
        );
        return runs_with_errors(&app, page, form, errors).await;
    }
    let now = OffsetDateTime::now_utc();
    let number = db::next_run_number(&mut tx, execution_date.year()).await?;
    let run = sepa::Run {
        message_id: number.clone(),
        created_at: now,
        execution_date,
        debtor: Debtor {
            name: debtor.debtor_name.clone(),
            iban: debtor.debtor_iban.clone(),
            bic: Some(debtor.debtor_bic.clone()).filter(|b| !b.is_empty()),
        },
        transfers: transfers(&debtor.programme_name, &payouts),
    };
    let file = sepa::pain_001_001_09(&run);
    let file_id = documents::keep(&mut tx, &app.files, file.as_bytes()).await?;
    let run_id = db::insert_run(
        &mut tx,
        &NewRun {
            programme_id,
            number: &number,
            execution_date,
            transfers: i32::try_from(payouts.len()).unwrap_or(i32::MAX),
            total: run.total(),
            file_id,
            created_by: user.id,
        },
    )
    .await?;
    let input = Input {
        run: Some((run_id, number.clone(), execution_date)),
        ..Input::default()
    };
    for p in &payouts {
        workflow::apply(
            &mut tx,
            &app.outbox,
            &app.config.base_url,
            p,
            Acting::reviewer(&user),
            PayoutTransition::AddToRun,
            &input,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "payment_run.created",
        Subject::PaymentRun(run_id),
        json!({ "number": number, "transfers": payouts.len(), "total_cents": run.total().get() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/zahllaeufe/{run_id}"),
        "Der Zahllauf ist erstellt. Laden Sie die Zahlungsdatei herunter und übergeben Sie sie der Landeshauptkasse.",
    ))
}

async fn runs_with_errors(
    app: &AppState,
    page: PageContext,
    form: RunForm,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let view = runs_view(&mut conn, page, form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/run.html")]
struct RunPage {
    page: PageContext,
    run: RunLine,
    created: String,
    downloads: i32,
    last_download: String,
    paid: String,
    payouts: Vec<PayoutLine>,
    total: String,
}

/// The run, for ministry staff: 404 for unknown ids (whoever asks), then 403 for others.
async fn find_run(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
) -> Result<RunRow, AppError> {
    let run = db::run(conn, id).await?.ok_or(AppError::NotFound)?;
    Reviewer::check(user)?;
    Ok(run)
}

async fn run_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let run = find_run(&mut conn, &user, id).await?;
    let payouts: Vec<PayoutLine> = db::payouts_in_run(&mut conn, id)
        .await?
        .iter()
        .map(PayoutLine::new)
        .collect();
    Ok(RunPage {
        page,
        created: format!(
            "{} von {}",
            locale::date_time(run.created_at),
            run.created_by_name
        ),
        downloads: run.downloads,
        last_download: run
            .last_download_at
            .map(locale::date_time)
            .unwrap_or_default(),
        paid: match (&run.paid_at, &run.paid_by_name) {
            (Some(at), Some(by)) => format!("{} von {by}", locale::date_time(*at)),
            _ => String::new(),
        },
        total: Cents::new(payouts.iter().map(|p| p.amount_cents).sum()).to_string(),
        run: RunLine::new(&run),
        payouts,
    }
    .into_response())
}

/// The file exactly as made when the run was built: a second download is the same file with
/// the same message id (the cash office refuses a message id it has seen), and is counted.
async fn run_file(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    find_run(&mut tx, &user, id).await?;
    let (number, file_id) = db::download_run_file(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "payment_run.downloaded",
        Subject::PaymentRun(id),
        json!({}),
    )
    .await?;
    let name = format!("{number}.pain.001.001.09.xml");
    let file = documents::download(
        &app,
        &mut tx,
        file_id,
        "application/xml; charset=utf-8",
        &name,
    )
    .await?;
    tx.commit().await?;
    Ok(file)
}

async fn mark_paid(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let run = find_run(&mut tx, &user, id).await?;
    let back = format!("/pruefung/zahllaeufe/{id}");
    // The guarded update is the lock: of two clicks, the second finds the run paid.
    if !db::mark_run_paid(&mut tx, id, user.id).await? {
        tx.rollback().await?;
        return Ok(redirect_with_flash(
            &app.cookies,
            &back,
            "Der Zahllauf ist bereits als bezahlt gebucht.",
        ));
    }
    let payouts = db::payouts_in_run(&mut tx, id).await?;
    for p in &payouts {
        workflow::apply(
            &mut tx,
            &app.outbox,
            &app.config.base_url,
            p,
            Acting::reviewer(&user),
            PayoutTransition::MarkPaid,
            &Input {
                run: Some((run.id, run.number.clone(), run.execution_date)),
                ..Input::default()
            },
        )
        .await?;
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "payment_run.paid",
        Subject::PaymentRun(id),
        json!({ "payouts": payouts.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &back,
        "Der Zahllauf ist als bezahlt gebucht; die Kommunen sind benachrichtigt.",
    ))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct LedgerQuery {
    runde: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/ledger.html")]
struct LedgerPage {
    page: PageContext,
    query: LedgerQuery,
    choices: std::sync::Arc<crate::review::choices::Choices>,
    lines: Vec<PayoutLine>,
    total: String,
    paid: String,
    truncated: bool,
}

/// The ledger's rows: every request that counts (on its way or paid), oldest first.
async fn ledger_rows(
    conn: &mut sqlx::PgConnection,
    query: &LedgerQuery,
    limit: i64,
) -> Result<Vec<PayoutRow>, AppError> {
    let round = query.runde.trim().parse::<i64>().ok();
    Ok(db::ledger(conn, round, limit).await?)
}

const LEDGER_PAGE_LIMIT: i64 = 1000;

async fn ledger(
    State(app): State<AppState>,
    page: PageContext,
    _user: Reviewer,
    Query(query): Query<LedgerQuery>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let mut rows = ledger_rows(&mut conn, &query, LEDGER_PAGE_LIMIT + 1).await?;
    let truncated = rows.len() > usize::try_from(LEDGER_PAGE_LIMIT).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(LEDGER_PAGE_LIMIT).unwrap_or(usize::MAX));
    let lines: Vec<PayoutLine> = rows.iter().map(PayoutLine::new).collect();
    let paid = lines
        .iter()
        .filter(|l| l.status == PayoutStatus::Paid)
        .map(|l| l.amount_cents)
        .sum();
    Ok(LedgerPage {
        page,
        choices: app.choices.get(&mut conn).await?,
        total: views::total(&lines),
        paid: Cents::new(paid).to_string(),
        lines,
        truncated,
        query,
    }
    .into_response())
}

const LEDGER_HEADER: [&str; 9] = [
    "Datum",
    "Aktenzeichen",
    "Mittelabruf",
    "Kommune",
    "Förderaufruf",
    "Betrag (EUR)",
    "Zahllauf",
    "Status",
    "Ausgezahlt am",
];

fn ledger_record(p: &PayoutRow) -> [String; 9] {
    [
        locale::date(p.submitted_at),
        p.reference.clone(),
        p.number.to_string(),
        p.municipality_name.clone(),
        p.round_title.clone(),
        decimal(Some(p.amount().get())),
        p.run_number.clone().unwrap_or_default(),
        p.status.label().to_string(),
        p.paid_at.map(locale::date).unwrap_or_default(),
    ]
}

async fn ledger_csv(
    State(app): State<AppState>,
    _user: Reviewer,
    Query(query): Query<LedgerQuery>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let rows = ledger_rows(&mut conn, &query, i64::MAX).await?;
    let mut body = BOM.as_bytes().to_vec();
    body.extend(csv_lines([LEDGER_HEADER.map(String::from)]));
    body.extend(csv_lines(rows.iter().map(ledger_record)));
    let name = format!(
        "auszahlungen-{}.csv",
        locale::date(OffsetDateTime::now_utc())
    );
    Ok(download("text/csv; charset=utf-8", &name, body))
}
