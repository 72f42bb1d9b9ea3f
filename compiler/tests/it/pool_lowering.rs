//! The two lowerings of average pooling, shared axons and folded synapses, on random
//! conv/pool/linear models: the float reference of each equals the model's own layers; where
//! pooling windows do not overlap, the quantized networks spike alike in the golden model and in
//! the emulator on the tiny multi-core target; where they overlap, the shared axons equal their
//! own integer fold; and every configuration's emulator equals its golden model, counters
//! included.

use proptest::prelude::*;
use ttfs_compiler::compile::quantized;
use ttfs_compiler::float::{FloatSim, run_model};
use ttfs_compiler::golden::{GoldenModel, GoldenRun};
use ttfs_compiler::ir::{PoolLowering, QuantNetwork, Routing, SynapseMatrix};
use ttfs_compiler::map::map;
use ttfs_compiler::model::{
    InputEncoding, LayerSpec, Model, Provenance, TensorData, TensorRole, TieBreak,
};
use ttfs_runtime::emulator::{Emulator, RunOptions};
use ttfs_runtime::target::Target;

use crate::common::{Rng, description};
use crate::emulator_vs_golden::{check, tiny};

/// The pools the models draw from: `(kernel, stride)`; the first three never overlap (a stride
/// at least the kernel), the others do.
const POOLS: [(usize, usize); 5] = [(2, 2), (3, 3), (2, 3), (2, 1), (3, 2)];

/// A random small model: input `[1..=2, 5..=9, 5..=9]`, maybe a pool on the input, one or two
/// convolutions (kernel 2 or 3, padding 0 or 1) each maybe followed by one or two pools, a
/// flatten, maybe a hidden linear layer, and 2 or 3 classes; pools from `POOLS` (only the
/// non-overlapping ones unless `overlap`); latency or thermometer input; weights that let a
/// fair share of neurons fire.
fn random_model(rng: &mut Rng, overlap: bool) -> Model {
    let input = vec![1 + rng.below(2), 5 + rng.below(5), 5 + rng.below(5)];
    let mut layers: Vec<LayerSpec> = Vec::new();
    let push = |layers: &mut Vec<LayerSpec>, layer: LayerSpec| {
        layers.push(layer);
        let fits = ttfs_compiler::model::infer_shapes(&input, layers).is_ok();
        if !fits {
            layers.pop();
        }
        fits
    };
    let kinds = if overlap { POOLS.len() } else { 3 };
    let pool = |rng: &mut Rng| {
        let (kernel, stride) = POOLS[rng.below(kinds)];
        LayerSpec::AvgPool2d { kernel, stride }
    };
    if rng.chance(0.2) {
        push(&mut layers, pool(rng));
    }
    let mut channels = input[0];
    for _ in 0..1 + rng.below(2) {
        let out = 1 + rng.below(2);
        let conv = LayerSpec::Conv2d {
            in_channels: channels,
            out_channels: out,
            kernel: [2 + rng.below(2), 2 + rng.below(2)],
            stride: 1,
            padding: rng.below(2),
            weight_norm: None,
            affine_scale: rng.chance(0.5),
            bias: rng.chance(0.5),
        };
        if push(&mut layers, conv) {
            channels = out;
            if rng.chance(0.8) && push(&mut layers, pool(rng)) && rng.chance(0.3) {
                push(&mut layers, pool(rng));
            }
        }
    }
    push(&mut layers, LayerSpec::Flatten);
    let shapes = ttfs_compiler::model::infer_shapes(&input, &layers).unwrap();
    let mut features: usize = shapes.last().map_or(0, |s| s.iter().product());
    let mut widths = vec![2 + rng.below(2)];
    if rng.chance(0.5) {
        widths.insert(0, 2 + rng.below(5));
    }
    for width in widths {
        layers.push(LayerSpec::Linear {
            in_features: features,
            out_features: width,
            weight_norm: None,
            affine_scale: rng.chance(0.5),
            bias: rng.chance(0.5),
        });
        features = width;
    }
    let mut d = description(input, layers, "pooled");
    d.time_steps = 2 + rng.below(6) as u32;
    d.decoding.weights = vec![1.0; d.time_steps as usize];
    if rng.chance(0.5) {
        d.decoding.tie_break = TieBreak::PotentialAtEnd;
    }
    if rng.chance(0.3) {
        d.input.encoding = InputEncoding::Thermometer {
            levels: 1 + rng.below(3) as u32,
        };
    }
    let mut tensors = std::collections::BTreeMap::new();
    for (index, layer) in d.layers.iter().enumerate() {
        for (role, name, shape) in layer.expected_tensors(index) {
            let n: usize = shape.iter().product();
            let fan_in = shape.iter().skip(1).product::<usize>().max(1) as f32;
            let data = (0..n)
                .map(|_| match role {
                    // Mean 2.5 / fan-in: most neurons reach the threshold of 1 within T.
                    TensorRole::Weight => (rng.unit() * 7.0 - 1.0) / fan_in,
                    TensorRole::Scale => 0.75 + 0.5 * rng.unit(),
                    TensorRole::Shift => 0.2 * (rng.unit() - 0.5),
                })
                .collect();
            tensors.insert(name, TensorData { shape, data });
        }
    }
    Model {
        description: d,
        tensors,
    }
}

