//! The chip side of ttfs: the target description, the binary chip configuration, the chip's
//! rules, and the cycle-accurate, event-driven emulator that runs a configuration on a target.
//!
//! It owns the rules every other stage must apply the way the chip does, each in one place:
//! the decision rule and when early exit is exact ([`decision`]), the integer neuron update
//! ([`neuron`]), the energy model ([`energy`]); the run of many images ([`batch`]) and its report ([`report`]); and the
//! toolchain's one atomic file write ([`atomic`]).
//!
//! It knows nothing of training or compiling: the compiler and the trainer depend on it, never
//! the other way round. A reference model (the compiler's golden model) plugs into a run
//! through [`batch::Reference`] without this crate knowing what it is.

pub mod atomic;
pub mod batch;
pub mod config;
pub mod decision;
pub mod digest;
pub mod emulator;
pub mod energy;
pub mod neuron;
pub mod report;
pub mod target;
