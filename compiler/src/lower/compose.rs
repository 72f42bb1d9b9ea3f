//! The linear maps the lowering pass composes, and the per-target fan-in lists it builds
//! from them.
//!
//! A [`Pending`] map says how each value of the current feature map is made from the
//! current sources (the previous neuron layer, or the input channels): the identity after a
//! neuron layer, a sparse map of path counts times one averaging coefficient after one or more
//! average pools. Lowered as shared axons, the pooled map's values are the layer's axons
//! ([`Pending::as_axons`]) and the map itself becomes the routing ([`Pending::shared_axons`]).
//! A weighted layer's fan-in is then built one target at a time: every (feature, weight)
//! term of the layer is pushed through the pending map into an [`FanIn`] accumulator,
//! which sums the weights of a source reached by several paths (overlapping pools) and
//! hands back the target's list. The work is one visit per (target, weight, pool-window
//! element), the size of the result times the pooled window at most, and no dense matrix is
//! ever built.

use crate::ir::SharedAxons;

/// How the current feature map is made from the current sources.
pub(super) enum Pending {
    /// Feature `f` is source `f`.
    Identity,
    /// Feature `f` is `unit * sum paths[i] * source[source[i]]` over `i` in
    /// `offsets[f]..offsets[f + 1]`, each source at most once per feature: after average pools
    /// (kernels `k1, k2, ...`), `unit = 1 / (k1^2 k2^2 ...)` and `paths[i]` counts the ways
    /// the source reaches the feature through the stacked windows (1 unless stacked pools
    /// overlap).
    Pooled {
        /// `features + 1` monotone offsets.
        offsets: Vec<usize>,
        /// Source of each term.
        source: Vec<u32>,
        /// Paths of each term.
        paths: Vec<u32>,
        /// The coefficient of one path.
        unit: f64,
    },
    /// Feature `f` is shared axon `f`, each of whose spikes stands for `unit` of the feature:
    /// a weighted layer's fan-in read from the pooled feature map itself.
    Axons {
        /// The coefficient of one spike at the axon.
        unit: f64,
    },
}

impl Pending {
    /// Composes an average pool (square `kernel`, `stride`, no padding, windows that do not
    /// fit dropped) over the feature map `[c, h, w]` into this map (the identity or pools).
    /// `sources` is the number of current sources.
    pub(super) fn pool(
        &self,
        sources: usize,
        [c, h, w]: [usize; 3],
        kernel: usize,
        stride: usize,
    ) -> Pending {
        let out_h = (h - kernel) / stride + 1;
        let out_w = (w - kernel) / stride + 1;
        let mean = 1.0 / (kernel * kernel) as f64;
        let (unit, previous) = match self {
            Pending::Identity | Pending::Axons { .. } => (mean, None),
            Pending::Pooled {
                offsets,
                source,
                paths,
                unit,
            } => (unit * mean, Some((offsets, source, paths))),
        };
        // Paths per source of the window being built, in a dense scratch row.
        let mut count = vec![0u32; if previous.is_some() { sources } else { 0 }];
        let mut touched: Vec<u32> = Vec::new();
        let mut offsets = Vec::with_capacity(c * out_h * out_w + 1);
        offsets.push(0);
        let (mut source, mut paths) = (Vec::new(), Vec::new());
        for ch in 0..c {
            for oy in 0..out_h {
                for ox in 0..out_w {
                    for dy in 0..kernel {
                        let row = (ch * h + oy * stride + dy) * w + ox * stride;
                        for feature in row..row + kernel {
                            match previous {
                                None => {
                                    source.push(feature as u32);
                                    paths.push(1);
                                }
                                Some((offsets, from, through)) => {
                                    let range = offsets[feature]..offsets[feature + 1];
                                    for (&s, &p) in from[range.clone()].iter().zip(&through[range])
                                    {
                                        if count[s as usize] == 0 {
                                            touched.push(s);
                                        }
                                        count[s as usize] += p;
                                    }
                                }
                            }
                        }
                    }
                    for s in touched.drain(..) {
                        source.push(s);
                        paths.push(std::mem::take(&mut count[s as usize]));
                    }
                    offsets.push(source.len());
                }
            }
        }
        Pending::Pooled {
            offsets,
            source,
            paths,
            unit,
        }
    }

    /// The shared axons of a pooled map: for each of `sources` sources, the features it
    /// reaches in increasing order, each as often as its paths ([`SharedAxons`]); `None` for
    /// the identity.
    pub(super) fn shared_axons(&self, sources: usize) -> Option<SharedAxons> {
        let Pending::Pooled {
            offsets,
            source,
            paths,
            ..
        } = self
        else {
            return None;
        };
        let mut starts = vec![0usize; sources + 1];
        for (&s, &p) in source.iter().zip(paths) {
            starts[s as usize + 1] += p as usize;
        }
        for j in 0..sources {
            starts[j + 1] += starts[j];
        }
        let mut next = starts.clone();
        let mut axon = vec![0u32; starts[sources]];
        // Features visited in increasing order, so each source's axons come out sorted.
        for f in 0..offsets.len() - 1 {
            for i in offsets[f]..offsets[f + 1] {
                let s = source[i] as usize;
                for _ in 0..paths[i] {
                    axon[next[s]] = f as u32;
                    next[s] += 1;
                }
            }
        }
        Some(SharedAxons {
            offsets: starts,
            axon,
        })
    }

    /// The map a weighted layer reads when its pools become shared axons: the pooled features
    /// themselves, each spike worth the pools' unit; the identity stays the identity.
    pub(super) fn as_axons(&self) -> Pending {
        match self {
            Pending::Pooled { unit, .. } => Pending::Axons { unit: *unit },
            Pending::Identity => Pending::Identity,
            Pending::Axons { unit } => Pending::Axons { unit: *unit },
        }
    }
}

