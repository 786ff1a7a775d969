//! SQL for the review: the dashboard (filters, full-text search, keyset pages, counts), budgets,
//! assignment, assessments, notes and decisions.

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::OffsetDateTime;

use super::model::{Assignment, Cursor, DecisionState, Filter, Outcome, ReferenceSearch};
use crate::accounts::model::Role;
use crate::applications::db as applications_db;
use crate::applications::model::{Status, Transition};
use crate::money::Cents;
use crate::programmes::model::RoundState;

/// One application in the dashboard.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub municipality: String,
    pub round_title: String,
    pub category_code: Option<String>,
    pub status: Status,
    pub requested_grant_cents: Option<i64>,
    pub granted_cents: Option<i64>,
    pub submitted_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub assignee: Option<String>,
    /// The sort value of this row, as the cursor carries it.
    pub sort_value: String,
}

const CASE_COLUMNS: &str = "a.id, a.reference, a.title, m.name AS municipality, r.title AS round_title,
        a.category_code, a.status, a.requested_grant_cents, a.granted_cents, a.submitted_at, a.decided_at,
        u.display_name AS assignee";

const CASE_FROM: &str = " FROM applications a
 JOIN municipalities m ON m.id = a.municipality_id
 JOIN rounds r ON r.id = a.round_id
 LEFT JOIN users u ON u.id = a.assigned_to
 WHERE a.reference IS NOT NULL";

/// Appends the filter's conditions on the columns the tallies share with the applications
/// (round, status unless `with_status` is false, category, Landkreis, assignee).
fn push_tally_conditions(
    q: &mut QueryBuilder<'_, Postgres>,
    f: &Filter,
    me: i64,
    with_status: bool,
) {
    if let Some(round) = f.round {
        q.push(" AND a.round_id = ").push_bind(round);
    }
    if let (true, Some(status)) = (with_status, f.status) {
        q.push(" AND a.status = ").push_bind(status.as_str());
    }
    if let Some(category) = &f.category {
        q.push(" AND a.category_code = ")
            .push_bind(category.clone());
    }
    if let Some(district) = f.district {
        q.push(" AND a.district_id = ").push_bind(district);
    }
    match f.assignment {
        Assignment::Anyone => {}
        Assignment::Me => {
            q.push(" AND a.assigned_to = ").push_bind(me);
        }
        Assignment::Someone => {
            q.push(" AND a.assigned_to IS NOT NULL");
        }
        Assignment::Nobody => {
            q.push(" AND a.assigned_to IS NULL");
        }
    }
}

/// Appends the filter's conditions that only the applications themselves can answer.
fn push_detail_conditions(q: &mut QueryBuilder<'_, Postgres>, f: &Filter) {
    if let Some(municipality) = f.municipality {
        q.push(" AND a.municipality_id = ").push_bind(municipality);
    }
    if let Some(min) = f.amount_min {
        q.push(" AND coalesce(a.requested_grant_cents, 0) >= ")
            .push_bind(min.get());
    }
    if let Some(max) = f.amount_max {
        q.push(" AND coalesce(a.requested_grant_cents, 0) <= ")
            .push_bind(max.get());
    }
    if let Some(from) = f.submitted_from {
        q.push(" AND a.submitted_at >= ").push_bind(from);
    }
    if let Some(before) = f.submitted_before {
        q.push(" AND a.submitted_at < ").push_bind(before);
    }
    if !f.search.is_empty() {
        q.push(" AND (a.search @@ websearch_to_tsquery('german', ")
            .push_bind(f.search.clone())
            .push(")");
        // An Aktenzeichen in part: the whole one, or its running number in any year.
        match ReferenceSearch::parse(&f.search) {
            Some(ReferenceSearch::Whole(reference)) => {
                q.push(" OR a.reference = ").push_bind(reference);
            }
            Some(ReferenceSearch::Number(number)) => {
                q.push(" OR split_part(a.reference, '-', 3) = ")
                    .push_bind(number);
            }
            None => {}
        }
        q.push(")");
    }
}

