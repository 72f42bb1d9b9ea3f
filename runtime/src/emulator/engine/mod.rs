//! The event loop of the emulator (the machine is described in the parent module's docs).

mod cores;
mod network;
mod rows;

use std::collections::VecDeque;

use super::calendar::Calendar;
use super::{Counters, EmulatorError, Inference, RunOptions, TraceEvent, Violation};
use crate::config::ChipConfig;
use crate::decision::{Decision, DecisionRule, decide};
use crate::neuron::NeuronUpdate;
use crate::target::{NeuronUpdateMode, Target};

/// The host's sender number (cores are `0..cores`).
const HOST: u32 = u32::MAX;

/// What happens at a cycle. The order of variants does not matter: events of one cycle run in
/// the order they were scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The current phase begins.
    PhaseStart,
    /// A core finished popping an event.
    PopDone(u32),
    /// A core finished its neuron updates.
    UpdateDone(u32),
    /// A sender's output port may send its next packet.
    Port(u32),
    /// A packet reached its current router.
    Hop(u32),
    /// A link with waiting packets is free: the first in line crosses.
    Link(u32),
}

/// A packet in flight.
#[derive(Clone, Copy, Debug)]
struct Packet {
    /// Destination core.
    dst: u32,
    /// Destination axon.
    axon: u32,
    /// Current position.
    x: u32,
    /// Current position.
    y: u32,
    /// The destination core's position (where the packet is delivered).
    to: (u32, u32),
    /// Sent by the host (an input packet).
    from_host: bool,
    /// Cycle at which it started waiting for a link.
    waiting_since: u64,
}

/// A packet waiting in an output port: (earliest send cycle, destination core, axon, channel or
/// source neuron for the trace).
type Outgoing = (u64, u32, u32, u32);

/// One core's state.
#[derive(Clone, Debug, Default)]
struct CoreState {
    u: Vec<i64>,
    v: Vec<i64>,
    acc: Vec<i64>,
    /// On a target that updates neurons only on input: whether an event reached the neuron in
    /// this step (empty on a target that updates every neuron every step).
    touched: Vec<bool>,
    /// Last step (1-based) in which the neuron is refractory; 0 = not refractory.
    refractory_until: Vec<u32>,
    fifo: VecDeque<u32>,
    /// Packets queued or on their way to this core (its credits in use).
    reserved: u32,
    busy: bool,
    /// In its phase and not yet done.
    phase_active: bool,
    updated: bool,
    /// Host packets for this core not yet delivered in this step.
    inputs_pending: u32,
    out: VecDeque<Outgoing>,
    /// A `Port` event is scheduled, or the port is stalled.
    port_busy: bool,
    /// Senders waiting for room in this core's queue.
    waiters: VecDeque<u32>,
}

/// The chip's state for one configuration on one target; reuse it for many inferences (a clone
/// is a second, independent chip, e.g. for another thread).
#[derive(Clone)]
pub struct Emulator<'a> {
    config: &'a ChipConfig,
    target: &'a Target,
    core_layer: Vec<usize>,
    layer_cores: Vec<Vec<u32>>,
    /// `class_of[core][neuron]`: the class an output neuron stands for.
    class_of: Vec<Vec<Option<u32>>>,
    /// Per core, its neurons' update rule.
    rules: Vec<NeuronUpdate>,
    /// Per core, its synapse table as runs for the accumulation loop (shared by the clones of
    /// a parallel run); `None` keeps the configuration's layout.
    runs: std::sync::Arc<[Option<rows::RunRows>]>,
    cores: Vec<CoreState>,
    host_out: VecDeque<Outgoing>,
    host_port_busy: bool,
    stall_since: Vec<u64>,
    host_stall_since: u64,
    link_free: Vec<u64>,
    /// Packets waiting for each link, first come first served; a `Link` event is pending for a
    /// link exactly when its line is not empty.
    link_waiting: Vec<VecDeque<u32>>,
    queue: Calendar<Event>,
    packets: Vec<Packet>,
    free_packets: Vec<u32>,
    /// Input channels by spike step (index `t - 1`).
    inputs_at: Vec<Vec<u32>>,
    // Per inference.
    step: u32,
    phase: u32,
    phase_start: u64,
    step_start: u64,
    cores_remaining: usize,
    /// The current phase has ended (its barrier is running).
    phase_ended: bool,
    in_flight: u64,
    output_spiked: bool,
    end_cycle: Option<u64>,
    early_exit: bool,
    counters: Counters,
    spikes: Vec<Vec<(u32, u32)>>,
    output_potential: Vec<Vec<i64>>,
    trace: Option<Vec<TraceEvent>>,
}

