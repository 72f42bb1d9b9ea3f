//! Hand-built configurations whose cycle counts are worked out from the machine model of the
//! parent module's docs, step by step in each test's comments.
//!
//! Every test runs on the tiny target (`fixtures/targets/tiny.json`) with the timing of
//! [`timed`]: all costs distinct (event_overhead 3, synop 2, neuron_update 5, spike_inject 7,
//! hop 11, barrier 13, host_inject 22, one synapse lane), so a wrong term in a formula shows in
//! the total. Notation in the comments: E = event_overhead, S = synop, N = neuron_update,
//! I = spike_inject, H = hop, B = barrier, HI = host_inject; "c: ..." is what happens at cycle c.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::*;
use crate::config::{
    AxonRef, ChipConfig, ConfigError, CoreConfig, Csr, Decoding, InputEncoding, InputMap,
    LayerInfo, MeshPosition, NeuronParams, NeuronRef, OutputMap, Refractory, Reset, Synapse,
    TieBreak, WhileRefractory,
};
use crate::decision::Decision;
use crate::target::Target;

/// The decay resolution of the tiny target.
const D: u32 = 12;

/// The tiny target as shipped.
fn tiny() -> Target {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/targets/tiny.json");
    crate::target::load(Path::new(path)).expect("the tiny target fixture loads")
}

/// The tiny target with the timing of these tests, then changed by `f`.
fn timed(f: impl FnOnce(&mut Target)) -> Target {
    let mut target = tiny();
    let t = &mut target.timing_cycles;
    t.event_overhead = 3;
    t.synop = 2;
    t.neuron_update = 5;
    t.spike_inject = 7;
    t.hop = 11;
    t.barrier = 13;
    t.host_inject = 22;
    target.core.synapse_lanes = 1;
    f(&mut target);
    target.validate().unwrap();
    target
}

/// One core: at `(x, y)`, of `layer`, its neurons' layer indices, parameters and thresholds (no
/// bias), its synapse rows (per axon, `(neuron, weight)`) and routes (per neuron, `(core,
/// axon)`).
#[allow(clippy::too_many_arguments)]
fn core(
    (x, y): (u32, u32),
    layer: u32,
    layer_index: Vec<u32>,
    params: NeuronParams,
    threshold: Vec<i32>,
    synapses: Vec<Vec<(u32, i32)>>,
    routes: Vec<Vec<(u32, u32)>>,
) -> CoreConfig {
    let n = layer_index.len();
    CoreConfig {
        position: MeshPosition { x, y },
        layer,
        layer_index,
        params,
        threshold,
        bias: vec![0; n],
        synapses: Csr::from_rows(synapses.into_iter().map(|row| {
            row.into_iter()
                .map(|(neuron, weight)| Synapse { neuron, weight })
                .collect()
        })),
        routes: Csr::from_rows(routes.into_iter().map(axons)),
    }
}

fn axons(row: Vec<(u32, u32)>) -> Vec<AxonRef> {
    row.into_iter()
        .map(|(core, axon)| AxonRef { core, axon })
        .collect()
}

/// A configuration for `target`: layers of the given sizes, the cores, per input channel its
/// `(core, axon)` targets (input shape `[1, 1, channels]`), the classes as `(core, neuron)`.
fn chip(
    target: &Target,
    time_steps: u32,
    layer_sizes: &[u32],
    cores: Vec<CoreConfig>,
    input: Vec<Vec<(u32, u32)>>,
    classes: &[(u32, u32)],
) -> ChipConfig {
    ChipConfig {
        target_name: target.name.clone(),
        target_hash: target.hash(),
        model_digest: 0,
        pool_lowering: Default::default(),
        time_steps,
        decay_bits: D,
        layers: layer_sizes
            .iter()
            .enumerate()
            .map(|(l, &n)| LayerInfo {
                name: format!("layer {l}"),
                neurons: n,
                shape: vec![n],
                ann_macs: 0,
                ann_nonzero_macs: 0,
            })
            .collect(),
        cores,
        input: InputMap {
            shape: vec![1, 1, input.len() as u32],
            encoding: InputEncoding::Latency,
            targets: Csr::from_rows(input.into_iter().map(axons)),
        },
        output: OutputMap {
            classes: classes
                .iter()
                .map(|&(core, neuron)| NeuronRef { core, neuron })
                .collect(),
        },
        decoding: Decoding {
            tie_break: TieBreak::PotentialAtEnd,
        },
    }
}

