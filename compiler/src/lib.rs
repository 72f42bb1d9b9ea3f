//! The ttfs compiler: from a trained time-to-first-spike model file to a chip configuration.
//!
//! It owns:
//! - the trained-model file format ([`model`]): one safetensors file with a JSON
//!   description, written by the trainer through [`model::write`] and read here;
//! - the passes over the model, each a small named function followed by a verifier: fold
//!   (weight norm and affine scale into effective weights), quantize, map, emit;
//! - the golden model, the reference against which the chip emulator is tested.
//!
//! It must not know Candle or anything about training: the trainer depends on this crate,
//! never the other way round. Numbers cross that boundary only as plain `f32` tensors in
//! the model file.

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
