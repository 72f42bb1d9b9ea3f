//! `ttfs pipeline` end to end on a small slice of the fixtures: the files it writes and the
//! numbers inside them.

use std::path::Path;
use std::process::Command;

use crate::common::{repo, target};

/// Runs `ttfs --threads 2 pipeline --run-dir RUN_DIR ARGS...` from the repository root and
/// returns its `chip.run.json`, after checking that it succeeded and that `images` images ran
/// on the emulator spike for spike as on the golden model, no neuron firing twice.
fn pipeline(run_dir: &Path, args: &[&str], images: u64) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ttfs"))
        .args(["--threads", "2", "pipeline", "--run-dir"])
        .arg(run_dir)
        .args(args)
        .current_dir(repo(""))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("chip.run.json")).unwrap())
            .unwrap();
    assert_eq!(run["images"], images);
    assert_eq!(run["single_spike"]["verified"], true);
    assert_eq!(run["single_spike"]["violations"], 0);
    assert_eq!(run["golden"]["spikes_equal"], images);
    assert_eq!(run["golden"]["decisions_equal"], images);
    run
}

#[test]
fn pipeline_trains_compiles_emulates_and_reports_consistent_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let args = [
        "--epochs",
        "1",
        "--train-limit",
        "2000",
        "--test-limit",
        "200",
        "--calibrate",
        "50",
        "--images",
        "40",
    ];
    let run = pipeline(&run_dir, &args, 40);

    for file in [
        "model.safetensors",
        "model.curves.svg",
        "model.train.jsonl",
        "chip.bin",
        "chip.map.json",
        "chip.cores.svg",
        "chip.weights.svg",
        "chip.run.json",
        "chip.energy.svg",
        "chip.latency.svg",
        "chip.raster.svg",
        "summary.md",
    ] {
        assert!(run_dir.join(file).is_file(), "{file} missing");
    }
    let summary = std::fs::read_to_string(run_dir.join("summary.md")).unwrap();
    for link in [
        "(chip.bin)",
        "(chip.energy.svg)",
        "(model.curves.svg)",
        "(chip.cores.svg)",
    ] {
        assert!(summary.contains(link), "summary links {link}");
    }

    // Ten classes: chance is 10%; one epoch on 2000 images reaches far above it.
    assert!(
        run["accuracy"].as_f64().unwrap() > 0.5,
        "{}",
        run["accuracy"]
    );

    // Energy = mean counts x the target's costs + static power x mean time.
    let loihi = target("loihi");
    let e = &loihi.energy_pj;
    let c = &run["counters"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let expected = f(&c["synaptic_ops"]) * e.synop
        + f(&c["neuron_updates"]) * e.neuron_update
        + f(&c["packets"]) * e.spike_inject
        + f(&c["hops"]) * e.hop
        + f(&c["host_packets"]) * e.host_inject
        + e.static_mw * f(&run["latency"]["microseconds"]["mean"]) * 1000.0;
    let total = f(&run["energy"]["total_pj"]);
    assert!(
        (total - expected).abs() <= 1e-6 * expected,
        "energy {total} pJ, counts x costs {expected} pJ"
    );
    assert!(total > 0.0);
}

#[test]
fn a_thermometer_model_runs_on_the_chip_as_its_golden_model_does() {
    // The grey levels in 4 lines per pixel (fan-in 3,136, inside loihi's 4,096 axons), spiking
    // at step 1 into a first layer with a persistent current.
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--arch",
        "784-64-10",
        "--input",
        "thermometer",
        "--levels",
        "4",
        "--epochs",
        "1",
        "--train-limit",
        "1000",
        "--test-limit",
        "100",
        "--calibrate",
        "30",
        "--images",
        "30",
    ];
    let run = pipeline(&dir.path().join("run"), &args, 30);
    assert!(
        run["accuracy"].as_f64().unwrap() > 0.3,
        "{}",
        run["accuracy"]
    );
    // Up to 4 host packets per pixel: far more than latency coding's one per lit pixel.
    let host = run["counters"]["host_packets"].as_f64().unwrap();
    assert!(
        host > 784.0 * 0.19 * 1.5,
        "{host} host packets per inference"
    );
}
