//! The binary chip configuration (format version 4): what the compiler writes and the emulator
//! runs (ARCHITECTURE.md, "The three file formats").
//!
//! A configuration describes one network placed on one target: per core its neuron parameters,
//! its synapse table (axon -> list of (neuron, weight)) and its routing table (neuron -> list of
//! destination (core, axon)); the input map (input channel -> list of (core, axon)); the output
//! map (class -> (core, neuron)); the decoding rule and the number of time steps T.
//!
//! - [`NeuronParams`]: each core's neuron parameters; the update rule they drive is the
//!   chip's, in [`crate::neuron`].
//! - `io`: [`write`](fn@write) / [`read`] and their in-memory halves [`encode`] / [`decode`];
//!   [`read_header`] for tools that only show what a file was compiled for.
//! - `error`: [`ConfigError`], every way a configuration can be wrong.
//! - `check`: [`ChipConfig::validate`], the structural invariants (every index in range, one
//!   layer per core, CSR offsets monotone).
//! - `limits`: [`ChipConfig::check_target`], every limit of the target.
//!
//! # File layout
//! ```text
//! bytes 0..8    magic "TTFSCHIP"
//! bytes 8..12   format version, u32 little-endian
//! then          postcard Header { target_name, target_hash, payload_len, payload_checksum }
//! then          postcard Payload (exactly payload_len bytes, FNV-1a 64 = payload_checksum)
//! ```
//! The version sits in fixed bytes before anything postcard-encoded, so a file of another
//! version is refused as such rather than as garbage.

mod check;
mod error;
mod io;
mod limits;
mod summary;
#[cfg(test)]
pub(crate) mod test_configs;

use serde::{Deserialize, Serialize};

pub use crate::neuron::{NeuronParams, Refractory, Reset, WhileRefractory};
pub use error::ConfigError;
pub use io::{decode, encode, read, read_header, write};
pub use summary::summary;

/// The 8 bytes every configuration starts with.
pub const MAGIC: [u8; 8] = *b"TTFSCHIP";

/// The format version this build writes and the only one it reads.
pub const CONFIG_VERSION: u32 = 4;

/// The header: which target the payload was compiled for and a checksum of the payload.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The target's `name`.
    pub target_name: String,
    /// [`Target::hash`](crate::target::Target::hash) of the target it was compiled for.
    pub target_hash: u64,
    /// Length of the postcard payload in bytes.
    pub payload_len: u64,
    /// FNV-1a 64 of the payload bytes.
    pub payload_checksum: u64,
}

/// A compiled network: everything the chip needs to run it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ChipConfig {
    /// The target's `name` (copied into the header).
    pub target_name: String,
    /// The target's hash (copied into the header).
    pub target_hash: u64,
    /// The digest of the model file it was compiled from (`ttfs_compiler::model::Model::digest`),
    /// so a golden-model check against another model is refused; 0 for a configuration built
    /// by hand.
    pub model_digest: u64,
    /// How the compiler lowered the model's average pools, so that a golden model rebuilt from
    /// the model file is the network this configuration holds.
    pub pool_lowering: PoolLowering,
    /// Number of time steps T of one inference.
    pub time_steps: u32,
    /// Resolution D of the decay factors `du` and `dv`, in bits (the target's `decay_bits`).
    pub decay_bits: u32,
    /// The neuron layers in phase order: layer `p` updates in phase `p` of every step (the host
    /// injects the input at the start of phase 0).
    pub layers: Vec<LayerInfo>,
    /// The cores in use, in placement order; [`CoreConfig::position`] says where each sits.
    pub cores: Vec<CoreConfig>,
    /// Where each input channel's spikes go.
    pub input: InputMap,
    /// Which output neuron stands for which class.
    pub output: OutputMap,
    /// How output spikes become a class.
    pub decoding: Decoding,
}

/// One neuron layer of the network as it was compiled, for reports.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Human name, e.g. `"layer 1 (linear 784->800)"`.
    pub name: String,
    /// Neurons in the layer.
    pub neurons: u32,
    /// Shape of the layer's neurons (`[C, H, W]` or `[N]`), neuron index row-major in it.
    pub shape: Vec<u32>,
    /// Multiply-accumulates per inference of the same layer in a conventional (non-spiking)
    /// network, before pooling was folded in: the ANN comparison of the run report.
    pub ann_macs: u64,
    /// The same, counting only the MACs of nonzero weights: the ANN at the same weight
    /// sparsity, the fair baseline for a pruned model.
    pub ann_nonzero_macs: u64,
}

