//! SQL for applications: the aggregate, its sections, partners, attachments, timeline and
//! revisions. Status changes are not here: only `workflow` writes `applications.status`.

use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;

use super::forms::Answers;
use super::model::{Section, Status, Transition};
use crate::programmes::model::RoundState;

#[derive(Clone, Debug, sqlx::FromRow)]
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
    pub fn display_title(&self) -> &str {
        if self.title.is_empty() {
            "Antrag ohne Titel"
        } else {
            &self.title
        }
    }
}

const APPLICATION_SELECT: &str =
    "SELECT a.id, a.round_id, r.title AS round_title, r.closes_at AS round_closes_at,
        a.municipality_id, m.name AS municipality_name, a.status, a.reference, a.title,
        a.requested_grant_cents, a.created_at, a.updated_at, a.submitted_at
 FROM applications a
 JOIN rounds r ON r.id = a.round_id
 JOIN municipalities m ON m.id = a.municipality_id";

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ApplicationRow>> {
    sqlx::query_as(&format!("{APPLICATION_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Locks the application for the rest of the transaction: saves and transitions of one
/// application happen one after the other.
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ApplicationRow>> {
    sqlx::query("SELECT 1 FROM applications WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    find(conn, id).await
}

/// The municipality's own applications, most recently changed first.
pub async fn of_municipality(
    conn: &mut PgConnection,
    municipality_id: i64,
) -> sqlx::Result<Vec<ApplicationRow>> {
    sqlx::query_as(&format!(
        "{APPLICATION_SELECT} WHERE a.municipality_id = $1 ORDER BY a.updated_at DESC, a.id DESC"
    ))
    .bind(municipality_id)
    .fetch_all(conn)
    .await
}

/// Joint projects of other municipalities in which this one is a partner.
pub async fn as_partner(
    conn: &mut PgConnection,
    municipality_id: i64,
) -> sqlx::Result<Vec<ApplicationRow>> {
    sqlx::query_as(&format!(
        "{APPLICATION_SELECT}
         JOIN application_partners p ON p.application_id = a.id AND p.municipality_id = $1
         WHERE a.status <> $2 OR a.reference IS NOT NULL
         ORDER BY a.updated_at DESC, a.id DESC"
    ))
    .bind(municipality_id)
    .bind(Status::Withdrawn)
    .fetch_all(conn)
    .await
}

pub async fn create(
    conn: &mut PgConnection,
    round_id: i64,
    municipality_id: i64,
    user_id: i64,
) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO applications (round_id, municipality_id, created_by, search_text, district_id)
         SELECT $1, $2, $3, name, coalesce(parent_id, id) FROM municipalities WHERE id = $2
         RETURNING id",
    )
    .bind(round_id)
    .bind(municipality_id)
    .bind(user_id)
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
    sqlx::query(
        "UPDATE applications SET title = $2, category_code = $3, total_cost_cents = $4,
                eligible_cost_cents = $5, requested_grant_cents = $6, search_text = $7, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(s.title)
    .bind(s.category_code)
    .bind(s.total_cost_cents)
    .bind(s.eligible_cost_cents)
    .bind(s.requested_grant_cents)
    .bind(s.search_text)
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

/// The saved sections of application `$1` as a JSON array of [`SectionRow`]s.
const SECTIONS_JSON: &str = "(SELECT coalesce(json_agg(json_build_object(
        'section', s.section, 'answers', s.answers, 'version', s.version, 'reopened', s.reopened,
        'updated_at', s.updated_at, 'updated_by_name', u.display_name)), '[]')
    FROM application_sections s JOIN users u ON u.id = s.updated_by WHERE s.application_id = $1)";

/// The partners of application `$1` as a JSON array of [`PartnerRow`]s, by name.
const PARTNERS_JSON: &str = "(SELECT coalesce(json_agg(json_build_object(
        'municipality_id', p.municipality_id, 'name', m.name, 'ags', m.ags,
        'confirmed_at', p.confirmed_at, 'confirmed_by_name', u.display_name) ORDER BY m.name, m.id), '[]')
    FROM application_partners p JOIN municipalities m ON m.id = p.municipality_id
    LEFT JOIN users u ON u.id = p.confirmed_by WHERE p.application_id = $1)";

/// The attachments of application `$1` as a JSON array of [`AttachmentRow`]s, oldest first.
const ATTACHMENTS_JSON: &str = "(SELECT coalesce(json_agg(json_build_object(
        'id', f.id, 'attachment_type_id', f.attachment_type_id, 'file_name', f.file_name,
        'storage_key', f.storage_key, 'content_type', f.content_type, 'size_bytes', f.size_bytes,
        'uploaded_at', f.uploaded_at, 'uploaded_by_name', u.display_name) ORDER BY f.uploaded_at, f.id), '[]')
    FROM application_attachments f JOIN users u ON u.id = f.uploaded_by WHERE f.application_id = $1)";

