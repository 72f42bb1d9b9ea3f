//! Fuzzing of the NIR reader: real files (numpy's through nir 1.0.8 with gzip, Sinabs'
//! through nir 1.0.4 uncompressed) damaged three ways: bytes flipped, the file cut short, and
//! 8-byte fields overwritten with hostile sizes. Every case must end in a refusal or a file
//! that imports or is refused in turn: no panic, no hang (each case has a deadline), no
//! unbounded allocation.
//!
//! A bounded number of cases from a fixed seed in the suite; `TTFS_FUZZ_CASES=N`
//! (`TTFS_FUZZ_SEED=S`) for a longer campaign, `TTFS_FUZZ_REPORT=1` to print the counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ttfs_nir::{ImportOptions, import};

/// How long one case may take before it counts as a hang (a debug build reads these files
/// in milliseconds).
const DEADLINE: Duration = Duration::from_secs(20);

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn cases(default: usize) -> usize {
    std::env::var("TTFS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rng() -> ChaCha8Rng {
    let seed = std::env::var("TTFS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    ChaCha8Rng::seed_from_u64(seed)
}

/// How a damaged file ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Refused by the reader.
    Unreadable,
    /// Read, then refused by the import.
    Refused,
    /// Read and imported.
    Imported,
}

/// Reads and imports `bytes`; a panic is returned as its message.
fn outcome(bytes: Vec<u8>) -> Result<Outcome, String> {
    std::panic::catch_unwind(move || {
        let Ok(file) = ttfs_nir::hdf5::decode(&bytes) else {
            return Outcome::Unreadable;
        };
        let options = ImportOptions {
            steps: Some(4),
            ..ImportOptions::default()
        };
        match import(&file, &options) {
            Ok(_) => Outcome::Imported,
            Err(_) => Outcome::Refused,
        }
    })
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Runs one case with a deadline: its outcome, or why it failed (a panic or a hang).
fn run_case(bytes: Vec<u8>) -> Result<Outcome, String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(outcome(bytes));
    });
    match receive.recv_timeout(DEADLINE) {
        Ok(result) => result.map_err(|m| format!("panicked: {m}")),
        Err(_) => Err(format!("took longer than {DEADLINE:?}")),
    }
}

/// One damaged copy of `original`.
fn damage(original: &[u8], rng: &mut ChaCha8Rng) -> (String, Vec<u8>) {
    let mut bytes = original.to_vec();
    match rng.gen_range(0..3) {
        0 => {
            let flips = rng.gen_range(1..=8);
            for _ in 0..flips {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] ^= 1 << rng.gen_range(0..8);
            }
            (format!("{flips} bits flipped"), bytes)
        }
        1 => {
            let len = rng.gen_range(0..bytes.len());
            bytes.truncate(len);
            (format!("cut to {len} bytes"), bytes)
        }
        _ => {
            let at = rng.gen_range(0..bytes.len().saturating_sub(8));
            let value: u64 = match rng.gen_range(0..4) {
                0 => u64::MAX,
                1 => 1 << rng.gen_range(20..63),
                2 => rng.r#gen(),
                _ => 0,
            };
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
            (format!("8 bytes at {at} set to {value}"), bytes)
        }
    }
}

#[test]
fn damaged_nir_files_are_refused_or_read_without_panic_or_hang() {
    let mut rng = rng();
    let mut counts: BTreeMap<(&str, Outcome), usize> = BTreeMap::new();
    for file in ["fixtures/nir/numpy-mlp.nir", "fixtures/nir/sinabs-cnn.nir"] {
        let original = std::fs::read(repo(file)).unwrap();
        assert_eq!(run_case(original.clone()), Ok(Outcome::Imported), "{file}");
        for case in 0..cases(150) {
            let (what, bytes) = damage(&original, &mut rng);
            match run_case(bytes) {
                Ok(o) => *counts.entry((file, o)).or_default() += 1,
                Err(why) => panic!("{file}, case {case} ({what}): {why}"),
            }
        }
    }
    if std::env::var("TTFS_FUZZ_REPORT").is_ok() {
        eprintln!("{counts:#?}");
    }
}
