//! Partnersuche (`/partnersuche`): outlines whose municipality looks for partners, visible to
//! every signed-in clerk; a clerk of another municipality expresses interest with a message,
//! which reaches the owner, who accepts it on the outline's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, OutlineRow};
use super::model::{self, MessageForm, SearchQuery};
use super::notify;
use super::views::{OutlineView, SearchView};
use crate::accounts::{Clerk, CurrentUser};
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::municipalities::db as municipalities_db;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partnersuche", get(list))
        .route("/partnersuche/{id}", get(entry))
        .route("/partnersuche/{id}/interesse", post(interest))
}

const PAGE_SIZE: i64 = 20;

#[derive(Template, WebTemplate)]
#[template(path = "outlines/search.html")]
struct ListPage {
    page: PageContext,
    query: SearchQuery,
    entries: Vec<SearchView>,
    found: String,
    number: i64,
    previous_href: Option<String>,
    next_href: Option<String>,
    categories: Vec<(String, String)>,
    districts: Vec<(i64, String)>,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    _user: Clerk,
    Query(query): Query<SearchQuery>,
) -> Result<ListPage, AppError> {
    let search = query.search();
    let mut conn = app.db.acquire().await?;
    let offset = (search.page - 1) * PAGE_SIZE;
    let (rows, total) = db::partner_search(&mut conn, &search, PAGE_SIZE, offset).await?;
    let shown = i64::try_from(rows.len()).unwrap_or(0);
    let link = |n: i64| format!("/partnersuche?{}", query.page(n));
    Ok(ListPage {
        page,
        entries: rows.iter().map(SearchView::new).collect(),
        found: match total {
            1 => "1 Projektskizze sucht Partner".to_string(),
            n => format!("{} Projektskizzen suchen Partner", locale::count(n)),
        },
        number: search.page,
        previous_href: (search.page > 1).then(|| link(search.page - 1)),
        next_href: (offset + shown < total).then(|| link(search.page + 1)),
        categories: super::pages::categories(&mut conn).await?,
        districts: municipalities_db::district_choices(&mut conn).await?,
        query,
    })
}

/// The outline, while it is in the partner search; for clerks only.
async fn searched(
    conn: &mut PgConnection,
    user: &CurrentUser,
    id: i64,
) -> Result<OutlineRow, AppError> {
    let row = db::find(conn, id).await?.ok_or(AppError::NotFound)?;
    Clerk::check(user)?;
    if row.in_partner_search {
        return Ok(row);
    }
    // A municipality that expressed interest still reads what it answered (and whether it was
    // accepted) after the search ended or the outline became an application: the mails link
    // here.
    let involved = match user.municipality_id {
        Some(mine) => db::interests(conn, id)
            .await?
            .iter()
            .any(|i| i.municipality_id == mine),
        None => false,
    };
    if involved {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "outlines/search_entry.html")]
struct EntryPage {
    page: PageContext,
    outline: OutlineView,
    /// The clerk's own municipality's outline: no interest to express.
    own: bool,
    /// What the clerk's municipality wrote already, and whether it was accepted.
    expressed: Option<(String, bool)>,
    message: String,
    errors: FormErrors,
}

async fn entry_page(
    conn: &mut PgConnection,
    page: PageContext,
    user: &CurrentUser,
    row: &OutlineRow,
    message: String,
    errors: FormErrors,
) -> Result<EntryPage, AppError> {
    let mine = user.municipality_id;
    let expressed = db::interests(conn, row.id)
        .await?
        .into_iter()
        .find(|i| Some(i.municipality_id) == mine)
        .map(|i| (i.message, i.accepted_at.is_some()));
    Ok(EntryPage {
        page,
        outline: OutlineView::new(row),
        own: mine == Some(row.municipality_id),
        expressed,
        message,
        errors,
    })
}

async fn entry(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<EntryPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = searched(&mut conn, &user, id).await?;
    entry_page(
        &mut conn,
        page,
        &user,
        &row,
        String::new(),
        FormErrors::default(),
    )
    .await
}

async fn interest(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<MessageForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = searched(&mut tx, &user, id).await?;
    if !row.in_partner_search {
        return Err(AppError::NotFound);
    }
    let municipality_id = user.municipality_id.ok_or(AppError::Forbidden)?;
    let checked = if municipality_id == row.municipality_id {
        let mut errors = FormErrors::default();
        errors.add("interesse", "Das ist die Skizze Ihrer eigenen Kommune.");
        Err(errors)
    } else {
        model::message_text(
            &form.message,
            model::INTEREST_MAX,
            "Bitte schreiben Sie, woran Ihre Kommune interessiert ist und was sie beitragen kann.",
        )
    };
    let checked = match checked {
        Ok(body) if !db::add_interest(&mut tx, id, municipality_id, user.id, &body).await? => {
            let mut errors = FormErrors::default();
            errors.add("interesse", "Ihre Kommune hat bereits Interesse bekundet.");
            Err(errors)
        }
        other => other,
    };
    let body = match checked {
        Ok(body) => body,
        Err(errors) => {
            let page = entry_page(&mut tx, page, &user, &row, form.message, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let from = user.municipality_name.clone().unwrap_or_default();
    notify::municipality(
        &mut tx,
        &app,
        &row,
        (
            "Interesse an einer Partnerschaft",
            &format!(
                "{from} ({}, {}) möchte sich als Partner beteiligen und schreibt:",
                user.name, user.email
            ),
        ),
        &body,
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.interest_expressed",
        Subject::Outline(id),
        json!({ "municipality_id": municipality_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/partnersuche/{id}"),
        "Ihr Interesse ist an die Kommune gesendet. Nimmt sie Sie als Partner an, erhalten Sie eine E-Mail.",
    ))
}
