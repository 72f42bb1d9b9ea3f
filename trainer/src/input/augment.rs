//! Data augmentation on single images: random crop with zero padding, horizontal flip.
//!
//! Plain functions over row-major `u8` buffers; the training loop decides when to use them (the
//! method uses random crop with pad 2 for Fashion-MNIST and no augmentation for MNIST).

use rand::Rng;

/// Pads `image` (`rows x cols`, row-major) with `pad` zero pixels on every side and writes into
/// `out` the `rows x cols` window whose top-left corner is at a uniformly random offset
/// `(top, left)` in `[0, 2 * pad]` x `[0, 2 * pad]` of the padded image. `top` is drawn first,
/// then `left` (each `rng.gen_range(0..=2 * pad)`). Offset `(pad, pad)` returns the image
/// unchanged; `pad = 0` always does.
///
/// # Panics
/// If `image` or `out` does not hold `rows * cols` pixels.
pub fn random_crop(
    image: &[u8],
    rows: usize,
    cols: usize,
    pad: usize,
    rng: &mut impl Rng,
    out: &mut [u8],
) {
    let top = rng.gen_range(0..=2 * pad);
    let left = rng.gen_range(0..=2 * pad);
    crop_window(image, rows, cols, pad, top, left, out);
}

/// The deterministic part of [`random_crop`]: the window at offset `(top, left)` of the image
/// padded by `pad` zeros, i.e. `out[r][c] = image[r + top - pad][c + left - pad]`, or 0 where
/// that falls outside the image.
///
/// # Panics
/// If `image` or `out` does not hold `rows * cols` pixels, or `top` or `left` exceeds `2 * pad`.
pub fn crop_window(
    image: &[u8],
    rows: usize,
    cols: usize,
    pad: usize,
    top: usize,
    left: usize,
    out: &mut [u8],
) {
    assert_eq!(image.len(), rows * cols, "image is not {rows}x{cols}");
    assert_eq!(out.len(), rows * cols, "output is not {rows}x{cols}");
    assert!(
        top <= 2 * pad && left <= 2 * pad,
        "offset ({top}, {left}) outside [0, {}]",
        2 * pad
    );
    if cols == 0 {
        return;
    }
    // Output column c reads source column c + left - pad; the valid output columns are those
    // whose source column lies in [0, cols).
    let (out_from, src_from) = if left >= pad {
        (0, left - pad)
    } else {
        (pad - left, 0)
    };
    let width = cols.saturating_sub(out_from.max(src_from));
    for (r, out_row) in out.chunks_exact_mut(cols).enumerate() {
        let src_r = (r + top).checked_sub(pad).filter(|&sr| sr < rows);
        match src_r {
            Some(sr) if width > 0 => {
                let src_row = &image[sr * cols..(sr + 1) * cols];
                out_row[..out_from].fill(0);
                out_row[out_from..out_from + width]
                    .copy_from_slice(&src_row[src_from..src_from + width]);
                out_row[out_from + width..].fill(0);
            }
            _ => out_row.fill(0),
        }
    }
}

/// Mirrors `image` (`rows x cols`, row-major) left to right, in place.
///
/// # Panics
/// If `image` does not hold `rows * cols` pixels.
#[allow(
    dead_code,
    reason = "the garments' flip augmentation, not in a recipe yet"
)]
pub fn horizontal_flip(image: &mut [u8], rows: usize, cols: usize) {
    assert_eq!(image.len(), rows * cols, "image is not {rows}x{cols}");
    if cols == 0 {
        return;
    }
    for row in image.chunks_exact_mut(cols) {
        row.reverse();
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// A 4x5 image with distinct non-zero pixels.
    fn image() -> Vec<u8> {
        (1..=20).collect()
    }

    /// Reference implementation: build the padded image, then copy the window.
    fn crop_reference(
        image: &[u8],
        rows: usize,
        cols: usize,
        pad: usize,
        top: usize,
        left: usize,
    ) -> Vec<u8> {
        let (prows, pcols) = (rows + 2 * pad, cols + 2 * pad);
        let mut padded = vec![0u8; prows * pcols];
        for r in 0..rows {
            for c in 0..cols {
                padded[(r + pad) * pcols + c + pad] = image[r * cols + c];
            }
        }
        let mut out = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                out.push(padded[(r + top) * pcols + c + left]);
            }
        }
        out
    }

    #[test]
    fn pad_zero_is_identity() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = vec![0; 20];
        random_crop(&image(), 4, 5, 0, &mut rng, &mut out);
        assert_eq!(out, image());
    }

    #[test]
    fn every_window_matches_the_padded_reference() {
        let mut out = vec![0; 20];
        for pad in 0..=6 {
            for top in 0..=2 * pad {
                for left in 0..=2 * pad {
                    crop_window(&image(), 4, 5, pad, top, left, &mut out);
                    assert_eq!(
                        out,
                        crop_reference(&image(), 4, 5, pad, top, left),
                        "pad {pad}, offset ({top}, {left})"
                    );
                }
            }
        }
    }

    #[test]
    fn fixed_offset_is_a_shifted_copy() {
        let mut out = vec![0; 20];
        // Offset (3, 1) with pad 2: content moves up 1 row and right 1 column.
        crop_window(&image(), 4, 5, 2, 3, 1, &mut out);
        #[rustfmt::skip]
        let expected = [
            0, 6, 7, 8, 9,
            0, 11, 12, 13, 14,
            0, 16, 17, 18, 19,
            0, 0, 0, 0, 0,
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn random_crop_is_a_window_and_never_adds_ink() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut replay = ChaCha8Rng::seed_from_u64(7);
        let mut out = vec![0; 20];
        let total: u32 = image().iter().map(|&p| u32::from(p)).sum();
        for _ in 0..200 {
            random_crop(&image(), 4, 5, 2, &mut rng, &mut out);
            let top = replay.gen_range(0..=4);
            let left = replay.gen_range(0..=4);
            assert_eq!(out, crop_reference(&image(), 4, 5, 2, top, left));
            let kept: u32 = out.iter().map(|&p| u32::from(p)).sum();
            assert!(kept <= total);
            assert!(out.iter().filter(|&&p| p != 0).count() <= 20);
        }
    }

    #[test]
    fn flip_mirrors_rows_and_is_an_involution() {
        let mut img = image();
        horizontal_flip(&mut img, 4, 5);
        assert_eq!(&img[..5], [5, 4, 3, 2, 1]);
        assert_eq!(&img[15..], [20, 19, 18, 17, 16]);
        horizontal_flip(&mut img, 4, 5);
        assert_eq!(img, image());
    }
}
