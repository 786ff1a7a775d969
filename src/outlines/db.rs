//! Projektskizzen in the database: the outline, its consultation messages, and the interest
//! other municipalities expressed in the partner search.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::model::{Consultation, Search, ValidOutline};
use crate::money::Cents;

pub struct OutlineRow {
    pub id: i64,
    pub municipality_id: i64,
    pub municipality: String,
    /// The Landkreis, or the kreisfreie Stadt itself.
    pub district: String,
    pub title: String,
    pub goal: String,
    pub category_code: Option<String>,
    pub category_title: Option<String>,
    pub estimated_cost_cents: Option<i64>,
    pub planned_start: Option<Date>,
    pub planned_end: Option<Date>,
    pub partners_wanted: bool,
    pub partners_for: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub consultation: Consultation,
    pub consultation_at: Option<OffsetDateTime>,
    pub agreed_at: Option<OffsetDateTime>,
    pub agreed_by: Option<String>,
    pub reviewer_id: Option<i64>,
    pub in_partner_search: bool,
    pub application_id: Option<i64>,
    pub updated_at: OffsetDateTime,
}

impl OutlineRow {
    pub fn outline(&self) -> ValidOutline {
        ValidOutline {
            title: self.title.clone(),
            goal: self.goal.clone(),
            category_code: self.category_code.clone(),
            estimated_cost: self.estimated_cost_cents.map(Cents::new),
            planned_start: self.planned_start,
            planned_end: self.planned_end,
            partners_wanted: self.partners_wanted,
            partners_for: self.partners_for.clone(),
            contact_name: self.contact_name.clone(),
            contact_email: self.contact_email.clone(),
            contact_phone: self.contact_phone.clone(),
        }
    }

    /// Shared with the ministry or in the partner search; drafts are the municipality's own.
    pub fn is_shared(&self) -> bool {
        self.consultation != Consultation::None || self.in_partner_search
    }
}

/// One query for every way an outline is read, so that each page sees the same columns.
macro_rules! select_outlines {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            OutlineRow,
            r#"SELECT o.id, o.municipality_id, m.name AS municipality,
                      coalesce(d.name, m.name) AS "district!",
                      o.title, o.goal, o.category_code, c.title AS "category_title?",
                      o.estimated_cost_cents, o.planned_start, o.planned_end, o.partners_wanted,
                      o.partners_for, o.contact_name, o.contact_email, o.contact_phone,
                      o.consultation AS "consultation: Consultation", o.consultation_at,
                      o.agreed_at, u.display_name AS "agreed_by?", o.reviewer_id,
                      o.in_partner_search, o.application_id, o.updated_at
               FROM outlines o
               JOIN municipalities m ON m.id = o.municipality_id
               LEFT JOIN municipalities d ON d.id = m.parent_id
               LEFT JOIN categories c ON c.code = o.category_code
                    AND c.programme_id = (SELECT id FROM programmes ORDER BY id LIMIT 1)
               LEFT JOIN users u ON u.id = o.agreed_by "# + $tail
            $(, $arg)*
        )
    };
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<OutlineRow>> {
    select_outlines!("WHERE o.id = $1", id)
        .fetch_optional(conn)
        .await
}

