//! Integration tests of the whole portal, one binary for all areas so the crate is linked once.
// Test code: an unwrap is an assertion, a scenario reads best whole, sizes are small.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]

mod common;

mod access;
mod accessibility;
mod accounts;
mod amendments;
mod applications;
mod architecture;
mod backup;
mod catalogue;
mod deployment;
mod directory;
mod hardening;
mod instances;
mod mail;
mod malware;
mod metrics;
mod onboarding;
mod operations;
mod outlines;
mod pages;
mod payouts;
mod proofs;
mod review;
mod rounds;
mod second_factor;
mod storage;
mod tls;
