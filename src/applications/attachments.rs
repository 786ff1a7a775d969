//! The Anlagen section: one upload form per document type the round asks for, plus additional
//! documents; streaming uploads checked by content and size, downloads with a safe name.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::access::{open, owned, owned_dossier};
use super::db::{self, NewAttachment};
use super::dossier::Dossier;
use super::files::{self, FileKind};
use super::model::Section;
use super::sections::SectionQuery;
use super::uploads::{self, ACCEPTED, UploadForm, megabytes};
use super::views::Header;
use crate::accounts::CurrentUser;
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::csrf::CsrfToken;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/antraege/{id}/anlagen",
            get(page)
                .post(upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/antraege/{id}/anlagen/{file}", get(download))
        .route("/antraege/{id}/anlagen/{file}/loeschen", post(delete))
}

pub struct FileView {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub uploaded: String,
    pub by: String,
}

pub struct DocumentView {
    /// "document-{id}" or "document-extra": the upload field's id.
    pub field: String,
    /// The value the form sends.
    pub value: String,
    pub name: String,
    pub required: bool,
    pub files: Vec<FileView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/attachments.html")]
struct AttachmentsPage {
    page: PageContext,
    head: Header,
    documents: Vec<DocumentView>,
    errors: FormErrors,
    editable: bool,
    max_file: String,
    max_total: String,
    used: String,
    accepted: &'static str,
    next_href: String,
    back_to_review: bool,
}

fn file_view(a: &db::AttachmentRow) -> FileView {
    FileView {
        id: a.id,
        name: a.file_name.clone(),
        size: megabytes(u64::try_from(a.size_bytes).unwrap_or(0)),
        uploaded: locale::date_time(a.uploaded_at),
        by: a.uploaded_by_name.clone(),
    }
}

fn documents(dossier: &Dossier) -> Vec<DocumentView> {
    let mut docs: Vec<DocumentView> = dossier
        .documents
        .iter()
        .map(|d| DocumentView {
            field: format!("document-{}", d.id),
            value: d.id.to_string(),
            name: d.name.clone(),
            required: d.required,
            files: dossier
                .attachments
                .iter()
                .filter(|a| a.attachment_type_id == Some(d.id))
                .map(file_view)
                .collect(),
        })
        .collect();
    docs.push(DocumentView {
        field: "document-extra".into(),
        value: "extra".into(),
        name: "Weitere Unterlagen".into(),
        required: false,
        files: dossier
            .attachments
            .iter()
            .filter(|a| a.attachment_type_id.is_none())
            .map(file_view)
            .collect(),
    });
    docs
}

fn attachments_page(
    app: &AppState,
    page: PageContext,
    dossier: &Dossier,
    errors: FormErrors,
    back_to_review: bool,
) -> AttachmentsPage {
    let id = dossier.id();
    let used: i64 = dossier.attachments.iter().map(|a| a.size_bytes).sum();
    let next_href = if back_to_review {
        format!("/antraege/{id}/pruefen")
    } else {
        match Section::Attachments.next() {
            Some(next) if dossier.is_editable(next) => format!("/antraege/{id}/{}", next.slug()),
            _ => format!("/antraege/{id}"),
        }
    };
    AttachmentsPage {
        page,
        head: Header::new(&dossier.application),
        documents: documents(dossier),
        errors,
        editable: dossier.is_editable(Section::Attachments),
        max_file: megabytes(app.config.attachment_max_bytes),
        max_total: megabytes(app.config.application_files_max_bytes),
        used: megabytes(u64::try_from(used).unwrap_or(0)),
        accepted: ACCEPTED,
        next_href,
        back_to_review,
    }
}

async fn page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<SectionQuery>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let dossier = owned_dossier(&mut conn, &user, id, false).await?;
    if !dossier.is_editable(Section::Attachments) {
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    }
    let back = query.zurueck == "pruefen";
    Ok(attachments_page(&app, page, &dossier, FormErrors::default(), back).into_response())
}