/// Random pixels, about a third of them 0 (silent).
fn random_pixels(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            if rng.chance(0.33) {
                0
            } else {
                1 + rng.below(255) as u8
            }
        })
        .collect()
}

/// Whether the model has a pool that windows overlap in.
fn overlaps(model: &Model) -> bool {
    model
        .description
        .layers
        .iter()
        .any(|l| matches!(l, LayerSpec::AvgPool2d { kernel, stride } if stride < kernel))
}

/// The network with every shared axon folded back into per-source integer synapses: the sum
/// of the weights a source's spike adds to each target through all the axons it drives. An
/// independent statement of what shared axons compute.
fn folded_in_integers(net: &QuantNetwork) -> QuantNetwork {
    let mut out = net.clone();
    let mut sources = net.input.channels();
    for layer in &mut out.layers {
        if let Routing::Shared(_) = &layer.routing {
            let mut fan_in: Vec<std::collections::BTreeMap<u32, i32>> =
                vec![Default::default(); layer.neurons()];
            for j in 0..sources {
                for axon in layer.routing.axons_of(j) {
                    for (t, w) in layer.synapses.row(axon) {
                        *fan_in[t as usize].entry(j as u32).or_default() += w;
                    }
                }
            }
            let lists: Vec<Vec<(u32, i32)>> = fan_in
                .into_iter()
                .map(|m| m.into_iter().collect())
                .collect();
            layer.synapses = SynapseMatrix::from_fan_in(sources, &lists);
            layer.routing = Routing::Direct;
        }
        sources = layer.neurons();
    }
    out
}

/// The spikes, output potentials and decision of two golden runs agree.
fn same_run(a: &GoldenRun, b: &GoldenRun, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(&a.spikes, &b.spikes, "{}", what);
    prop_assert_eq!(&a.output_potential, &b.output_potential, "{}", what);
    prop_assert_eq!(a.decision, b.decision, "{}", what);
    Ok(())
}

/// What one case checked, to show the cases are not trivial.
#[derive(Default)]
struct Tally {
    pooled: usize,
    overlapping: usize,
    repeated_axons: usize,
    shared_layers: usize,
    emulated: [usize; 2],
    fired: usize,
    neurons: usize,
}

