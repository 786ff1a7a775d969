//! The append-only audit log: who did what to which object, and when.

use sqlx::PgConnection;

/// Records an action in the caller's transaction, so the log and the change agree.
pub async fn record(
    conn: &mut PgConnection,
    actor_id: Option<i64>,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, subject, details) VALUES ($1, $2, $3, $4)",
    )
    .bind(actor_id)
    .bind(action)
    .bind(subject)
    .bind(details)
    .execute(conn)
    .await?;
    Ok(())
}
