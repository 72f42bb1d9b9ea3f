//! A tiny synthetic image data set in IDX files, written from scratch (no fixtures needed).
//!
//! Images are 8x8. Class `k` has a bright 2x2 block at its own position on a 4x4 grid of
//! blocks (10 of the 16 positions are used), on a background of faint random noise, so the
//! label is a deterministic function of the image that a small MLP can learn in a few epochs.
//! Also the folders the training tests write into.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ttfs_trainer::{EpochRecord, RunPaths};

/// Image side.
pub const SIDE: usize = 8;

/// The IDX magic of an image file (unsigned bytes, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The IDX magic of a label file (unsigned bytes, 1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The raw bytes of an IDX file: big-endian magic, big-endian sizes, then the data.
pub fn idx_bytes(magic: u32, dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for &d in dims {
        bytes.extend_from_slice(&u32::try_from(d).unwrap().to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// `count` images and their labels (cycling through the 10 classes, in a shuffled order).
fn split(count: usize, rng: &mut ChaCha8Rng) -> (Vec<u8>, Vec<u8>) {
    let mut images = Vec::with_capacity(count * SIDE * SIDE);
    let mut labels = Vec::with_capacity(count);
    for _ in 0..count {
        let label: u8 = rng.gen_range(0..10);
        let mut image = [0u8; SIDE * SIDE];
        for pixel in image.iter_mut() {
            if rng.gen_bool(0.3) {
                *pixel = rng.gen_range(1..80);
            }
        }
        let (block_row, block_col) = (usize::from(label) / 4 * 2, usize::from(label) % 4 * 2);
        for r in block_row..block_row + 2 {
            for c in block_col..block_col + 2 {
                image[r * SIDE + c] = rng.gen_range(200..=255);
            }
        }
        images.extend_from_slice(&image);
        labels.push(label);
    }
    (images, labels)
}

/// Writes `train` training and `test` test samples as the four MNIST-named IDX files in `dir`.
pub fn write_dataset(dir: &Path, train: usize, test: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (prefix, count) in [("train", train), ("t10k", test)] {
        let (images, labels) = split(count, &mut rng);
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx_bytes(IMAGES_MAGIC, &[count, SIDE, SIDE], &images),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx_bytes(LABELS_MAGIC, &[count], &labels),
        )
        .unwrap();
    }
}

/// Writes a data set (as [`write_dataset`]) into a new folder `data` under `dir`; returns it.
pub fn data_folder(dir: &Path, train: usize, test: usize, seed: u64) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    write_dataset(&data, train, test, seed);
    data
}

/// The files of a run whose model is `dir/name/model.safetensors` (the folder is created).
pub fn run_paths(dir: &Path, name: &str) -> RunPaths {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    RunPaths::for_model(&folder.join("model.safetensors"))
}

#[test]
fn the_synthetic_files_load_as_a_dataset() {
    use ttfs_data::{Dataset, Split};
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), 12, 5, 3);
    let train = Dataset::load(dir.path(), Split::Train).unwrap();
    let test = Dataset::load(dir.path(), Split::Test).unwrap();
    assert_eq!((train.len(), train.rows, train.cols), (12, SIDE, SIDE));
    assert_eq!(test.len(), 5);
    // The block of class k is at rows k/4*2.., columns k%4*2..: all four pixels bright.
    for i in 0..train.len() {
        let k = usize::from(train.labels[i]);
        let (r0, c0) = (k / 4 * 2, k % 4 * 2);
        let image = train.image(i);
        for (r, c) in [(r0, c0), (r0, c0 + 1), (r0 + 1, c0), (r0 + 1, c0 + 1)] {
            assert!(image[r * SIDE + c] >= 200, "sample {i} class {k}");
        }
    }
}

/// Every record of an epoch log (JSON Lines, as the trainer appends them); blank lines are
/// skipped.
pub fn read_jsonl(path: &Path) -> Result<Vec<EpochRecord>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}
