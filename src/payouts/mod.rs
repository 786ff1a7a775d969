//! Payouts after the award: payout requests (Mittelabruf) with four-eyes checking and ordering,
//! payment runs (Zahllauf) and their SEPA files. So far the rules and the file format; the pages
//! follow (issue 14).

pub mod model;
pub mod sepa;
