//! Weight initialisation: Kaiming and ETTFS-init (the ETTFS paper, "Efficiently Training
//! Time-to-First-Spike Spiking Neural Networks from Scratch").
//!
//! Both draw zero-mean weights with `Var(W) = g / n_in`; Kaiming uses `g = 2`, ETTFS-init
//! `g = T` (the number of time steps), which keeps a TTFS net's drive from dying out with
//! depth: each input fires at most once, so a layer sees far less input than an ANN layer.
//! With weight normalisation on, the same gain `g` sets the normalised weights' scale
//! (`W_eff = sqrt(g / n_in) * gamma * W_hat`), so the choice of init carries over to it.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Which initialisation to use.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Kaiming (He) uniform: `Var(W) = 2 / n_in`.
    Kaiming,
    /// ETTFS-init: `Var(W) = g / n_in` with `g = T` unless a gain is given.
    Ettfs {
        /// Gain `g`; `None` means `T`.
        gain: Option<f32>,
    },
}

impl Init {
    /// The variance gain `g` for a net with `steps` time steps.
    pub fn gain(self, steps: usize) -> f32 {
        match self {
            Init::Kaiming => 2.0,
            Init::Ettfs { gain } => gain.unwrap_or(steps as f32),
        }
    }
}

/// Draws `count` weights from `U(-sqrt(3 g / n_in), +sqrt(3 g / n_in))`, so `Var = g / n_in`.
pub fn uniform_weights(count: usize, fan_in: usize, gain: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let bound = (3.0 * gain / fan_in.max(1) as f32).sqrt();
    (0..count).map(|_| rng.gen_range(-bound..bound)).collect()
}
