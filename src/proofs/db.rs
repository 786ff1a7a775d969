//! SQL for the proof of use and the settlement.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::model::{PaidPayout, ProofStatus, Receipt};
use crate::applications::model::Status;
use crate::money::Cents;
use crate::payouts::model::PayoutStatus;

/// A proof with the grant it belongs to.
#[derive(Clone, Debug)]
pub struct ProofRow {
    pub id: i64,
    pub application_id: i64,
    pub status: ProofStatus,
    pub work_done: String,
    pub results: String,
    pub deviations: String,
    pub reuse_users: String,
    pub reuse_howto: String,
    pub own_share_cents: Option<i64>,
    pub third_party_cents: Option<i64>,
    pub other_public_cents: Option<i64>,
    pub declared_procurement: bool,
    pub declared_correct: bool,
    pub request_message: String,
    pub submitted_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

impl ProofRow {
    /// Own share, third-party and other public money as realised.
    pub fn other_funds(&self) -> Cents {
        Cents::new(
            self.own_share_cents.unwrap_or(0)
                + self.third_party_cents.unwrap_or(0)
                + self.other_public_cents.unwrap_or(0),
        )
    }
}

macro_rules! proof_row {
    ($($rest:tt)*) => {
        sqlx::query_as!(
            ProofRow,
            r#"SELECT id, application_id, status AS "status: ProofStatus", work_done, results,
                      deviations, reuse_users, reuse_howto, own_share_cents, third_party_cents,
                      other_public_cents, declared_procurement, declared_correct, request_message,
                      submitted_at, updated_at
               FROM proofs "# + $($rest)*
        )
    };
}

pub async fn of_application(
    conn: &mut PgConnection,
    application_id: i64,
) -> sqlx::Result<Option<ProofRow>> {
    proof_row!("WHERE application_id = $1", application_id)
        .fetch_optional(conn)
        .await
}

pub async fn proof(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ProofRow>> {
    proof_row!("WHERE id = $1", id).fetch_optional(conn).await
}

/// The proof, locked for the transaction (after its grant: the order of every step).
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ProofRow>> {
    proof_row!("WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await
}

/// The grant's proof, begun now if it has none; locked for the transaction.
pub async fn begin(
    conn: &mut PgConnection,
    application_id: i64,
    user_id: i64,
) -> sqlx::Result<ProofRow> {
    sqlx::query!(
        "INSERT INTO proofs (application_id, created_by) VALUES ($1, $2) ON CONFLICT (application_id) DO NOTHING",
        application_id,
        user_id
    )
    .execute(&mut *conn)
    .await?;
    proof_row!("WHERE application_id = $1 FOR UPDATE", application_id)
        .fetch_one(conn)
        .await
}

/// The Sachbericht's five texts.
pub struct Report<'a> {
    pub work_done: &'a str,
    pub results: &'a str,
    pub deviations: &'a str,
    pub reuse_users: &'a str,
    pub reuse_howto: &'a str,
}

pub async fn save_report(conn: &mut PgConnection, id: i64, r: &Report<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE proofs SET work_done = $2, results = $3, deviations = $4, reuse_users = $5,
                reuse_howto = $6, updated_at = now() WHERE id = $1",
        id,
        r.work_done,
        r.results,
        r.deviations,
        r.reuse_users,
        r.reuse_howto,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Financing as realised and the declarations.
#[derive(Debug)]
pub struct Financing {
    pub own_share: Cents,
    pub third_party: Cents,
    pub other_public: Cents,
    pub procurement: bool,
    pub correct: bool,
}

pub async fn save_financing(conn: &mut PgConnection, id: i64, f: &Financing) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE proofs SET own_share_cents = $2, third_party_cents = $3, other_public_cents = $4,
                declared_procurement = $5, declared_correct = $6, updated_at = now() WHERE id = $1",
        id,
        f.own_share.get(),
        f.third_party.get(),
        f.other_public.get(),
        f.procurement,
        f.correct,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A receipt with its id, for listing and deleting.
pub struct ReceiptRow {
    pub id: i64,
    pub receipt: Receipt,
}

pub async fn receipts(conn: &mut PgConnection, proof_id: i64) -> sqlx::Result<Vec<ReceiptRow>> {
    let rows = sqlx::query!(
        "SELECT id, paid_on, payee, purpose, cost_position, amount_cents FROM proof_receipts
         WHERE proof_id = $1 ORDER BY paid_on, id",
        proof_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReceiptRow {
            id: r.id,
            receipt: Receipt {
                paid_on: r.paid_on,
                payee: r.payee,
                purpose: r.purpose,
                cost_position: r.cost_position,
                amount: Cents::new(r.amount_cents),
            },
        })
        .collect())
}

/// Adds receipts in one statement: an import goes in whole or not at all.
pub async fn add_receipts(
    conn: &mut PgConnection,
    proof_id: i64,
    receipts: &[Receipt],
) -> sqlx::Result<()> {
    let dates: Vec<Date> = receipts.iter().map(|r| r.paid_on).collect();
    let payees: Vec<&str> = receipts.iter().map(|r| r.payee.as_str()).collect();
    let purposes: Vec<&str> = receipts.iter().map(|r| r.purpose.as_str()).collect();
    let positions: Vec<i32> = receipts.iter().map(|r| r.cost_position).collect();
    let amounts: Vec<i64> = receipts.iter().map(|r| r.amount.get()).collect();
    sqlx::query!(
        "INSERT INTO proof_receipts (proof_id, paid_on, payee, purpose, cost_position, amount_cents)
         SELECT $1, * FROM unnest($2::date[], $3::text[], $4::text[], $5::int[], $6::bigint[])",
        proof_id,
        &dates,
        &payees as &[&str],
        &purposes as &[&str],
        &positions,
        &amounts,
    )
    .execute(&mut *conn)
    .await?;
    touch(conn, proof_id).await
}

pub async fn delete_receipt(
    conn: &mut PgConnection,
    proof_id: i64,
    receipt_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM proof_receipts WHERE id = $1 AND proof_id = $2",
        receipt_id,
        proof_id
    )
    .execute(&mut *conn)
    .await?;
    touch(conn, proof_id).await?;
    Ok(done.rows_affected() == 1)
}

async fn touch(conn: &mut PgConnection, proof_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE proofs SET updated_at = now() WHERE id = $1",
        proof_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct AttachmentRow {
    pub id: i64,
    pub file_name: String,
    pub size_bytes: i64,
    pub uploaded_at: OffsetDateTime,
    pub storage_key: String,
    pub content_type: String,
}

pub async fn attachments(
    conn: &mut PgConnection,
    proof_id: i64,
) -> sqlx::Result<Vec<AttachmentRow>> {
    sqlx::query_as!(
        AttachmentRow,
        "SELECT id, file_name, size_bytes, uploaded_at, storage_key, content_type
         FROM proof_attachments WHERE proof_id = $1 ORDER BY uploaded_at, id",
        proof_id
    )
    .fetch_all(conn)
    .await
}

pub struct NewAttachment<'a> {
    pub proof_id: i64,
    pub file_name: &'a str,
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a [u8],
    pub uploaded_by: i64,
}

pub async fn insert_attachment(
    conn: &mut PgConnection,
    a: &NewAttachment<'_>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO proof_attachments (proof_id, file_name, storage_key, content_type, size_bytes, sha256, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        a.proof_id,
        a.file_name,
        a.storage_key,
        a.content_type,
        a.size_bytes,
        a.sha256,
        a.uploaded_by,
    )
    .fetch_one(conn)
    .await
}

