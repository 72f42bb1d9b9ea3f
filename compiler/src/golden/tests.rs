//! Hand-worked tiny networks whose spike times and potentials are worked out in the comments.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ttfs_runtime::config::{
    InputEncoding, NeuronParams, Refractory, Reset, TieBreak, WhileRefractory,
};

use super::*;
use crate::ir::{InputDesc, QuantLayer, Registers, SynapseMatrix};

const D: u32 = 12;

fn regs() -> Registers {
    Registers {
        weight_bits: 8,
        current_bits: 24,
        potential_bits: 24,
        threshold_bits: 24,
        decay_bits: D,
    }
}

/// A layer from per-neuron fan-in lists `(source, weight)`.
fn layer(
    sources: usize,
    fan_in: &[Vec<(u32, i32)>],
    threshold: &[i32],
    bias: &[i32],
    params: NeuronParams,
) -> QuantLayer {
    QuantLayer {
        name: format!("layer ({} neurons)", threshold.len()),
        model_layer: 0,
        folded: Default::default(),
        shape: vec![threshold.len()],
        routing: Default::default(),
        synapses: SynapseMatrix::from_fan_in(sources, fan_in),
        threshold: threshold.to_vec(),
        bias: bias.to_vec(),
        scale: vec![1.0; threshold.len()],
        params,
    }
}

fn network(channels: usize, time_steps: u32, layers: Vec<QuantLayer>) -> QuantNetwork {
    QuantNetwork {
        input: InputDesc {
            shape: [1, 1, channels],
            encoding: InputEncoding::Latency,
        },
        time_steps,
        registers: regs(),
        layers,
        tie_break: TieBreak::PotentialAtEnd,
        pool_lowering: Default::default(),
        neuron_update: Default::default(),
    }
}

/// Pixels whose latency code spikes at the given steps (`None`: pixel 0, no spike).
fn pixels(time_steps: u32, steps: &[Option<u32>]) -> Vec<u8> {
    steps
        .iter()
        .map(|s| match s {
            None => 0,
            Some(t) => (1..=255u8)
                .find(|&p| InputEncoding::Latency.spike_step(p, time_steps) == Some(*t))
                .unwrap(),
        })
        .collect()
}

fn hidden() -> NeuronParams {
    NeuronParams::ttfs_hidden(D)
}

fn output() -> NeuronParams {
    NeuronParams::ttfs_output(D)
}

#[test]
fn two_inputs_fire_when_the_second_arrives() {
    // Weights 3 and 2, threshold 5. Input 0 at step 2: u = 3, v = 3. Steps 3, 4: u = 0 (du =
    // 2^D clears it), v = 3. Input 1 at step 5: u = 2, v = 5 >= 5: spike at 5, v = 0, frozen.
    let net = network(
        2,
        8,
        vec![layer(2, &[vec![(0, 3), (1, 2)]], &[5], &[0], hidden())],
    );
    let mut g = GoldenModel::new(&net);
    let r = g.run(&pixels(8, &[Some(2), Some(5)])).unwrap();
    assert_eq!(r.spikes, vec![vec![(0, 5)]]);
    assert_eq!(r.output_potential, vec![vec![0, 3, 3, 3, 0, 0, 0, 0]]);
    assert_eq!(r.decision.class, 0);
    assert_eq!(r.decision.step, Some(5));
    assert_eq!(r.neuron_updates, vec![5]); // steps 1..=5, frozen in 6..=8
    assert_eq!(r.synaptic_ops, vec![2]);
    assert_eq!(r.first_spike_steps(0), vec![Some(5)]);
    assert!(r.first_spike_steps(1).is_empty());
}

#[test]
fn a_spike_crosses_every_layer_in_its_step() {
    // Input at step 3 -> A (weight 5, threshold 5) fires in phase 1 of step 3 -> B (weight 4,
    // threshold 4) integrates it in phase 2 of the same step and fires at 3 too.
    let a = layer(1, &[vec![(0, 5)]], &[5], &[0], hidden());
    let b = layer(1, &[vec![(0, 4)]], &[4], &[0], output());
    let net = network(1, 4, vec![a, b]);
    let r = GoldenModel::new(&net).run(&pixels(4, &[Some(3)])).unwrap();
    assert_eq!(r.spikes, vec![vec![(0, 3)], vec![(0, 3)]]);
    assert_eq!(r.decision.step, Some(3));
    assert_eq!(r.output_potential, vec![vec![0, 0, 4, 4]]);
}

