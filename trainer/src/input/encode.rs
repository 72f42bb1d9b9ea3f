//! Pixels to network input: latency coding (one spike per pixel) or direct (analog) input.
//!
//! Latency coding is the contract with the chip: the compiler and the emulator reproduce it
//! bit for bit, so the formula below is exact and tested at its boundaries.
//!
//! With `x = pixel / 255` and `T` time steps, a pixel spikes once, at the 1-based step
//!
//! ```text
//! t(pixel) = round((1 - x) * (T - 1)) + 1          (pixel > 0; pixel 0 never spikes)
//! ```
//!
//! computed in `f64`, `round` being half away from zero. Brighter pixels spike earlier: 255 at
//! step 1, the faintest pixel 1 at step `T`. Because `(1 - x)(T - 1) = (255 - pixel)(T - 1) / 255`
//! and 255 is odd, the product is never exactly halfway between two integers, so the rounding
//! rule never matters and the step equals the integer formula
//! `((255 - pixel) * (T - 1) + 127) / 255 + 1` (integer division), which [`spike_step_integer`]
//! computes and the tests check against [`spike_step`] for every pixel and `T` up to 1024.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ttfs_runtime::config::InputEncoding as ChipEncoding;

/// How pixels enter the first layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// One spike per non-zero pixel at step `round((1 - pixel/255)(T - 1)) + 1`; what a chip
    /// receives. Batch layout `[T, B, pixels]`, values 0.0 or 1.0.
    Latency,
    /// The analog value `pixel / 255` (as `f32`), to be presented at every step by the trainer;
    /// needs a host-side or analog front end on a chip. Batch layout `[B, pixels]`.
    Direct,
    /// The grey level quantized to `levels` steps, `n / levels` with `n = round(pixel * levels /
    /// 255)` (the chip's integer rule), presented at every step like direct input. On a chip
    /// this is a thermometer code: `n` of the pixel's `levels` input lines spike at step 1 into
    /// a first layer whose current persists. Batch layout `[B, pixels]`.
    Thermometer {
        /// Quantization levels (input lines per pixel), 1 to 255.
        levels: u32,
    },
}

/// Quantization levels of `--input thermometer` when none are given.
pub const DEFAULT_THERMOMETER_LEVELS: u32 = 4;

impl Encoding {
    /// The shape of the buffer that [`encode_images`] fills: `[t_steps, batch, pixels]` for
    /// [`Encoding::Latency`], `[batch, pixels]` for [`Encoding::Direct`].
    pub fn shape(self, t_steps: usize, batch: usize, pixels: usize) -> Vec<usize> {
        match self {
            Encoding::Latency => vec![t_steps, batch, pixels],
            Encoding::Direct | Encoding::Thermometer { .. } => vec![batch, pixels],
        }
    }

    /// The lower-case name: `"latency"` or `"direct"`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Latency => "latency",
            Encoding::Direct => "direct",
            Encoding::Thermometer { .. } => "thermometer",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || {
            format!(
                "unknown input encoding {s:?}: expected \"latency\", \"direct\", \"thermometer\" or \"thermometer:LEVELS\" (1 to 255)"
            )
        };
        match s {
            "latency" => Ok(Encoding::Latency),
            "direct" => Ok(Encoding::Direct),
            "thermometer" => Ok(Encoding::Thermometer {
                levels: DEFAULT_THERMOMETER_LEVELS,
            }),
            _ => match s.strip_prefix("thermometer:").map(str::parse::<u32>) {
                Some(Ok(levels)) if (1..=255).contains(&levels) => {
                    Ok(Encoding::Thermometer { levels })
                }
                _ => Err(unknown()),
            },
        }
    }
}

