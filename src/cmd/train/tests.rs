//! The flags of `ttfs train` reach the trainer's configuration, and impossible ones are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use ttfs_trainer::{Encoding, Init, Surrogate, Weighting};

use super::*;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: TrainArgs,
}

fn config(args: &[&str]) -> anyhow::Result<TrainConfig> {
    let cli = Cli::try_parse_from(std::iter::once("train").chain(args.iter().copied()))?;
    config_from(&cli.args)
}

#[test]
fn max_pooling_rewrites_every_average_pool_of_the_architecture() {
    use ttfs_trainer::with_max_pool;
    assert_eq!(with_max_pool("cnn"), "c32k3-m2-c64k3-m2-f256-f10");
    assert_eq!(with_max_pool("784-800-10"), "784-800-10");
    let c = config(&["--arch", "cnn", "--pool", "max"]).unwrap();
    assert_eq!(c.arch, "c32k3-m2-c64k3-m2-f256-f10");
}

#[test]
fn flags_reach_the_configuration() {
    let c = config(&[
        "--init",
        "kaiming",
        "--decode",
        "linear",
        "--surrogate",
        "atan",
        "--crop-pad",
        "0",
        "--input",
        "direct",
        "-T",
        "16",
        "--lr",
        "0.002",
    ])
    .unwrap();
    assert_eq!(c.init, Init::Kaiming);
    assert_eq!(c.weighting, Weighting::Linear);
    assert_eq!(c.surrogate, Surrogate::Atan { alpha: 2.0 });
    assert_eq!(c.crop_pad, None);
    assert_eq!(c.encoding, Encoding::Direct);
    let t = config(&["--input", "thermometer"]).unwrap();
    assert_eq!(t.encoding, Encoding::Thermometer { levels: 4 });
    let t = config(&["--input", "thermometer", "--levels", "16"]).unwrap();
    assert_eq!(t.encoding, Encoding::Thermometer { levels: 16 });
    for (args, message) in [
        (
            &["--input", "thermometer", "--levels", "0"][..],
            "--levels takes 1 to 255 quantization levels, got 0",
        ),
        (
            &["--input", "thermometer", "--levels", "256"][..],
            "--levels takes 1 to 255 quantization levels, got 256",
        ),
        (
            &["--levels", "8"][..],
            "--levels applies to thermometer input only (--input thermometer; the default for fashion-mnist)",
        ),
    ] {
        let err = config(args).unwrap_err().to_string();
        assert_eq!(err, message, "{args:?}");
    }
    assert_eq!((c.steps, c.optimizer.lr), (16, 0.002));
    // Defaults: the measured recipe (trainer/RECIPES.md row D).
    let d = config(&[]).unwrap();
    assert_eq!((d.optimizer.lr, d.crop_pad, d.epochs), (1e-2, Some(1), 20));
    assert_eq!(
        (d.encoding, d.mask_grad, d.surrogate),
        (Encoding::Latency, true, Surrogate::Sigmoid { alpha: 4.0 })
    );
    // Fashion-MNIST: the thermometer recipe (RECIPES.md, Fashion-MNIST), each part of it
    // overridable.
    let f = config(&["--dataset", "fashion-mnist", "--data", "somewhere"]).unwrap();
    assert_eq!(
        (f.encoding, f.mask_grad, f.surrogate, f.crop_pad),
        (
            Encoding::Thermometer { levels: 4 },
            false,
            Surrogate::Sigmoid { alpha: 1.0 },
            Some(2)
        )
    );
    let f = config(&[
        "--dataset",
        "fashion-mnist",
        "--data",
        "somewhere",
        "--levels",
        "8",
        "--alpha",
        "4",
        "--mask-grad",
        "on",
    ])
    .unwrap();
    assert_eq!(
        (f.encoding, f.mask_grad, f.surrogate),
        (
            Encoding::Thermometer { levels: 8 },
            true,
            Surrogate::Sigmoid { alpha: 4.0 }
        )
    );
    let f = config(&[
        "--dataset",
        "fashion-mnist",
        "--data",
        "x",
        "--input",
        "latency",
    ])
    .unwrap();
    assert_eq!(f.encoding, Encoding::Latency);
}

#[test]
fn impossible_combinations_are_refused_with_a_hint() {
    let err = config(&["--init", "kaiming", "--init-gain", "4"]).unwrap_err();
    assert!(
        err.to_string()
            .contains("--init-gain applies to --init ettfs"),
        "{err}"
    );
    let err = config(&["--dataset", "fashion-mnist"]).unwrap_err();
    assert!(err.to_string().contains("--data DIR is required"), "{err}");
    let err = config(&["--dataset", "cifar", "--data", "x"]).unwrap_err();
    assert!(err.to_string().contains("unknown dataset 'cifar'"), "{err}");
}
