//! A core's synapse table in the layout the accumulation loop streams through: each row as
//! runs of consecutive neurons followed by the row's weights, all 2-byte values in one array.
//!
//! A convolution's row is a few long runs (its kernel's window over channel-minor neurons),
//! so a pop adds whole slices of weights to whole slices of accumulators: one bounds check per
//! run instead of per synapse, a loop the compiler vectorises, and 2 bytes a synapse plus 4 a
//! run instead of the configuration's 8 a synapse. A row's header, runs and first weights
//! share a cache line, so a pop on a core reached at random waits for two lines (its row's
//! offset and its row), not one per array. The sums are the same integers added in the same
//! order as synapse by synapse.

use crate::config::{CoreConfig, Csr, Synapse};

/// Consecutive neurons `start..start + len` of a row, taking its next `len` weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    start: u32,
    len: u32,
}

/// One core's synapse rows as runs and narrow weights.
#[derive(Debug)]
pub(super) struct RunRows {
    /// Per row: the number of runs `k`, `k` pairs (first neuron, length), then the row's
    /// weights (`i16` bits), in the configuration's order.
    stream: Csr<u16>,
}

impl RunRows {
    /// The runs of `core`'s table; `None` if a weight does not fit 16 bits, a neuron is not on
    /// the core (a configuration the target check refuses) or the core has more than 65,535
    /// neurons, which keep the configuration's layout.
    pub(super) fn of(core: &CoreConfig) -> Option<RunRows> {
        let neurons = core.neurons();
        if neurons > usize::from(u16::MAX)
            || core
                .synapses
                .entries
                .iter()
                .any(|s| s.neuron as usize >= neurons)
        {
            return None;
        }
        let mut stream = Vec::with_capacity(core.synapses.entries.len());
        let mut offsets = Vec::with_capacity(core.synapses.offsets.len());
        offsets.push(0);
        let mut runs = Vec::new();
        for r in 0..core.synapses.rows() {
            let row = core.synapses.row(r);
            runs.clear();
            push_runs(row, &mut runs);
            // Neurons, run lengths and the run count are below 65,536: a run has at most one
            // entry per neuron and runs are maximal.
            stream.push(u16::try_from(runs.len()).ok()?);
            for run in &runs {
                stream.push(u16::try_from(run.start).ok()?);
                stream.push(u16::try_from(run.len).ok()?);
            }
            for s in row {
                stream.push(i16::try_from(s.weight).ok()? as u16);
            }
            offsets.push(u32::try_from(stream.len()).ok()?);
        }
        Some(RunRows {
            stream: Csr {
                offsets,
                entries: stream,
            },
        })
    }

    /// Starts fetching row `row`'s offset into the cache (for an event just queued).
    pub(super) fn prefetch_offset(&self, row: usize) {
        prefetch_index::prefetch_index(&self.stream.offsets, row);
    }

    /// Starts fetching row `row` into the cache (for the event popped next).
    pub(super) fn prefetch_row(&self, row: usize) {
        let data = self.stream.row(row);
        // One prefetch per 64-byte line (32 entries).
        for i in (0..data.len()).step_by(32) {
            prefetch_index::prefetch_index(data, i);
        }
    }

    /// Adds row `row`'s weights into `acc` (one accumulator per neuron of the core), marks its
    /// neurons in `touched` unless that is empty, and returns the row's synapse count.
    pub(super) fn accumulate(&self, row: usize, acc: &mut [i64], touched: &mut [bool]) -> usize {
        let Some((&count, rest)) = self.stream.row(row).split_first() else {
            return 0;
        };
        let Some((runs, weights)) = rest.split_at_checked(2 * usize::from(count)) else {
            return 0;
        };
        let mut rest = weights;
        for run in runs.chunks_exact(2) {
            let (start, len) = (usize::from(run[0]), usize::from(run[1]));
            let Some((w, tail)) = rest.split_at_checked(len) else {
                break;
            };
            rest = tail;
            if let Some(a) = acc.get_mut(start..start + len) {
                for (a, &w) in a.iter_mut().zip(w) {
                    *a += i64::from(w as i16);
                }
            }
            if let Some(t) = touched.get_mut(start..start + len) {
                t.fill(true);
            }
        }
        weights.len()
    }
}

