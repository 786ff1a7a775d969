//! SQL for change requests: the grant's terms as they stand, the requests with their plans and
//! timelines, and what an approved change does to the grant and the budget.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::model::{AmendmentStatus, PlanRow};
use crate::applications::model::Status;
use crate::money::Cents;
use crate::programmes::model::{FinancingType, GrantBasis};
use crate::review::model::{DecisionState, Outcome};

/// An approved grant's terms as they stand now: the award's, changed by every change in
/// force since.
#[derive(Clone, Debug)]
pub struct GrantTerms {
    pub application_id: i64,
    /// Approved, or settled (closed: no more changes or payout requests).
    pub status: Status,
    pub reference: String,
    pub title: String,
    pub municipality_id: i64,
    pub municipality_name: String,
    pub round_id: i64,
    pub round_title: String,
    pub financing_type: FinancingType,
    pub change_shift_bp: i32,
    pub granted_cents: i64,
    /// Paid plus requested and on its way: a change may not lower the grant below it.
    pub committed_payouts_cents: i64,
    pub eligible_cents: i64,
    pub period_start: Date,
    pub period_end: Date,
    /// The day of the Zuwendungsbescheid.
    pub awarded_at: OffsetDateTime,
    /// The address block of the notices.
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
}

impl GrantTerms {
    pub fn basis(&self) -> GrantBasis {
        GrantBasis {
            financing: self.financing_type,
            granted: Cents::new(self.granted_cents),
            eligible: Cents::new(self.eligible_cents),
        }
    }
}

/// The terms of an approved or settled application (`None` for any other); `lock` holds its
/// row for the transaction, like every step on a grant (payouts lock the same row).
pub async fn terms(
    conn: &mut PgConnection,
    application_id: i64,
    lock: bool,
) -> sqlx::Result<Option<GrantTerms>> {
    if lock {
        crate::payouts::db::lock_grant(conn, application_id).await?;
    }
    sqlx::query_as!(
        GrantTerms,
        r#"SELECT a.id AS application_id, a.status AS "status: Status", a.reference AS "reference!",
                  a.title, a.municipality_id,
                  m.name AS municipality_name, a.round_id, r.title AS round_title,
                  r.financing_type AS "financing_type: FinancingType", r.change_shift_bp,
                  a.granted_cents AS "granted_cents!",
                  a.paid_cents + a.payout_pending_cents AS "committed_payouts_cents!",
                  coalesce((SELECT c.new_eligible_cents FROM amendments c
                            WHERE c.application_id = a.id AND c.status = ANY($4)
                            ORDER BY c.number DESC LIMIT 1), d.eligible_cents) AS "eligible_cents!",
                  d.period_start AS "period_start!",
                  coalesce(a.period_end, d.period_end) AS "period_end!",
                  d.settled_at AS "awarded_at!", m.street, m.postal_code, m.city
           FROM applications a
           JOIN rounds r ON r.id = a.round_id
           JOIN municipalities m ON m.id = a.municipality_id
           JOIN decisions d ON d.application_id = a.id AND d.state = $3 AND d.outcome = $5
           WHERE a.id = $1 AND a.status = ANY($2)"#,
        application_id,
        &[Status::Approved, Status::Settled] as &[Status],
        DecisionState::Confirmed as _,
        &effective() as &[AmendmentStatus],
        Outcome::Approve as _,
    )
    .fetch_optional(conn)
    .await
}

fn effective() -> Vec<AmendmentStatus> {
    AmendmentStatus::ALL
        .into_iter()
        .filter(|s| s.is_effective())
        .collect()
}

/// The cost plan of the last change in force, if any (otherwise the application's plan holds).
pub async fn amended_plan(
    conn: &mut PgConnection,
    application_id: i64,
) -> sqlx::Result<Option<Vec<PlanRow>>> {
    let last = sqlx::query_scalar!(
        "SELECT id FROM amendments WHERE application_id = $1 AND status = ANY($2)
         ORDER BY number DESC LIMIT 1",
        application_id,
        &effective() as &[AmendmentStatus],
    )
    .fetch_optional(&mut *conn)
    .await?;
    match last {
        Some(id) => Ok(Some(plan(conn, id, true).await?)),
        None => Ok(None),
    }
}

