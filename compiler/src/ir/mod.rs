//! The compiler's intermediate representation: a layered network of neurons with explicit
//! synapse lists, first in `f32` after folding ([`FoldedNetwork`]), then in integers after
//! quantization ([`QuantNetwork`]). Mapping onto cores works on the integer form, and the golden
//! model simulates it.
//!
//! Only neuron layers appear: flatten is an index map, and an average pool becomes part of the
//! layer after it, as that layer's shared axons ([`Routing::Shared`]) or folded into its
//! synapses ([`Routing::Direct`]). Layer `l`'s sources are layer `l - 1`'s neurons (or the input
//! channels for `l = 0`), its [`Routing`] says which of its axons (the rows of its
//! [`SynapseMatrix`]) each source's spike reaches, and every neuron index is row-major in the
//! layer's `shape`.

mod verify;

pub use verify::IrError;

pub use ttfs_runtime::config::PoolLowering;
use ttfs_runtime::config::{InputEncoding, NeuronParams, TieBreak};
use ttfs_runtime::target::NeuronUpdateMode;

/// Synapses of one layer in axon-major compressed rows: axon `a` (an input line of the layer:
/// one of its sources, or a shared pooling axon, as the layer's [`Routing`] says) drives
/// `targets[offsets[a]..offsets[a + 1]]` with the weights at the same positions. Within a row,
/// targets are strictly increasing (no duplicate synapse).
#[derive(Clone, Debug, PartialEq)]
pub struct SynapseMatrix<W> {
    /// Number of axons (rows).
    pub axons: usize,
    /// Number of target neurons (columns).
    pub targets: usize,
    /// `axons + 1` monotone offsets, from 0 to the number of synapses.
    pub offsets: Vec<usize>,
    /// Target neuron of each synapse.
    pub target: Vec<u32>,
    /// Weight of each synapse.
    pub weight: Vec<W>,
}

impl<W: Copy + Default> SynapseMatrix<W> {
    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.target.len()
    }

    /// Whether there are no synapses.
    pub fn is_empty(&self) -> bool {
        self.target.is_empty()
    }

    /// The (target, weight) pairs of axon `j`.
    pub fn row(&self, j: usize) -> impl Iterator<Item = (u32, W)> + '_ {
        let range = self.offsets[j]..self.offsets[j + 1];
        self.target[range.clone()]
            .iter()
            .copied()
            .zip(self.weight[range].iter().copied())
    }

    /// Builds the matrix from per-target fan-in lists (`fan_in[i]` = the (axon, weight) pairs
    /// of target `i`, any order, no duplicate axon within one list).
    pub fn from_fan_in(axons: usize, fan_in: &[Vec<(u32, W)>]) -> Self {
        let mut counts = vec![0usize; axons + 1];
        for list in fan_in {
            for &(s, _) in list {
                counts[s as usize + 1] += 1;
            }
        }
        for j in 0..axons {
            counts[j + 1] += counts[j];
        }
        let offsets = counts.clone();
        let total = offsets[axons];
        let mut next = counts;
        let mut target = vec![0u32; total];
        let mut weight = vec![W::default(); total];
        // Targets visited in increasing order, so each row comes out sorted.
        for (i, list) in fan_in.iter().enumerate() {
            for &(s, w) in list {
                let at = next[s as usize];
                target[at] = i as u32;
                weight[at] = w;
                next[s as usize] += 1;
            }
        }
        Self {
            axons,
            targets: fan_in.len(),
            offsets,
            target,
            weight,
        }
    }

    /// The per-target fan-in lists, each sorted by axon: the transpose of the rows.
    pub fn fan_in(&self) -> Vec<Vec<(u32, W)>> {
        let mut lists = vec![Vec::new(); self.targets];
        for j in 0..self.axons {
            for (t, w) in self.row(j) {
                lists[t as usize].push((j as u32, w));
            }
        }
        lists
    }
}

/// Which axons of a layer (rows of its [`SynapseMatrix`]) each of its sources drives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Routing {
    /// Axon `j` is source `j`: one axon per source (an average pool before the layer, if any, is
    /// folded into the synapses).
    #[default]
    Direct,
    /// The average pools before the layer as shared axons: axon `f` is the `f`-th value of the
    /// pooled feature map (row-major), and each source drives the axon of every window it lies
    /// in.
    Shared(SharedAxons),
}

/// The shared axons of a pooled layer: source `j`'s spike goes to the axons
/// `axon[offsets[j]..offsets[j + 1]]`, in increasing order, one delivery each; an axon listed
/// twice (stacked overlapping pools reach it by two paths) gets the spike twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedAxons {
    /// `sources + 1` monotone offsets, from 0 to `axon.len()`.
    pub offsets: Vec<usize>,
    /// The axons of every source, source after source.
    pub axon: Vec<u32>,
}

