//! The municipality directory: Gemeinden, Verwaltungsgemeinschaften, Landkreise and kreisfreie
//! Städte with their official keys (AGS/ARS).

pub mod db;
pub mod import;
pub mod model;
pub mod routes;
