//! Integration tests of the NIR crate: round trips of the shipped models through NIR files,
//! and files written by the `nir` package and other tools.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fuzz;
mod refusals;
mod roundtrip;
