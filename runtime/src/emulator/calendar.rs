//! The emulator's event queue: a calendar (bucket) queue over clock cycles.
//!
//! Events come out ordered by (cycle, order of scheduling), exactly as a binary heap keyed by
//! (cycle, insertion number) would give them, but in O(1): the next [`HORIZON`] cycles each have
//! a bucket, served first in first out; events further ahead wait in a heap and move into their
//! bucket when it comes within the horizon, before any event can be scheduled directly into it,
//! so they keep their place in line.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Cycles ahead that have a bucket (a power of two).
pub const HORIZON: u64 = 8192;

/// A calendar queue of events of type `E`.
#[derive(Clone, Debug)]
pub struct Calendar<E> {
    now: u64,
    buckets: Vec<VecDeque<E>>,
    near: usize,
    far: BinaryHeap<Reverse<(u64, u64, E)>>,
    seq: u64,
}

impl<E: Copy + Ord> Calendar<E> {
    /// An empty queue at cycle 0.
    pub fn new() -> Self {
        Self {
            now: 0,
            buckets: (0..HORIZON).map(|_| VecDeque::new()).collect(),
            near: 0,
            far: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Empties the queue and sets the clock back to cycle 0.
    pub fn clear(&mut self) {
        if self.near > 0 {
            for b in &mut self.buckets {
                b.clear();
            }
        }
        self.now = 0;
        self.near = 0;
        self.far.clear();
        self.seq = 0;
    }

    /// Schedules `event` at `cycle`, which must not be before the current cycle (an earlier one
    /// is taken as the current cycle).
    pub fn push(&mut self, cycle: u64, event: E) {
        let cycle = cycle.max(self.now);
        if cycle - self.now < HORIZON {
            self.buckets[(cycle % HORIZON) as usize].push_back(event);
            self.near += 1;
        } else {
            self.far.push(Reverse((cycle, self.seq, event)));
            self.seq += 1;
        }
    }

    /// The next event and its cycle.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        loop {
            if let Some(e) = self.buckets[(self.now % HORIZON) as usize].pop_front() {
                self.near -= 1;
                return Some((self.now, e));
            }
            if self.near == 0 {
                let Reverse((cycle, _, _)) = *self.far.peek()?;
                self.now = cycle;
            } else {
                self.now += 1;
            }
            self.migrate();
        }
    }

    /// Moves the far events that are now within the horizon into their buckets.
    fn migrate(&mut self) {
        while let Some(&Reverse((cycle, _, event))) = self.far.peek() {
            if cycle - self.now >= HORIZON {
                break;
            }
            self.far.pop();
            self.buckets[(cycle % HORIZON) as usize].push_back(event);
            self.near += 1;
        }
    }
}

impl<E: Copy + Ord> Default for Calendar<E> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The calendar gives the same order as a heap keyed by (cycle, insertion number), for
        /// random schedules that push while popping, near and far.
        #[test]
        fn same_order_as_a_heap(ops in proptest::collection::vec((0u64..3 * HORIZON, 0u8..3), 1..300)) {
            let mut cal = Calendar::new();
            let mut heap = BinaryHeap::new();
            let mut now = 0u64;
            for (id, (delay, pops)) in ops.into_iter().enumerate() {
                let id = id as u32;
                cal.push(now + delay, id);
                heap.push(Reverse((now + delay, u64::from(id), id)));
                for _ in 0..pops {
                    let a = cal.pop();
                    let b = heap.pop().map(|Reverse((c, _, e))| (c, e));
                    prop_assert_eq!(a, b);
                    if let Some((c, _)) = a {
                        now = c;
                    }
                }
            }
            loop {
                let a = cal.pop();
                let b = heap.pop().map(|Reverse((c, _, e))| (c, e));
                prop_assert_eq!(a, b);
                if a.is_none() {
                    break;
                }
            }
        }
    }
}
