//! Hand-worked cases of the quantize rules, with the exact integers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use ttfs_runtime::config::{InputEncoding, NeuronParams, Refractory, TieBreak};
use ttfs_runtime::target::{self, Target};

use super::*;
use crate::ir::{FoldedLayer, FoldedNetwork, InputDesc, SynapseMatrix};

pub(super) fn fixture(name: &str) -> Target {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/targets");
    target::load(Path::new(&format!("{dir}/{name}.json"))).unwrap()
}

/// A dense layer: `rows[i][j]` is the weight from source `j` to neuron `i` (zeros included as
/// synapses, as a folded layer may carry them).
pub(super) fn dense(name: &str, rows: &[Vec<f32>], bias: &[f32]) -> FoldedLayer {
    let sources = rows.first().map_or(0, Vec::len);
    let fan_in: Vec<Vec<(u32, f32)>> = rows
        .iter()
        .map(|r| r.iter().enumerate().map(|(j, &w)| (j as u32, w)).collect())
        .collect();
    FoldedLayer {
        name: name.to_owned(),
        model_layer: 0,
        folded: Default::default(),
        shape: vec![rows.len()],
        routing: Default::default(),
        synapses: SynapseMatrix::from_fan_in(sources, &fan_in),
        bias: bias.to_vec(),
    }
}

pub(super) fn network(
    channels: usize,
    time_steps: u32,
    threshold: f32,
    layers: Vec<FoldedLayer>,
) -> FoldedNetwork {
    FoldedNetwork {
        input: InputDesc {
            shape: [1, 1, channels],
            encoding: InputEncoding::Latency,
        },
        time_steps,
        threshold,
        layers,
        tie_break: TieBreak::PotentialAtEnd,
        pool_lowering: Default::default(),
        trained_for: None,
    }
}

/// Input 2 -> hidden 2 (max |w| 0.5 and 2.0) -> output 1.
fn two_scales() -> FoldedNetwork {
    let hidden = dense(
        "layer 1 (linear 2->2)",
        &[vec![0.5, -0.25], vec![2.0, 1.0]],
        &[0.0, 0.0],
    );
    let out = dense("layer 2 (linear 2->1)", &[vec![1.0, 1.0]], &[0.0]);
    network(2, 8, 1.0, vec![hidden, out])
}

#[test]
fn per_neuron_scale_on_a_hidden_layer() {
    // qmax = 127. Neuron 0: s = 127 / 0.5 = 254: 0.5 -> 127, -0.25 -> -63.5 -> -64, th = 254.
    // Neuron 1: s = 127 / 2 = 63.5: 2.0 -> 127, 1.0 -> 63.5 -> 64, th = round(63.5) = 64.
    let q = quantize(&two_scales(), &fixture("tiny")).unwrap();
    let h = &q.network.layers[0];
    assert_eq!(h.scale, vec![254.0, 63.5]);
    assert_eq!(h.threshold, vec![254, 64]);
    // Source-major rows: (0->0, 0->1, 1->0, 1->1).
    assert_eq!(h.synapses.weight, vec![127, 127, -64, 64]);
    assert_eq!(h.synapses.target, vec![0, 1, 0, 1]);
    assert_eq!(q.report[0].scale_min, 63.5);
    assert_eq!(q.report[0].scale_max, 254.0);
    assert_eq!(
        (q.report[0].threshold_min, q.report[0].threshold_max),
        (64, 254)
    );
    assert_eq!(q.report[0].weight_max_abs, 127);
}

#[test]
fn per_layer_scale_when_the_target_shares_thresholds() {
    // One scale for the layer: s = 127 / 2 = 63.5. Neuron 0: 0.5 -> 31.75 -> 32,
    // -0.25 -> -15.875 -> -16; neuron 1: 127 and 64; both thresholds 64.
    let mut t = fixture("tiny");
    t.neuron.per_neuron_threshold = false;
    let q = quantize(&two_scales(), &t).unwrap();
    let h = &q.network.layers[0];
    assert_eq!(h.scale, vec![63.5, 63.5]);
    assert_eq!(h.threshold, vec![64, 64]);
    assert_eq!(h.synapses.weight, vec![32, 127, -16, 64]);
}

#[test]
fn output_layer_keeps_one_scale_even_with_per_neuron_thresholds() {
    let out = dense(
        "layer 1 (linear 2->2)",
        &[vec![0.5, 0.25], vec![2.0, 1.0]],
        &[0.0, 0.0],
    );
    let q = quantize(&network(2, 8, 1.0, vec![out]), &fixture("tiny")).unwrap();
    let o = &q.network.layers[0];
    assert_eq!(o.scale, vec![63.5, 63.5]);
    assert_eq!(o.threshold, vec![64, 64]);
    assert_eq!(o.synapses.weight, vec![32, 127, 16, 64]);
    assert_eq!(o.params, NeuronParams::ttfs_output(12));
}

