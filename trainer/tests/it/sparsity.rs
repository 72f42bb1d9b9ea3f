//! Sparse-firing regularization in a real training run: gamma = 0 changes nothing, and each
//! regularizer lowers the hidden layer's firing.

use std::path::Path;

use ttfs_trainer::{RunPaths, Silent, Sparsity, SparsityMethod, TrainConfig, train};

use crate::synthetic::{data_folder, run_paths};

fn config(data: &Path, sparsity: Sparsity) -> TrainConfig {
    let mut config = TrainConfig::recipe("mnist", data.to_path_buf(), "64-32-10");
    config.batch_size = 16;
    config.epochs = 2;
    config.steps = 4;
    config.sparsity = sparsity;
    config
}

fn run(dir: &Path, name: &str, data: &Path, sparsity: Sparsity) -> (RunPaths, f64) {
    let paths = run_paths(dir, name);
    let outcome = train(config(data, sparsity), &paths, false, &mut Silent).unwrap();
    (paths, outcome.firing[0].fired)
}

#[test]
fn gamma_zero_reproduces_the_unregularized_run_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 96, 32, 3);
    let (plain, _) = run(dir.path(), "plain", &data, Sparsity::default());
    for method in [
        SparsityMethod::MSsr,
        SparsityMethod::FSsr,
        SparsityMethod::SpikeCount,
    ] {
        let zero = Sparsity {
            method,
            gamma: 0.0,
            layer_weights: vec![1.0],
            margin: 0.5,
            target_rate: Some(0.1),
        };
        let (paths, _) = run(dir.path(), method.name(), &data, zero);
        let a = ttfs_compiler::model::read(&plain.model).unwrap();
        let b = ttfs_compiler::model::read(&paths.model).unwrap();
        for (name, ta) in &a.tensors {
            let bits_a: Vec<u32> = ta.data.iter().map(|v| v.to_bits()).collect();
            let bits_b: Vec<u32> = b.tensors[name].data.iter().map(|v| v.to_bits()).collect();
            assert!(bits_a == bits_b, "{}: tensor {name} differs", method.name());
        }
    }
}

#[test]
fn each_regularizer_lowers_hidden_firing() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 96, 32, 4);
    let (_, base) = run(dir.path(), "plain", &data, Sparsity::default());
    for (method, gamma) in [
        (SparsityMethod::SpikeCount, 2.0),
        (SparsityMethod::MSsr, 2.0),
        (SparsityMethod::FSsr, 2.0),
    ] {
        let s = Sparsity {
            method,
            gamma,
            layer_weights: Vec::new(),
            margin: 0.0,
            target_rate: None,
        };
        let (_, fired) = run(dir.path(), method.name(), &data, s);
        assert!(
            fired < base,
            "{}: hidden firing {fired} not below the unregularized {base}",
            method.name()
        );
    }
}
