//! The chip's decision rule, in one place: the emulator, the compiler's golden model and float
//! reference, the emulator-vs-golden cross-check and (through a thin tensor adapter) the
//! trainer all call [`decide`], so float, golden and chip accuracy compare like with like.
//!
//! # The rule
//! The class is the one whose output neuron fires first. When several outputs fire at that
//! first step, or none fires at all (then every class is a candidate), the candidates are
//! ordered by the larger output potential, then by the lower class index. The potential is the
//! one after the decision step (the step of the first output spike) when the configuration's
//! tie break says [`TieBreak::PotentialAtDecision`] or the chip exits early (it stops there, so
//! no later potential exists); otherwise, and whenever no output fired, it is the one after the
//! last step run (step T without early exit).
//!
//! # Early exit
//! A chip may stop an inference after its decision step ([`EarlyExit`]). That changes no
//! decision exactly when the tie break reads the potential at the decision step: the first
//! spike step and that potential are both known when the chip stops. [`EarlyExit::applies`]
//! is the one place that says so.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::TieBreak;

/// One inference's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The chosen class.
    pub class: usize,
    /// The step (1-based) of the first output spike, if any output fired.
    pub step: Option<u32>,
    /// How many outputs fired at that step (0 when none fired); above 1 the tie break decided.
    pub tied: usize,
}

/// How [`decide`] breaks ties: the configuration's tie break, and whether the chip stopped at
/// the decision step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecisionRule {
    /// Which potential orders tied candidates.
    pub tie_break: TieBreak,
    /// The inference stopped after the decision step (the chip's early exit): ties are broken
    /// by the potential after that step, whatever `tie_break` says.
    pub early_exit: bool,
}

impl DecisionRule {
    /// The rule of a full run (no early exit) with `tie_break`.
    pub fn full_run(tie_break: TieBreak) -> Self {
        Self {
            tie_break,
            early_exit: false,
        }
    }

    /// The step (1-based) whose potential breaks ties: the decision step when the rule reads the
    /// potential there, else `steps_run`.
    pub fn tie_break_step(self, decision_step: Option<u32>, steps_run: u32) -> u32 {
        match decision_step {
            Some(t) if self.early_exit || self.tie_break == TieBreak::PotentialAtDecision => t,
            _ => steps_run,
        }
    }
}

/// When an inference stops after its decision step (the step of its first output spike), as a
/// run asks for it: `ttfs run`, the pipeline and the explorations all take this one setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EarlyExit {
    /// When the network breaks ties at the decision step, so stopping there changes no
    /// decision; otherwise run all T steps.
    Auto,
    /// Stop at the first output spike; refused for a network that breaks ties after the last
    /// step, where that would change decisions.
    On,
    /// Always run all T steps.
    Off,
    /// Stop at the first output spike even where that changes decisions (ties then go by the
    /// potential at that step, not the one the network was trained for).
    Anyway,
}

/// Why [`EarlyExit::On`] is refused for a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "early exit would change decisions: the network breaks ties between outputs that fire at \
     the same first step by their potentials after the last step, which a run that stops at \
     the first output spike never reaches; early exit `auto` runs all its steps, `anyway` \
     stops early and accepts other decisions"
)]
pub struct InexactEarlyExit;

impl EarlyExit {
    /// Every setting, with its name and a one-line description (for a command line's help).
    pub const ALL: [(EarlyExit, &'static str, &'static str); 4] = [
        (
            EarlyExit::Auto,
            "auto",
            "When the network breaks ties at the decision step, so stopping there changes no \
             decision; otherwise run all T steps",
        ),
        (
            EarlyExit::On,
            "on",
            "Stop at the first output spike; refused where that changes decisions (ties broken \
             after the last step)",
        ),
        (EarlyExit::Off, "off", "Always run all T steps"),
        (
            EarlyExit::Anyway,
            "anyway",
            "Stop at the first output spike even where that changes decisions",
        ),
    ];

    /// Whether an inference of a network whose tie break is `tie_break` stops after its
    /// decision step: under [`EarlyExit::Auto`] only where that changes no decision.
    ///
    /// # Errors
    /// [`InexactEarlyExit`] for [`EarlyExit::On`] where stopping would change decisions.
    pub fn stops(self, tie_break: TieBreak) -> Result<bool, InexactEarlyExit> {
        let exact = tie_break == TieBreak::PotentialAtDecision;
        match self {
            EarlyExit::Auto => Ok(exact),
            EarlyExit::On if !exact => Err(InexactEarlyExit),
            EarlyExit::On | EarlyExit::Anyway => Ok(true),
            EarlyExit::Off => Ok(false),
        }
    }

    /// The setting's name: `auto`, `on`, `off` or `anyway`.
    pub fn name(self) -> &'static str {
        match self {
            EarlyExit::Auto => "auto",
            EarlyExit::On => "on",
            EarlyExit::Off => "off",
            EarlyExit::Anyway => "anyway",
        }
    }
}

impl fmt::Display for EarlyExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EarlyExit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EarlyExit::ALL
            .iter()
            .find(|(_, name, _)| *name == s)
            .map(|(e, _, _)| *e)
            .ok_or_else(|| format!("unknown early exit {s:?}: expected auto, on, off or anyway"))
    }
}