async fn upload(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    csrf_token: Option<Extension<CsrfToken>>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    // Who may upload is decided before the body is read.
    {
        let mut conn = app.db.acquire().await?;
        owned(&mut conn, &user, id, false).await?;
    }
    let multipart = multipart.map_err(|_| AppError::BadRequest)?;
    let mut form = uploads::read_form(
        &app,
        crate::audit::Actor {
            user_id: Some(user.id),
            client: &client.0,
        },
        Subject::Application(id),
        csrf_token.as_ref().map(|Extension(t)| t),
        multipart,
    )
    .await?;
    let back_to_review = form.field("zurueck") == "pruefen";
    let document = form.field("document").to_string();
    let result = store(&app, &user, &client, id, &document, &mut form).await;
    match result {
        Ok(Ok(name)) => {
            let query = if back_to_review {
                "?zurueck=pruefen"
            } else {
                ""
            };
            Ok(redirect_with_flash(
                &app.cookies,
                &format!("/antraege/{id}/anlagen{query}"),
                &format!("„{name}“ ist hochgeladen."),
            ))
        }
        Ok(Err((field, message))) => {
            let mut conn = app.db.acquire().await?;
            let dossier = owned_dossier(&mut conn, &user, id, false).await?;
            let mut errors = FormErrors::default();
            errors.add(field, message);
            let page = attachments_page(&app, page, &dossier, errors, back_to_review);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}

/// Checks the received file and records it. Returns its name, or the field and message to show.
async fn store(
    app: &AppState,
    user: &CurrentUser,
    client: &ClientAddress,
    id: i64,
    document: &str,
    form: &mut UploadForm,
) -> Result<Result<String, (String, String)>, AppError> {
    let mut tx = app.db.begin().await?;
    let dossier = owned_dossier(&mut tx, user, id, true).await?;
    let type_id = match document {
        "extra" => None,
        other => match dossier.documents.iter().find(|d| other.parse() == Ok(d.id)) {
            Some(d) => Some(d.id),
            None => return Err(AppError::BadRequest),
        },
    };
    let field = match type_id {
        Some(t) => format!("document-{t}"),
        None => "document-extra".to_string(),
    };
    let refuse = |message: String| Ok(Err((field.clone(), message)));
    if !dossier.is_editable(Section::Attachments) {
        return refuse("Die Anlagen können in diesem Status nicht mehr geändert werden.".into());
    }
    let (file, kind) = match form.accepted_file(app.config.attachment_max_bytes) {
        Ok(accepted) => accepted,
        Err(message) => return refuse(message),
    };
    let used = u64::try_from(db::attachment_bytes(&mut tx, id).await?).unwrap_or(0);
    if used + file.size > app.config.application_files_max_bytes {
        file.upload.discard();
        return refuse(format!(
            "Alle Anlagen eines Antrags zusammen dürfen höchstens {} groß sein; bereits hochgeladen sind {}.",
            megabytes(app.config.application_files_max_bytes),
            megabytes(used)
        ));
    }
    let name = files::safe_file_name(&file.original_name, kind);
    let (size, sha256) = (file.size, file.sha256);
    let key = app
        .files
        .keep(file.upload)
        .await
        .map_err(anyhow::Error::from)?;
    let recorded = record(
        &mut tx, &dossier, user, client, type_id, &name, &key, kind, size, &sha256,
    )
    .await;
    match recorded {
        Ok(()) => {}
        Err(e) => {
            let _ = app.files.delete(&key).await;
            return Err(e);
        }
    }
    if let Err(e) = tx.commit().await {
        let _ = app.files.delete(&key).await;
        return Err(e.into());
    }
    Ok(Ok(name))
}

#[allow(clippy::too_many_arguments)]
async fn record(
    conn: &mut sqlx::PgConnection,
    dossier: &Dossier,
    user: &CurrentUser,
    client: &ClientAddress,
    type_id: Option<i64>,
    name: &str,
    key: &str,
    kind: FileKind,
    size: u64,
    sha256: &[u8],
) -> Result<(), AppError> {
    let file_id = db::insert_attachment(
        conn,
        &NewAttachment {
            application_id: dossier.id(),
            attachment_type_id: type_id,
            file_name: name,
            storage_key: key,
            content_type: kind.content_type(),
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            sha256,
            uploaded_by: user.id,
        },
    )
    .await?;
    audit::record(
        conn,
        user.actor(client),
        "application.attachment_uploaded",
        Subject::Application(dossier.id()),
        json!({ "attachment_id": file_id, "name": name, "bytes": size }),
    )
    .await?;
    Ok(())
}

/// Clerks of the applying and the partner municipalities may download.
async fn download(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, file_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    open(&mut conn, &user, id, false).await?;
    super::downloads::attachment(&app, &mut conn, id, file_id, false).await
}

async fn delete(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path((id, file_id)): Path<(i64, i64)>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let dossier = owned_dossier(&mut tx, &user, id, true).await?;
    if !dossier.is_editable(Section::Attachments) {
        return Err(AppError::Forbidden);
    }
    let Some(key) = db::delete_attachment(&mut tx, id, file_id).await? else {
        return Err(AppError::NotFound);
    };
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.attachment_deleted",
        Subject::Application(id),
        json!({ "attachment_id": file_id }),
    )
    .await?;
    tx.commit().await?;
    // After the commit: a failed delete leaves an orphan file, never a record without its file.
    if let Err(e) = app.files.delete(&key).await {
        tracing::warn!(error = %e, "could not delete attachment file");
    }
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{id}/anlagen"),
        "Die Datei ist gelöscht.",
    ))
}
