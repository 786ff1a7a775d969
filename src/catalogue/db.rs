//! SQL for the catalogue: entries as their owners keep them, what the public sees of them
//! (the view `catalogue_public`), and the requests for reuse.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::model::{OwnEntry, Search};

/// An entry as the public sees it.
#[derive(Clone, Debug)]
pub struct PublicEntry {
    pub id: i64,
    pub reference: Option<String>,
    pub title: String,
    pub summary: String,
    pub reuse: String,
    pub technologies: String,
    pub mailbox: String,
    pub category_code: Option<String>,
    pub category_title: Option<String>,
    pub municipality: String,
    pub district: Option<String>,
    pub round_title: String,
    pub partners: String,
    pub period_start: Option<Date>,
    pub period_end: Option<Date>,
    pub granted_cents: Option<i64>,
    pub phase: String,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The columns of [`PublicEntry`] from the view (all nullable to the macros, hence the `!`).
macro_rules! public_entry {
    ($($rest:tt)*) => {
        sqlx::query_as!(
            PublicEntry,
            r#"SELECT p.id AS "id!", p.reference, p.title AS "title!", p.summary AS "summary!",
                      p.reuse AS "reuse!", p.technologies AS "technologies!", p.mailbox AS "mailbox!",
                      p.category_code, p.category_title, p.municipality AS "municipality!",
                      p.district, p.round_title AS "round_title!", p.partners AS "partners!",
                      p.period_start, p.period_end, p.granted_cents, p.phase AS "phase!",
                      p.published_at AS "published_at!", p.updated_at AS "updated_at!"
               FROM catalogue_public p "# + $($rest)*
        )
    };
}

pub async fn own_entry(
    conn: &mut PgConnection,
    application: i64,
) -> sqlx::Result<Option<OwnEntry>> {
    sqlx::query_as!(
        OwnEntry,
        "SELECT summary, reuse, technologies, mailbox FROM catalogue_entries WHERE application_id = $1",
        application
    )
    .fetch_optional(conn)
    .await
}

pub async fn save_entry(
    conn: &mut PgConnection,
    application: i64,
    e: &OwnEntry,
    user: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO catalogue_entries (application_id, title, summary, reuse, technologies, mailbox, published_by)
         SELECT a.id, a.title, $2, $3, $4, $5, $6 FROM applications a WHERE a.id = $1
         ON CONFLICT (application_id) DO UPDATE SET summary = EXCLUDED.summary,
             reuse = EXCLUDED.reuse, technologies = EXCLUDED.technologies,
             mailbox = EXCLUDED.mailbox, published_by = EXCLUDED.published_by, updated_at = now()",
        application,
        e.summary,
        e.reuse,
        e.technologies,
        e.mailbox,
        user,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Withdraws the consent: the entry and its requests go.
pub async fn delete_entry(conn: &mut PgConnection, application: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM catalogue_entries WHERE application_id = $1",
        application
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// One page of the public catalogue for the search, and how many entries it finds. The page is
/// chosen on the entries' own facts (one table); only its rows are joined for display.
pub async fn search(
    conn: &mut PgConnection,
    s: &Search,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<PublicEntry>, i64)> {
    let ids = sqlx::query_scalar!(
        "SELECT e.application_id FROM catalogue_entries e
         WHERE e.visible
           AND ($1 = '' OR e.search @@ websearch_to_tsquery('german', $1))
           AND ($2 = '' OR e.category_code = $2)
           AND ($3::bigint IS NULL OR e.district_id = $3)
           AND ($4 = '' OR catalogue_phase(e.settled, e.period_start, e.period_end) = $4)
         ORDER BY CASE WHEN $5 AND $1 <> '' THEN ts_rank(e.search, websearch_to_tsquery('german', $1)) END DESC NULLS LAST,
                  e.published_at DESC, e.application_id DESC
         LIMIT $6 OFFSET $7",
        s.text,
        s.category,
        s.district,
        s.phase,
        s.by_relevance,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    let rows = public_entry!(
        "WHERE p.id = ANY($1) ORDER BY array_position($1, p.id)",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM catalogue_entries e
           WHERE e.visible
             AND ($1 = '' OR e.search @@ websearch_to_tsquery('german', $1))
             AND ($2 = '' OR e.category_code = $2)
             AND ($3::bigint IS NULL OR e.district_id = $3)
             AND ($4 = '' OR catalogue_phase(e.settled, e.period_start, e.period_end) = $4)"#,
        s.text,
        s.category,
        s.district,
        s.phase,
    )
    .fetch_one(conn)
    .await?;
    Ok((rows, total))
}

pub async fn public_entry(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<PublicEntry>> {
    public_entry!("WHERE p.id = $1", id)
        .fetch_optional(conn)
        .await
}

/// Every public entry, newest first (the open data).
pub async fn all_public(conn: &mut PgConnection) -> sqlx::Result<Vec<PublicEntry>> {
    public_entry!("ORDER BY p.published_at DESC, p.id DESC")
        .fetch_all(conn)
        .await
}

/// The Landkreise and categories that public entries have, for the filters.
pub async fn filter_choices(
    conn: &mut PgConnection,
) -> sqlx::Result<(Vec<(String, String)>, Vec<(i64, String)>)> {
    let categories = sqlx::query!(
        "SELECT DISTINCT c.code, c.title FROM categories c
         WHERE EXISTS (SELECT 1 FROM catalogue_entries e
                       JOIN applications a ON a.id = e.application_id
                       JOIN rounds r ON r.id = a.round_id
                       WHERE e.visible AND e.category_code = c.code
                         AND r.programme_id = c.programme_id)
         ORDER BY 1"
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.code, r.title))
    .collect();
    let districts = sqlx::query!(
        "SELECT m.id, m.name FROM municipalities m
         WHERE EXISTS (SELECT 1 FROM catalogue_entries e WHERE e.visible AND e.district_id = m.id)
         ORDER BY 2"
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect();
    Ok((categories, districts))
}

pub struct NewRequest<'a> {
    pub application: i64,
    pub name: &'a str,
    pub email: &'a str,
    pub municipality: &'a str,
    pub message: &'a str,
    pub client: &'a str,
}

pub async fn insert_request(conn: &mut PgConnection, r: &NewRequest<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO catalogue_requests (application_id, name, email, municipality, message, client)
         VALUES ($1, $2, $3, $4, $5, $6)",
        r.application,
        r.name,
        r.email,
        r.municipality,
        r.message,
        r.client,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Requests in the last hour from this client, and to this entry.
pub async fn recent_requests(
    conn: &mut PgConnection,
    client: &str,
    application: i64,
) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE client = $1) AS "client!",
                  count(*) FILTER (WHERE application_id = $2) AS "entry!"
           FROM catalogue_requests WHERE at > now() - interval '1 hour'"#,
        client,
        application,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.client, row.entry))
}

#[derive(Clone, Debug)]
pub struct RequestRow {
    pub name: String,
    pub email: String,
    pub municipality: String,
    pub message: String,
    pub at: OffsetDateTime,
}

/// The requests an entry received, newest first.
pub async fn requests_for(
    conn: &mut PgConnection,
    application: i64,
) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        "SELECT name, email, municipality, message, at FROM catalogue_requests
         WHERE application_id = $1 ORDER BY at DESC, id DESC",
        application
    )
    .fetch_all(conn)
    .await
}