#[test]
fn bias_alone_fires_a_neuron() {
    // Bias 2, threshold 7, no input: v = 2, 4, 6, 8 >= 7: spike at step 4, v = 0, frozen.
    let net = network(1, 6, vec![layer(1, &[vec![]], &[7], &[2], hidden())]);
    let r = GoldenModel::new(&net).run(&[0]).unwrap();
    assert_eq!(r.spikes, vec![vec![(0, 4)]]);
    assert_eq!(r.output_potential, vec![vec![2, 4, 6, 0, 0, 0]]);
    assert_eq!(r.neuron_updates, vec![4]);
    assert_eq!(r.synaptic_ops, vec![0]);
}

#[test]
fn output_keeps_integrating_while_hidden_freezes() {
    // Input 0 at step 1, input 1 at step 3.
    // Hidden H (in0: 5, in1: 5, threshold 5) fires at 1, resets to 0 and freezes: at step 3
    // in1's 5 is dropped, no second spike. Hidden H2 (in1: 5, threshold 5) fires at 3.
    // Output O (H: 4, H2: 2, threshold 3): step 1 v = 4, spike, Hold; step 2 v = 4; step 3
    // it keeps integrating H2's spike (Integrate): v = 6, refractory so no spike; step 4 v = 6.
    let h = layer(
        2,
        &[vec![(0, 5), (1, 5)], vec![(1, 5)]],
        &[5, 5],
        &[0, 0],
        hidden(),
    );
    let o = layer(2, &[vec![(0, 4), (1, 2)]], &[3], &[0], output());
    let net = network(2, 4, vec![h, o]);
    let mut g = GoldenModel::new(&net);
    let r = g.run(&pixels(4, &[Some(1), Some(3)])).unwrap();
    assert_eq!(r.spikes, vec![vec![(0, 1), (1, 3)], vec![(0, 1)]]);
    assert_eq!(r.output_potential, vec![vec![4, 4, 6, 6]]);
    // Hidden: step 1 both, steps 2 and 3 only H2, step 4 none = 4; output: 4 steps.
    assert_eq!(r.neuron_updates, vec![4, 4]);
    // in0 reaches H, in1 reaches H and H2 (3 traversals, H's dropped); H and H2 reach O.
    assert_eq!(r.synaptic_ops, vec![3, 2]);
    assert_eq!(g.layers[0].v, vec![0, 0]);
    assert_eq!(r.decision.step, Some(1));
    // Same input, same result: the state is reset between runs.
    assert_eq!(g.run(&pixels(4, &[Some(1), Some(3)])).unwrap(), r);
}

#[test]
fn saturation_is_clamped_and_counted() {
    // current and potential registers of 4 bits: [-8, 7]. Threshold 8 is out of reach.
    // N0: bias 3, no input: v = 3, 6, 9 -> 7 (sat), 10 -> 7 (sat): 2 v events.
    // N1: input at step 1 with weight 10: u = 10 -> 7 (1 u event), v = 7; then u = 0, v = 7.
    let mut net = network(
        1,
        4,
        vec![layer(
            1,
            &[vec![], vec![(0, 10)]],
            &[8, 8],
            &[3, 0],
            hidden(),
        )],
    );
    net.registers.current_bits = 4;
    net.registers.potential_bits = 4;
    let r = GoldenModel::new(&net).run(&pixels(4, &[Some(1)])).unwrap();
    assert_eq!(
        r.peaks,
        vec![RegisterPeaks {
            max_abs_u: 7,
            max_abs_v: 7,
            u_saturations: 1,
            v_saturations: 2,
        }]
    );
    assert_eq!(r.output_potential, vec![vec![3, 6, 7, 7], vec![7, 7, 7, 7]]);
    assert!(r.spikes[0].is_empty());
    // No output fired and both end at 7: the lower index wins.
    assert_eq!(r.decision.class, 0);
    assert_eq!(r.decision.tied, 0);
}