/// A change request with the names its pages show.
#[derive(Clone, Debug)]
pub struct AmendmentRow {
    pub id: i64,
    pub application_id: i64,
    pub number: i32,
    pub status: AmendmentStatus,
    pub reason: String,
    pub period_start: Date,
    pub old_period_end: Date,
    pub new_period_end: Date,
    pub old_granted_cents: i64,
    pub new_granted_cents: i64,
    pub old_eligible_cents: i64,
    pub new_eligible_cents: i64,
    pub needs_decision: Vec<String>,
    pub submitted_at: OffsetDateTime,
    pub approve: Option<bool>,
    pub proposal_note: String,
    pub proposed_by: Option<i64>,
    pub proposed_by_name: Option<String>,
    pub settled_by_name: Option<String>,
    pub settled_at: Option<OffsetDateTime>,
    pub has_notice: bool,
    pub reference: String,
    pub title: String,
    pub municipality_id: i64,
    pub municipality_name: String,
    pub round_title: String,
}

macro_rules! amendment_row {
    ($($rest:tt)*) => {
        sqlx::query_as!(
            AmendmentRow,
            r#"SELECT c.id, c.application_id, c.number, c.status AS "status: AmendmentStatus",
                      c.reason, c.period_start, c.old_period_end, c.new_period_end,
                      c.old_granted_cents, c.new_granted_cents, c.old_eligible_cents,
                      c.new_eligible_cents, c.needs_decision, c.submitted_at, c.approve,
                      c.proposal_note, c.proposed_by, proposer.display_name AS "proposed_by_name?",
                      settler.display_name AS "settled_by_name?", c.settled_at,
                      c.notice_id IS NOT NULL AS "has_notice!",
                      a.reference AS "reference!", a.title, a.municipality_id,
                      m.name AS municipality_name, r.title AS round_title
               FROM amendments c
               JOIN applications a ON a.id = c.application_id
               JOIN municipalities m ON m.id = a.municipality_id
               JOIN rounds r ON r.id = a.round_id
               LEFT JOIN users proposer ON proposer.id = c.proposed_by
               LEFT JOIN users settler ON settler.id = c.settled_by "# + $($rest)*
        )
    };
}

pub async fn amendment(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<AmendmentRow>> {
    amendment_row!("WHERE c.id = $1", id)
        .fetch_optional(conn)
        .await
}

/// The change requests of a grant, newest first.
pub async fn amendments_of(
    conn: &mut PgConnection,
    application_id: i64,
) -> sqlx::Result<Vec<AmendmentRow>> {
    amendment_row!(
        "WHERE c.application_id = $1 ORDER BY c.number DESC",
        application_id
    )
    .fetch_all(conn)
    .await
}

/// The ministry's list: the open requests (oldest first), then the decided and notified ones
/// of the last year.
pub async fn queue(conn: &mut PgConnection, open_only: bool) -> sqlx::Result<Vec<AmendmentRow>> {
    amendment_row!(
        "WHERE c.status = ANY($1) OR (NOT $2 AND c.submitted_at > now() - interval '1 year')
         ORDER BY c.status = ANY($1) DESC, c.submitted_at, c.id LIMIT 500",
        &[AmendmentStatus::Submitted, AmendmentStatus::Proposed] as &[AmendmentStatus],
        open_only,
    )
    .fetch_all(conn)
    .await
}

/// The request filed with this form before, if any (a form sent twice files once).
pub async fn filed_with(
    conn: &mut PgConnection,
    application_id: i64,
    key: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM amendments WHERE application_id = $1 AND submission_key = $2",
        application_id,
        key
    )
    .fetch_optional(conn)
    .await
}

/// Whether the grant has a request waiting for the ministry.
pub async fn has_open(conn: &mut PgConnection, application_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM amendments WHERE application_id = $1 AND status = ANY($2)) AS "open!""#,
        application_id,
        &[AmendmentStatus::Submitted, AmendmentStatus::Proposed] as &[AmendmentStatus],
    )
    .fetch_one(conn)
    .await
}

/// A new request as filed.
pub struct NewAmendment<'a> {
    pub application_id: i64,
    pub status: AmendmentStatus,
    pub reason: &'a str,
    pub terms: &'a GrantTerms,
    pub new_period_end: Date,
    pub new_granted: Cents,
    pub new_eligible: Cents,
    pub needs_decision: &'a [String],
    pub before: &'a [PlanRow],
    pub after: &'a [PlanRow],
    pub submitted_by: i64,
    pub submission_key: &'a str,
}

