//! Fuzzing of the IDX reader: a valid pair of image and label files (raw and gzipped) with
//! bytes flipped, cut or appended. Nothing may panic or allocate what the file does not hold;
//! whatever is accepted must be consistent (pixels = count x rows x columns, one label per
//! image, every label a class).
//!
//! A bounded number of cases from a fixed seed in the suite; `TTFS_FUZZ_CASES=N`
//! (`TTFS_FUZZ_SEED=S`) for a longer campaign.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use ttfs_data::idx::{IMAGES_MAGIC, LABELS_MAGIC};
use ttfs_data::{Dataset, Split};

fn campaign(default_cases: u32) -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    Config {
        cases: env("TTFS_FUZZ_CASES").map_or(default_cases, |c: u64| c as u32),
        rng_seed: RngSeed::Fixed(env("TTFS_FUZZ_SEED").unwrap_or(1)),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A valid test split: 3 images of 4 x 5 pixels and their labels.
fn valid() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..60u8).map(|p| p.wrapping_mul(37)).collect();
    (
        idx_bytes(IMAGES_MAGIC, &[3, 4, 5], &pixels),
        idx_bytes(LABELS_MAGIC, &[3], &[7, 1, 9]),
    )
}

/// The raw bytes of an IDX file: big-endian magic, big-endian sizes, then the data.
fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Flips, then cuts or extends `bytes`.
fn damage(mut bytes: Vec<u8>, edits: &[(proptest::sample::Index, u8)], end: i32) -> Vec<u8> {
    for (at, flip) in edits {
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
    }
    if end < 0 {
        let keep = bytes.len().saturating_sub((-end) as usize);
        bytes.truncate(keep);
    } else {
        bytes.extend(std::iter::repeat_n(0xAB, end as usize));
    }
    bytes
}

proptest! {
    #![proptest_config(campaign(128))]

    #[test]
    fn damaged_idx_files_are_refused_or_read_consistently(
        image_edits in proptest::collection::vec((any::<proptest::sample::Index>(), 1..=255u8), 0..4),
        label_edits in proptest::collection::vec((any::<proptest::sample::Index>(), 1..=255u8), 0..2),
        image_end in -20i32..8,
        label_end in -4i32..3,
        gzipped in any::<bool>(),
    ) {
        let (images, labels) = valid();
        let (mut images, mut labels) = (
            damage(images, &image_edits, image_end),
            damage(labels, &label_edits, label_end),
        );
        if gzipped {
            images = gzip(&images);
            labels = gzip(&labels);
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), &images).unwrap();
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), &labels).unwrap();
        if let Ok(ds) = Dataset::load(dir.path(), Split::Test) {
            prop_assert_eq!(ds.labels.len(), ds.len());
            prop_assert!(ds.labels.iter().all(|&l| usize::from(l) < ds.num_classes));
            for i in 0..ds.len() {
                prop_assert_eq!(ds.image(i).len(), ds.rows * ds.cols);
            }
        }
    }

    /// A gzip stream damaged after compression (its own checksum, its framing).
    #[test]
    fn damaged_gzip_streams_never_panic(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 1..=255u8), 1..4),
        end in -10i32..4,
    ) {
        let (images, labels) = valid();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t10k-images-idx3-ubyte.gz"),
            damage(gzip(&images), &edits, end),
        )
        .unwrap();
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), labels).unwrap();
        let _ = Dataset::load(dir.path(), Split::Test);
    }
}

#[test]
fn the_fuzzed_split_starts_valid() {
    let (images, labels) = valid();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), labels).unwrap();
    let ds = Dataset::load(dir.path(), Split::Test).unwrap();
    assert_eq!((ds.len(), ds.rows, ds.cols), (3, 4, 5));
}
