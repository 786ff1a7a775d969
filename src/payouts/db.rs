//! SQL for payouts: the grant's balance, payout requests with their payments and timeline, the
//! ministry's queue and the payment runs. Only `workflow` writes `payout_requests.status`.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::model::PayoutStatus;
use crate::applications::model::{Section, Status};
use crate::money::{Cents, Rate};

/// An approved application as the payout pages need it.
#[derive(Clone, Debug)]
pub struct GrantRow {
    pub application_id: i64,
    pub reference: String,
    pub title: String,
    pub municipality_id: i64,
    pub municipality_name: String,
    pub round_id: i64,
    pub round_title: String,
    pub programme_id: i64,
    pub granted_cents: i64,
    pub paid_cents: i64,
    pub pending_cents: i64,
    pub retained_bp: i32,
    pub payout_window_months: i32,
    /// The bank account given in the application.
    pub account_holder: String,
    pub iban: String,
    /// Settled after its proof of use: closed for new requests.
    pub settled: bool,
}

impl GrantRow {
    pub fn balance(&self) -> super::model::Balance {
        super::model::Balance::new(
            Cents::new(self.granted_cents),
            Cents::new(self.paid_cents),
            Cents::new(self.pending_cents),
            Rate::from_basis_points(self.retained_bp),
        )
    }
}

/// Locks the grant (its application row) for the transaction: requests on one grant are made
/// one at a time, and every payout step locks the grant before the request.
pub async fn lock_grant(conn: &mut PgConnection, application_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT id FROM applications WHERE id = $1 FOR UPDATE",
        application_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(())
}

/// The grant of an approved application; `None` for any other application. With `lock`, the
/// grant is locked first ([`lock_grant`]).
pub async fn grant(
    conn: &mut PgConnection,
    application_id: i64,
    lock: bool,
) -> sqlx::Result<Option<GrantRow>> {
    if lock {
        lock_grant(conn, application_id).await?;
    }
    sqlx::query_as!(
        GrantRow,
        r#"SELECT a.id AS application_id, a.reference AS "reference!", a.title,
                  a.municipality_id, m.name AS municipality_name, a.round_id,
                  r.title AS round_title, r.programme_id, a.granted_cents AS "granted_cents!",
                  a.paid_cents, a.payout_pending_cents AS pending_cents, r.retained_bp,
                  r.payout_window_months,
                  coalesce(s.answers->>'account_holder', '') AS "account_holder!",
                  coalesce(s.answers->>'iban', '') AS "iban!", a.status = $4 AS "settled!"
           FROM applications a
           JOIN rounds r ON r.id = a.round_id
           JOIN municipalities m ON m.id = a.municipality_id
           LEFT JOIN application_sections s ON s.application_id = a.id AND s.section = $3
           WHERE a.id = $1 AND (a.status = $2 OR a.status = $4)"#,
        application_id,
        Status::Approved as _,
        Section::Applicant as _,
        Status::Settled as _,
    )
    .fetch_optional(conn)
    .await
}

/// One payout request with the names the pages show.
#[derive(Clone, Debug)]
pub struct PayoutRow {
    pub id: i64,
    pub application_id: i64,
    pub number: i32,
    pub status: PayoutStatus,
    pub requested_cents: i64,
    pub approved_cents: Option<i64>,
    pub approval_note: String,
    pub account_holder: String,
    pub iban: String,
    pub account_reason: String,
    pub submitted_by: i64,
    pub submitted_at: OffsetDateTime,
    pub checked_by: Option<i64>,
    pub checked_by_name: Option<String>,
    pub ordered_by_name: Option<String>,
    pub run_id: Option<i64>,
    pub run_number: Option<String>,
    pub paid_at: Option<OffsetDateTime>,
    pub reference: String,
    pub title: String,
    pub municipality_id: i64,
    pub municipality_name: String,
    pub round_title: String,
}

impl PayoutRow {
    /// What is to be paid: the amount found correct once checked, the requested one before.
    pub fn amount(&self) -> Cents {
        Cents::new(self.approved_cents.unwrap_or(self.requested_cents))
    }
}

