//! The integer CUBA-LIF neuron's parameters and the exact update rule (also in ARCHITECTURE.md,
//! "The integer neuron").
//!
//! # The update, per neuron and time step `t` (1-based), in its layer's phase
//! ```text
//! if refractory at t and while_refractory == Frozen: nothing happens (no update is counted,
//!     the step's input is dropped)
//! acc = sum of the weights of the spikes delivered to the neuron in this step (wide: no
//!       saturation while accumulating, so the order of arrival cannot matter)
//! u   = sat(current_bits,   ((u * (2^D - du)) >> D) + acc)
//! v   = sat(potential_bits, ((v * (2^D - dv)) >> D) + u + bias)
//! if not refractory at t and v >= threshold:
//!     spike at t; v = r if reset == To(r) (unchanged if Hold);
//!     refractory in steps t+1 ..= t+n for Steps(n), in every later step for UntilEnd
//! ```
//! `>>` is an arithmetic shift (rounds toward minus infinity), the products are formed in 64
//! bits, and `sat(b, x)` clamps `x` to `[-2^(b-1), 2^(b-1) - 1]`. State starts at `u = v = 0`,
//! not refractory, at every inference.
//!
//! The ETTFS neuron is `du = 2^D` (the current lasts one step), `dv = 0` (no leak), refractory
//! `UntilEnd`. Hidden layers use `Reset::To(0)` and `Frozen`: a neuron that fired is done.
//! Output layers use `Reset::Hold` and `Integrate`: they fire once but keep integrating, so the
//! host can read `v` at the decision step or at step T for the tie break. With thermometer
//! input the first layer runs `du = 0`: its input lines spike once at step 1 and the current
//! they leave persists, so `v` grows by the same quantized grey-level current every step.

use serde::{Deserialize, Serialize};

/// Parameters shared by all neurons of a core.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeuronParams {
    /// Current decay factor `du`, `0..=2^D`; `2^D` clears the current every step.
    pub du: u32,
    /// Potential decay factor `dv`, `0..=2^D`; `0` is no leak.
    pub dv: u32,
    /// How long a neuron stays refractory after it spikes.
    pub refractory: Refractory,
    /// What a spike does to the potential.
    pub reset: Reset,
    /// Whether a refractory neuron keeps integrating.
    pub while_refractory: WhileRefractory,
}

impl NeuronParams {
    /// The single-spike integrate-and-fire neuron of a hidden layer with decay resolution
    /// `decay_bits`: input current for one step, no leak, refractory until the end, reset to 0.
    pub fn ttfs_hidden(decay_bits: u32) -> Self {
        Self {
            du: 1 << decay_bits,
            dv: 0,
            refractory: Refractory::UntilEnd,
            reset: Reset::To(0),
            while_refractory: WhileRefractory::Frozen,
        }
    }

    /// The output neuron: like [`ttfs_hidden`](Self::ttfs_hidden), but it keeps integrating after
    /// its spike and does not reset, so `v` at step T is the full integral `H[T]`.
    pub fn ttfs_output(decay_bits: u32) -> Self {
        Self {
            reset: Reset::Hold,
            while_refractory: WhileRefractory::Integrate,
            ..Self::ttfs_hidden(decay_bits)
        }
    }
}

/// Why a neuron's state can change in a step without input, so that updating it only when an
/// event reaches it ([`crate::target::NeuronUpdateMode::OnInput`]) would not be exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MovesWithoutInput {
    /// The current does not clear each step (`du < 2^D`), so it keeps charging `v`.
    #[error(
        "its input current lasts more than one step (du = {du} of {full}), so v keeps growing without input"
    )]
    CurrentPersists {
        /// The current decay factor.
        du: u32,
        /// `2^D`, the factor that clears the current.
        full: u32,
    },
    /// The potential leaks (`dv > 0`).
    #[error("its potential leaks (dv = {dv}), so v changes without input")]
    Leaks {
        /// The potential decay factor.
        dv: u32,
    },
    /// A neuron has a bias, added to `v` every step.
    #[error(
        "{count} of its neurons have a bias current (added to v every step); train with --bias off"
    )]
    Bias {
        /// Neurons with a nonzero bias.
        count: usize,
    },
    /// A refractory period that ends can leave `v` at or above threshold (a hold, a reset
    /// value that high, or input integrated meanwhile), so the neuron fires again without
    /// input.
    #[error(
        "its refractory period can end with v at or above threshold, so it fires again without input"
    )]
    FiresAgain,
    /// A neuron's threshold is at most 0, so it fires at step 1 without any input.
    #[error("a threshold of {threshold} fires without input")]
    Threshold {
        /// The smallest threshold.
        threshold: i32,
    },
}