/// Moves the proof from `from` to `to` if it is still there (the state machine's one write);
/// a submission stamps its time, a Nachforderung keeps its message.
pub async fn set_status(
    conn: &mut PgConnection,
    id: i64,
    from: ProofStatus,
    to: ProofStatus,
    request_message: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE proofs SET status = $3,
                submitted_at = CASE WHEN $3 = $5 THEN now() ELSE submitted_at END,
                request_message = coalesce($4, request_message), updated_at = now()
         WHERE id = $1 AND status = $2",
        id,
        from as _,
        to as _,
        request_message,
        ProofStatus::Submitted as _,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_event(
    conn: &mut PgConnection,
    proof_id: i64,
    kind: &str,
    actor: i64,
    message: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO proof_events (proof_id, kind, actor_id, message) VALUES ($1, $2, $3, $4)",
        proof_id,
        kind,
        actor,
        message
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct EventRow {
    pub kind: String,
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub message: String,
}

pub async fn events(conn: &mut PgConnection, proof_id: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.kind, e.at, u.display_name AS "actor?", e.message
           FROM proof_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.proof_id = $1 ORDER BY e.at, e.id"#,
        proof_id
    )
    .fetch_all(conn)
    .await
}

/// A grant whose proof is due, for lists and reminders.
#[derive(Clone, Debug)]
pub struct DueRow {
    pub application_id: i64,
    pub reference: String,
    pub title: String,
    pub municipality_id: i64,
    pub municipality_name: String,
    pub period_end: Date,
    pub proof_due_months: i32,
    pub proof_id: Option<i64>,
    pub proof_status: Option<ProofStatus>,
    pub submitted_at: Option<OffsetDateTime>,
}

impl DueRow {
    pub fn due_on(&self) -> Date {
        super::model::due_on(self.period_end, self.proof_due_months)
    }
}

/// Approved grants whose proof is not submitted yet (drafts and Nachforderungen included),
/// or whose submitted proof waits for the ministry; `period_end_before` limits them to those
/// ending before that day (for reminders and the overdue list).
pub async fn due(conn: &mut PgConnection, period_end_before: Date) -> sqlx::Result<Vec<DueRow>> {
    sqlx::query_as!(
        DueRow,
        r#"SELECT a.id AS application_id, a.reference AS "reference!", a.title, a.municipality_id,
                  m.name AS municipality_name, a.period_end AS "period_end!", r.proof_due_months,
                  p.id AS "proof_id?", p.status AS "proof_status?: ProofStatus", p.submitted_at AS "submitted_at?"
           FROM applications a
           JOIN rounds r ON r.id = a.round_id
           JOIN municipalities m ON m.id = a.municipality_id
           LEFT JOIN proofs p ON p.application_id = a.id
           WHERE a.status = $1 AND a.period_end IS NOT NULL AND a.period_end < $2
           ORDER BY a.period_end, a.id"#,
        Status::Approved as _,
        period_end_before,
    )
    .fetch_all(conn)
    .await
}

/// The payouts that reached the municipality, for the settlement.
pub async fn paid_payouts(
    conn: &mut PgConnection,
    application_id: i64,
) -> sqlx::Result<Vec<PaidPayout>> {
    let rows = sqlx::query!(
        r#"SELECT id, paid_at AS "paid_at!", approved_cents AS "amount!" FROM payout_requests
           WHERE application_id = $1 AND status = $2 ORDER BY paid_at, id"#,
        application_id,
        PayoutStatus::Paid as _,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PaidPayout {
            id: r.id,
            paid_on: crate::locale::day_of(r.paid_at),
            amount: Cents::new(r.amount),
        })
        .collect())
}

