//! Änderungsanträge: changes of an approved grant during the project (a longer period, a
//! changed cost plan, a lower total). Small shifts within the round's allowance are notified
//! and in force at once; everything else is decided with four eyes and confirmed by an
//! Änderungsbescheid, which puts the change into effect (period, grant, budget years).

pub mod access;
pub mod db;
pub mod forms;
pub mod model;
pub mod notice;
pub mod review;
pub mod routes;
pub mod views;
pub mod workflow;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(routes::router())
        .merge(review::router())
}
