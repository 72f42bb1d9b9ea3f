//! The decision rule shared by the float reference, the golden model and (through the chip
//! configuration) the emulator: the class whose output neuron fires first; candidates that
//! fire at the same first step, or every class when no output fires, are ordered by the larger
//! potential (at the decision step or at step T, after the tie break), then the lower index.

use ttfs_runtime::config::TieBreak;

/// One inference's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The chosen class.
    pub class: usize,
    /// The step (1-based) of the first output spike, if any output fired.
    pub step: Option<u32>,
    /// How many outputs fired at that step (0 when none fired); above 1 the tie break decided.
    pub tied: usize,
}

/// Decides from each output's spike step (`None`: silent) and its potential after each step:
/// `potential(k, t)` is output `k`'s potential after step `t` (1-based). Works for any ordered
/// potential type (`f64` for the float model, `i64` for the integer ones).
///
/// # Panics
/// If `spike_steps` is empty.
pub fn decide<P: PartialOrd>(
    spike_steps: &[Option<u32>],
    time_steps: u32,
    tie_break: TieBreak,
    potential: impl Fn(usize, u32) -> P,
) -> Decision {
    let first = spike_steps.iter().flatten().copied().min();
    let candidates: Vec<usize> = match first {
        Some(t) => (0..spike_steps.len())
            .filter(|&k| spike_steps[k] == Some(t))
            .collect(),
        None => (0..spike_steps.len()).collect(),
    };
    let at = match (tie_break, first) {
        (TieBreak::PotentialAtDecision, Some(t)) => t,
        _ => time_steps,
    };
    let mut best = candidates[0];
    let mut best_v = potential(best, at);
    for &k in &candidates[1..] {
        let v = potential(k, at);
        if v > best_v {
            best = k;
            best_v = v;
        }
    }
    Decision {
        class: best,
        step: first,
        tied: if first.is_some() { candidates.len() } else { 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_spike_wins_then_potential_then_index() {
        // Outputs 1 and 2 fire at step 2, output 0 at step 3: 1 and 2 are tied.
        let steps = [Some(3), Some(2), Some(2)];
        let v =
            |k: usize, t: u32| -> i64 { [[0, 0, 0, 9], [0, 1, 5, 5], [0, 1, 7, 4]][k][t as usize] };
        // At the end (t = 3): 5 against 4, output 1 wins.
        let d = decide(&steps, 3, TieBreak::PotentialAtEnd, v);
        assert_eq!(
            d,
            Decision {
                class: 1,
                step: Some(2),
                tied: 2
            }
        );
        // At the decision step (t = 2): 5 against 7, output 2 wins.
        let d = decide(&steps, 3, TieBreak::PotentialAtDecision, v);
        assert_eq!(d.class, 2);
        // Equal potentials: the lower index.
        let d = decide(&steps, 3, TieBreak::PotentialAtEnd, |_, _| 1i64);
        assert_eq!(d.class, 1);
    }

    #[test]
    fn no_spike_means_largest_final_potential() {
        let d = decide(
            &[None, None, None],
            4,
            TieBreak::PotentialAtDecision,
            |k, t| {
                assert_eq!(t, 4);
                [1.0, 3.0, 2.0][k]
            },
        );
        assert_eq!(
            d,
            Decision {
                class: 1,
                step: None,
                tied: 0
            }
        );
    }
}
