//! Files as downloads, for the municipality's and the ministry's pages alike: attachments and
//! the issued notice. Who may have them is the caller's check.

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
    let file = app
        .files
        .open(&attachment.storage_key)
        .await
        .map_err(anyhow::Error::from)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut disposition = files::content_disposition(&attachment.file_name);
    if inline && attachment.content_type == FileKind::Pdf.content_type() {
        disposition = disposition.replacen("attachment", "inline", 1);
    }
    Ok((
        [
            (header::CONTENT_TYPE, attachment.content_type.clone()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, attachment.size_bytes.to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
        ],
        body,
    )
        .into_response())
}

/// The issued notice as a download named after the Aktenzeichen.
pub async fn notice(
    conn: &mut sqlx::PgConnection,
    row: &ApplicationRow,
) -> Result<Response, AppError> {
    let pdf = db::notice_pdf(conn, row.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = format!("Bescheid {}.pdf", row.reference.clone().unwrap_or_default());
    Ok(crate::web::download("application/pdf", &name, pdf))
}