/// One page of the dashboard (`limit` rows, plus one to tell whether more follow — or, read
/// backwards from `before`, whether more come before; those rows arrive last row first).
pub async fn cases(
    conn: &mut PgConnection,
    f: &Filter,
    me: i64,
    limit: i64,
) -> sqlx::Result<Vec<CaseRow>> {
    let sort = f.sort.expression();
    let value = if f.sort == super::model::Sort::Submitted {
        // Microseconds: exact, and comparable as a number.
        format!("(extract(epoch FROM {sort}) * 1000000)::bigint::text")
    } else {
        format!("{sort}::text")
    };
    // Runtime query: the filter decides the conditions, the sort column and the cursor.
    let mut q = QueryBuilder::new(format!("SELECT {CASE_COLUMNS}, {value} AS sort_value"));
    q.push(CASE_FROM);
    push_tally_conditions(&mut q, f, me, true);
    push_detail_conditions(&mut q, f);
    // A page before a row reads backwards from it (the caller turns the rows around).
    let backwards = f.before.is_some();
    let descending = f.descending != backwards;
    if let Some(Cursor { value, id }) = f.after.as_ref().or(f.before.as_ref()) {
        let op = if descending { "<" } else { ">" };
        q.push(format!(" AND ({sort}, a.id) {op} ("));
        match f.sort {
            super::model::Sort::Submitted => {
                let micros: i64 = value.parse().unwrap_or(0);
                let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                q.push_bind(at);
            }
            super::model::Sort::Amount => {
                q.push_bind(value.parse::<i64>().unwrap_or(0));
            }
            _ => {
                q.push_bind(value.clone());
            }
        }
        q.push(", ").push_bind(*id).push(")");
    }
    let dir = if descending { "DESC" } else { "ASC" };
    q.push(format!(" ORDER BY {sort} {dir}, a.id {dir} LIMIT "))
        .push_bind(limit + 1);
    q.build_query_as().fetch_all(conn).await
}

/// How many applications the filter finds per status (ignoring its own status choice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCounts {
    pub by_status: Vec<(String, i64)>,
    /// False when the filter found more than [`COUNT_BOUND`] applications and counting stopped:
    /// `by_status` then holds only the first ones found.
    pub complete: bool,
}

/// Where a count must look at the applications themselves (Kommune, amounts, dates, search),
/// it stops here, so that a broad filter costs no more than a narrow one.
pub const COUNT_BOUND: i64 = 1000;

pub async fn counts_by_status(
    conn: &mut PgConnection,
    f: &Filter,
    me: i64,
) -> sqlx::Result<StatusCounts> {
    // Runtime queries: the filter decides the conditions.
    if !f.needs_applications_for_counts() {
        let mut q = QueryBuilder::new(
            "SELECT a.status, sum(a.applications)::bigint FROM application_tallies a WHERE true",
        );
        push_tally_conditions(&mut q, f, me, false);
        q.push(" GROUP BY a.status HAVING sum(a.applications) > 0");
        let by_status = q.build_query_as().fetch_all(conn).await?;
        return Ok(StatusCounts {
            by_status,
            complete: true,
        });
    }
    let mut q = QueryBuilder::new("SELECT s.status, count(*) FROM (SELECT a.status");
    q.push(" FROM applications a WHERE a.reference IS NOT NULL");
    push_tally_conditions(&mut q, f, me, false);
    push_detail_conditions(&mut q, f);
    q.push(" LIMIT ")
        .push_bind(COUNT_BOUND + 1)
        .push(") s GROUP BY s.status");
    let by_status: Vec<(String, i64)> = q.build_query_as().fetch_all(conn).await?;
    let found: i64 = by_status.iter().map(|(_, n)| n).sum();
    Ok(StatusCounts {
        by_status,
        complete: found <= COUNT_BOUND,
    })
}

/// A round's money: budget, what is being asked for in open cases, what is granted.
#[derive(Clone, Debug)]
pub struct BudgetRow {
    pub round_id: i64,
    pub title: String,
    pub budget_cents: i64,
    pub requested_cents: i64,
    pub granted_cents: i64,
}

