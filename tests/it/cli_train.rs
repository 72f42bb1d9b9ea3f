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
