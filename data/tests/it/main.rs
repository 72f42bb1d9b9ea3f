//! Integration tests of the data crate: the IDX reader under damaged files.
//!
//! One test binary with modules, as in every crate of the workspace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fuzz_idx;
