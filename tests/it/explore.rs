//! `ttfs explore`: the README's design space, recomputed. The picture equals the one the
//! README shows, the Pareto marks follow from the points, a refused point names the limit, and
//! each point is reproduced by the plain `ttfs compile` / `ttfs run` commands it lists.

use crate::common::{repo, ttfs};

#[test]
fn explore_points_are_reproduced_by_their_own_commands_and_the_picture_is_the_readmes() {
    // A temporary folder of the test's own (absolute, so every path the points print holds).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let (ok, stdout, stderr) = ttfs(&[
        "explore",
        "fixtures/models/mnist-mlp.safetensors",
        "fixtures/models/mnist-mlp-pruned.safetensors",
        "--targets",
        "loihi,speck",
        "--run-dir",
        dir,
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let svg = std::fs::read_to_string(repo(&format!("{dir}/explore.svg"))).unwrap();
    let shown = std::fs::read_to_string(repo("fixtures/golden/explore.svg")).unwrap();
    assert!(
        svg == shown,
        "explore.svg differs from the README's fixtures/golden/explore.svg: re-bless it with \
         cp {dir}/explore.svg fixtures/golden/explore.svg"
    );

    let json = std::fs::read_to_string(repo(&format!("{dir}/explore.json"))).unwrap();
    let points: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        points.len(),
        8,
        "2 models x 2 targets x early exit on and off"
    );
    // The dense MLP has a bias, which the event-driven target refuses, naming it.
    for p in points.iter().filter(|p| {
        p["target"] == "speck"
            && p["model"]
                .as_str()
                .unwrap()
                .ends_with("mnist-mlp.safetensors")
    }) {
        let why = p["refused"].as_str().unwrap();
        assert!(
            why.contains("has a bias") && why.contains("\"speck\""),
            "{why}"
        );
        assert!(p["accuracy"].is_null() && p["dominated"] == false);
    }
    // Dominance, recomputed from the points' own figures.
    let fitting: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p["refused"].is_null())
        .map(|p| {
            (
                p["accuracy"].as_f64().unwrap(),
                p["energy_nj"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(fitting.len(), 6);
    for p in points.iter().filter(|p| p["refused"].is_null()) {
        let (a, e) = (
            p["accuracy"].as_f64().unwrap(),
            p["energy_nj"].as_f64().unwrap(),
        );
        let beaten = fitting
            .iter()
            .any(|&(b, f)| b >= a && f <= e && (b > a || f < e));
        assert_eq!(p["dominated"].as_bool().unwrap(), beaten, "{p}");
    }
    // Early exit runs fewer steps, and costs less, than the full run of the same point.
    for pair in points.chunks(2).filter(|c| c[0]["refused"].is_null()) {
        assert_eq!(
            (
                pair[0]["early_exit"].as_bool(),
                pair[1]["early_exit"].as_bool()
            ),
            (Some(true), Some(false))
        );
        assert!(pair[0]["energy_nj"].as_f64() < pair[1]["energy_nj"].as_f64());
        assert!(pair[0]["steps_run"].as_f64() < pair[1]["steps_run"].as_f64());
        assert_eq!(pair[0]["golden_equal"], "1000 of 1000");
    }

    // A point's own commands, run as a user would, give its figures.
    let point = points
        .iter()
        .find(|p| p["target"] == "speck" && p["early_exit"] == true && p["refused"].is_null())
        .unwrap();
    let commands: Vec<&str> = point["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(commands.len(), 2);
    let redo = format!("{dir}/redo");
    for command in &commands {
        let mut words: Vec<String> = command.split(' ').map(str::to_owned).collect();
        assert_eq!(words.remove(0), "ttfs");
        for w in &mut words {
            *w = w.replace(&format!("{dir}/"), &format!("{redo}/"));
        }
        std::fs::create_dir_all(repo(&redo)).unwrap();
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let (ok, stdout, stderr) = ttfs(&args);
        assert!(ok, "{command}\n{stdout}\n{stderr}");
    }
    let report_path =
        format!("{redo}/mnist-mlp-pruned.speck.early-exit/mnist-mlp-pruned.speck.run.json");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo(&report_path)).unwrap()).unwrap();
    assert_eq!(report["accuracy"], point["accuracy"]);
    assert_eq!(report["energy"]["total_nj"], point["energy_nj"]);
    assert_eq!(
        report["latency"]["microseconds"]["mean"],
        point["latency_us"]
    );
    assert_eq!(
        report["counters"]["neuron_updates"],
        point["neuron_updates"]
    );
}

/// An exploration spread over N machines (`ttfs explore --shard I/N`, one slice of the
/// (model, target) pairs each) and merged by `ttfs merge` writes byte for byte the
/// `explore.json` and `explore.svg` of one exploration, for N = 1, 2, 3 (3 leaves the slices
/// uneven) and shards given in any order; a missing shard, a shard of another exploration and
/// more shards than pairs are refused, each naming the problem.
#[test]
fn explore_shards_merged_are_the_exploration_of_one_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let space = |run_dir: &str, images: &str| -> Vec<String> {
        [
            "explore",
            "fixtures/models/mnist-mlp.safetensors",
            "fixtures/models/mnist-mlp-pruned.safetensors",
            "--targets",
            "loihi,speck",
            "--images",
            images,
            "--run-dir",
            run_dir,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let call = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ttfs(&args)
    };
    let whole = format!("{dir}/whole");
    let (ok, stdout, stderr) = call(&space(&whole, "200"));
    assert!(ok, "{stdout}\n{stderr}");
    let read = |path: String| std::fs::read(repo(&path)).unwrap();
    for count in 1..=3usize {
        let shards_dir = format!("{dir}/of-{count}");
        for index in (0..count).rev() {
            let mut args = space(&shards_dir, "200");
            args.extend(["--shard".to_string(), format!("{index}/{count}")]);
            let (ok, stdout, stderr) = call(&args);
            assert!(ok, "{stdout}\n{stderr}");
            assert!(
                !std::path::Path::new(&repo(&format!("{shards_dir}/explore.json"))).exists(),
                "a shard writes only its own file"
            );
            // A shard cannot know the front: its table says so rather than "yes".
            let rows: Vec<&str> = stdout
                .lines()
                .filter(|l| l.starts_with("mnist-mlp"))
                .collect();
            assert!(!rows.is_empty(), "{stdout}");
            assert!(
                rows.iter()
                    .all(|r| r.ends_with("(shard)") || r.contains("refused: ")),
                "{stdout}"
            );
        }
        let mut merge = vec!["merge".to_string()];
        merge.extend(
            (0..count)
                .rev()
                .map(|i| format!("{shards_dir}/explore.shard-{i}-of-{count}.json")),
        );
        merge.extend(["-o".to_string(), format!("{shards_dir}/merged")]);
        let (ok, stdout, stderr) = call(&merge);
        assert!(ok, "{stdout}\n{stderr}");
        // The points' commands name their own run folder; all else is the same bytes.
        let json = String::from_utf8(read(format!("{shards_dir}/merged/explore.json"))).unwrap();
        let whole_json = String::from_utf8(read(format!("{whole}/explore.json"))).unwrap();
        assert!(json.contains(&format!("{shards_dir}/")));
        assert!(
            json.replace(&format!("{shards_dir}/"), &format!("{whole}/")) == whole_json,
            "{count} shards: explore.json differs from one exploration's"
        );
        assert!(
            read(format!("{shards_dir}/merged/explore.svg"))
                == read(format!("{whole}/explore.svg")),
            "{count} shards: explore.svg differs from one exploration's"
        );
    }

    // A refused call: its one-line error.
    let refused = |args: &[String]| {
        let (ok, stdout, stderr) = call(args);
        assert!(!ok, "{stdout}");
        stderr
    };

    // Shard 1 of 3 missing.
    let of3 = format!("{dir}/of-3");
    let stderr = refused(&[
        "merge".to_string(),
        format!("{of3}/explore.shard-0-of-3.json"),
        format!("{of3}/explore.shard-2-of-3.json"),
    ]);
    assert!(
        stderr.contains("explore shards of 3: missing 1"),
        "{stderr}"
    );

    // A point's accuracy edited after the shard was written: its checksum no longer matches.
    let of2 = format!("{dir}/of-2");
    let path = repo(&format!("{of2}/explore.shard-0-of-2.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut shard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let accuracy = shard["points"][0]["accuracy"].as_f64().unwrap();
    shard["points"][0]["accuracy"] = (accuracy - 0.01).into();
    let edited = repo(&format!("{of2}/edited-shard-0-of-2.json"));
    std::fs::write(&edited, serde_json::to_string_pretty(&shard).unwrap()).unwrap();
    let stderr = refused(&[
        "merge".to_string(),
        edited.to_str().unwrap().to_string(),
        format!("{of2}/explore.shard-1-of-2.json"),
        "-o".to_string(),
        format!("{of2}/edited-merge"),
    ]);
    assert!(
        stderr.contains("edited-shard-0-of-2.json: its contents do not match its checksum"),
        "{stderr}"
    );

    // A shard of an exploration over other images.
    let other = format!("{dir}/other");
    let mut args = space(&other, "100");
    args.extend(["--shard".to_string(), "1/2".to_string()]);
    let (ok, stdout, stderr) = call(&args);
    assert!(ok, "{stdout}\n{stderr}");
    let stderr = refused(&[
        "merge".to_string(),
        format!("{dir}/of-2/explore.shard-0-of-2.json"),
        format!("{other}/explore.shard-1-of-2.json"),
    ]);
    assert!(
        stderr.contains("explore.shard-1-of-2.json: another exploration than"),
        "{stderr}"
    );

    // Five shards of four pairs.
    let mut args = space(&other, "100");
    args.extend(["--shard".to_string(), "4/5".to_string()]);
    let stderr = refused(&args);
    assert!(
        stderr.contains(
            "--shard 4/5: 4 (model, target) pairs leave this shard none; use at most 4 shards"
        ),
        "{stderr}"
    );
}

/// Every argument is checked before the first point: a misspelled target or a missing model
/// at the end of the list fails at once, and nothing is written.
#[test]
fn explore_checks_every_argument_before_the_first_point() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("explore");
    let run_dir = run_dir.to_str().unwrap();
    for (args, expected) in [
        (
            vec![
                "fixtures/models/mnist-mlp.safetensors",
                "--targets",
                "loihi,spek",
            ],
            "target 'spek' is neither a file nor a shipped target",
        ),
        (
            vec![
                "fixtures/models/mnist-mlp.safetensors",
                "fixtures/models/nowhere.safetensors",
                "--targets",
                "loihi",
            ],
            "fixtures/models/nowhere.safetensors: no such file",
        ),
    ] {
        let mut all = vec!["explore", "--images", "20", "--run-dir", run_dir];
        all.extend(args);
        let (ok, stdout, stderr) = ttfs(&all);
        assert!(!ok, "{stdout}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stdout.contains("#####"), "no point ran: {stdout}");
        assert!(!std::path::Path::new(run_dir).exists(), "nothing written");
    }
}
