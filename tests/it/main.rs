//! Integration tests across stages and of the `ttfs` binary, one binary with a module per
//! concern. They use the trained MNIST MLP in `fixtures/models` and the MNIST test images in
//! `fixtures/mnist`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_compile;
mod cli_run;
mod cli_train;
mod common;
mod early_exit;
mod emulator_vs_golden;
mod explore;
mod fuzz_shards;
mod golden_vs_float;
mod nir;
mod pipeline;
mod readme;
mod shards;
