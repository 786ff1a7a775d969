//! The admin view of the directory (search; editing and import come with the programme issue).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::db::{self, ImportFailure, ImportReport, MunicipalityRecord, MunicipalityRow};
use super::import;
use super::model::Kind;
use crate::accounts::Admin;
use crate::audit::Subject;
use crate::error::AppError;
use crate::state::AppState;
use crate::validation::{FormErrors, clean_line, required_line};
use crate::web::csrf::{self, CsrfToken};
use crate::web::{ClientAddress, PageContext, ProtectedForm, multipart_text, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/kommunen", get(directory))
        .route("/admin/kommunen/{id}", get(edit_page).post(update))
        .route(
            "/admin/kommunen/import",
            get(import_page).post(import).layer(DefaultBodyLimit::max(
                import::MAX_MB * 1024 * 1024 + 64 * 1024,
            )),
        )
}

const PAGE_SIZE: i64 = 200;

pub struct MunicipalityView {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub ags: String,
    pub ars: String,
    pub seat: String,
    pub active: bool,
}

impl From<MunicipalityRow> for MunicipalityView {
    fn from(m: MunicipalityRow) -> Self {
        MunicipalityView {
            id: m.id,
            kind: Kind::parse(&m.kind).map_or("–", Kind::label),
            ags: m.ags.unwrap_or_default(),
            ars: m.ars.unwrap_or_default(),
            seat: m.parent_name.or(m.city).unwrap_or_default(),
            name: m.name,
            active: m.active,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/municipalities.html")]
struct DirectoryPage {
    page: PageContext,
    query: String,
    municipalities: Vec<MunicipalityView>,
    truncated: bool,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn directory(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
    Query(search): Query<SearchQuery>,
) -> Result<DirectoryPage, AppError> {
    let query = clean_line(&search.q, 100);
    let mut conn = app.db.acquire().await?;
    let rows = db::search(&mut conn, &query, PAGE_SIZE + 1).await?;
    let truncated = i64::try_from(rows.len()).unwrap_or(i64::MAX) > PAGE_SIZE;
    let municipalities = rows
        .into_iter()
        .take(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX))
        .map(Into::into)
        .collect();
    Ok(DirectoryPage {
        page,
        query,
        municipalities,
        truncated,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/municipality_import.html")]
struct ImportPage {
    page: PageContext,
    errors: FormErrors,
    report: Option<ImportReport>,
}

async fn import_page(page: PageContext, _user: Admin) -> Result<ImportPage, AppError> {
    Ok(ImportPage {
        page,
        errors: FormErrors::default(),
        report: None,
    })
}

/// The upload of the Gemeindeverzeichnis (multipart, so the form token is checked here).
async fn import(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    csrf: Option<Extension<CsrfToken>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    // Who may upload is decided before the body is looked at.
    let mut multipart = multipart.map_err(|_| AppError::BadRequest)?;
    let (mut token, mut file) = (String::new(), None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest)?
    {
        match field.name() {
            Some("csrf_token") => {
                token = multipart_text(field, app.config.body_limit_bytes).await?;
            }
            Some("datei") => {
                file = Some(field.bytes().await.map_err(|_| AppError::PayloadTooLarge)?);
            }
            _ => {}
        }
    }
    csrf::verify(csrf.as_ref().map(|Extension(t)| t), &token)?;
    let mut errors = FormErrors::default();
    let bytes = file.filter(|b| !b.is_empty());
    let Some(bytes) = bytes else {
        errors.add("datei", "Bitte wählen Sie eine CSV-Datei aus.");
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportPage {
                page,
                errors,
                report: None,
            },
        )
            .into_response());
    };
    let actor = user.actor(&client);
    match db::import(&app.db, &bytes, actor).await {
        Ok(report) => Ok(ImportPage {
            page,
            errors,
            report: Some(report),
        }
        .into_response()),
        Err(ImportFailure::File(problem)) => {
            errors.add("datei", problem.to_string());
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                ImportPage {
                    page,
                    errors,
                    report: None,
                },
            )
                .into_response())
        }
        Err(ImportFailure::Db(e)) => Err(e.into()),
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    ags: String,
    #[serde(default)]
    ars: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    city: String,
    /// A checkbox: present ("on") when ticked.
    active: Option<String>,
}

impl From<&MunicipalityRecord> for EditForm {
    fn from(m: &MunicipalityRecord) -> Self {
        EditForm {
            name: m.name.clone(),
            kind: m.kind.clone(),
            ags: m.ags.clone().unwrap_or_default(),
            ars: m.ars.clone().unwrap_or_default(),
            street: m.street.clone().unwrap_or_default(),
            postal_code: m.postal_code.clone().unwrap_or_default(),
            city: m.city.clone().unwrap_or_default(),
            active: m.active.then(|| "on".to_string()),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/municipality.html")]
struct EditPage {
    page: PageContext,
    id: i64,
    /// The stored name, for the title and heading, whatever the form holds.
    name: String,
    form: EditForm,
    kinds: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    Kind::ALL.iter().map(|k| (k.as_str(), k.label())).collect()
}

async fn edit_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
    Path(id): Path<i64>,
) -> Result<EditPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let municipality = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    Ok(EditPage {
        page,
        id,
        name: municipality.name.clone(),
        form: (&municipality).into(),
        kinds: kinds(),
        errors: FormErrors::default(),
    })
}

const TEXT_MAX_CHARS: usize = 200;

/// The edited municipality, or the problems with each field.
fn checked(id: i64, form: &EditForm, errors: &mut FormErrors) -> MunicipalityRecord {
    let name = required_line(
        errors,
        TEXT_MAX_CHARS,
        "name",
        &form.name,
        "Bitte geben Sie den Namen ein.",
        "Der Name",
    );
    let kind = Kind::parse(&form.kind);
    if kind.is_none() {
        errors.add("kind", "Bitte wählen Sie die Art der Kommune aus.");
    }
    let optional = |value: &str| Some(clean_line(value, TEXT_MAX_CHARS)).filter(|v| !v.is_empty());
    let (ags, ars) = (optional(&form.ags), optional(&form.ars));
    if let Err(problem) = import::check_keys(ags.as_deref(), ars.as_deref()) {
        errors.add(
            if ags.is_some() || ars.is_none() {
                "ags"
            } else {
                "ars"
            },
            problem,
        );
    }
    let postal_code = optional(&form.postal_code);
    if let Some(Err(problem)) = postal_code.as_deref().map(import::check_postal_code) {
        errors.add("postal_code", problem);
    }
    MunicipalityRecord {
        id,
        name,
        kind: kind.map(Kind::as_str).unwrap_or_default().to_string(),
        ags,
        ars,
        street: optional(&form.street),
        postal_code,
        city: optional(&form.city),
        active: form.active.is_some(),
    }
}

async fn update(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<EditForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let stored = db::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    let municipality = checked(id, &form, &mut errors);
    if errors.is_empty() && !db::update(&mut tx, &municipality).await? {
        errors.add(
            "ags",
            "Dieser AGS oder ARS gehört schon zu einer anderen Kommune.",
        );
    }
    if !errors.is_empty() {
        drop(tx);
        let page = EditPage {
            page,
            id,
            name: stored.name,
            form,
            kinds: kinds(),
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let actor = user.actor(&client);
    let details = serde_json::json!({ "name": municipality.name, "kind": municipality.kind, "active": municipality.active });
    crate::audit::record(
        &mut tx,
        actor,
        "municipality.updated",
        Subject::Municipality(id),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/admin/kommunen",
        &format!("„{}“ ist gespeichert.", municipality.name),
    ))
}
