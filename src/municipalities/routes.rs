//! The admin view of the directory (search; editing and import come with the programme issue).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;

use super::db::{self, MunicipalityRow};
use super::model::Kind;
use crate::accounts::{CurrentUser, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageContext, clean_line};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/kommunen", get(directory))
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
