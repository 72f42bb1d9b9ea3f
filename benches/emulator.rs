//! Emulated synaptic operations per second: one thread running the cycle-accurate emulator over
//! MNIST test images, the figure a user waits on in `ttfs run`.
//!
//! - `emulator/mlp-loihi`: the shipped MLP (`fixtures/models/mnist-mlp.safetensors`) compiled
//!   for `fixtures/targets/loihi.json`, over the first 64 test images.
//! - `emulator/cnn-loihi`: the shipped MNIST CNN (`fixtures/models/mnist-cnn.safetensors`, its
//!   pools as shared axons) on the shipped Loihi-like target, over the first 32 test images.
//! - `emulator/cnn-loihi-wide`, only when `TTFS_BENCH_CNN` names a model file: over the first
//!   8 test images, on a benchmark-only variant of the Loihi target (see [`wide_loihi`]), for
//!   a CNN whose pools are folded into its synapses.
//!
//! The throughput is the total synaptic operations of one pass over the images, counted once
//! before timing (the emulator is deterministic, so every pass does the same work). Sample size
//! and measurement time are kept small: `cargo bench --bench emulator` takes about 40 s (about
//! 45 s more with `TTFS_BENCH_CNN`, whose pass over 8 images takes about 3 s).

// A benchmark has no caller to hand an error to: a missing fixture stops it with its message.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use ttfs_compiler::compile::{CompileOptions, compile};
use ttfs_data::{Dataset, Split};
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::emulator::{Emulator, RunOptions};
use ttfs_runtime::target::Target;

/// A path under the repository root.
fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The first `n` MNIST test images.
fn images(n: usize) -> Vec<Vec<u8>> {
    let test =
        Dataset::load(&repo("fixtures/mnist"), Split::Test).expect("the MNIST test set loads");
    (0..n.min(test.len()))
        .map(|i| test.image(i).to_vec())
        .collect()
}

fn loihi() -> Target {
    ttfs_runtime::target::load(&repo("fixtures/targets/loihi.json"))
        .expect("the Loihi target loads")
}

/// A benchmark-only target: Loihi with `core.max_axons` raised to 16384 and a 32 x 32 mesh.
/// A CNN with its pools folded into the synapses does not fit the shipped Loihi target (a
/// neuron of its fully connected layer reads 12,332 inputs, more than Loihi's 4096 axons per
/// core); this variant lets the emulator's speed be measured on such a workload. It models no
/// real chip.
fn wide_loihi() -> Target {
    let mut target = loihi();
    target.name = "loihi-wide-axons-bench".into();
    target.core.max_axons = 16384;
    target.mesh.cols = 32;
    target.mesh.rows = 32;
    target.validate().expect("the benchmark target is valid");
    target
}

/// Compiles the model at `path` for `target`.
fn compiled(path: &Path, target: &Target) -> ChipConfig {
    let model = ttfs_compiler::model::read(path).expect("the model file reads");
    compile(&model, target, &CompileOptions::default())
        .expect("the model compiles for the target")
        .mapping
        .config
}

/// Benchmarks one pass of the emulator over `images`, with the synaptic operations of a pass
/// as its throughput; 10 samples in about `seconds`.
fn bench_pass(
    c: &mut Criterion,
    name: &str,
    config: &ChipConfig,
    target: &Target,
    images: &[Vec<u8>],
    seconds: u64,
) {
    let mut emulator = Emulator::new(config, target).expect("the configuration fits its target");
    let options = RunOptions::default();
    let synaptic_ops: u64 = images
        .iter()
        .map(|image| {
            emulator
                .run(image, options)
                .expect("the image has the configuration's input size")
                .counters
                .synaptic_ops
        })
        .sum();
    let mut group = c.benchmark_group("emulator");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(seconds))
        .throughput(Throughput::Elements(synaptic_ops));
    group.bench_function(name, |b| {
        b.iter(|| {
            for image in images {
                black_box(
                    emulator
                        .run(black_box(image), options)
                        .expect("the image has the configuration's input size"),
                );
            }
        });
    });
    group.finish();
}

fn mlp(c: &mut Criterion) {
    let target = loihi();
    let config = compiled(&repo("fixtures/models/mnist-mlp.safetensors"), &target);
    bench_pass(c, "mlp-loihi", &config, &target, &images(64), 8);
}

fn cnn(c: &mut Criterion) {
    let target = loihi();
    let config = compiled(&repo("fixtures/models/mnist-cnn.safetensors"), &target);
    bench_pass(c, "cnn-loihi", &config, &target, &images(32), 20);
}

fn cnn_wide(c: &mut Criterion) {
    let Some(path) = std::env::var_os("TTFS_BENCH_CNN") else {
        return;
    };
    let target = wide_loihi();
    let config = compiled(Path::new(&path), &target);
    bench_pass(c, "cnn-loihi-wide", &config, &target, &images(8), 40);
}

/// Every benchmark of this file (what `criterion_group!` would generate, written out so that it
/// carries a doc comment).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    mlp(&mut criterion);
    cnn(&mut criterion);
    cnn_wide(&mut criterion);
}

criterion_main!(benches);
