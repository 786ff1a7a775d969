//! SQL for the municipality directory.

use sqlx::PgConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MunicipalityRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub ags: Option<String>,
    pub ars: Option<String>,
    pub city: Option<String>,
    pub parent_name: Option<String>,
    pub active: bool,
}

/// Municipalities whose name or key contains `query` (all when empty), by name.
pub async fn search(
    conn: &mut PgConnection,
    query: &str,
    limit: i64,
) -> sqlx::Result<Vec<MunicipalityRow>> {
    sqlx::query_as(
        "SELECT m.id, m.name, m.kind, m.ags, m.ars, m.city, p.name AS parent_name, m.active
         FROM municipalities m LEFT JOIN municipalities p ON p.id = m.parent_id
         WHERE $1 = '' OR m.name ILIKE '%' || $1 || '%' OR m.ags LIKE $1 || '%' OR m.ars LIKE $1 || '%'
         ORDER BY m.name COLLATE \"C\", m.id
         LIMIT $2",
    )
    .bind(query.replace(['%', '_', '\\'], ""))
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn id_by_ags(conn: &mut PgConnection, ags: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = $1")
        .bind(ags)
        .fetch_optional(conn)
        .await
}

pub async fn count(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM municipalities")
        .fetch_one(conn)
        .await
}

/// Active municipalities for a choice list: id and name, by name.
pub async fn choices(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT id, name FROM municipalities WHERE active ORDER BY name COLLATE \"C\", id",
    )
    .fetch_all(conn)
    .await
}

pub async fn exists_active(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM municipalities WHERE id = $1 AND active)")
        .bind(id)
        .fetch_one(conn)
        .await
}
