//! The trainer's hand-written kernels on the MLP's shapes (784-800-10, batch 128) at T = 2
//! (the MNIST recipe's) and T = 8, one at a time, to compare a change to one kernel with the kernel before it
//! (`cargo bench --bench trainer_kernels -- --save-baseline before`, change, then
//! `-- --baseline before`). The whole training step is measured by `ttfs train --bench`.
//!
//! Inputs are synthetic with the MLP's activity on MNIST: about 150 of 784 input spikes per
//! image, spread over the `T` rows of `[T * B, 784]` (75 per row at T = 2, 19 at T = 8), and hidden currents with which about half of the neurons fire.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ttfs_trainer::FireConfig;
use ttfs_trainer::kernels::{
    WeightNormOp, fire_backward, fire_forward, sparse_forward, sparse_weight_grad,
};

const BATCH: usize = 128;
const INPUTS: usize = 784;
const HIDDEN: usize = 800;

fn spikes(rows: usize, cols: usize, rate: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..rows * cols)
        .map(|_| if rng.gen_bool(rate) { 1.0 } else { 0.0 })
        .collect()
}

fn uniform(len: usize, range: std::ops::Range<f32>, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..len).map(|_| rng.gen_range(range.clone())).collect()
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("trainer_kernels");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for steps in [2, 8] {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let rows = steps * BATCH;
        // About 150 of an MNIST image's 784 pixels spike, each at one of the T steps.
        let x = spikes(rows, INPUTS, 150.0 / 784.0 / steps as f64, &mut rng);
        // The weights as the sparse product takes them: transposed, [784, 800].
        let wt = uniform(INPUTS * HIDDEN, -0.05..0.05, &mut rng);
        let grad_out = uniform(rows * HIDDEN, -1e-3..1e-3, &mut rng);
        let currents = uniform(rows * HIDDEN, -0.1..0.35, &mut rng);
        let cfg = FireConfig::default();
        let no_mask = FireConfig {
            mask_grad: false,
            ..cfg
        };
        let neurons = BATCH * HIDDEN;
        group.bench_function(
            format!("T={steps} sparse_forward {rows}x784 * 784x800"),
            |b| b.iter(|| sparse_forward(black_box(&x), black_box(&wt), rows, INPUTS, HIDDEN)),
        );
        group.bench_function(format!("T={steps} sparse_weight_grad 784x800"), |b| {
            b.iter(|| sparse_weight_grad(black_box(&x), black_box(&grad_out), rows, INPUTS, HIDDEN))
        });
        group.bench_function(format!("T={steps} fire_forward {steps}x{neurons}"), |b| {
            b.iter(|| fire_forward(black_box(&currents), steps, &cfg))
        });
        group.bench_function(format!("T={steps} fire_backward {steps}x{neurons}"), |b| {
            b.iter(|| fire_backward(black_box(&currents), black_box(&grad_out), steps, &cfg))
        });
        group.bench_function(
            format!("T={steps} fire_backward {steps}x{neurons} no mask grad"),
            |b| {
                b.iter(|| {
                    fire_backward(black_box(&currents), black_box(&grad_out), steps, &no_mask)
                })
            },
        );
    }
    // The per-step work on the hidden layer's weights, the same at every T.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let v = uniform(HIDDEN * INPUTS, -0.05..0.05, &mut rng);
    let gamma = uniform(HIDDEN, 0.5..1.5, &mut rng);
    let dt = uniform(INPUTS * HIDDEN, -1e-3..1e-3, &mut rng);
    let norm = WeightNormOp {
        gain: 2.0,
        eps: 1e-5,
        transposed: true,
    };
    group.bench_function("weight_norm forward 800x784 -> transposed", |b| {
        b.iter(|| norm.forward_transposed(black_box(&v), black_box(&gamma), INPUTS))
    });
    group.bench_function("weight_norm backward from transposed 784x800", |b| {
        b.iter(|| {
            norm.backward_transposed(black_box(&v), black_box(&gamma), black_box(&dt), INPUTS)
        })
    });
    group.finish();
}

/// Every benchmark of this file (what `criterion_group!` would generate, written out so that it
/// carries a doc comment).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    kernels(&mut criterion);
}

criterion_main!(benches);
