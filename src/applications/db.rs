//! SQL for applications: the aggregate, its sections, partners, attachments, timeline and
//! revisions. Status changes are not here: only `workflow` writes `applications.status`.

use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;

use super::forms::Answers;
use super::model::{Section, Status, Transition};
use crate::programmes::model::RoundState;

#[derive(Clone, Debug)]
pub struct ApplicationRow {
    pub id: i64,
    pub round_id: i64,
    pub round_title: String,
    pub round_closes_at: OffsetDateTime,
    pub municipality_id: i64,
    pub municipality_name: String,
    pub status: Status,
    pub reference: Option<String>,
    pub title: String,
    pub requested_grant_cents: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub submitted_at: Option<OffsetDateTime>,
}

impl ApplicationRow {
    /// The title, or a stand-in while the clerk has not given one.
    pub fn display_title(&self) -> String {
        super::model::shown_title(&self.title, self.created_at)
    }
}

/// The columns of [`ApplicationRow`] from the view `application_rows` (the application with the
/// names of its round and municipality), which every query for such rows reads. A view's
/// columns are all nullable to the query macros, hence the `!`.
macro_rules! application_row {
    ($($rest:tt)*) => {
        sqlx::query_as!(
            ApplicationRow,
            r#"SELECT a.id AS "id!", a.round_id AS "round_id!", a.round_title AS "round_title!",
                      a.round_closes_at AS "round_closes_at!", a.municipality_id AS "municipality_id!",
                      a.municipality_name AS "municipality_name!", a.status AS "status!: Status",
                      a.reference, a.title AS "title!", a.requested_grant_cents,
                      a.created_at AS "created_at!", a.updated_at AS "updated_at!", a.submitted_at
               FROM application_rows a "# + $($rest)*
        )
    };
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ApplicationRow>> {
    application_row!("WHERE a.id = $1", id)
        .fetch_optional(conn)
        .await
}

/// Locks the application for the rest of the transaction: saves and transitions of one
/// application happen one after the other.
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ApplicationRow>> {
    sqlx::query!("SELECT id FROM applications WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?;
    find(conn, id).await
}

/// The municipality's own applications, most recently changed first.
pub async fn of_municipality(
    conn: &mut PgConnection,
    municipality_id: i64,
) -> sqlx::Result<Vec<ApplicationRow>> {
    application_row!(
        "WHERE a.municipality_id = $1 ORDER BY a.updated_at DESC, a.id DESC",
        municipality_id
    )
    .fetch_all(conn)
    .await
}

/// Joint projects of other municipalities in which this one is a partner.
pub async fn as_partner(
    conn: &mut PgConnection,
    municipality_id: i64,
) -> sqlx::Result<Vec<ApplicationRow>> {
    application_row!(
        "JOIN application_partners p ON p.application_id = a.id AND p.municipality_id = $1
         WHERE a.status <> $2 OR a.reference IS NOT NULL
         ORDER BY a.updated_at DESC, a.id DESC",
        municipality_id,
        Status::Withdrawn as _
    )
    .fetch_all(conn)
    .await
}

/// Deletes an application that was never submitted (a draft, or a draft withdrawn before
/// submission) with everything it holds. Returns the storage keys of its files, to be removed
/// once the transaction has committed, or `None` when it was submitted (it stays on record).
pub async fn delete_unsubmitted(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<Vec<String>>> {
    sqlx::query_scalar!(
        r#"WITH files AS (SELECT storage_key FROM application_attachments WHERE application_id = $1),
                gone AS (DELETE FROM applications WHERE id = $1 AND reference IS NULL RETURNING id)
           SELECT array(SELECT storage_key FROM files) AS "keys!" FROM gone"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn create(
    conn: &mut PgConnection,
    round_id: i64,
    municipality_id: i64,
    user_id: i64,
) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar!(
        "INSERT INTO applications (round_id, municipality_id, created_by, search_text, district_id)
         SELECT $1, $2, $3, name, coalesce(parent_id, id) FROM municipalities WHERE id = $2
         RETURNING id",
        round_id,
        municipality_id,
        user_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    insert_event(conn, id, "created", Some(user_id), "", None).await?;
    Ok(id)
}

/// Copies of validated answers for lists and filters; `None` where the answer is not valid.
pub struct Summary<'a> {
    pub title: &'a str,
    pub category_code: Option<&'a str>,
    pub total_cost_cents: Option<i64>,
    pub eligible_cost_cents: Option<i64>,
    pub requested_grant_cents: Option<i64>,
    /// What the search finds besides reference and title: municipality, summary, description.
    pub search_text: &'a str,
}

pub async fn update_summary(conn: &mut PgConnection, id: i64, s: &Summary<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE applications SET title = $2, category_code = $3, total_cost_cents = $4,
                eligible_cost_cents = $5, requested_grant_cents = $6, search_text = $7, updated_at = now()
         WHERE id = $1",
        id,
        s.title,
        s.category_code,
        s.total_cost_cents,
        s.eligible_cost_cents,
        s.requested_grant_cents,
        s.search_text,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct SectionRow {
    pub section: Section,
    pub answers: Json<Answers>,
    pub version: i32,
    pub reopened: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by_name: String,
}

/// What a dossier holds besides the application and its round: its sections, partners and
/// attachments, and the round's document types (the `*_json` functions of the schema).
pub struct DossierParts {
    pub sections: Json<Vec<SectionRow>>,
    pub partners: Json<Vec<PartnerRow>>,
    pub documents: Json<Vec<DocumentType>>,
    pub attachments: Json<Vec<AttachmentRow>>,
}

/// One statement for what would otherwise be four round trips on every application page.
pub async fn dossier_parts(
    conn: &mut PgConnection,
    id: i64,
    round_id: i64,
) -> sqlx::Result<DossierParts> {
    sqlx::query_as!(
        DossierParts,
        r#"SELECT application_sections_json($1) AS "sections!: _",
                  application_partners_json($1) AS "partners!: _",
                  round_document_types_json($2) AS "documents!: _",
                  application_attachments_json($1) AS "attachments!: _""#,
        id,
        round_id,
    )
    .fetch_one(conn)
    .await
}

/// Saves a section's answers if nobody saved it since the clerk loaded it (`loaded_version`,
/// 0 when it had never been saved). Returns the new version, or `None` on a conflict.
pub async fn save_section(
    conn: &mut PgConnection,
    id: i64,
    section: Section,
    answers: &Answers,
    loaded_version: i32,
    user_id: i64,
) -> sqlx::Result<Option<i32>> {
    let saved: Option<i32> = if loaded_version == 0 {
        sqlx::query_scalar!(
            "INSERT INTO application_sections (application_id, section, answers, updated_by)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (application_id, section) DO NOTHING
             RETURNING version",
            id,
            section as _,
            Json(answers) as _,
            user_id,
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar!(
            "UPDATE application_sections
             SET answers = $3, version = version + 1, updated_by = $5, updated_at = now()
             WHERE application_id = $1 AND section = $2 AND version = $4
             RETURNING version",
            id,
            section as _,
            Json(answers) as _,
            loaded_version,
            user_id,
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    if saved.is_some() {
        sqlx::query!(
            "UPDATE applications SET updated_at = now() WHERE id = $1",
            id,
        )
        .execute(conn)
        .await?;
    }
    Ok(saved)
}

/// Marks which sections a Nachforderung opens again (all others closed).
pub async fn set_reopened(
    conn: &mut PgConnection,
    id: i64,
    sections: &[Section],
    user_id: i64,
) -> sqlx::Result<()> {
    // A reopened section that was never saved still needs a row to carry the flag.
    sqlx::query!(
        "INSERT INTO application_sections (application_id, section, updated_by)
         SELECT $1, s, $3 FROM unnest($2::text[]) AS s
         ON CONFLICT (application_id, section) DO NOTHING",
        id,
        sections as _,
        user_id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE application_sections SET reopened = (section = ANY($2)) WHERE application_id = $1",
        id,
        sections as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct PartnerRow {
    pub municipality_id: i64,
    pub name: String,
    pub ags: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub confirmed_at: Option<OffsetDateTime>,
    pub confirmed_by_name: Option<String>,
}

/// Adds a partner; `false` if it already is one.
pub async fn add_partner(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO application_partners (application_id, municipality_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
        id,
        municipality_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_partner(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM application_partners WHERE application_id = $1 AND municipality_id = $2",
        id,
        municipality_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the partner's confirmation; `false` if it is not a partner or had confirmed already.
pub async fn confirm_partner(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE application_partners SET confirmed_at = now(), confirmed_by = $3
         WHERE application_id = $1 AND municipality_id = $2 AND confirmed_at IS NULL",
        id,
        municipality_id,
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn is_partner(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM application_partners WHERE application_id = $1 AND municipality_id = $2) AS "exists!""#,
        id,
        municipality_id,
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct EventRow {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor_name: Option<String>,
    pub message: String,
    pub details: Json<serde_json::Value>,
}

pub async fn insert_event(
    conn: &mut PgConnection,
    id: i64,
    kind: &str,
    actor_id: Option<i64>,
    message: &str,
    transition: Option<(Status, Status)>,
) -> sqlx::Result<()> {
    insert_event_with_details(
        conn,
        id,
        kind,
        actor_id,
        message,
        transition,
        &serde_json::json!({}),
    )
    .await
}

pub async fn insert_event_with_details(
    conn: &mut PgConnection,
    id: i64,
    kind: &str,
    actor_id: Option<i64>,
    message: &str,
    transition: Option<(Status, Status)>,
    details: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO application_events (application_id, kind, from_status, to_status, actor_id, message, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        kind,
        transition.map(|(from, _)| from.as_str()),
        transition.map(|(_, to)| to.as_str()),
        actor_id,
        message,
        Json(details) as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The timeline, oldest first.
pub async fn events(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<EventRow>> {
    let Json(events) = sqlx::query_scalar!(
        r#"SELECT application_events_json($1) AS "events!: Json<Vec<EventRow>>""#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(events)
}

/// Sets the status; with `numbered_in` (at the first submission) it also takes that year's
/// next Aktenzeichen, in the same statement. Returns the application's Aktenzeichen.
///
/// Gap-free numbers: the year's counter row is updated in the transaction, so a rolled-back
/// submission gives its number back, and the next submission of the year waits for this
/// transaction's commit. Only `workflow` calls this, as the last statement before its e-mails.
pub(super) async fn set_status(
    conn: &mut PgConnection,
    id: i64,
    status: Status,
    numbered_in: Option<i32>,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "WITH counter AS (
             INSERT INTO reference_counters (year, last) SELECT $3, 1 WHERE $3::int IS NOT NULL
             ON CONFLICT (year) DO UPDATE SET last = reference_counters.last + 1
             RETURNING year, last)
         UPDATE applications SET status = $2, updated_at = now(),
                reference = coalesce(reference, (SELECT 'EGOV-' || c.year || '-' ||
                                                        lpad(c.last::text, greatest(4, length(c.last::text)), '0')
                                                 FROM counter c)),
                submitted_at = CASE WHEN $4 AND submitted_at IS NULL THEN now() ELSE submitted_at END,
                decided_at = CASE WHEN $5 THEN now() ELSE decided_at END
         WHERE id = $1
         RETURNING reference",
        id,
        status as _,
        numbered_in,
        matches!(status, Status::Submitted | Status::InReview),
        status.is_decided(),
    )
    .fetch_one(conn)
    .await
}

/// Stores everything as submitted; returns the revision number (1 for the first submission).
pub async fn insert_revision(
    conn: &mut PgConnection,
    id: i64,
    answers: &serde_json::Value,
    user_id: i64,
) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "INSERT INTO application_revisions (application_id, number, answers, submitted_by)
         SELECT $1, coalesce(max(number), 0) + 1, $2, $3 FROM application_revisions WHERE application_id = $1
         RETURNING number",
        id,
        Json(answers) as _,
        user_id,
    )
    .fetch_one(conn)
    .await
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct RevisionRow {
    pub number: i32,
    pub answers: Json<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
}

/// The submitted revisions, in order.
pub async fn revisions(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<RevisionRow>> {
    let Json(revisions) = sqlx::query_scalar!(
        r#"SELECT application_revisions_json($1) AS "revisions!: Json<Vec<RevisionRow>>""#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(revisions)
}

/// A document type of the round, with its id for uploads.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct DocumentType {
    pub id: i64,
    pub name: String,
    pub required: bool,
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct AttachmentRow {
    pub id: i64,
    pub attachment_type_id: Option<i64>,
    pub file_name: String,
    pub storage_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
    pub uploaded_by_name: String,
}

pub async fn attachments(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<AttachmentRow>> {
    let Json(attachments) = sqlx::query_scalar!(
        r#"SELECT application_attachments_json($1) AS "attachments!: Json<Vec<AttachmentRow>>""#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(attachments)
}

pub struct NewAttachment<'a> {
    pub application_id: i64,
    pub attachment_type_id: Option<i64>,
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
    let id = sqlx::query_scalar!(
        "INSERT INTO application_attachments
            (application_id, attachment_type_id, file_name, storage_key, content_type, size_bytes, sha256, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        a.application_id,
        a.attachment_type_id,
        a.file_name,
        a.storage_key,
        a.content_type,
        a.size_bytes,
        a.sha256,
        a.uploaded_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE applications SET updated_at = now() WHERE id = $1",
        a.application_id,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Deletes the attachment record; returns its storage key for removing the file.
pub async fn delete_attachment(
    conn: &mut PgConnection,
    application_id: i64,
    attachment_id: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "DELETE FROM application_attachments WHERE application_id = $1 AND id = $2 RETURNING storage_key",
        application_id,
        attachment_id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn attachment_bytes(conn: &mut PgConnection, application_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(size_bytes), 0)::bigint AS "bytes!" FROM application_attachments WHERE application_id = $1"#,
        application_id,
    )
    .fetch_one(conn)
    .await
}

/// E-mail and name of the reviewer who asked for the latest Nachforderung, if still active.
pub async fn requesting_reviewer(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(String, String)>> {
    let reviewer = sqlx::query!(
        "SELECT u.email, u.display_name FROM application_events e JOIN users u ON u.id = e.actor_id
         WHERE e.application_id = $1 AND e.kind = $2 AND u.active
         ORDER BY e.at DESC, e.id DESC LIMIT 1",
        id,
        Transition::RequestChanges.event_kind(),
    )
    .fetch_optional(conn)
    .await?;
    Ok(reviewer.map(|r| (r.email, r.display_name)))
}

/// A draft whose round is still taking applications.
#[derive(Clone, Debug)]
pub struct OpenDraft {
    pub id: i64,
    pub title: String,
    pub round_title: String,
    pub closes_at: OffsetDateTime,
    pub municipality_id: i64,
    pub created_at: OffsetDateTime,
}

/// Drafts in published rounds whose deadline is less than `within` away.
pub async fn drafts_closing_within(
    conn: &mut PgConnection,
    within: time::Duration,
) -> sqlx::Result<Vec<OpenDraft>> {
    sqlx::query_as!(
        OpenDraft,
        "SELECT a.id, a.title, r.title AS round_title, r.closes_at, a.municipality_id, a.created_at
         FROM applications a JOIN rounds r ON r.id = a.round_id
         WHERE a.status = $2 AND r.state = $3
           AND r.closes_at > now() AND r.closes_at <= now() + $1
         ORDER BY a.id",
        within as _,
        Status::Draft as _,
        RoundState::Published as _,
    )
    .fetch_all(conn)
    .await
}

/// Commits an approval's grant against its round: raises the round's granted total only if it
/// stays within the budget (one statement, so concurrent approvals cannot overshoot; the
/// round's check constraint backs it up), and records the amount and the end of the approved
/// period on the application.
/// `Err(remaining)` when it does not fit.
pub async fn commit_grant(
    conn: &mut PgConnection,
    application: &ApplicationRow,
    granted: crate::money::Cents,
    period_end: Option<time::Date>,
) -> sqlx::Result<Result<(), crate::money::Cents>> {
    let raised: Option<i64> = sqlx::query_scalar!(
        "UPDATE rounds SET granted_cents = granted_cents + $2
         WHERE id = $1 AND granted_cents + $2 <= budget_cents
         RETURNING granted_cents",
        application.round_id,
        granted.get(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    if raised.is_none() {
        let remaining: i64 = sqlx::query_scalar!(
            r#"SELECT budget_cents - granted_cents AS "remaining!" FROM rounds WHERE id = $1"#,
            application.round_id,
        )
        .fetch_one(conn)
        .await?;
        return Ok(Err(crate::money::Cents::new(remaining)));
    }
    sqlx::query!(
        "UPDATE applications SET granted_cents = $2, period_end = $3 WHERE id = $1",
        application.id,
        granted.get(),
        period_end,
    )
    .execute(conn)
    .await?;
    Ok(Ok(()))
}

/// Commits an approved grant to its budget years (`split`; empty: all in the round's year),
/// each with a guarded update like [`commit_grant`], after it (which holds the round's row, so
/// approvals of one round commit one after the other). Refused with the first year that
/// cannot take its share: `Err((year, remaining, wanted))`.
pub async fn commit_years(
    conn: &mut PgConnection,
    application: &ApplicationRow,
    granted: crate::money::Cents,
    split: &[(i32, crate::money::Cents)],
) -> sqlx::Result<Result<(), (i32, crate::money::Cents, crate::money::Cents)>> {
    use crate::money::Cents;
    let round_year: i32 = sqlx::query_scalar!(
        "SELECT year FROM rounds WHERE id = $1",
        application.round_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let whole = [(round_year, granted)];
    let split = if split.is_empty() { &whole[..] } else { split };
    for &(year, cents) in split.iter().filter(|(_, c)| *c > Cents::ZERO) {
        let taken = sqlx::query_scalar!(
            "UPDATE round_budget_years SET committed_cents = committed_cents + $3
             WHERE round_id = $1 AND year = $2 AND committed_cents + $3 <= budget_cents
             RETURNING year",
            application.round_id,
            year,
            cents.get(),
        )
        .fetch_optional(&mut *conn)
        .await?;
        if taken.is_none() {
            let remaining: Option<i64> = sqlx::query_scalar!(
                "SELECT budget_cents - committed_cents FROM round_budget_years WHERE round_id = $1 AND year = $2",
                application.round_id,
                year,
            )
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            return Ok(Err((year, Cents::new(remaining.unwrap_or(0)), cents)));
        }
        sqlx::query!(
            "INSERT INTO grant_years (application_id, round_id, year, committed_cents) VALUES ($1, $2, $3, $4)",
            application.id,
            application.round_id,
            year,
            cents.get(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(Ok(()))
}

/// A document the portal issued (`documents.rs`): its key in the file store, or its bytes while
/// it still waits in the database (issued before migration 23), and its size.
pub struct StoredDocument {
    pub storage_key: Option<String>,
    pub content: Option<Vec<u8>>,
    pub size_bytes: i64,
}

pub async fn insert_document(
    conn: &mut PgConnection,
    storage_key: &str,
    size_bytes: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO stored_documents (storage_key, size_bytes) VALUES ($1, $2) RETURNING id",
        storage_key,
        size_bytes,
    )
    .fetch_one(conn)
    .await
}

pub async fn delete_document(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM stored_documents WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn document(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<StoredDocument>> {
    sqlx::query_as!(
        StoredDocument,
        "SELECT storage_key, content, size_bytes FROM stored_documents WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Up to `limit` documents still waiting in the database, locked (skipping those another
/// instance holds): their ids and bytes.
pub async fn documents_waiting(
    conn: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<(i64, Vec<u8>)>> {
    let rows = sqlx::query!(
        r#"SELECT id, content AS "content!" FROM stored_documents
            WHERE storage_key IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"#,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.content)).collect())
}

/// The waiting document is now in the store under `storage_key`.
pub async fn document_moved(
    conn: &mut PgConnection,
    id: i64,
    storage_key: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE stored_documents SET storage_key = $2, content = NULL WHERE id = $1",
        id,
        storage_key,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The notice of the application's confirmed decision, read from the review's table (the
/// municipality downloads what the ministry issued). Only a confirmed decision carries a notice
/// (`settle` stores one only when confirming; a CHECK requires it then).
pub async fn notice_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT notice_id AS "notice_id!" FROM decisions
           WHERE application_id = $1 AND notice_id IS NOT NULL"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// A message on the case between the ministry and the municipality.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct MessageRow {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub author: String,
    pub from_ministry: bool,
    pub body: String,
}

/// The messages on the case, oldest first.
pub async fn messages(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<MessageRow>> {
    let Json(messages) = sqlx::query_scalar!(
        r#"SELECT application_messages_json($1) AS "messages!: Json<Vec<MessageRow>>""#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(messages)
}

pub async fn add_message(
    conn: &mut PgConnection,
    id: i64,
    author: i64,
    from_ministry: bool,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO application_messages (application_id, author_id, from_ministry, body) VALUES ($1, $2, $3, $4)",
        id,
        author,
        from_ministry,
        body,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Who at the ministry hears of the municipality's messages: the assigned reviewer, else the
/// one who asked for the latest Nachforderung.
pub async fn case_reviewer(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(String, String)>> {
    let assigned = sqlx::query!(
        "SELECT u.email, u.display_name FROM applications a JOIN users u ON u.id = a.assigned_to
         WHERE a.id = $1 AND u.active",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    match assigned {
        Some(a) => Ok(Some((a.email, a.display_name))),
        None => requesting_reviewer(conn, id).await,
    }
}

/// The end of an approved project and its round's months until the proof of use is due.
pub async fn proof_due(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(time::Date, i32)>> {
    let row = sqlx::query!(
        "SELECT a.period_end, r.proof_due_months FROM applications a JOIN rounds r ON r.id = a.round_id WHERE a.id = $1",
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(row.period_end.map(|end| (end, row.proof_due_months)))
}

/// How many submitted applications are in each status (drafts have no Aktenzeichen and are not
/// counted), from the tallies the triggers keep: one small table, however many applications.
pub async fn counts_by_status(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT status, sum(applications)::bigint AS "count!" FROM application_tallies
           GROUP BY status HAVING sum(applications) > 0 ORDER BY status"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.count)).collect())
}

/// Of these file keys, the ones no record names (see the view `stored_file_keys`).
pub async fn unreferenced_keys(
    conn: &mut PgConnection,
    keys: &[String],
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT k AS "key!" FROM unnest($1::text[]) k
           WHERE NOT EXISTS (SELECT 1 FROM stored_file_keys s WHERE s.storage_key = k)"#,
        keys
    )
    .fetch_all(conn)
    .await
}