fn hidden() -> NeuronParams {
    NeuronParams::ttfs_hidden(D)
}

fn output() -> NeuronParams {
    NeuronParams::ttfs_output(D)
}

/// Runs `input` without early exit.
fn run(config: &ChipConfig, target: &Target, input: &[u8]) -> Inference {
    Emulator::new(config, target)
        .unwrap()
        .run(input, RunOptions::default())
        .unwrap()
}

/// The `Deliver` events of a trace as `(cycle, core, axon)`.
fn deliveries(trace: &[TraceEvent]) -> Vec<(u64, u32, u32)> {
    trace
        .iter()
        .filter_map(|e| match *e {
            TraceEvent::Deliver {
                cycle, core, axon, ..
            } => Some((cycle, core, axon)),
            _ => None,
        })
        .collect()
}

/// 1 input channel -> core 0 (layer 0, 1 neuron) at (0, 0) -> core 1 (layer 1, 1 output
/// neuron) at (2, 1): 3 hops, east, east, south. Weights 10, thresholds 10: both fire at step 1.
fn chain(target: &Target, time_steps: u32) -> ChipConfig {
    chip(
        target,
        time_steps,
        &[1, 1],
        vec![
            core(
                (0, 0),
                0,
                vec![0],
                hidden(),
                vec![10],
                vec![vec![(0, 10)]],
                vec![vec![(1, 0)]],
            ),
            core(
                (2, 1),
                1,
                vec![0],
                output(),
                vec![10],
                vec![vec![(0, 10)]],
                vec![vec![]],
            ),
        ],
        vec![vec![(0, 0)]],
        &[(1, 0)],
    )
}

#[test]
fn a_two_core_chain_one_step() {
    // Step 1, phase 0 (starts at 0):
    //   0: the host sends channel 0's packet (pixel 255 spikes at step 1) to core 0;
    //  22: it arrives (HI = 22, no hops); core 0 pops it: E + ceil(1 / 1) * S = 3 + 2 = 5;
    //  27: core 0 updates its neuron (u = v = 10 >= 10, fires when its update ends);
    //  32: (27 + N) the spike's packet leaves through the port (I = 7);
    //  39: it is at router (0, 0) and crosses east to (1, 0) (H = 11); core 0's port is free;
    //  50: (1, 0) -> (2, 0);  61: (2, 0) -> (2, 1) (south);
    //  72: it arrives in core 1's queue (core 1 pops it: 72..77); nothing in flight, core 0
    //      done: phase 0 ends at 72 = HI + (E + S) + N + I + 3H.
    // Phase 1 starts at 72 + B = 85: core 1's input is consumed, it updates (fires): ends at 90.
    // Step 1 = 90 + B = 103 cycles.
    let target = timed(|_| {});
    let config = chain(&target, 1);
    let e = run(&config, &target, &[255]);
    let c = &e.counters;
    assert_eq!(e.spikes, vec![vec![(0, 1)], vec![(0, 1)]]);
    assert_eq!(c.cycles, 103);
    assert_eq!(c.phase_cycles, vec![72, 5]);
    assert_eq!(c.step_cycles, vec![103]);
    assert_eq!(c.steps_run, 1);
    assert_eq!(c.hops, 3, "the Manhattan distance from (0, 0) to (2, 1)");
    assert_eq!(c.packets, 1);
    assert_eq!(c.host_packets, 1);
    assert_eq!(c.synaptic_ops, 2);
    assert_eq!(c.synaptic_ops_per_layer, vec![1, 1]);
    assert_eq!(c.neuron_updates, 2);
    assert_eq!(c.neuron_updates_per_layer, vec![1, 1]);
    assert_eq!(c.spikes_per_layer, vec![1, 1]);
    // Each core: one pop (5) and one update (5).
    assert_eq!(c.core_busy_cycles, vec![10, 10]);
    assert_eq!(c.contention_cycles, 0);
    assert_eq!(c.stall_cycles, 0);
    assert_eq!(c.peak_fifo_depth, 1);
    assert_eq!(e.output_potential, vec![vec![10]]);
    assert_eq!(
        e.decision,
        Decision {
            class: 0,
            step: Some(1),
            tied: 1
        }
    );
    assert!(e.violations.is_empty());
}

