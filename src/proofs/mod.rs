//! The proof of use (Verwendungsnachweis) and the settlement of the grant (Schlussbescheid).

pub mod db;
pub mod forms;
pub mod model;
pub mod notice;
pub mod receipts;
pub mod reminders;
pub mod review;
pub mod routes;
pub mod views;
pub mod workflow;
