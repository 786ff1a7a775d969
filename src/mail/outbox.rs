//! The outbox table: enqueueing inside the caller's transaction, claiming due messages with
//! `FOR UPDATE SKIP LOCKED`, recording the outcome, and what the admin page shows.

use std::time::Duration;

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::messages::{Footer, Message, Rendered, one_line};

/// Where a message goes. The address is checked on construction, so nothing with a line break
/// or a second address can reach a header.
#[derive(Clone, Debug)]
pub struct Recipient {
    email: String,
    name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("invalid recipient address {0:?}")]
    InvalidRecipient(String),
    #[error("rendering the message failed: {0}")]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Recipient {
    pub fn new(email: &str, name: &str) -> Result<Recipient, EnqueueError> {
        let email = email.trim();
        let plausible = !email
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == ',' || c == ';')
            && email.parse::<lettre::Address>().is_ok();
        if !plausible {
            return Err(EnqueueError::InvalidRecipient(email.to_string()));
        }
        Ok(Recipient {
            email: email.to_string(),
            name: one_line(name, 100),
        })
    }

    pub fn email(&self) -> &str {
        &self.email
    }
}

/// Puts messages into the outbox. Cheap to clone; lives in the app state.
#[derive(Clone, Debug)]
pub struct Outbox {
    base_url: String,
    /// The domain part of Message-IDs.
    host: String,
}

impl Outbox {
    pub fn new(base_url: &str) -> Self {
        // An IP address (or nothing usable) is no domain for a Message-ID.
        let host = base_url
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|uri| uri.host().map(str::to_string))
            .filter(|h| {
                h.contains('.')
                    && !h.starts_with('[')
                    && !h.chars().all(|c| c.is_ascii_digit() || c == '.')
            })
            .unwrap_or_else(|| "localhost".to_string());
        Outbox {
            base_url: base_url.to_string(),
            host,
        }
    }

    /// Renders the message and stores it for delivery, in the caller's transaction: if that
    /// rolls back, nothing is sent. Returns the outbox id.
    pub async fn enqueue(
        &self,
        conn: &mut PgConnection,
        to: &Recipient,
        message: &Message,
    ) -> Result<i64, EnqueueError> {
        let ids = self
            .enqueue_to_all(conn, std::slice::from_ref(to), message)
            .await?;
        Ok(ids[0])
    }

    /// The same message to several people (e.g. all clerks of a municipality): one outbox row,
    /// and so one delivery and one Message-ID, per recipient.
    pub async fn enqueue_to_all(
        &self,
        conn: &mut PgConnection,
        recipients: &[Recipient],
        message: &Message,
    ) -> Result<Vec<i64>, EnqueueError> {
        let rendered = message.render(&self.footer(conn).await?)?;
        let mut ids = Vec::with_capacity(recipients.len());
        for to in recipients {
            let id = self
                .insert(conn, to, message.kind(), &rendered, None)
                .await?;
            ids.push(id.expect("without a once-key the row is always inserted"));
        }
        Ok(ids)
    }

    /// Like [`Outbox::enqueue`], but only if no message with this key is in the outbox, e.g.
    /// "deadline-reminder:7:application-42". Returns `None` when it is. Sent messages, and so
    /// their keys, are pruned after the retention period: a key must name something that cannot
    /// come round again that late, such as one reminder for one draft.
    pub async fn enqueue_once(
        &self,
        conn: &mut PgConnection,
        to: &Recipient,
        message: &Message,
        once_key: &str,
    ) -> Result<Option<i64>, EnqueueError> {
        let rendered = message.render(&self.footer(conn).await?)?;
        self.insert(conn, to, message.kind(), &rendered, Some(once_key))
            .await
    }

    async fn insert(
        &self,
        conn: &mut PgConnection,
        to: &Recipient,
        kind: &str,
        rendered: &Rendered,
        once_key: Option<&str>,
    ) -> Result<Option<i64>, EnqueueError> {
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), self.host);
        // The notification wakes the workers when the transaction commits (and not at all if
        // it rolls back); it travels in the same statement, one round trip for both.
        let id = sqlx::query_scalar!(
            "WITH inserted AS (
                 INSERT INTO mail_outbox (message_id, kind, recipient, recipient_name, subject, body_text, body_html, once_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (once_key) DO NOTHING
                 RETURNING id)
             SELECT (SELECT id FROM inserted) FROM pg_notify($9, '')",
            message_id,
            kind,
            to.email,
            to.name,
            rendered.subject,
            rendered.text,
            rendered.html,
            once_key,
            CHANNEL,
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(id)
    }

    /// The programme's name and first contact address, read from the tables directly so that
    /// `mail` depends on no feature module.
    async fn footer(&self, conn: &mut PgConnection) -> sqlx::Result<Footer> {
        let row = sqlx::query!(
            "SELECT p.name, (SELECT c.email FROM programme_contacts c
                             WHERE c.programme_id = p.id AND c.email <> ''
                             ORDER BY c.position, c.id LIMIT 1) AS contact
             FROM programmes p ORDER BY p.id LIMIT 1",
        )
        .fetch_optional(conn)
        .await?;
        let (programme_name, contact_email) = row.map(|r| (r.name, r.contact)).unwrap_or_default();
        Ok(Footer {
            programme_name,
            contact_email: contact_email.unwrap_or_default(),
            base_url: self.base_url.clone(),
        })
    }
}

