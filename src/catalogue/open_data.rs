//! Open data: the published projects and the figures per round as CSV (German spreadsheet
//! convention, like every export of the portal) and JSON, under stable addresses, with the
//! licence (Datenlizenz Deutschland – Namensnennung – Version 2.0) and the time of the last
//! change, so that the state's open-data portal can harvest them.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::db;
use super::figures::{COUNTING, Figures};
use super::views::EntryView;
use crate::error::AppError;
use crate::spreadsheet::{BOM, csv_lines, decimal};
use crate::state::AppState;
use crate::web::PageContext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/offene-daten", get(index))
        .route("/offene-daten/vorhaben.csv", get(projects_csv))
        .route("/offene-daten/vorhaben.json", get(projects_json))
        .route("/offene-daten/foerderaufrufe.csv", get(rounds_csv))
        .route("/offene-daten/foerderaufrufe.json", get(rounds_json))
}

pub const LICENCE: &str = "dl-de/by-2.0";
pub const LICENCE_NAME: &str = "Datenlizenz Deutschland – Namensnennung – Version 2.0";
pub const LICENCE_URL: &str = "https://www.govdata.de/dl-de/by-2-0";

#[derive(Template, WebTemplate)]
#[template(path = "catalogue/open_data.html")]
struct OpenDataPage {
    page: PageContext,
    base_url: String,
    licence_name: &'static str,
    licence_url: &'static str,
}

async fn index(State(app): State<AppState>, page: PageContext) -> OpenDataPage {
    OpenDataPage {
        page,
        base_url: app.config.base_url.clone(),
        licence_name: LICENCE_NAME,
        licence_url: LICENCE_URL,
    }
}

/// A file of open data: its type, licence link and last change in the headers.
fn file(content_type: &str, modified: Option<OffsetDateTime>, body: Vec<u8>) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::LINK, format!("<{LICENCE_URL}>; rel=\"license\"")),
            (header::CACHE_CONTROL, "public, max-age=300".to_string()),
        ],
        body,
    )
        .into_response();
    let http_date = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    if let Some(Ok(value)) = modified
        .and_then(|m| m.to_offset(time::UtcOffset::UTC).format(&http_date).ok())
        .map(|at| at.parse())
    {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    response
}

fn iso(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

async fn projects_csv(State(app): State<AppState>) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let rows = db::all_public(&mut conn).await?;
    let modified = rows.iter().map(|r| r.updated_at).max();
    let header = [
        "Aktenzeichen",
        "Titel",
        "Kurzbeschreibung",
        "Fördergegenstand",
        "Kommune",
        "Partnerkommunen",
        "Landkreis",
        "Förderaufruf",
        "Beginn",
        "Ende",
        "Zuwendung (Euro)",
        "Stand",
        "Nachnutzung",
        "Technologien",
        "Kontakt",
        "Adresse im Katalog",
    ]
    .map(str::to_string);
    let lines = rows.iter().map(|r| {
        let v = EntryView::new(r);
        [
            v.reference,
            v.title,
            v.summary,
            v.category,
            v.municipality,
            v.partners,
            v.district,
            v.round,
            r.period_start.map(|d| d.to_string()).unwrap_or_default(),
            r.period_end.map(|d| d.to_string()).unwrap_or_default(),
            decimal(r.granted_cents),
            v.phase.to_string(),
            v.reuse,
            v.technologies,
            v.mailbox,
            format!("{}{}", app.config.base_url, v.href),
        ]
    });
    let mut body = BOM.as_bytes().to_vec();
    body.extend(csv_lines(std::iter::once(header).chain(lines)));
    Ok(file("text/csv; charset=utf-8", modified, body))
}

async fn projects_json(State(app): State<AppState>) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let rows = db::all_public(&mut conn).await?;
    let modified = rows.iter().map(|r| r.updated_at).max();
    let entries: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "reference": r.reference,
                "title": r.title,
                "summary": r.summary,
                "category": r.category_code,
                "category_title": r.category_title,
                "municipality": r.municipality,
                "partners": r.partners.split(", ").filter(|p| !p.is_empty()).collect::<Vec<_>>(),
                "district": r.district,
                "round": r.round_title,
                "period_start": r.period_start.map(|d| d.to_string()),
                "period_end": r.period_end.map(|d| d.to_string()),
                "granted_cents": r.granted_cents,
                "phase": r.phase,
                "reuse": r.reuse,
                "technologies": r.technologies,
                "contact": r.mailbox,
                "url": format!("{}/nachnutzung/{}", app.config.base_url, r.id),
                "published": iso(r.published_at),
                "modified": iso(r.updated_at),
            })
        })
        .collect();
    let document = json!({
        "title": "Nachnutzungskatalog: geförderte Vorhaben der ThürEGovRL",
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "modified": modified.map(iso),
        "entries": entries,
    });
    Ok(file(
        "application/json",
        modified,
        serde_json::to_vec_pretty(&document).map_err(anyhow::Error::from)?,
    ))
}

async fn rounds_csv(State(app): State<AppState>) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let figures = Figures::load(&mut conn).await?;
    let header = [
        "Förderaufruf",
        "Jahr",
        "Budget (Euro)",
        "Eingereichte Anträge",
        "Antragstellende Kommunen",
        "Beantragt (Euro)",
        "Bewilligte Anträge",
        "Bewilligt (Euro)",
        "Abgelehnte Anträge",
        "Zurückgezogene Anträge",
        "Adresse der Statistik",
    ]
    .map(str::to_string);
    let lines = figures.per_round().into_iter().map(|(r, s)| {
        [
            r.title.clone(),
            r.year.to_string(),
            decimal(Some(r.budget_cents)),
            s.tally.applications.to_string(),
            s.municipalities.to_string(),
            decimal(Some(s.tally.requested_cents)),
            s.tally.approved.to_string(),
            decimal(Some(s.tally.granted_cents)),
            s.tally.rejected.to_string(),
            s.tally.withdrawn.to_string(),
            format!("{}/statistik/{}", app.config.base_url, r.id),
        ]
    });
    let mut body = BOM.as_bytes().to_vec();
    body.extend(csv_lines(std::iter::once(header).chain(lines)));
    Ok(file("text/csv; charset=utf-8", None, body))
}

async fn rounds_json(State(app): State<AppState>) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let figures = Figures::load(&mut conn).await?;
    let rounds: Vec<_> = figures
        .per_round()
        .into_iter()
        .map(|(r, s)| {
            json!({
                "id": r.id,
                "title": r.title,
                "year": r.year,
                "budget_cents": r.budget_cents,
                "applications": s.tally.applications,
                "municipalities": s.municipalities,
                "requested_cents": s.tally.requested_cents,
                "approved": s.tally.approved,
                "granted_cents": s.tally.granted_cents,
                "rejected": s.tally.rejected,
                "withdrawn": s.tally.withdrawn,
                "url": format!("{}/statistik/{}", app.config.base_url, r.id),
            })
        })
        .collect();
    let document = json!({
        "title": "Förderaufrufe der ThürEGovRL in Zahlen",
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "counting": COUNTING,
        "rounds": rounds,
    });
    Ok(file(
        "application/json",
        None,
        serde_json::to_vec_pretty(&document).map_err(anyhow::Error::from)?,
    ))
}
