//! The documents the portal issues — notices and SEPA payment files — kept in the file store
//! beside the uploads and named by a row of `stored_documents`, which the issuing record points
//! at. The file is kept before the record's transaction commits; if that fails, the file is one
//! no record names and the housekeeping sweeps it (`uploads::sweep_orphans`).

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use sqlx::{PgConnection, PgPool};

use super::db;
use super::store::FileStore;
use crate::error::AppError;
use crate::state::AppState;

/// Documents moved from the database into the store per transaction.
const MOVE_BATCH: i64 = 20;

/// Keeps `bytes` in the store and records them; the id is the issuing record's reference.
pub async fn keep(conn: &mut PgConnection, files: &FileStore, bytes: &[u8]) -> anyhow::Result<i64> {
    let key = files.keep_bytes(bytes).await?;
    Ok(db::insert_document(conn, &key, i64::try_from(bytes.len())?).await?)
}

/// Forgets a document no record names any more (a notice issued again); its file goes with the
/// next sweep.
pub async fn forget(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    db::delete_document(conn, id).await
}

/// The document as a download named `name` (ASCII), streamed from the store. Who may have it is
/// the caller's check.
pub async fn download(
    app: &AppState,
    conn: &mut PgConnection,
    id: i64,
    content_type: &str,
    name: &str,
) -> Result<Response, AppError> {
    let found = db::document(conn, id).await?.ok_or(AppError::NotFound)?;
    let body = match (found.storage_key, found.content) {
        (Some(key), _) => {
            let stream = app.files.open(&key).await.map_err(anyhow::Error::from)?;
            Body::from_stream(stream)
        }
        // Issued before documents moved into the store, and not moved yet.
        (None, Some(content)) => Body::from(content),
        (None, None) => return Err(AppError::NotFound),
    };
    let mut response = crate::web::download(content_type, name, body);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(found.size_bytes));
    Ok(response)
}

/// Documents issued before they were kept in the store, moved there; returns how many. Several
/// instances may run this at once: each takes rows the others have not locked.
pub async fn move_into_store(pool: &PgPool, files: &FileStore) -> anyhow::Result<usize> {
    let mut moved = 0;
    loop {
        let mut tx = pool.begin().await?;
        let waiting = db::documents_waiting(&mut tx, MOVE_BATCH).await?;
        if waiting.is_empty() {
            return Ok(moved);
        }
        for (id, content) in waiting {
            let key = files.keep_bytes(&content).await?;
            db::document_moved(&mut tx, id, &key).await?;
            moved += 1;
        }
        tx.commit().await?;
    }
}
