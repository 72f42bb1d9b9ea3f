//! The chip emulator against the golden model on random small layered networks mapped onto the
//! tiny target (several cores per layer): the same spikes, output potentials and decisions, and
//! every counter equal to a count made here from the golden run and the configuration alone.

use std::path::Path;

use proptest::prelude::*;
use ttfs_compiler::golden::{GoldenModel, GoldenRun};
use ttfs_compiler::ir::{InputDesc, QuantLayer, QuantNetwork, Registers, SynapseMatrix};
use ttfs_compiler::map::map;
use ttfs_compiler::model::Provenance;
use ttfs_runtime::config::{
    ChipConfig, InputEncoding, NeuronParams, Refractory, TieBreak, WhileRefractory,
};
use ttfs_runtime::emulator::{Emulator, Inference, RunOptions};
use ttfs_runtime::target::{NeuronUpdateMode, Target};

use crate::common::Rng;

/// The tiny target (4 x 4 cores of 32 neurons, 64 axons, 1024 synapses), changed by `f`.
pub fn tiny(f: impl FnOnce(&mut Target)) -> Target {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/targets/tiny.json");
    let mut target = ttfs_runtime::target::load(Path::new(path)).unwrap();
    f(&mut target);
    target.validate().unwrap();
    target
}

/// A random layered network: `inputs` pixels coded by `encoding`, layers of `sizes` neurons,
/// each synapse present with probability `density` with a nonzero 8-bit weight, random
/// thresholds and biases; the last layer with the output neuron's parameters, the others the
/// hidden neuron's, and with the thermometer code a persistent current (`du = 0`) in the first.
fn random_network(
    inputs: usize,
    encoding: InputEncoding,
    sizes: &[usize],
    density: f64,
    time_steps: u32,
    tie_break: TieBreak,
    seed: u64,
) -> QuantNetwork {
    let mut rng = Rng::new(seed);
    let mut sources = inputs * encoding.lines_per_pixel() as usize;
    let count = sizes.len();
    let layers = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let fan_in: Vec<Vec<(u32, i32)>> = (0..n)
                .map(|_| {
                    (0..sources as u32)
                        .filter_map(|s| {
                            let w = rng.range(-127, 127) as i32;
                            (rng.chance(density) && w != 0).then_some((s, w))
                        })
                        .collect()
                })
                .collect();
            let layer = QuantLayer {
                name: format!("layer {i}"),
                model_layer: i,
                folded: Default::default(),
                shape: vec![n],
                routing: Default::default(),
                synapses: SynapseMatrix::from_fan_in(sources, &fan_in),
                threshold: (0..n).map(|_| rng.range(1, 150) as i32).collect(),
                bias: (0..n).map(|_| rng.range(-20, 30) as i32).collect(),
                scale: vec![1.0; n],
                params: {
                    let base = if i + 1 == count {
                        NeuronParams::ttfs_output(12)
                    } else {
                        NeuronParams::ttfs_hidden(12)
                    };
                    let persists = i == 0 && encoding != InputEncoding::Latency;
                    NeuronParams {
                        du: if persists { 0 } else { base.du },
                        ..base
                    }
                },
            };
            sources = n;
            layer
        })
        .collect();
    QuantNetwork {
        input: InputDesc {
            shape: [1, 1, inputs],
            encoding,
        },
        time_steps,
        registers: Registers {
            weight_bits: 8,
            current_bits: 24,
            potential_bits: 24,
            threshold_bits: 24,
            decay_bits: 12,
        },
        layers,
        tie_break,
        pool_lowering: Default::default(),
        neuron_update: NeuronUpdateMode::EveryStep,
    }
}

/// `net` without biases, its neurons updated `mode`: with latency input, a network whose
/// neurons cannot change without input, as an event-driven target needs.
fn without_bias(mut net: QuantNetwork, mode: NeuronUpdateMode) -> QuantNetwork {
    for layer in &mut net.layers {
        layer.bias.fill(0);
    }
    net.neuron_update = mode;
    net
}

