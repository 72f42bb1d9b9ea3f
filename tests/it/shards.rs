//! `ttfs run --shard I/N` and `ttfs merge`: N shards merged give exactly the report of one run,
//! field by field (the wall clock aside), for N = 1, 2 and 3; shards that do not make one run
//! are refused in one line.

use ttfs_runtime::report::shard::Shard;

use crate::common::ttfs;

/// The report at `path` without its wall-clock part.
fn report_without_timing(path: &std::path::Path) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let serde_json::Value::Object(mut map) = serde_json::from_str(&text).unwrap() else {
        panic!("{} is not a JSON object", path.display());
    };
    assert!(map.remove("timing").is_some());
    map
}

#[test]
fn merged_shards_equal_one_run_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let config = d("mlp.bin");
    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "loihi",
        "-o",
        &config,
        "--limit",
        "0",
    ]);
    assert!(ok, "{stderr}");
    for early in [false, true] {
        let mut common = vec![
            "run",
            config.as_str(),
            "--limit",
            "50",
            "--golden",
            "fixtures/models/mnist-mlp.safetensors",
        ];
        if early {
            common.push("--early-exit");
        }
        let one = d(&format!("one-{early}"));
        let (ok, _, stderr) = ttfs(&[common.as_slice(), &["-o", &one]].concat());
        assert!(ok, "{stderr}");
        let single = report_without_timing(&std::path::Path::new(&one).join("mlp.run.json"));
        for n in 1..=3usize {
            let mut shards = Vec::new();
            for i in 0..n {
                let out = d(&format!("s-{early}-{n}-{i}"));
                let shard = format!("{i}/{n}");
                let (ok, stdout, stderr) =
                    ttfs(&[common.as_slice(), &["--shard", &shard, "-o", &out]].concat());
                assert!(ok, "{stdout}{stderr}");
                shards.push(format!("{out}/mlp.shard-{i}-of-{n}.json"));
            }
            // In reverse order: merge sorts them.
            shards.reverse();
            let merged = d(&format!("merged-{early}-{n}"));
            let mut args = vec!["merge"];
            args.extend(shards.iter().map(String::as_str));
            args.extend(["-o", merged.as_str()]);
            let (ok, stdout, stderr) = ttfs(&args);
            assert!(ok, "{stdout}{stderr}");
            let got = report_without_timing(&std::path::Path::new(&merged).join("mlp.run.json"));
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                single.keys().collect::<Vec<_>>()
            );
            for (key, value) in &single {
                assert_eq!(&got[key], value, "{key}, {n} shards, early exit {early}");
            }
            assert!(
                std::path::Path::new(&merged)
                    .join("mlp.energy.svg")
                    .exists()
            );
        }
    }

    // Two of three shards, or a shard of another configuration, are refused in one line.
    let two = [
        d("s-false-3-0/mlp.shard-0-of-3.json"),
        d("s-false-3-1/mlp.shard-1-of-3.json"),
    ];
    let (ok, _, stderr) = ttfs(&["merge", &two[0], &two[1], "-o", &d("bad")]);
    assert!(!ok);
    assert_eq!(
        stderr.trim(),
        "error: the shards do not make one run: shards of 3: missing 2"
    );
    let other = d("other.bin");
    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp-pruned.safetensors",
        "--target",
        "loihi",
        "-o",
        &other,
        "--limit",
        "0",
    ]);
    assert!(ok, "{stderr}");
    let shard = d("s-false-1-0/mlp.shard-0-of-1.json");
    let (ok, _, stderr) = ttfs(&["merge", &shard, "--config", &other, "-o", &d("bad")]);
    assert!(!ok);
    assert!(
        stderr.contains("other.bin: not the configuration the shards ran"),
        "{stderr}"
    );
    let (ok, _, stderr) = ttfs(&["run", &config, "--shard", "3/3"]);
    assert!(!ok);
    assert!(
        stderr.contains("'3/3': shards are numbered 0 to 2"),
        "{stderr}"
    );
}

/// Writes `shard` as JSON at `path`, sealed again when `reseal` (a consistent edit, as a
/// forger or a buggy tool would write it) or as it is (an edit after the run).
fn write_shard(path: &str, shard: &Shard, reseal: bool) {
    let shard = if reseal {
        shard.clone().sealed()
    } else {
        shard.clone()
    };
    std::fs::write(path, serde_json::to_string(&shard).unwrap()).unwrap();
}

