//! Who may see a grant's life after the award: the funded municipality's clerks.

use super::db::{self, GrantTerms};
use crate::accounts::CurrentUser;
use crate::applications::access::owned;
use crate::applications::db::ApplicationRow;
use crate::error::AppError;

/// The application and its grant's terms, for a clerk of the funded municipality; 404 unless
/// approved or settled. `lock` holds the grant for the transaction.
pub async fn owned_grant(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<(ApplicationRow, GrantTerms), AppError> {
    let row = owned(conn, user, id, false).await?;
    let terms = db::terms(conn, id, lock).await?.ok_or(AppError::NotFound)?;
    Ok((row, terms))
}