/// One random model under both lowerings on `target`.
fn both_lowerings(seed: u64, overlap: bool, target: &Target) -> Result<Tally, TestCaseError> {
    let mut rng = Rng::new(seed);
    let model = random_model(&mut rng, overlap);
    let what = format!("seed {seed}: {:?}", model.description.layers);
    let lowerings = [PoolLowering::SharedAxons, PoolLowering::Synapses];
    let nets: Vec<_> = lowerings
        .iter()
        .map(|&l| quantized(&model, target, l).unwrap())
        .collect();
    let mut tally = Tally {
        pooled: usize::from(
            model
                .description
                .layers
                .iter()
                .any(|l| matches!(l, LayerSpec::AvgPool2d { .. })),
        ),
        shared_layers: nets[0]
            .0
            .layers
            .iter()
            .filter(|l| l.routing.is_shared())
            .count(),
        ..Tally::default()
    };
    let (shared, folded) = (&nets[0].1.network, &nets[1].1.network);
    let refolded = folded_in_integers(shared);
    let images: Vec<Vec<u8>> = (0..3)
        .map(|_| random_pixels(&mut rng, shared.input.pixels()))
        .collect();

    // The float reference of each lowering is the model's own layers.
    for (net, _, _) in &nets {
        let mut sim = FloatSim::new(net);
        for pixels in &images {
            let reference = run_model(&model, pixels).unwrap();
            let run = sim.run(pixels);
            prop_assert_eq!(&reference.spike_steps, &run.spike_steps, "{}", what);
            prop_assert_eq!(reference.decision, run.decision, "{}", what);
        }
    }

    // Golden: shared axons equal their integer fold; without overlap, the folded lowering too.
    let mut goldens: Vec<Vec<GoldenRun>> = Vec::new();
    for net in [shared, folded] {
        let mut golden = GoldenModel::new(net);
        goldens.push(images.iter().map(|p| golden.run(p).unwrap()).collect());
    }
    tally.overlapping = usize::from(overlaps(&model));
    // Stacked overlapping pools: a source that reaches one window by two paths.
    tally.repeated_axons = usize::from(shared.layers.iter().any(|l| {
        match &l.routing {
            Routing::Shared(s) => s
                .offsets
                .windows(2)
                .any(|w| s.axon[w[0]..w[1]].windows(2).any(|p| p[0] == p[1])),
            Routing::Direct => false,
        }
    }));
    let mut golden = GoldenModel::new(&refolded);
    for (i, pixels) in images.iter().enumerate() {
        let g = golden.run(pixels).unwrap();
        same_run(&goldens[0][i], &g, &what)?;
        if !overlaps(&model) {
            same_run(&goldens[0][i], &goldens[1][i], &what)?;
            prop_assert_eq!(&goldens[0][i].synaptic_ops, &goldens[1][i].synaptic_ops);
            prop_assert_eq!(&goldens[0][i].neuron_updates, &goldens[1][i].neuron_updates);
        }
        tally.fired += g.spikes.iter().map(Vec::len).sum::<usize>();
        tally.neurons += g.neurons.iter().sum::<usize>();
    }

    // The emulator of each lowering that fits equals its golden model, counters included.
    for (k, net) in [shared, folded].into_iter().enumerate() {
        let Ok(mapping) = map(net, target, None, &Provenance::default()) else {
            continue;
        };
        let config = &mapping.config;
        config.check_target(target).unwrap();
        let mut emulator = Emulator::new(config, target).unwrap();
        for (i, pixels) in images.iter().enumerate() {
            let e = emulator.run(pixels, RunOptions::default()).unwrap();
            check(&e, &goldens[k][i], config, net, target, pixels)?;
        }
        tally.emulated[k] += 1;
    }
    Ok(tally)
}

/// Runs `cases` random models and checks that enough of them were worth it.
fn campaign(overlap: bool, cases: u64, target: &Target) {
    let mut total = Tally::default();
    for seed in 0..cases {
        let t = both_lowerings(seed ^ if overlap { 0xA5A5 } else { 0 }, overlap, target)
            .unwrap_or_else(|e| panic!("{e}"));
        total.pooled += t.pooled;
        total.overlapping += t.overlapping;
        total.repeated_axons += t.repeated_axons;
        total.shared_layers += t.shared_layers;
        total.emulated[0] += t.emulated[0];
        total.emulated[1] += t.emulated[1];
        total.fired += t.fired;
        total.neurons += t.neurons;
    }
    let cases = cases as usize;
    assert!(
        total.pooled * 10 >= cases * 7,
        "{} pooled models",
        total.pooled
    );
    assert!(
        total.shared_layers >= cases,
        "{} layers with shared axons",
        total.shared_layers
    );
    // Shared axons fit the tiny target more often than folded pools.
    assert!(
        total.emulated[0] * 2 >= cases,
        "{:?} emulated",
        total.emulated
    );
    assert!(
        total.emulated[0] >= total.emulated[1],
        "{:?} emulated",
        total.emulated
    );
    if overlap {
        assert!(
            total.overlapping * 3 >= cases,
            "{} overlapping",
            total.overlapping
        );
        assert!(
            total.repeated_axons >= 2,
            "{} with repeated axons",
            total.repeated_axons
        );
    }
    let fraction = total.fired as f64 / total.neurons as f64;
    assert!(
        (0.05..0.95).contains(&fraction),
        "fired fraction {fraction}"
    );
}

#[test]
fn without_overlap_both_lowerings_spike_alike_in_golden_and_emulator() {
    campaign(false, 60, &tiny(|_| {}));
}

#[test]
fn with_overlapping_pools_shared_axons_equal_their_integer_fold() {
    campaign(true, 60, &tiny(|_| {}));
}
