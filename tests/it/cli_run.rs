//! `ttfs run` as a user runs it: the report's numbers, the pictures, the trace, the same result
//! on 1 and 2 threads, the verdicts and the error paths.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use ttfs_runtime::config::{ChipConfig, Refractory, TieBreak};

use crate::common::{mlp, target, ttfs};

const MODEL: &str = "fixtures/models/mnist-mlp.safetensors";

/// The MLP compiled for loihi (once per test binary).
fn loihi_config() -> &'static ChipConfig {
    static CONFIG: OnceLock<ChipConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        ttfs_compiler::compile::compile(&mlp(), &target("loihi"), &Default::default())
            .unwrap()
            .mapping
            .config
    })
}

/// Writes `config` as `dir/name` and returns its path.
fn write_config(dir: &Path, name: &str, config: &ChipConfig) -> PathBuf {
    let path = dir.join(name);
    ttfs_runtime::config::write(&path, config).unwrap();
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()),
        "{what}: {a} vs {b}"
    );
}

#[test]
fn run_reports_accuracy_latency_energy_and_equals_the_golden_model() {
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "mlp.bin", loihi_config());
    let out = dir.path().join("out");
    let trace = dir.path().join("trace.jsonl");
    let (ok, stdout, stderr) = ttfs(&[
        "run",
        bin.to_str().unwrap(),
        "--target",
        "loihi",
        "--limit",
        "30",
        "--golden",
        MODEL,
        "--out",
        out.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("single-spike: verified, no neuron fired twice in 30 inferences"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "golden model: spike times equal on 30 of 30 inferences (every neuron), \
             decisions equal on 30"
        ),
        "{stdout}"
    );

    let r = read_json(&out.join("mlp.run.json"));
    assert_eq!(r["images"], 30);
    assert_eq!(r["sources"]["target"], "loihi");
    assert!(f(&r["accuracy"]) > 0.8, "accuracy {}", r["accuracy"]);
    assert_eq!(r["single_spike"]["verified"], true);
    assert_eq!(r["single_spike"]["violating_inferences"], 0);
    assert_eq!(r["golden"]["compared"], 30);
    assert_eq!(r["golden"]["spikes_equal"], 30);
    assert_eq!(r["golden"]["decisions_equal"], 30);
    // Each always-firing neuron spikes once per inference and a silent one never, so the mean
    // spikes of a layer lie between the two counts.
    for layer in r["layers"].as_array().unwrap() {
        let (n, silent, always) = (
            f(&layer["neurons"]),
            f(&layer["silent_neurons"]),
            f(&layer["always_firing_neurons"]),
        );
        let spikes = f(&layer["spikes_per_inference"]);
        assert!(silent + always <= n, "{layer}");
        assert!(always <= spikes && spikes <= n - silent, "{layer}");
    }
    // The fixture's hidden layer has neurons that fire on every image (27 of 800 on the
    // first 2,000 test images, 43 on these 30) and neurons that never fire (220, 255).
    assert!(f(&r["layers"][0]["always_firing_neurons"]) >= 20.0);
    assert!(f(&r["layers"][0]["silent_neurons"]) >= 150.0);
    for key in ["cycles", "energy_pj", "decision", "correct", "label"] {
        assert_eq!(
            r["per_inference"][key].as_array().unwrap().len(),
            30,
            "{key}"
        );
    }
    let lat = &r["latency"]["cycles"];
    assert!(f(&lat["min"]) <= f(&lat["p50"]) && f(&lat["p50"]) <= f(&lat["p99"]));
    assert!(f(&lat["p99"]) <= f(&lat["max"]) && f(&lat["min"]) > 0.0);

    // The total is the sum of the breakdown, and the counters priced by the target.
    let e = &r["energy"];
    let parts: Vec<f64> = e["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| f(&p["pj"]))
        .collect();
    assert_eq!(parts.len(), 6);
    let total = f(&e["total_pj"]);
    assert!(total > 0.0);
    assert_close(total, parts.iter().sum(), "total vs breakdown");
    let loihi = target("loihi");
    let p = &loihi.energy_pj;
    let c = &r["counters"];
    let static_pj = p.static_mw * f(&lat["mean"]) / loihi.timing_cycles.clock_mhz * 1000.0;
    let priced = f(&c["synaptic_ops"]) * p.synop
        + f(&c["neuron_updates"]) * p.neuron_update
        + f(&c["packets"]) * p.spike_inject
        + f(&c["hops"]) * p.hop
        + f(&c["host_packets"]) * p.host_inject
        + static_pj;
    assert_close(total, priced, "total vs counters x energy_pj");
    assert_close(parts[0], f(&c["synaptic_ops"]) * p.synop, "synops");
    let mean_energy: f64 = r["per_inference"]["energy_pj"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .sum::<f64>()
        / 30.0;
    assert_close(total, mean_energy, "total vs per-inference mean");
    // The ANN comparison: 784 x 800 + 800 x 10 MACs at 4.6 pJ.
    assert_eq!(r["ann"]["macs"], 784 * 800 + 800 * 10);
    assert_close(f(&r["ann"]["ann_pj"]), 635_200.0 * 4.6, "ann");
    assert_close(
        f(&r["ann"]["ann_over_chip"]),
        635_200.0 * 4.6 / total,
        "ratio",
    );

    for (file, title) in [
        ("mlp.energy.svg", "energy per inference"),
        ("mlp.latency.svg", "latency of 30 inferences"),
        ("mlp.raster.svg", "spikes of test image 0"),
    ] {
        let svg = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains(title), "{file}");
    }
    let events: Vec<Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "phase_start");
    assert!(events.iter().any(|e| e["event"] == "spike"));
}