#[test]
fn a_two_core_chain_two_steps() {
    // Step 1 as in `a_two_core_chain_one_step`: 103 cycles (pixel 255 spikes at step 1 for any T).
    // Step 2 starts at 103 with no input:
    // 103: phase 0: core 0's only neuron is frozen (refractory until the end): nothing to update,
    //      0 cycles; the phase ends at once;
    // 116: (103 + B) phase 1: core 1's neuron integrates while refractory (output neuron): one
    //      update, 5 cycles; v stays 10 (no leak, no input); ends at 121;
    // 134: (121 + B) the inference ends. Step 2 = 2B + N = 31.
    let target = timed(|_| {});
    let config = chain(&target, 2);
    let e = run(&config, &target, &[255]);
    let c = &e.counters;
    assert_eq!(e.spikes, vec![vec![(0, 1)], vec![(0, 1)]]);
    assert_eq!(c.cycles, 134);
    assert_eq!(c.step_cycles, vec![103, 31]);
    assert_eq!(c.phase_cycles, vec![72, 10]);
    assert_eq!(c.steps_run, 2);
    assert_eq!(c.hops, 3);
    assert_eq!(c.packets, 1);
    assert_eq!(c.host_packets, 1);
    assert_eq!(c.synaptic_ops_per_layer, vec![1, 1]);
    assert_eq!(c.neuron_updates_per_layer, vec![1, 2]);
    assert_eq!(c.neuron_updates, 3);
    assert_eq!(c.core_busy_cycles, vec![10, 15]);
    assert_eq!(e.output_potential, vec![vec![10, 10]]);
    assert!(e.violations.is_empty());
}

/// Two layer-0 cores, at (0, 0) (channel 0) and (2, 0) (channel 1), one neuron each, both
/// sending to core 2 at (3, 0) (axons 0 and 1); core 2's one neuron has threshold 20, so it
/// fires only with both inputs. The packets of cores 0 and 1 meet at router (2, 0).
fn merging(target: &Target) -> ChipConfig {
    let source = |x: u32, index: u32| {
        core(
            (x, 0),
            0,
            vec![index],
            hidden(),
            vec![10],
            vec![vec![(0, 10)]],
            vec![vec![(2, index)]],
        )
    };
    chip(
        target,
        1,
        &[2, 1],
        vec![
            source(0, 0),
            source(2, 1),
            core(
                (3, 0),
                1,
                vec![0],
                output(),
                vec![20],
                vec![vec![(0, 10)], vec![(0, 10)]],
                vec![vec![]],
            ),
        ],
        vec![vec![(0, 0)], vec![(1, 0)]],
        &[(2, 0)],
    )
}

#[test]
fn two_packets_on_one_link_serialise() {
    // HI = 2H = 22, so core 1 (2 hops east of core 0) sends exactly 2H after core 0 and both
    // packets want the link (2, 0) -> (3, 0) at the same cycle.
    //   0: host sends channel 0 (to core 0);  22: it arrives, core 0 pops (5), and the host
    //      sends channel 1 (to core 1);
    //  27: core 0 updates, fires;  32: core 0 sends (I = 7);  39: (0,0) -> (1,0);
    //  44: channel 1 arrives at core 1, popped (5);  49: core 1 updates, fires;
    //  50: core 0's packet (1,0) -> (2,0);  54: core 1 sends;
    //  61: both packets are at router (2, 0) and want its east link. Core 0's packet goes first
    //      (its event was scheduled at 50, core 1's at 54); core 1's waits 1 cycle (contention 1)
    //      and crosses at 62;
    //  72: core 0's packet arrives at core 2 (axon 0); 73: core 1's (axon 1): phase 0 ends at 73.
    //  Core 2 pops both (72..77, 77..82); phase 1 at 73 + B = 86: core 2 updates (v = 20, fires),
    //  91; the inference ends at 91 + B = 104.
    let target = timed(|_| {});
    let config = merging(&target);
    let mut emulator = Emulator::new(&config, &target).unwrap();
    let (e, trace) = emulator
        .run_traced(&[255, 255], RunOptions::default())
        .unwrap();
    let c = &e.counters;
    assert_eq!(c.contention_cycles, 1);
    assert_eq!(deliveries(&trace)[2..], [(72, 2, 0), (73, 2, 1)]);
    assert_eq!(c.cycles, 104);
    assert_eq!(c.phase_cycles, vec![73, 5]);
    assert_eq!(c.hops, 3 + 1);
    assert_eq!(c.packets, 2);
    assert_eq!(c.host_packets, 2);
    assert_eq!(c.core_busy_cycles, vec![10, 10, 15]);
    assert_eq!(
        c.peak_fifo_depth, 1,
        "core 2 popped the first before the second came"
    );
    assert_eq!(c.stall_cycles, 0);
    assert_eq!(e.spikes, vec![vec![(0, 1), (1, 1)], vec![(0, 1)]]);

    // Without the collision (host_inject 21: everything of core 1 one cycle earlier relative to
    // core 0's packet) there is no wait: core 0 sends at 31 and its packet reaches (2, 0) at
    // 31 + I + 2H = 60; core 1 sends at 52, crosses at 59 and arrives at 70, core 0's crosses at
    // 60 and arrives at 71.
    let target = timed(|t| t.timing_cycles.host_inject = 21);
    let config = merging(&target);
    let (e, trace) = Emulator::new(&config, &target)
        .unwrap()
        .run_traced(&[255, 255], RunOptions::default())
        .unwrap();
    assert_eq!(e.counters.contention_cycles, 0);
    assert_eq!(deliveries(&trace)[2..], [(70, 2, 1), (71, 2, 0)]);
}