impl NeuronParams {
    /// Checks that a neuron with these parameters, `biases` and `thresholds` keeps its state
    /// in a step without input, so skipping its update there changes no spike and no `v`: the
    /// current clears every step (`du = 2^D`, so the `u` left over from the last input is
    /// never read again), no leak (`dv = 0`), no bias and a positive threshold (`v` then
    /// stays where its last update left it, below threshold, or the neuron is refractory), and
    /// a refractory period that ends leaves `v` below threshold.
    ///
    /// # Errors
    /// The first of [`MovesWithoutInput`]'s reasons that applies.
    pub fn still_without_input(
        &self,
        decay_bits: u32,
        biases: &[i32],
        thresholds: &[i32],
    ) -> Result<(), MovesWithoutInput> {
        let full = 1u32.checked_shl(decay_bits).unwrap_or(u32::MAX);
        if self.du != full {
            return Err(MovesWithoutInput::CurrentPersists { du: self.du, full });
        }
        if self.dv != 0 {
            return Err(MovesWithoutInput::Leaks { dv: self.dv });
        }
        let count = biases.iter().filter(|&&b| b != 0).count();
        if count > 0 {
            return Err(MovesWithoutInput::Bias { count });
        }
        let lowest = thresholds.iter().min().copied().unwrap_or(i32::MAX);
        if lowest <= 0 {
            return Err(MovesWithoutInput::Threshold { threshold: lowest });
        }
        // A period that ends must leave v below threshold: reset low and frozen meanwhile.
        let ends_low = matches!(
            (self.reset, self.while_refractory),
            (Reset::To(r), WhileRefractory::Frozen) if r < lowest
        );
        match self.refractory {
            Refractory::Steps(_) if !ends_low => Err(MovesWithoutInput::FiresAgain),
            _ => Ok(()),
        }
    }
}

/// Refractory period after a spike.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refractory {
    /// Refractory for this many steps after the spike step.
    Steps(u32),
    /// Refractory for the rest of the inference (a TTFS neuron fires at most once).
    UntilEnd,
}

/// What a spike does to the potential.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// `v` is set to this value.
    To(i32),
    /// `v` keeps its value.
    Hold,
}

/// What a refractory neuron does.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhileRefractory {
    /// Nothing: no update, its input is dropped.
    Frozen,
    /// `u` and `v` update as usual; it only cannot spike.
    Integrate,
}

/// The update rule above for one layer (or core), its constants computed once: the one
/// implementation of the integer neuron, run by the emulator's neuron sweep and by the
/// compiler's golden model alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeuronUpdate {
    /// `2^D - du`.
    keep_u: i64,
    /// `2^D - dv`.
    keep_v: i64,
    /// `D`.
    decay_bits: u32,
    u_range: (i64, i64),
    v_range: (i64, i64),
    reset: Reset,
    refractory: Refractory,
    frozen: bool,
}

/// What one update did (see [`NeuronUpdate::update`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The neuron is refractory and frozen: nothing happened, its input was dropped.
    Skipped,
    /// The neuron was updated.
    Updated {
        /// It spiked at this step.
        fired: bool,
        /// `u` was clamped to its register.
        u_saturated: bool,
        /// `v` was clamped to its register.
        v_saturated: bool,
        /// `v` after the clamp and before a reset (`v` itself when it did not fire).
        v_before_reset: i64,
    },
}

/// The range `[-2^(bits-1), 2^(bits-1) - 1]` of a signed register (bits taken in `1..=63`, so
/// an out-of-range width, which validation refuses before any update runs, cannot overflow).
fn signed_range(bits: u32) -> (i64, i64) {
    let half = 1i64 << (bits.clamp(1, 63) - 1);
    (-half, half - 1)
}

/// `x` clamped to `[lo, hi]` (the range is valid by construction, so no check as in
/// `i64::clamp`: this runs once per neuron update).
#[inline(always)]
fn saturate(x: i64, (lo, hi): (i64, i64)) -> i64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

impl NeuronUpdate {
    /// The rule for neurons with `params`, decay resolution `decay_bits` and registers of
    /// `current_bits` and `potential_bits`.
    pub fn new(
        params: NeuronParams,
        decay_bits: u32,
        current_bits: u32,
        potential_bits: u32,
    ) -> Self {
        let one = 1i64 << decay_bits.min(62);
        Self {
            keep_u: one - i64::from(params.du),
            keep_v: one - i64::from(params.dv),
            decay_bits: decay_bits.min(62),
            u_range: signed_range(current_bits),
            v_range: signed_range(potential_bits),
            reset: params.reset,
            refractory: params.refractory,
            frozen: params.while_refractory == WhileRefractory::Frozen,
        }
    }

