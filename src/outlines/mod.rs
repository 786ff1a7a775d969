//! Projektskizzen: planned projects described before a round opens, consulted with the
//! ministry (messages both ways, "abgestimmt"), offered in the partner search to other
//! municipalities, and turned into an application with one click once a round is open.

mod consultation;
pub mod db;
pub mod model;
mod notify;
mod pages;
mod partner_search;
pub mod views;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    pages::router()
        .merge(consultation::router())
        .merge(partner_search::router())
}
