//! What one inference counted; [`crate::energy`] prices the counts.

use serde::Serialize;

/// The counters of one inference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
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