impl SharedAxons {
    /// Number of sources.
    pub fn sources(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The sources of every axon, axon-major (the transpose): `(offsets, sources)`, each axon's
    /// sources in increasing order, a source listed as often as it reaches the axon.
    pub fn sources_of_axons(&self, axons: usize) -> (Vec<usize>, Vec<u32>) {
        let mut offsets = vec![0usize; axons + 1];
        for &a in &self.axon {
            offsets[a as usize + 1] += 1;
        }
        for a in 0..axons {
            offsets[a + 1] += offsets[a];
        }
        let mut next = offsets.clone();
        let mut sources = vec![0u32; self.axon.len()];
        for j in 0..self.sources() {
            for &a in &self.axon[self.offsets[j]..self.offsets[j + 1]] {
                sources[next[a as usize]] = j as u32;
                next[a as usize] += 1;
            }
        }
        (offsets, sources)
    }
}

impl Routing {
    /// The axons source `j`'s spike is delivered to, one delivery per item.
    pub fn axons_of(&self, j: usize) -> AxonsOf<'_> {
        match self {
            Routing::Direct => AxonsOf::Direct(Some(j)),
            Routing::Shared(shared) => {
                AxonsOf::Shared(shared.axon[shared.offsets[j]..shared.offsets[j + 1]].iter())
            }
        }
    }

    /// Whether the layer reads its pools through shared axons.
    pub fn is_shared(&self) -> bool {
        matches!(self, Routing::Shared(_))
    }
}

/// The axons one source drives ([`Routing::axons_of`]).
#[derive(Clone, Debug)]
pub enum AxonsOf<'a> {
    /// The source's own axon.
    Direct(Option<usize>),
    /// Shared axons.
    Shared(std::slice::Iter<'a, u32>),
}

impl Iterator for AxonsOf<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            AxonsOf::Direct(j) => j.take(),
            AxonsOf::Shared(axons) => axons.next().map(|&a| a as usize),
        }
    }
}

/// The input of the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputDesc {
    /// `[C, H, W]`; channel index row-major in it.
    pub shape: [usize; 3],
    /// How pixels become spikes.
    pub encoding: InputEncoding,
}

impl InputDesc {
    /// Number of pixels (`C * H * W`): the values of one input image.
    pub fn pixels(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of input channels: pixels times the encoding's lines per pixel.
    pub fn channels(&self) -> usize {
        self.pixels() * self.encoding.lines_per_pixel() as usize
    }

    /// Whether the first layer's input current persists over the steps (`du = 0`): with the
    /// thermometer code, whose lines spike once at step 1 and stand for a current at every step.
    pub fn first_layer_current_persists(&self) -> bool {
        matches!(self.encoding, InputEncoding::Thermometer { .. })
    }
}

/// An average pool that the lower pass made part of the layer after it (as shared axons or in
/// its synapses, as the layer's [`Routing`] says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolFold {
    /// Kernel side.
    pub kernel: usize,
    /// Stride in both directions.
    pub stride: usize,
}

/// The operation of a weighted layer of the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LayerKind {
    /// A fully connected layer.
    #[default]
    Linear,
    /// A 2-D convolution.
    Conv2d {
        /// Kernel `[height, width]`.
        kernel: [usize; 2],
        /// Input channels.
        in_channels: usize,
    },
}

/// What the lower pass recorded about a neuron layer besides its weights: its operation and
/// what was folded into it, the facts later passes (and their error messages) act on, kept as
/// data rather than in the layer's name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folded {
    /// The model layer's operation.
    pub kind: LayerKind,
    /// The average pools between the layer and its sources, input side first.
    pub pools: Vec<PoolFold>,
    /// With thermometer input, the first layer's input lines per pixel (one per level).
    pub lines_per_pixel: Option<u32>,
}

/// A neuron layer after folding, in `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldedLayer {
    /// Human name, e.g. `"layer 3 (conv2d 32->64 k3, avg_pool2d 2 as shared axons)"`.
    pub name: String,
    /// Index of the weighted layer in the model's `layers` it comes from.
    pub model_layer: usize,
    /// What was folded into it.
    pub folded: Folded,
    /// Shape of the neurons: `[C, H, W]` for a convolution, `[N]` for a linear layer.
    pub shape: Vec<usize>,
    /// Which axons each source (a neuron of the previous layer, or an input channel) drives.
    pub routing: Routing,
    /// Synapses from the axons to these neurons.
    pub synapses: SynapseMatrix<f32>,
    /// Bias per neuron, added to the potential at every step.
    pub bias: Vec<f32>,
}