/// The 1-based step at which `pixel` spikes under latency coding with `t_steps` steps:
/// `round((1 - x) * (t_steps - 1)) + 1` with `x = pixel / 255`, computed in `f64` with `round`
/// half away from zero. `None` for pixel 0 (never spikes) and for `t_steps = 0`.
/// With `t_steps = 8`: pixel 255 -> 1, 128 -> 4, 127 -> 5, 1 -> 8.
pub fn spike_step(pixel: u8, t_steps: usize) -> Option<usize> {
    if pixel == 0 || t_steps == 0 {
        return None;
    }
    let x = f64::from(pixel) / 255.0;
    let late = ((1.0 - x) * (t_steps - 1) as f64).round();
    Some(late as usize + 1)
}

/// The same step as [`spike_step`] in integer arithmetic only:
/// `((255 - pixel) * (t_steps - 1) + 127) / 255 + 1`, for hardware or a compiler that has no
/// floating point. Equal to [`spike_step`] for every input (see the module docs for why).
#[cfg(test)]
pub fn spike_step_integer(pixel: u8, t_steps: usize) -> Option<usize> {
    if pixel == 0 || t_steps == 0 {
        return None;
    }
    let late = (u128::from(255 - pixel) * (t_steps as u128 - 1) + 127) / 255;
    // late <= t_steps - 1, so it fits usize.
    Some(late as usize + 1)
}

/// Encodes the samples `indices` of `ds`, in that order, into `out` (cleared first); see
/// [`encode_images`] for the layout.
///
/// # Panics
/// If an index is out of range.
#[cfg(test)]
pub fn encode_batch(
    ds: &ttfs_data::Dataset,
    indices: &[usize],
    encoding: Encoding,
    t_steps: usize,
    out: &mut Vec<f32>,
) {
    let images: Vec<&[u8]> = indices.iter().map(|&i| ds.image(i)).collect();
    encode_images(&images, encoding, t_steps, out);
}