/// The columns of [`PayoutRow`]; the caller adds the WHERE and ORDER BY.
macro_rules! payout_row {
    ($($rest:tt)*) => {
        sqlx::query_as!(
            PayoutRow,
            r#"SELECT p.id, p.application_id, p.number, p.status AS "status: PayoutStatus",
                      p.requested_cents, p.approved_cents, p.approval_note, p.account_holder,
                      p.iban, p.account_reason, p.submitted_by, p.submitted_at, p.checked_by,
                      checker.display_name AS "checked_by_name?", orderer.display_name AS "ordered_by_name?",
                      p.run_id, run.number AS "run_number?", p.paid_at,
                      a.reference AS "reference!", a.title, a.municipality_id,
                      m.name AS municipality_name, r.title AS round_title
               FROM payout_requests p
               JOIN applications a ON a.id = p.application_id
               JOIN municipalities m ON m.id = a.municipality_id
               JOIN rounds r ON r.id = a.round_id
               LEFT JOIN users checker ON checker.id = p.checked_by
               LEFT JOIN users orderer ON orderer.id = p.ordered_by
               LEFT JOIN payment_runs run ON run.id = p.run_id "# + $($rest)*
        )
    };
}

pub async fn payout(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<PayoutRow>> {
    payout_row!("WHERE p.id = $1", id)
        .fetch_optional(conn)
        .await
}

/// Every request on a grant, oldest first.
pub async fn payouts_of(
    conn: &mut PgConnection,
    application_id: i64,
) -> sqlx::Result<Vec<PayoutRow>> {
    payout_row!(
        "WHERE p.application_id = $1 ORDER BY p.number",
        application_id
    )
    .fetch_all(conn)
    .await
}

/// The payouts of a run, in the order of the file.
pub async fn payouts_in_run(conn: &mut PgConnection, run_id: i64) -> sqlx::Result<Vec<PayoutRow>> {
    payout_row!("WHERE p.run_id = $1 ORDER BY p.id", run_id)
        .fetch_all(conn)
        .await
}

/// The ministry's queue: filters by status, round and Landkreis; `waiting_for` keeps the
/// requests the user can act on now (to check, or checked by someone else and to order).
#[derive(Clone, Debug, Default)]
pub struct QueueFilter {
    pub statuses: Vec<PayoutStatus>,
    pub round_id: Option<i64>,
    pub district_id: Option<i64>,
    pub waiting_for: Option<i64>,
}

/// At most this many rows are shown; the page says so when there are more.
pub const QUEUE_LIMIT: i64 = 500;

pub async fn queue(conn: &mut PgConnection, f: &QueueFilter) -> sqlx::Result<Vec<PayoutRow>> {
    let statuses: Vec<PayoutStatus> = f.statuses.clone();
    payout_row!(
        "WHERE (cardinality($1::text[]) = 0 OR p.status = ANY($1))
           AND ($2::bigint IS NULL OR a.round_id = $2)
           AND ($3::bigint IS NULL OR a.district_id = $3)
           AND ($4::bigint IS NULL OR p.status = $5
                OR (p.status = $6 AND p.checked_by <> $4))
         ORDER BY p.submitted_at, p.id
         LIMIT $7",
        &statuses as &[PayoutStatus],
        f.round_id,
        f.district_id,
        f.waiting_for,
        PayoutStatus::Submitted as _,
        PayoutStatus::Checked as _,
        QUEUE_LIMIT + 1,
    )
    .fetch_all(conn)
    .await
}

/// The payout ledger: every request that counts against a grant (on its way or paid), oldest
/// first, optionally of one round.
pub async fn ledger(
    conn: &mut PgConnection,
    round_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<PayoutRow>> {
    let counting = [
        PayoutStatus::Submitted,
        PayoutStatus::Checked,
        PayoutStatus::Ordered,
        PayoutStatus::InRun,
        PayoutStatus::Paid,
    ];
    payout_row!(
        "WHERE p.status = ANY($1) AND ($2::bigint IS NULL OR a.round_id = $2)
         ORDER BY p.submitted_at, p.id LIMIT $3",
        &counting as &[PayoutStatus],
        round_id,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Locks a request for the rest of the transaction (after its grant, always in that order).
pub async fn lock_payout(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<PayoutRow>> {
    sqlx::query!(
        "SELECT id FROM payout_requests WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    payout(conn, id).await
}

/// The request filed with this form key, if the form was sent before.
pub async fn filed_with(
    conn: &mut PgConnection,
    application_id: i64,
    key: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM payout_requests WHERE application_id = $1 AND submission_key = $2",
        application_id,
        key
    )
    .fetch_optional(conn)
    .await
}

/// The application a request belongs to, to lock its grant first.
pub async fn application_of(conn: &mut PgConnection, payout_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT application_id FROM payout_requests WHERE id = $1",
        payout_id
    )
    .fetch_optional(conn)
    .await
}

/// A payment the request is needed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub purpose: String,
    pub payee: String,
    pub due_on: Date,
    pub amount: Cents,
}

pub struct NewPayout<'a> {
    pub application_id: i64,
    pub requested: Cents,
    pub account_holder: &'a str,
    pub iban: &'a str,
    pub account_reason: &'a str,
    pub submitted_by: i64,
    pub submission_key: &'a str,
    pub items: &'a [Item],
}

/// Inserts a submitted request with its payments; the trigger books it as pending on the
/// grant (and the grant's CHECK refuses it if it does not fit). Returns id and number.
pub async fn insert_payout(conn: &mut PgConnection, p: &NewPayout<'_>) -> sqlx::Result<(i64, i32)> {
    let row = sqlx::query!(
        "INSERT INTO payout_requests (application_id, number, status, requested_cents,
                                      account_holder, iban, account_reason, submitted_by, submission_key)
         VALUES ($1, (SELECT coalesce(max(number), 0) + 1 FROM payout_requests WHERE application_id = $1),
                 $2, $3, $4, $5, $6, $7, $8)
         RETURNING id, number",
        p.application_id,
        PayoutStatus::Submitted as _,
        p.requested.get(),
        p.account_holder,
        p.iban,
        p.account_reason,
        p.submitted_by,
        p.submission_key,
    )
    .fetch_one(&mut *conn)
    .await?;
    let purposes: Vec<&str> = p.items.iter().map(|i| i.purpose.as_str()).collect();
    let payees: Vec<&str> = p.items.iter().map(|i| i.payee.as_str()).collect();
    let due: Vec<Date> = p.items.iter().map(|i| i.due_on).collect();
    let amounts: Vec<i64> = p.items.iter().map(|i| i.amount.get()).collect();
    sqlx::query!(
        "INSERT INTO payout_items (payout_id, position, purpose, payee, due_on, amount_cents)
         SELECT $1, ord, purpose, payee, due_on, amount
         FROM unnest($2::text[], $3::text[], $4::date[], $5::bigint[])
              WITH ORDINALITY AS i(purpose, payee, due_on, amount, ord)",
        row.id,
        &purposes as &[&str],
        &payees as &[&str],
        &due,
        &amounts,
    )
    .execute(conn)
    .await?;
    Ok((row.id, row.number))
}

pub async fn items(conn: &mut PgConnection, payout_id: i64) -> sqlx::Result<Vec<Item>> {
    let rows = sqlx::query!(
        "SELECT purpose, payee, due_on, amount_cents FROM payout_items
         WHERE payout_id = $1 ORDER BY position",
        payout_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Item {
            purpose: r.purpose,
            payee: r.payee,
            due_on: r.due_on,
            amount: Cents::new(r.amount_cents),
        })
        .collect())
}

