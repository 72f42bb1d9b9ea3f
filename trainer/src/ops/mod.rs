//! The CPU kernels of training, each a Candle custom op (or the plain loops one is made of)
//! with a forward and a direct backward: what made the trainer about as fast as PyTorch on a
//! CPU (trainer/PERF.md). Each is tested against Candle's composed ops or finite differences;
//! the layers in [`crate::network`] call them, nothing here knows the training loop.
//!
//! - [`neuron`]: the single-spike IF neuron's firing scan over time, with the surrogate
//!   gradient ([`neuron::FireOp`]);
//! - [`sparse`], [`conv`]: linear and convolution layers that skip zero (spike) inputs;
//! - [`layer_fire`]: a hidden layer as one op (product, shift, scan);
//! - [`bias`], [`pool`], [`weight_norm`]: the shift, average pooling, weight normalisation;
//! - [`fastmath`]: a vectorisable `exp`; [`simd`]: AVX2 where the CPU has it; [`cpu`]: access
//!   to a CPU tensor's values.

pub mod bias;
pub mod conv;
pub mod cpu;
pub mod fastmath;
pub mod layer_fire;
pub mod neuron;
pub mod pool;
pub mod simd;
pub mod sparse;
pub mod weight_norm;
