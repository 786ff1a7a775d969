//! Nachnutzung: the public catalogue of funded solutions that municipalities agreed to publish,
//! "Nachnutzung anfragen" to a project's mailbox, the owner's consent page, open data and the
//! public statistics (aggregates only).
//! Nothing of an application is public unless its municipality agreed and it is approved or
//! settled (the view `catalogue_public` is the only way in for the entries); the statistics and
//! the round files show sums only (`figures`).

mod consent;
pub mod db;
pub mod figures;
pub mod model;
mod open_data;
mod public;
mod statistics;
pub mod views;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    public::router()
        .merge(consent::router())
        .merge(open_data::router())
        .merge(statistics::router())
}