    /// Updates one neuron at step `t` (1-based) with the step's accumulated input `acc`, its
    /// `bias` and `threshold`. `refractory_until` is the last step of its refractory window (0:
    /// never refractory yet; `u32::MAX`: until the end), advanced when it fires.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &self,
        u: &mut i64,
        v: &mut i64,
        refractory_until: &mut u32,
        acc: i64,
        bias: i32,
        threshold: i32,
        t: u32,
    ) -> UpdateOutcome {
        let refractory = t <= *refractory_until;
        if refractory && self.frozen {
            return UpdateOutcome::Skipped;
        }
        let d = self.decay_bits;
        let raw_u = ((*u * self.keep_u) >> d) + acc;
        let new_u = saturate(raw_u, self.u_range);
        let raw_v = ((*v * self.keep_v) >> d) + new_u + i64::from(bias);
        let new_v = saturate(raw_v, self.v_range);
        let fired = !refractory && new_v >= i64::from(threshold);
        *u = new_u;
        *v = new_v;
        if fired {
            if let Reset::To(r) = self.reset {
                *v = i64::from(r);
            }
            *refractory_until = match self.refractory {
                Refractory::Steps(n) => t.saturating_add(n),
                Refractory::UntilEnd => u32::MAX,
            };
        }
        UpdateOutcome::Updated {
            fired,
            u_saturated: new_u != raw_u,
            v_saturated: new_v != raw_v,
            v_before_reset: new_v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Registers of 8 bits, D = 4 (2^D = 16).
    fn rule(params: NeuronParams) -> NeuronUpdate {
        NeuronUpdate::new(params, 4, 8, 8)
    }

    #[test]
    fn still_without_input_holds_for_the_ttfs_neurons_and_names_each_reason_otherwise() {
        let hidden = NeuronParams::ttfs_hidden(4);
        assert_eq!(hidden.still_without_input(4, &[0, 0], &[5, 1]), Ok(()));
        assert_eq!(
            NeuronParams::ttfs_output(4).still_without_input(4, &[0], &[3]),
            Ok(())
        );
        let persistent = NeuronParams { du: 0, ..hidden };
        assert_eq!(
            persistent.still_without_input(4, &[0], &[3]),
            Err(MovesWithoutInput::CurrentPersists { du: 0, full: 16 })
        );
        let leaky = NeuronParams { dv: 2, ..hidden };
        assert_eq!(
            leaky.still_without_input(4, &[0], &[3]),
            Err(MovesWithoutInput::Leaks { dv: 2 })
        );
        assert_eq!(
            hidden.still_without_input(4, &[0, 2, -1], &[3, 3, 3]),
            Err(MovesWithoutInput::Bias { count: 2 })
        );
        assert_eq!(
            hidden.still_without_input(4, &[0, 0], &[3, 0]),
            Err(MovesWithoutInput::Threshold { threshold: 0 })
        );
        // A period that ends: frozen and reset below every threshold is still; a hold, a reset
        // at a threshold or integrating meanwhile is not.
        let periodic = NeuronParams {
            refractory: Refractory::Steps(2),
            ..hidden
        };
        assert_eq!(periodic.still_without_input(4, &[0], &[3]), Ok(()));
        for p in [
            NeuronParams {
                reset: Reset::Hold,
                ..periodic
            },
            NeuronParams {
                reset: Reset::To(3),
                ..periodic
            },
            NeuronParams {
                while_refractory: WhileRefractory::Integrate,
                ..periodic
            },
        ] {
            assert_eq!(
                p.still_without_input(4, &[0], &[3, 4]),
                Err(MovesWithoutInput::FiresAgain)
            );
        }
        // The reasons as the compiler prints them.
        assert_eq!(
            MovesWithoutInput::Bias { count: 2 }.to_string(),
            "2 of its neurons have a bias current (added to v every step); train with --bias off"
        );
    }

    /// Skipping an update with no input is exact where `still_without_input` allows it: the
    /// spike and `v` after any sequence of steps, some of them without input and skipped,
    /// equal those of updating every step (a hand-run of the rule, 8-bit registers).
    #[test]
    fn skipping_the_steps_without_input_changes_no_spike_and_no_v() {
        for params in [NeuronParams::ttfs_hidden(4), NeuronParams::ttfs_output(4)] {
            let r = rule(params);
            let inputs = [0i64, 2, 0, 0, 3, 0, -1, 0, 4, 0];
            let (mut u1, mut v1, mut f1) = (0i64, 0i64, 0u32);
            let (mut u2, mut v2, mut f2) = (0i64, 0i64, 0u32);
            let (mut spikes1, mut spikes2) = (Vec::new(), Vec::new());
            for (t, &acc) in (1u32..).zip(&inputs) {
                if let UpdateOutcome::Updated { fired: true, .. } =
                    r.update(&mut u1, &mut v1, &mut f1, acc, 0, 6, t)
                {
                    spikes1.push(t);
                }
                if acc != 0 {
                    if let UpdateOutcome::Updated { fired: true, .. } =
                        r.update(&mut u2, &mut v2, &mut f2, acc, 0, 6, t)
                    {
                        spikes2.push(t);
                    }
                }
                assert_eq!(v1, v2, "step {t}");
            }
            assert_eq!(spikes1, spikes2);
            // v: 0, 2, 2, 2, 5, 5, 4, 4, 8 >= 6 at step 9.
            assert_eq!(spikes1, vec![9]);
        }
    }

    #[test]
    fn a_hand_worked_leaky_neuron() {
        // du = 8 (half the current stays), dv = 4 (a quarter of v leaks), reset to -3.
        let p = NeuronParams {
            du: 8,
            dv: 4,
            refractory: Refractory::Steps(2),
            reset: Reset::To(-3),
            while_refractory: WhileRefractory::Integrate,
        };
        let r = rule(p);
        let (mut u, mut v, mut until) = (0i64, 0i64, 0u32);
        // t = 1: u = 0 + 10 = 10, v = 0 + 10 + 1 = 11 < 20.
        let o = r.update(&mut u, &mut v, &mut until, 10, 1, 20, 1);
        assert_eq!((u, v, until), (10, 11, 0));
        assert!(matches!(o, UpdateOutcome::Updated { fired: false, .. }));
        // t = 2: u = (10 * 8) >> 4 + 0 = 5, v = (11 * 12) >> 4 + 5 + 1 = 8 + 6 = 14.
        r.update(&mut u, &mut v, &mut until, 0, 1, 20, 2);
        assert_eq!((u, v), (5, 14));
        // t = 3: u = 2 + 12 = 14, v = (14 * 12) >> 4 + 14 + 1 = 10 + 15 = 25 >= 20: fires,
        // v = -3, refractory through step 5.
        let o = r.update(&mut u, &mut v, &mut until, 12, 1, 20, 3);
        assert_eq!((u, v, until), (14, -3, 5));
        assert_eq!(
            o,
            UpdateOutcome::Updated {
                fired: true,
                u_saturated: false,
                v_saturated: false,
                v_before_reset: 25
            }
        );
        // t = 4: refractory but integrating; cannot fire however large v gets.
        let o = r.update(&mut u, &mut v, &mut until, 100, 0, 20, 4);
        assert!(matches!(o, UpdateOutcome::Updated { fired: false, .. }));
        // An arithmetic shift rounds toward minus infinity: (-3 * 12) >> 4 = -36 >> 4 = -3.
        assert_eq!(v, -3 + ((14 * 8) >> 4) + 100);
    }

    #[test]
    fn registers_saturate_and_a_frozen_neuron_is_skipped() {
        let r = rule(NeuronParams::ttfs_hidden(4));
        let (mut u, mut v, mut until) = (0i64, 0i64, 0u32);
        let o = r.update(&mut u, &mut v, &mut until, 1000, 0, 200, 1);
        // u clamps to 127, v = 127 < 200: no spike.
        assert_eq!((u, v), (127, 127));
        assert!(matches!(
            o,
            UpdateOutcome::Updated {
                u_saturated: true,
                v_saturated: false,
                ..
            }
        ));
        let o = r.update(&mut u, &mut v, &mut until, 100, 0, 200, 2);
        // v = 127 + 100 = 227 clamps to 127 (dv = 0), u = 100.
        assert_eq!((u, v), (100, 127));
        assert!(matches!(
            o,
            UpdateOutcome::Updated {
                v_saturated: true,
                ..
            }
        ));
        let o = r.update(&mut u, &mut v, &mut until, 0, 0, 100, 3);
        assert!(matches!(o, UpdateOutcome::Updated { fired: true, .. }));
        assert_eq!((v, until), (0, u32::MAX));
        let o = r.update(&mut u, &mut v, &mut until, 50, 0, 1, 4);
        assert_eq!(o, UpdateOutcome::Skipped);
        assert_eq!((u, v), (0, 0));
    }
}
