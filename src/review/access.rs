//! Who may work on an application in the review pages.

use crate::accounts::{CurrentUser, Reviewer};
use crate::applications::db::{self as applications_db, ApplicationRow};
use crate::applications::model::Party;
use crate::applications::workflow::Acting;
use crate::error::AppError;

/// The application, for ministry staff (404 for unknown ids and drafts, then 403 for others).
pub async fn case_of(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<ApplicationRow, AppError> {
    let row = if lock {
        applications_db::lock(conn, id).await?
    } else {
        applications_db::find(conn, id).await?
    };
    // Drafts are the municipality's own business until submitted.
    let row = row
        .filter(|a| a.reference.is_some())
        .ok_or(AppError::NotFound)?;
    tracing::Span::current().record("application_id", id);
    Reviewer::check(user)?;
    Ok(row)
}

pub fn reviewer(user: &CurrentUser) -> Acting {
    Acting {
        user_id: user.id,
        party: Party::Reviewer,
        municipality_id: None,
    }
}