/// A position on the mesh: column `x` (0 = west), row `y` (0 = north).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MeshPosition {
    /// Column, `0..cols`.
    pub x: u32,
    /// Row, `0..rows`.
    pub y: u32,
}

/// An input line of a core: the `axon`-th row of core `core`'s synapse table.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AxonRef {
    /// Index into [`ChipConfig::cores`].
    pub core: u32,
    /// Axon index on that core, `0..CoreConfig::axons`.
    pub axon: u32,
}

/// A neuron on a core.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NeuronRef {
    /// Index into [`ChipConfig::cores`].
    pub core: u32,
    /// Neuron index on that core, `0..CoreConfig::neurons`.
    pub neuron: u32,
}

/// Compressed sparse rows: row `r` owns `entries[offsets[r]..offsets[r + 1]]`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Csr<E> {
    /// `rows + 1` monotone offsets starting at 0 and ending at `entries.len()`.
    pub offsets: Vec<u32>,
    /// The entries of all rows, row after row.
    pub entries: Vec<E>,
}

impl<E> Default for Csr<E> {
    /// No rows.
    fn default() -> Self {
        Self {
            offsets: vec![0],
            entries: Vec::new(),
        }
    }
}

impl<E> Csr<E> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The entries of row `r`; empty if `r` is out of range or the offsets are inconsistent.
    pub fn row(&self, r: usize) -> &[E] {
        match (self.offsets.get(r), self.offsets.get(r + 1)) {
            (Some(&a), Some(&b)) => self.entries.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Builds rows from a list of rows.
    ///
    /// Offsets saturate at `u32::MAX`: with more entries than that in all, the table is
    /// inconsistent and [`ChipConfig::validate`] refuses it (it does not panic).
    pub fn from_rows<I: IntoIterator<Item = Vec<E>>>(rows: I) -> Self {
        let mut offsets = vec![0u32];
        let mut entries = Vec::new();
        for row in rows {
            entries.extend(row);
            offsets.push(u32::try_from(entries.len()).unwrap_or(u32::MAX));
        }
        Self { offsets, entries }
    }
}

/// One synapse: the neuron it drives on its core and its signed weight.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Synapse {
    /// Neuron index on the core.
    pub neuron: u32,
    /// Signed weight, within the target's `weight_bits`.
    pub weight: i32,
}

/// One core: its place, its neurons and their parameters, its synapses and its routes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CoreConfig {
    /// Where the core sits on the mesh; no two cores share a position.
    pub position: MeshPosition,
    /// The layer (index into [`ChipConfig::layers`]) all of this core's neurons belong to.
    pub layer: u32,
    /// For each neuron on the core, its index within its layer.
    pub layer_index: Vec<u32>,
    /// Parameters shared by all neurons of the core.
    pub params: NeuronParams,
    /// Threshold per neuron (at least 1, within the target's `threshold_bits`).
    pub threshold: Vec<i32>,
    /// Bias per neuron, added to `v` every step (within the target's `current_bits`).
    pub bias: Vec<i32>,
    /// Synapse table: one row per axon, each row sorted by neuron.
    pub synapses: Csr<Synapse>,
    /// Routing table: one row per neuron, the (core, axon) pairs its spike is delivered to,
    /// one packet each. A neuron usually names one axon per destination core; one that feeds
    /// several average-pooling windows lowered as shared axons names each window's axon (and a
    /// window twice when stacked overlapping pools reach it by two paths).
    pub routes: Csr<AxonRef>,
}

impl CoreConfig {
    /// Number of neurons on the core.
    pub fn neurons(&self) -> usize {
        self.layer_index.len()
    }

    /// Number of axons (input lines) on the core.
    pub fn axons(&self) -> usize {
        self.synapses.rows()
    }
}

/// Input channels and where their spikes go.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InputMap {
    /// Input shape `[C, H, W]`; channel index row-major in it.
    pub shape: Vec<u32>,
    /// How the host turns a pixel into a spike.
    pub encoding: InputEncoding,
    /// One row per input channel (pixels times [`InputEncoding::lines_per_pixel`], channel
    /// `pixel * lines + line`): the (core, axon) pairs it is injected into.
    pub targets: Csr<AxonRef>,
}

