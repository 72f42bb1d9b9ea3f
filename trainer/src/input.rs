//! A batch of images as the network's input tensor, in the layout its input coding needs.

use candle_core::{Device, Tensor};

use crate::data::{self, Dataset, Encoding};
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
    data::encode_images(images, encoding, steps, buffer);
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