#[test]
fn one_cores_spikes_leave_its_port_one_every_spike_inject() {
    // Core 0 at (0, 0): 2 neurons, both fire in one sweep, both to core 1 at (3, 0) (axons 0, 1).
    //  22: the input arrives; pop E + 2S = 7;  29: sweep: neuron 0 fires at 34, neuron 1 at 39;
    //  34: packet 0 sent;  41: packet 1 sent (port free again after I = 7; ready since 39);
    //  the two travel 7 cycles apart on the same links, never in the same cycle: no contention;
    //  arrivals at 34 + I + 3H = 74 and 81. Phase 1 at 81 + B = 94, core 1 updates to 99, the
    //  inference ends at 112.
    let target = timed(|_| {});
    let config = chip(
        &target,
        1,
        &[2, 1],
        vec![
            core(
                (0, 0),
                0,
                vec![0, 1],
                hidden(),
                vec![10, 10],
                vec![vec![(0, 10), (1, 10)]],
                vec![vec![(1, 0)], vec![(1, 1)]],
            ),
            core(
                (3, 0),
                1,
                vec![0],
                output(),
                vec![20],
                vec![vec![(0, 10)], vec![(0, 10)]],
                vec![vec![]],
            ),
        ],
        vec![vec![(0, 0)]],
        &[(1, 0)],
    );
    let (e, trace) = Emulator::new(&config, &target)
        .unwrap()
        .run_traced(&[255], RunOptions::default())
        .unwrap();
    assert_eq!(deliveries(&trace)[1..], [(74, 1, 0), (81, 1, 1)]);
    let c = &e.counters;
    assert_eq!(c.contention_cycles, 0);
    assert_eq!(c.hops, 6);
    assert_eq!(c.cycles, 112);
    assert_eq!(c.phase_cycles, vec![81, 5]);
    // Core 0: pop 7 + 2 updates; core 1: two pops of 5 and one update.
    assert_eq!(c.core_busy_cycles, vec![17, 15]);
}