/// Random pixels, about a third of them 0 (silent).
fn random_pixels(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            if rng.chance(0.33) {
                0
            } else {
                rng.range(1, 255) as u8
            }
        })
        .collect()
}

/// What the counters must be, counted from the golden run and the configuration alone.
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    host_packets: u64,
    packets: u64,
    hops: u64,
    spikes_per_layer: Vec<u64>,
    /// Per core: popping every event delivered to it plus updating its neurons.
    core_busy_cycles: Vec<u64>,
    /// Neuron updates per layer.
    updates_per_layer: Vec<u64>,
    /// Per layer, the live (neuron, step) pairs no spike reached: updated on a target that
    /// updates every step, skipped on one that updates on input.
    skipped_per_layer: Vec<u64>,
}

fn expected(
    config: &ChipConfig,
    net: &QuantNetwork,
    target: &Target,
    golden: &GoldenRun,
    pixels: &[u8],
) -> Expected {
    let t = &target.timing_cycles;
    let lanes = u64::from(target.core.synapse_lanes);
    let mut busy = vec![0u64; config.cores.len()];
    let pop = |busy: &mut Vec<u64>, core: u32, axon: u32| {
        let len = config.cores[core as usize]
            .synapses
            .row(axon as usize)
            .len() as u64;
        busy[core as usize] +=
            u64::from(t.event_overhead) + len.div_ceil(lanes) * u64::from(t.synop);
    };
    let mut host_packets = 0;
    config
        .input
        .encoding
        .for_each_spike(pixels, config.time_steps, |c, _| {
            for a in config.input.targets.row(c as usize) {
                host_packets += 1;
                pop(&mut busy, a.core, a.axon);
            }
        });
    // (layer, index in the layer) -> (core, neuron on the core).
    let mut home: Vec<Vec<(u32, u32)>> = net
        .layers
        .iter()
        .map(|l| vec![(u32::MAX, 0); l.neurons()])
        .collect();
    for (c, core) in config.cores.iter().enumerate() {
        for (k, &i) in core.layer_index.iter().enumerate() {
            home[core.layer as usize][i as usize] = (c as u32, k as u32);
        }
    }
    let last = net.layers.len() - 1;
    let (mut packets, mut hops) = (0, 0);
    for (l, spikes) in golden.spikes.iter().enumerate().take(last) {
        for &(i, _) in spikes {
            let (c, k) = home[l][i as usize];
            let from = config.cores[c as usize].position;
            for a in config.cores[c as usize].routes.row(k as usize) {
                let to = config.cores[a.core as usize].position;
                packets += 1;
                hops += u64::from(from.x.abs_diff(to.x) + from.y.abs_diff(to.y));
                pop(&mut busy, a.core, a.axon);
            }
        }
    }
    // Updates: in every step that a neuron is live (every step for an integrating neuron;
    // steps 1..=its spike step, or all T, for a frozen one); on an event-driven target only
    // those of its live steps in which a spike reached it.
    let on_input = target.neuron.update == NeuronUpdateMode::OnInput;
    let reached = reached(net, golden, pixels);
    let mut updates_per_layer = vec![0u64; net.layers.len()];
    let mut skipped_per_layer = vec![0u64; net.layers.len()];
    for (l, layer) in net.layers.iter().enumerate() {
        assert_eq!(layer.params.refractory, Refractory::UntilEnd);
        let first = golden.first_spike_steps(l);
        for (i, f) in first.iter().enumerate() {
            let last_live = match (layer.params.while_refractory, f) {
                (WhileRefractory::Frozen, Some(s)) => *s,
                _ => net.time_steps,
            };
            let live = 1..=last_live;
            let touched = live
                .clone()
                .filter(|&t| reached[l][t as usize - 1][i])
                .count() as u64;
            let updates = if on_input {
                touched
            } else {
                u64::from(last_live)
            };
            skipped_per_layer[l] += u64::from(last_live) - touched;
            updates_per_layer[l] += updates;
            let (c, _) = home[l][i];
            busy[c as usize] += updates * u64::from(t.neuron_update);
        }
    }
    Expected {
        host_packets,
        packets,
        hops,
        spikes_per_layer: golden.spikes.iter().map(|s| s.len() as u64).collect(),
        core_busy_cycles: busy,
        updates_per_layer,
        skipped_per_layer,
    }
}