/// Payouts requested and not yet paid or sent back: a grant is settled only without them.
pub async fn payouts_in_flight(conn: &mut PgConnection, application_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT payout_pending_cents AS "pending!" FROM applications WHERE id = $1"#,
        application_id
    )
    .fetch_one(conn)
    .await
}

/// The Prüfvermerk's five points, in the order of the form.
pub const CHECKLIST: [(&str, &str); 5] = [
    ("report_complete", "Sachbericht vollständig"),
    (
        "receipts_add_up",
        "Belegliste rechnerisch richtig, Summen stimmen",
    ),
    ("costs_plausible", "Zuwendungsfähige Ausgaben plausibel"),
    (
        "procurement_declared",
        "Einhaltung des Vergaberechts erklärt",
    ),
    ("reuse_described", "Nachnutzung beschrieben"),
];

/// A settlement as proposed.
pub struct NewSettlement<'a> {
    pub proof_id: i64,
    pub checklist: [bool; 5],
    pub note: &'a str,
    pub planned_eligible: Cents,
    pub settlement: &'a super::model::Settlement,
    pub actual_eligible: Cents,
    pub disallowed: Cents,
    pub granted: Cents,
    pub interest_until: Date,
    pub repayment_due_on: Option<Date>,
    pub proposed_by: i64,
}

