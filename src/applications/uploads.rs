//! Receiving a file from a multipart form, for every upload of the portal (an application's
//! Anlagen, a Mittelabruf's receipts): the form token is checked first, text fields are read with
//! the form limit, the file is streamed into the store with only its first bytes in memory (for
//! the type check), and the usual refusals are worded once.

use std::collections::BTreeMap;

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::files::{self, FileKind, SNIFF_BYTES};
use super::store::{FileStore, Upload};
use crate::audit::{self, Actor, Subject};
use crate::error::AppError;
use crate::malware::Verdict;
use crate::state::AppState;
use crate::web::csrf::{self, CsrfToken};
use crate::web::multipart_text;

/// The formats the portal accepts, as the pages name them.
pub const ACCEPTED: &str = "PDF, ODT, ODS, DOCX, XLSX, PNG oder JPEG";

/// "12 MB", "2,5 MB"
pub fn megabytes(bytes: u64) -> String {
    let tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024);
    if tenths.is_multiple_of(10) {
        format!("{} MB", tenths / 10)
    } else {
        format!("{},{} MB", tenths / 10, tenths % 10)
    }
}

/// A file received into the store's incoming area (removed unless kept).
pub struct ReceivedFile {
    pub upload: Upload,
    pub original_name: String,
    pub size: u64,
    pub head: Vec<u8>,
    pub sha256: Vec<u8>,
}

/// What an upload form sent: its text fields and the file (field `datei`).
pub struct UploadForm {
    pub fields: BTreeMap<String, String>,
    pub file: Option<ReceivedFile>,
    /// The file was larger than the limit (and was not kept).
    pub too_large: bool,
    /// The file was refused by the malware scan, or could not be scanned: why, in German.
    pub refused: Option<String>,
}

impl UploadForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// The file if it is one the portal accepts, or the German reason why not. A refused
    /// file is removed.
    pub fn accepted_file(&mut self, limit: u64) -> Result<(ReceivedFile, FileKind), String> {
        if let Some(reason) = self.refused.take() {
            return Err(reason);
        }
        if self.too_large {
            return Err(format!(
                "Die Datei ist größer als {}. Bitte verkleinern Sie sie oder teilen Sie sie auf.",
                megabytes(limit)
            ));
        }
        let Some(file) = self.file.take().filter(|f| f.size > 0) else {
            return Err("Bitte wählen Sie eine Datei aus.".into());
        };
        match files::sniff(&file.head) {
            Some(kind) => Ok((file, kind)),
            None => Err(format!(
                "Die Datei „{}“ ist kein zugelassenes Dokument. Erlaubt sind {ACCEPTED}; maßgeblich ist der Inhalt der Datei, nicht ihr Name.",
                crate::validation::clean_line(&file.original_name, 150)
            )),
        }
    }
}

/// Reads the form. The form token must come before the file: a file before it is not read at
/// all, and a form without a valid token is refused (403) with nothing kept. The file is
/// scanned for malware (where a scanner is configured) before anyone can keep it; `actor` and
/// `subject` (what the file was meant for) go into the audit log when it is infected.
pub async fn read_form(
    app: &AppState,
    actor: Actor<'_>,
    subject: Subject<'_>,
    csrf_token: Option<&CsrfToken>,
    mut multipart: Multipart,
) -> Result<UploadForm, AppError> {
    let mut token_checked = false;
    let mut form = UploadForm {
        fields: BTreeMap::new(),
        file: None,
        too_large: false,
        refused: None,
    };
    let limit = app.config.attachment_max_bytes;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest)?
    {
        let name = field.name().unwrap_or_default().to_string();
        let unread = form.file.is_none() && !form.too_large && form.refused.is_none();
        match name.as_str() {
            "csrf_token" => {
                let sent = multipart_text(field, app.config.body_limit_bytes).await?;
                csrf::verify(csrf_token, &sent)?;
                token_checked = true;
            }
            "datei" if token_checked && unread => {
                match receive_file(&app.files, limit, field).await? {
                    Some(file) => match scan(app, actor, subject, &file).await? {
                        None => form.file = Some(file),
                        Some(reason) => {
                            file.upload.discard();
                            form.refused = Some(reason);
                        }
                    },
                    None => form.too_large = true,
                }
            }
            "datei" => {}
            _ => {
                let value = multipart_text(field, app.config.body_limit_bytes).await?;
                form.fields.insert(name, value);
            }
        }
    }
    if !token_checked {
        return Err(AppError::CsrfMismatch);
    }
    Ok(form)
}