#[test]
fn edited_or_foreign_shards_are_refused_naming_the_image_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let config = d("mlp.bin");
    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "loihi",
        "-o",
        &config,
        "--limit",
        "0",
    ]);
    assert!(ok, "{stderr}");
    for (i, golden) in [(0, true), (1, false)] {
        let mut args = vec!["run", config.as_str(), "--limit", "6", "--shard"];
        let shard = format!("{i}/2");
        args.push(&shard);
        args.extend(["-o", dir.path().to_str().unwrap()]);
        if golden {
            args.extend(["--golden", "fixtures/models/mnist-mlp.safetensors"]);
        }
        let (ok, stdout, stderr) = ttfs(&args);
        assert!(ok, "{stdout}{stderr}");
    }
    let first = d("mlp.shard-0-of-2.json");
    let second = d("mlp.shard-1-of-2.json");
    let read = |path: &str| -> Shard {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (shard0, shard1) = (read(&first), read(&second));
    let merge = |zero: &Shard, one: &Shard, reseal: bool| {
        let (a, b) = (d("edited-0.json"), d("edited-1.json"));
        write_shard(&a, zero, reseal);
        write_shard(&b, one, reseal);
        let (ok, stdout, stderr) = ttfs(&["merge", &a, &b, "-o", &d("merged")]);
        assert!(!ok, "{stdout}");
        stderr
    };
    // Both shards ran the same configuration, but only the first against the golden model:
    // 3 of the 6 records carry no comparison ("spike times equal on 3 of 3" in a 6-image run).
    let mut golden1 = shard1.clone();
    golden1.golden_model = shard0.golden_model.clone();
    assert!(
        merge(&shard0, &golden1, true)
            .contains("image 3: no golden comparison, but the run compared with"),
        "mixed golden"
    );
    let mut plain0 = shard0.clone();
    plain0.golden_model = None;
    for r in &mut plain0.records {
        r.golden = None;
    }
    // An accuracy edited after the run: the checksum no longer matches.
    let mut edited = plain0.clone();
    edited.records[1].decision.class = (edited.records[1].decision.class + 1) % 10;
    let stderr = merge(&edited, &shard1, false);
    assert!(
        stderr.contains("edited-0.json: shard 0: its contents do not match its checksum"),
        "{stderr}"
    );
    // Edits sealed again: each record is held against the configuration and the target.
    type Edit = fn(&mut Shard);
    let cases: [(&str, Edit); 6] = [
        (
            "image 1: class 99, but the configuration has 10 classes",
            |s| s.records[1].decision.class = 99,
        ),
        (
            "image 2: label 200, but the configuration has 10 classes",
            |s| s.records[2].label = 200,
        ),
        ("image 0: 1000000000000 cycles, but its parts sum to", |s| {
            s.records[0].counters.cycles = 1_000_000_000_000
        }),
        ("image 0: energy", |s| {
            s.records[0].counters.synaptic_ops_per_layer[0] += 1;
            s.records[0].counters.synaptic_ops += 1;
        }),
        (
            "image 2: 1 synaptic ops per layer, but the configuration gives 2",
            |s| s.records[2].counters.synaptic_ops_per_layer.truncate(1),
        ),
        ("image 1: decided at step Some(9)", |s| {
            s.records[1].decision.step = Some(9)
        }),
    ];
    for (expected, edit) in cases {
        let mut s = plain0.clone();
        edit(&mut s);
        let stderr = merge(&s, &shard1, true);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(stderr.contains("the shards are not a run of"), "{stderr}");
    }
    // Both shards' firing counts of another network's shape.
    let (mut a, mut b) = (plain0.clone(), shard1.clone());
    a.firing[0].truncate(784);
    b.firing[0].truncate(784);
    let stderr = merge(&a, &b, true);
    assert!(
        stderr.contains(
            "firing counts: layers of [784, 10] neurons, but the configuration's are [800, 10]"
        ),
        "{stderr}"
    );
    // Untouched, they merge.
    let (a, b) = (d("ok-0.json"), d("ok-1.json"));
    write_shard(&a, &plain0, true);
    write_shard(&b, &shard1, false);
    let merged = d("merged-ok");
    let (ok, stdout, stderr) = ttfs(&["merge", &a, &b, "-o", &merged]);
    assert!(ok, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(&merged).join("mlp.run.json")).unwrap(),
    )
    .unwrap();
    // Two shards of one thread each (the tests' default): the run's threads are a machine's,
    // not the sum.
    assert_eq!(report["timing"]["threads"], shard1.timing.threads);
}