/// Builds one target's fan-in through a pending map: [`add`](Self::add) each (feature,
/// weight) term, then [`finish`](Self::finish). Through the identity (or shared axons, times
/// their unit) the terms pass straight to the list (a layer never names a feature twice for
/// one target); through pools they are summed per source in `f64` in a dense scratch row that
/// `finish` clears again, touching only what was set.
pub(super) struct FanIn<'a> {
    pending: &'a Pending,
    sum: Vec<f64>,
    seen: Vec<bool>,
    touched: Vec<u32>,
    direct: Vec<(u32, f64)>,
}

impl<'a> FanIn<'a> {
    /// An empty accumulator over `sources` sources.
    pub(super) fn new(sources: usize, pending: &'a Pending) -> Self {
        let dense = match pending {
            Pending::Identity | Pending::Axons { .. } => 0,
            Pending::Pooled { .. } => sources,
        };
        Self {
            pending,
            sum: vec![0.0; dense],
            seen: vec![false; dense],
            touched: Vec::new(),
            direct: Vec::new(),
        }
    }

    /// Adds `weight` times feature `feature` to the current target.
    pub(super) fn add(&mut self, feature: usize, weight: f64) {
        match self.pending {
            Pending::Identity => self.direct.push((feature as u32, weight)),
            Pending::Axons { unit } => self.direct.push((feature as u32, weight * unit)),
            Pending::Pooled {
                offsets,
                source,
                paths,
                unit,
            } => {
                let range = offsets[feature]..offsets[feature + 1];
                for (&s, &p) in source[range.clone()].iter().zip(&paths[range]) {
                    let at = s as usize;
                    if !self.seen[at] {
                        self.seen[at] = true;
                        self.touched.push(s);
                    }
                    self.sum[at] += weight * (f64::from(p) * unit);
                }
            }
        }
    }

    /// The current target's (source, summed weight) list, in the order sources were first
    /// reached, with the weights rounded to `f32`, as a synapse list; resets the accumulator
    /// for the next target.
    pub(super) fn finish_f32(&mut self) -> Vec<(u32, f32)> {
        match self.pending {
            Pending::Identity | Pending::Axons { .. } => {
                self.direct.drain(..).map(|(s, w)| (s, w as f32)).collect()
            }
            Pending::Pooled { .. } => {
                let mut list = Vec::with_capacity(self.touched.len());
                for s in self.touched.drain(..) {
                    let at = s as usize;
                    list.push((s, self.sum[at] as f32));
                    self.sum[at] = 0.0;
                    self.seen[at] = false;
                }
                list
            }
        }
    }
}

/// The geometry of a convolution: input `[c, h, w]`, output `[out_c, out_h, out_w]`, kernel
/// `[kh, kw]`, stride and zero padding.
pub(super) struct ConvGeometry {
    /// Input feature map `[C, H, W]`.
    pub(super) input: [usize; 3],
    /// Output feature map `[C_out, H_out, W_out]`.
    pub(super) output: [usize; 3],
    /// Kernel `[kh, kw]`.
    pub(super) kernel: [usize; 2],
    /// Stride in both directions.
    pub(super) stride: usize,
    /// Zero padding on every side.
    pub(super) padding: usize,
}

/// Per-target fan-in of a convolution with weights `[C_out, C_in, kh, kw]` (row-major in
/// `weight`), through `pending`; targets row-major in `[C_out, H_out, W_out]`. Padded
/// positions have no synapse.
pub(super) fn conv_fan_in(
    geometry: &ConvGeometry,
    weight: &[f32],
    sources: usize,
    pending: &Pending,
) -> Vec<Vec<(u32, f32)>> {
    let [c_in, h, w] = geometry.input;
    let [c_out, out_h, out_w] = geometry.output;
    let [kh, kw] = geometry.kernel;
    let (stride, padding) = (geometry.stride, geometry.padding);
    // The kernel taps of output coordinate `o` that land inside an input side of `len`:
    // (tap, input coordinate) pairs.
    let taps = |o: usize, k: usize, len: usize| {
        (0..k).filter_map(move |tap| {
            (o * stride + tap)
                .checked_sub(padding)
                .filter(|&i| i < len)
                .map(|i| (tap, i))
        })
    };
    let mut acc = FanIn::new(sources, pending);
    let mut fan_in = Vec::with_capacity(c_out * out_h * out_w);
    for co in 0..c_out {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for ci in 0..c_in {
                    let kernel = &weight[(co * c_in + ci) * kh * kw..][..kh * kw];
                    for (ky, iy) in taps(oy, kh, h) {
                        for (kx, ix) in taps(ox, kw, w) {
                            acc.add((ci * h + iy) * w + ix, f64::from(kernel[ky * kw + kx]));
                        }
                    }
                }
                fan_in.push(acc.finish_f32());
            }
        }
    }
    fan_in
}

/// Per-target fan-in of a linear layer with weights `[out, in]` (row-major in `weight`),
/// through `pending`.
pub(super) fn linear_fan_in(
    weight: &[f32],
    [outputs, inputs]: [usize; 2],
    sources: usize,
    pending: &Pending,
) -> Vec<Vec<(u32, f32)>> {
    let mut acc = FanIn::new(sources, pending);
    let mut fan_in = Vec::with_capacity(outputs);
    for row in weight.chunks_exact(inputs.max(1)).take(outputs) {
        for (feature, &w) in row.iter().enumerate() {
            acc.add(feature, f64::from(w));
        }
        fan_in.push(acc.finish_f32());
    }
    fan_in
}
