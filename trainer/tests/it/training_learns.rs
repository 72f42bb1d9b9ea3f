//! A short training run learns: on the synthetic data set (class = position of a bright 2x2
//! block), a tiny MLP trained for a few epochs with the default recipe classifies the test set
//! far above chance by the chip's decision rule (earliest output spike, ties by `H[T]`).

use ttfs_compiler::model;
use ttfs_trainer::report::read_jsonl;
use ttfs_trainer::train::{RunPaths, Silent, TrainConfig, train};

use crate::synthetic::write_dataset;

#[test]
fn a_tiny_mlp_learns_the_synthetic_classes() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(
        dir.path(),
        320,
        100,
        std::env::var("DS").map(|v| v.parse().unwrap()).unwrap_or(7),
    );
    let mut config = TrainConfig::recipe("mnist", dir.path().to_path_buf(), "64-32-10");
    config.epochs = std::env::var("E").map(|v| v.parse().unwrap()).unwrap_or(4);
    config.batch_size = std::env::var("B").map(|v| v.parse().unwrap()).unwrap_or(16);
    if let Ok(s) = std::env::var("SEED") {
        config.seed = s.parse().unwrap();
    }
    if let Ok(lr) = std::env::var("LR") {
        config.optimizer.lr = lr.parse().unwrap();
    }
    if let Ok(a) = std::env::var("ARCH") {
        config.arch = a;
    }
    let paths = RunPaths::for_model(&dir.path().join("net.safetensors"));
    let out = train(config, &paths, false, &mut Silent).unwrap();

    let accuracies: Vec<f64> = out.records.iter().filter_map(|r| r.test_accuracy).collect();
    println!(
        "test accuracy by epoch {accuracies:?}, final {}",
        out.test.accuracy
    );
    for r in &out.records {
        println!("{r:?}");
    }
    println!(
        "fired {:?} step {}",
        out.fired_fraction, out.test.mean_decision_step
    );
    // Chance is 10%.
    assert!(
        out.test.accuracy > 0.5,
        "test accuracy {:.3} after 4 epochs",
        out.test.accuracy
    );
    assert!(out.test.mean_decision_step >= 1.0 && out.test.mean_decision_step <= 8.0);

    let epochs: Vec<u32> = out.records.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, [1, 2, 3, 4]);
    let log = read_jsonl(&paths.log).unwrap();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|r| r.train_loss.is_finite()));
    assert!(
        log[3].train_loss < log[0].train_loss,
        "loss did not fall: {} -> {}",
        log[0].train_loss,
        log[3].train_loss
    );
    // The model file records the same accuracy the run measured.
    let m = model::read(&paths.model).unwrap();
    assert_eq!(
        m.description.training.test_accuracy,
        Some(out.test.accuracy as f32)
    );
    assert_eq!(m.description.training.epochs, 4);
    assert!(paths.curves.exists() && paths.checkpoint.exists());
}