/// Inserts the request with both plans; returns its id and number.
pub async fn insert(conn: &mut PgConnection, new: &NewAmendment<'_>) -> sqlx::Result<(i64, i32)> {
    let t = new.terms;
    let row = sqlx::query!(
        "INSERT INTO amendments (application_id, number, status, reason, period_start, old_period_end,
                                 new_period_end, old_granted_cents, new_granted_cents,
                                 old_eligible_cents, new_eligible_cents, needs_decision,
                                 submitted_by, submission_key)
         VALUES ($1, (SELECT coalesce(max(number), 0) + 1 FROM amendments WHERE application_id = $1),
                 $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         RETURNING id, number",
        new.application_id,
        new.status as _,
        new.reason,
        t.period_start,
        t.period_end,
        new.new_period_end,
        t.granted_cents,
        new.new_granted.get(),
        t.eligible_cents,
        new.new_eligible.get(),
        new.needs_decision,
        new.submitted_by,
        new.submission_key,
    )
    .fetch_one(&mut *conn)
    .await?;
    for (revised, rows) in [(false, new.before), (true, new.after)] {
        for (i, r) in rows.iter().enumerate() {
            sqlx::query!(
                "INSERT INTO amendment_plan_rows (amendment_id, revised, position, kind, description, year, amount_cents, eligible)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                row.id,
                revised,
                i32::try_from(i + 1).unwrap_or(i32::MAX),
                r.kind,
                r.description,
                r.year,
                r.amount.get(),
                r.eligible,
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok((row.id, row.number))
}

/// The plan before the change (`revised` false) or as asked for.
pub async fn plan(
    conn: &mut PgConnection,
    amendment_id: i64,
    revised: bool,
) -> sqlx::Result<Vec<PlanRow>> {
    let rows = sqlx::query!(
        "SELECT kind, description, year, amount_cents, eligible FROM amendment_plan_rows
         WHERE amendment_id = $1 AND revised = $2 ORDER BY position",
        amendment_id,
        revised
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PlanRow {
            kind: r.kind,
            description: r.description,
            year: r.year,
            amount: Cents::new(r.amount_cents),
            eligible: r.eligible,
        })
        .collect())
}

/// What a status change writes beside the status.
#[derive(Default)]
pub struct Change<'a> {
    /// A proposal: approve or not, the note, by whom.
    pub proposal: Option<(bool, &'a str, i64)>,
    /// Sent back: the proposal is cleared.
    pub clear_proposal: bool,
    /// The confirmation: by whom, with the notice (a kept document).
    pub settled: Option<(i64, i64)>,
}

/// Moves the request from `from` to `to` if it is still in `from`; false when it moved on.
pub async fn set_status(
    conn: &mut PgConnection,
    id: i64,
    from: AmendmentStatus,
    to: AmendmentStatus,
    change: Change<'_>,
) -> sqlx::Result<bool> {
    let (approve, note, proposer) = match change.proposal {
        Some((approve, note, by)) => (Some(approve), Some(note), Some(by)),
        None => (None, None, None),
    };
    let (settler, notice) = match change.settled {
        Some((by, notice)) => (Some(by), Some(notice)),
        None => (None, None),
    };
    let done = sqlx::query!(
        "UPDATE amendments SET status = $3,
                approve = CASE WHEN $7 THEN NULL ELSE coalesce($4, approve) END,
                proposal_note = CASE WHEN $7 THEN '' ELSE coalesce($5, proposal_note) END,
                proposed_by = CASE WHEN $7 THEN NULL ELSE coalesce($6, proposed_by) END,
                proposed_at = CASE WHEN $7 THEN NULL WHEN $6::bigint IS NOT NULL THEN now() ELSE proposed_at END,
                settled_by = coalesce($8, settled_by),
                settled_at = CASE WHEN $8::bigint IS NOT NULL THEN now() ELSE settled_at END,
                notice_id = coalesce($9, notice_id)
         WHERE id = $1 AND status = $2",
        id,
        from as _,
        to as _,
        approve,
        note,
        proposer,
        change.clear_proposal,
        settler,
        notice,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!("SELECT id FROM amendments WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?;
    Ok(())
}

pub async fn notice_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT notice_id AS "notice_id!" FROM amendments WHERE id = $1 AND notice_id IS NOT NULL"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert_event(
    conn: &mut PgConnection,
    amendment_id: i64,
    kind: &str,
    actor: i64,
    message: &str,
    (from, to): (Option<AmendmentStatus>, AmendmentStatus),
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO amendment_events (amendment_id, kind, actor_id, message, from_status, to_status)
         VALUES ($1, $2, $3, $4, $5, $6)",
        amendment_id,
        kind,
        actor,
        message,
        from as _,
        to as _,
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

pub async fn events(conn: &mut PgConnection, amendment_id: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.kind, e.at, u.display_name AS "actor?", e.message
           FROM amendment_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.amendment_id = $1 ORDER BY e.at, e.id"#,
        amendment_id
    )
    .fetch_all(conn)
    .await
}

/// Why an approved change cannot be booked against the budget years.
#[derive(Debug, PartialEq, Eq)]
pub enum YearsRefusal {
    /// The year's budget cannot take the grant's larger share there.
    Budget { year: i32, remaining: Cents },
    /// More has been paid in the year than the new share.
    Paid { year: i32, paid: Cents },
}

/// Puts an approved change into effect: the grant's amount and period, the round's granted
/// total, and the commitment per budget year (`split`: the new grant by year). Each raise is a
/// guarded update, so no year is ever over-committed (the CHECKs back it).
pub async fn put_into_effect(
    conn: &mut PgConnection,
    terms: &GrantTerms,
    new_granted: Cents,
    new_end: Date,
    split: &[(i32, Cents)],
) -> sqlx::Result<Result<(), YearsRefusal>> {
    let current = sqlx::query!(
        "SELECT year, committed_cents, paid_cents FROM grant_years WHERE application_id = $1",
        terms.application_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut years: Vec<i32> = current.iter().map(|r| r.year).collect();
    years.extend(split.iter().map(|(y, _)| *y));
    years.sort_unstable();
    years.dedup();
    let mut deltas = Vec::new();
    for year in years {
        let old = current.iter().find(|r| r.year == year);
        let (committed, paid) = old.map_or((0, 0), |r| (r.committed_cents, r.paid_cents));
        let new = split
            .iter()
            .find(|(y, _)| *y == year)
            .map_or(0, |(_, c)| c.get());
        if paid > new {
            return Ok(Err(YearsRefusal::Paid {
                year,
                paid: Cents::new(paid),
            }));
        }
        deltas.push((year, new - committed));
    }
    // Lowered years first, so a raise elsewhere never waits for room the same change frees.
    deltas.sort_by_key(|(_, delta)| *delta);
    for (year, delta) in deltas.into_iter().filter(|(_, d)| *d != 0) {
        let moved = sqlx::query_scalar!(
            "UPDATE round_budget_years SET committed_cents = committed_cents + $3
             WHERE round_id = $1 AND year = $2 AND committed_cents + $3 <= budget_cents
             RETURNING year",
            terms.round_id,
            year,
            delta,
        )
        .fetch_optional(&mut *conn)
        .await?;
        if moved.is_none() {
            let remaining: Option<i64> = sqlx::query_scalar!(
                "SELECT budget_cents - committed_cents FROM round_budget_years WHERE round_id = $1 AND year = $2",
                terms.round_id,
                year,
            )
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            return Ok(Err(YearsRefusal::Budget {
                year,
                remaining: Cents::new(remaining.unwrap_or(0)),
            }));
        }
        let updated = sqlx::query!(
            "UPDATE grant_years SET committed_cents = committed_cents + $3
             WHERE application_id = $1 AND year = $2",
            terms.application_id,
            year,
            delta,
        )
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query!(
                "INSERT INTO grant_years (application_id, round_id, year, committed_cents) VALUES ($1, $2, $3, $4)",
                terms.application_id,
                terms.round_id,
                year,
                delta,
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::query!(
        "UPDATE rounds SET granted_cents = granted_cents - $2 WHERE id = $1",
        terms.round_id,
        terms.granted_cents - new_granted.get(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE applications SET granted_cents = $2, period_end = $3, updated_at = now() WHERE id = $1",
        terms.application_id,
        new_granted.get(),
        new_end,
    )
    .execute(conn)
    .await?;
    Ok(Ok(()))
}

/// The cost plan in force (the last change's, or the application's as approved) and the
/// plan's own share and other funding, which a Fehlbedarfsfinanzierung subtracts.
pub async fn plan_in_force(
    conn: &mut PgConnection,
    application: &crate::applications::db::ApplicationRow,
) -> sqlx::Result<(Vec<PlanRow>, Cents)> {
    let dossier = crate::applications::dossier::Dossier::load(conn, application.clone()).await?;
    let planned = dossier.cost_plan();
    let other_funds = planned.as_ref().map_or(Cents::ZERO, |p| {
        let f = &p.financing;
        Cents::new(f.own_share.get() + f.third_party.get() + f.other_public.get())
    });
    let rows = match amended_plan(conn, application.id).await? {
        Some(rows) => rows,
        None => planned
            .map(|p| p.items.iter().map(PlanRow::from).collect())
            .unwrap_or_default(),
    };
    Ok((rows, other_funds))
}