#[test]
fn a_full_fifo_stalls_its_sender_and_drops_nothing() {
    // fifo_depth 2, E = 100 (a slow consumer). Core 0 at (0, 0): 5 neurons, all fire at step 1,
    // neuron k to axon k of core 1 at (1, 0) (1 hop); each of core 1's rows drives both of its
    // neurons (row length 2): a pop costs E + 2S = 104 there; core 0's pop of the input row
    // (5 synapses) costs 110.
    //   22: the input arrives at core 0; popped until 132; sweep: fires at 137, 142, ..., 157.
    //  137: packet 0 sent (credits in use at core 1: 1);  144: packet 1 sent (2: full);
    //  151: packet 2 is ready, no credit: the port stalls;
    //  155: packet 0 arrives, core 1 pops it (until 259): a credit frees, the port wakes
    //       (stall 155 - 151 = 4) and sends packet 2 (credits 2);  162: packet 1 arrives (queue 1),
    //       packet 3 ready, no credit: stall from 162;  173: packet 2 arrives (queue 2: the peak);
    //  259: core 1 pops packet 1: wake (stall 97), send packet 3;  266: packet 4 stalls;
    //  363: core 1 pops packet 2: wake (stall 97), send packet 4;  381: it arrives: phase 0
    //       ends (core 0 done, nothing in flight).
    //  Stall = 4 + 97 + 97 = 198.
    //  Phase 1 starts at 381 + B = 394; core 1 is still popping (packets 3 and 4: until 467, 571,
    //  675), then updates its 2 neurons (v = 5: neuron 0, threshold 5, fires; neuron 1,
    //  threshold 6, does not) until 685. The inference ends at 685 + B = 698.
    let target = timed(|t| {
        t.core.fifo_depth = 2;
        t.timing_cycles.event_overhead = 100;
    });
    let config = chip(
        &target,
        1,
        &[5, 2],
        vec![
            core(
                (0, 0),
                0,
                vec![0, 1, 2, 3, 4],
                hidden(),
                vec![10; 5],
                vec![(0..5).map(|k| (k, 10)).collect()],
                (0..5).map(|k| vec![(1, k)]).collect(),
            ),
            core(
                (1, 0),
                1,
                vec![0, 1],
                output(),
                vec![5, 6],
                vec![vec![(0, 1), (1, 1)]; 5],
                vec![vec![], vec![]],
            ),
        ],
        vec![vec![(0, 0)]],
        &[(1, 0), (1, 1)],
    );
    let e = run(&config, &target, &[255]);
    let c = &e.counters;
    assert_eq!(c.stall_cycles, 198);
    assert_eq!(
        c.peak_fifo_depth, 2,
        "the queue fills to its depth, never beyond"
    );
    // Nothing dropped: 5 packets x row length 2 synaptic operations in layer 1.
    assert_eq!(c.packets, 5);
    assert_eq!(c.synaptic_ops_per_layer, vec![5, 5 * 2]);
    assert_eq!(e.output_potential, vec![vec![5], vec![5]]);
    assert_eq!(e.spikes[1], vec![(0, 1)]);
    assert_eq!(c.cycles, 698);
    assert_eq!(c.phase_cycles, vec![381, 291]);
    assert_eq!(c.core_busy_cycles, vec![110 + 5 * 5, 5 * 104 + 2 * 5]);
    assert_eq!(c.hops, 5);
    assert_eq!(c.contention_cycles, 0);
}

/// One layer, one core at (0, 0), 2 output neurons (thresholds 10), T = 4. Channel 0 (axon 0)
/// drives neuron 0 with 12 and neuron 1 with 11; channel 1 (axon 1) drives neuron 1 with 5.
fn two_classes(target: &Target) -> ChipConfig {
    chip(
        target,
        4,
        &[2],
        vec![core(
            (0, 0),
            0,
            vec![0, 1],
            output(),
            vec![10, 10],
            vec![vec![(0, 12), (1, 11)], vec![(1, 5)]],
            vec![vec![], vec![]],
        )],
        vec![vec![(0, 0)], vec![(0, 1)]],
        &[(0, 0), (0, 1)],
    )
}