impl FoldedLayer {
    /// Number of neurons.
    pub fn neurons(&self) -> usize {
        self.bias.len()
    }
}

/// The network after folding: neuron layers with plain weights and biases.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldedNetwork {
    /// The input.
    pub input: InputDesc,
    /// Time steps T.
    pub time_steps: u32,
    /// Firing threshold of every neuron.
    pub threshold: f32,
    /// Neuron layers, input side first; the last one is the output (one neuron per class).
    pub layers: Vec<FoldedLayer>,
    /// Tie break of the decision rule.
    pub tie_break: TieBreak,
    /// How the average pools were lowered.
    pub pool_lowering: PoolLowering,
    /// The integer widths the model was trained for (quantization-aware training), if any:
    /// the quantizer then keeps the scale rule it was trained with.
    pub trained_for: Option<crate::model::QuantizedFor>,
}

/// A neuron layer after quantization, in integers, with the neuron parameters it runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantLayer {
    /// Human name (as in [`FoldedLayer::name`]).
    pub name: String,
    /// Index of the weighted layer in the model's `layers` it comes from.
    pub model_layer: usize,
    /// What was folded into it (as in [`FoldedLayer::folded`]).
    pub folded: Folded,
    /// Shape of the neurons.
    pub shape: Vec<usize>,
    /// Which axons each source drives (as in [`FoldedLayer::routing`]).
    pub routing: Routing,
    /// Integer synapses; synapses whose weight rounds to 0 are dropped.
    pub synapses: SynapseMatrix<i32>,
    /// Threshold per neuron (at least 1).
    pub threshold: Vec<i32>,
    /// Bias per neuron, added to `v` every step.
    pub bias: Vec<i32>,
    /// Integer units per float unit, per neuron (`w_int = round(w * scale)`).
    pub scale: Vec<f64>,
    /// Neuron parameters of the whole layer.
    pub params: NeuronParams,
}

impl QuantLayer {
    /// Number of neurons.
    pub fn neurons(&self) -> usize {
        self.threshold.len()
    }
}

/// Register widths the integer network runs with (from the target).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registers {
    /// Signed weight width.
    pub weight_bits: u32,
    /// Signed current register width.
    pub current_bits: u32,
    /// Signed potential register width.
    pub potential_bits: u32,
    /// Threshold register width (signed, thresholds positive).
    pub threshold_bits: u32,
    /// Decay resolution D.
    pub decay_bits: u32,
}

/// The network after quantization: what the golden model simulates and the mapper places.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantNetwork {
    /// The input.
    pub input: InputDesc,
    /// Time steps T.
    pub time_steps: u32,
    /// Register widths.
    pub registers: Registers,
    /// Neuron layers, input side first; the last one is the output.
    pub layers: Vec<QuantLayer>,
    /// Tie break of the decision rule.
    pub tie_break: TieBreak,
    /// How the average pools were lowered.
    pub pool_lowering: PoolLowering,
    /// When the chip updates a neuron: every step, or only when an event reaches it (the
    /// golden model counts updates the same way; the quantizer allows `OnInput` only for
    /// layers whose neurons cannot change without input).
    pub neuron_update: NeuronUpdateMode,
}

/// The largest value a signed register of `bits` bits holds.
pub fn register_max(bits: u32) -> i64 {
    (1i64 << (bits - 1)) - 1
}

/// The smallest value a signed register of `bits` bits holds.
pub fn register_min(bits: u32) -> i64 {
    -(1i64 << (bits - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_in_round_trip_sorts_rows() {
        let fan_in = vec![vec![(2u32, 1.0f32), (0, 2.0)], vec![(0, 3.0)], vec![]];
        let m = SynapseMatrix::from_fan_in(3, &fan_in);
        assert_eq!(m.offsets, vec![0, 2, 2, 3]);
        assert_eq!(m.target, vec![0, 1, 0]);
        assert_eq!(m.weight, vec![2.0, 3.0, 1.0]);
        assert_eq!(m.row(0).collect::<Vec<_>>(), vec![(0, 2.0), (1, 3.0)]);
        let back = m.fan_in();
        assert_eq!(back[0], vec![(0, 2.0), (2, 1.0)]);
        assert_eq!(back[1], vec![(0, 3.0)]);
        assert!(back[2].is_empty());
    }

    #[test]
    fn register_ranges() {
        assert_eq!(register_max(8), 127);
        assert_eq!(register_min(8), -128);
        assert_eq!(register_max(24), 8_388_607);
    }
}