impl<'a> Emulator<'a> {
    /// An emulator for `config` on `target`; checks that the configuration fits the target.
    ///
    /// # Errors
    /// [`EmulatorError::Target`] for a target out of its ranges, [`EmulatorError::Config`] if the
    /// configuration was compiled for another target or breaks one of its limits.
    pub fn new(config: &'a ChipConfig, target: &'a Target) -> Result<Self, EmulatorError> {
        // Bounds every size allocated below (links, cores); a loaded target is already valid.
        target.validate()?;
        config.check_target(target)?;
        let layers = config.layers.len();
        let mut layer_cores = vec![Vec::new(); layers];
        let core_layer: Vec<usize> = config.cores.iter().map(|c| c.layer as usize).collect();
        for (c, &l) in core_layer.iter().enumerate() {
            layer_cores[l].push(c as u32);
        }
        let mut class_of: Vec<Vec<Option<u32>>> = config
            .cores
            .iter()
            .map(|c| vec![None; c.neurons()])
            .collect();
        for (k, n) in config.output.classes.iter().enumerate() {
            class_of[n.core as usize][n.neuron as usize] = Some(k as u32);
        }
        let cores = config
            .cores
            .iter()
            .map(|c| {
                let n = c.neurons();
                let on_input = target.neuron.update == NeuronUpdateMode::OnInput;
                CoreState {
                    u: vec![0; n],
                    v: vec![0; n],
                    acc: vec![0; n],
                    touched: vec![false; if on_input { n } else { 0 }],
                    refractory_until: vec![0; n],
                    ..CoreState::default()
                }
            })
            .collect::<Vec<_>>();
        let routers = usize::try_from(target.cores()).unwrap_or(usize::MAX);
        let runs: std::sync::Arc<[Option<rows::RunRows>]> =
            config.cores.iter().map(rows::RunRows::of).collect();
        let rules = config
            .cores
            .iter()
            .map(|c| {
                NeuronUpdate::new(
                    c.params,
                    config.decay_bits,
                    target.core.current_bits,
                    target.core.potential_bits,
                )
            })
            .collect();
        Ok(Self {
            config,
            target,
            core_layer,
            layer_cores,
            class_of,
            rules,
            runs,
            stall_since: vec![0; cores.len()],
            cores,
            host_out: VecDeque::new(),
            host_port_busy: false,
            host_stall_since: 0,
            link_free: vec![0; routers * 4],
            link_waiting: vec![VecDeque::new(); routers * 4],
            queue: Calendar::new(),
            packets: Vec::new(),
            free_packets: Vec::new(),
            inputs_at: Vec::new(),
            step: 1,
            phase: 0,
            phase_start: 0,
            step_start: 0,
            cores_remaining: 0,
            phase_ended: false,
            in_flight: 0,
            output_spiked: false,
            end_cycle: None,
            early_exit: false,
            counters: Counters::default(),
            spikes: Vec::new(),
            output_potential: Vec::new(),
            trace: None,
        })
    }

    /// Runs one inference on `input` (row-major `u8` pixels, as many as the configuration's
    /// input channels).
    ///
    /// # Errors
    /// [`EmulatorError::InputLength`] if `input` has the wrong length.
    pub fn run(&mut self, input: &[u8], options: RunOptions) -> Result<Inference, EmulatorError> {
        self.trace = None;
        self.run_inner(input, options)
    }