/// Appends the runs of consecutive neurons of `row` to `runs`.
fn push_runs(row: &[Synapse], runs: &mut Vec<Run>) {
    let mut current: Option<Run> = None;
    for s in row {
        current = match current {
            Some(run) if run.start.checked_add(run.len) == Some(s.neuron) => Some(Run {
                len: run.len + 1,
                ..run
            }),
            other => {
                runs.extend(other);
                Some(Run {
                    start: s.neuron,
                    len: 1,
                })
            }
        };
    }
    runs.extend(current);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use proptest::prelude::*;

    use super::*;

    /// The sample configuration's first core with `neurons` neurons and these rows of
    /// (neuron, weight).
    fn core_with(rows: &[Vec<(u32, i32)>], neurons: usize) -> CoreConfig {
        let template = crate::config::test_configs::sample().cores.swap_remove(0);
        CoreConfig {
            layer_index: (0..neurons as u32).collect(),
            threshold: vec![1; neurons],
            bias: vec![0; neurons],
            synapses: Csr::from_rows(rows.iter().map(|row| {
                row.iter()
                    .map(|&(neuron, weight)| Synapse { neuron, weight })
                    .collect()
            })),
            ..template
        }
    }

    #[test]
    fn a_row_becomes_its_runs() {
        let core = core_with(
            &[vec![(3, 1), (4, 2), (5, 3), (9, 4), (2, 5), (3, 6)], vec![]],
            10,
        );
        let rows = RunRows::of(&core).unwrap();
        let weights = [1u16, 2, 3, 4, 5, 6];
        assert_eq!(rows.stream.row(0)[..7], [3, 3, 3, 9, 1, 2, 2]);
        assert_eq!(rows.stream.row(0)[7..], weights);
        // The empty row: no runs.
        assert_eq!(rows.stream.row(1), [0]);
        assert_eq!(rows.stream.offsets, [0, 13, 14]);
    }

    #[test]
    fn a_weight_beyond_16_bits_or_a_neuron_off_the_core_keeps_the_configuration_layout() {
        assert!(RunRows::of(&core_with(&[vec![(0, 40_000)]], 1)).is_none());
        assert!(RunRows::of(&core_with(&[vec![(0, -40_000)]], 1)).is_none());
        assert!(RunRows::of(&core_with(&[vec![(0, -32_768)]], 1)).is_some());
        assert!(RunRows::of(&core_with(&[vec![(1, 1)]], 1)).is_none());
        assert!(RunRows::of(&core_with(&[vec![(0, 1)]], 1 << 16)).is_none());
    }

    proptest! {
        /// Row by row, the runs add exactly what the synapses add one by one, mark the same
        /// neurons and count the same synapses (rows with repeats, gaps and descents).
        #[test]
        fn runs_add_what_the_synapses_add(
            rows in proptest::collection::vec(
                proptest::collection::vec((0u32..40, -32768i32..32768), 0..30), 1..8),
            order in proptest::collection::vec(0usize..8, 1..20),
        ) {
            let neurons = 40;
            let core = core_with(&rows, neurons);
            let runs = RunRows::of(&core).unwrap();
            let (mut acc, mut touched) = (vec![0i64; neurons], vec![false; neurons]);
            let (mut want, mut want_touched) = (vec![0i64; neurons], vec![false; neurons]);
            for &r in &order {
                let r = r % rows.len();
                let count = runs.accumulate(r, &mut acc, &mut touched);
                prop_assert_eq!(count, rows[r].len());
                for s in core.synapses.row(r) {
                    want[s.neuron as usize] += i64::from(s.weight);
                    want_touched[s.neuron as usize] = true;
                }
            }
            prop_assert_eq!(&acc, &want);
            prop_assert_eq!(&touched, &want_touched);
            // A core that updates every neuron keeps no marks.
            prop_assert_eq!(runs.accumulate(0, &mut acc, &mut []), rows[0].len());
        }
    }
}
