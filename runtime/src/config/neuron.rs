//! The integer CUBA-LIF neuron's parameters (chip.md section 2) and the exact update rule.
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
