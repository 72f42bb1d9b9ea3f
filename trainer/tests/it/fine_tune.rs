//! Fine-tuning (`init_from`): a run starts from a trained model's weights, and a model of
//! another architecture or a missing file is refused with a sentence naming it.

use ttfs_trainer::config::TrainConfig;
use ttfs_trainer::progress::Silent;
use ttfs_trainer::train::train;

use crate::synthetic::{data_folder, run_paths};

fn config(data: &std::path::Path, arch: &str) -> TrainConfig {
    let mut config = TrainConfig::recipe("mnist", data.to_path_buf(), arch);
    config.batch_size = 16;
    config.epochs = 1;
    config.steps = 4;
    config
}

#[test]
fn a_fine_tuning_run_starts_from_the_trained_weights() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 96, 32, 5);
    let first = run_paths(dir.path(), "a");
    let trained = train(config(&data, "64-32-10"), &first, false, &mut Silent).unwrap();

    // A different seed would initialise other weights; the loaded ones must win.
    let mut tune = config(&data, "64-32-10");
    tune.seed = 99;
    tune.init_from = Some(first.model.clone());
    let second = run_paths(dir.path(), "b");
    let tuned = train(tune.clone(), &second, false, &mut Silent).unwrap();
    assert_eq!(
        tuned.firing_at_init, trained.firing,
        "the run must begin with the first run's network"
    );
    let mut fresh = tune;
    fresh.init_from = None;
    let third = run_paths(dir.path(), "c");
    let scratch = train(fresh, &third, false, &mut Silent).unwrap();
    assert_ne!(
        scratch.firing_at_init, trained.firing,
        "the test has teeth: a fresh start fires differently"
    );
}

#[test]
fn another_architecture_or_a_missing_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 48, 16, 6);
    let first = run_paths(dir.path(), "a");
    train(config(&data, "64-32-10"), &first, false, &mut Silent).unwrap();

    let mut wider = config(&data, "64-48-10");
    wider.init_from = Some(first.model.clone());
    let out = run_paths(dir.path(), "b");
    let err = train(wider, &out, false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--from") && err.contains("has shape [32") && err.contains("64-32-10"),
        "{err}"
    );
    assert!(!out.model.exists(), "nothing is written on a refusal");

    let mut missing = config(&data, "64-32-10");
    missing.init_from = Some(dir.path().join("nowhere.safetensors"));
    let err = train(missing, &out, false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere.safetensors"), "{err}");
}
