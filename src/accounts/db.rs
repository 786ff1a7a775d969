//! SQL for users and sessions.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::model::{EmailAddress, Role};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub roles: Vec<String>,
    pub municipality_id: Option<i64>,
    pub active: bool,
}

impl UserRecord {
    pub fn roles(&self) -> Vec<Role> {
        self.roles.iter().filter_map(|r| r.parse().ok()).collect()
    }
}

pub struct NewUser<'a> {
    pub email: &'a EmailAddress,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub roles: &'a [Role],
    pub municipality_id: Option<i64>,
}

const USER_COLUMNS: &str = "id, email, display_name, password_hash, roles, municipality_id, active";

pub async fn find_user_by_email(
    conn: &mut PgConnection,
    email: &EmailAddress,
) -> sqlx::Result<Option<UserRecord>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional(conn)
    .await
}

/// Inserts the user; `Ok(None)` when the e-mail address is taken.
pub async fn insert_user(conn: &mut PgConnection, user: NewUser<'_>) -> sqlx::Result<Option<i64>> {
    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
    sqlx::query_scalar(
        "INSERT INTO users (email, display_name, password_hash, roles, municipality_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) DO NOTHING
         RETURNING id",
    )
    .bind(user.email.as_str())
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(&roles)
    .bind(user.municipality_id)
    .fetch_optional(conn)
    .await
}

pub async fn count_users(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(conn)
        .await
}

/// A live session with its user, as the session middleware needs it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRecord {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub municipality_id: Option<i64>,
    pub municipality_name: Option<String>,
    pub csrf_token: String,
    pub last_seen_at: OffsetDateTime,
}

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<&'a str>,
}

pub async fn insert_session(conn: &mut PgConnection, s: NewSession<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at, user_agent)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.id_hash)
    .bind(s.user_id)
    .bind(s.csrf_token)
    .bind(s.expires_at)
    .bind(s.user_agent)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session if it is neither past its absolute lifetime nor idle for too long, and its user
/// is still active.
pub async fn find_live_session(
    conn: &mut PgConnection,
    id_hash: &[u8],
    idle_timeout: std::time::Duration,
) -> sqlx::Result<Option<SessionRecord>> {
    sqlx::query_as(
        "SELECT s.user_id, u.email, u.display_name, u.roles, u.municipality_id, m.name AS municipality_name,
                s.csrf_token, s.last_seen_at
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         LEFT JOIN municipalities m ON m.id = u.municipality_id
         WHERE s.id_hash = $1
           AND s.expires_at > now()
           AND s.last_seen_at > now() - make_interval(secs => $2)
           AND u.active",
    )
    .bind(id_hash)
    .bind(idle_timeout.as_secs_f64())
    .fetch_optional(conn)
    .await
}

pub async fn touch_session(conn: &mut PgConnection, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut PgConnection, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes sessions past their lifetime or idle timeout; returns how many.
pub async fn delete_dead_sessions(
    conn: &mut PgConnection,
    idle_timeout: std::time::Duration,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)",
    )
    .bind(idle_timeout.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Failed logins in the window: for this address from this client, from this client for any
/// address, and for this address from anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RecentFailures {
    pub pair: i64,
    pub client: i64,
    pub email: i64,
}

pub async fn recent_login_failures(
    conn: &mut PgConnection,
    email: &str,
    client: &str,
    window: std::time::Duration,
) -> sqlx::Result<RecentFailures> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email = $1 AND client = $2) AS pair,
                count(*) FILTER (WHERE client = $2) AS client,
                count(*) FILTER (WHERE email = $1) AS email
         FROM login_failures
         WHERE at > now() - make_interval(secs => $3) AND (email = $1 OR client = $2)",
    )
    .bind(email)
    .bind(client)
    .bind(window.as_secs_f64())
    .fetch_one(conn)
    .await
}

pub async fn record_login_failure(
    conn: &mut PgConnection,
    email: &str,
    client: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO login_failures (email, client) VALUES ($1, $2)")
        .bind(email)
        .bind(client)
        .execute(conn)
        .await?;
    Ok(())
}

/// Failures older than a day no longer count for anything.
pub async fn prune_login_failures(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM login_failures WHERE at < now() - interval '1 day'")
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
