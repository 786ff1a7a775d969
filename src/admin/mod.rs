//! Admin pages for running the portal that belong to no single feature: the outbox, the
//! audit log and the legal texts (which notices of several features print).

pub mod audit_log;
pub mod legal_texts;
pub mod outbox;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    outbox::router()
        .merge(audit_log::router())
        .merge(legal_texts::router())
}
