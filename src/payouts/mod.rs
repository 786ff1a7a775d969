//! Payouts after the award: payout requests (Mittelabruf) with four-eyes checking and ordering,
//! payment runs (Zahllauf) with their SEPA files, and the payout ledger.

pub mod db;
pub mod forms;
pub mod model;
pub mod review;
pub mod routes;
pub mod runs;
pub mod sepa;
pub mod views;
pub mod workflow;

use axum::Router;

use crate::state::AppState;

/// `upload_limit`: the largest request body a receipt upload accepts.
pub fn router(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .merge(routes::router(upload_limit))
        .merge(review::router())
        .merge(runs::router())
}