/// A receipt of a request.
#[derive(Clone, Debug)]
pub struct ReceiptRow {
    pub id: i64,
    pub file_name: String,
    pub storage_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: OffsetDateTime,
}

pub async fn receipts(conn: &mut PgConnection, payout_id: i64) -> sqlx::Result<Vec<ReceiptRow>> {
    sqlx::query_as!(
        ReceiptRow,
        "SELECT id, file_name, storage_key, content_type, size_bytes, uploaded_at
         FROM payout_attachments WHERE payout_id = $1 ORDER BY uploaded_at, id",
        payout_id
    )
    .fetch_all(conn)
    .await
}

pub struct NewReceipt<'a> {
    pub payout_id: i64,
    pub file_name: &'a str,
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a [u8],
    pub uploaded_by: i64,
}

pub async fn insert_receipt(conn: &mut PgConnection, r: &NewReceipt<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO payout_attachments (payout_id, file_name, storage_key, content_type, size_bytes, sha256, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        r.payout_id,
        r.file_name,
        r.storage_key,
        r.content_type,
        r.size_bytes,
        r.sha256,
        r.uploaded_by,
    )
    .fetch_one(conn)
    .await
}

/// What a transition changes besides the status.
#[derive(Clone, Copy, Debug, Default)]
pub struct Change<'a> {
    pub checked: Option<(i64, Cents, &'a str)>,
    pub ordered_by: Option<i64>,
    pub run_id: Option<i64>,
    pub paid: bool,
}