#[test]
fn early_exit_stops_after_the_first_output_spike() {
    // T = 4. Pixel 170 spikes at step ((255 - 170) * 3 + 127) / 255 + 1 = 2, pixel 1 at
    // (254 * 3 + 127) / 255 + 1 = 4. Both outputs fire at step 2 (v = 12 and 11): a tie; at step
    // 4 neuron 1 has 11 + 5 = 16 > 12.
    // Step 1 (no input): 2 updates, 0..10; ends at 10 + B = 23.
    // Step 2: host sends at 23, arrival 45, pop E + 2S = 7 to 52, 2 updates to 62, ends at 75
    //         (52 cycles).
    // Step 3: 2 updates (the outputs integrate while refractory), 75..85, ends at 98 (23).
    // Step 4: channel 1 at 98 -> 120, pop E + S = 5 to 125, updates to 135, ends at 148 (50).
    let target = timed(|_| {});
    let config = two_classes(&target);
    let mut emulator = Emulator::new(&config, &target).unwrap();
    let input = [170, 1];

    let full = emulator.run(&input, RunOptions::default()).unwrap();
    assert_eq!(full.counters.steps_run, 4);
    assert_eq!(full.counters.cycles, 148);
    assert_eq!(full.counters.step_cycles, vec![23, 52, 23, 50]);
    assert_eq!(full.counters.phase_cycles, vec![10 + 39 + 10 + 37]);
    assert_eq!(full.counters.neuron_updates, 8);
    assert_eq!(
        full.output_potential,
        vec![vec![0, 12, 12, 12], vec![0, 11, 11, 16]]
    );
    // PotentialAtEnd: the tie is broken at step 4, 16 > 12.
    assert_eq!(
        full.decision,
        Decision {
            class: 1,
            step: Some(2),
            tied: 2
        }
    );

    let early = emulator
        .run(&input, RunOptions { early_exit: true })
        .unwrap();
    assert_eq!(early.counters.steps_run, 2);
    assert_eq!(early.counters.cycles, 75);
    assert_eq!(early.counters.step_cycles, vec![23, 52]);
    assert_eq!(early.counters.phase_cycles, vec![10 + 39]);
    assert_eq!(early.counters.neuron_updates, 4);
    assert_eq!(early.counters.synaptic_ops, 2);
    assert_eq!(
        early.counters.host_packets, 1,
        "channel 1 (step 4) is never sent"
    );
    assert_eq!(early.output_potential, vec![vec![0, 12], vec![0, 11]]);
    assert_eq!(early.spikes, vec![vec![(0, 2), (1, 2)]]);
    // With early exit the chip stops at step 2, so the tie is broken there: 12 > 11.
    assert_eq!(
        early.decision,
        Decision {
            class: 0,
            step: Some(2),
            tied: 2
        }
    );

    // Without early exit, PotentialAtDecision also breaks the tie at step 2.
    let mut at_decision = config.clone();
    at_decision.decoding.tie_break = TieBreak::PotentialAtDecision;
    let e = run(&at_decision, &target, &input);
    assert_eq!(e.decision.class, 0);
    assert_eq!(e.counters.cycles, 148);
}

/// One layer, one neuron at (0, 0) with a bias of 10 and threshold 10 (it fires whenever it
/// updates, from v = 0), no input, T = 3, with the given refractory period.
fn biased(target: &Target, refractory: Refractory) -> ChipConfig {
    let mut config = chip(
        target,
        3,
        &[1],
        vec![core(
            (0, 0),
            0,
            vec![0],
            NeuronParams {
                du: 1 << D,
                dv: 0,
                refractory,
                reset: Reset::To(0),
                while_refractory: WhileRefractory::Frozen,
            },
            vec![10],
            vec![],
            vec![vec![]],
        )],
        vec![vec![]],
        &[(0, 0)],
    );
    config.cores[0].bias = vec![10];
    config
}

#[test]
fn a_neuron_that_fires_twice_is_a_violation() {
    // Refractory::Steps(1): fires at step 1 (v = 0 + 0 + 10), frozen at step 2, fires again at
    // step 3 (v reset to 0, then + 10).
    let target = timed(|t| t.neuron.max_refractory_steps = Some(4));
    let config = biased(&target, Refractory::Steps(1));
    let e = run(&config, &target, &[0]);
    assert_eq!(e.spikes, vec![vec![(0, 1), (0, 3)]]);
    assert_eq!(
        e.violations,
        vec![Violation {
            layer: 0,
            index: 0,
            steps: vec![1, 3]
        }]
    );
    assert_eq!(e.counters.spikes_per_layer, vec![2]);
    assert_eq!(
        e.counters.neuron_updates, 2,
        "step 2's frozen neuron costs nothing"
    );

    // A refractory period of T steps is TTFS on this target: one spike, no violation.
    let config = biased(&target, Refractory::Steps(3));
    let e = run(&config, &target, &[0]);
    assert_eq!(e.spikes, vec![vec![(0, 1)]]);
    assert!(e.violations.is_empty());

    // UntilEnd (the TTFS neuron) on a target whose refractory period is "until reset".
    let target = timed(|_| {});
    let config = biased(&target, Refractory::UntilEnd);
    let e = run(&config, &target, &[0]);
    assert_eq!(e.spikes, vec![vec![(0, 1)]]);
    assert!(e.violations.is_empty());
}

