//! The event loop of the emulator (the machine is described in the parent module's docs).

use std::collections::VecDeque;

use super::calendar::Calendar;
use super::{Counters, EmulatorError, Inference, RunOptions, TraceEvent, Violation};
use crate::config::ChipConfig;
use crate::config::neuron::{NeuronUpdate, UpdateOutcome};
use crate::decision::{Decision, DecisionRule, decide};
use crate::target::Target;

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
    /// [`EmulatorError::Config`] if the configuration was compiled for another target or breaks
    /// one of its limits.
    pub fn new(config: &'a ChipConfig, target: &'a Target) -> Result<Self, EmulatorError> {
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
                CoreState {
                    u: vec![0; n],
                    v: vec![0; n],
                    acc: vec![0; n],
                    refractory_until: vec![0; n],
                    ..CoreState::default()
                }
            })
            .collect::<Vec<_>>();
        let routers = (target.mesh.cols * target.mesh.rows) as usize;
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

    fn phase_start(&mut self, now: u64) {
        let (step, phase) = (self.step, self.phase);
        self.record(|| TraceEvent::PhaseStart {
            cycle: now,
            step,
            phase,
        });
        self.phase_start = now;
        if phase == 0 {
            self.step_start = now;
            self.output_spiked = false;
            let channels = std::mem::take(&mut self.inputs_at[step as usize - 1]);
            for &ch in &channels {
                for a in self.config.input.targets.row(ch as usize) {
                    self.host_out.push_back((now, a.core, a.axon, ch));
                    self.cores[a.core as usize].inputs_pending += 1;
                }
            }
            if !self.host_out.is_empty() {
                self.host_port_busy = true;
                self.schedule(now, Event::Port(HOST));
            }
        }
        let layer = phase as usize;
        self.cores_remaining = self.layer_cores[layer].len();
        self.phase_ended = false;
        for i in 0..self.layer_cores[layer].len() {
            let c = self.layer_cores[layer][i];
            let core = &mut self.cores[c as usize];
            core.phase_active = true;
            core.updated = false;
            self.try_start(c, now);
        }
    }

    /// Starts the core's next piece of work, if it is idle: pop an event, or update its neurons.
    fn try_start(&mut self, c: u32, now: u64) {
        let ci = c as usize;
        if self.cores[ci].busy {
            return;
        }
        if let Some(axon) = self.cores[ci].fifo.pop_front() {
            self.cores[ci].reserved -= 1;
            if let Some(sender) = self.cores[ci].waiters.pop_front() {
                self.wake(sender, now);
            }
            let config = self.config;
            let row = config.cores[ci].synapses.row(axon as usize);
            let acc = &mut self.cores[ci].acc;
            for s in row {
                acc[s.neuron as usize] += i64::from(s.weight);
            }
            let len = row.len() as u64;
            let layer = self.core_layer[ci];
            self.counters.synaptic_ops += len;
            self.counters.synaptic_ops_per_layer[layer] += len;
            let t = &self.target.timing_cycles;
            let lanes = u64::from(self.target.core.synapse_lanes);
            let cycles = u64::from(t.event_overhead) + len.div_ceil(lanes) * u64::from(t.synop);
            self.counters.core_busy_cycles[ci] += cycles;
            self.cores[ci].busy = true;
            self.record(|| TraceEvent::Pop {
                cycle: now,
                core: c,
                axon,
                synapses: len as u32,
            });
            self.schedule(now + cycles, Event::PopDone(c));
        } else {
            let core = &self.cores[ci];
            if core.phase_active && !core.updated && core.inputs_pending == 0 {
                self.sweep(c, now);
            }
        }
    }

    /// Updates the core's live neurons by the chip's rule ([`NeuronUpdate`], chip.md section 2).
    fn sweep(&mut self, c: u32, now: u64) {
        let ci = c as usize;
        let config = self.config;
        let cfg = &config.cores[ci];
        let rule = self.rules[ci];
        let t = self.step;
        let layer = self.core_layer[ci];
        let update_cycles = u64::from(self.target.timing_cycles.neuron_update);
        let mut updates = 0u64;
        let core = &mut self.cores[ci];
        let mut fired = Vec::new();
        for k in 0..cfg.neurons() {
            let acc = std::mem::take(&mut core.acc[k]);
            let outcome = rule.update(
                &mut core.u[k],
                &mut core.v[k],
                &mut core.refractory_until[k],
                acc,
                cfg.bias[k],
                cfg.threshold[k],
                t,
            );
            if let UpdateOutcome::Updated { fired: spiked, .. } = outcome {
                updates += 1;
                if spiked {
                    fired.push((k as u32, now + updates * update_cycles));
                }
            }
        }
        for &(k, ready) in &fired {
            for a in cfg.routes.row(k as usize) {
                core.out.push_back((ready, a.core, a.axon, k));
            }
        }
        for (k, &class) in self.class_of[ci].iter().enumerate() {
            if let Some(class) = class {
                self.output_potential[class as usize].push(self.cores[ci].v[k]);
            }
        }
        for &(k, ready) in &fired {
            let index = cfg.layer_index[k as usize];
            self.spikes[layer].push((index, t));
            if self.class_of[ci][k as usize].is_some() {
                self.output_spiked = true;
            }
            self.record(|| TraceEvent::Spike {
                cycle: ready,
                step: t,
                core: c,
                layer: layer as u32,
                index,
            });
        }
        self.counters.spikes_per_layer[layer] += fired.len() as u64;
        self.counters.neuron_updates += updates;
        self.counters.neuron_updates_per_layer[layer] += updates;
        let cycles = updates * update_cycles;
        self.counters.core_busy_cycles[ci] += cycles;
        let core = &mut self.cores[ci];
        core.busy = true;
        if let Some(&(ready, ..)) = core.out.front() {
            if !core.port_busy {
                core.port_busy = true;
                self.schedule(ready, Event::Port(c));
            }
        }
        self.schedule(now + cycles, Event::UpdateDone(c));
    }

    fn update_done(&mut self, c: u32, now: u64) {
        let ci = c as usize;
        self.cores[ci].busy = false;
        self.cores[ci].updated = true;
        let neurons = self.cores[ci].u.len() as u32;
        self.record(|| TraceEvent::Updated {
            cycle: now,
            core: c,
            neurons,
        });
        self.check_core_done(c, now);
        self.try_start(c, now);
    }

    fn check_core_done(&mut self, c: u32, now: u64) {
        let core = &mut self.cores[c as usize];
        if core.phase_active && core.updated && !core.busy && !core.port_busy {
            core.phase_active = false;
            self.cores_remaining -= 1;
            self.maybe_end_phase(now);
        }
    }

    /// A stalled sender may try again: room was made in the queue it waits for.
    fn wake(&mut self, sender: u32, now: u64) {
        let since = if sender == HOST {
            self.host_stall_since
        } else {
            self.stall_since[sender as usize]
        };
        self.counters.stall_cycles += now - since;
        self.schedule(now, Event::Port(sender));
    }

    fn port(&mut self, s: u32, now: u64) {
        let front = if s == HOST {
            self.host_out.front().copied()
        } else {
            self.cores[s as usize].out.front().copied()
        };
        let Some((ready, dst, axon, origin)) = front else {
            if s == HOST {
                self.host_port_busy = false;
            } else {
                self.cores[s as usize].port_busy = false;
                self.check_core_done(s, now);
            }
            return;
        };
        if ready > now {
            self.schedule(ready, Event::Port(s));
            return;
        }
        let depth = self.target.core.fifo_depth;
        if self.cores[dst as usize].reserved >= depth {
            if s == HOST {
                self.host_stall_since = now;
            } else {
                self.stall_since[s as usize] = now;
            }
            self.cores[dst as usize].waiters.push_back(s);
            return;
        }
        self.cores[dst as usize].reserved += 1;
        self.in_flight += 1;
        let t = &self.target.timing_cycles;
        let from_host = s == HOST;
        let (cost, x, y) = if from_host {
            self.host_out.pop_front();
            self.counters.host_packets += 1;
            let p = self.config.cores[dst as usize].position;
            (u64::from(t.host_inject), p.x, p.y)
        } else {
            self.cores[s as usize].out.pop_front();
            self.counters.packets += 1;
            let p = self.config.cores[s as usize].position;
            (u64::from(t.spike_inject), p.x, p.y)
        };
        let packet = Packet {
            dst,
            axon,
            x,
            y,
            from_host,
            waiting_since: 0,
        };
        let id = match self.free_packets.pop() {
            Some(id) => {
                self.packets[id as usize] = packet;
                id
            }
            None => {
                self.packets.push(packet);
                (self.packets.len() - 1) as u32
            }
        };
        if from_host {
            self.record(|| TraceEvent::HostSend {
                cycle: now,
                channel: origin,
                core: dst,
                axon,
            });
        } else {
            self.record(|| TraceEvent::Send {
                cycle: now,
                core: s,
                to_core: dst,
                axon,
            });
        }
        self.schedule(now + cost, Event::Hop(id));
        self.schedule(now + cost, Event::Port(s));
    }

    fn hop(&mut self, id: u32, now: u64) {
        let p = self.packets[id as usize];
        let dst_pos = self.config.cores[p.dst as usize].position;
        if (p.x, p.y) == (dst_pos.x, dst_pos.y) {
            let core = &mut self.cores[p.dst as usize];
            core.fifo.push_back(p.axon);
            let depth = core.fifo.len() as u32;
            if p.from_host {
                core.inputs_pending -= 1;
            }
            self.counters.peak_fifo_depth = self.counters.peak_fifo_depth.max(depth);
            self.in_flight -= 1;
            self.free_packets.push(id);
            self.record(|| TraceEvent::Deliver {
                cycle: now,
                core: p.dst,
                axon: p.axon,
                depth,
            });
            self.try_start(p.dst, now);
            self.maybe_end_phase(now);
            return;
        }
        // X first, then Y. Directions: 0 east, 1 west, 2 south, 3 north.
        let (dir, nx, ny) = if p.x < dst_pos.x {
            (0, p.x + 1, p.y)
        } else if p.x > dst_pos.x {
            (1, p.x - 1, p.y)
        } else if p.y < dst_pos.y {
            (2, p.x, p.y + 1)
        } else {
            (3, p.x, p.y - 1)
        };
        let router = (p.y * self.target.mesh.cols + p.x) as usize;
        let link = router * 4 + dir;
        if self.link_waiting[link].is_empty() && self.link_free[link] <= now {
            self.cross(id, link, nx, ny, now);
            return;
        }
        // Wait in line; the line's first packet crosses when the link frees.
        let packet = &mut self.packets[id as usize];
        packet.waiting_since = now;
        self.link_waiting[link].push_back(id);
        if self.link_waiting[link].len() == 1 {
            let free = self.link_free[link].max(now);
            self.schedule(free, Event::Link(link as u32));
        }
    }

    /// The first packet waiting for `link` crosses it.
    fn link(&mut self, link: u32, now: u64) {
        let l = link as usize;
        let Some(id) = self.link_waiting[l].pop_front() else {
            return;
        };
        let p = self.packets[id as usize];
        self.counters.contention_cycles += now - p.waiting_since;
        let (nx, ny) = match l % 4 {
            0 => (p.x + 1, p.y),
            1 => (p.x - 1, p.y),
            2 => (p.x, p.y + 1),
            _ => (p.x, p.y - 1),
        };
        self.cross(id, l, nx, ny, now);
        if !self.link_waiting[l].is_empty() {
            self.schedule(self.link_free[l], Event::Link(link));
        }
    }

    /// Packet `id` enters `link` at `now` and reaches `(nx, ny)` `hop` cycles later.
    fn cross(&mut self, id: u32, link: usize, nx: u32, ny: u32, now: u64) {
        self.link_free[link] = now + 1;
        self.counters.hops += 1;
        let packet = &mut self.packets[id as usize];
        packet.x = nx;
        packet.y = ny;
        self.schedule(
            now + u64::from(self.target.timing_cycles.hop),
            Event::Hop(id),
        );
    }

    fn maybe_end_phase(&mut self, now: u64) {
        if self.phase_ended || self.cores_remaining != 0 || self.in_flight != 0 {
            return;
        }
        let (step, phase) = (self.step, self.phase);
        self.record(|| TraceEvent::PhaseEnd {
            cycle: now,
            step,
            phase,
        });
        self.counters.phase_cycles[phase as usize] += now - self.phase_start;
        let next = now + u64::from(self.target.timing_cycles.barrier);
        self.phase_ended = true;
        if (phase as usize) + 1 < self.layer_cores.len() {
            self.phase += 1;
            self.schedule(next, Event::PhaseStart);
            return;
        }
        self.counters.step_cycles.push(next - self.step_start);
        self.counters.steps_run = step;
        if step >= self.config.time_steps || (self.early_exit && self.output_spiked) {
            self.end_cycle = Some(next);
        } else {
            self.step += 1;
            self.phase = 0;
            self.schedule(next, Event::PhaseStart);
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
