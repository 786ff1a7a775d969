//! Form plumbing that needs the HTTP layer: multipart text parts.

/// A text part of a multipart form (the form token, a choice) read chunk by chunk and refused
/// with 413 once it passes `limit` bytes, so a huge "text" part costs no more memory than an
/// ordinary form may.
pub async fn multipart_text(
    mut field: axum::extract::multipart::Field<'_>,
    limit: usize,
) -> Result<String, crate::error::AppError> {
    use crate::error::AppError;
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| AppError::BadRequest)? {
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| AppError::BadRequest)
}
