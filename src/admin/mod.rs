//! Admin pages for running the portal that belong to no single feature: the outbox and the
//! audit log.

pub mod audit_log;
pub mod outbox;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    outbox::router().merge(audit_log::router())
}