/// The PostgreSQL notification channel the workers listen on.
pub const CHANNEL: &str = "mail_outbox";

/// A message claimed for delivery. `attempts` identifies this claim: a later claim of the same
/// message (after the lease ran out) has a higher count.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub message_id: String,
    pub recipient: String,
    pub recipient_name: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i32,
}

/// Claims up to `limit` due messages for this worker until the lease ends. Other workers skip
/// them; if this worker dies, they become due again when the lease runs out, unless that was
/// their last attempt: then they are marked failed.
pub async fn claim_due(
    conn: &mut PgConnection,
    limit: i64,
    lease: Duration,
    max_attempts: i32,
) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query!(
        "UPDATE mail_outbox
         SET state = 'failed', lease_until = NULL,
             last_error = 'Zustellung nicht bestätigt: die Bearbeitung wurde beim letzten Versuch abgebrochen'
         WHERE state = 'sending' AND lease_until < now() AND attempts >= $1",
        max_attempts,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_as!(
        Claimed,
        "WITH due AS (
             SELECT id FROM mail_outbox
             WHERE (state = 'queued' AND next_attempt_at <= now())
                OR (state = 'sending' AND lease_until < now())
             ORDER BY next_attempt_at, id
             LIMIT $1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE mail_outbox m
         SET state = 'sending', attempts = m.attempts + 1, lease_until = now() + make_interval(secs => $2)
         FROM due WHERE m.id = due.id
         RETURNING m.id, m.message_id, m.recipient, m.recipient_name, m.subject, m.body_text, m.body_html, m.attempts",
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(conn)
    .await
}

/// Records the delivery of this claim. Returns false if the claim was lost meanwhile (the lease
/// ran out and another worker took the message over), in which case nothing is changed. The
/// stored copy loses its one-time tokens (`scrub_tokens`): a delivered message needs them no more.
pub async fn mark_sent(conn: &mut PgConnection, message: &Claimed) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE mail_outbox SET state = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL,
                body_text = scrub_tokens(body_text), body_html = scrub_tokens(body_html)
         WHERE id = $1 AND state = 'sending' AND attempts = $2",
        message.id,
        message.attempts,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt of this claim: back into the queue at `retry_at`, or failed for
/// good when `None`. Returns false if the claim was lost meanwhile.
pub async fn mark_attempt_failed(
    conn: &mut PgConnection,
    message: &Claimed,
    error: &str,
    retry_at: Option<OffsetDateTime>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE mail_outbox
         SET state = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'queued' END,
             next_attempt_at = coalesce($4, next_attempt_at), lease_until = NULL, last_error = $3
         WHERE id = $1 AND state = 'sending' AND attempts = $2",
        message.id,
        message.attempts,
        error.chars().take(1000).collect::<String>(),
        retry_at,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How long until the next queued message is due or the next lease runs out, by the database's
/// clock (the app's may differ); `None` if nothing waits.
pub async fn time_until_next_due(conn: &mut PgConnection) -> sqlx::Result<Option<Duration>> {
    let seconds = sqlx::query_scalar!(
        "SELECT extract(epoch FROM least(
                    min(next_attempt_at) FILTER (WHERE state = 'queued'),
                    min(lease_until) FILTER (WHERE state = 'sending')) - now())::float8
         FROM mail_outbox WHERE state IN ('queued', 'sending')",
    )
    .fetch_one(conn)
    .await?;
    Ok(seconds.map(|s| Duration::from_secs_f64(s.max(0.0))))
}

