use std::time::Instant;
use ttfs_trainer::neuron::{FireConfig, fire_backward, fire_forward};
/// Forward scan on a time-major buffer `[T, n]` of input currents; returns spikes `[T, n]`.
fn old_forward(currents: &[f32], steps: usize, cfg: &FireConfig) -> Vec<f32> {
    let n = currents.len() / steps.max(1);
    let mut spikes = vec![0f32; currents.len()];
    let mut h = vec![0f32; n];
    let mut mask = vec![1f32; n];
    for t in 0..steps {
        let i_t = &currents[t * n..(t + 1) * n];
        let s_t = &mut spikes[t * n..(t + 1) * n];
        for k in 0..n {
            h[k] += i_t[k];
            let s = theta(cfg, h[k]) * mask[k];
            s_t[k] = s;
            mask[k] *= 1.0 - s;
        }
    }
    spikes
}

/// Backward scan: the gradient of the currents `[T, n]` given the gradient of the spikes.
fn old_backward(currents: &[f32], grad_spikes: &[f32], steps: usize, cfg: &FireConfig) -> Vec<f32> {
    let n = currents.len() / steps.max(1);
    // Recompute H and the mask before each step (M[t-1]).
    let mut h_all = vec![0f32; currents.len()];
    let mut mask_before = vec![0f32; currents.len()];
    let mut h = vec![0f32; n];
    let mut mask = vec![1f32; n];
    for t in 0..steps {
        for k in 0..n {
            let idx = t * n + k;
            h[k] += currents[idx];
            h_all[idx] = h[k];
            mask_before[idx] = mask[k];
            mask[k] *= 1.0 - theta(cfg, h[k]) * mask[k];
        }
    }
    let mut grad_currents = vec![0f32; currents.len()];
    let mut grad_mask = vec![0f32; n];
    let mut acc = vec![0f32; n];
    for t in (0..steps).rev() {
        for k in 0..n {
            let idx = t * n + k;
            let m_prev = mask_before[idx];
            let hv = h_all[idx];
            let mut gs = grad_spikes[idx];
            if cfg.mask_grad {
                gs -= grad_mask[k] * m_prev;
                let theta = theta(cfg, hv);
                let s = theta * m_prev;
                grad_mask[k] = grad_mask[k] * (1.0 - s) + gs * theta;
            }
            // After a neuron has fired (M = 0) the step gets no gradient: skip the exp.
            let gh = if m_prev == 0.0 {
                0.0
            } else {
                gs * m_prev * cfg.surrogate.derivative(hv - cfg.threshold)
            };
            acc[k] += gh;
            grad_currents[idx] = acc[k];
        }
    }
    grad_currents
}

fn theta(cfg: &FireConfig, h: f32) -> f32 {
    if h >= cfg.threshold { 1.0 } else { 0.0 }
}
fn main() {
    let (steps, n) = (8usize, 128 * 800usize);
    let mut state = 1u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 * 0.6 - 0.1
    };
    let c: Vec<f32> = (0..steps * n).map(|_| next()).collect();
    let g: Vec<f32> = (0..steps * n).map(|_| next()).collect();
    let cfg = FireConfig::default();
    for round in 0..3 {
        let t0 = Instant::now();
        for _ in 0..50 {
            std::hint::black_box(old_forward(&c, steps, &cfg));
            std::hint::black_box(old_backward(&c, &g, steps, &cfg));
        }
        let old = t0.elapsed().as_secs_f64() / 50.0;
        let t0 = Instant::now();
        for _ in 0..50 {
            std::hint::black_box(fire_forward(&c, steps, &cfg));
            std::hint::black_box(fire_backward(&c, &g, steps, &cfg));
        }
        let new = t0.elapsed().as_secs_f64() / 50.0;
        println!(
            "round {round}: old {:.2} ms, new {:.2} ms per forward+backward",
            old * 1e3,
            new * 1e3
        );
    }
}
