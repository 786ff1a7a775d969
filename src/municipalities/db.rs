//! SQL for the municipality directory.

use sqlx::PgConnection;

#[derive(Clone, Debug)]
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
    sqlx::query_as!(
        MunicipalityRow,
        r#"SELECT m.id, m.name, m.kind, m.ags, m.ars, m.city, p.name AS "parent_name?", m.active
           FROM municipalities m LEFT JOIN municipalities p ON p.id = m.parent_id
           WHERE $1 = '' OR m.name ILIKE '%' || $1 || '%' OR m.ags LIKE $1 || '%' OR m.ars LIKE $1 || '%'
           ORDER BY m.name COLLATE "C", m.id
           LIMIT $2"#,
        query.replace(['%', '_', '\\'], ""),
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn id_by_ags(conn: &mut PgConnection, ags: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT id FROM municipalities WHERE ags = $1", ags)
        .fetch_optional(conn)
        .await
}

pub async fn count(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM municipalities"#)
        .fetch_one(conn)
        .await
}

/// Active municipalities for a choice list: id and name, by name.
pub async fn choices(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query!(
        r#"SELECT id, name FROM municipalities WHERE active ORDER BY name COLLATE "C", id"#,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// Landkreise and kreisfreie Städte, for a filter: id and name, by name.
pub async fn district_choices(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query!(
        "SELECT id, name FROM municipalities WHERE kind IN ('landkreis', 'kreisfreie_stadt') ORDER BY name",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

pub async fn exists_active(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM municipalities WHERE id = $1 AND active) AS "exists!""#,
        id,
    )
    .fetch_one(conn)
    .await
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Of the kinds the file lists, those no longer in it (mergers): inactive, never deleted.
    pub deactivated: usize,
    pub rejected: Vec<super::import::Rejected>,
}

struct Existing {
    id: i64,
    name: String,
    kind: String,
    ags: Option<String>,
    ars: Option<String>,
    parent_id: Option<i64>,
    street: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    active: bool,
}

/// Reads the file, applies it in one transaction and records it in the audit log; nothing is
/// written when the file as a whole cannot be used.
pub async fn import(
    pool: &sqlx::PgPool,
    bytes: &[u8],
    actor: crate::audit::Actor<'_>,
) -> Result<ImportReport, ImportFailure> {
    let parsed = super::import::parse(bytes)?;
    let mut tx = pool.begin().await?;
    let report = apply_import(&mut tx, parsed).await?;
    let details = serde_json::json!({
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
        "deactivated": report.deactivated, "rejected": report.rejected.len(),
    });
    crate::audit::record(
        &mut tx,
        actor,
        "municipalities.imported",
        crate::audit::Subject::Directory,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    #[error(transparent)]
    File(#[from] super::import::ImportError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Applies the rows in the caller's transaction, keyed by AGS (else ARS): adds, updates, leaves
/// unchanged, and marks municipalities of the file's kinds that are missing from it inactive.
pub async fn apply_import(
    conn: &mut PgConnection,
    parsed: super::import::Parsed,
) -> sqlx::Result<ImportReport> {
    use super::import::Rejected;
    let mut report = ImportReport {
        rejected: parsed.rejected,
        ..ImportReport::default()
    };
    let mut kept: Vec<i64> = Vec::new();
    let kinds: Vec<&str> = {
        let mut k: Vec<&str> = parsed.rows.iter().map(|r| r.kind.as_str()).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    for row in parsed.rows {
        let existing = sqlx::query_as!(
            Existing,
            "SELECT id, name, kind, ags, ars, parent_id, street, postal_code, city, active FROM municipalities
             WHERE ($1::text IS NOT NULL AND ags = $1) OR ($1::text IS NULL AND ars = $2)",
            row.ags,
            row.ars,
        )
        .fetch_optional(&mut *conn)
        .await?;
        // The other key must not belong to a different municipality. ($3 is cast because Postgres
        // would infer integer from the -1; the id was always sent as a bigint.)
        let clash = sqlx::query_scalar!(
            "SELECT id FROM municipalities WHERE (ars = $1 OR ags = $2) AND id <> coalesce($3::bigint, -1) LIMIT 1",
            row.ars,
            row.ags,
            existing.as_ref().map(|e| e.id),
        )
        .fetch_optional(&mut *conn)
        .await?;
        if clash.is_some() {
            report.rejected.push(Rejected {
                line: row.line,
                reason: "Der Schlüssel gehört schon zu einer anderen Kommune.".into(),
            });
            continue;
        }
        let parent_id: Option<i64> = match (row.kind.is_district_level(), row.district()) {
            (false, Some(district)) => {
                sqlx::query_scalar!(
                    "SELECT id FROM municipalities WHERE ags = $1 AND kind IN ('landkreis', 'kreisfreie_stadt')",
                    format!("{district}000"),
                )
                .fetch_optional(&mut *conn)
                .await?
            }
            _ => None,
        };
        match existing {
            None => {
                let id = sqlx::query_scalar!(
                    "INSERT INTO municipalities (name, kind, ags, ars, parent_id, street, postal_code, city)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    row.name,
                    row.kind.as_str(),
                    row.ags,
                    row.ars,
                    parent_id,
                    row.street,
                    row.postal_code,
                    row.city,
                )
                .fetch_one(&mut *conn)
                .await?;
                kept.push(id);
                report.added += 1;
            }
            Some(old) => {
                kept.push(old.id);
                if update_existing(conn, old, row, parent_id).await? {
                    report.updated += 1;
                } else {
                    report.unchanged += 1;
                }
            }
        }
    }
    if !kept.is_empty() {
        let done = sqlx::query!(
            "UPDATE municipalities SET active = false, updated_at = now()
             WHERE active AND kind = ANY($1) AND NOT (id = ANY($2))",
            // The macro checks text[] against Vec<String>; the borrowed kinds encode the same.
            &kinds as _,
            kept.as_slice(),
        )
        .execute(&mut *conn)
        .await?;
        report.deactivated = usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
    }
    Ok(report)
}

/// Brings a municipality up to date with its row of the file; false when nothing changed.
/// Keys and address parts the file leaves empty keep their stored value.
async fn update_existing(
    conn: &mut PgConnection,
    old: Existing,
    row: super::import::ImportRow,
    parent_id: Option<i64>,
) -> sqlx::Result<bool> {
    let ars = row.ars.or(old.ars.clone());
    let ags = row.ags.or(old.ags.clone());
    let street = row.street.or(old.street.clone());
    let postal_code = row.postal_code.or(old.postal_code.clone());
    let city = row.city.or(old.city.clone());
    let parent_id = parent_id.or(old.parent_id);
    let same = old.name == row.name
        && old.kind == row.kind.as_str()
        && old.ags == ags
        && old.ars == ars
        && old.parent_id == parent_id
        && old.street == street
        && old.postal_code == postal_code
        && old.city == city
        && old.active;
    if same {
        return Ok(false);
    }
    sqlx::query!(
        "UPDATE municipalities SET name = $2, kind = $3, ags = $4, ars = $5, parent_id = $6, street = $7,
                postal_code = $8, city = $9, active = true, updated_at = now()
         WHERE id = $1",
        old.id,
        row.name,
        row.kind.as_str(),
        ags,
        ars,
        parent_id,
        street,
        postal_code,
        city,
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// One municipality as the edit form shows it.
#[derive(Clone, Debug)]
pub struct MunicipalityRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub ags: Option<String>,
    pub ars: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub active: bool,
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<MunicipalityRecord>> {
    sqlx::query_as!(
        MunicipalityRecord,
        "SELECT id, name, kind, ags, ars, street, postal_code, city, active FROM municipalities WHERE id = $1",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Saves the edited fields; `Ok(false)` when the AGS or ARS belongs to another municipality.
pub async fn update(conn: &mut PgConnection, m: &MunicipalityRecord) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE municipalities SET name = $2, kind = $3, ags = $4, ars = $5, street = $6, postal_code = $7,
                city = $8, active = $9, updated_at = now()
         WHERE id = $1",
        m.id,
        m.name,
        m.kind,
        m.ags,
        m.ars,
        m.street,
        m.postal_code,
        m.city,
        m.active,
    )
    .execute(conn)
    .await;
    crate::database::ok_unless_taken(result)
}

pub async fn name_of(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT name FROM municipalities WHERE id = $1", id)
        .fetch_optional(conn)
        .await
}
