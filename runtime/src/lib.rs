//! The chip side of ttfs: the target description, the binary chip configuration, and the
//! cycle-accurate, event-driven emulator that runs a configuration on a target
//! (`../shared/docs/chip.md` sections 1-5 are its contract).
//!
//! The runtime knows nothing of training or compiling: the compiler depends on it for the
//! target and configuration formats, never the other way round. Its modules arrive with the
//! compiler and runtime issues; until then the crate only fixes its place in the workspace.

pub mod atomic;
pub mod batch;
pub mod config;
pub mod decision;
pub mod emulator;
pub mod energy;
pub mod report;
pub mod target;
