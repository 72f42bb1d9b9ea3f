//! What the compiler's slow steps cost on the shipped models: the timings the compiler's tests
//! used to print from `#[ignore]`d tests.
//!
//! - `compiler/lower-cnn-synapses`: lowering the shipped MNIST CNN
//!   (`fixtures/models/mnist-cnn.safetensors`, c32k3-a2-c64k3-a2-f256-f10) with its average
//!   pools folded into the synapses, the largest network any pass builds (16.5 M synapses).
//! - `compiler/float-mlp`: the folded float reference (what calibration and the float vs
//!   golden comparison run) on the shipped MLP over the first 1,000 MNIST test images, in
//!   images per second.
//!
//! `cargo bench --bench compiler` takes about 30 s.

// A benchmark has no caller to hand an error to: a missing fixture stops it with its message.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use ttfs_compiler::float::FloatSim;
use ttfs_compiler::ir::PoolLowering;
use ttfs_compiler::lower::lower;
use ttfs_compiler::model::Model;
use ttfs_data::{Dataset, Split};

/// A path under the repository root.
fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A shipped model.
fn model(rel: &str) -> Model {
    ttfs_compiler::model::read(&repo(rel)).expect("the shipped model reads")
}

fn lower_cnn(c: &mut Criterion) {
    let cnn = model("fixtures/models/mnist-cnn.safetensors");
    let mut group = c.benchmark_group("compiler");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    group.bench_function("lower-cnn-synapses", |b| {
        b.iter(|| black_box(lower(black_box(&cnn), PoolLowering::Synapses).expect("it lowers")));
    });
    group.finish();
}

fn float_mlp(c: &mut Criterion) {
    let mlp = model("fixtures/models/mnist-mlp.safetensors");
    let net = lower(&mlp, PoolLowering::SharedAxons).expect("the shipped MLP lowers");
    let test = Dataset::load(&repo("fixtures/mnist"), Split::Test).expect("MNIST loads");
    let images: Vec<&[u8]> = (0..1000.min(test.len())).map(|i| test.image(i)).collect();
    let mut sim = FloatSim::new(&net);
    let mut group = c.benchmark_group("compiler");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(images.len() as u64));
    group.bench_function("float-mlp", |b| {
        b.iter(|| {
            for image in &images {
                black_box(sim.run(black_box(image)));
            }
        });
    });
    group.finish();
}

/// Every benchmark of this file (what `criterion_group!` would generate, written out so that it
/// carries a doc comment).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    lower_cnn(&mut criterion);
    float_mlp(&mut criterion);
}

criterion_main!(benches);