/// `reached[l][t - 1][i]`: whether a spike of step `t` (an input channel for layer 0, a
/// neuron of layer `l - 1` otherwise) has a synapse onto neuron `i` of layer `l`.
fn reached(net: &QuantNetwork, golden: &GoldenRun, pixels: &[u8]) -> Vec<Vec<Vec<bool>>> {
    let steps = net.time_steps as usize;
    let mut sources: Vec<Vec<usize>> = vec![Vec::new(); steps];
    net.input
        .encoding
        .for_each_spike(pixels, net.time_steps, |c, t| {
            sources[t as usize - 1].push(c as usize);
        });
    let mut out = Vec::new();
    for (l, layer) in net.layers.iter().enumerate() {
        if l > 0 {
            sources = vec![Vec::new(); steps];
            for &(j, t) in &golden.spikes[l - 1] {
                sources[t as usize - 1].push(j as usize);
            }
        }
        let syn = &layer.synapses;
        let mut hit = vec![vec![false; layer.neurons()]; steps];
        for (t, js) in sources.iter().enumerate() {
            for &j in js {
                for axon in layer.routing.axons_of(j) {
                    for &i in &syn.target[syn.offsets[axon]..syn.offsets[axon + 1]] {
                        hit[t][i as usize] = true;
                    }
                }
            }
        }
        out.push(hit);
    }
    out
}

/// Checks one inference against the golden model and the independent counts.
pub fn check(
    e: &Inference,
    g: &GoldenRun,
    config: &ChipConfig,
    net: &QuantNetwork,
    target: &Target,
    pixels: &[u8],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(&e.spikes, &g.spikes);
    prop_assert_eq!(&e.output_potential, &g.output_potential);
    prop_assert_eq!(e.decision.class, g.decision.class);
    prop_assert_eq!(e.decision.step, g.decision.step);
    prop_assert_eq!(e.decision.tied, g.decision.tied);
    prop_assert!(e.violations.is_empty(), "{:?}", e.violations);
    let c = &e.counters;
    prop_assert_eq!(&c.synaptic_ops_per_layer, &g.synaptic_ops);
    prop_assert_eq!(c.synaptic_ops, g.synaptic_ops.iter().sum::<u64>());
    prop_assert_eq!(&c.neuron_updates_per_layer, &g.neuron_updates);
    prop_assert_eq!(c.neuron_updates, g.neuron_updates.iter().sum::<u64>());
    let x = expected(config, net, target, g, pixels);
    prop_assert_eq!(&c.spikes_per_layer, &x.spikes_per_layer);
    prop_assert_eq!(&c.neuron_updates_per_layer, &x.updates_per_layer);
    prop_assert_eq!(c.host_packets, x.host_packets);
    prop_assert_eq!(c.packets, x.packets);
    prop_assert_eq!(c.hops, x.hops);
    prop_assert_eq!(&c.core_busy_cycles, &x.core_busy_cycles);
    // Time: T steps, each the sum of its phases plus one barrier per phase.
    let steps = net.time_steps;
    let phases = net.layers.len() as u64;
    let barrier = u64::from(target.timing_cycles.barrier);
    prop_assert_eq!(c.steps_run, steps);
    prop_assert_eq!(c.step_cycles.len(), steps as usize);
    prop_assert_eq!(c.cycles, c.step_cycles.iter().sum::<u64>());
    prop_assert_eq!(
        c.cycles,
        c.phase_cycles.iter().sum::<u64>() + u64::from(steps) * phases * barrier
    );
    prop_assert!(c.peak_fifo_depth <= target.core.fifo_depth);
    Ok(())
}

