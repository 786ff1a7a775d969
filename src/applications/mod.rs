//! Applications (Anträge): the aggregate and its state machine, the task-list sections, the cost
//! plan, attachments, check answers and submission, withdrawal and partner confirmation.

pub mod access;
pub mod attachments;
pub mod costs;
pub mod db;
pub mod documents;
pub mod dossier;
pub mod downloads;
pub mod files;
pub mod forms;
pub mod messages;
pub mod model;
pub mod partners;
pub mod reminders;
pub mod revisions;
pub mod routes;
pub mod sample;
pub mod sections;
pub mod start;
pub mod store;
pub mod submission;
pub mod uploads;
pub mod views;
pub mod workflow;

use axum::Router;

use crate::state::AppState;

/// `upload_limit`: the largest request body the attachment upload accepts.
pub fn router(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .merge(routes::router())
        .merge(attachments::router(upload_limit))
        .merge(sections::router())
        .merge(submission::router())
}
