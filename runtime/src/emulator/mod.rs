//! The cycle-accurate, event-driven chip emulator.
//!
//! [`Emulator`] holds one chip's state for one configuration on one target; [`Emulator::run`]
//! runs one inference on one image and returns its spikes, output potentials, decision,
//! counters and single-spike verdict. It is a discrete-event simulation in clock cycles: events
//! are ordered by (cycle, insertion number), so two events of the same cycle always resolve in
//! the same order and a run never depends on anything but its inputs.
//!
//! # The machine, as modelled
//! - **Steps and phases.** An inference is T steps; step `t` is one phase per layer, in order.
//!   Phase `p` belongs to the cores of layer `p`: each, once all of this step's input for it has
//!   been delivered and consumed, updates its live neurons, and its spikes travel to the cores of
//!   layer `p + 1`. The phase ends when every core of the layer has finished updating and sending
//!   and no packet is in flight; the next phase starts `barrier` cycles later. After the last
//!   phase of step T (or of the first step with an output spike, with early exit) and its
//!   barrier the inference ends.
//! - **Input.** At the start of phase 0 of step `t` the host sends one packet per input channel
//!   spiking at `t` and per (core, axon) target of that channel, in channel order, one every
//!   `host_inject` cycles, straight into the destination core's queue (no hops).
//! - **A core** pops one event at a time from its input queue (any time, also while the layer
//!   before is still in its phase): `event_overhead + ceil(fan-out / synapse_lanes) * synop`
//!   cycles, adding each synapse's weight to its neuron's accumulator. In its phase, with its
//!   input consumed, it updates each live neuron (`neuron_update` cycles each; frozen refractory
//!   neurons are skipped and cost nothing) by the rule of [`crate::neuron`]. A neuron
//!   that fires hands its packets (one per entry of its routing row) to the core's output port, which
//!   sends one every `spike_inject` cycles while the updates go on.
//! - **The network** routes X then Y; each link takes one packet per cycle and `hop` cycles to
//!   cross. A packet that finds its link taken waits (contention cycles are counted) and tries
//!   again when the link frees; packets waiting for the same link go in the order they came.
//! - **Back-pressure** is credit based: a sender may only send to a core whose queue has room
//!   for it counting the packets already on their way; otherwise its port stalls (stall cycles
//!   counted) until that core pops an event. Nothing is ever dropped.
//! - **Single spike.** Spikes are counted per neuron; every neuron that fired more than once is
//!   reported with its layer, index and steps ([`Violation`]).
//! - **Decision.** The toolchain's one rule, [`crate::decision::decide`]: the earliest output
//!   spike; candidates of that step (or all classes when none fired) ordered by the larger
//!   potential after step T (or after the decision step, as the configuration says; always the
//!   decision step with early exit, since the chip stops there), then the lower class.

mod calendar;
mod counters;
mod engine;
#[cfg(test)]
mod tests;

pub use counters::Counters;
pub use engine::Emulator;

/// A neuron that fired more than once in one inference.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// Its layer.
    pub layer: u32,
    /// Its index within the layer.
    pub index: u32,
    /// The steps it fired at.
    pub steps: Vec<u32>,
}

/// Everything one inference produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Inference {
    /// Per layer, the spikes as (neuron index in the layer, step), ordered by step then neuron.
    pub spikes: Vec<Vec<(u32, u32)>>,
    /// Per class, the output neuron's potential after each step run (`[class][t - 1]`).
    pub output_potential: Vec<Vec<i64>>,
    /// The decision.
    pub decision: crate::decision::Decision,
    /// The counters.
    pub counters: Counters,
    /// Neurons that fired more than once.
    pub violations: Vec<Violation>,
}

/// Why the emulator cannot run.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The target breaks one of its range rules (a description built in code, not loaded).
    #[error(transparent)]
    Target(#[from] crate::target::TargetError),
    /// The configuration does not fit the target or is malformed.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The input has the wrong number of values.
    #[error(
        "the input has {found} values but the configuration expects {expected} (shape {shape:?})"
    )]
    InputLength {
        /// Values given.
        found: usize,
        /// Pixels of the configuration's input shape (one value each).
        expected: usize,
        /// The configuration's input shape.
        shape: Vec<u32>,
    },
}

/// Options of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Stop after the step in which the first output spike occurs.
    pub early_exit: bool,
}

/// One event of a traced inference (see [`Emulator::run_traced`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceEvent {
    /// A phase began.
    PhaseStart {
        /// Cycle.
        cycle: u64,
        /// Step (1-based).
        step: u32,
        /// Phase (layer).
        phase: u32,
    },
    /// The host sent an input packet.
    HostSend {
        /// Cycle.
        cycle: u64,
        /// Input channel.
        channel: u32,
        /// Destination core.
        core: u32,
        /// Destination axon.
        axon: u32,
    },
    /// A core popped an event from its queue.
    Pop {
        /// Cycle.
        cycle: u64,
        /// Core.
        core: u32,
        /// Axon.
        axon: u32,
        /// Synapses read.
        synapses: u32,
    },
    /// A neuron fired.
    Spike {
        /// Cycle.
        cycle: u64,
        /// Step.
        step: u32,
        /// Core.
        core: u32,
        /// Layer.
        layer: u32,
        /// Index in the layer.
        index: u32,
    },
    /// A core sent a packet.
    Send {
        /// Cycle.
        cycle: u64,
        /// Source core.
        core: u32,
        /// Destination core.
        to_core: u32,
        /// Destination axon.
        axon: u32,
    },
    /// A packet arrived in a core's queue.
    Deliver {
        /// Cycle.
        cycle: u64,
        /// Core.
        core: u32,
        /// Axon.
        axon: u32,
        /// Queue depth after it arrived.
        depth: u32,
    },
    /// A core finished updating its neurons.
    Updated {
        /// Cycle.
        cycle: u64,
        /// Core.
        core: u32,
        /// Neurons updated.
        neurons: u32,
    },
    /// A phase ended (before its barrier).
    PhaseEnd {
        /// Cycle.
        cycle: u64,
        /// Step.
        step: u32,
        /// Phase.
        phase: u32,
    },
}