#[test]
fn zero_weights_are_dropped_and_counted() {
    // s = 127: 1.0 -> 127, 0.5 -> 63.5 -> 64; 0.003 -> 0.381 -> 0, -0.0035 -> -0.4445 -> 0,
    // and the two exact zeros: 4 dropped, 2 kept.
    let l = dense(
        "layer 1 (linear 3->2)",
        &[vec![1.0, 0.0, 0.003], vec![0.5, -0.0035, 0.0]],
        &[0.0, 0.0],
    );
    let q = quantize(&network(3, 8, 1.0, vec![l]), &fixture("tiny")).unwrap();
    let s = &q.network.layers[0].synapses;
    assert_eq!(s.offsets, vec![0, 2, 2, 2]);
    assert_eq!(s.target, vec![0, 1]);
    assert_eq!(s.weight, vec![127, 64]);
    assert_eq!(q.report[0].zeroed_weights, 4);
    assert_eq!(q.report[0].synapses, 2);
    assert_eq!(q.report[0].clipped_weights, 0);
}

#[test]
fn all_zero_weights_use_the_threshold_for_the_scale() {
    // s = qmax / threshold = 127 / 2 = 63.5, th = 127.
    let l = dense("layer 1 (linear 2->1)", &[vec![0.0, 0.0]], &[0.1]);
    let q = quantize(&network(2, 8, 2.0, vec![l]), &fixture("tiny")).unwrap();
    let o = &q.network.layers[0];
    assert_eq!(o.scale, vec![63.5]);
    assert_eq!(o.threshold, vec![127]);
    assert!(o.synapses.is_empty());
    // 0.1 * 63.5 = 6.35 -> 6 (f32 0.1 is 0.100000001...).
    assert_eq!(o.bias, vec![6]);
}

#[test]
fn biases_round_and_clip_to_the_current_register() {
    // current_bits 4: [-8, 7]. s = 127: 0.02 -> 2.54 -> 3; 1.0 -> 127 -> 7 (clipped).
    let mut t = fixture("tiny");
    t.core.current_bits = 4;
    let l = dense(
        "layer 1 (linear 1->2)",
        &[vec![1.0], vec![1.0]],
        &[0.02, 1.0],
    );
    let q = quantize(&network(1, 8, 1.0, vec![l]), &t).unwrap();
    assert_eq!(q.network.layers[0].bias, vec![3, 7]);
    assert_eq!(q.report[0].clipped_biases, 1);
    assert_eq!(q.network.registers.current_bits, 4);
    assert_eq!(q.network.registers.decay_bits, 12);
}

#[test]
fn bias_is_refused_on_a_target_without_bias_current() {
    let l = dense("layer 1 (linear 2->1)", &[vec![1.0, 0.5]], &[0.31]);
    let e = quantize(&network(2, 8, 1.0, vec![l]), &fixture("xylo")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "layer 1 (linear 2->1) has a bias (largest |b| = 0.31) but target \"xylo\" has no \
         bias current; retrain with --bias off"
    );
    // A bias that rounds to 0 needs no bias current.
    let l = dense("layer 1 (linear 2->1)", &[vec![1.0, 0.5]], &[1e-4]);
    let q = quantize(&network(2, 8, 1.0, vec![l]), &fixture("xylo")).unwrap();
    assert_eq!(q.network.layers[0].bias, vec![0]);
}

#[test]
fn threshold_limits_the_scale() {
    // threshold_bits 8: thmax = 127. s = 127 / 0.01 = 12700 would need th = 12700, so s is
    // lowered to 127 / 1.0 = 127: th = 127, 0.01 -> 1.27 -> 1, 0.005 -> 0.635 -> 1.
    let mut t = fixture("tiny");
    t.core.threshold_bits = 8;
    let l = dense("layer 1 (linear 2->1)", &[vec![0.01, 0.005]], &[0.0]);
    let q = quantize(&network(2, 8, 1.0, vec![l]), &t).unwrap();
    let o = &q.network.layers[0];
    assert_eq!(o.scale, vec![127.0]);
    assert_eq!(o.threshold, vec![127]);
    assert_eq!(o.synapses.weight, vec![1, 1]);
    assert_eq!(q.report[0].threshold_limited, 1);
}

#[test]
fn refractory_follows_the_target() {
    let mut t = fixture("tiny");
    let q = quantize(&two_scales(), &t).unwrap();
    assert_eq!(q.network.layers[0].params, NeuronParams::ttfs_hidden(12));
    assert_eq!(q.network.layers[1].params, NeuronParams::ttfs_output(12));

    t.neuron.max_refractory_steps = Some(8);
    let q = quantize(&two_scales(), &t).unwrap();
    for l in &q.network.layers {
        assert_eq!(l.params.refractory, Refractory::Steps(8));
    }

    t.neuron.max_refractory_steps = Some(4);
    let e = quantize(&two_scales(), &t).unwrap_err();
    assert!(matches!(
        e,
        QuantizeError::RefractoryTooShort {
            max: 4,
            needed: 8,
            ..
        }
    ));
    let msg = e.to_string();
    assert!(msg.contains("target \"tiny\""), "{msg}");
    assert!(
        msg.contains("at most 4 steps") && msg.contains("(8 steps)"),
        "{msg}"
    );
}

