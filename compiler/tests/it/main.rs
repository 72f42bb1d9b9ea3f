//! Integration tests of `ttfs-compiler`, one binary with a module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod emulator_vs_golden;
mod fuzz;
mod model_io;
mod model_malformed;
mod pool_lowering;