#[test]
fn runs_are_deterministic_and_the_trace_is_ordered() {
    let target = timed(|t| t.core.fifo_depth = 1);
    let config = merging(&target);
    let mut emulator = Emulator::new(&config, &target).unwrap();
    let a = [255, 200];
    let b = [255, 0];
    let first = emulator.run(&a, RunOptions::default()).unwrap();
    let other = emulator.run(&b, RunOptions::default()).unwrap();
    let again = emulator.run(&a, RunOptions::default()).unwrap();
    assert_eq!(first, again, "a run in between leaves nothing behind");
    assert_ne!(first.counters, other.counters);
    let fresh = run(&config, &target, &a);
    assert_eq!(first, fresh);

    let (traced, trace) = emulator.run_traced(&a, RunOptions::default()).unwrap();
    assert_eq!(traced, first);
    assert_eq!(
        trace[0],
        TraceEvent::PhaseStart {
            cycle: 0,
            step: 1,
            phase: 0
        }
    );
    let cycle = |e: &TraceEvent| match *e {
        TraceEvent::PhaseStart { cycle, .. }
        | TraceEvent::HostSend { cycle, .. }
        | TraceEvent::Pop { cycle, .. }
        | TraceEvent::Spike { cycle, .. }
        | TraceEvent::Send { cycle, .. }
        | TraceEvent::Deliver { cycle, .. }
        | TraceEvent::Updated { cycle, .. }
        | TraceEvent::PhaseEnd { cycle, .. } => cycle,
    };
    assert!(trace.windows(2).all(|w| cycle(&w[0]) <= cycle(&w[1])));
    // The last event is the last phase's end, one barrier before the inference's.
    let last = trace.last().unwrap();
    assert!(matches!(last, TraceEvent::PhaseEnd { .. }));
    assert_eq!(
        cycle(last) + u64::from(target.timing_cycles.barrier),
        first.counters.cycles
    );
    let count = |f: fn(&TraceEvent) -> bool| trace.iter().filter(|e| f(e)).count() as u64;
    let c = &first.counters;
    assert_eq!(
        count(|e| matches!(e, TraceEvent::HostSend { .. })),
        c.host_packets
    );
    assert_eq!(count(|e| matches!(e, TraceEvent::Send { .. })), c.packets);
    assert_eq!(
        count(|e| matches!(e, TraceEvent::Spike { .. })),
        c.spikes_per_layer.iter().sum::<u64>()
    );
    // A plain run after a traced one is unchanged.
    assert_eq!(emulator.run(&a, RunOptions::default()).unwrap(), first);
}

#[test]
fn an_input_of_the_wrong_length_is_refused() {
    let target = timed(|_| {});
    let config = chain(&target, 1);
    let mut emulator = Emulator::new(&config, &target).unwrap();
    let err = emulator.run(&[1, 2], RunOptions::default()).unwrap_err();
    assert!(matches!(
        err,
        EmulatorError::InputLength {
            found: 2,
            expected: 1,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "the input has 2 values but the configuration expects 1 (shape [1, 1, 1])"
    );
    assert!(emulator.run(&[], RunOptions::default()).is_err());
    // The emulator still works after a refused input.
    assert_eq!(
        emulator
            .run(&[255], RunOptions::default())
            .unwrap()
            .counters
            .cycles,
        103
    );
}

#[test]
fn a_configuration_for_another_target_is_refused() {
    // Compiled for the tiny target with this file's timing; the shipped tiny target differs
    // only in its timing, so only its hash tells them apart.
    let timed_target = timed(|_| {});
    let config = chain(&timed_target, 1);
    let shipped = tiny();
    let err = Emulator::new(&config, &shipped).err().unwrap();
    assert!(matches!(
        err,
        EmulatorError::Config(ConfigError::WrongTarget { .. })
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "compiled for target \"tiny\" (hash {:#018x}), not for \"tiny\" (hash {:#018x}); \
             recompile it with --target set to this target",
            timed_target.hash(),
            shipped.hash()
        )
    );
    let loihi = crate::target::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/targets/loihi.json"
    )))
    .unwrap();
    let err = Emulator::new(&config, &loihi).err().unwrap();
    assert!(
        err.to_string()
            .starts_with("compiled for target \"tiny\" (hash "),
        "{err}"
    );
    assert!(err.to_string().contains("not for \"loihi\""), "{err}");
}

