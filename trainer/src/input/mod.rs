//! What the network is fed: pixels encoded as spikes or values ([`encode`]), the per-epoch
//! order of samples ([`shuffle`]), augmentation ([`augment`]), and a batch of images as the
//! network's input tensor, in the layout its input coding needs.
//!
//! The images come from `ttfs_data` as plain bytes; everything here but the tensor itself is
//! plain Rust, and the tensor is the last step:
//!
//! - [`encode`]: pixels to input spikes (latency coding, the contract with the chip) or to
//!   analog values (direct and thermometer input).
//! - [`shuffle`]: the per-epoch order of samples ([`epoch_permutation`]), a pure function of
//!   `(seed, epoch)` so a resumed run sees exactly the batches it would have seen.
//! - [`augment`]: random crop with zero padding, horizontal flip.

pub(crate) mod augment;
pub(crate) mod encode;
pub(crate) mod shuffle;

use candle_core::{Device, Tensor};
use ttfs_data::Dataset;

pub use augment::random_crop;
pub use encode::{DEFAULT_THERMOMETER_LEVELS, Encoding, encode_images, spike_step};
pub use shuffle::epoch_permutation;

use crate::network::InputMode;

/// Encodes the images `indices` of `ds` into the network's input tensor; `buffer` is reused
/// between calls.
///
/// # Errors
/// A tensor error from Candle.
pub fn batch_input(
    ds: &Dataset,
    indices: &[usize],
    encoding: Encoding,
    steps: usize,
    buffer: &mut Vec<f32>,
) -> candle_core::Result<(Tensor, InputMode)> {
    let images: Vec<&[u8]> = indices.iter().map(|&i| ds.image(i)).collect();
    images_input(&images, encoding, steps, buffer)
}

/// Encodes images of equal size (e.g. augmented ones) into the network's input tensor: latency
/// spikes `[T, B, pixels]`, or one value per pixel `[B, pixels]` for direct and thermometer
/// input (presented at every step).
///
/// # Errors
/// A tensor error from Candle.
pub fn images_input(
    images: &[&[u8]],
    encoding: Encoding,
    steps: usize,
    buffer: &mut Vec<f32>,
) -> candle_core::Result<(Tensor, InputMode)> {
    encode_images(images, encoding, steps, buffer);
    let n = images.first().map_or(0, |image| image.len());
    let b = images.len();
    let values = std::mem::take(buffer);
    Ok(match encoding {
        Encoding::Latency => (
            Tensor::from_vec(values, (steps, b, n), &Device::Cpu)?,
            InputMode::Spikes,
        ),
        Encoding::Direct | Encoding::Thermometer { .. } => (
            Tensor::from_vec(values, (b, n), &Device::Cpu)?,
            InputMode::Direct,
        ),
    })
}
