//! Integration tests of the trainer: what the paper claims about ETTFS-init, exact resume after
//! a kill, the trainer's effective weights against the compiler's fold, and that a short
//! training run learns.
//!
//! One test binary with modules (style.md habit 8). Every test is meant to stay fast in the
//! test profile: tiny networks, synthetic 8x8 data sets written into temporary folders.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod export;
mod fine_tune;
mod init_variance;
mod qat;
mod resume;
mod sparsity;
mod synthetic;
mod training_learns;