#[test]
fn packets_waiting_for_a_link_go_in_the_order_they_came() {
    // host_inject 1: channels 0, 1, 2 reach cores 0 (A, (0,0)), 1 (C, (1,0)), 2 (X, (2,0)) at
    // cycles 1, 2, 3. All three send to core 3 at (3, 0), so all cross the link (2,0) -> (3,0).
    //  A: pop E + S = 5 (1..6), its neuron fires at 11, sent at 11, at (0,0) at 18, at (1,0) at
    //     29, at (2,0) at 40.
    //  C: row of 4 synapses, pop E + 4S = 11 (2..13); its 2nd neuron fires at 13 + 2N = 23, sent,
    //     at (1,0) at 30, crosses (link free since 30), at (2,0) at 41.
    //  X: 5 neurons, only the 5th gets input; pop 5 (3..8), fires at 8 + 5N = 33, sent, at
    //     (2,0) at 40.
    //  40: A and X both want the east link of (2,0): A goes (its event is older), X waits from 40
    //      (contention 1).
    //  41: the link is free again; X has waited since 40, C came at 41: by the doc, X goes first
    //      (arrives at 52) and C waits one cycle (crosses at 42, arrives at 53). A arrives at 51.
    // Found instead: C at 52, X at 53 (contention 2 either way). `hop` re-schedules a waiting
    // packet as a new event at the cycle the link frees, and events of one cycle run in the order
    // they were scheduled: C's event (scheduled at 30, when it left (1,0)) precedes X's retry
    // (scheduled at 40), so the later packet overtakes the waiting one. Ignored until the engine
    // or the doc changes.
    let target = timed(|t| t.timing_cycles.host_inject = 1);
    let source = |x: u32, index: u32, neurons: u32, row: Vec<(u32, i32)>| {
        let mut routes = vec![vec![]; neurons as usize];
        let firing = row.iter().find(|&&(_, w)| w >= 10).unwrap().0;
        routes[firing as usize] = vec![(3, index)];
        core(
            (x, 0),
            0,
            (0..neurons).map(|k| index * 8 + k).collect(),
            hidden(),
            vec![10; neurons as usize],
            vec![row],
            routes,
        )
    };
    let mut config = chip(
        &target,
        1,
        &[24, 1],
        vec![
            source(0, 0, 1, vec![(0, 10)]),
            source(1, 1, 4, vec![(0, 1), (1, 10), (2, 1), (3, 1)]),
            source(2, 2, 5, vec![(4, 10)]),
            core(
                (3, 0),
                1,
                vec![0],
                output(),
                vec![30],
                vec![vec![(0, 10)]; 3],
                vec![vec![]],
            ),
        ],
        vec![vec![(0, 0)], vec![(1, 0)], vec![(2, 0)]],
        &[(3, 0)],
    );
    // Layer 0 holds neurons 0, 8..12 and 16..21 of 24: place the rest on an idle core.
    let used: Vec<u32> = config.cores[..3]
        .iter()
        .flat_map(|c| c.layer_index.clone())
        .collect();
    let rest: Vec<u32> = (0..24).filter(|i| !used.contains(i)).collect();
    let n = rest.len();
    config.cores.push(core(
        (0, 3),
        0,
        rest,
        hidden(),
        vec![10; n],
        vec![],
        vec![vec![]; n],
    ));
    let (e, trace) = Emulator::new(&config, &target)
        .unwrap()
        .run_traced(&[255, 255, 255], RunOptions::default())
        .unwrap();
    assert_eq!(e.counters.contention_cycles, 2);
    // Core 3's axon k is source core k's packet.
    assert_eq!(
        deliveries(&trace)[3..],
        [(51, 3, 0), (52, 3, 2), (53, 3, 1)]
    );
}

#[test]
fn a_target_out_of_its_ranges_is_refused_before_anything_is_allocated() {
    let target = tiny();
    let config = chain(&target, 4);
    let mut huge = target.clone();
    // 65,536 x 65,536 routers would overflow the link count; the target's own rule refuses it.
    huge.mesh.cols = 65_536;
    huge.mesh.rows = 65_536;
    let e = Emulator::new(&config, &huge).err().unwrap();
    assert!(matches!(e, EmulatorError::Target(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("mesh.cols is 65536, must be between 1 and 256"),
        "{e}"
    );
}