    /// Like [`run`](Self::run), and also returns every event of the inference in order.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_traced(
        &mut self,
        input: &[u8],
        options: RunOptions,
    ) -> Result<(Inference, Vec<TraceEvent>), EmulatorError> {
        self.trace = Some(Vec::new());
        let inference = self.run_inner(input, options)?;
        Ok((inference, self.trace.take().unwrap_or_default()))
    }

    fn run_inner(&mut self, input: &[u8], options: RunOptions) -> Result<Inference, EmulatorError> {
        // One value per pixel of the input shape (a pixel may own several channels).
        let pixels = self.config.input.targets.rows()
            / self.config.input.encoding.lines_per_pixel().max(1) as usize;
        if input.len() != pixels {
            return Err(EmulatorError::InputLength {
                found: input.len(),
                expected: pixels,
                shape: self.config.input.shape.clone(),
            });
        }
        self.reset(input, options);
        self.schedule(0, Event::PhaseStart);
        while let Some((now, event)) = self.queue.pop() {
            match event {
                Event::PhaseStart => self.phase_start(now),
                Event::PopDone(c) => {
                    self.cores[c as usize].busy = false;
                    self.try_start(c, now);
                }
                Event::UpdateDone(c) => self.update_done(c, now),
                Event::Port(s) => self.port(s, now),
                Event::Hop(p) => self.hop(p, now),
                Event::Link(l) => self.link(l, now),
            }
            if self.end_cycle.is_some() {
                break;
            }
        }
        Ok(self.finish())
    }

    fn reset(&mut self, input: &[u8], options: RunOptions) {
        let t_steps = self.config.time_steps;
        self.inputs_at = vec![Vec::new(); t_steps as usize];
        let inputs_at = &mut self.inputs_at;
        self.config
            .input
            .encoding
            .for_each_spike(input, t_steps, |ch, t| inputs_at[t as usize - 1].push(ch));
        for core in &mut self.cores {
            core.u.fill(0);
            core.v.fill(0);
            core.acc.fill(0);
            core.touched.fill(false);
            core.refractory_until.fill(0);
            core.fifo.clear();
            core.reserved = 0;
            core.busy = false;
            core.phase_active = false;
            core.updated = false;
            core.inputs_pending = 0;
            core.out.clear();
            core.port_busy = false;
            core.waiters.clear();
        }
        self.host_out.clear();
        self.host_port_busy = false;
        self.link_free.fill(0);
        for line in &mut self.link_waiting {
            line.clear();
        }
        self.queue.clear();
        self.packets.clear();
        self.free_packets.clear();
        self.step = 1;
        self.phase = 0;
        self.phase_start = 0;
        self.step_start = 0;
        self.cores_remaining = 0;
        self.phase_ended = false;
        self.in_flight = 0;
        self.output_spiked = false;
        self.end_cycle = None;
        self.early_exit = options.early_exit;
        self.counters = Counters::new(self.config.layers.len(), self.cores.len());
        self.spikes = vec![Vec::new(); self.config.layers.len()];
        self.output_potential = vec![Vec::new(); self.config.output.classes.len()];
    }

    fn schedule(&mut self, cycle: u64, event: Event) {
        self.queue.push(cycle, event);
    }

    fn record(&mut self, event: impl FnOnce() -> TraceEvent) {
        if let Some(trace) = &mut self.trace {
            trace.push(event());
        }
    }

    fn finish(&mut self) -> Inference {
        let mut counters = std::mem::take(&mut self.counters);
        counters.cycles = self.end_cycle.unwrap_or(0);
        let mut spikes = std::mem::take(&mut self.spikes);
        let mut violations = Vec::new();
        for (l, layer) in spikes.iter_mut().enumerate() {
            layer.sort_unstable_by_key(|&(n, t)| (t, n));
            let mut by_neuron = layer.clone();
            by_neuron.sort_unstable();
            for group in by_neuron.chunk_by(|a, b| a.0 == b.0) {
                if group.len() > 1 {
                    violations.push(Violation {
                        layer: l as u32,
                        index: group[0].0,
                        steps: group.iter().map(|&(_, t)| t).collect(),
                    });
                }
            }
        }
        let output_potential = std::mem::take(&mut self.output_potential);
        let decision = self.decide(&spikes, &output_potential, counters.steps_run);
        Inference {
            spikes,
            output_potential,
            decision,
            counters,
            violations,
        }
    }

    /// The decision rule ([`crate::decision::decide`]) on the output layer's spikes and the
    /// potentials after each step run.
    fn decide(
        &self,
        spikes: &[Vec<(u32, u32)>],
        potential: &[Vec<i64>],
        steps_run: u32,
    ) -> Decision {
        let classes = self.config.output.classes.len();
        let last = spikes.len() - 1;
        // Output neurons are the last layer's; map layer index -> class.
        let mut first: Vec<Option<u32>> = vec![None; classes];
        let mut class_of_index = std::collections::BTreeMap::new();
        for (k, n) in self.config.output.classes.iter().enumerate() {
            let index = self.config.cores[n.core as usize].layer_index[n.neuron as usize];
            class_of_index.insert(index, k);
        }
        for &(index, t) in &spikes[last] {
            if let Some(&k) = class_of_index.get(&index) {
                first[k] = Some(first[k].map_or(t, |f: u32| f.min(t)));
            }
        }
        let rule = DecisionRule {
            tie_break: self.config.decoding.tie_break,
            early_exit: self.early_exit,
        };
        decide(&first, steps_run, rule, |k, t| {
            potential[k]
                .get((t as usize).saturating_sub(1))
                .copied()
                .unwrap_or(0)
        })
    }
}
