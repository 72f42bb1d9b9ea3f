//! Fuzzing of run shard files (what `ttfs merge` reads): real shards of a run, damaged two
//! ways. Bytes flipped as a disk or a hand edit would: every case must be refused, or merge to
//! exactly the report of the undamaged shards (a flip inside JSON whitespace changes nothing);
//! no silent acceptance of other figures. Numbers replaced by hostile values with the checksum
//! recomputed, as a buggy tool or a forger would write them: nothing may panic, and the cases
//! accepted are counted by the field edited (fields a run cannot check, such as a wall time).
//!
//! A bounded number of cases from a fixed seed in the suite; `TTFS_FUZZ_CASES=N`
//! (`TTFS_FUZZ_SEED=S`) for a longer campaign, `TTFS_FUZZ_REPORT=1` to print the counts.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::report::shard::{Shard, merge};
use ttfs_runtime::report::{GoldenSummary, summarize};
use ttfs_runtime::target::Target;

use crate::common::{target, ttfs};

/// Cases of a campaign: `TTFS_FUZZ_CASES`, else `default`.
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

/// How a damaged pair of shards ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Not a shard file (JSON or its fields).
    Unreadable,
    /// Refused by its format or checksum.
    Checksum,
    /// Refused by the merge (not one run).
    Merge,
    /// Refused by the records' check against the configuration and target.
    Check,
    /// Accepted, with the report of the undamaged shards.
    Same,
    /// Accepted, with other figures.
    Different,
}

/// The report of merging `texts` (shard files) for `config` on `target`, without its timing,
/// or where it was refused.
fn merged(
    texts: &[String],
    config: &ChipConfig,
    target: &Target,
) -> Result<serde_json::Value, Outcome> {
    let mut shards = Vec::new();
    for text in texts {
        let shard: Shard = serde_json::from_str(text).map_err(|_| Outcome::Unreadable)?;
        shard.verify().map_err(|_| Outcome::Checksum)?;
        shards.push(shard);
    }
    let merged = merge(shards).map_err(|_| Outcome::Merge)?;
    merged.check(config, target).map_err(|_| Outcome::Check)?;
    let records = &merged.inferences.records;
    let golden = merged
        .golden_model
        .clone()
        .map(|m| GoldenSummary::of(m, records.iter().filter_map(|r| r.golden.as_ref())));
    let report = summarize(
        &merged.inferences,
        config,
        target,
        merged.early_exit,
        merged.sources.clone(),
        golden,
        merged.timing.clone(),
    );
    let mut v = serde_json::to_value(&report).unwrap();
    v.as_object_mut().unwrap().remove("timing");
    Ok(v)
}

/// JSON pointers to every number in `v`.
fn numbers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Number(_) => out.push(at),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                numbers(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(fields) => {
            for (k, item) in fields {
                numbers(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// The field a pointer ends in, without array indices: `/records/3/counters/cycles` ->
/// `records/counters/cycles`.
fn field(pointer: &str) -> String {
    pointer
        .split('/')
        .filter(|p| !p.is_empty() && p.parse::<usize>().is_err())
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn damaged_shards_are_refused_or_merge_to_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("mlp.bin");
    let bin = bin.to_str().unwrap();
    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "loihi",
        "-o",
        bin,
        "--limit",
        "0",
    ]);
    assert!(ok, "{stderr}");
    for shard in ["0/2", "1/2"] {
        let (ok, _, stderr) = ttfs(&[
            "run",
            bin,
            "--limit",
            "8",
            "--golden",
            "fixtures/models/mnist-mlp.safetensors",
            "--shard",
            shard,
            "-o",
            dir.path().to_str().unwrap(),
        ]);
        assert!(ok, "{stderr}");
    }
    let texts: Vec<String> = (0..2)
        .map(|i| {
            std::fs::read_to_string(dir.path().join(format!("mlp.shard-{i}-of-2.json"))).unwrap()
        })
        .collect();
    let config = ttfs_runtime::config::read(std::path::Path::new(bin)).unwrap();
    let loihi = target("loihi");
    let reference = merged(&texts, &config, &loihi).expect("the undamaged shards merge");
    let mut rng = rng();

    // Bytes flipped, the checksum as written.
    let mut flips: BTreeMap<Outcome, usize> = BTreeMap::new();
    for _ in 0..cases(200) {
        let mut damaged = texts.clone();
        let which = rng.gen_range(0..2);
        let mut bytes = damaged[which].clone().into_bytes();
        for _ in 0..rng.gen_range(1..=3) {
            let at = rng.gen_range(0..bytes.len());
            bytes[at] ^= rng.gen_range(1..=255u8);
        }
        damaged[which] = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = match merged(&damaged, &config, &loihi) {
            Ok(report) if report == reference => Outcome::Same,
            Ok(_) => Outcome::Different,
            Err(refused) => refused,
        };
        *flips.entry(outcome).or_default() += 1;
    }
    // Numbers set to hostile values, the checksum recomputed.
    let hostile = [
        serde_json::json!(0),
        serde_json::json!(1),
        serde_json::json!(-1),
        serde_json::json!(2),
        serde_json::json!(1_000_000_000_000u64),
        serde_json::json!(4_294_967_296u64),
        serde_json::json!(u64::MAX),
        serde_json::json!(0.5),
        serde_json::json!(1e300),
    ];
    let mut resealed: BTreeMap<Outcome, usize> = BTreeMap::new();
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..cases(200) {
        let mut damaged = texts.clone();
        let which = rng.gen_range(0..2);
        let mut v: serde_json::Value = serde_json::from_str(&damaged[which]).unwrap();
        let mut pointers = Vec::new();
        numbers(&v, String::new(), &mut pointers);
        pointers.retain(|p| p != "/checksum");
        let mut edited = Vec::new();
        for _ in 0..rng.gen_range(1..=2) {
            let pointer = &pointers[rng.gen_range(0..pointers.len())];
            let value = if rng.gen_bool(0.5) {
                hostile[rng.gen_range(0..hostile.len())].clone()
            } else {
                serde_json::json!(rng.gen_range(0..100_000u32))
            };
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = value;
                edited.push(field(pointer));
            }
        }
        let outcome = match serde_json::from_value::<Shard>(v) {
            Err(_) => Outcome::Unreadable,
            Ok(shard) => {
                damaged[which] = serde_json::to_string(&shard.sealed()).unwrap();
                match merged(&damaged, &config, &loihi) {
                    Ok(report) if report == reference => Outcome::Same,
                    Ok(_) => {
                        for f in &edited {
                            *accepted.entry(f.clone()).or_default() += 1;
                        }
                        Outcome::Different
                    }
                    Err(refused) => refused,
                }
            }
        };
        *resealed.entry(outcome).or_default() += 1;
    }
    if std::env::var("TTFS_FUZZ_REPORT").is_ok() {
        eprintln!("byte flips: {flips:?}");
        eprintln!("resealed numbers: {resealed:?}");
        eprintln!("fields of accepted resealed edits: {accepted:?}");
    }
    assert_eq!(
        flips.get(&Outcome::Different),
        None,
        "a flipped byte was accepted with other figures: {flips:?}"
    );
}
