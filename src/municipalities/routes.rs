//! The admin view of the directory (search; editing and import come with the programme issue).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::db::{self, ImportFailure, ImportReport, MunicipalityRow};
use super::import;
use super::model::Kind;
use crate::accounts::{CurrentUser, Role};
use crate::audit::Actor;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::csrf::{self, CsrfToken};
use crate::web::{ClientAddress, FormErrors, PageContext, clean_line};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/kommunen", get(directory))
        .route(
            "/admin/kommunen/import",
            get(import_page).post(import).layer(DefaultBodyLimit::max(
                import::MAX_MB * 1024 * 1024 + 64 * 1024,
            )),
        )
}

const PAGE_SIZE: i64 = 200;

pub struct MunicipalityView {
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
            kind: Kind::parse(&m.kind).map(Kind::label).unwrap_or("–"),
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
    user: CurrentUser,
    Query(search): Query<SearchQuery>,
) -> Result<DirectoryPage, AppError> {
    user.require(Role::Admin)?;
    let query = clean_line(&search.q, 100);
    let mut conn = app.db.acquire().await?;
    let rows = db::search(&mut conn, &query, PAGE_SIZE + 1).await?;
    let truncated = rows.len() as i64 > PAGE_SIZE;
    let municipalities = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
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

async fn import_page(page: PageContext, user: CurrentUser) -> Result<ImportPage, AppError> {
    user.require(Role::Admin)?;
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
    user: CurrentUser,
    client: ClientAddress,
    csrf: Option<Extension<CsrfToken>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    // Who may upload is decided before the body is looked at.
    user.require(Role::Admin)?;
    let mut multipart = multipart.map_err(|_| AppError::BadRequest)?;
    let (mut token, mut file) = (String::new(), None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest)?
    {
        match field.name() {
            Some("csrf_token") => token = field.text().await.map_err(|_| AppError::BadRequest)?,
            Some("datei") => {
                file = Some(field.bytes().await.map_err(|_| AppError::PayloadTooLarge)?)
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
    let actor = Actor {
        user_id: Some(user.id),
        client: &client.0,
    };
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