#[test]
fn persistent_current_and_leak_shift_arithmetically() {
    // D = 2, du = 0 (u persists: u * 4 >> 2 = u), dv = 1 (v * 3 >> 2). Input at step 1.
    // N0 (weight -5): u = -5; v = -5; (-15 >> 2) - 5 = -4 - 5 = -9 (floor of -3.75 is -4, a
    // truncating division would give -3); (-27 >> 2) - 5 = -7 - 5 = -12;
    // (-36 >> 2) - 5 = -9 - 5 = -14.
    // N1 (weight 5): v = 5; (15 >> 2) + 5 = 8; (24 >> 2) + 5 = 11; (33 >> 2) + 5 = 13.
    let params = NeuronParams {
        du: 0,
        dv: 1,
        refractory: Refractory::UntilEnd,
        reset: Reset::Hold,
        while_refractory: WhileRefractory::Integrate,
    };
    let mut net = network(
        1,
        4,
        vec![layer(
            1,
            &[vec![(0, -5)], vec![(0, 5)]],
            &[100, 100],
            &[0, 0],
            params,
        )],
    );
    net.registers.decay_bits = 2;
    let r = GoldenModel::new(&net).run(&pixels(4, &[Some(1)])).unwrap();
    assert_eq!(
        r.output_potential,
        vec![vec![-5, -9, -12, -14], vec![5, 8, 11, 13]]
    );
    assert_eq!(r.peaks[0].max_abs_u, 5);
    assert_eq!(r.peaks[0].max_abs_v, 14);
    assert_eq!(r.decision.class, 1);
    assert_eq!(r.decision.step, None);
}

#[test]
fn short_refractory_lets_a_neuron_fire_twice() {
    // Refractory::Steps(1), Reset::To(0), Frozen; bias 3, threshold 5:
    // v = 3; 6 -> spike at 2, v = 0; step 3 refractory (frozen, no update); v = 3; 6 -> spike
    // at 5, v = 0; step 6 refractory.
    let params = NeuronParams {
        refractory: Refractory::Steps(1),
        ..hidden()
    };
    let net = network(1, 6, vec![layer(1, &[vec![]], &[5], &[3], params)]);
    let r = GoldenModel::new(&net).run(&[0]).unwrap();
    assert_eq!(r.spikes, vec![vec![(0, 2), (0, 5)]]);
    assert_eq!(r.output_potential, vec![vec![3, 0, 0, 3, 0, 0]]);
    assert_eq!(r.neuron_updates, vec![4]);
    assert_eq!(r.first_spike_steps(0), vec![Some(2)]);
}

#[test]
fn tie_broken_by_end_or_decision_potential() {
    // Input 0 at step 2, input 1 at step 3; threshold 5, output neurons (Hold, Integrate).
    // O0 (in0: 7): v = 0, 7, 7, 7, spike at 2. O1 (in0: 6, in1: 4): v = 0, 6, 10, 10, spike
    // at 2. Tied at step 2: at the decision step 7 > 6 (class 0), at the end 10 > 7 (class 1).
    let o = layer(
        2,
        &[vec![(0, 7)], vec![(0, 6), (1, 4)]],
        &[5, 5],
        &[0, 0],
        output(),
    );
    let mut net = network(2, 4, vec![o]);
    let input = pixels(4, &[Some(2), Some(3)]);
    let r = GoldenModel::new(&net).run(&input).unwrap();
    assert_eq!(
        r.output_potential,
        vec![vec![0, 7, 7, 7], vec![0, 6, 10, 10]]
    );
    assert_eq!(r.spikes, vec![vec![(0, 2), (1, 2)]]);
    assert_eq!(r.decision.class, 1);
    assert_eq!((r.decision.step, r.decision.tied), (Some(2), 2));
    net.tie_break = TieBreak::PotentialAtDecision;
    let r = GoldenModel::new(&net).run(&input).unwrap();
    assert_eq!(r.decision.class, 0);
}

#[test]
fn wrong_input_length_and_malformed_networks_are_errors() {
    let net = network(2, 4, vec![layer(2, &[vec![(0, 1)]], &[1], &[0], output())]);
    let e = GoldenModel::new(&net).run(&[1, 2, 3]).unwrap_err();
    assert_eq!(
        e,
        GoldenError::InputLength {
            found: 3,
            expected: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "the input has 3 values but the network expects 2 (C x H x W)"
    );

    let mut bad = net.clone();
    bad.layers[0].synapses.target[0] = 7;
    let e = GoldenModel::new(&bad).run(&[1, 2]).unwrap_err();
    assert!(matches!(e, GoldenError::Malformed(_)), "{e}");

    let mut bad = net.clone();
    bad.time_steps = 0;
    assert!(GoldenModel::new(&bad).run(&[1, 2]).is_err());

    let mut bad = net;
    bad.layers[0].params.du = (1 << D) + 1;
    let e = GoldenModel::new(&bad).run(&[1, 2]).unwrap_err().to_string();
    assert!(e.contains("exceed 2^D"), "{e}");
}
