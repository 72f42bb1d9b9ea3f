//! `ttfs run --shard I/N` and `ttfs merge`: N shards merged give exactly the report of one run,
//! field by field (the wall clock aside), for N = 1, 2 and 3; shards that do not make one run
//! are refused in one line.

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
