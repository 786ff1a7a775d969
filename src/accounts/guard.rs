//! Guessing protection for every check of a secret (password at login, second-factor code,
//! the current password or code when changing security settings). An attempt is counted
//! *before* the check, so a burst of parallel requests cannot slip past the limit, and
//! forgiven when it succeeds.

use sqlx::PgConnection;

use super::db;
use super::model::throttle;

/// A counted attempt; forgive it when the secret was right.
pub struct Attempt {
    id: i64,
}

/// Counts an attempt for `key` (an address or `kind:user-id`) from `client`, unless the limits
/// are reached: then `None`. A `known_client` (one that signed in to this account before) is
/// exempt from the account-wide limit, so attacks from elsewhere cannot lock the owner out.
pub async fn begin(
    conn: &mut PgConnection,
    key: &str,
    client: &str,
    known_client: bool,
) -> sqlx::Result<Option<Attempt>> {
    let client = &client_bucket(client);
    // Serialise attempts on one key, so that counting and inserting is one step.
    crate::database::lock_key(conn, key).await?;
    let recent = db::recent_login_failures(conn, key, client, throttle::WINDOW).await?;
    let account_wide = if known_client { 0 } else { recent.email };
    if throttle::is_throttled(recent.pair, recent.client, account_wide) {
        return Ok(None);
    }
    let id = db::record_login_failure(conn, key, client).await?;
    Ok(Some(Attempt { id }))
}

/// How many uncleared attempts the key has in the window, from anywhere.
pub async fn attempts_on(conn: &mut PgConnection, key: &str) -> sqlx::Result<i64> {
    Ok(db::recent_login_failures(conn, key, "", throttle::WINDOW)
        .await?
        .email)
}

/// The unit a client is counted in: its IPv4 address, or the /64 network of an IPv6 address
/// (one household or server gets a whole /64, so single addresses are free to rotate).
fn client_bucket(client: &str) -> String {
    match client.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => client.to_string(),
    }
}

pub async fn forgive(conn: &mut PgConnection, attempt: Attempt) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM login_failures WHERE id = $1", attempt.id)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::client_bucket;

    #[test]
    fn ipv6_clients_are_counted_per_64_network() {
        assert_eq!(client_bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            client_bucket("2001:db8:1:2:ffff::9"),
            client_bucket("2001:db8:1:2::5")
        );
        assert_eq!(client_bucket("203.0.113.7"), "203.0.113.7");
    }
}
