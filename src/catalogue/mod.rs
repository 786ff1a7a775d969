//! Nachnutzung: the public catalogue of funded solutions that municipalities agreed to publish,
//! "Nachnutzung anfragen" to a project's mailbox, the owner's consent page, and open data.
//! Nothing of an application is public unless its municipality agreed and it is approved or
//! settled (the view `catalogue_public` is the only way in for the public pages).

mod consent;
pub mod db;
pub mod model;
mod open_data;
mod public;
pub mod views;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    public::router()
        .merge(consent::router())
        .merge(open_data::router())
}