impl InputMap {
    /// Pixels of one input image (`C * H * W`); each owns
    /// [`InputEncoding::lines_per_pixel`] channels.
    pub fn pixels(&self) -> usize {
        self.shape.iter().map(|&d| d as usize).product()
    }
}

/// How the host turns an input value into spikes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputEncoding {
    /// An 8-bit pixel `p > 0` spikes once at step `((255 - p) * (T - 1) + 127) / 255 + 1`
    /// (integer division); `p = 0` never spikes. One input channel per pixel.
    Latency,
    /// Thermometer code of a pixel's grey level, all at step 1: pixel `p` owns `levels` input
    /// channels (channel `pixel * levels + k`, `k = 0..levels`), and the first
    /// `n = (2 * p * levels + 255) / 510` of them (integer division: `round(p * levels / 255)`,
    /// which is never a tie) spike once at step 1. The compiler gives the first layer a current
    /// that persists (`du = 0`), so its neurons integrate `W * n / levels` at every step: the
    /// pixel value quantized to `levels` steps as an input current, as direct (analog) input
    /// does, carried by spikes.
    Thermometer {
        /// Channels per pixel, 1 to 255.
        levels: u32,
    },
}

impl InputEncoding {
    /// The step (1-based) at which a pixel spikes under latency coding, if it spikes; the
    /// thermometer code's channels spike at step 1 ([`InputEncoding::active_lines`] of them).
    pub fn spike_step(self, pixel: u8, time_steps: u32) -> Option<u32> {
        if pixel == 0 || time_steps == 0 {
            return None;
        }
        match self {
            InputEncoding::Latency => {
                let late = (u64::from(255 - pixel) * u64::from(time_steps - 1) + 127) / 255;
                // late <= time_steps - 1 < u32::MAX.
                Some(late as u32 + 1)
            }
            InputEncoding::Thermometer { .. } => Some(1),
        }
    }

    /// Input channels per pixel: 1 for latency coding, `levels` for the thermometer code.
    pub fn lines_per_pixel(self) -> u32 {
        match self {
            InputEncoding::Latency => 1,
            InputEncoding::Thermometer { levels } => levels,
        }
    }

    /// How many of a pixel's channels spike: 1 or 0 for latency coding, `round(p * levels /
    /// 255)` for the thermometer code.
    pub fn active_lines(self, pixel: u8) -> u32 {
        match self {
            InputEncoding::Latency => u32::from(pixel > 0),
            InputEncoding::Thermometer { levels } => {
                // 2 * 255 * 255 fits easily; levels is at most 255 in a valid config.
                let twice = 2 * u64::from(pixel) * u64::from(levels);
                ((twice + 255) / 510) as u32
            }
        }
    }

    /// Calls `spike(channel, step)` for every input spike of one image (`pixels` row-major in
    /// the input shape), pixel by pixel, with steps in `1..=time_steps`.
    pub fn for_each_spike(self, pixels: &[u8], time_steps: u32, mut spike: impl FnMut(u32, u32)) {
        let lines = self.lines_per_pixel();
        for (i, &p) in pixels.iter().enumerate() {
            let Some(t) = self.spike_step(p, time_steps) else {
                continue;
            };
            let base = i as u32 * lines;
            for k in 0..self.active_lines(p) {
                spike(base + k, t);
            }
        }
    }

    /// A short name for reports: `latency` or `thermometer(levels)`.
    pub fn describe(self) -> String {
        match self {
            InputEncoding::Latency => "latency".to_owned(),
            InputEncoding::Thermometer { levels } => format!("thermometer({levels} levels)"),
        }
    }
}

/// How the compiler lowers an average pool (kernel `k`) in front of a weighted layer. Both give
/// the next layer the same sum, `w / k^2` per pre-pool spike per window; they differ in what the
/// chip stores and so in what fits.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PoolLowering {
    /// Each pooling window is one shared axon of the next layer's cores; each pre-pool neuron
    /// routes its spike to the axon of every window it lies in, and the axon's synapses carry
    /// `w / k^2` (pooling at the destination, as SynSense's Speck does). Fan-in and synapse
    /// memory stay those of the pooled feature map.
    #[default]
    SharedAxons,
    /// The pool is folded into the synapses: every pre-pool neuron gets its own synapse, `w /
    /// k^2` summed over the windows it lies in, so fan-in and synapse memory grow by `k^2`.
    Synapses,
}