/// A malformed folded network is refused by its verifier, which the compile driver runs
/// after `lower` and before this pass.
#[test]
fn malformed_networks_are_errors() {
    let mut net = two_scales();
    net.layers[1] = dense("layer 2 (linear 3->1)", &[vec![1.0, 1.0, 1.0]], &[0.0]);
    let e = net.verify().unwrap_err().to_string();
    assert!(
        e.starts_with("layer 2 (linear 3->1): has 3 axons for 2 sources"),
        "{e}"
    );

    let mut net = two_scales();
    net.threshold = 0.0;
    let e = net.verify().unwrap_err().to_string();
    assert!(e.contains("threshold is 0"), "{e}");

    let mut net = two_scales();
    net.layers[0].synapses.weight[1] = f32::NAN;
    assert!(net.verify().is_err());
    assert_eq!(two_scales().verify(), Ok(()));

    let mut t = fixture("tiny");
    t.core.weight_bits = 1;
    let e = quantize(&two_scales(), &t).unwrap_err().to_string();
    assert!(
        e.contains("core.weight_bits is 1, must be between 2 and 16"),
        "{e}"
    );
}

#[test]
fn thermometer_input_gives_the_first_layer_a_persistent_current() {
    // Latency: every layer's current lasts one step (du = 2^D). Thermometer: the first layer's
    // lines spike once at step 1, so its current must persist (du = 0); the rest is unchanged.
    let latency = quantize(&two_scales(), &fixture("tiny")).unwrap();
    assert_eq!(latency.network.layers[0].params.du, 1 << 12);
    let mut net = two_scales();
    net.input.encoding = InputEncoding::Thermometer { levels: 1 };
    let q = quantize(&net, &fixture("tiny")).unwrap();
    let (hidden, out) = (&q.network.layers[0], &q.network.layers[1]);
    assert_eq!(
        hidden.params,
        NeuronParams {
            du: 0,
            ..latency.network.layers[0].params
        }
    );
    assert_eq!(out.params, latency.network.layers[1].params);
    assert_eq!(hidden.synapses, latency.network.layers[0].synapses);
}

#[test]
fn at_four_bits_the_scale_clips_an_outlier_when_that_costs_less_error() {
    // One weight of 1.0 and 200 of 0.1, 4-bit weights (qmax = 7): the largest-weight scale,
    // 7, rounds every 0.1 to 1/7 (squared error 200 x 0.0429^2 = 0.37); clipping the 1.0
    // costs (1 - alpha)^2 but brings the 0.1s close to their value.
    let row: Vec<f32> = std::iter::once(1.0)
        .chain(std::iter::repeat_n(0.1, 200))
        .collect();
    let mut net = network(201, 4, 1.0, vec![dense("layer 1", &[row], &[0.0])]);
    let mut four = fixture("tiny");
    four.core.weight_bits = 4;
    let q = quantize(&net, &four).unwrap();
    assert_eq!(q.scale_rule, ScaleRule::LeastError);
    let s = q.network.layers[0].scale[0];
    assert!(s > 7.0, "{s}");
    assert_eq!(q.report[0].clipped_weights, 1);
    let error = |s: f64| {
        let q = |w: f64| (w * s).round().clamp(-7.0, 7.0) / s;
        (1.0 - q(1.0)).powi(2) + 200.0 * (0.1f32 as f64 - q(0.1f32 as f64)).powi(2)
    };
    assert!(
        error(s) < error(7.0) / 2.0,
        "{} against {}",
        error(s),
        error(7.0)
    );
    assert_eq!(q.network.layers[0].threshold[0], s.round() as i32);
    // At 8 bits the largest weight sets the scale; so it does for a model trained for 4-bit
    // weights, whose integers are the largest-weight rule's.
    let wide = quantize(&net, &fixture("tiny")).unwrap();
    assert_eq!(wide.scale_rule, ScaleRule::LargestWeight);
    assert_eq!(wide.network.layers[0].scale[0], 127.0);
    net.trained_for = Some(crate::model::QuantizedFor {
        weight_bits: 4,
        threshold_bits: 16,
        per_neuron_threshold: false,
    });
    let trained = quantize(&net, &four).unwrap();
    assert_eq!(trained.scale_rule, ScaleRule::LargestWeight);
    assert_eq!(trained.network.layers[0].scale[0], 7.0);
}
