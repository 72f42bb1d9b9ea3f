//! Fuzzing of the inputs a user feeds the compiler and the emulator: target descriptions, model
//! files and chip configurations. Each case mutates a valid input and runs it as far as it goes
//! (parse, compile, emulate); nothing may panic, and whatever is accepted must behave: a target
//! that loads lets a small model compile and run with the emulator equal to the golden model, a
//! model that reads compiles or is refused with an error, a configuration that decodes runs.
//!
//! The suite runs a bounded number of cases from a fixed seed, so it is repeatable;
//! `TTFS_FUZZ_CASES=N` (and `TTFS_FUZZ_SEED=S`) run a longer or another campaign, e.g.
//! `TTFS_FUZZ_CASES=20000 cargo test --release -p ttfs-compiler --test it fuzz`.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use ttfs_compiler::compile::{CompileOptions, compile};
use ttfs_compiler::golden::GoldenModel;
use ttfs_compiler::model::{self, Model};
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::emulator::{Emulator, RunOptions};
use ttfs_runtime::target::Target;

use crate::common::{mlp, write_unchecked};

/// The campaign: `TTFS_FUZZ_CASES` cases (default `default_cases`) from `TTFS_FUZZ_SEED`
/// (default 1), no failure files.
fn campaign(default_cases: u32) -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    Config {
        cases: env("TTFS_FUZZ_CASES").map_or(default_cases, |c: u64| c as u32),
        rng_seed: RngSeed::Fixed(env("TTFS_FUZZ_SEED").unwrap_or(1)),
        failure_persistence: None,
        ..Config::default()
    }
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)).unwrap()
}

/// The small model's images: 20 pixels.
fn images() -> Vec<Vec<u8>> {
    (0..3u32)
        .map(|i| {
            (0..20u32)
                .map(|p| ((i * 83 + p * 37) % 256) as u8)
                .collect()
        })
        .collect()
}

/// Runs `config` on `target` for every image, and, given the network, checks that the
/// emulator's spikes equal the golden model's.
fn emulate(config: &ChipConfig, target: &Target, golden: Option<&ttfs_compiler::ir::QuantNetwork>) {
    let Ok(mut emulator) = Emulator::new(config, target) else {
        return;
    };
    let mut reference = golden.map(GoldenModel::new);
    for image in images() {
        let Ok(inference) = emulator.run(&image, RunOptions::default()) else {
            continue;
        };
        if let Some(g) = reference.as_mut() {
            let run = g.run(&image).unwrap();
            assert_eq!(inference.spikes, run.spikes, "emulator against golden");
        }
    }
}

/// A value that breaks a field the most ways: zero, one, the type's extremes, a negative, a
/// non-number.
fn hostile_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::json!(0)),
        Just(serde_json::json!(1)),
        Just(serde_json::json!(2)),
        Just(serde_json::json!(255)),
        Just(serde_json::json!(65_536)),
        Just(serde_json::json!(u32::MAX)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!(1e-300)),
        Just(serde_json::json!(null)),
        Just(serde_json::json!("x")),
        (0u32..100_000).prop_map(|v| serde_json::json!(v)),
    ]
}

/// A weight or scale value that breaks arithmetic the most ways.
fn hostile_float() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(0.0f32),
        Just(-0.0),
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::MAX),
        Just(f32::MIN_POSITIVE),
        Just(1e-30),
        -1e3f32..1e3,
    ]
}

