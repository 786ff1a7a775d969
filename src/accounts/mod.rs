//! Users, roles, passwords, sessions and login, plus the [`session::CurrentUser`] extractor and
//! role checks every feature uses.

pub mod access;
pub mod admin;
pub mod db;
pub mod guard;
pub mod model;
pub mod password;
pub mod policy;
pub mod profile;
pub mod recovery;
pub mod routes;
pub mod second_factor;
pub mod session;
pub mod totp;

pub use model::Role;
pub use session::{Admin, Clerk, CurrentUser, Reviewer};