/// Puts a failed message back into the queue, due now, with a fresh series of attempts.
/// Returns false if it is not (or no longer) failed.
pub async fn retry_failed(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE mail_outbox SET state = 'queued', attempts = 0, next_attempt_at = now()
         WHERE id = $1 AND state = 'failed'",
        id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("SELECT pg_notify($1, '')", CHANNEL)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes sent messages older than the retention period; failed ones stay for the admins.
pub async fn prune_sent(conn: &mut PgConnection, retention: Duration) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM mail_outbox WHERE state = 'sent' AND sent_at < now() - make_interval(secs => $1)",
        retention.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub recipient_name: String,
    pub subject: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub message_id: String,
}

/// The newest messages, optionally of one state.
pub async fn recent(
    conn: &mut PgConnection,
    state: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as!(
        OutboxRow,
        "SELECT id, kind, recipient, recipient_name, subject, state, attempts, last_error, created_at,
                next_attempt_at, sent_at, message_id
         FROM mail_outbox WHERE $1::text IS NULL OR state = $1
         ORDER BY created_at DESC, id DESC LIMIT $2",
        state,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// The queue as monitoring sees it (see `server::metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QueueFigures {
    /// Messages not yet sent nor given up: waiting, due or being sent.
    pub waiting: i64,
    /// How long the longest-due waiting message has been due (0 when none is).
    pub oldest_due_seconds: f64,
    /// Messages given up after their last attempt, until an admin retries them.
    pub failed: i64,
}

pub async fn queue_figures(conn: &mut PgConnection) -> sqlx::Result<QueueFigures> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE state IN ('queued', 'sending')) AS "waiting!",
                  coalesce(extract(epoch FROM now() - min(next_attempt_at)
                      FILTER (WHERE state = 'queued' AND next_attempt_at <= now())), 0)::float8
                      AS "oldest_due_seconds!",
                  count(*) FILTER (WHERE state = 'failed') AS "failed!"
           FROM mail_outbox WHERE state IN ('queued', 'sending', 'failed')"#
    )
    .fetch_one(conn)
    .await?;
    Ok(QueueFigures {
        waiting: row.waiting,
        oldest_due_seconds: row.oldest_due_seconds,
        failed: row.failed,
    })
}

pub async fn counts_by_state(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, i64)>> {
    let rows =
        sqlx::query!(r#"SELECT state, count(*) AS "count!" FROM mail_outbox GROUP BY state"#)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.count)).collect())
}

/// One message with its bodies. One-time tokens in links are masked: an admin reading a
/// message must not be able to use someone else's invitation or password reset.
pub async fn find(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(OutboxRow, String, String)>> {
    let Some(row) = sqlx::query_as!(
        OutboxRow,
        "SELECT id, kind, recipient, recipient_name, subject, state, attempts, last_error, created_at,
                next_attempt_at, sent_at, message_id
         FROM mail_outbox WHERE id = $1",
        id,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let bodies = sqlx::query!(
        r#"SELECT scrub_tokens(body_text) AS "text!", scrub_tokens(body_html) AS "html!"
           FROM mail_outbox WHERE id = $1"#,
        id,
    )
    .fetch_one(conn)
    .await?;
    Ok(Some((row, bodies.text, bodies.html)))
}