impl PoolLowering {
    /// The name the CLI and the reports use: `axons` or `synapses`.
    pub fn name(self) -> &'static str {
        match self {
            PoolLowering::SharedAxons => "axons",
            PoolLowering::Synapses => "synapses",
        }
    }

    /// What it does, for reports: `shared axons` or `folded into synapses`.
    pub fn describe(self) -> &'static str {
        match self {
            PoolLowering::SharedAxons => "shared axons",
            PoolLowering::Synapses => "folded into synapses",
        }
    }

    /// The other lowering.
    pub fn other(self) -> Self {
        match self {
            PoolLowering::SharedAxons => PoolLowering::Synapses,
            PoolLowering::Synapses => PoolLowering::SharedAxons,
        }
    }
}

/// The output neurons: `classes[k]` is the neuron that stands for class `k`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OutputMap {
    /// One neuron per class, class index order.
    pub classes: Vec<NeuronRef>,
}

/// The decision rule, the same in trainer, golden model and emulator.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoding {
    /// How ties between output neurons that fire at the same (first) step are broken; when no
    /// output fires, every class is a candidate and the same potential decides.
    pub tie_break: TieBreak,
}

/// Tie break between the candidates of the decision step.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TieBreak {
    /// Larger `v` after step T, then the lower class index (no early exit possible).
    PotentialAtEnd,
    /// Larger `v` after the decision step, then the lower class index.
    PotentialAtDecision,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_steps_at_the_ends_and_the_middle() {
        let e = InputEncoding::Latency;
        assert_eq!(e.spike_step(0, 8), None);
        assert_eq!(e.spike_step(255, 8), Some(1));
        assert_eq!(e.spike_step(1, 8), Some(8));
        // (255 - 128) * 7 = 889; (889 + 127) / 255 = 3 (1016 / 255 = 3.98); step 4.
        assert_eq!(e.spike_step(128, 8), Some(4));
        assert_eq!(e.spike_step(200, 1), Some(1));
    }

    #[test]
    fn thermometer_lines_are_the_rounded_grey_level() {
        for levels in [1u32, 2, 4, 8, 16, 255] {
            let e = InputEncoding::Thermometer { levels };
            assert_eq!(e.lines_per_pixel(), levels);
            for p in 0..=255u8 {
                // The integer rule equals round(p * levels / 255) in f64.
                let expected = (f64::from(p) * f64::from(levels) / 255.0).round() as u32;
                assert_eq!(e.active_lines(p), expected, "levels {levels} pixel {p}");
            }
            assert_eq!(e.active_lines(255), levels);
            assert_eq!(e.active_lines(0), 0);
        }
        // 8 levels: pixel 16 is 0.50196 levels, just past the half: one line.
        assert_eq!(InputEncoding::Thermometer { levels: 8 }.active_lines(16), 1);
        assert_eq!(InputEncoding::Thermometer { levels: 8 }.active_lines(15), 0);
    }

    #[test]
    fn every_spike_of_an_image_by_channel_and_step() {
        let image = [0u8, 255, 128, 16];
        let mut latency = Vec::new();
        InputEncoding::Latency.for_each_spike(&image, 8, |c, t| latency.push((c, t)));
        assert_eq!(latency, [(1, 1), (2, 4), (3, 8)]);
        let mut thermo = Vec::new();
        InputEncoding::Thermometer { levels: 4 }
            .for_each_spike(&image, 8, |c, t| thermo.push((c, t)));
        // Pixel 1 owns channels 4..8 (all four), pixel 2 channels 8..12 (round(2.008) = 2),
        // pixel 3 channels 12..16 (round(0.251) = 0).
        assert_eq!(thermo, [(4, 1), (5, 1), (6, 1), (7, 1), (8, 1), (9, 1)]);
        let mut none = Vec::new();
        InputEncoding::Thermometer { levels: 4 }
            .for_each_spike(&image, 0, |c, t| none.push((c, t)));
        assert!(none.is_empty(), "no step, no spike");
    }

    #[test]
    fn csr_rows() {
        let csr = Csr::from_rows(vec![vec![1, 2], vec![], vec![3]]);
        assert_eq!(csr.offsets, vec![0, 2, 2, 3]);
        assert_eq!(csr.rows(), 3);
        assert_eq!(csr.row(0), &[1, 2]);
        assert!(csr.row(1).is_empty());
        assert_eq!(csr.row(2), &[3]);
        assert!(csr.row(3).is_empty());
    }
}
