//! The training configuration: recipes, overrides and every rule, each refusal naming its flag.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn with(o: Overrides) -> Result<TrainConfig, ConfigError> {
    TrainConfig::with_overrides("mnist", PathBuf::from("d"), "mlp", &o)
}

#[test]
fn the_recipe_without_overrides_is_valid_and_unchanged() {
    let c = with(Overrides::default()).unwrap();
    assert_eq!(c, TrainConfig::recipe("mnist", PathBuf::from("d"), "mlp"));
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn no_init_flag_keeps_every_recipes_gain_the_mnist_cnns_16_included() {
    for (dataset, arch) in [("mnist", "cnn"), ("mnist", "mlp"), ("fashion-mnist", "cnn")] {
        let c =
            TrainConfig::with_overrides(dataset, PathBuf::from("d"), arch, &Overrides::default())
                .unwrap();
        assert_eq!(
            c,
            TrainConfig::recipe(dataset, PathBuf::from("d"), arch),
            "{dataset} {arch}"
        );
    }
    let cnn = TrainConfig::recipe("mnist", PathBuf::from("d"), "cnn");
    assert_eq!(cnn.init, Init::Ettfs { gain: Some(16.0) });
    let explicit = Overrides {
        init: Some(InitKind::Ettfs),
        ..Overrides::default()
    };
    let c = TrainConfig::with_overrides("mnist", PathBuf::from("d"), "cnn", &explicit).unwrap();
    assert_eq!(c.init, Init::Ettfs { gain: Some(16.0) });
    let gain = Overrides {
        init_gain: Some(3.0),
        ..Overrides::default()
    };
    let c = TrainConfig::with_overrides("mnist", PathBuf::from("d"), "cnn", &gain).unwrap();
    assert_eq!(c.init, Init::Ettfs { gain: Some(3.0) });
}

#[test]
fn quantization_aware_training_takes_2_to_16_bits_and_latency_input() {
    let spec = |bits| QuantizedFor {
        weight_bits: bits,
        threshold_bits: 16,
        per_neuron_threshold: true,
    };
    let rule = |dataset: &str, bits| {
        TrainConfig {
            quantize: Some(spec(bits)),
            ..TrainConfig::recipe(dataset, PathBuf::from("d"), "mlp")
        }
        .validate()
        .map_err(|e| e.to_string())
    };
    assert_eq!(rule("mnist", 4), Ok(()));
    assert_eq!(
        rule("mnist", 1),
        Err("--weight-bits takes 2 to 16 bits, got 1".into())
    );
    assert_eq!(
        rule("mnist", 17),
        Err("--weight-bits takes 2 to 16 bits, got 17".into())
    );
    let err = rule("fashion-mnist", 4).unwrap_err();
    assert!(err.contains("supports latency input only"), "{err}");
}

#[test]
fn prune_takes_one_fraction_or_one_per_layer_in_range() {
    assert_eq!(Prune::parse("0.5"), Ok(Prune::All(0.5)));
    assert_eq!(
        Prune::parse("0, 0.5,0.8"),
        Ok(Prune::PerLayer(vec![0.0, 0.5, 0.8]))
    );
    assert!(
        Prune::parse("0,x")
            .unwrap_err()
            .contains("'x' is not a fraction")
    );
    assert_eq!(Prune::PerLayer(vec![0.0, 0.5]).to_string(), "0,0.5");
    assert_eq!(Prune::All(0.25).fractions(3), Ok(vec![0.25; 3]));
    let err = Prune::PerLayer(vec![0.0, 0.5]).fractions(3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--prune lists 2 fractions but the network has 3 hidden-input layers (every weighted \
         layer but the output one)"
    );
    let rule = |p: Prune| {
        TrainConfig {
            prune: Some(p),
            init_from: Some(PathBuf::from("m")),
            ..TrainConfig::recipe("mnist", PathBuf::from("d"), "mlp")
        }
        .validate()
        .map_err(|e| e.to_string())
    };
    assert_eq!(rule(Prune::PerLayer(vec![0.0, 0.9])), Ok(()));
    assert_eq!(
        rule(Prune::PerLayer(vec![0.0, 1.0])),
        Err("--prune takes per-layer fractions of at least 0 and below 1, got 1".into())
    );
    assert_eq!(
        rule(Prune::PerLayer(vec![0.0, 0.0])),
        Err("--prune removes nothing: every fraction is 0".into())
    );
    assert_eq!(
        rule(Prune::All(0.0)),
        Err("--prune is the fraction of weights to remove, above 0 and below 1, got 0".into())
    );
}

#[test]
fn every_rule_names_its_setting() {
    let cases: Vec<(Overrides, &str)> = vec![
        (
            Overrides {
                steps: Some(0),
                ..Overrides::default()
            },
            "time steps T must be between 1 and 1024",
        ),
        (
            Overrides {
                batch_size: Some(0),
                ..Overrides::default()
            },
            "batch size must be at least 1",
        ),
        (
            Overrides {
                lr: Some(f64::NAN),
                ..Overrides::default()
            },
            "learning rate must be a positive number",
        ),
        (
            Overrides {
                epochs: Some(0),
                ..Overrides::default()
            },
            "epochs must be at least 1",
        ),
        (
            Overrides {
                first_spike_weight: Some(-1.0),
                ..Overrides::default()
            },
            "--first-spike-weight must be a number of at least 0, got -1",
        ),
        (
            Overrides {
                gamma: Some(0.1),
                ..Overrides::default()
            },
            "--gamma needs a regularizer: add --sparsity count, m-ssr or f-ssr",
        ),
        (
            Overrides {
                sparsity: Some(SparsityMethod::MSsr),
                gamma: Some(-0.1),
                ..Overrides::default()
            },
            "--gamma must be a number of at least 0",
        ),
        (
            Overrides {
                sparsity: Some(SparsityMethod::MSsr),
                xi: vec![1.0, -2.0],
                ..Overrides::default()
            },
            "--xi takes numbers of at least 0, one per hidden layer",
        ),
        (
            Overrides {
                sparsity: Some(SparsityMethod::FSsr),
                target_rate: Some(1.0),
                ..Overrides::default()
            },
            "--target-rate is a firing fraction from 0 up to (not including) 1, got 1",
        ),
        (
            Overrides {
                target_rate: Some(0.5),
                ..Overrides::default()
            },
            "--target-rate needs a regularizer: add --sparsity count, m-ssr or f-ssr",
        ),
        (
            Overrides {
                init: Some(InitKind::Kaiming),
                init_gain: Some(2.0),
                ..Overrides::default()
            },
            "--init-gain applies to --init ettfs only",
        ),
        (
            Overrides {
                input: Some(InputKind::Thermometer),
                levels: Some(256),
                ..Overrides::default()
            },
            "--levels takes 1 to 255 quantization levels, got 256",
        ),
    ];
    for (o, message) in cases {
        assert_eq!(with(o).unwrap_err().to_string(), message);
    }
    let e = TrainConfig::with_overrides("cifar", PathBuf::new(), "mlp", &Overrides::default());
    assert_eq!(e, Err(ConfigError::UnknownDataset("cifar".into())));
}

#[test]
fn a_checkpoint_configuration_is_checked_by_the_same_rules() {
    let mut c = TrainConfig::recipe("fashion-mnist", PathBuf::new(), "mlp");
    c.encoding = Encoding::Thermometer { levels: 0 };
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "--levels takes 1 to 255 quantization levels, got 0"
    );
    c.encoding = Encoding::Thermometer { levels: 4 };
    c.threshold = 0.0;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "threshold must be a positive number"
    );
}