/// Every leaf of a JSON object as (group, field), for the numeric and boolean ones.
fn leaves(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(top) = v.as_object() {
        for (group, inner) in top {
            if let Some(fields) = inner.as_object() {
                for (field, value) in fields {
                    if value.is_number() || value.is_boolean() || value.is_null() {
                        out.push((group.clone(), field.clone()));
                    }
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(campaign(96))]

    /// A target with some fields set to hostile values: refused with an error, or accepted, and
    /// then a small model compiles for it (or is refused) and runs with the emulator equal to
    /// the golden model.
    #[test]
    fn hostile_targets_are_refused_or_behave(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), hostile_value()), 1..4),
        base in prop_oneof![Just("tiny"), Just("loihi"), Just("xylo"), Just("truenorth")],
    ) {
        let mut v: serde_json::Value =
            serde_json::from_str(&fixture(&format!("fixtures/targets/{base}.json"))).unwrap();
        let fields = leaves(&v);
        for (at, value) in edits {
            let (group, field) = &fields[at.index(fields.len())];
            v[group][field] = value;
        }
        let Ok(target) = ttfs_runtime::target::parse(&v.to_string(), "fuzz.json") else {
            return Ok(());
        };
        let model = mlp();
        if let Ok(compiled) = compile(&model, &target, &CompileOptions::default()) {
            emulate(compiled.config(), &target, Some(&compiled.quantized.network));
        }
    }

    /// Bytes of a target description flipped, cut or repeated: parsing never panics.
    #[test]
    fn damaged_target_text_never_panics(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut bytes = fixture("fixtures/targets/tiny.json").into_bytes();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(target) = ttfs_runtime::target::parse(&text, "fuzz.json") {
            prop_assert!(target.validate().is_ok());
        }
    }

    /// A model file with bytes flipped or cut: read refuses it (its digest, framing or
    /// description) or reads it, and a model that reads compiles or is refused, never panics.
    #[test]
    fn damaged_model_files_are_refused_or_compile(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 1..=255u8), 1..4),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
    ) {
        let mut bytes = model::io::encode(&mlp()).unwrap();
        for (at, flip) in edits {
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(model) = model::io::decode(&bytes) {
            let _ = compile(&model, &tiny_target(), &CompileOptions::default());
        }
    }

    /// A model whose description text has digits changed and whose tensors have values
    /// replaced, written behind a digest recomputed over the edit (as a buggy exporter would
    /// write it): the digest passes, so the description's and the tensors' own checks must
    /// refuse it, or it compiles and runs with the emulator equal to the golden model.
    #[test]
    fn damaged_models_behind_a_valid_digest_are_refused_or_run(
        digits in proptest::collection::vec((any::<proptest::sample::Index>(), 0..10u8), 0..3),
        values in proptest::collection::vec((any::<proptest::sample::Index>(), hostile_float()), 0..3),
    ) {
        let model = mlp();
        let mut json = serde_json::to_string(&model.description).unwrap().into_bytes();
        let positions: Vec<usize> =
            (0..json.len()).filter(|&i| json[i].is_ascii_digit()).collect();
        for (at, digit) in digits {
            json[positions[at.index(positions.len())]] = b'0' + digit;
        }
        let json = String::from_utf8(json).unwrap();
        let mut tensors = model.tensors.clone();
        let names: Vec<String> = tensors.keys().cloned().collect();
        for (at, value) in values {
            let name = &names[at.index(names.len())];
            let data = &mut tensors.get_mut(name).unwrap().data;
            let i = at.index(data.len());
            data[i] = value;
        }
        let digest = model::digest_of(&json, &tensors);
        let body = json.strip_suffix('}').unwrap();
        let text = format!("{body},\"{}\":\"fnv1a64:{digest:016x}\"}}", model::DIGEST_FIELD);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        write_unchecked(&path, text, &tensors);
        if let Ok(read) = model::read(&path) {
            let target = tiny_target();
            if let Ok(compiled) = compile(&read, &target, &CompileOptions::default()) {
                emulate(compiled.config(), &target, Some(&compiled.quantized.network));
            }
        }
    }

    /// A model description with hostile values in its fields, written without a digest (as an
    /// edited file or an old one reads): refused with an error, or compiled and run.
    #[test]
    fn hostile_model_descriptions_are_refused_or_run(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), hostile_value()), 1..3),
    ) {
        let model = mlp();
        let mut v = serde_json::to_value(&model.description).unwrap();
        let mut fields = leaves(&v);
        // The layers' own fields too.
        let layers = v["layers"].as_array().map_or(0, Vec::len);
        for l in 0..layers {
            if let Some(o) = v["layers"][l].as_object() {
                for (k, value) in o {
                    if value.is_number() || value.is_boolean() {
                        fields.push((format!("layers.{l}"), k.clone()));
                    }
                }
            }
        }
        fields.push((String::new(), "time_steps".into()));
        for (at, value) in edits {
            let (group, field) = &fields[at.index(fields.len())];
            match group.strip_prefix("layers.") {
                Some(l) => v["layers"][l.parse::<usize>().unwrap()][field] = value,
                None if group.is_empty() => v[field] = value,
                None => v[group][field] = value,
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        write_unchecked(&path, v.to_string(), &model.tensors);
        if let Ok(model) = model::read(&path) {
            let target = tiny_target();
            if let Ok(compiled) = compile(&model, &target, &CompileOptions::default()) {
                emulate(compiled.config(), &target, Some(&compiled.quantized.network));
            }
        }
    }

    /// A valid configuration with one number of its tables changed: encode refuses it or it
    /// decodes to the same configuration, and the emulator refuses it or runs it, never panics.
    #[test]
    fn edited_configurations_are_refused_or_run(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u32>()), 1..4),
    ) {
        let target = tiny_target();
        let compiled = compile(&mlp(), &target, &CompileOptions::default()).unwrap();
        let mut v = serde_json::to_value(compiled.config()).unwrap();
        let mut numbers = Vec::new();
        collect_numbers(&v, String::new(), &mut numbers);
        for (at, value) in edits {
            let pointer = &numbers[at.index(numbers.len())];
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = serde_json::json!(value);
            }
        }
        let Ok(config) = serde_json::from_value::<ChipConfig>(v) else {
            return Ok(());
        };
        if let Ok(bytes) = ttfs_runtime::config::encode(&config) {
            prop_assert_eq!(ttfs_runtime::config::decode(&bytes).unwrap(), config.clone());
            emulate(&config, &target, None);
        }
    }
}

/// JSON pointers to every number in `v`.
fn collect_numbers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Number(_) => out.push(at),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_numbers(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(fields) => {
            for (k, item) in fields {
                collect_numbers(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

fn tiny_target() -> Target {
    ttfs_runtime::target::parse(&fixture("fixtures/targets/tiny.json"), "tiny.json").unwrap()
}

#[test]
fn the_fuzzed_inputs_start_valid() {
    // Each campaign mutates these: they must be accepted unmutated.
    let target = tiny_target();
    let model: Model = model::io::decode(&model::io::encode(&mlp()).unwrap()).unwrap();
    let compiled = compile(&model, &target, &CompileOptions::default()).unwrap();
    emulate(
        compiled.config(),
        &target,
        Some(&compiled.quantized.network),
    );
    assert!(!leaves(&serde_json::to_value(&target).unwrap()).is_empty());
}