/// The document types of round `$2` as a JSON array of [`DocumentType`]s, in their order.
const DOCUMENT_TYPES_JSON: &str = "(SELECT coalesce(json_agg(json_build_object(
        'id', t.id, 'name', t.name, 'required', t.required) ORDER BY t.position), '[]')
    FROM round_attachment_types t WHERE t.round_id = $2)";

/// What a dossier holds besides the application and its round.
#[derive(sqlx::FromRow)]
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
    sqlx::query_as(&format!(
        "SELECT {SECTIONS_JSON} AS sections, {PARTNERS_JSON} AS partners,
                {DOCUMENT_TYPES_JSON} AS documents, {ATTACHMENTS_JSON} AS attachments"
    ))
    .bind(id)
    .bind(round_id)
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
        sqlx::query_scalar(
            "INSERT INTO application_sections (application_id, section, answers, updated_by)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (application_id, section) DO NOTHING
             RETURNING version",
        )
        .bind(id)
        .bind(section)
        .bind(Json(answers))
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar(
            "UPDATE application_sections
             SET answers = $3, version = version + 1, updated_by = $5, updated_at = now()
             WHERE application_id = $1 AND section = $2 AND version = $4
             RETURNING version",
        )
        .bind(id)
        .bind(section)
        .bind(Json(answers))
        .bind(loaded_version)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
    };
    if saved.is_some() {
        sqlx::query("UPDATE applications SET updated_at = now() WHERE id = $1")
            .bind(id)
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
    sqlx::query(
        "INSERT INTO application_sections (application_id, section, updated_by)
         SELECT $1, s, $3 FROM unnest($2::text[]) AS s
         ON CONFLICT (application_id, section) DO NOTHING",
    )
    .bind(id)
    .bind(sections)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE application_sections SET reopened = (section = ANY($2)) WHERE application_id = $1",
    )
    .bind(id)
    .bind(sections)
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
    let done = sqlx::query(
        "INSERT INTO application_partners (application_id, municipality_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(municipality_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_partner(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "DELETE FROM application_partners WHERE application_id = $1 AND municipality_id = $2",
    )
    .bind(id)
    .bind(municipality_id)
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
    let done = sqlx::query(
        "UPDATE application_partners SET confirmed_at = now(), confirmed_by = $3
         WHERE application_id = $1 AND municipality_id = $2 AND confirmed_at IS NULL",
    )
    .bind(id)
    .bind(municipality_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn is_partner(
    conn: &mut PgConnection,
    id: i64,
    municipality_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM application_partners WHERE application_id = $1 AND municipality_id = $2)",
    )
    .bind(id)
    .bind(municipality_id)
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
    sqlx::query(
        "INSERT INTO application_events (application_id, kind, from_status, to_status, actor_id, message, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(kind)
    .bind(transition.map(|(from, _)| from.as_str()))
    .bind(transition.map(|(_, to)| to.as_str()))
    .bind(actor_id)
    .bind(message)
    .bind(Json(details))
    .execute(conn)
    .await?;
    Ok(())
}

/// Runs one of the JSON array subqueries below on its own, for `$1` = `id`.
async fn select_json<T>(conn: &mut PgConnection, subquery: &str, id: i64) -> sqlx::Result<T>
where
    T: serde::de::DeserializeOwned + Send + Unpin + 'static,
{
    let Json(value): Json<T> = sqlx::query_scalar(&format!("SELECT {subquery}"))
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(value)
}

/// The timeline of application `$1` as a JSON array of [`EventRow`]s, oldest first: a
/// subquery that the case page reads together with the rest of the case.
pub const EVENTS_JSON: &str = "(SELECT coalesce(json_agg(json_build_object(
        'at', e.at, 'kind', e.kind, 'actor_name', u.display_name, 'message', e.message,
        'details', e.details) ORDER BY e.at, e.id), '[]')
    FROM application_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.application_id = $1)";

pub async fn events(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<EventRow>> {
    select_json(conn, EVENTS_JSON, id).await
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
    sqlx::query_scalar(
        "WITH counter AS (
             INSERT INTO reference_counters (year, last) SELECT $3, 1 WHERE $3 IS NOT NULL
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
    )
    .bind(id)
    .bind(status)
    .bind(numbered_in)
    .bind(matches!(status, Status::Submitted | Status::InReview))
    .bind(status.is_decided())
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
    sqlx::query_scalar(
        "INSERT INTO application_revisions (application_id, number, answers, submitted_by)
         SELECT $1, coalesce(max(number), 0) + 1, $2, $3 FROM application_revisions WHERE application_id = $1
         RETURNING number",
    )
    .bind(id)
    .bind(Json(answers))
    .bind(user_id)
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

/// The submitted revisions of application `$1` as a JSON array of [`RevisionRow`]s, in order.
pub const REVISIONS_JSON: &str = "(SELECT coalesce(json_agg(json_build_object(
        'number', r.number, 'answers', r.answers, 'submitted_at', r.submitted_at) ORDER BY r.number), '[]')
    FROM application_revisions r WHERE r.application_id = $1)";