pub async fn budgets(conn: &mut PgConnection, round: Option<i64>) -> sqlx::Result<Vec<BudgetRow>> {
    sqlx::query_as!(
        BudgetRow,
        r#"SELECT r.id AS round_id, r.title, r.budget_cents, r.granted_cents,
                coalesce((SELECT sum(t.requested_cents) FROM application_tallies t
                          WHERE t.round_id = r.id AND application_is_open(t.status)), 0)::bigint
                    AS "requested_cents!"
         FROM rounds r
         WHERE r.state <> $2 AND ($1::bigint IS NULL OR r.id = $1)
         ORDER BY r.closes_at DESC"#,
        round,
        RoundState::Draft as _,
    )
    .fetch_all(conn)
    .await
}

/// The filter's choices: rounds, Landkreise and kreisfreie Städte, categories.
pub async fn round_choices(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query!(
        "SELECT id, title FROM rounds WHERE state <> $1 ORDER BY closes_at DESC",
        RoundState::Draft as _
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}

pub async fn category_choices(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query!("SELECT code, title FROM categories ORDER BY position, code")
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.code, r.title)).collect())
}

pub async fn is_reviewer(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND $2 = ANY (roles) AND active) AS "exists!""#,
        user_id,
        Role::Reviewer as _,
    )
    .fetch_one(conn)
    .await
}

