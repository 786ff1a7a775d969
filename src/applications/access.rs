//! Who may see and act on an application from the municipality's side: its own clerks, and
//! (reading, confirming participation) the clerks of its partner municipalities.

use super::db::{self, ApplicationRow};
use super::dossier::Dossier;
use super::model::Party;
use super::workflow::Acting;
use crate::accounts::{Clerk, CurrentUser};
use crate::error::AppError;

/// How the signed-in clerk relates to an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A clerk of the applying municipality.
    Owner,
    /// A clerk of a partner municipality: reads, confirms participation.
    Partner,
}

/// The application, if the clerk may see it. Other municipalities' applications do not exist
/// for them (404); ministry staff work on applications in the review pages (403 here).
pub async fn open(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<(ApplicationRow, Access), AppError> {
    let row = if lock {
        db::lock(conn, id).await?
    } else {
        db::find(conn, id).await?
    }
    .ok_or(AppError::NotFound)?;
    tracing::Span::current().record("application_id", id);
    Clerk::check(user)?;
    let municipality = user.municipality_id.ok_or(AppError::Forbidden)?;
    if row.municipality_id == municipality {
        Ok((row, Access::Owner))
    } else if db::is_partner(conn, id, municipality).await? {
        Ok((row, Access::Partner))
    } else {
        Err(AppError::NotFound)
    }
}

/// The application, if the clerk belongs to the applying municipality; partners get 403.
pub async fn owned(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<ApplicationRow, AppError> {
    match open(conn, user, id, lock).await? {
        (row, Access::Owner) => Ok(row),
        (_, Access::Partner) => Err(AppError::Forbidden),
    }
}

/// [`owned`], with everything the application consists of.
pub async fn owned_dossier(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<Dossier, AppError> {
    let row = owned(conn, user, id, lock).await?;
    Ok(Dossier::load(conn, row).await?)
}

pub fn acting(user: &CurrentUser) -> Acting {
    Acting {
        user_id: user.id,
        party: Party::Applicant,
        municipality_id: user.municipality_id,
    }
}
