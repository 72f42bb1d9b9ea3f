//! The firing scan against the step-by-step reference, its surrogate gradient and its edge cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn blocked_parallel_scans_equal_each_column_scanned_alone() {
    // Three blocks, the last one ragged; currents from a fixed LCG, some columns firing.
    let (steps, n) = (5, 2 * SCAN_BLOCK + 37);
    let mut state = 12345u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.3
    };
    let currents: Vec<f32> = (0..steps * n).map(|_| next()).collect();
    let grads: Vec<f32> = (0..steps * n).map(|_| next()).collect();
    let cfg = FireConfig::default();
    let spikes = fire_forward(&currents, steps, &cfg);
    let grad_currents = fire_backward(&currents, &grads, steps, &cfg);
    let fired = (0..n).filter(|&k| (0..steps).any(|t| spikes[t * n + k] > 0.0));
    assert!(fired.count() > n / 10, "the test has teeth: columns fire");
    for k in [
        0,
        1,
        SCAN_BLOCK - 1,
        SCAN_BLOCK,
        2 * SCAN_BLOCK + 36,
        777,
        5000,
    ] {
        let column: Vec<f32> = (0..steps).map(|t| currents[t * n + k]).collect();
        let column_grad: Vec<f32> = (0..steps).map(|t| grads[t * n + k]).collect();
        let alone = fire_forward(&column, steps, &cfg);
        let alone_grad = fire_backward(&column, &column_grad, steps, &cfg);
        for t in 0..steps {
            assert_eq!(
                spikes[t * n + k].to_bits(),
                alone[t].to_bits(),
                "s[{t}][{k}]"
            );
            assert_eq!(
                grad_currents[t * n + k].to_bits(),
                alone_grad[t].to_bits(),
                "dI[{t}][{k}]"
            );
        }
    }
}

#[test]
fn the_op_on_time_folded_currents_equals_the_op_on_time_major_ones() {
    // [T * B, C, W] and [T, B * C * W] are the same buffer: the same spikes and the same
    // current gradients, whatever the shape; and steps that do not divide it are an error.
    use candle_core::{Device, Var};
    let (t, b, c, w) = (4, 3, 2, 5);
    let values: Vec<f32> = (0..t * b * c * w)
        .map(|i| ((i * 37 % 23) as f32 - 7.0) * 0.1)
        .collect();
    let dev = Device::Cpu;
    let folded =
        Var::from_tensor(&Tensor::from_vec(values.clone(), (t * b, c, w), &dev).unwrap()).unwrap();
    let major = Var::from_tensor(&Tensor::from_vec(values, (t, b * c * w), &dev).unwrap()).unwrap();
    let cfg = FireConfig::default();
    let s_folded = fire_steps(folded.as_tensor(), t, &cfg).unwrap();
    let s_major = fire(major.as_tensor(), &cfg).unwrap();
    let flat = |x: &Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&s_folded), flat(&s_major));
    assert!(flat(&s_major).contains(&1.0), "some neurons fire");
    let weights: Vec<f32> = (0..t * b * c * w).map(|i| (i % 7) as f32 - 3.0).collect();
    let wf = Tensor::from_vec(weights.clone(), (t * b, c, w), &dev).unwrap();
    let wm = Tensor::from_vec(weights, (t, b * c * w), &dev).unwrap();
    let gf = (s_folded * wf)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let gm = (s_major * wm)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(
        flat(gf.get(folded.as_tensor()).unwrap()),
        flat(gm.get(major.as_tensor()).unwrap())
    );
    let err = fire_steps(folded.as_tensor(), 7, &cfg)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("120 currents do not split into 7 time steps"),
        "{err}"
    );
}

/// The general recurrence of the backward scan (BPTT through `H`, `S` and `M`), one column
/// at a time, written out as ARCHITECTURE.md states it.
fn general_backward(currents: &[f32], grads: &[f32], cfg: &FireConfig) -> Vec<f32> {
    let steps = currents.len();
    let (mut h, mut mask) = (0f32, 1f32);
    let (mut hs, mut masks) = (Vec::new(), Vec::new());
    for &c in currents {
        h += c;
        hs.push(h);
        masks.push(mask);
        mask *= 1.0 - cfg.theta(h) * mask;
    }
    let (mut grad_mask, mut acc) = (0f32, 0f32);
    let mut out = vec![0f32; steps];
    for t in (0..steps).rev() {
        let (m_prev, hv) = (masks[t], hs[t]);
        let mut gs = grads[t];
        if cfg.mask_grad {
            gs -= grad_mask * m_prev;
            let theta = cfg.theta(hv);
            grad_mask = grad_mask * (1.0 - theta * m_prev) + gs * theta;
        }
        let gh = if m_prev == 0.0 {
            0.0
        } else {
            gs * m_prev * cfg.surrogate.derivative(hv - cfg.threshold)
        };
        acc += gh;
        out[t] = acc;
    }
    out
}

