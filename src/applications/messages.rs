//! Messages on a case between the ministry and the applying municipality: stored, announced by
//! e-mail to the other side, and recorded in the audit log, in the caller's transaction.

use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, ApplicationRow};
use super::workflow::recipients;
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::mail::messages::{CaseMessage, Message};
use crate::state::AppState;

/// Who writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Ministry,
    Municipality,
}

pub async fn post(
    conn: &mut PgConnection,
    app: &AppState,
    row: &ApplicationRow,
    author: Actor<'_>,
    side: Side,
    body: &str,
) -> Result<(), AppError> {
    let (id, base_url) = (row.id, &app.config.base_url);
    let author_id = author.user_id.ok_or(AppError::Forbidden)?;
    let from_ministry = side == Side::Ministry;
    db::add_message(conn, id, author_id, from_ministry, body).await?;
    // The other side hears of it: all clerks of the municipality, or the case's reviewer.
    let (to, from, link) = match side {
        Side::Ministry => (
            crate::accounts::db::clerks_of(conn, row.municipality_id).await?,
            "dem Thüringer Finanzministerium".to_string(),
            format!("{base_url}/antraege/{id}#nachrichten"),
        ),
        Side::Municipality => (
            db::case_reviewer(conn, id).await?.into_iter().collect(),
            row.municipality_name.clone(),
            format!("{base_url}/pruefung/antraege/{id}/nachrichten"),
        ),
    };
    let message = Message::CaseMessage(CaseMessage {
        reference: row.reference.clone().unwrap_or_default(),
        title: row.display_title(),
        from,
        message: body.to_string(),
        link,
    });
    app.outbox
        .enqueue_to_all(conn, &recipients(to), &message)
        .await?;
    audit::record(
        conn,
        author,
        "application.message_sent",
        Subject::Application(id),
        json!({ "from_ministry": from_ministry }),
    )
    .await?;
    Ok(())
}
