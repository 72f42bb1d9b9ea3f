//! `ttfs compile` and `ttfs inspect` as a user runs them.

use crate::common::ttfs;

#[test]
fn compile_writes_config_report_and_core_map_and_inspect_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("mlp.bin");
    let bin_arg = bin.to_str().unwrap();
    let (ok, stdout, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "loihi",
        "-o",
        bin_arg,
        "--limit",
        "40",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("float vs golden on 40 test images"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mapping onto loihi (8 x 16 mesh): 11 of 128 cores"),
        "{stdout}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("mlp.map.json")).unwrap())
            .unwrap();
    assert_eq!(report["mapping"]["cores_used"], 11);
    assert_eq!(report["evaluation"]["images"], 40);
    assert_eq!(report["quantization"][0]["neurons"], 800);
    let svg = std::fs::read_to_string(dir.path().join("mlp.cores.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("mesh column x"),
        "core map"
    );

    let (ok, stdout, stderr) = ttfs(&["inspect", bin_arg, "--target", "loihi"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("target        loihi"), "{stdout}");
    assert!(stdout.contains("layer 1 (linear 784->800)"), "{stdout}");
    assert!(stdout.contains("fits target \"loihi\""), "{stdout}");

    // The same configuration is refused for another target.
    let (ok, _, stderr) = ttfs(&["inspect", bin_arg, "--target", "tiny"]);
    assert!(!ok);
    assert!(stderr.contains("compiled for target \"loihi\""), "{stderr}");
}

#[test]
fn a_model_that_does_not_fit_fails_with_one_line_naming_layer_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("x.bin");
    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "truenorth",
        "-o",
        bin.to_str().unwrap(),
        "--limit",
        "0",
    ]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("layer 1 (linear 784->800)"), "{stderr}");
    assert!(stderr.contains("core.max_axons = 256"), "{stderr}");
    assert!(!bin.exists(), "nothing written");

    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "nosuch",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("shipped targets: akida, loihi, speck, tiny, truenorth, xylo"),
        "{stderr}"
    );
}

#[test]
fn compile_creates_the_output_folder_and_writes_its_outputs_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("new/folder/mlp.bin");
    let compile = |bin: &std::path::Path| {
        ttfs(&[
            "compile",
            "fixtures/models/mnist-mlp.safetensors",
            "--target",
            "loihi",
            "-o",
            bin.to_str().unwrap(),
            "--limit",
            "0",
        ])
    };
    let (ok, _, stderr) = compile(&bin);
    assert!(ok, "{stderr}");
    let outputs = [
        "mlp.bin",
        "mlp.map.json",
        "mlp.cores.svg",
        "mlp.weights.svg",
    ];
    let folder = bin.parent().unwrap();
    let before: Vec<Vec<u8>> = outputs
        .iter()
        .map(|f| std::fs::read(folder.join(f)).unwrap())
        .collect();
    // A folder where the weight histogram goes: the compile fails naming it, and none of the
    // other outputs is replaced (their timings would differ).
    std::fs::remove_file(folder.join("mlp.weights.svg")).unwrap();
    std::fs::create_dir(folder.join("mlp.weights.svg")).unwrap();
    let (ok, _, stderr) = compile(&bin);
    assert!(!ok);
    assert!(
        stderr.contains("mlp.weights.svg: cannot rename"),
        "{stderr}"
    );
    for (f, old) in outputs.iter().zip(&before).take(3) {
        assert_eq!(&std::fs::read(folder.join(f)).unwrap(), old, "{f}");
    }
    let mut left: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected = outputs.map(String::from).to_vec();
    expected.sort();
    assert_eq!(left, expected, "no temporary file left");
}