/// [`find`], locked until the end of the transaction (changes take it first).
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<OutlineRow>> {
    sqlx::query!("SELECT id FROM outlines WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?;
    find(conn, id).await
}

pub async fn of_municipality(
    conn: &mut PgConnection,
    municipality_id: i64,
) -> sqlx::Result<Vec<OutlineRow>> {
    select_outlines!(
        "WHERE o.municipality_id = $1 ORDER BY o.updated_at DESC, o.id DESC",
        municipality_id
    )
    .fetch_all(conn)
    .await
}

/// What the ministry sees: outlines sent for consultation, open ones first.
pub async fn consultations(conn: &mut PgConnection) -> sqlx::Result<Vec<OutlineRow>> {
    select_outlines!(
        "WHERE o.consultation <> $1
         ORDER BY o.consultation = $2 DESC, o.updated_at DESC, o.id DESC LIMIT 500",
        Consultation::None as _,
        Consultation::Requested as _,
    )
    .fetch_all(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    municipality_id: i64,
    user_id: i64,
    o: &ValidOutline,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO outlines (municipality_id, created_by, title, goal, category_code,
                 estimated_cost_cents, planned_start, planned_end, partners_wanted, partners_for,
                 contact_name, contact_email, contact_phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        municipality_id,
        user_id,
        o.title,
        o.goal,
        o.category_code,
        o.estimated_cost.map(Cents::get),
        o.planned_start,
        o.planned_end,
        o.partners_wanted,
        o.partners_for,
        o.contact_name,
        o.contact_email,
        o.contact_phone,
    )
    .fetch_one(conn)
    .await
}

/// Saves the outline's answers; an outline without partners wanted leaves the partner search.
pub async fn update(conn: &mut PgConnection, id: i64, o: &ValidOutline) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE outlines SET title = $2, goal = $3, category_code = $4, estimated_cost_cents = $5,
                planned_start = $6, planned_end = $7, partners_wanted = $8, partners_for = $9,
                contact_name = $10, contact_email = $11, contact_phone = $12,
                in_partner_search = in_partner_search AND $8, updated_at = now()
         WHERE id = $1",
        id,
        o.title,
        o.goal,
        o.category_code,
        o.estimated_cost.map(Cents::get),
        o.planned_start,
        o.planned_end,
        o.partners_wanted,
        o.partners_for,
        o.contact_name,
        o.contact_email,
        o.contact_phone,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM outlines WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_consultation(
    conn: &mut PgConnection,
    id: i64,
    to: Consultation,
    by: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE outlines SET consultation = $2,
                consultation_at = coalesce(consultation_at, now()),
                agreed_at = CASE WHEN $2 = $3 THEN now() END,
                agreed_by = CASE WHEN $2 = $3 THEN $4::bigint END,
                updated_at = now()
         WHERE id = $1",
        id,
        to as _,
        Consultation::Agreed as _,
        by,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_partner_search(conn: &mut PgConnection, id: i64, on: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE outlines SET in_partner_search = $2 AND partners_wanted, updated_at = now()
         WHERE id = $1",
        id,
        on,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The application made from it; the outline leaves the partner search.
pub async fn set_application(
    conn: &mut PgConnection,
    id: i64,
    application_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE outlines SET application_id = $2, in_partner_search = false, updated_at = now()
         WHERE id = $1",
        id,
        application_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct MessageRow {
    pub author: String,
    pub from_ministry: bool,
    pub body: String,
    pub at: OffsetDateTime,
}

pub async fn messages(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as!(
        MessageRow,
        "SELECT u.display_name AS author, n.from_ministry, n.body, n.at
         FROM outline_messages n JOIN users u ON u.id = n.author_id
         WHERE n.outline_id = $1 ORDER BY n.at, n.id",
        id
    )
    .fetch_all(conn)
    .await
}

/// Stores a message; a reviewer's answer makes them the outline's reviewer.
pub async fn add_message(
    conn: &mut PgConnection,
    id: i64,
    author_id: i64,
    from_ministry: bool,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO outline_messages (outline_id, author_id, from_ministry, body)
         VALUES ($1, $2, $3, $4)",
        id,
        author_id,
        from_ministry,
        body,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE outlines SET updated_at = now(),
                reviewer_id = CASE WHEN $2 THEN $3 ELSE reviewer_id END
         WHERE id = $1",
        id,
        from_ministry,
        author_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct InterestRow {
    pub municipality_id: i64,
    pub municipality: String,
    pub name: String,
    pub email: String,
    pub message: String,
    pub at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
}

pub async fn interests(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<InterestRow>> {
    sqlx::query_as!(
        InterestRow,
        "SELECT i.municipality_id, m.name AS municipality, u.display_name AS name, u.email,
                i.message, i.at, i.accepted_at
         FROM outline_interests i
         JOIN municipalities m ON m.id = i.municipality_id JOIN users u ON u.id = i.user_id
         WHERE i.outline_id = $1 ORDER BY i.at, m.name",
        id
    )
    .fetch_all(conn)
    .await
}

/// False when the municipality has expressed interest already.
pub async fn add_interest(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
    user_id: i64,
    message: &str,
) -> sqlx::Result<bool> {
    let added = sqlx::query!(
        "INSERT INTO outline_interests (outline_id, municipality_id, user_id, message)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        id,
        municipality_id,
        user_id,
        message,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(added == 1)
}

/// The clerk who expressed the interest, if it was open; it is accepted now.
pub async fn accept_interest(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
    by: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "UPDATE outline_interests SET accepted_at = now(), accepted_by = $3
         WHERE outline_id = $1 AND municipality_id = $2 AND accepted_at IS NULL
         RETURNING user_id",
        id,
        municipality_id,
        by,
    )
    .fetch_optional(conn)
    .await
}

/// The accepted partners, for the application made from the outline.
pub async fn accepted_partners(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT municipality_id FROM outline_interests
         WHERE outline_id = $1 AND accepted_at IS NOT NULL ORDER BY accepted_at",
        id
    )
    .fetch_all(conn)
    .await
}

/// An outline in the partner search's list.
pub struct SearchRow {
    pub id: i64,
    pub title: String,
    pub municipality: String,
    pub district: String,
    pub category_code: Option<String>,
    pub partners_for: String,
    pub updated_at: OffsetDateTime,
}

/// Outlines in the partner search matching `s` (newest first, best matches first while
/// searching), and how many there are in all.
pub async fn partner_search(
    conn: &mut PgConnection,
    s: &Search,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<SearchRow>, i64)> {
    let rows = sqlx::query!(
        r#"SELECT o.id, o.title, m.name AS municipality, coalesce(d.name, m.name) AS "district!",
                  o.category_code, o.partners_for, o.updated_at, count(*) OVER () AS "total!"
           FROM outlines o
           JOIN municipalities m ON m.id = o.municipality_id
           LEFT JOIN municipalities d ON d.id = m.parent_id
           WHERE o.in_partner_search
             AND ($1 = '' OR o.search @@ websearch_to_tsquery('german', $1))
             AND ($2 = '' OR o.category_code = $2)
             AND ($3::bigint IS NULL OR coalesce(m.parent_id, m.id) = $3)
           ORDER BY CASE WHEN $1 = '' THEN 0
                         ELSE ts_rank(o.search, websearch_to_tsquery('german', $1)) END DESC,
                    o.updated_at DESC, o.id DESC
           LIMIT $4 OFFSET $5"#,
        s.text,
        s.category,
        s.district,
        limit,
        offset,
    )
    .fetch_all(conn)
    .await?;
    let total = rows.first().map_or(0, |r| r.total);
    let rows = rows
        .into_iter()
        .map(|r| SearchRow {
            id: r.id,
            title: r.title,
            municipality: r.municipality,
            district: r.district,
            category_code: r.category_code,
            partners_for: r.partners_for,
            updated_at: r.updated_at,
        })
        .collect();
    Ok((rows, total))
}