/// The malware scan of a received file: `None` if it may be kept, otherwise the German reason.
/// An infected file is audited; a scanner that gives no verdict refuses the file (fail closed).
async fn scan(
    app: &AppState,
    actor: Actor<'_>,
    subject: Subject<'_>,
    file: &ReceivedFile,
) -> Result<Option<String>, AppError> {
    let name = crate::validation::clean_line(&file.original_name, 150);
    match app.scanner.scan(file.upload.path()).await {
        Ok(Verdict::Clean | Verdict::NotScanned) => Ok(None),
        Ok(Verdict::Infected(signature)) => {
            tracing::warn!(%subject, %signature, "upload refused: malware found");
            let mut conn = app.db.acquire().await?;
            audit::record(
                &mut conn,
                actor,
                "upload.infected",
                subject,
                serde_json::json!({
                    "file_name": name,
                    "signature": signature,
                    "size_bytes": file.size,
                }),
            )
            .await?;
            Ok(Some(format!(
                "Die Datei „{name}“ enthält Schadsoftware ({signature}) und wurde nicht angenommen. Bitte prüfen Sie Ihren Rechner und laden Sie eine saubere Fassung hoch."
            )))
        }
        Err(e) => {
            tracing::error!(error = %e, %subject, "upload refused: the malware scan failed");
            Ok(Some(
                "Die Datei konnte gerade nicht auf Schadsoftware geprüft werden und wurde deshalb nicht angenommen. Bitte versuchen Sie es in einigen Minuten noch einmal."
                    .into(),
            ))
        }
    }
}

/// Streams the file field to the store. Stops writing once it is over the limit (`None`) but
/// reads on, so the browser gets the answer.
async fn receive_file(
    store: &FileStore,
    limit: u64,
    mut field: Field<'_>,
) -> Result<Option<ReceivedFile>, AppError> {
    let original_name = field.file_name().unwrap_or_default().to_string();
    let mut upload = store.begin().await.map_err(anyhow::Error::from)?;
    let (mut size, mut head, mut hasher) = (0u64, Vec::new(), Sha256::new());
    let mut too_large = false;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) => {
                upload.discard();
                return Err(AppError::PayloadTooLarge);
            }
        };
        size += chunk.len() as u64;
        if too_large || size > limit {
            too_large = true;
            continue;
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        if let Err(e) = upload.file.write_all(&chunk).await {
            upload.discard();
            return Err(anyhow::Error::from(e).into());
        }
    }
    if too_large {
        upload.discard();
        return Ok(None);
    }
    // Written out, so that the scanner (which opens the file anew) reads all of it.
    if let Err(e) = upload.file.flush().await {
        upload.discard();
        return Err(anyhow::Error::from(e).into());
    }
    Ok(Some(ReceivedFile {
        upload,
        original_name,
        size,
        head,
        sha256: hasher.finalize().to_vec(),
    }))
}

/// Removes kept files that no record names and that are older than `min_age` (an upload kept
/// just before its transaction failed, or a crash between the two); younger ones may belong
/// to a transaction still under way. Returns how many went.
pub async fn sweep_orphans(app: &AppState, min_age: std::time::Duration) -> anyhow::Result<usize> {
    let keys = app.files.keys_older_than(min_age).await?;
    let mut removed = 0;
    for batch in keys.chunks(1000) {
        let mut conn = app.db.acquire().await?;
        let orphans = super::db::unreferenced_keys(&mut conn, batch).await?;
        drop(conn);
        for key in orphans {
            app.files.delete(&key).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