#[test]
fn a_target_whose_mesh_would_overflow_is_refused_naming_the_field_and_bound() {
    // 65,536 x 65,536 cores: cols * rows overflows a u32 (it once compiled as "12 of 0 cores"
    // and then crashed the emulator).
    let dir = tempfile::tempdir().unwrap();
    let mut target: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::repo("fixtures/targets/loihi.json")).unwrap(),
    )
    .unwrap();
    target["mesh"]["cols"] = 65_536.into();
    target["mesh"]["rows"] = 65_536.into();
    let path = dir.path().join("huge.json");
    std::fs::write(&path, serde_json::to_string(&target).unwrap()).unwrap();
    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        path.to_str().unwrap(),
        "-o",
        dir.path().join("x.bin").to_str().unwrap(),
        "--limit",
        "0",
    ]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("huge.json: mesh.cols is 65536, must be between 1 and 256"),
        "{stderr}"
    );
}

#[test]
fn images_of_another_shape_with_the_same_pixel_count_are_refused() {
    // 14 x 56 = 784 pixels, as many as a 28 x 28 image: once accepted as if they were MNIST.
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = crate::common::mnist_test(5);
    crate::common::write_test_split(dir.path(), 14, 56, &images, &labels);
    let (ok, _, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "loihi",
        "--data",
        dir.path().to_str().unwrap(),
        "-o",
        dir.path().join("x.bin").to_str().unwrap(),
        "--limit",
        "5",
    ]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "the images are 1 x 14 x 56 (channels x rows x columns) but the model's input is 1 \
             x 28 x 28"
        ),
        "{stderr}"
    );
    assert!(!dir.path().join("x.bin").exists());
}

#[test]
fn a_model_that_does_not_fit_is_refused_before_calibration() {
    // The CNN with its pools folded into the synapses: 12,348 inputs against 4,096 axons.
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = ttfs(&[
        "compile",
        "fixtures/models/mnist-cnn.safetensors",
        "--target",
        "loihi",
        "-o",
        dir.path().join("cnn.bin").to_str().unwrap(),
        "--limit",
        "1000",
        "--pool-lowering",
        "synapses",
    ]);
    assert!(!ok);
    assert!(stdout.contains("quantization to 8-bit weights"), "{stdout}");
    // Refused by the partition, before the calibration's 1000 images (9 s for the CNN).
    assert!(!stdout.contains("float vs golden"), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "layer 5 (linear 3136->256, avg_pool2d 2 folded in): its widest neuron has 12348 inputs"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("one input per neuron before the pool"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "the pool as shared axons (`--pool-lowering axons`, the default) one per pooling window"
        ),
        "{stderr}"
    );
}

/// The shipped MLP's file with its digest field blanked out (spaces inside the description's
/// JSON, so every offset of the file stays where it was): a model as written before digests.
fn without_digest(dir: &std::path::Path) -> std::path::PathBuf {
    let bytes =
        std::fs::read(crate::common::repo("fixtures/models/mnist-mlp.safetensors")).unwrap();
    let key = br#",\"digest\":\"fnv1a64:"#;
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the shipped model has a digest");
    // The key, 16 hex digits and the closing escaped quote.
    let len = key.len() + 16 + 2;
    let mut stripped = bytes.clone();
    stripped[at..at + len].fill(b' ');
    let path = dir.join("old.safetensors");
    std::fs::write(&path, stripped).unwrap();
    path
}