/// Decides from each output's first spike step (`spike_steps[k]`, `None`: silent) and its
/// potential: `potential(k, t)` is output `k`'s potential after step `t` (1-based). `steps_run`
/// is the last step simulated (T, or the decision step with early exit). Works for any ordered
/// potential (`f32` in the trainer, `f64` in the float reference, `i64` on the chip).
///
/// With no outputs at all (`spike_steps` empty) the decision is class 0, decided by nothing.
pub fn decide<P: PartialOrd>(
    spike_steps: &[Option<u32>],
    steps_run: u32,
    rule: DecisionRule,
    potential: impl Fn(usize, u32) -> P,
) -> Decision {
    let first = spike_steps.iter().flatten().copied().min();
    let mut candidates = (0..spike_steps.len()).filter(|&k| match first {
        Some(t) => spike_steps[k] == Some(t),
        None => true,
    });
    let Some(mut best) = candidates.next() else {
        return Decision {
            class: 0,
            step: None,
            tied: 0,
        };
    };
    let at = rule.tie_break_step(first, steps_run);
    let mut best_v = potential(best, at);
    let mut tied = 1;
    for k in candidates {
        tied += 1;
        let v = potential(k, at);
        if v > best_v {
            best = k;
            best_v = v;
        }
    }
    Decision {
        class: best,
        step: first,
        tied: if first.is_some() { tied } else { 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tie_break: TieBreak) -> DecisionRule {
        DecisionRule::full_run(tie_break)
    }

    #[test]
    fn earliest_spike_wins_then_potential_then_index() {
        // Outputs 1 and 2 fire at step 2, output 0 at step 3: 1 and 2 are tied.
        let steps = [Some(3), Some(2), Some(2)];
        let v =
            |k: usize, t: u32| -> i64 { [[0, 0, 0, 9], [0, 1, 5, 5], [0, 1, 7, 4]][k][t as usize] };
        // At the end (t = 3): 5 against 4, output 1 wins.
        let d = decide(&steps, 3, rule(TieBreak::PotentialAtEnd), v);
        assert_eq!(
            d,
            Decision {
                class: 1,
                step: Some(2),
                tied: 2
            }
        );
        // At the decision step (t = 2): 5 against 7, output 2 wins.
        let d = decide(&steps, 3, rule(TieBreak::PotentialAtDecision), v);
        assert_eq!(d.class, 2);
        // Equal potentials: the lower index.
        let d = decide(&steps, 3, rule(TieBreak::PotentialAtEnd), |_, _| 1i64);
        assert_eq!(d.class, 1);
    }

    #[test]
    fn no_spike_means_largest_final_potential() {
        let d = decide(
            &[None, None, None],
            4,
            rule(TieBreak::PotentialAtDecision),
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

    #[test]
    fn early_exit_breaks_ties_at_the_decision_step_whatever_the_tie_break() {
        // Both outputs fire at step 2; output 0 leads then, output 1 at step 4.
        let steps = [Some(2), Some(2)];
        let v = |k: usize, t: u32| -> i64 { [[0, 0, 9, 9, 9], [0, 0, 5, 5, 20]][k][t as usize] };
        let full = decide(&steps, 4, rule(TieBreak::PotentialAtEnd), v);
        assert_eq!((full.class, full.tied), (1, 2));
        let early = DecisionRule {
            tie_break: TieBreak::PotentialAtEnd,
            early_exit: true,
        };
        assert_eq!(decide(&steps, 2, early, v).class, 0);
        // Nothing fired: the last step run decides, early exit or not.
        assert_eq!(early.tie_break_step(None, 4), 4);
        assert_eq!(early.tie_break_step(Some(3), 4), 3);
    }

    #[test]
    fn no_outputs_is_class_0_not_a_panic() {
        let d = decide(&[], 4, rule(TieBreak::PotentialAtEnd), |_, _| 0i64);
        assert_eq!(
            d,
            Decision {
                class: 0,
                step: None,
                tied: 0
            }
        );
    }

    #[test]
    fn early_exit_applies_by_itself_only_where_the_tie_break_reads_the_decision_step() {
        use TieBreak::{PotentialAtDecision, PotentialAtEnd};
        assert_eq!(EarlyExit::Auto.stops(PotentialAtDecision), Ok(true));
        assert_eq!(EarlyExit::Auto.stops(PotentialAtEnd), Ok(false));
        assert_eq!(EarlyExit::On.stops(PotentialAtDecision), Ok(true));
        assert_eq!(EarlyExit::On.stops(PotentialAtEnd), Err(InexactEarlyExit));
        for tie_break in [PotentialAtDecision, PotentialAtEnd] {
            assert_eq!(EarlyExit::Anyway.stops(tie_break), Ok(true));
            assert_eq!(EarlyExit::Off.stops(tie_break), Ok(false));
        }
        for (e, name, _) in EarlyExit::ALL {
            assert_eq!(name.parse::<EarlyExit>(), Ok(e));
            assert_eq!(e.to_string(), name);
        }
        assert_eq!(
            "yes".parse::<EarlyExit>(),
            Err("unknown early exit \"yes\": expected auto, on, off or anyway".to_string())
        );
    }
}
