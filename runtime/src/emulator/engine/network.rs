//! The network on chip: output ports with credit-based back-pressure, X-then-Y routing, links
//! that take one packet per cycle and queue the rest in arrival order.

use super::{Emulator, Event, HOST, Packet};
use crate::emulator::TraceEvent;

impl Emulator<'_> {
    /// A stalled sender may try again: room was made in the queue it waits for.
    pub(super) fn wake(&mut self, sender: u32, now: u64) {
        let since = if sender == HOST {
            self.host_stall_since
        } else {
            self.stall_since[sender as usize]
        };
        self.counters.stall_cycles += now - since;
        self.schedule(now, Event::Port(sender));
    }

    pub(super) fn port(&mut self, s: u32, now: u64) {
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
        let to = self.config.cores[dst as usize].position;
        let packet = Packet {
            dst,
            axon,
            x,
            y,
            to: (to.x, to.y),
            from_host,
            waiting_since: 0,
        };
        // The destination core reads this row's offset when it pops the event.
        if let Some(runs) = &self.runs[dst as usize] {
            runs.prefetch_offset(axon as usize);
        }
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

    pub(super) fn hop(&mut self, id: u32, now: u64) {
        let p = self.packets[id as usize];
        let (to_x, to_y) = p.to;
        if (p.x, p.y) == p.to {
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
        let (dir, nx, ny) = if p.x < to_x {
            (0, p.x + 1, p.y)
        } else if p.x > to_x {
            (1, p.x - 1, p.y)
        } else if p.y < to_y {
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
    pub(super) fn link(&mut self, link: u32, now: u64) {
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
    pub(super) fn cross(&mut self, id: u32, link: usize, nx: u32, ny: u32, now: u64) {
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
}