/// Sets the status (and what comes with it) if the request is still in `from`: a request that
/// moved on meanwhile is left alone (`false`).
pub async fn set_status(
    conn: &mut PgConnection,
    id: i64,
    from: PayoutStatus,
    to: PayoutStatus,
    change: Change<'_>,
) -> sqlx::Result<bool> {
    let (checked_by, approved, note) = match change.checked {
        Some((by, amount, note)) => (Some(by), Some(amount.get()), Some(note)),
        None => (None, None, None),
    };
    let done = sqlx::query!(
        "UPDATE payout_requests
         SET status = $3,
             checked_by = coalesce($4, checked_by),
             checked_at = CASE WHEN $4::bigint IS NULL THEN checked_at ELSE now() END,
             approved_cents = coalesce($5, approved_cents),
             approval_note = coalesce($6, approval_note),
             ordered_by = coalesce($7, ordered_by),
             ordered_at = CASE WHEN $7::bigint IS NULL THEN ordered_at ELSE now() END,
             run_id = coalesce($8, run_id),
             paid_at = CASE WHEN $9 THEN now() ELSE paid_at END
         WHERE id = $1 AND status = $2",
        id,
        from as _,
        to as _,
        checked_by,
        approved,
        note,
        change.ordered_by,
        change.run_id,
        change.paid,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_event(
    conn: &mut PgConnection,
    payout_id: i64,
    kind: &str,
    actor_id: Option<i64>,
    message: &str,
    change: (PayoutStatus, PayoutStatus),
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO payout_events (payout_id, kind, actor_id, message, from_status, to_status)
         VALUES ($1, $2, $3, $4, $5, $6)",
        payout_id,
        kind,
        actor_id,
        message,
        change.0 as _,
        change.1 as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct EventRow {
    pub kind: String,
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub message: String,
}

pub async fn events(conn: &mut PgConnection, payout_id: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.kind, e.at, u.display_name AS "actor?", e.message
           FROM payout_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.payout_id = $1 ORDER BY e.at, e.id"#,
        payout_id
    )
    .fetch_all(conn)
    .await
}

/// Ordered payouts not yet in a run, per programme: what a new run would collect.
#[derive(Clone, Debug)]
pub struct ReadyRow {
    pub programme_id: i64,
    pub count: i64,
    pub total_cents: i64,
}

pub async fn ready_for_run(conn: &mut PgConnection) -> sqlx::Result<Vec<ReadyRow>> {
    sqlx::query_as!(
        ReadyRow,
        r#"SELECT r.programme_id, count(*) AS "count!", sum(p.approved_cents)::bigint AS "total_cents!"
           FROM payout_requests p
           JOIN applications a ON a.id = p.application_id
           JOIN rounds r ON r.id = a.round_id
           WHERE p.status = $1
           GROUP BY r.programme_id ORDER BY r.programme_id"#,
        PayoutStatus::Ordered as _,
    )
    .fetch_all(conn)
    .await
}

/// Locks and returns the ordered payouts of a programme for a new run, oldest order first.
/// Requests locked by another run being built are skipped, so two runs never share one.
pub async fn take_ordered(
    conn: &mut PgConnection,
    programme_id: i64,
) -> sqlx::Result<Vec<PayoutRow>> {
    let ids: Vec<i64> = sqlx::query_scalar!(
        "SELECT p.id FROM payout_requests p
         JOIN applications a ON a.id = p.application_id
         JOIN rounds r ON r.id = a.round_id
         WHERE p.status = $1 AND r.programme_id = $2
         ORDER BY p.ordered_at, p.id
         FOR UPDATE OF p SKIP LOCKED",
        PayoutStatus::Ordered as _,
        programme_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    payout_row!("WHERE p.id = ANY($1) ORDER BY p.ordered_at, p.id", &ids)
        .fetch_all(conn)
        .await
}

/// The next run number of `year` ("ZL-2027-0001"), gap-free like the Aktenzeichen.
pub async fn next_run_number(conn: &mut PgConnection, year: i32) -> sqlx::Result<String> {
    let last: i32 = sqlx::query_scalar!(
        "INSERT INTO payment_run_counters (year, last) VALUES ($1, 1)
         ON CONFLICT (year) DO UPDATE SET last = payment_run_counters.last + 1
         RETURNING last",
        year
    )
    .fetch_one(conn)
    .await?;
    Ok(format!("ZL-{year}-{last:04}"))
}

pub struct NewRun<'a> {
    pub programme_id: i64,
    pub number: &'a str,
    pub execution_date: Date,
    pub transfers: i32,
    pub total: Cents,
    /// The pain.001 file (a kept document).
    pub file_id: i64,
    pub created_by: i64,
}

pub async fn insert_run(conn: &mut PgConnection, r: &NewRun<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO payment_runs (programme_id, number, execution_date, transfers, total_cents, file_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        r.programme_id,
        r.number,
        r.execution_date,
        r.transfers,
        r.total.get(),
        r.file_id,
        r.created_by,
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct RunRow {
    pub id: i64,
    pub programme_id: i64,
    pub number: String,
    pub execution_date: Date,
    pub transfers: i32,
    pub total_cents: i64,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
    pub downloads: i32,
    pub last_download_at: Option<OffsetDateTime>,
    pub paid_by_name: Option<String>,
    pub paid_at: Option<OffsetDateTime>,
}

macro_rules! run_row {
    ($($rest:tt)*) => {
        sqlx::query_as!(
            RunRow,
            r#"SELECT z.id, z.programme_id, z.number, z.execution_date, z.transfers, z.total_cents,
                      c.display_name AS created_by_name, z.created_at, z.downloads, z.last_download_at,
                      p.display_name AS "paid_by_name?", z.paid_at
               FROM payment_runs z
               JOIN users c ON c.id = z.created_by
               LEFT JOIN users p ON p.id = z.paid_by "# + $($rest)*
        )
    };
}

pub async fn runs(conn: &mut PgConnection) -> sqlx::Result<Vec<RunRow>> {
    run_row!("ORDER BY z.created_at DESC, z.id DESC LIMIT 200")
        .fetch_all(conn)
        .await
}

pub async fn run(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RunRow>> {
    run_row!("WHERE z.id = $1", id).fetch_optional(conn).await
}

/// The run's number and file (a kept document), counting the download.
pub async fn download_run_file(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(String, i64)>> {
    let row = sqlx::query!(
        "UPDATE payment_runs SET downloads = downloads + 1, last_download_at = now()
         WHERE id = $1 RETURNING number, file_id",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.number, r.file_id)))
}

/// Books a paid amount against the grant's commitments per Haushaltsjahr: the year of the
/// payment first, then earlier years (money carried over), then later ones. A grant without
/// commitments (approved before budget years existed) books nothing here.
pub async fn book_paid_into_years(
    conn: &mut PgConnection,
    application_id: i64,
    amount: Cents,
    year: i32,
) -> sqlx::Result<()> {
    let open = sqlx::query!(
        "SELECT round_id, year, committed_cents - paid_cents AS \"open!\" FROM grant_years
         WHERE application_id = $1 AND committed_cents > paid_cents
         ORDER BY year = $2 DESC, year < $2 DESC, abs(year - $2)
         FOR UPDATE",
        application_id,
        year,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut left = amount.get();
    for row in open {
        if left == 0 {
            break;
        }
        let part = left.min(row.open);
        left -= part;
        sqlx::query!(
            "WITH g AS (UPDATE grant_years SET paid_cents = paid_cents + $3
                        WHERE application_id = $1 AND year = $2 RETURNING round_id, year)
             UPDATE round_budget_years y SET paid_cents = y.paid_cents + $3
             FROM g WHERE y.round_id = g.round_id AND y.year = g.year",
            application_id,
            row.year,
            part,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Marks the run paid, once: `false` when it already was (a second click, a parallel request).
/// The grants of its payouts are locked first, in id order, as every other payout step locks
/// the grant before the request.
pub async fn mark_run_paid(conn: &mut PgConnection, id: i64, by: i64) -> sqlx::Result<bool> {
    sqlx::query!(
        "SELECT id FROM applications
         WHERE id IN (SELECT application_id FROM payout_requests WHERE run_id = $1)
         ORDER BY id FOR UPDATE",
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let done = sqlx::query!(
        "UPDATE payment_runs SET paid_by = $2, paid_at = now() WHERE id = $1 AND paid_at IS NULL",
        id,
        by
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many payout requests are in each status (monitoring).
pub async fn counts_by_status(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT status, count(*) AS "count!" FROM payout_requests GROUP BY status ORDER BY status"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.count)).collect())
}
