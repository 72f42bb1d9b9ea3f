//! Shared fixtures: paths, the trained MLP, the MNIST test images, targets.

use std::path::{Path, PathBuf};
use std::process::Command;

use ttfs_compiler::model::Model;
use ttfs_data::{Dataset, Split};
use ttfs_runtime::target::Target;

/// A path under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The trained MNIST MLP (98.51% test accuracy, T = 2, ties broken at the decision step).
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

/// Runs the `ttfs` binary in the repository root: (success, stdout, stderr).
pub fn ttfs(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ttfs"))
        .args(args)
        .current_dir(repo(""))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a test split of `rows` x `cols` images (`t10k-*` IDX files) into `dir`.
pub fn write_test_split(dir: &Path, rows: u32, cols: u32, images: &[Vec<u8>], labels: &[u8]) {
    let mut bytes = vec![0, 0, 8, 3];
    for v in [images.len() as u32, rows, cols] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    for image in images {
        bytes.extend_from_slice(image);
    }
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), bytes).unwrap();
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    bytes.extend_from_slice(labels);
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), bytes).unwrap();
}
