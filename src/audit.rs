//! The append-only audit log: who did what to which object, when and from where. The database
//! refuses to change or delete entries. Secrets (passwords, tokens) never go into `details`.

use sqlx::PgConnection;

/// Who acts: the signed-in user (if any) and the client address of the request.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user_id: Option<i64>,
    pub client: &'a str,
}

/// Records an action in the caller's transaction, so the log and the change agree.
pub async fn record(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_log (actor_id, client, action, subject, details) VALUES ($1, $2, $3, $4, $5)")
        .bind(actor.user_id)
        .bind(actor.client)
        .bind(action)
        .bind(subject)
        .bind(details)
        .execute(conn)
        .await?;
    Ok(())
}
