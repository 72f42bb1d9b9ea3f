//! `ttfs train` from the command line: a resumed run holds its flags against the checkpoint.

use crate::common::ttfs;

/// A tiny run on the embedded MNIST: 128 training images, one epoch.
const TINY: [&str; 8] = [
    "--arch",
    "784-16-10",
    "--train-limit",
    "128",
    "--test-limit",
    "64",
    "--epochs",
    "1",
];

#[test]
fn a_resume_refuses_flags_that_contradict_the_checkpoint_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let model = model.to_str().unwrap();
    let mut args = vec!["--threads", "1", "train"];
    args.extend(TINY);
    args.extend(["--seed", "3", "-o", model]);
    let (ok, stdout, stderr) = ttfs(&args);
    assert!(ok, "{stdout}{stderr}");
    for (flags, expected) in [
        (
            vec!["--seed", "4"],
            "--resume: --seed gives 4, but the checkpoint was trained with 3",
        ),
        (
            vec!["--train-limit", "256"],
            "--resume: --train-limit gives Some(256), but the checkpoint was trained with Some(128)",
        ),
        (
            vec!["--arch", "mlp"],
            "--resume: --arch (or --pool) gives \"mlp\", but the checkpoint was trained with \"784-16-10\"",
        ),
        (
            vec!["-T", "4"],
            "--resume: -T (--steps) gives 4, but the checkpoint was trained with 2",
        ),
        (
            vec!["--lr", "0.5"],
            "--resume: --lr gives 0.5, but the checkpoint was trained with 0.01",
        ),
        (
            vec!["--validation", "32"],
            "--resume: --validation gives 32, but the checkpoint was trained with 0",
        ),
    ] {
        let mut args = vec!["train", "--resume", "-o", model];
        args.extend(flags.iter().copied());
        let (ok, stdout, stderr) = ttfs(&args);
        assert!(!ok, "{flags:?}: {stdout}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
        assert!(stderr.contains("m.ckpt.safetensors"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // The same flags, and more epochs, continue it.
    let mut args = vec!["--threads", "1", "train", "--resume", "-o", model];
    args.extend(TINY[..6].iter().copied());
    args.extend(["--seed", "3", "--epochs", "2"]);
    let (ok, stdout, stderr) = ttfs(&args);
    assert!(ok, "{stdout}{stderr}");
    assert!(stderr.contains("resuming from epoch 2 of 2"), "{stderr}");
}

/// Every shipped MNIST model is a starting point, the pruned ones included (their pruned
/// layers are plain weights while their output layer keeps its weight norm); a flag that would
/// change a layer's form is refused with --from, naming it.
#[test]
fn the_shipped_models_can_be_fine_tuned_and_their_layer_forms_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    for (model, arch) in [
        ("mnist-mlp-pruned", "mlp"),
        ("mnist-mlp", "mlp"),
        ("mnist-cnn-pruned", "cnn"),
    ] {
        let out = dir.path().join(format!("{model}.safetensors"));
        let from = format!("fixtures/models/{model}.safetensors");
        let (ok, stdout, stderr) = ttfs(&[
            "--threads",
            "2",
            "train",
            "--from",
            &from,
            "--arch",
            arch,
            "--train-limit",
            "64",
            "--test-limit",
            "32",
            "--epochs",
            "1",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{model}: {stdout}{stderr}");
        let tuned = ttfs_compiler::model::read(&out).unwrap();
        let saved = ttfs_compiler::model::read(&crate::common::repo(&from)).unwrap();
        let forms = |m: &ttfs_compiler::model::Model| -> Vec<_> {
            m.description
                .layers
                .iter()
                .filter(|l| l.is_weighted())
                .map(|l| l.weight_norm().map(|w| w.gain))
                .collect()
        };
        assert_eq!(forms(&tuned), forms(&saved), "{model}");
    }
    let (ok, _, stderr) = ttfs(&[
        "train",
        "--from",
        "fixtures/models/mnist-mlp-pruned.safetensors",
        "--init-gain",
        "2",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--init-gain does not apply with --from: each layer keeps the weight norm"),
        "{stderr}"
    );
}

/// A fine-tune that trains a model with another T or tie break than it was trained with says
/// so in one line, and is quiet when the flags keep them.
#[test]
fn a_fine_tune_under_other_rules_than_the_model_was_trained_with_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let out = out.to_str().unwrap();
    let tune = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--from",
            "fixtures/models/mnist-mlp-sparse.safetensors",
        ];
        args.extend(TINY[2..].iter().copied());
        args.extend(["-o", out]);
        args.extend(extra);
        ttfs(&args)
    };
    let (ok, _, stderr) = tune(&[]);
    assert!(ok, "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: this run trains fixtures/models/mnist-mlp-sparse.safetensors with T = 2 \
          where the model was trained with T = 8, ties broken at the decision step where the \
          model was trained with them broken after the last step: give -T, --input or \
          --tie-break to keep what it was trained with"
        ]
    );
    let (ok, _, stderr) = tune(&["-T", "8", "--tie-break", "end"]);
    assert!(ok && !stderr.contains("warning"), "{stderr}");
}

/// With `--validation N` the last N training images are held out, each epoch is scored on
/// them, and the model of the first best-scoring epoch is written beside the model: its
/// recorded epoch count and test accuracy are that epoch's in the log.
#[test]
fn a_validation_split_scores_every_epoch_and_keeps_the_best_one() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let model = model.to_str().unwrap();
    let mut args = vec!["--threads", "1", "train"];
    args.extend(TINY[..6].iter().copied());
    args.extend([
        "--epochs",
        "4",
        "--validation",
        "48",
        "--lr",
        "0.05",
        "-o",
        model,
    ]);
    let (ok, stdout, stderr) = ttfs(&args);
    assert!(ok, "{stdout}{stderr}");
    let log = std::fs::read_to_string(dir.path().join("m.train.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    let scores: Vec<f64> = records
        .iter()
        .map(|r| r["validation_accuracy"].as_f64().expect("scored"))
        .collect();
    let best = (0..4).fold(0, |b, i| if scores[i] > scores[b] { i } else { b });
    let best_path = dir.path().join("m.best.safetensors");
    assert!(
        stdout.contains(&format!(
            "best       {} (epoch {}: {:.2}% on the validation split)",
            best_path.display(),
            best + 1,
            100.0 * scores[best]
        )),
        "{stdout}"
    );
    let kept = ttfs_compiler::model::read(&best_path).unwrap();
    assert_eq!(kept.description.training.epochs, best as u32 + 1);
    assert_eq!(
        kept.description.training.test_accuracy,
        records[best]["test_accuracy"].as_f64().map(|a| a as f32)
    );
    assert!(stderr.contains("validation "), "{stderr}");
    // Holding out every training image is refused, naming the flag.
    let mut args = vec!["--threads", "1", "train"];
    args.extend(TINY);
    args.extend(["--validation", "128", "-o", model]);
    let (ok, _, stderr) = ttfs(&args);
    assert!(!ok);
    assert!(
        stderr.contains(
            "--validation holds out 128 of the 128 training images and leaves none to train on"
        ),
        "{stderr}"
    );
}
