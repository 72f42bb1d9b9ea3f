//! The emulator's event queue: a calendar (bucket) queue over clock cycles.
//!
//! Events come out ordered by (cycle, order of scheduling), exactly as a binary heap keyed by
//! (cycle, insertion number) would give them, but in O(1): the next [`HORIZON`] cycles each have
//! a bucket, served first in first out; events further ahead wait in a heap and move into their
//! bucket when it comes within the horizon, before any event can be scheduled directly into it,
//! so they keep their place in line. When the clock jumps over empty buckets, the far events
//! that come within the horizon land in buckets ahead of the new cycle (they are at least a
//! horizon past the old one), so jumping is the same as stepping one cycle at a time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Cycles ahead that have a bucket (a power of two, a multiple of 64).
pub const HORIZON: u64 = 8192;

/// No node: the end of a bucket's list.
const NIL: u32 = u32::MAX;

/// A calendar queue of events of type `E`.
///
/// Each bucket is a singly linked list of nodes in one arena (`nodes`), appended at its tail
/// and served from its head; freed nodes are reused first, so the queue's memory stays small
/// and warm. A bitmap of the buckets that hold events lets [`pop`](Self::pop) skip runs of
/// empty cycles a word at a time.
#[derive(Clone, Debug)]
pub struct Calendar<E> {
    now: u64,
    head: Vec<u32>,
    tail: Vec<u32>,
    /// Bit `b % 64` of word `b / 64`: bucket `b` holds an event.
    occupied: Vec<u64>,
    nodes: Vec<(E, u32)>,
    free: u32,
    near: usize,
    far: BinaryHeap<Reverse<(u64, u64, E)>>,
    seq: u64,
}

impl<E: Copy + Ord> Calendar<E> {
    /// An empty queue at cycle 0.
    pub fn new() -> Self {
        Self {
            now: 0,
            head: vec![NIL; HORIZON as usize],
            tail: vec![NIL; HORIZON as usize],
            occupied: vec![0; (HORIZON / 64) as usize],
            nodes: Vec::new(),
            free: NIL,
            near: 0,
            far: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Empties the queue and sets the clock back to cycle 0.
    pub fn clear(&mut self) {
        if self.near > 0 {
            self.head.fill(NIL);
            self.tail.fill(NIL);
            self.occupied.fill(0);
        }
        self.nodes.clear();
        self.free = NIL;
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
            self.append((cycle % HORIZON) as usize, event);
        } else {
            self.far.push(Reverse((cycle, self.seq, event)));
            self.seq += 1;
        }
    }

    /// Appends `event` to bucket `b`.
    fn append(&mut self, b: usize, event: E) {
        let node = if self.free == NIL {
            self.nodes.push((event, NIL));
            (self.nodes.len() - 1) as u32
        } else {
            let node = self.free;
            self.free = self.nodes[node as usize].1;
            self.nodes[node as usize] = (event, NIL);
            node
        };
        match self.tail[b] {
            NIL => {
                self.head[b] = node;
                self.occupied[b / 64] |= 1 << (b % 64);
            }
            last => self.nodes[last as usize].1 = node,
        }
        self.tail[b] = node;
        self.near += 1;
    }

    /// The next event and its cycle.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        loop {
            let b = (self.now % HORIZON) as usize;
            let node = self.head[b];
            if node != NIL {
                let (event, next) = self.nodes[node as usize];
                self.head[b] = next;
                if next == NIL {
                    self.tail[b] = NIL;
                    self.occupied[b / 64] &= !(1 << (b % 64));
                }
                self.nodes[node as usize].1 = self.free;
                self.free = node;
                self.near -= 1;
                return Some((self.now, event));
            }
            if self.near == 0 {
                let Reverse((cycle, _, _)) = *self.far.peek()?;
                self.now = cycle;
            } else {
                self.now += self.cycles_to_next_event(b);
            }
            self.migrate();
        }
    }

    /// Cycles from bucket `b` (empty) to the next bucket that holds an event, in `1..HORIZON`
    /// (some bucket does: `near > 0`).
    fn cycles_to_next_event(&self, b: usize) -> u64 {
        let words = self.occupied.len();
        let (word, bit) = (b / 64, b % 64);
        // The rest of this word above `bit`, then the following words, wrapping around.
        let above = self.occupied[word] & (!0u64 << bit);
        if above != 0 {
            return u64::from(above.trailing_zeros()) - bit as u64;
        }
        for k in 1..=words {
            let w = (word + k) % words;
            let bits = self.occupied[w];
            if bits != 0 {
                let target = w * 64 + bits.trailing_zeros() as usize;
                return ((target + HORIZON as usize - b) % HORIZON as usize) as u64;
            }
        }
        1
    }

    /// Moves the far events that are now within the horizon into their buckets.
    fn migrate(&mut self) {
        while let Some(&Reverse((cycle, _, event))) = self.far.peek() {
            if cycle - self.now >= HORIZON {
                break;
            }
            self.far.pop();
            self.append((cycle % HORIZON) as usize, event);
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