/// The assignee's id and name.
pub async fn assignee(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(i64, String)>> {
    let assignee = sqlx::query_scalar!(
        r#"SELECT application_assignee_json($1) AS "assignee: Json<(i64, String)>""#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(assignee.map(|Json(a)| a))
}

pub async fn assign(conn: &mut PgConnection, id: i64, to: Option<i64>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE applications SET assigned_to = $2 WHERE id = $1",
        id,
        to as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct NoteRow {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub author: String,
    pub body: String,
}

pub async fn add_note(
    conn: &mut PgConnection,
    id: i64,
    author: i64,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO application_notes (application_id, author_id, body) VALUES ($1, $2, $3)",
        id,
        author,
        body,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct AssessmentRow {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub assessor: String,
    pub items: Json<serde_json::Value>,
}

/// What the case page shows besides the dossier and the decision. One statement: read one by
/// one, these seven lists cost more in round trips than in work.
pub struct CaseRecord {
    pub events: Json<Vec<applications_db::EventRow>>,
    pub revisions: Json<Vec<applications_db::RevisionRow>>,
    pub messages: Json<Vec<applications_db::MessageRow>>,
    pub notes: Json<Vec<NoteRow>>,
    pub assessment: Option<Json<AssessmentRow>>,
    pub assignee: Option<Json<(i64, String)>>,
    pub reviewers: Json<Vec<(i64, String)>>,
}

pub async fn case_record(conn: &mut PgConnection, id: i64) -> sqlx::Result<CaseRecord> {
    sqlx::query_as!(
        CaseRecord,
        r#"SELECT application_events_json($1) AS "events!: _",
                  application_revisions_json($1) AS "revisions!: _",
                  application_messages_json($1) AS "messages!: _",
                  application_notes_json($1) AS "notes!: _",
                  application_assessment_json($1) AS "assessment: _",
                  application_assignee_json($1) AS "assignee: _",
                  active_users_with_role_json($2) AS "reviewers!: _""#,
        id,
        Role::Reviewer as _,
    )
    .fetch_one(conn)
    .await
}

pub async fn save_assessment(
    conn: &mut PgConnection,
    id: i64,
    reviewer: i64,
    items: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO application_assessments (application_id, reviewer_id, items) VALUES ($1, $2, $3)",
        id,
        reviewer,
        Json(items) as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct DecisionRow {
    pub id: i64,
    pub outcome: Outcome,
    pub granted_cents: Option<i64>,
    pub eligible_cents: Option<i64>,
    pub reason: String,
    pub period_start: Option<time::Date>,
    pub period_end: Option<time::Date>,
    pub conditions: String,
    pub state: DecisionState,
    pub proposed_by: i64,
    pub proposer: String,
    pub proposed_at: OffsetDateTime,
    pub settler: Option<String>,
    pub settled_at: Option<OffsetDateTime>,
}

/// The open proposal, or else the confirmed decision, of an application.
pub async fn current_decision(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<DecisionRow>> {
    sqlx::query_as!(
        DecisionRow,
        r#"SELECT d.id, d.outcome AS "outcome: _", d.granted_cents, d.eligible_cents, d.reason,
                  d.period_start, d.period_end, d.conditions, d.state AS "state: _", d.proposed_by,
                  p.display_name AS proposer, d.proposed_at, s.display_name AS "settler?", d.settled_at
           FROM decisions d JOIN users p ON p.id = d.proposed_by LEFT JOIN users s ON s.id = d.settled_by
           WHERE d.application_id = $1 AND d.state IN ($2, $3)
           ORDER BY d.proposed_at DESC LIMIT 1"#,
        id,
        DecisionState::Proposed as _,
        DecisionState::Confirmed as _,
    )
    .fetch_optional(conn)
    .await
}

/// The split by Haushaltsjahr a decision proposes, in year order.
pub async fn decision_years(
    conn: &mut PgConnection,
    decision_id: i64,
) -> sqlx::Result<Vec<(i32, Cents)>> {
    let rows = sqlx::query!(
        "SELECT year, cents FROM decision_years WHERE decision_id = $1 ORDER BY year",
        decision_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.year, Cents::new(r.cents)))
        .collect())
}

pub async fn set_decision_years(
    conn: &mut PgConnection,
    decision_id: i64,
    split: &[(i32, Cents)],
) -> sqlx::Result<()> {
    let years: Vec<i32> = split.iter().map(|(y, _)| *y).collect();
    let cents: Vec<i64> = split.iter().map(|(_, c)| c.get()).collect();
    sqlx::query!(
        "INSERT INTO decision_years (decision_id, year, cents)
         SELECT $1, year, cents FROM unnest($2::int[], $3::bigint[]) AS s(year, cents)",
        decision_id,
        &years,
        &cents,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct NewDecision<'a> {
    pub application_id: i64,
    pub outcome: Outcome,
    pub granted_cents: Option<i64>,
    pub eligible_cents: Option<i64>,
    pub reason: &'a str,
    pub period_start: Option<time::Date>,
    pub period_end: Option<time::Date>,
    pub conditions: &'a str,
    pub proposed_by: i64,
}

pub async fn propose(conn: &mut PgConnection, d: &NewDecision<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO decisions (application_id, outcome, granted_cents, eligible_cents, reason,
                                period_start, period_end, conditions, proposed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        d.application_id,
        d.outcome as _,
        d.granted_cents,
        d.eligible_cents,
        d.reason,
        d.period_start,
        d.period_end,
        d.conditions,
        d.proposed_by,
    )
    .fetch_one(conn)
    .await
}

/// Confirms (with the notice) or sends back an open proposal.
pub async fn settle(
    conn: &mut PgConnection,
    decision_id: i64,
    state: DecisionState,
    settled_by: i64,
    note: &str,
    notice_id: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE decisions SET state = $2, settled_by = $3, settled_at = now(), settle_note = $4, notice_id = $5
         WHERE id = $1 AND state = $6",
        decision_id,
        state as _,
        settled_by,
        note,
        notice_id,
        DecisionState::Proposed as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Points a confirmed decision at its notice rendered again (see `decisions::reissue_notice`);
/// returns the notice it replaced.
pub async fn replace_notice(
    conn: &mut PgConnection,
    decision_id: i64,
    notice_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"UPDATE decisions d SET notice_id = $2 FROM decisions old
            WHERE d.id = $1 AND old.id = d.id AND d.state = $3
        RETURNING old.notice_id AS "replaced!""#,
        decision_id,
        notice_id,
        DecisionState::Confirmed as _,
    )
    .fetch_optional(conn)
    .await
}

/// What a notice needs besides the decision: the round's rules and texts, the programme's.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct NoticeContext {
    pub round_title: String,
    pub financing_type: crate::programmes::model::FinancingType,
    pub max_rate_bp: i32,
    pub min_grant_cents: i64,
    pub max_grant_cents: Option<i64>,
    pub conditions_template: String,
    pub legal_basis: String,
    pub programme_name: String,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub eligible_cost_cents: Option<i64>,
    pub requested_grant_cents: Option<i64>,
}

pub async fn notice_context(conn: &mut PgConnection, id: i64) -> sqlx::Result<NoticeContext> {
    sqlx::query_as!(
        NoticeContext,
        r#"SELECT r.title AS round_title, r.financing_type AS "financing_type: _", r.max_rate_bp, r.min_grant_cents, r.max_grant_cents,
                r.conditions_template, p.legal_basis, p.name AS programme_name, m.street, m.postal_code, m.city,
                a.eligible_cost_cents, a.requested_grant_cents
         FROM applications a JOIN rounds r ON r.id = a.round_id JOIN programmes p ON p.id = r.programme_id
         JOIN municipalities m ON m.id = a.municipality_id
         WHERE a.id = $1"#,
        id,
    )
    .fetch_one(conn)
    .await
}

/// "Meine Aufgaben": cases assigned to `me` that are mine to work, proposals waiting for my
/// second signature, and Nachforderungen whose deadline has passed.
pub async fn tasks(conn: &mut PgConnection, me: i64, which: Task) -> sqlx::Result<Vec<CaseRow>> {
    // Each condition takes me ($1) and two values ($2, $3).
    let (condition, second, third) = match which {
        Task::Assigned => (
            "a.assigned_to = $1 AND a.status IN ($2, $3)",
            Status::Submitted.as_str(),
            Status::InReview.as_str(),
        ),
        Task::ToConfirm => (
            "a.status = $2 AND EXISTS (SELECT 1 FROM decisions d
             WHERE d.application_id = a.id AND d.state = $3 AND d.proposed_by <> $1)",
            Status::DecisionProposed.as_str(),
            DecisionState::Proposed.as_str(),
        ),
        Task::Overdue => (
            "a.status = $2 AND $1::bigint IS NOT NULL AND (SELECT (e.details ->> 'deadline')::bigint
             FROM application_events e WHERE e.application_id = a.id AND e.kind = $3
             ORDER BY e.at DESC, e.id DESC LIMIT 1) < extract(epoch FROM now())",
            Status::ChangesRequested.as_str(),
            Transition::RequestChanges.event_kind(),
        ),
    };
    // Runtime query: it shares the dashboard's columns and joins, which the dashboard's own
    // query (built at run time) needs as text.
    sqlx::query_as(&format!(
        "SELECT {CASE_COLUMNS}, '' AS sort_value{CASE_FROM} AND {condition} ORDER BY a.submitted_at, a.id LIMIT 200"
    ))
    .bind(me)
    .bind(second)
    .bind(third)
    .fetch_all(conn)
    .await
}

#[derive(Clone, Copy, Debug)]
pub enum Task {
    Assigned,
    ToConfirm,
    Overdue,
}

/// The figures of one status, one category or one Landkreis, added up from the tallies.
#[derive(Debug)]
pub struct GroupRow {
    pub key: GroupKey,
    pub applications: i64,
    /// Requested by all but withdrawn applications.
    pub requested_cents: i64,
    /// Granted by approved applications.
    pub granted_cents: i64,
    pub decided: i64,
    /// From submission to decision, summed over the decided applications.
    pub decision_seconds: i64,
}

/// What a [`GroupRow`] sums over: one status, one category or one Landkreis (each `None` where
/// the applications have none).
#[derive(Debug)]
pub enum GroupKey {
    Status(Status),
    Category {
        code: Option<String>,
        title: Option<String>,
    },
    District(Option<String>),
}

/// The statistics' three breakdowns in one pass over the tallies (`GROUPING SETS`): a row per
/// status, per category and per Landkreis, each set summing to the same totals.
pub async fn statistics_groups(
    conn: &mut PgConnection,
    round: Option<i64>,
) -> sqlx::Result<Vec<GroupRow>> {
    // GROUPING(status, category, district) sets a bit for each column a row does not group by.
    const BY_STATUS: i32 = 0b011;
    const BY_CATEGORY: i32 = 0b101;
    let rows = sqlx::query!(
        r#"SELECT g.grouped AS "grouped!", g.status AS "status?: Status", g.category_code,
                  c.title AS "category_title?", d.name AS "district?",
                  g.applications AS "applications!", g.requested_cents AS "requested_cents!",
                  g.granted_cents AS "granted_cents!", g.decided AS "decided!",
                  g.decision_seconds AS "decision_seconds!"
         FROM (SELECT t.status, t.category_code, t.district_id,
                      GROUPING(t.status, t.category_code, t.district_id) AS grouped,
                      sum(t.applications)::bigint AS applications,
                      coalesce(sum(t.requested_cents) FILTER (WHERE t.status <> $2), 0)::bigint AS requested_cents,
                      coalesce(sum(t.granted_cents) FILTER (WHERE t.status = ANY($3)), 0)::bigint AS granted_cents,
                      sum(t.decided)::bigint AS decided,
                      sum(t.decision_seconds)::bigint AS decision_seconds
               FROM application_tallies t
               WHERE $1::bigint IS NULL OR t.round_id = $1
               GROUP BY GROUPING SETS ((t.status), (t.category_code), (t.district_id))
               HAVING sum(t.applications) > 0) g
         LEFT JOIN municipalities d ON d.id = g.district_id
         LEFT JOIN (SELECT DISTINCT ON (code) code, title FROM categories ORDER BY code, id) c
                ON c.code = g.category_code"#,
        round,
        Status::Withdrawn as _,
        // A settled grant was granted too (its final amount is in the settlement figures).
        &[Status::Approved, Status::Settled] as &[Status],
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let key = match (r.grouped, r.status) {
                (BY_STATUS, Some(status)) => GroupKey::Status(status),
                // The tallies' status is never NULL.
                (BY_STATUS, None) => return None,
                (BY_CATEGORY, _) => GroupKey::Category {
                    code: r.category_code,
                    title: r.category_title,
                },
                _ => GroupKey::District(r.district),
            };
            Some(GroupRow {
                key,
                applications: r.applications,
                requested_cents: r.requested_cents,
                granted_cents: r.granted_cents,
                decided: r.decided,
                decision_seconds: r.decision_seconds,
            })
        })
        .collect())
}

