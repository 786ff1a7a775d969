//! Integration tests of the whole portal, one binary for all areas so the crate is linked once.
// Test code: an unwrap is an assertion, and long scenarios read better whole.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

mod common;

mod access;
mod accessibility;
mod accounts;
mod applications;
mod architecture;
mod directory;
mod hardening;
mod mail;
mod onboarding;
mod operations;
mod pages;
mod review;
mod rounds;
mod second_factor;