pub async fn propose_settlement(
    conn: &mut PgConnection,
    s: &NewSettlement<'_>,
) -> sqlx::Result<i64> {
    let figures = s.settlement;
    let [report, receipts, costs, procurement, reuse] = s.checklist;
    let id = sqlx::query_scalar!(
        "INSERT INTO settlements (proof_id, report_complete, receipts_add_up, costs_plausible,
                                  procurement_declared, reuse_described, note, planned_eligible_cents,
                                  actual_eligible_cents, disallowed_cents, granted_cents, final_grant_cents,
                                  paid_cents, balance_cents, interest_cents, interest_until,
                                  repayment_due_on, proposed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         RETURNING id",
        s.proof_id,
        report,
        receipts,
        costs,
        procurement,
        reuse,
        s.note,
        s.planned_eligible.get(),
        s.actual_eligible.get(),
        s.disallowed.get(),
        s.granted.get(),
        figures.final_grant.get(),
        figures.paid.get(),
        figures.balance.get(),
        figures.interest_total().get(),
        s.interest_until,
        s.repayment_due_on,
        s.proposed_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    for part in &figures.interest {
        sqlx::query!(
            "INSERT INTO settlement_interest (settlement_id, payout_id, repaid_cents, paid_on, days, interest_cents)
             VALUES ($1, $2, $3, $4, $5, $6)",
            id,
            part.payout_id,
            part.repaid.get(),
            part.paid_on,
            i32::try_from(part.days).unwrap_or(i32::MAX),
            part.interest.get(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

#[derive(Clone, Debug)]
pub struct SettlementRow {
    pub id: i64,
    pub state: crate::review::model::DecisionState,
    pub checklist: Vec<bool>,
    pub note: String,
    pub planned_eligible_cents: i64,
    pub actual_eligible_cents: i64,
    pub disallowed_cents: i64,
    pub granted_cents: i64,
    pub final_grant_cents: i64,
    pub paid_cents: i64,
    pub balance_cents: i64,
    pub interest_cents: i64,
    pub interest_until: Option<Date>,
    pub repayment_due_on: Option<Date>,
    pub proposed_by: i64,
    pub proposed_by_name: String,
    pub proposed_at: OffsetDateTime,
    pub settled_by_name: Option<String>,
    pub settled_at: Option<OffsetDateTime>,
    pub settle_note: String,
    pub has_notice: bool,
}

/// The proof's settlement that is open or confirmed, if any.
pub async fn settlement(
    conn: &mut PgConnection,
    proof_id: i64,
) -> sqlx::Result<Option<SettlementRow>> {
    sqlx::query_as!(
        SettlementRow,
        r#"SELECT s.id, s.state AS "state: _",
                  ARRAY[s.report_complete, s.receipts_add_up, s.costs_plausible,
                        s.procurement_declared, s.reuse_described] AS "checklist!",
                  s.note, s.planned_eligible_cents, s.actual_eligible_cents, s.disallowed_cents,
                  s.granted_cents, s.final_grant_cents, s.paid_cents, s.balance_cents,
                  s.interest_cents, s.interest_until, s.repayment_due_on, s.proposed_by, s.proposed_at,
                  p.display_name AS proposed_by_name, c.display_name AS "settled_by_name?",
                  s.settled_at, s.settle_note, s.notice_id IS NOT NULL AS "has_notice!"
           FROM settlements s
           JOIN users p ON p.id = s.proposed_by
           LEFT JOIN users c ON c.id = s.settled_by
           WHERE s.proof_id = $1 AND s.state <> $2
           ORDER BY s.id DESC LIMIT 1"#,
        proof_id,
        crate::review::model::DecisionState::SentBack as _,
    )
    .fetch_optional(conn)
    .await
}

pub async fn settlement_interest(
    conn: &mut PgConnection,
    settlement_id: i64,
) -> sqlx::Result<Vec<super::model::PayoutInterest>> {
    let rows = sqlx::query!(
        "SELECT payout_id, repaid_cents, paid_on, days, interest_cents FROM settlement_interest
         WHERE settlement_id = $1 ORDER BY paid_on DESC, payout_id DESC",
        settlement_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| super::model::PayoutInterest {
            payout_id: r.payout_id,
            paid_on: r.paid_on,
            repaid: Cents::new(r.repaid_cents),
            days: i64::from(r.days),
            interest: Cents::new(r.interest_cents),
        })
        .collect())
}

/// Confirms or sends back the open proposal (not the proposer's own: the CHECK holds it);
/// false when it was settled meanwhile.
pub async fn settle_settlement(
    conn: &mut PgConnection,
    id: i64,
    state: crate::review::model::DecisionState,
    by: i64,
    note: &str,
    notice_id: Option<i64>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE settlements SET state = $2, settled_by = $3, settled_at = now(), settle_note = $4,
                notice_id = $5
         WHERE id = $1 AND state = $6",
        id,
        state as _,
        by,
        note,
        notice_id,
        crate::review::model::DecisionState::Proposed as _,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn link_final_payout(
    conn: &mut PgConnection,
    settlement_id: i64,
    payout_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE settlements SET payout_id = $2 WHERE id = $1",
        settlement_id,
        payout_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The settlement notice of the application's grant (a kept document).
pub async fn settlement_notice(
    conn: &mut PgConnection,
    application_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT s.notice_id AS "notice_id!" FROM settlements s JOIN proofs p ON p.id = s.proof_id
           WHERE p.application_id = $1 AND s.notice_id IS NOT NULL"#,
        application_id
    )
    .fetch_optional(conn)
    .await
}

/// A submitted proof waiting for the ministry, or any proof with its grant's names.
#[derive(Clone, Debug)]
pub struct ProofListRow {
    pub id: i64,
    pub application_id: i64,
    pub reference: String,
    pub title: String,
    pub municipality_name: String,
    pub round_title: String,
    pub status: ProofStatus,
    pub submitted_at: Option<OffsetDateTime>,
    pub settlement_proposed: bool,
}

/// Proofs waiting for the ministry (submitted), oldest first.
pub async fn submitted(conn: &mut PgConnection) -> sqlx::Result<Vec<ProofListRow>> {
    sqlx::query_as!(
        ProofListRow,
        r#"SELECT p.id, p.application_id, a.reference AS "reference!", a.title,
                  m.name AS municipality_name, r.title AS round_title,
                  p.status AS "status: ProofStatus", p.submitted_at,
                  EXISTS (SELECT 1 FROM settlements s WHERE s.proof_id = p.id AND s.state = $2) AS "settlement_proposed!"
           FROM proofs p
           JOIN applications a ON a.id = p.application_id
           JOIN municipalities m ON m.id = a.municipality_id
           JOIN rounds r ON r.id = a.round_id
           WHERE p.status = $1
           ORDER BY p.submitted_at, p.id"#,
        ProofStatus::Submitted as _,
        crate::review::model::DecisionState::Proposed as _,
    )
    .fetch_all(conn)
    .await
}

/// The settled grants of a round (or all): how many, granted, finally granted, paid out
/// finally, demanded back and its interest.
#[derive(Clone, Debug, Default)]
pub struct SettledTotals {
    pub settled: i64,
    pub granted_cents: i64,
    pub final_grant_cents: i64,
    pub final_payments_cents: i64,
    pub repayments_cents: i64,
    pub interest_cents: i64,
}

pub async fn settled_totals(
    conn: &mut PgConnection,
    round: Option<i64>,
) -> sqlx::Result<SettledTotals> {
    sqlx::query_as!(
        SettledTotals,
        r#"SELECT count(*) AS "settled!",
                  coalesce(sum(s.granted_cents), 0)::bigint AS "granted_cents!",
                  coalesce(sum(s.final_grant_cents), 0)::bigint AS "final_grant_cents!",
                  coalesce(sum(greatest(s.balance_cents, 0)), 0)::bigint AS "final_payments_cents!",
                  coalesce(sum(greatest(-s.balance_cents, 0)), 0)::bigint AS "repayments_cents!",
                  coalesce(sum(s.interest_cents), 0)::bigint AS "interest_cents!"
           FROM settlements s
           JOIN proofs p ON p.id = s.proof_id
           JOIN applications a ON a.id = p.application_id
           WHERE s.state = $2 AND ($1::bigint IS NULL OR a.round_id = $1)"#,
        round,
        crate::review::model::DecisionState::Confirmed as _,
    )
    .fetch_one(conn)
    .await
}