#[test]
fn exact_backward_equals_the_general_recurrence_bit_for_bit() {
    let mut state = 99u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.35
    };
    let steps = 8;
    for mask_grad in [true, false] {
        let cfg = FireConfig {
            mask_grad,
            ..FireConfig::default()
        };
        let (mut fired, mut silent) = (0, 0);
        for column in 0..500 {
            let mut currents: Vec<f32> = (0..steps).map(|_| next()).collect();
            if column % 50 == 0 {
                // Exactly at the threshold at step 3, then above and below it.
                currents = vec![0.25, 0.25, 0.5, 0.5, -0.75, 0.75, -2.0, 1.0];
            }
            let grads: Vec<f32> = (0..steps).map(|_| next() * 3.0).collect();
            let ours = fire_backward(&currents, &grads, steps, &cfg);
            let general = general_backward(&currents, &grads, &cfg);
            for t in 0..steps {
                assert_eq!(
                    ours[t].to_bits(),
                    general[t].to_bits(),
                    "mask_grad {mask_grad} column {column} step {t}: {ours:?} against {general:?}"
                );
            }
            if fire_forward(&currents, steps, &cfg).contains(&1.0) {
                fired += 1;
            } else {
                silent += 1;
            }
        }
        assert!(fired > 100 && silent > 50, "{fired} fired, {silent} silent");
    }
}

#[test]
fn hand_worked_neuron_fires_once_at_the_crossing() {
    // One neuron, T = 5, threshold 1: H = 0.4, 0.8, 1.3, 2.0, 0.5 -> fires at step 3 only.
    let currents = [0.4, 0.4, 0.5, 0.7, -1.5];
    let s = fire_forward(&currents, 5, &FireConfig::default());
    assert_eq!(s, vec![0.0, 0.0, 1.0, 0.0, 0.0]);
    // Exactly at threshold counts as a crossing.
    let s = fire_forward(&[1.0, 1.0], 2, &FireConfig::default());
    assert_eq!(s, vec![1.0, 0.0]);
}

#[test]
fn backward_without_mask_grad_is_reverse_cumsum_of_surrogate() {
    let cfg = FireConfig {
        mask_grad: false,
        ..FireConfig::default()
    };
    // Never fires: every step is live.
    let currents = [0.2f32, 0.3];
    let g = fire_backward(&currents, &[1.0, 2.0], 2, &cfg);
    let d1 = cfg.surrogate.derivative(0.2 - 1.0);
    let d2 = cfg.surrogate.derivative(0.5 - 1.0);
    assert!((g[1] - 2.0 * d2).abs() < 1e-6);
    assert!((g[0] - (d1 + 2.0 * d2)).abs() < 1e-6);
}

/// Loss of the soft neuron; with `fixed_mask`, the mask `M[t-1]` is taken from that
/// buffer instead of the recurrence (the function whose gradient `mask_grad = false` is).
fn soft_loss(
    currents: &[f32],
    weights: &[f32],
    steps: usize,
    cfg: &FireConfig,
    fixed_mask: Option<&[f32]>,
) -> f64 {
    let n = currents.len() / steps;
    let mut h = vec![0f32; n];
    let mut mask = vec![1f32; n];
    let mut loss = 0f64;
    for t in 0..steps {
        for k in 0..n {
            let idx = t * n + k;
            h[k] += currents[idx];
            let m_prev = fixed_mask.map_or(mask[k], |m| m[idx]);
            let s = cfg.theta(h[k]) * m_prev;
            mask[k] = m_prev * (1.0 - s);
            loss += (s * weights[idx]) as f64;
        }
    }
    loss
}

fn masks_before(currents: &[f32], steps: usize, cfg: &FireConfig) -> Vec<f32> {
    let n = currents.len() / steps;
    let mut h = vec![0f32; n];
    let mut mask = vec![1f32; n];
    let mut out = vec![0f32; currents.len()];
    for t in 0..steps {
        for k in 0..n {
            h[k] += currents[t * n + k];
            out[t * n + k] = mask[k];
            mask[k] *= 1.0 - cfg.theta(h[k]) * mask[k];
        }
    }
    out
}

#[test]
fn surrogate_gradient_matches_finite_differences_of_the_soft_neuron() {
    for mask_grad in [false, true] {
        for surrogate in [
            Surrogate::Sigmoid { alpha: 4.0 },
            Surrogate::Atan { alpha: 2.0 },
        ] {
            let cfg = FireConfig {
                threshold: 1.0,
                surrogate,
                mask_grad,
                soft: true,
            };
            let steps = 4;
            let currents = [0.3f32, -0.2, 0.5, 0.1, 0.9, 0.4, 0.2, -0.3];
            let weights = [1.0f32, 0.5, 0.8, -0.4, 0.25, 0.6, 0.125, 0.9];
            let analytic = fire_backward(&currents, &weights, steps, &cfg);
            let fixed = masks_before(&currents, steps, &cfg);
            let fixed = (!mask_grad).then_some(fixed.as_slice());
            let eps = 1e-3f32;
            for i in 0..currents.len() {
                let mut plus = currents;
                plus[i] += eps;
                let mut minus = currents;
                minus[i] -= eps;
                let numeric = (soft_loss(&plus, &weights, steps, &cfg, fixed)
                    - soft_loss(&minus, &weights, steps, &cfg, fixed))
                    / (2.0 * eps as f64);
                let a = analytic[i] as f64;
                assert!(
                    (numeric - a).abs() < 2e-3 * (1.0 + a.abs()),
                    "mask_grad={mask_grad} {surrogate:?} input {i}: numeric {numeric} analytic {a}"
                );
            }
        }
    }
}
