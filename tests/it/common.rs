//! Shared fixtures: paths, the trained MLP, the MNIST test images, targets.

use std::path::{Path, PathBuf};

use ttfs_compiler::model::Model;
use ttfs_runtime::target::Target;
use ttfs_trainer::data::{Dataset, Split};

/// A path under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The trained MNIST MLP (98.50% test accuracy).
pub fn mlp() -> Model {
    ttfs_compiler::model::read(&repo("fixtures/models/mnist-mlp.safetensors")).unwrap()
}

/// A shipped target by name.
pub fn target(name: &str) -> Target {
    ttfs_runtime::target::load(&repo(&format!("fixtures/targets/{name}.json"))).unwrap()
}

/// The first `n` MNIST test images and their labels.
pub fn mnist_test(n: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
    let test = Dataset::load(&repo("fixtures/mnist"), Split::Test).unwrap();
    let n = n.min(test.len());
    let images = (0..n).map(|i| test.image(i).to_vec()).collect();
    (images, test.labels[..n].to_vec())
}
