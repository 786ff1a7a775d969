//! Funding programmes (Förderrichtlinien), their categories (Fördergegenstände) and rounds
//! (Förderaufrufe).

pub mod db;
pub mod model;
pub mod routes;