pub async fn applicant_municipalities(
    conn: &mut PgConnection,
    round: Option<i64>,
) -> sqlx::Result<i64> {
    // One index probe per municipality instead of a distinct count over every application.
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM municipalities m
         WHERE EXISTS (SELECT 1 FROM applications a
                       WHERE a.municipality_id = m.id AND a.reference IS NOT NULL
                         AND ($1::bigint IS NULL OR a.round_id = $1))"#,
        round,
    )
    .fetch_one(conn)
    .await
}

/// Joint projects (with at least one partner) and their partners.
pub async fn joint_projects(
    conn: &mut PgConnection,
    round: Option<i64>,
) -> sqlx::Result<(i64, i64)> {
    let counts = sqlx::query!(
        r#"SELECT count(DISTINCT p.application_id) AS "projects!", count(*) AS "partners!"
         FROM application_partners p JOIN applications a ON a.id = p.application_id
         WHERE a.reference IS NOT NULL AND a.status <> $2 AND ($1::bigint IS NULL OR a.round_id = $1)"#,
        round,
        Status::Withdrawn as _,
    )
    .fetch_one(conn)
    .await?;
    Ok((counts.projects, counts.partners))
}

/// One round's month: applications first submitted in it, and grants decided in it.
pub struct MonthRow {
    pub round_id: i64,
    /// The first day of the month in Berlin; `None` for applications lacking the date.
    pub month: Option<time::Date>,
    pub submitted: i64,
    pub granted: i64,
    pub granted_cents: i64,
}

/// The rounds' months in order, from the month tallies (a few rows per month instead of every
/// application).
pub async fn months(conn: &mut PgConnection, rounds: &[i64]) -> sqlx::Result<Vec<MonthRow>> {
    sqlx::query_as!(
        MonthRow,
        r#"SELECT round_id, month, sum(submitted)::bigint AS "submitted!",
                  sum(granted)::bigint AS "granted!", sum(granted_cents)::bigint AS "granted_cents!"
         FROM application_month_tallies
         WHERE round_id = ANY($1)
         GROUP BY round_id, month
         HAVING sum(submitted) <> 0 OR sum(granted) <> 0 OR sum(granted_cents) <> 0
         ORDER BY round_id, month NULLS LAST"#,
        rounds,
    )
    .fetch_all(conn)
    .await
}
