//! What one inference counted, and its energy (chip.md section 4).

use serde::Serialize;

use crate::target::Target;

/// The counters of one inference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Synaptic operations: synapses read, i.e. the sum over delivered events of the fan-out
    /// row they select (synapses of frozen neurons included: the row is read anyway).
    pub synaptic_ops: u64,
    /// Synaptic operations per layer (of the layer the synapses lead into).
    pub synaptic_ops_per_layer: Vec<u64>,
    /// Neuron updates performed (frozen refractory neurons are skipped and not counted).
    pub neuron_updates: u64,
    /// Neuron updates per layer.
    pub neuron_updates_per_layer: Vec<u64>,
    /// Spikes emitted per layer.
    pub spikes_per_layer: Vec<u64>,
    /// Packets injected by cores (one per spike and destination core).
    pub packets: u64,
    /// Input packets injected by the host.
    pub host_packets: u64,
    /// Link traversals (router to router).
    pub hops: u64,
    /// Cycles packets waited for a busy link (contention, serialised).
    pub contention_cycles: u64,
    /// Cycles senders waited for room in a destination queue (back-pressure), summed over
    /// senders (two senders stalled in the same cycle count two).
    pub stall_cycles: u64,
    /// Cycles of the whole inference.
    pub cycles: u64,
    /// Cycles per step (only the steps run).
    pub step_cycles: Vec<u64>,
    /// Cycles per phase (layer), summed over steps.
    pub phase_cycles: Vec<u64>,
    /// Busy cycles per core (popping events and updating neurons).
    pub core_busy_cycles: Vec<u64>,
    /// Deepest input queue seen on any core.
    pub peak_fifo_depth: u32,
    /// Steps run (T, or fewer with early exit).
    pub steps_run: u32,
}

impl Counters {
    /// Zeroed counters for `layers` layers (one phase each) and `cores` cores.
    pub fn new(layers: usize, cores: usize) -> Self {
        Self {
            synaptic_ops_per_layer: vec![0; layers],
            neuron_updates_per_layer: vec![0; layers],
            spikes_per_layer: vec![0; layers],
            phase_cycles: vec![0; layers],
            core_busy_cycles: vec![0; cores],
            ..Self::default()
        }
    }

    /// Adds `other` to `self` (for totals over inferences); `peak_fifo_depth` takes the max.
    pub fn add(&mut self, other: &Counters) {
        fn add_vec(a: &mut Vec<u64>, b: &[u64]) {
            if a.len() < b.len() {
                a.resize(b.len(), 0);
            }
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self.synaptic_ops += other.synaptic_ops;
        add_vec(
            &mut self.synaptic_ops_per_layer,
            &other.synaptic_ops_per_layer,
        );
        self.neuron_updates += other.neuron_updates;
        add_vec(
            &mut self.neuron_updates_per_layer,
            &other.neuron_updates_per_layer,
        );
        add_vec(&mut self.spikes_per_layer, &other.spikes_per_layer);
        self.packets += other.packets;
        self.host_packets += other.host_packets;
        self.hops += other.hops;
        self.contention_cycles += other.contention_cycles;
        self.stall_cycles += other.stall_cycles;
        self.cycles += other.cycles;
        add_vec(&mut self.step_cycles, &other.step_cycles);
        add_vec(&mut self.phase_cycles, &other.phase_cycles);
        add_vec(&mut self.core_busy_cycles, &other.core_busy_cycles);
        self.peak_fifo_depth = self.peak_fifo_depth.max(other.peak_fifo_depth);
        self.steps_run += other.steps_run;
    }
}

/// Energy of one inference in picojoules, by cause (chip.md section 4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Energy {
    /// Synaptic operations x `energy_pj.synop`.
    pub synaptic_ops_pj: f64,
    /// Neuron updates x `energy_pj.neuron_update`.
    pub neuron_updates_pj: f64,
    /// Packets x `energy_pj.spike_inject`.
    pub spike_inject_pj: f64,
    /// Hops x `energy_pj.hop`.
    pub hops_pj: f64,
    /// Host packets x `energy_pj.host_inject`.
    pub host_input_pj: f64,
    /// `static_mw` x the inference's duration.
    pub static_pj: f64,
    /// The sum.
    pub total_pj: f64,
}

impl Energy {
    /// The energy of `counters` on `target`.
    pub fn of(counters: &Counters, target: &Target) -> Self {
        let e = &target.energy_pj;
        let synaptic_ops_pj = counters.synaptic_ops as f64 * e.synop;
        let neuron_updates_pj = counters.neuron_updates as f64 * e.neuron_update;
        let spike_inject_pj = counters.packets as f64 * e.spike_inject;
        let hops_pj = counters.hops as f64 * e.hop;
        let host_input_pj = counters.host_packets as f64 * e.host_inject;
        // mW x us = nJ = 1000 pJ.
        let static_pj = e.static_mw * latency_us(counters.cycles, target) * 1000.0;
        Self {
            synaptic_ops_pj,
            neuron_updates_pj,
            spike_inject_pj,
            hops_pj,
            host_input_pj,
            static_pj,
            total_pj: synaptic_ops_pj
                + neuron_updates_pj
                + spike_inject_pj
                + hops_pj
                + host_input_pj
                + static_pj,
        }
    }
}

/// `cycles` in microseconds at the target's clock.
pub fn latency_us(cycles: u64, target: &Target) -> f64 {
    cycles as f64 / target.timing_cycles.clock_mhz
}
