//! Integration tests of the whole portal, one binary for all areas so the crate is linked once.

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
