//! SQL for users and sessions.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::model::{EmailAddress, Role};
use crate::audit::Subject;

#[derive(Clone, Debug)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub roles: Vec<Role>,
    pub municipality_id: Option<i64>,
    pub active: bool,
}

pub struct NewUser<'a> {
    pub email: &'a EmailAddress,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub roles: &'a [Role],
    pub municipality_id: Option<i64>,
}

pub async fn find_user_by_email(
    conn: &mut PgConnection,
    email: &EmailAddress,
) -> sqlx::Result<Option<UserRecord>> {
    sqlx::query_as!(
        UserRecord,
        r#"SELECT id, email, display_name, password_hash, roles AS "roles: _", municipality_id, active
           FROM users WHERE email = $1"#,
        email.as_str(),
    )
    .fetch_optional(conn)
    .await
}

/// A reset request for the background step (see `recovery::send_requested_resets`).
pub async fn queue_reset_request(
    conn: &mut PgConnection,
    email: &EmailAddress,
    client: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO password_reset_requests (email, client) VALUES ($1, $2)",
        email.as_str(),
        client,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Reset requests from this client in the last hour.
pub async fn reset_requests_from(conn: &mut PgConnection, client: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM password_reset_requests
           WHERE client = $1 AND requested_at > now() - interval '1 hour'"#,
        client,
    )
    .fetch_one(conn)
    .await
}

/// Takes the oldest waiting reset request (others skip it until this transaction ends).
pub async fn take_reset_request(conn: &mut PgConnection) -> sqlx::Result<Option<(String, String)>> {
    let row = sqlx::query!(
        "UPDATE password_reset_requests SET done_at = now()
         WHERE id = (SELECT id FROM password_reset_requests WHERE done_at IS NULL
                     ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
         RETURNING email, client",
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.email, r.client)))
}

/// Done requests are kept an hour, for the limit per client.
pub async fn prune_reset_requests(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM password_reset_requests
         WHERE done_at IS NOT NULL AND requested_at < now() - interval '1 hour'",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Inserts the user; `Ok(None)` when the e-mail address is taken.
pub async fn insert_user(conn: &mut PgConnection, user: NewUser<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO users (email, display_name, password_hash, roles, municipality_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) DO NOTHING
         RETURNING id",
        user.email.as_str(),
        user.display_name,
        user.password_hash,
        user.roles as _,
        user.municipality_id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn count_users(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM users"#)
        .fetch_one(conn)
        .await
}

/// A live session with its user, as the session middleware needs it.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub municipality_id: Option<i64>,
    pub municipality_name: Option<String>,
    pub csrf_token: String,
    pub last_seen_at: OffsetDateTime,
    /// "password" until the second factor is given, then "full".
    pub stage: String,
    pub second_factor: bool,
    /// The account has a second factor set up.
    pub has_second_factor: bool,
}

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<&'a str>,
    pub stage: SessionStage,
    pub second_factor: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor is still to come. Opens nothing but that page.
    Password,
    Full,
}

impl SessionStage {
    fn as_str(self) -> &'static str {
        match self {
            SessionStage::Password => "password",
            SessionStage::Full => "full",
        }
    }
}

pub async fn insert_session(conn: &mut PgConnection, s: NewSession<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at, user_agent, stage, second_factor)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        s.id_hash,
        s.user_id,
        s.csrf_token,
        s.expires_at,
        s.user_agent,
        s.stage.as_str(),
        s.second_factor,
    )
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
    sqlx::query_as!(
        SessionRecord,
        r#"SELECT s.user_id, u.email, u.display_name, u.roles AS "roles: _", u.municipality_id,
                  m.name AS "municipality_name?", s.csrf_token, s.last_seen_at, s.stage, s.second_factor,
                  u.totp_secret IS NOT NULL AS "has_second_factor!"
           FROM sessions s
           JOIN users u ON u.id = s.user_id
           LEFT JOIN municipalities m ON m.id = u.municipality_id
           WHERE s.id_hash = $1
             AND s.expires_at > now()
             AND s.last_seen_at > now() - make_interval(secs => $2)
             AND u.active"#,
        id_hash,
        idle_timeout.as_secs_f64(),
    )
    .fetch_optional(conn)
    .await
}