pub async fn revisions(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<RevisionRow>> {
    select_json(conn, REVISIONS_JSON, id).await
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
    select_json(conn, ATTACHMENTS_JSON, id).await
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
    let id = sqlx::query_scalar(
        "INSERT INTO application_attachments
            (application_id, attachment_type_id, file_name, storage_key, content_type, size_bytes, sha256, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(a.application_id)
    .bind(a.attachment_type_id)
    .bind(a.file_name)
    .bind(a.storage_key)
    .bind(a.content_type)
    .bind(a.size_bytes)
    .bind(a.sha256)
    .bind(a.uploaded_by)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE applications SET updated_at = now() WHERE id = $1")
        .bind(a.application_id)
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
    sqlx::query_scalar(
        "DELETE FROM application_attachments WHERE application_id = $1 AND id = $2 RETURNING storage_key",
    )
    .bind(application_id)
    .bind(attachment_id)
    .fetch_optional(conn)
    .await
}

pub async fn attachment_bytes(conn: &mut PgConnection, application_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(size_bytes), 0)::bigint FROM application_attachments WHERE application_id = $1",
    )
    .bind(application_id)
    .fetch_one(conn)
    .await
}

/// E-mail and name of the reviewer who asked for the latest Nachforderung, if still active.
pub async fn requesting_reviewer(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as(
        "SELECT u.email, u.display_name FROM application_events e JOIN users u ON u.id = e.actor_id
         WHERE e.application_id = $1 AND e.kind = $2 AND u.active
         ORDER BY e.at DESC, e.id DESC LIMIT 1",
    )
    .bind(id)
    .bind(Transition::RequestChanges.event_kind())
    .fetch_optional(conn)
    .await
}

/// A draft whose round is still taking applications.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OpenDraft {
    pub id: i64,
    pub title: String,
    pub round_title: String,
    pub closes_at: OffsetDateTime,
    pub municipality_id: i64,
}

/// Drafts in published rounds whose deadline is less than `within` away.
pub async fn drafts_closing_within(
    conn: &mut PgConnection,
    within: time::Duration,
) -> sqlx::Result<Vec<OpenDraft>> {
    sqlx::query_as(
        "SELECT a.id, a.title, r.title AS round_title, r.closes_at, a.municipality_id
         FROM applications a JOIN rounds r ON r.id = a.round_id
         WHERE a.status = $2 AND r.state = $3
           AND r.closes_at > now() AND r.closes_at <= now() + $1
         ORDER BY a.id",
    )
    .bind(within)
    .bind(Status::Draft)
    .bind(RoundState::Published)
    .fetch_all(conn)
    .await
}

/// Commits an approval's grant against its round: raises the round's granted total only if it
/// stays within the budget (one statement, so concurrent approvals cannot overshoot; the
/// round's check constraint backs it up), and records the amount on the application.
/// `Err(remaining)` when it does not fit.
pub async fn commit_grant(
    conn: &mut PgConnection,
    application: &ApplicationRow,
    granted: crate::money::Cents,
) -> sqlx::Result<Result<(), crate::money::Cents>> {
    let raised: Option<i64> = sqlx::query_scalar(
        "UPDATE rounds SET granted_cents = granted_cents + $2
         WHERE id = $1 AND granted_cents + $2 <= budget_cents
         RETURNING granted_cents",
    )
    .bind(application.round_id)
    .bind(granted.get())
    .fetch_optional(&mut *conn)
    .await?;
    if raised.is_none() {
        let remaining: i64 =
            sqlx::query_scalar("SELECT budget_cents - granted_cents FROM rounds WHERE id = $1")
                .bind(application.round_id)
                .fetch_one(conn)
                .await?;
        return Ok(Err(crate::money::Cents::new(remaining)));
    }
    sqlx::query("UPDATE applications SET granted_cents = $2 WHERE id = $1")
        .bind(application.id)
        .bind(granted.get())
        .execute(conn)
        .await?;
    Ok(Ok(()))
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

/// The messages on application `$1` as a JSON array of [`MessageRow`]s, oldest first.
pub const MESSAGES_JSON: &str = "(SELECT coalesce(json_agg(json_build_object(
        'at', m.at, 'author', u.display_name, 'from_ministry', m.from_ministry, 'body', m.body)
        ORDER BY m.at, m.id), '[]')
    FROM application_messages m JOIN users u ON u.id = m.author_id WHERE m.application_id = $1)";

pub async fn messages(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<MessageRow>> {
    select_json(conn, MESSAGES_JSON, id).await
}

pub async fn add_message(
    conn: &mut PgConnection,
    id: i64,
    author: i64,
    from_ministry: bool,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO application_messages (application_id, author_id, from_ministry, body) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(author)
    .bind(from_ministry)
    .bind(body)
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
    let assigned: Option<(String, String)> = sqlx::query_as(
        "SELECT u.email, u.display_name FROM applications a JOIN users u ON u.id = a.assigned_to
         WHERE a.id = $1 AND u.active",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match assigned {
        Some(a) => Ok(Some(a)),
        None => requesting_reviewer(conn, id).await,
    }
}