/// A published (not draft) round, as its public figures name it.
#[derive(Clone, Debug)]
pub struct PublishedRound {
    pub id: i64,
    pub title: String,
    pub year: i32,
    pub budget_cents: i64,
}

/// The submitted applications (never drafts) of one municipality in one round and category:
/// the finest grain of the public figures, from which `figures::Figures` adds up every total.
#[derive(Clone, Debug)]
pub struct FigureRow {
    pub round_id: i64,
    pub category_code: Option<String>,
    pub category_title: Option<String>,
    pub municipality_id: i64,
    pub district: Option<String>,
    pub applications: i64,
    /// Requested by every submitted application, rejected and withdrawn ones too.
    pub requested_cents: i64,
    /// Approved or settled applications and their grants (as amended).
    pub approved: i64,
    pub granted_cents: i64,
    pub rejected: i64,
    pub withdrawn: i64,
}

/// The published rounds, newest first, and their figure rows: what the statistics page and
/// the open-data round files both read, so that they cannot tell different numbers.
pub async fn public_figures(
    conn: &mut PgConnection,
) -> sqlx::Result<(Vec<PublishedRound>, Vec<FigureRow>)> {
    use crate::applications::model::Status;
    let draft = crate::programmes::model::RoundState::Draft;
    let rounds = sqlx::query_as!(
        PublishedRound,
        "SELECT id, title, year, budget_cents FROM rounds WHERE state <> $1
         ORDER BY year DESC, id DESC",
        draft as _,
    )
    .fetch_all(&mut *conn)
    .await?;
    let rows = sqlx::query_as!(
        FigureRow,
        r#"SELECT a.round_id, a.category_code, c.title AS "category_title?",
                  a.municipality_id, d.name AS "district?",
                  count(*) AS "applications!",
                  coalesce(sum(a.requested_grant_cents), 0)::bigint AS "requested_cents!",
                  count(*) FILTER (WHERE a.status = ANY($2)) AS "approved!",
                  coalesce(sum(a.granted_cents) FILTER (WHERE a.status = ANY($2)), 0)::bigint
                      AS "granted_cents!",
                  count(*) FILTER (WHERE a.status = $3) AS "rejected!",
                  count(*) FILTER (WHERE a.status = $4) AS "withdrawn!"
           FROM applications a
           JOIN rounds r ON r.id = a.round_id
           LEFT JOIN categories c ON c.programme_id = r.programme_id AND c.code = a.category_code
           LEFT JOIN municipalities d ON d.id = a.district_id
           WHERE a.reference IS NOT NULL AND r.state <> $1
           GROUP BY a.round_id, a.category_code, c.title, a.municipality_id, d.name"#,
        draft as _,
        &[Status::Approved, Status::Settled] as &[Status],
        Status::Rejected as _,
        Status::Withdrawn as _,
    )
    .fetch_all(conn)
    .await?;
    Ok((rounds, rows))
}