#[test]
fn max_pooling_rewrites_the_architecture() {
    let o = Overrides {
        max_pool: true,
        ..Overrides::default()
    };
    let c = TrainConfig::with_overrides("mnist", PathBuf::new(), "cnn", &o).unwrap();
    assert_eq!(c.arch, "c32k3-m2-c64k3-m2-f256-f10");
}

/// A resume continues the checkpoint's configuration: flags that say the same are accepted,
/// `--epochs` raises (never lowers) the epochs, and any flag that says something else is
/// refused, naming the flag and both values.
#[test]
fn a_resume_refuses_every_flag_that_contradicts_the_checkpoint() {
    let trained = with(Overrides {
        seed: Some(3),
        train_limit: Some(512),
        epochs: Some(5),
        ..Overrides::default()
    })
    .unwrap();
    // No flag, or flags that agree: the checkpoint's configuration.
    assert_eq!(
        trained.resumed(&Overrides::default(), None, None, None),
        Ok(trained.clone())
    );
    let same = Overrides {
        seed: Some(3),
        train_limit: Some(512),
        lr: Some(trained.optimizer.lr),
        ..Overrides::default()
    };
    assert_eq!(
        trained.resumed(&same, Some("mnist"), Some("mlp"), Some(PathBuf::from("d"))),
        Ok(trained.clone())
    );
    // --epochs raises, never lowers.
    let more = Overrides {
        epochs: Some(8),
        ..Overrides::default()
    };
    assert_eq!(trained.resumed(&more, None, None, None).unwrap().epochs, 8);
    let fewer = Overrides {
        epochs: Some(2),
        ..Overrides::default()
    };
    assert_eq!(trained.resumed(&fewer, None, None, None).unwrap().epochs, 5);
    // Each contradiction names its flag and the checkpoint's value.
    let refused = |o: Overrides, dataset: Option<&str>, arch: Option<&str>| {
        trained
            .resumed(&o, dataset, arch, None)
            .unwrap_err()
            .to_string()
    };
    let cases = [
        (
            refused(
                Overrides {
                    train_limit: Some(1000),
                    ..Overrides::default()
                },
                None,
                None,
            ),
            "--resume: --train-limit gives Some(1000), but the checkpoint was trained with Some(512)",
        ),
        (
            refused(
                Overrides {
                    seed: Some(4),
                    ..Overrides::default()
                },
                None,
                None,
            ),
            "--resume: --seed gives 4, but the checkpoint was trained with 3",
        ),
        (
            refused(
                Overrides {
                    lr: Some(0.002),
                    ..Overrides::default()
                },
                None,
                None,
            ),
            "--resume: --lr gives 0.002, but the checkpoint was trained with 0.01",
        ),
        (
            refused(Overrides::default(), None, Some("cnn")),
            "--resume: --arch (or --pool) gives \"cnn\", but the checkpoint was trained with \"mlp\"",
        ),
        (
            refused(
                Overrides {
                    steps: Some(8),
                    ..Overrides::default()
                },
                None,
                None,
            ),
            "--resume: -T (--steps) gives 8, but the checkpoint was trained with 2",
        ),
    ];
    for (got, expected) in cases {
        assert!(got.starts_with(expected), "{got}");
        assert!(got.contains("drop "), "{got}");
    }
}
