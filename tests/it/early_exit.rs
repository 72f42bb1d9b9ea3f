//! The shipped models whose decoding breaks ties at the decision step decide the same with and
//! without early exit: on the chip (emulator, both runs) and in the golden model, image by
//! image, and the early run stops at the decision step.

use ttfs_compiler::compile::{CompileOptions, compile};
use ttfs_compiler::golden::GoldenModel;
use ttfs_compiler::model::TieBreak;
use ttfs_runtime::emulator::{Emulator, RunOptions};

use crate::common::{mnist_test, repo, target};

/// Compiles the shipped `file` for the Loihi-like target and runs its first `images` test
/// images with and without early exit; returns how many of them it decided at step 1.
fn decides_alike(file: &str, images: usize) -> usize {
    let model = ttfs_compiler::model::read(&repo(&format!("fixtures/models/{file}"))).unwrap();
    assert_eq!(
        model.description.decoding.tie_break,
        TieBreak::PotentialAtDecision,
        "{file}"
    );
    let loihi = target("loihi");
    let compiled = compile(&model, &loihi, &CompileOptions::default()).unwrap();
    let mut emulator = Emulator::new(compiled.config(), &loihi).unwrap();
    let mut golden = GoldenModel::new(&compiled.quantized.network);
    let (pixels, _) = mnist_test(images);
    let mut at_step_1 = 0;
    for (i, image) in pixels.iter().enumerate() {
        let full = emulator
            .run(image, RunOptions { early_exit: false })
            .unwrap();
        let early = emulator
            .run(image, RunOptions { early_exit: true })
            .unwrap();
        let g = golden.run(image).unwrap();
        assert_eq!(early.decision, full.decision, "{file} image {i}");
        assert_eq!(full.decision, g.decision, "{file} image {i}");
        let stop = full.decision.step.unwrap_or(model.description.time_steps);
        assert_eq!(early.counters.steps_run, stop, "{file} image {i}");
        at_step_1 += usize::from(full.decision.step == Some(1));
    }
    at_step_1
}

#[test]
fn the_mnist_mlp_decides_the_same_with_early_exit() {
    // Most test images decide at step 1 of 2 (mean decision step 1.04 on the full test set).
    let at_step_1 = decides_alike("mnist-mlp.safetensors", 300);
    assert!(at_step_1 >= 250, "{at_step_1} of 300 at step 1");
}

#[test]
fn the_mnist_cnn_decides_the_same_with_early_exit() {
    // Mean decision step 1.01 of 2 on the full test set.
    let at_step_1 = decides_alike("mnist-cnn.safetensors", 100);
    assert!(at_step_1 >= 95, "{at_step_1} of 100 at step 1");
}
