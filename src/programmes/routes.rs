//! Public pages of the programme: the list of rounds.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use time::OffsetDateTime;

use super::db;
use super::summary::RoundSummary;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::PageContext;

pub fn router() -> Router<AppState> {
    Router::new().route("/foerderaufrufe", get(rounds_page))
}

#[derive(Template, WebTemplate)]
#[template(path = "programmes/rounds.html")]
struct RoundsPage {
    page: PageContext,
    programme_name: String,
    rounds: Vec<RoundSummary>,
}

async fn rounds_page(
    State(app): State<AppState>,
    page: PageContext,
) -> Result<RoundsPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let programme = db::main_programme(&mut conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let rounds = db::public_rounds(&mut conn, programme.id)
        .await?
        .into_iter()
        .map(|r| RoundSummary::new(r, now))
        .collect();
    Ok(RoundsPage {
        page,
        programme_name: programme.name,
        rounds,
    })
}
