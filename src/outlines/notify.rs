//! The e-mails of the consultation and the partner search, all one kind of message
//! ([`OutlineUpdate`]), enqueued in the caller's transaction.

use sqlx::PgConnection;

use super::db::OutlineRow;
use crate::accounts::db as accounts;
use crate::applications::workflow::recipients;
use crate::error::AppError;
use crate::mail::messages::{Message, OutlineUpdate};
use crate::state::AppState;

/// Where a link in the mail leads: the municipality's, the ministry's or the partner
/// search's page of the outline.
pub enum Page {
    Own,
    Ministry,
    Search,
}

fn link(app: &AppState, row: &OutlineRow, page: &Page) -> String {
    let base = &app.config.base_url;
    match page {
        Page::Own => format!("{base}/skizzen/{}", row.id),
        Page::Ministry => format!("{base}/pruefung/skizzen/{}", row.id),
        Page::Search => format!("{base}/partnersuche/{}", row.id),
    }
}

/// Sends `(about, what)` and the other side's `message` about `row`, linking to `page`.
async fn send(
    conn: &mut PgConnection,
    app: &AppState,
    to: Vec<(String, String)>,
    (row, page): (&OutlineRow, Page),
    (about, what): (&str, &str),
    message: &str,
) -> Result<(), AppError> {
    let update = OutlineUpdate {
        title: row.title.clone(),
        about: about.into(),
        what: what.into(),
        message: message.into(),
        link: link(app, row, &page),
    };
    app.outbox
        .enqueue_to_all(conn, &recipients(to), &Message::OutlineUpdate(update))
        .await?;
    Ok(())
}

/// To the municipality's clerks.
pub async fn municipality(
    conn: &mut PgConnection,
    app: &AppState,
    row: &OutlineRow,
    (about, what): (&str, &str),
    message: &str,
) -> Result<(), AppError> {
    let to = accounts::clerks_of(conn, row.municipality_id).await?;
    send(conn, app, to, (row, Page::Own), (about, what), message).await
}

/// To the reviewer who answered last, or, before anyone has, to all reviewers.
pub async fn ministry(
    conn: &mut PgConnection,
    app: &AppState,
    row: &OutlineRow,
    (about, what): (&str, &str),
    message: &str,
) -> Result<(), AppError> {
    let answered = match row.reviewer_id {
        Some(id) => accounts::reachable(conn, id).await?,
        None => None,
    };
    let to = match answered {
        Some(reviewer) => vec![reviewer],
        None => accounts::reviewers(conn).await?,
    };
    send(conn, app, to, (row, Page::Ministry), (about, what), message).await
}

/// To the clerk whose interest the owner accepted.
pub async fn partner_accepted(
    conn: &mut PgConnection,
    app: &AppState,
    row: &OutlineRow,
    clerk: i64,
) -> Result<(), AppError> {
    let to = accounts::reachable(conn, clerk)
        .await?
        .into_iter()
        .collect();
    let what = format!(
        "{} hat Ihre Kommune als Partner angenommen. Im Antrag werden Sie gebeten, die Beteiligung zu bestätigen.",
        row.municipality
    );
    let about = "Partnerschaft angenommen";
    send(conn, app, to, (row, Page::Search), (about, &what), "").await
}