pub async fn touch_session(conn: &mut PgConnection, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1",
        id_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut PgConnection, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sessions WHERE id_hash = $1", id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes sessions past their lifetime or idle timeout; returns how many.
pub async fn delete_dead_sessions(
    conn: &mut PgConnection,
    idle_timeout: std::time::Duration,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)",
        idle_timeout.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Failed logins in the window: for this address from this client, from this client for any
/// address, and for this address from anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    sqlx::query_as!(
        RecentFailures,
        r#"SELECT count(*) FILTER (WHERE email = $1 AND client = $2) AS "pair!",
                  count(*) FILTER (WHERE client = $2) AS "client!",
                  count(*) FILTER (WHERE email = $1) AS "email!"
           FROM login_failures
           WHERE at > now() - make_interval(secs => $3) AND (email = $1 OR client = $2)"#,
        email,
        client,
        window.as_secs_f64(),
    )
    .fetch_one(conn)
    .await
}

/// Records an attempt (counted as a failure until forgiven); returns its id.
pub async fn record_login_failure(
    conn: &mut PgConnection,
    email: &str,
    client: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO login_failures (email, client) VALUES ($1, $2) RETURNING id",
        email,
        client,
    )
    .fetch_one(conn)
    .await
}

/// Failures older than a day no longer count for anything.
pub async fn prune_login_failures(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let done = sqlx::query!("DELETE FROM login_failures WHERE at < now() - interval '1 day'")
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    Invitation,
    PasswordReset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Invitation => "invitation",
            TokenPurpose::PasswordReset => "password_reset",
        }
    }
}