#[test]
fn a_model_without_a_digest_is_named_and_refused_with_strict() {
    let dir = tempfile::tempdir().unwrap();
    let old = without_digest(dir.path());
    let out = dir.path().join("old.bin");
    let args = |strict: bool| {
        let mut args = vec![
            "compile",
            old.to_str().unwrap(),
            "--target",
            "loihi",
            "-o",
            out.to_str().unwrap(),
            "--limit",
            "0",
        ];
        if strict {
            args.push("--strict");
        }
        args
    };
    let (ok, _, stderr) = ttfs(&args(false));
    assert!(ok, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "warning: {}: the file carries no digest, so an edit to it cannot be detected (a \
             model written before digests existed); --strict refuses such a file",
            old.display()
        )
    );
    std::fs::remove_file(&out).unwrap();
    let (ok, _, stderr) = ttfs(&args(true));
    assert!(!ok);
    assert!(
        stderr.contains("carries no digest") && stderr.contains("--strict refuses it"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
    // With its digest, no word.
    let (ok, _, stderr) = ttfs(&[
        "--strict",
        "compile",
        "fixtures/models/mnist-mlp.safetensors",
        "--target",
        "loihi",
        "-o",
        out.to_str().unwrap(),
        "--limit",
        "0",
    ]);
    assert!(ok && stderr.is_empty(), "{stderr}");
}

/// The Loihi-like target with 8-bit current, potential and threshold registers: the shipped
/// MLP's thresholds no longer fit, and its golden model loses about a quarter of its accuracy.
fn narrow_target(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(crate::common::repo("fixtures/targets/loihi.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for field in ["threshold_bits", "potential_bits", "current_bits"] {
        v["core"][field] = 8.into();
    }
    v["name"] = "narrow".into();
    let path = dir.join("narrow.json");
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

#[test]
fn a_compile_that_loses_accuracy_says_so_and_fails_beyond_max_loss() {
    let dir = tempfile::tempdir().unwrap();
    let target = narrow_target(dir.path());
    let compile = |out: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "compile",
            "fixtures/models/mnist-mlp.safetensors",
            "--target",
            target.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--limit",
            "100",
        ];
        args.extend(extra);
        ttfs(&args)
    };
    let (ok, _, stderr) = compile(&dir.path().join("n.bin"), &[]);
    assert!(ok, "{stderr}");
    let warning: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warning.len(), 1, "{stderr}");
    assert!(
        warning[0].contains("on target \"narrow\": the integer (golden) model decides")
            && warning[0].contains("points lost (more than 1)"),
        "{stderr}"
    );
    // A loss under the threshold says nothing.
    let (ok, _, stderr) = compile(&dir.path().join("quiet.bin"), &["--warn-loss", "100"]);
    assert!(ok && !stderr.contains("warning"), "{stderr}");
    // Beyond --max-loss: an error, and nothing written.
    let out = dir.path().join("refused.bin");
    let (ok, _, stderr) = compile(&out, &["--max-loss", "5"]);
    assert!(!ok);
    assert!(
        stderr.contains("points lost, more than --max-loss 5"),
        "{stderr}"
    );
    assert!(!out.exists() && !out.with_extension("map.json").exists());
    let (ok, _, stderr) = compile(&out, &["--max-loss", "nan"]);
    assert!(
        !ok && stderr.contains("is not a number of points from 0 to 100"),
        "{stderr}"
    );
}

#[test]
fn a_model_trained_for_other_widths_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.bin");
    let compile = |target: &str| {
        ttfs(&[
            "compile",
            "fixtures/models/mnist-mlp-4bit.safetensors",
            "--target",
            target,
            "-o",
            out.to_str().unwrap(),
            "--limit",
            "0",
        ])
    };
    let (ok, _, stderr) = compile("loihi");
    assert!(ok, "{stderr}");
    assert_eq!(
        stderr.trim(),
        "warning: fixtures/models/mnist-mlp-4bit.safetensors was trained for other integer \
         widths than target \"loihi\" has (8-bit weights where the model was trained with 4, \
         24-bit thresholds where the model was trained with 16, one threshold per layer where \
         the model was trained with one per neuron): its integers will not be the ones it was \
         trained with; train it for this target with --quantize-for loihi"
    );
    let (ok, _, stderr) = compile("akida");
    assert!(ok && stderr.is_empty(), "{stderr}");
}

