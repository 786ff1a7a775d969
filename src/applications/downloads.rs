//! Files as downloads, for the municipality's and the ministry's pages alike: attachments (and
//! any stored file, such as a Mittelabruf's receipts) and the issued notice. Who may have them is the caller's check.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::db::{self, ApplicationRow};
use super::files::{self, FileKind};
use crate::error::AppError;
use crate::state::AppState;

/// The attachment as a download: the type found by content, no caching. `inline` shows a PDF
/// in the browser instead (sandboxed, so a PDF's scripts cannot act as the portal); other
/// types are always downloaded.
pub async fn attachment(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    application_id: i64,
    file_id: i64,
    inline: bool,
) -> Result<Response, AppError> {
    let attachment = db::attachments(conn, application_id)
        .await?
        .into_iter()
        .find(|a| a.id == file_id)
        .ok_or(AppError::NotFound)?;
    stored_file(
        app,
        &StoredFile {
            key: &attachment.storage_key,
            name: &attachment.file_name,
            content_type: &attachment.content_type,
            size_bytes: attachment.size_bytes,
        },
        inline,
    )
    .await
}

/// A file in the store, as the pages offer it.
pub struct StoredFile<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
}

/// A stored file as a download: no caching, sandboxed; `inline` shows a PDF in the browser.
pub async fn stored_file(
    app: &AppState,
    f: &StoredFile<'_>,
    inline: bool,
) -> Result<Response, AppError> {
    let file = app.files.open(f.key).await.map_err(anyhow::Error::from)?;
    let body = Body::from_stream(file);
    let mut disposition = files::content_disposition(f.name);
    if inline && f.content_type == FileKind::Pdf.content_type() {
        disposition = disposition.replacen("attachment", "inline", 1);
    }
    Ok((
        [
            (header::CONTENT_TYPE, f.content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, f.size_bytes.to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
        ],
        body,
    )
        .into_response())
}

/// The issued notice as a download named after the Aktenzeichen.
pub async fn notice(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    row: &ApplicationRow,
) -> Result<Response, AppError> {
    let notice = db::notice_id(conn, row.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = format!("Bescheid {}.pdf", row.reference.clone().unwrap_or_default());
    super::documents::download(app, conn, notice, "application/pdf", &name).await
}
