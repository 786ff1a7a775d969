//! Funding programmes (Förderrichtlinien), their categories (Fördergegenstände) and rounds
//! (Förderaufrufe).

pub mod admin;
pub mod db;
pub mod forms;
pub mod legal_texts;
pub mod model;
pub mod programme_admin;
pub mod routes;
pub mod summary;