/// A path that does not exist is said to not exist, in one line, whatever it was meant to be.
#[test]
fn missing_paths_are_named_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nowhere");
    let nowhere = nowhere.to_str().unwrap();
    let out = dir.path().join("x.bin");
    let out = out.to_str().unwrap();
    let model = format!("{nowhere}.safetensors");
    for (args, expected) in [
        (
            vec!["compile", model.as_str(), "--target", "loihi", "-o", out],
            format!(
                "error: {model}: no such file (expected a model file written by `ttfs train`, or a NIR file)"
            ),
        ),
        (
            vec![
                "compile",
                "fixtures/models/mnist-mlp.safetensors",
                "--target",
                "loihi",
                "-o",
                out,
                "--data",
                nowhere,
            ],
            format!(
                "error: {nowhere}: no such folder; pass --data DIR with the folder that holds the \
                 IDX files"
            ),
        ),
        (
            vec![
                "compile",
                "fixtures/models/mnist-mlp.safetensors",
                "--target",
                "loihi",
                "-o",
                out,
                "--data",
                "README.md",
            ],
            "error: README.md: a file, not a folder; pass --data DIR with the folder that holds \
             the IDX files"
                .to_string(),
        ),
    ] {
        let (ok, _, stderr) = ttfs(&args);
        assert!(!ok, "{args:?}");
        assert_eq!(stderr.trim(), expected, "{args:?}");
    }
}

/// The four outputs of a compile to `bin`, as bytes (the JSON report without its wall-clock
/// pass times).
fn compile_outputs(bin: &std::path::Path) -> Vec<Vec<u8>> {
    ["bin", "map.json", "cores.svg", "weights.svg"]
        .iter()
        .map(|ext| {
            let bytes = std::fs::read(bin.with_extension(ext)).unwrap();
            if *ext == "map.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                v.as_object_mut().unwrap().remove("pass_seconds");
                v.to_string().into_bytes()
            } else {
                bytes
            }
        })
        .collect()
}

/// The leftovers of writes in `dir`: temporary files and journals.
fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".journal"))
        .collect()
}

/// A compile killed (abort, as `kill -9`) at each step of writing its four outputs: before any
/// rename, its outputs are all the old ones; between its renames, the journal it left makes
/// the next reader complete the group, so they are all the new ones; and the next write
/// leaves no temporary file or journal behind.
#[test]
fn a_compile_killed_at_any_step_of_its_writes_leaves_all_old_or_all_new_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("chip.bin");
    let compile = |model: &str, abort_at: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ttfs"));
        cmd.args([
            "compile",
            model,
            "--target",
            "loihi",
            "-o",
            bin.to_str().unwrap(),
            "--limit",
            "0",
        ])
        .current_dir(crate::common::repo(""));
        if let Some(at) = abort_at {
            cmd.env("TTFS_FAULT_ABORT_AT", at);
        }
        cmd.output().unwrap()
    };
    let (old_model, new_model) = (
        "fixtures/models/mnist-mlp-pruned.safetensors",
        "fixtures/models/mnist-mlp.safetensors",
    );
    assert!(compile(new_model, None).status.success());
    let new = compile_outputs(&bin);
    assert!(compile(old_model, None).status.success());
    let old = compile_outputs(&bin);
    assert_ne!(old[0], new[0]);
    for point in ["journal", "rename:0", "rename:1", "rename:2", "rename:3"] {
        assert!(compile(old_model, None).status.success());
        let killed = compile(new_model, Some(point));
        assert!(
            !killed.status.success(),
            "{point}: the fault point was not reached"
        );
        if point == "journal" {
            assert_eq!(compile_outputs(&bin), old, "{point}: all old");
            assert!(
                !leftovers(dir.path()).is_empty(),
                "{point}: the killed write's temporaries"
            );
        } else {
            assert!(
                leftovers(dir.path())
                    .iter()
                    .any(|n| n.ends_with(".journal")),
                "{point}: a journal names the interrupted group"
            );
            // The next reader of the configuration completes the group.
            let (ok, _, stderr) = ttfs(&["inspect", bin.to_str().unwrap()]);
            assert!(ok, "{stderr}");
            assert_eq!(compile_outputs(&bin), new, "{point}: all new");
        }
        // The next write leaves nothing behind.
        assert!(compile(old_model, None).status.success());
        assert_eq!(leftovers(dir.path()), Vec::<String>::new(), "{point}");
        assert_eq!(compile_outputs(&bin), old, "{point}");
    }
}