/// Encodes a batch of images (e.g. after augmentation) into `out`, cleared first. With `B` images
/// of `P` pixels:
///
/// - [`Encoding::Latency`]: time-major `[T, B, P]`, `out[(t * B + b) * P + p] = 1.0` iff pixel
///   `p` of image `b` spikes at step `t + 1` ([`spike_step`]), else 0.0. Each pixel spikes at
///   most once over the `T` steps.
/// - [`Encoding::Direct`]: `[B, P]`, `out[b * P + p] = pixel as f32 / 255.0`; `t_steps` is unused.
/// - [`Encoding::Thermometer`]: `[B, P]`, `out[b * P + p] = n / levels` with `n` the pixel's
///   active lines by the chip's rule (`ttfs_runtime`'s `InputEncoding::active_lines`).
///
/// # Panics
/// If the images do not all have the same number of pixels.
pub fn encode_images(images: &[&[u8]], encoding: Encoding, t_steps: usize, out: &mut Vec<f32>) {
    let pixels = images.first().map_or(0, |image| image.len());
    assert!(
        images.iter().all(|image| image.len() == pixels),
        "images of a batch differ in size"
    );
    out.clear();
    match encoding {
        Encoding::Latency => {
            // Step per pixel value; 0 means "never spikes".
            let mut step = [0usize; 256];
            for (value, s) in (0..=u8::MAX).zip(step.iter_mut()) {
                *s = spike_step(value, t_steps).unwrap_or(0);
            }
            let plane = images.len() * pixels;
            out.resize(t_steps * plane, 0.0);
            for (b, image) in images.iter().enumerate() {
                for (p, &value) in image.iter().enumerate() {
                    let s = step[usize::from(value)];
                    if s != 0 {
                        out[(s - 1) * plane + b * pixels + p] = 1.0;
                    }
                }
            }
        }
        Encoding::Direct | Encoding::Thermometer { .. } => {
            let mut level = [0f32; 256];
            for (value, l) in (0..=u8::MAX).zip(level.iter_mut()) {
                *l = match encoding {
                    Encoding::Thermometer { levels } => {
                        let chip = ChipEncoding::Thermometer { levels };
                        chip.active_lines(value) as f32 / levels as f32
                    }
                    _ => f32::from(value) / 255.0,
                };
            }
            out.reserve(images.len() * pixels);
            for image in images {
                out.extend(image.iter().map(|&value| level[usize::from(value)]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use ttfs_data::Dataset;

    use super::*;

    #[test]
    fn hand_worked_steps() {
        // T = 8: (1 - x) * 7 with x = p / 255.
        assert_eq!(spike_step(255, 8), Some(1)); // 0 * 7 = 0
        assert_eq!(spike_step(128, 8), Some(4)); // 127/255 * 7 = 3.486 -> 3
        assert_eq!(spike_step(127, 8), Some(5)); // 128/255 * 7 = 3.514 -> 4
        assert_eq!(spike_step(1, 8), Some(8)); // 254/255 * 7 = 6.973 -> 7
        assert_eq!(spike_step(0, 8), None);
        // T = 2: the two halves of the range.
        assert_eq!(spike_step(128, 2), Some(1)); // 127/255 = 0.498 -> 0
        assert_eq!(spike_step(127, 2), Some(2)); // 128/255 = 0.502 -> 1
        // T = 1: every non-zero pixel at the only step; T = 0: nothing.
        assert_eq!(spike_step(1, 1), Some(1));
        assert_eq!(spike_step(255, 0), None);
    }

    #[test]
    fn float_and_integer_formulas_agree_everywhere() {
        for t_steps in 0..=1024 {
            for pixel in 0..=u8::MAX {
                assert_eq!(
                    spike_step(pixel, t_steps),
                    spike_step_integer(pixel, t_steps),
                    "pixel {pixel}, T {t_steps}"
                );
            }
        }
    }

    #[test]
    fn steps_are_in_range_and_brighter_is_earlier() {
        for t_steps in 1..=16 {
            let mut previous = t_steps;
            for pixel in 1..=u8::MAX {
                let step = spike_step(pixel, t_steps).unwrap_or(0);
                assert!((1..=t_steps).contains(&step));
                assert!(step <= previous, "pixel {pixel}, T {t_steps}");
                previous = step;
            }
        }
    }

    #[test]
    fn latency_batch_is_time_major() {
        // Two 1x3 images, T = 8. Steps: [never, 1, 4] and [8, 5, never].
        let a: &[u8] = &[0, 255, 128];
        let b: &[u8] = &[1, 127, 0];
        let mut out = vec![9.0; 3];
        encode_images(&[a, b], Encoding::Latency, 8, &mut out);
        let mut expected = vec![0.0f32; 8 * 2 * 3];
        let at = |t: usize, b: usize, p: usize| (t * 2 + b) * 3 + p;
        expected[at(0, 0, 1)] = 1.0;
        expected[at(3, 0, 2)] = 1.0;
        expected[at(7, 1, 0)] = 1.0;
        expected[at(4, 1, 1)] = 1.0;
        assert_eq!(out, expected);
        assert_eq!(
            Encoding::Latency.shape(8, 2, 3).iter().product::<usize>(),
            out.len()
        );
    }

    #[test]
    fn direct_batch_is_pixel_over_255() {
        let a: &[u8] = &[0, 255, 51];
        let b: &[u8] = &[1, 2, 3];
        let mut out = Vec::new();
        encode_images(&[a, b], Encoding::Direct, 8, &mut out);
        assert_eq!(out.len(), 6);
        assert_eq!(&out[..3], [0.0, 1.0, 0.2]);
        assert_eq!(out[3], 1.0 / 255.0);
        assert_eq!(Encoding::Direct.shape(8, 2, 3), [2, 3]);
    }

    #[test]
    fn thermometer_batch_is_the_grey_level_in_levels_steps() {
        // 8 levels: 255 -> 8/8; 128 -> round(4.016) = 4/8; 16 -> round(0.502) = 1/8;
        // 15 -> round(0.471) = 0; 0 -> 0.
        let a: &[u8] = &[0, 255, 128, 16, 15];
        let mut out = Vec::new();
        encode_images(&[a], Encoding::Thermometer { levels: 8 }, 8, &mut out);
        assert_eq!(out, [0.0, 1.0, 0.5, 0.125, 0.0]);
        assert_eq!(Encoding::Thermometer { levels: 8 }.shape(8, 2, 5), [2, 5]);
        // Every value is n / levels with n = round(pixel * levels / 255), for every pixel.
        let all: Vec<u8> = (0..=255).collect();
        encode_images(&[&all], Encoding::Thermometer { levels: 3 }, 8, &mut out);
        for (p, &v) in all.iter().zip(&out) {
            let n = (f64::from(*p) * 3.0 / 255.0).round() as f32;
            assert_eq!(v, n / 3.0, "pixel {p}");
        }
    }

    #[test]
    fn encodings_parse_by_name() {
        assert_eq!("latency".parse(), Ok(Encoding::Latency));
        assert_eq!("direct".parse(), Ok(Encoding::Direct));
        assert_eq!(
            "thermometer".parse(),
            Ok(Encoding::Thermometer {
                levels: DEFAULT_THERMOMETER_LEVELS
            })
        );
        assert_eq!(
            "thermometer:16".parse(),
            Ok(Encoding::Thermometer { levels: 16 })
        );
        for bad in ["thermometer:0", "thermometer:256", "thermometer:x", "rate"] {
            let parsed = bad.parse::<Encoding>();
            assert!(
                matches!(&parsed, Err(e) if e.starts_with(&format!("unknown input encoding {bad:?}"))),
                "{parsed:?}"
            );
        }
    }

    #[test]
    fn random_images_spike_at_most_once_each() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (batch, pixels, t_steps) = (5, 784, 8);
        // About half the pixels are background, like MNIST.
        let images: Vec<Vec<u8>> = (0..batch)
            .map(|_| {
                (0..pixels)
                    .map(|_| if rng.gen_bool(0.5) { 0 } else { rng.r#gen() })
                    .collect()
            })
            .collect();
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        let mut out = Vec::new();
        encode_images(&refs, Encoding::Latency, t_steps, &mut out);
        assert_eq!(out.len(), t_steps * batch * pixels);
        for (b, image) in images.iter().enumerate() {
            for (p, &value) in image.iter().enumerate() {
                let spikes: Vec<usize> = (0..t_steps)
                    .filter(|&t| out[(t * batch + b) * pixels + p] == 1.0)
                    .map(|t| t + 1)
                    .collect();
                let expected: Vec<usize> = spike_step(value, t_steps).into_iter().collect();
                assert_eq!(spikes, expected, "image {b}, pixel {p} = {value}");
            }
        }
        assert!(out.iter().all(|&v| v == 0.0 || v == 1.0));
    }

    #[test]
    fn batch_follows_the_indices() {
        let ds = Dataset {
            images: vec![10, 20, 30, 40, 50, 60],
            labels: vec![0, 1, 2],
            rows: 1,
            cols: 2,
            num_classes: 10,
        };
        let mut from_ds = Vec::new();
        encode_batch(&ds, &[2, 0], Encoding::Direct, 4, &mut from_ds);
        let mut by_hand = Vec::new();
        encode_images(&[&[50, 60], &[10, 20]], Encoding::Direct, 4, &mut by_hand);
        assert_eq!(from_ds, by_hand);
        encode_batch(&ds, &[], Encoding::Latency, 4, &mut from_ds);
        assert!(from_ds.is_empty());
    }

    #[test]
    fn names_round_trip() {
        for encoding in [Encoding::Latency, Encoding::Direct] {
            assert_eq!(encoding.to_string().parse::<Encoding>(), Ok(encoding));
        }
        assert!("rate".parse::<Encoding>().is_err());
    }
}
