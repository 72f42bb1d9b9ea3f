//! The cores and the phases: a core pops the events in its queue into its accumulators, sweeps
//! its neurons in its layer's phase and hands the spikes to its output port; a phase ends when
//! every core of its layer is done and no packet is in flight.

use super::{Emulator, Event, HOST};
use crate::emulator::TraceEvent;
use crate::neuron::UpdateOutcome;

impl Emulator<'_> {
    pub(super) fn phase_start(&mut self, now: u64) {
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
    pub(super) fn try_start(&mut self, c: u32, now: u64) {
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
            let core = &mut self.cores[ci];
            let len = match &self.runs[ci] {
                Some(runs) => {
                    if let Some(&next) = core.fifo.front() {
                        runs.prefetch_row(next as usize);
                    }
                    runs.accumulate(axon as usize, &mut core.acc, &mut core.touched)
                }
                None => {
                    let row = config.cores[ci].synapses.row(axon as usize);
                    for s in row {
                        core.acc[s.neuron as usize] += i64::from(s.weight);
                    }
                    if !core.touched.is_empty() {
                        for s in row {
                            core.touched[s.neuron as usize] = true;
                        }
                    }
                    row.len()
                }
            };
            let len = len as u64;
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

    /// Updates the core's live neurons by the chip's rule ([`NeuronUpdate`]): all of them, or
    /// on a target that updates only on input, those an event reached in this step.
    pub(super) fn sweep(&mut self, c: u32, now: u64) {
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
        let on_input = !core.touched.is_empty();
        for k in 0..cfg.neurons() {
            // On an event-driven target a neuron no event reached is not updated: the
            // compiler and the configuration check allow that only where it changes nothing.
            if on_input && !std::mem::take(&mut core.touched[k]) {
                continue;
            }
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

    pub(super) fn update_done(&mut self, c: u32, now: u64) {
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

    pub(super) fn check_core_done(&mut self, c: u32, now: u64) {
        let core = &mut self.cores[c as usize];
        if core.phase_active && core.updated && !core.busy && !core.port_busy {
            core.phase_active = false;
            self.cores_remaining -= 1;
            self.maybe_end_phase(now);
        }
    }

    pub(super) fn maybe_end_phase(&mut self, now: u64) {
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
}
