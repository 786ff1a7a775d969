//! Site-wide pages: the public start page, the legally required pages (Impressum, Datenschutz,
//! Erklärung zur Barrierefreiheit) and the health endpoints for load balancers.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use time::OffsetDateTime;

use crate::database;
use crate::error::{AppError, RawResponse};
use crate::programmes::db::{self as programmes, CategoryRow, ContactRow};
use crate::programmes::legal_texts::LegalTexts;
use crate::programmes::summary::RoundSummary;
use crate::state::AppState;
use crate::web::PageContext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(start_page))
        .route("/impressum", get(imprint))
        .route("/datenschutz", get(privacy))
        .route("/barrierefreiheit", get(accessibility))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[derive(Template, WebTemplate)]
#[template(path = "start.html")]
struct StartPage {
    page: PageContext,
    name: String,
    short_name: String,
    description: String,
    eligibility: String,
    legal_basis: String,
    categories: Vec<CategoryRow>,
    rounds: Vec<RoundSummary>,
    contacts: Vec<ContactRow>,
}

async fn start_page(State(app): State<AppState>, page: PageContext) -> Result<StartPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let programme = programmes::main_programme(&mut conn)
        .await?
        .ok_or_else(|| {
            AppError::Other(anyhow::anyhow!(
                "no programme configured; run the migrations"
            ))
        })?;
    let categories = programmes::active_categories(&mut conn, programme.id).await?;
    let contacts = programmes::contacts(&mut conn, programme.id).await?;
    let now = OffsetDateTime::now_utc();
    let rounds = programmes::public_rounds(&mut conn, programme.id)
        .await?
        .into_iter()
        .map(|r| RoundSummary::new(r, now))
        .filter(|r| !matches!(r.phase, crate::programmes::model::Phase::Closed))
        .collect();
    Ok(StartPage {
        page,
        name: programme.name,
        short_name: programme.short_name,
        description: programme.description,
        eligibility: programme.eligibility,
        legal_basis: programme.legal_basis,
        categories,
        rounds,
        contacts,
    })
}

/// The legally required pages; their texts live in `templates/legal/*_body.html`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Legal {
    Imprint,
    Privacy,
    Accessibility,
}

#[derive(Template, WebTemplate)]
#[template(path = "legal/page.html")]
struct LegalPage {
    page: PageContext,
    which: Legal,
    title: &'static str,
    contact_email: String,
    contact_phone: String,
    contact_address: String,
    /// The operator's details (Rechtstexte); parts left empty are left out.
    legal: LegalTexts,
    base_url: String,
}

async fn legal_page(
    app: &AppState,
    page: PageContext,
    which: Legal,
) -> Result<LegalPage, AppError> {
    let mut conn = app.db.acquire().await?;
    // The programme's first contact is the operator's contact (also the accessibility feedback).
    let contact = match programmes::main_programme(&mut conn).await? {
        Some(p) => programmes::contacts(&mut conn, p.id)
            .await?
            .into_iter()
            .next(),
        None => None,
    };
    let title = match which {
        Legal::Imprint => "Impressum",
        Legal::Privacy => "Datenschutzerklärung",
        Legal::Accessibility => "Erklärung zur Barrierefreiheit",
    };
    let legal = programmes::legal_texts(&mut conn).await?;
    let contact = contact.unwrap_or_default();
    Ok(LegalPage {
        page,
        which,
        title,
        contact_email: contact.email,
        contact_phone: contact.phone,
        contact_address: [contact.organisation, contact.address]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        legal,
        base_url: app.config.base_url.clone(),
    })
}

async fn imprint(State(app): State<AppState>, page: PageContext) -> Result<LegalPage, AppError> {
    legal_page(&app, page, Legal::Imprint).await
}

async fn privacy(State(app): State<AppState>, page: PageContext) -> Result<LegalPage, AppError> {
    legal_page(&app, page, Legal::Privacy).await
}

async fn accessibility(
    State(app): State<AppState>,
    page: PageContext,
) -> Result<LegalPage, AppError> {
    legal_page(&app, page, Legal::Accessibility).await
}

/// The process is alive.
async fn healthz() -> Response {
    raw(StatusCode::OK, "ok")
}

/// The database answers and every migration of this binary is applied.
async fn readyz(State(app): State<AppState>) -> Response {
    if database::is_ready(&app.db).await {
        raw(StatusCode::OK, "ready")
    } else {
        raw(
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable or migrations pending",
        )
    }
}

fn raw(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, [("cache-control", "no-store")], body).into_response();
    response.extensions_mut().insert(RawResponse);
    response
}
