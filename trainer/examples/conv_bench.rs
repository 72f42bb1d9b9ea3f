//! Times the sparse convolution of `ttfs_trainer::kernels::conv2d` against Candle's `conv2d` on the
//! paper CNN's two convolutions (forward + backward) at T = 2, batch 128 (`T * B = 256` rows),
//! with the input densities the CNN's training bench sees at its start (9.4% of the input
//! pixels spike per step, 14.5% of the pooled conv1 spikes are non-zero).
//! Run with `RAYON_NUM_THREADS=1 cargo run --release -p ttfs-trainer --example conv_bench`.

use std::time::Instant;

use candle_core::{Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ttfs_trainer::kernels as conv;

type Conv = fn(&Tensor, &Tensor, usize, usize, bool) -> Result<Tensor>;

fn candle(x: &Tensor, w: &Tensor, stride: usize, padding: usize, _: bool) -> Result<Tensor> {
    x.conv2d(w, padding, stride, 1, 1)
}

fn tensor(
    dims: &[usize],
    rng: &mut ChaCha8Rng,
    value: impl Fn(&mut ChaCha8Rng) -> f32,
) -> Result<Tensor> {
    let v: Vec<f32> = (0..dims.iter().product()).map(|_| value(rng)).collect();
    Tensor::from_vec(v, dims, &Device::Cpu)
}

/// Seconds per forward, per backward (of `y` itself: Candle seeds it with ones, so the
/// time includes that allocation, the same for both variants).
fn time(conv: Conv, x: &Tensor, w: &Var, input_grad: bool, reps: usize) -> Result<(f64, f64)> {
    let x = if input_grad {
        Var::from_tensor(x)?.as_tensor().clone()
    } else {
        x.clone()
    };
    let mut fwd = 0.0;
    let mut bwd = 0.0;
    for rep in 0..=reps {
        let start = Instant::now();
        let y = conv(&x, w.as_tensor(), 1, 1, input_grad)?;
        let f = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let grads = y.backward()?;
        let b = start.elapsed().as_secs_f64();
        assert!(grads.get(w.as_tensor()).is_some());
        // (Candle's conv2d computes the input gradient even for an input without one.)
        assert!(!input_grad || grads.get(&x).is_some());
        if rep > 0 {
            fwd += f;
            bwd += b;
        }
    }
    Ok((fwd / reps as f64, bwd / reps as f64))
}

fn main() -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x1 = tensor(&[256, 1, 28, 28], &mut rng, |r| {
        f32::from(u8::from(r.gen_bool(0.094)))
    })?;
    let w1 = Var::from_tensor(&tensor(&[32, 1, 3, 3], &mut rng, |r| {
        r.gen_range(-0.5..0.5)
    })?)?;
    let x2 = tensor(&[256, 32, 14, 14], &mut rng, |r| {
        if r.gen_bool(0.145) {
            f32::from(r.gen_range(1u8..=4)) * 0.25
        } else {
            0.0
        }
    })?;
    let w2 = Var::from_tensor(&tensor(&[64, 32, 3, 3], &mut rng, |r| {
        r.gen_range(-0.1..0.1)
    })?)?;
    // ONLY=direct (or ONLY=candle) times one variant, for profiling.
    let only = std::env::var("ONLY").ok();
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let variants: [(&str, Conv); 2] = [("candle", candle), ("direct sparse", conv::conv2d)];
    for (name, x, w, input_grad) in [("conv1", &x1, &w1, false), ("conv2", &x2, &w2, true)] {
        for (variant, f) in variants {
            if only.as_deref().is_some_and(|o| !variant.contains(o)) {
                continue;
            }
            let (fw, bw) = time(f, x, w, input_grad, reps)?;
            println!(
                "{name} {variant:>22}: forward {:8.1} ms, backward {:8.1} ms, total {:8.1} ms",
                fw * 1e3,
                bw * 1e3,
                (fw + bw) * 1e3
            );
        }
    }
    Ok(())
}