/// Stores a new single-use token for the user (only its hash) and returns the token itself.
/// Earlier unused tokens of the same purpose stop working: only the newest link counts.
pub async fn create_token(
    conn: &mut PgConnection,
    user_id: i64,
    purpose: TokenPurpose,
    valid_for: std::time::Duration,
) -> sqlx::Result<String> {
    sqlx::query!(
        "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        user_id,
        purpose.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    let token = crate::secrets::random_token();
    sqlx::query!(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        super::model::token_hash(&token),
        user_id,
        purpose.as_str(),
        valid_for.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(token)
}

/// The user a token belongs to, if it is unused, unexpired and for this purpose.
pub async fn token_user(
    conn: &mut PgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> sqlx::Result<Option<UserRecord>> {
    sqlx::query_as!(
        UserRecord,
        r#"SELECT u.id, u.email, u.display_name, u.password_hash, u.roles AS "roles: _", u.municipality_id, u.active
           FROM users u JOIN account_tokens t ON t.user_id = u.id
           WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now() AND u.active
             AND (t.purpose <> 'invitation' OR u.password_hash IS NULL)"#,
        super::model::token_hash(token),
        purpose.as_str(),
    )
    .fetch_optional(conn)
    .await
}

/// Uses up the token; `None` if it was not (or no longer) valid, so a link works only once
/// even when submitted twice at the same moment.
pub async fn consume_token(
    conn: &mut PgConnection,
    token: &str,
    purpose: TokenPurpose,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "UPDATE account_tokens SET used_at = now()
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id",
        super::model::token_hash(token),
        purpose.as_str(),
    )
    .fetch_optional(conn)
    .await
}

/// Stores a new password hash; every unused invitation or reset link of the account stops
/// working.
pub async fn set_password(
    conn: &mut PgConnection,
    user_id: i64,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM account_tokens WHERE user_id = $1 AND used_at IS NULL",
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the user's sessions on the server, all of them or all but one.
pub async fn delete_sessions_of(
    conn: &mut PgConnection,
    user_id: i64,
    except: Option<&[u8]>,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR id_hash <> $2)",
        user_id,
        except,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn find_user(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<UserRecord>> {
    sqlx::query_as!(
        UserRecord,
        r#"SELECT id, email, display_name, password_hash, roles AS "roles: _", municipality_id, active
           FROM users WHERE id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub id_hash: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub user_agent: Option<String>,
}

pub async fn sessions_of(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<SessionInfo>> {
    sqlx::query_as!(
        SessionInfo,
        "SELECT id_hash, created_at, last_seen_at, user_agent FROM sessions
         WHERE user_id = $1 AND expires_at > now() ORDER BY last_seen_at DESC",
        user_id,
    )
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct UserListRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub municipality_name: Option<String>,
    pub active: bool,
    pub has_password: bool,
}

/// Accounts whose name, address or municipality contains `query` (all when empty), by name.
pub async fn list_users(
    conn: &mut PgConnection,
    query: &str,
    limit: i64,
) -> sqlx::Result<Vec<UserListRow>> {
    sqlx::query_as!(
        UserListRow,
        r#"SELECT u.id, u.email, u.display_name, u.roles AS "roles: _", m.name AS "municipality_name?", u.active,
                  u.password_hash IS NOT NULL AS "has_password!"
           FROM users u LEFT JOIN municipalities m ON m.id = u.municipality_id
           WHERE $1 = '' OR u.display_name ILIKE '%' || $1 || '%' OR u.email ILIKE '%' || $1 || '%'
              OR m.name ILIKE '%' || $1 || '%'
           ORDER BY u.display_name, u.id
           LIMIT $2"#,
        query.replace(['%', '_', '\\'], ""),
        limit,
    )
    .fetch_all(conn)
    .await
}

pub async fn update_roles(
    conn: &mut PgConnection,
    user_id: i64,
    roles: &[Role],
    municipality_id: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET roles = $2, municipality_id = $3, updated_at = now() WHERE id = $1",
        user_id,
        roles as _,
        municipality_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_active(conn: &mut PgConnection, user_id: i64, active: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET active = $2, updated_at = now() WHERE id = $1",
        user_id,
        active,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The second factor of an account.
#[derive(Clone, Debug, Default)]
pub struct SecondFactor {
    pub totp_secret: Option<String>,
    pub totp_last_step: i64,
    pub recovery_codes_left: i64,
}

impl SecondFactor {
    pub fn enabled(&self) -> bool {
        self.totp_secret.is_some()
    }
}

pub async fn second_factor(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<SecondFactor> {
    sqlx::query_as!(
        SecondFactor,
        r#"SELECT totp_secret, totp_last_step,
                  (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS "recovery_codes_left!"
           FROM users u WHERE id = $1"#,
        user_id,
    )
    .fetch_one(conn)
    .await
}

/// Makes the confirmed secret the account's second factor, with fresh recovery codes (only
/// their hashes are stored): the first one, or with `replacing` one in place of the existing
/// one. False if the account changed meanwhile (set up, or removed, by another request).
pub async fn set_totp(
    conn: &mut PgConnection,
    user_id: i64,
    secret: &str,
    step: i64,
    recovery_codes: &[String],
    replacing: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3
         WHERE id = $1 AND (totp_secret IS NOT NULL) = $4",
        user_id,
        secret,
        step,
        replacing,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    replace_recovery_codes(conn, user_id, recovery_codes).await?;
    Ok(true)
}

pub async fn disable_totp(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL WHERE id = $1",
        user_id,
    )
    .execute(&mut *conn)
    .await?;
    replace_recovery_codes(conn, user_id, &[]).await
}

/// Seals every second-factor secret that is still in clear text or under an earlier key with
/// the current key (after a rotation of `SECRET_KEY`, or once after the upgrade to sealing).
pub async fn reseal_totp_secrets(
    conn: &mut PgConnection,
    secrets: &crate::secrets::SecretBox,
) -> anyhow::Result<u64> {
    let stored: Vec<(i64, String)> = sqlx::query!(
        r#"SELECT id, totp_secret AS "totp_secret!" FROM users WHERE totp_secret IS NOT NULL"#,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.totp_secret))
    .collect();
    let mut resealed = 0;
    for (id, value) in stored.into_iter().filter(|(_, v)| secrets.needs_sealing(v)) {
        let sealed = secrets.seal(&secrets.reveal(&value)?);
        sqlx::query!(
            "UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_secret = $3",
            id,
            sealed,
            &value,
        )
        .execute(&mut *conn)
        .await?;
        resealed += 1;
    }
    Ok(resealed)
}

pub async fn replace_recovery_codes(
    conn: &mut PgConnection,
    user_id: i64,
    codes: &[String],
) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    for code in codes {
        let hash = super::model::token_hash(&super::totp::normalise_recovery_code(code));
        sqlx::query!(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
            user_id,
            hash,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records the time step of an accepted code; false if that step (or a later one) was already
/// used, so two submissions of the same code cannot both succeed.
pub async fn use_totp_step(conn: &mut PgConnection, user_id: i64, step: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
        user_id,
        step,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses up a recovery code; false if it is unknown or was used before.
pub async fn use_recovery_code(
    conn: &mut PgConnection,
    user_id: i64,
    code: &str,
) -> sqlx::Result<bool> {
    let hash = super::model::token_hash(&super::totp::normalise_recovery_code(code));
    let done = sqlx::query!(
        "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        user_id,
        hash,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether this client signed in to the account successfully in the last 90 days.
pub async fn signed_in_from_before(
    conn: &mut PgConnection,
    user_id: i64,
    client: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM audit_log WHERE action IN ('login', 'login.second_factor')
                          AND subject = $1 AND client = $2 AND at > now() - interval '90 days') AS "exists!""#,
        Subject::User(user_id).to_string(),
        client,
    )
    .fetch_one(conn)
    .await
}

/// An access request with the name of its municipality.
#[derive(Clone, Debug)]
pub struct AccessRequestRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub municipality: String,
    pub function: String,
    pub state: String,
    pub reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub municipality_id: i64,
}

pub struct NewAccessRequest<'a> {
    pub name: &'a str,
    pub email: &'a EmailAddress,
    pub municipality_id: i64,
    pub function: &'a str,
    pub client: &'a str,
}

pub async fn insert_access_request(
    conn: &mut PgConnection,
    r: NewAccessRequest<'_>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO access_requests (name, email, municipality_id, function, client)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        r.name,
        r.email.as_str(),
        r.municipality_id,
        r.function,
        r.client,
    )
    .fetch_one(conn)
    .await
}

pub async fn access_requests_in_last_hour(
    conn: &mut PgConnection,
    client: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM access_requests
           WHERE client = $1 AND created_at > now() - interval '1 hour'"#,
        client,
    )
    .fetch_one(conn)
    .await
}

pub async fn find_access_request(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<AccessRequestRow>> {
    sqlx::query_as!(
        AccessRequestRow,
        "SELECT r.id, r.name, r.email, m.name AS municipality, r.function, r.state, r.reason,
                r.created_at, r.municipality_id
         FROM access_requests r JOIN municipalities m ON m.id = r.municipality_id
         WHERE r.id = $1",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Open requests and those decided in the last 30 days, newest first.
pub async fn recent_access_requests(
    conn: &mut PgConnection,
) -> sqlx::Result<Vec<AccessRequestRow>> {
    sqlx::query_as!(
        AccessRequestRow,
        "SELECT r.id, r.name, r.email, m.name AS municipality, r.function, r.state, r.reason,
                r.created_at, r.municipality_id
         FROM access_requests r JOIN municipalities m ON m.id = r.municipality_id
         WHERE r.state = 'open' OR r.decided_at > now() - interval '30 days'
         ORDER BY r.created_at DESC LIMIT 500",
    )
    .fetch_all(conn)
    .await
}

/// Locks the request until the transaction ends, so two decisions cannot cross.
pub async fn lock_access_request(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    // The macro needs a named column; only the lock matters, not the row.
    sqlx::query!(
        "SELECT id FROM access_requests WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(())
}

pub enum AccessDecision<'a> {
    Approved { user_id: i64 },
    Declined { reason: &'a str },
}

pub async fn decide_access_request(
    conn: &mut PgConnection,
    id: i64,
    admin_id: i64,
    decision: AccessDecision<'_>,
) -> sqlx::Result<()> {
    let (state, user_id, reason) = match decision {
        AccessDecision::Approved { user_id } => ("approved", Some(user_id), None),
        AccessDecision::Declined { reason } => ("declined", None, Some(reason)),
    };
    sqlx::query!(
        "UPDATE access_requests SET state = $3, decided_by = $2, decided_at = now(), user_id = $4, reason = $5
         WHERE id = $1",
        id,
        admin_id,
        state,
        user_id,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn has_account(conn: &mut PgConnection, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE email = $1) AS "exists!""#,
        email,
    )
    .fetch_one(conn)
    .await
}

/// E-mail and name of the active clerks of a municipality who can sign in.
pub async fn clerks_of(
    conn: &mut PgConnection,
    municipality_id: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query!(
        "SELECT email, display_name FROM users
         WHERE municipality_id = $1 AND $2 = ANY (roles) AND active AND password_hash IS NOT NULL
         ORDER BY id",
        municipality_id,
        Role::Clerk as _,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.email, r.display_name))
        .collect())
}

/// E-mail and name of the active reviewers who can sign in.
pub async fn reviewers(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query!(
        "SELECT email, display_name FROM users
         WHERE $1 = ANY (roles) AND active AND password_hash IS NOT NULL ORDER BY id",
        Role::Reviewer as _,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.email, r.display_name))
        .collect())
}

/// E-mail and name of one user, while the account is active.
pub async fn reachable(
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<Option<(String, String)>> {
    let row = sqlx::query!(
        "SELECT email, display_name FROM users WHERE id = $1 AND active",
        user_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.email, r.display_name)))
}
