//! The dashboard's current selection as a CSV file for German Excel and LibreOffice: UTF-8 with
//! BOM, semicolons, decimal commas. Streamed: rows are read page by page (the dashboard's own
//! keyset order) and written through a small pipe, never held in memory all at once.

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use tokio::io::AsyncWriteExt;
use tracing::Instrument;

use super::dashboard::review_label;
use super::db::{self, CaseRow};
use super::model::{Cursor, FilterQuery};
use crate::accounts::Reviewer;
use crate::error::AppError;
use crate::locale;
use crate::spreadsheet::csv_lines;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/pruefung/export.csv", get(export))
}

const CHUNK: i64 = 1000;

const HEADER: [&str; 11] = [
    "Aktenzeichen",
    "Vorhaben",
    "Kommune",
    "Förderaufruf",
    "Fördergegenstand",
    "Status",
    "Beantragte Zuwendung (EUR)",
    "Bewilligte Zuwendung (EUR)",
    "Eingereicht am",
    "Entschieden am",
    "Zugewiesen an",
];

fn record(c: &CaseRow) -> [String; 11] {
    let status = c.status;
    [
        c.reference.clone(),
        c.title.clone(),
        c.municipality.clone(),
        c.round_title.clone(),
        c.category_code.clone().unwrap_or_default(),
        review_label(status).to_string(),
        crate::spreadsheet::decimal(c.requested_grant_cents),
        crate::spreadsheet::decimal(c.granted_cents),
        locale::date(c.submitted_at),
        c.decided_at.map(locale::date).unwrap_or_default(),
        c.assignee.clone().unwrap_or_default(),
    ]
}

async fn export(
    State(app): State<AppState>,
    user: Reviewer,
    Query(query): Query<FilterQuery>,
) -> Result<Response, AppError> {
    let (mut filter, _) = query.parse();
    filter.after = None;
    let (mut write, read) = tokio::io::duplex(64 * 1024);
    let db = app.db.clone();
    let me = user.id;
    // The export goes on after the handler returned: in the request's span, so its log lines
    // still carry the request id and the user.
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            let result: anyhow::Result<()> = async {
                write.write_all(crate::spreadsheet::BOM.as_bytes()).await?;
                write
                    .write_all(&csv_lines([HEADER.map(String::from)]))
                    .await?;
                loop {
                    let rows = {
                        let mut conn = db.acquire().await?;
                        db::cases(&mut conn, &filter, me, CHUNK).await?
                    };
                    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > CHUNK;
                    let page =
                        &rows[..rows.len().min(usize::try_from(CHUNK).unwrap_or(usize::MAX))];
                    write.write_all(&csv_lines(page.iter().map(record))).await?;
                    match page.last() {
                        Some(last) if more => {
                            filter.after = Some(Cursor {
                                value: last.sort_value.clone(),
                                id: last.id,
                            });
                        }
                        _ => break,
                    }
                }
                write.shutdown().await?;
                Ok(())
            }
            .await;
            if let Err(e) = result {
                // The response has started; a broken file is all the client can be told.
                tracing::warn!(error = %e, "CSV export stopped");
            }
        }
        .instrument(span),
    );
    let name = format!(
        "antraege-{}.csv",
        locale::date(time::OffsetDateTime::now_utc())
    );
    Ok(crate::web::download(
        "text/csv; charset=utf-8",
        &name,
        Body::from_stream(tokio_util::io::ReaderStream::new(read)),
    ))
}