#[test]
fn one_and_two_threads_give_the_same_report_with_early_exit() {
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "mlp.bin", loihi_config());
    let mut reports = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(threads);
        let (ok, stdout, stderr) = ttfs(&[
            "--threads",
            threads,
            "run",
            bin.to_str().unwrap(),
            "--target",
            "loihi",
            "--limit",
            "20",
            "--early-exit",
            "--golden",
            MODEL,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{stderr}");
        assert!(stdout.contains("at early exit"), "{stdout}");
        let mut r = read_json(&out.join("mlp.run.json"));
        assert_eq!(r["timing"]["threads"], threads.parse::<u64>().unwrap());
        assert_eq!(r["golden"]["decisions_equal"], 20);
        r.as_object_mut().unwrap().remove("timing");
        reports.push(r);
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0]["early_exit"], true);
}

/// The golden model is the network's: the same tensors and description trained for another
/// wall time (as a resumed run is) check against the configuration compiled from the first.
#[test]
fn the_golden_model_is_the_same_network_whatever_its_training_log_says() {
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "mlp.bin", loihi_config());
    let mut retrained = mlp();
    retrained.description.training.wall_seconds = Some(99_999.0);
    retrained.description.training.epochs += 1;
    let model = dir.path().join("retrained.safetensors");
    ttfs_compiler::model::write(&model, &retrained).unwrap();
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = ttfs(&[
        "run",
        bin.to_str().unwrap(),
        "--limit",
        "5",
        "--golden",
        model.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("spike times equal on 5 of 5"), "{stdout}");
    // Another network (one weight changed) is still refused.
    let weight = retrained.tensors.get_mut("layers.1.weight").unwrap();
    weight.data[0] += 0.5;
    ttfs_compiler::model::write(&model, &retrained).unwrap();
    let (ok, _, stderr) = ttfs(&[
        "run",
        bin.to_str().unwrap(),
        "--limit",
        "5",
        "--golden",
        model.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("digest"), "{stderr}");
}

#[test]
fn early_exit_is_on_off_or_auto_and_auto_follows_the_configuration_tie_break() {
    let dir = tempfile::tempdir().unwrap();
    let at_decision = write_config(dir.path(), "decision.bin", loihi_config());
    let mut at_end = loihi_config().clone();
    at_end.decoding.tie_break = TieBreak::PotentialAtEnd;
    let at_end = write_config(dir.path(), "end.bin", &at_end);
    for (config, flag, early) in [
        (&at_decision, "--early-exit=auto", true),
        (&at_end, "--early-exit=auto", false),
        (&at_decision, "--early-exit", true),
        (&at_decision, "--early-exit=on", true),
        (&at_end, "--early-exit=anyway", true),
        (&at_decision, "--early-exit=off", false),
    ] {
        let out = dir.path().join(format!("{flag}-{}", early));
        let (ok, stdout, stderr) = ttfs(&[
            "run",
            config.to_str().unwrap(),
            "--target",
            "loihi",
            "--limit",
            "3",
            flag,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{flag}: {stderr}");
        assert_eq!(stdout.contains(", early exit"), early, "{flag}: {stdout}");
        let stem = config.file_stem().unwrap().to_str().unwrap();
        let report = read_json(&out.join(format!("{stem}.run.json")));
        assert_eq!(report["early_exit"], early, "{flag}");
    }
    let (ok, _, stderr) = ttfs(&["run", at_end.to_str().unwrap(), "--early-exit=maybe"]);
    assert!(!ok);
    assert!(
        stderr.contains("invalid value 'maybe'")
            && stderr.contains("[possible values: auto, on, off, anyway]"),
        "{stderr}"
    );
    // Early exit where it changes decisions (ties broken after the last step) is refused, in
    // one line that says why and what to pass instead.
    for flag in ["--early-exit", "--early-exit=on"] {
        let (ok, stdout, stderr) = ttfs(&["run", at_end.to_str().unwrap(), flag, "--limit", "3"]);
        assert!(!ok, "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("end.bin: --early-exit: early exit would change decisions")
                && stderr.contains("`anyway` stops early"),
            "{stderr}"
        );
    }
}

#[test]
fn a_neuron_that_fires_twice_fails_the_run_unless_allowed_and_differs_from_golden() {
    // Output neurons hold their potential after a spike; with no refractory period they fire
    // again at every step.
    let mut config = loihi_config().clone();
    let last = (config.layers.len() - 1) as u32;
    for core in config.cores.iter_mut().filter(|c| c.layer == last) {
        core.params.refractory = Refractory::Steps(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "twice.bin", &config);
    let bin = bin.to_str().unwrap();
    let args = ["run", bin, "--target", "loihi", "--limit", "5"];

    let (ok, stdout, stderr) = ttfs(&args);
    assert!(!ok);
    assert!(stdout.contains("SINGLE-SPIKE VIOLATED"), "{stdout}");
    assert!(stdout.contains("layer 2 (linear 800->10)"), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("single-spike violations: 5 of 5 inferences"),
        "{stderr}"
    );
    let r = read_json(&dir.path().join("twice.run.json"));
    assert_eq!(r["single_spike"]["verified"], false);

    let (ok, _, stderr) = ttfs(&[&args[..], &["--allow-violations"]].concat());
    assert!(ok, "{stderr}");

    let (ok, stdout, stderr) =
        ttfs(&[&args[..], &["--allow-violations", "--golden", MODEL]].concat());
    assert!(!ok);
    assert!(
        stdout.contains("first spike difference: image 0"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the emulator differs from the golden model"),
        "{stderr}"
    );
}

#[test]
fn wrong_target_missing_config_and_wrong_data_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "mlp.bin", loihi_config());
    let bin = bin.to_str().unwrap();

    let (ok, _, stderr) = ttfs(&["run", bin, "--target", "tiny"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("\"loihi\"") && stderr.contains("\"tiny\""),
        "{stderr}"
    );

    let missing = dir.path().join("missing.bin");
    let (ok, _, stderr) = ttfs(&["run", missing.to_str().unwrap(), "--target", "loihi"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("missing.bin"), "{stderr}");

    // Not a configuration.
    let (ok, _, stderr) = ttfs(&["run", "fixtures/targets/loihi.json", "--target", "loihi"]);
    assert!(!ok);
    assert!(stderr.contains("not a ttfs chip configuration"), "{stderr}");

    // Images of another size.
    let data = dir.path().join("small");
    std::fs::create_dir(&data).unwrap();
    crate::common::write_test_split(&data, 10, 10, &[vec![0; 100], vec![0; 100]], &[0, 0]);
    let (ok, _, stderr) = ttfs(&[
        "run",
        bin,
        "--target",
        "loihi",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "the test images are 10 x 10 pixels, but the configuration's input is [1, 28, 28]"
        ),
        "{stderr}"
    );

    // As many pixels as the input, in another shape (14 x 56): refused too.
    let wide = dir.path().join("wide");
    std::fs::create_dir(&wide).unwrap();
    let (images, labels) = crate::common::mnist_test(3);
    crate::common::write_test_split(&wide, 14, 56, &images, &labels);
    let (ok, _, stderr) = ttfs(&[
        "run",
        bin,
        "--target",
        "loihi",
        "--data",
        wide.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("the test images are 14 x 56 pixels"),
        "{stderr}"
    );
}

#[test]
fn the_golden_model_of_another_model_is_refused_by_its_digest() {
    // The sparse MLP has the shipped MLP's shape (784-800-10), so only the digest the
    // configuration records tells them apart (it once ran and reported "the emulator differs
    // from the golden model").
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "mlp.bin", loihi_config());
    let (ok, _, stderr) = ttfs(&[
        "run",
        bin.to_str().unwrap(),
        "--target",
        "loihi",
        "--limit",
        "2",
        "--golden",
        "fixtures/models/mnist-mlp-sparse.safetensors",
    ]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "fixtures/models/mnist-mlp-sparse.safetensors: this model (digest a420c467723af808) is \
             not the one the configuration was compiled from (digest 8d8daa6726b535cf)"
        ),
        "{stderr}"
    );
    assert_eq!(
        loihi_config().model_digest,
        crate::common::mlp().digest(),
        "compile records the model's digest"
    );
}

#[test]
fn without_target_the_shipped_target_the_configuration_names_is_used_when_its_hash_matches() {
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "mlp.bin", loihi_config());
    let (ok, stdout, stderr) = ttfs(&["run", bin.to_str().unwrap(), "--limit", "3"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(
            "on target \"loihi\" (fixtures/targets/loihi.json, the shipped target the \
             configuration names, with its hash)"
        ),
        "{stdout}"
    );

    // Compiled for another description named "loihi": the shipped one is not used.
    let mut other = loihi_config().clone();
    other.target_hash ^= 1;
    let bin = write_config(dir.path(), "other.bin", &other);
    let (ok, _, stderr) = ttfs(&["run", bin.to_str().unwrap(), "--limit", "3"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no --target given, and the shipped target \"loihi\"")
            && stderr.contains("pass the description it was compiled for with --target FILE"),
        "{stderr}"
    );

    // Compiled for a target that is not shipped.
    let mut unknown = loihi_config().clone();
    unknown.target_name = "loihi-2".into();
    let bin = write_config(dir.path(), "unknown.bin", &unknown);
    let (ok, _, stderr) = ttfs(&["run", bin.to_str().unwrap(), "--limit", "3"]);
    assert!(!ok);
    assert!(
        stderr.contains("the configuration's target \"loihi-2\" is not a shipped one"),
        "{stderr}"
    );
}

/// `ttfs ... | head -1`: the reader goes away after one line, and the program ends quietly (by
/// the pipe's signal, as `cat` does), never with a panic about a broken pipe.
#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let bin = write_config(dir.path(), "mlp.bin", loihi_config());
    let out = dir.path().join("out");
    let compiled = out.join("c.bin");
    for args in [
        vec![
            "compile",
            "fixtures/models/mnist-mlp.safetensors",
            "--target",
            "loihi",
            "-o",
            compiled.to_str().unwrap(),
            "--limit",
            "200",
        ],
        vec![
            "run",
            bin.to_str().unwrap(),
            "--limit",
            "200",
            "-o",
            out.to_str().unwrap(),
        ],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ttfs"))
            .args(&args)
            .current_dir(crate::common::repo(""))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(!line.is_empty(), "{args:?}");
        // The reader is gone (dropped above); the program goes on to its next line.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                output.status.signal(),
                Some(libc::SIGPIPE),
                "{args:?}: {stderr}"
            );
        }
    }
}
