//! The ttfs compiler: from a trained time-to-first-spike model file to a chip configuration.
//!
//! It owns:
//! - the trained-model file format ([`model`]): one safetensors file with a JSON
//!   description, written by the trainer through [`model::write`] and read here;
//! - the IR ([`ir`]: the folded network in `f32`, the quantized one in integers) and its
//!   verifiers;
//! - the passes ([`lower`], [`quantize`], [`map`]) and the one driver that runs them in order,
//!   each followed by its verifier ([`compile`]);
//! - the float reference ([`float`]), the integer golden model ([`golden`]) against which the
//!   chip emulator is tested, calibration ([`evaluate`]) and the emulator-vs-golden comparison
//!   ([`crosscheck`]).
//!
//! It must not know Candle or anything about training: the trainer depends on this crate,
//! never the other way round. Numbers cross that boundary only as plain `f32` tensors in
//! the model file. Nor does it simulate cycles or packets: that is the runtime's emulator.

pub mod compile;
pub mod crosscheck;
pub mod evaluate;
pub mod float;
pub mod golden;
pub mod ir;
pub mod lower;
pub mod map;
pub mod model;
pub mod quantize;
