//! Ministry review: the dashboard, working a case (assignment, Prüfvermerk, Nachforderung,
//! notes), decisions under the four-eyes principle, and statistics.

pub mod access;
pub mod case;
pub mod case_page;
pub mod case_tabs;
pub mod choices;
pub mod dashboard;
pub mod db;
pub mod decisions;
pub mod export;
pub mod model;
pub mod notice;
pub mod statistics;
pub mod trends;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(dashboard::router())
        .merge(case::router())
        .merge(decisions::router())
        .merge(export::router())
        .merge(statistics::router())
}