/// Maps a random network onto `target` (skipping one that does not fit) and compares the
/// emulator with the golden model on a few random inputs, also with early exit.
#[allow(clippy::too_many_arguments)]
fn emulator_equals_golden(
    target: &Target,
    inputs: usize,
    levels: u32,
    sizes: &[usize],
    density: f64,
    time_steps: u32,
    at_decision: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let tie_break = if at_decision {
        TieBreak::PotentialAtDecision
    } else {
        TieBreak::PotentialAtEnd
    };
    let encoding = match levels {
        0 => InputEncoding::Latency,
        levels => InputEncoding::Thermometer { levels },
    };
    let net = random_network(
        inputs, encoding, sizes, density, time_steps, tie_break, seed,
    );
    let Ok(mapping) = map(&net, target, None, &Provenance::default()) else {
        return Ok(());
    };
    let config = &mapping.config;
    config.check_target(target).unwrap();
    let mut emulator = Emulator::new(config, target).unwrap();
    let mut golden = GoldenModel::new(&net);
    for i in 0..3 {
        let pixels = random_pixels(inputs, seed ^ (i + 1));
        let g = golden.run(&pixels).unwrap();
        let e = emulator.run(&pixels, RunOptions::default()).unwrap();
        check(&e, &g, config, &net, target, &pixels)?;

        // Early exit: the same spikes up to the decision step, which ends the run; where the
        // tie break reads the decision step, the same decision.
        let early = emulator
            .run(&pixels, RunOptions { early_exit: true })
            .unwrap();
        let stop = g.decision.step.unwrap_or(time_steps);
        prop_assert_eq!(early.counters.steps_run, stop);
        let truncated: Vec<Vec<(u32, u32)>> = g
            .spikes
            .iter()
            .map(|l| l.iter().copied().filter(|&(_, t)| t <= stop).collect())
            .collect();
        prop_assert_eq!(&early.spikes, &truncated);
        prop_assert_eq!(early.decision.step, g.decision.step);
        if at_decision || g.decision.step.is_none() {
            prop_assert_eq!(early.decision.class, g.decision.class);
        }
        prop_assert!(early.counters.cycles <= e.counters.cycles);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// The emulator equals the golden model on the tiny target as shipped, with latency or
    /// thermometer input (1 to 3 lines per pixel into a first layer with a persistent current).
    #[test]
    fn emulator_equals_golden_on_random_networks(
        inputs in 1usize..60,
        levels in 0u32..4,
        sizes in proptest::collection::vec(1usize..70, 1..4),
        density in 0.05f64..0.6,
        time_steps in 1u32..8,
        at_decision in any::<bool>(),
        seed in any::<u64>(),
    ) {
        emulator_equals_golden(&tiny(|_| {}), inputs, levels, &sizes, density, time_steps, at_decision, seed)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// With one-event queues every busy core back-pressures its senders, and with 3 synapse
    /// lanes a pop costs `ceil(fan-out / 3)` synop cycles; nothing changes but the timing.
    #[test]
    fn emulator_equals_golden_with_one_event_queues(
        inputs in 1usize..60,
        levels in 0u32..4,
        sizes in proptest::collection::vec(1usize..70, 1..4),
        density in 0.05f64..0.6,
        time_steps in 1u32..8,
        at_decision in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let target = tiny(|t| {
            t.core.fifo_depth = 1;
            t.core.synapse_lanes = 3;
        });
        emulator_equals_golden(&target, inputs, levels, &sizes, density, time_steps, at_decision, seed)?;
    }
}

/// The same bias-free network on the tiny target as shipped and on the tiny target updating
/// neurons only on input: the event-driven emulator equals its golden model (every counter
/// counted independently), both give the same spikes, potentials and decisions as per-step
/// updates, and the update counters differ by exactly the live (neuron, step) pairs that no
/// spike reached. Returns the updates skipped.
fn event_driven_equals_every_step(
    inputs: usize,
    sizes: &[usize],
    density: f64,
    time_steps: u32,
    seed: u64,
) -> Result<u64, TestCaseError> {
    let base = random_network(
        inputs,
        InputEncoding::Latency,
        sizes,
        density,
        time_steps,
        TieBreak::PotentialAtDecision,
        seed,
    );
    let every = without_bias(base.clone(), NeuronUpdateMode::EveryStep);
    let event = without_bias(base, NeuronUpdateMode::OnInput);
    let every_target = tiny(|_| {});
    let event_target = tiny(|t| t.neuron.update = NeuronUpdateMode::OnInput);
    let (Ok(every_map), Ok(event_map)) = (
        map(&every, &every_target, None, &Provenance::default()),
        map(&event, &event_target, None, &Provenance::default()),
    ) else {
        return Ok(0);
    };
    event_map.config.check_target(&event_target).unwrap();
    let mut every_emulator = Emulator::new(&every_map.config, &every_target).unwrap();
    let mut event_emulator = Emulator::new(&event_map.config, &event_target).unwrap();
    let (mut every_golden, mut event_golden) = (GoldenModel::new(&every), GoldenModel::new(&event));
    let mut skipped_total = 0;
    for i in 0..3 {
        let pixels = random_pixels(inputs, seed ^ (i + 1));
        let g = event_golden.run(&pixels).unwrap();
        let e = event_emulator.run(&pixels, RunOptions::default()).unwrap();
        check(&e, &g, &event_map.config, &event, &event_target, &pixels)?;
        let per_step = every_golden.run(&pixels).unwrap();
        let per_step_chip = every_emulator.run(&pixels, RunOptions::default()).unwrap();
        prop_assert_eq!(&g.spikes, &per_step.spikes);
        prop_assert_eq!(&g.output_potential, &per_step.output_potential);
        prop_assert_eq!(g.decision, per_step.decision);
        prop_assert_eq!(&g.synaptic_ops, &per_step.synaptic_ops);
        let skipped =
            expected(&event_map.config, &event, &event_target, &g, &pixels).skipped_per_layer;
        for (l, &s) in skipped.iter().enumerate() {
            prop_assert_eq!(per_step.neuron_updates[l] - g.neuron_updates[l], s);
            prop_assert_eq!(
                per_step_chip.counters.neuron_updates_per_layer[l]
                    - e.counters.neuron_updates_per_layer[l],
                s
            );
        }
        skipped_total += skipped.iter().sum::<u64>();
    }
    Ok(skipped_total)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Event-driven neuron updates change no spike, only the update counters, by exactly the
    /// updates skipped.
    #[test]
    fn event_driven_updates_give_the_same_spikes_and_skip_exactly_the_untouched_updates(
        inputs in 1usize..60,
        sizes in proptest::collection::vec(1usize..70, 1..4),
        density in 0.02f64..0.6,
        time_steps in 1u32..8,
        seed in any::<u64>(),
    ) {
        event_driven_equals_every_step(inputs, &sizes, density, time_steps, seed)?;
    }
}

#[test]
fn a_sparse_network_skips_updates_on_an_event_driven_target() {
    // Sparse synapses leave many neurons without input in a step: the comparison above must
    // see skipped updates, or it checks nothing.
    let skipped = event_driven_equals_every_step(40, &[50, 30, 10], 0.05, 4, 3).unwrap();
    assert!(skipped > 100, "{skipped}");
}

#[test]
fn an_event_driven_target_refuses_a_core_that_changes_without_input() {
    let target = tiny(|t| {
        t.neuron.update = NeuronUpdateMode::OnInput;
        t.neuron.bias = true;
    });
    let net = random_network(
        20,
        InputEncoding::Latency,
        &[30, 10],
        0.3,
        4,
        TieBreak::PotentialAtEnd,
        1,
    );
    let mut biased = map(&net, &target, None, &Provenance::default())
        .unwrap()
        .config;
    let err = biased.check_target(&target).unwrap_err().to_string();
    assert!(
        err.starts_with("core 0 (layer 0) would change without input: ")
            && err.contains("of its neurons have a bias current")
            && err.ends_with("but the target has neuron.update = on_input"),
        "{err}"
    );
    for core in &mut biased.cores {
        core.bias.fill(0);
    }
    biased.check_target(&target).unwrap();
    biased.cores[0].params.du = 0;
    let err = biased.check_target(&target).unwrap_err().to_string();
    assert!(err.contains("core 0 (layer 0) would change without input: its input current lasts more than one step (du = 0 of 4096)"), "{err}");
}

#[test]
fn one_event_queues_stall_and_change_only_the_timing() {
    // A fixed network with dense traffic into few cores: with queues of one event its senders
    // stall, and every spike stays the same as with the shipped queues of 16.
    let net = random_network(
        40,
        InputEncoding::Latency,
        &[60, 50, 10],
        0.5,
        4,
        TieBreak::PotentialAtEnd,
        11,
    );
    let deep = tiny(|_| {});
    let shallow = tiny(|t| t.core.fifo_depth = 1);
    let pixels = random_pixels(40, 5);
    let mut golden = GoldenModel::new(&net);
    let g = golden.run(&pixels).unwrap();
    let mut cycles = Vec::new();
    for target in [&deep, &shallow] {
        let mapping = map(&net, target, None, &Provenance::default()).unwrap();
        let mut emulator = Emulator::new(&mapping.config, target).unwrap();
        let e = emulator.run(&pixels, RunOptions::default()).unwrap();
        check(&e, &g, &mapping.config, &net, target, &pixels).unwrap();
        cycles.push((e.counters.stall_cycles, e.counters.peak_fifo_depth));
    }
    assert!(cycles[1].0 > 0, "{cycles:?}");
    assert_eq!(cycles[1].1, 1);
    assert!(cycles[0].1 > 1, "{cycles:?}");
}

#[test]
fn thermometer_input_with_a_persistent_first_layer_current_matches() {
    // 12 pixels x 3 lines = 36 channels: fits the tiny target's 64 axons, so it must map.
    let target = tiny(|_| {});
    let encoding = InputEncoding::Thermometer { levels: 3 };
    for seed in 0..8u64 {
        let net = random_network(
            12,
            encoding,
            &[20, 5],
            0.5,
            6,
            TieBreak::PotentialAtEnd,
            seed,
        );
        assert_eq!(net.layers[0].params.du, 0);
        assert_eq!(net.layers[1].params.du, 1 << 12);
        let mapping = map(&net, &target, None, &Provenance::default()).unwrap();
        assert_eq!(mapping.config.input.targets.rows(), 36);
        let mut emulator = Emulator::new(&mapping.config, &target).unwrap();
        let mut golden = GoldenModel::new(&net);
        let mut first_layer_spikes = 0;
        for i in 0..4 {
            let pixels = random_pixels(12, seed * 10 + i);
            let g = golden.run(&pixels).unwrap();
            let e = emulator.run(&pixels, RunOptions::default()).unwrap();
            check(&e, &g, &mapping.config, &net, &target, &pixels).unwrap();
            first_layer_spikes += g.spikes[0].len();
            // Every host packet is an active line at step 1.
            let lines: u32 = pixels.iter().map(|&p| encoding.active_lines(p)).sum();
            assert!(e.counters.host_packets >= u64::from(lines));
        }
        assert!(
            first_layer_spikes > 0,
            "seed {seed}: the first layer never fired"
        );
    }
}
