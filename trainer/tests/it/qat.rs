//! Quantization-aware training: the integers the trainer computes with are the ones the
//! compiler emits for the exported model (a hand-checked MLP layer by layer, and a network
//! with an average pool), the golden model of that compile decides as the trained network
//! does, and at 16 bits the quantized forward pass decides as the float one.

use std::path::PathBuf;

use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ttfs_compiler::compile::quantized;
use ttfs_compiler::golden::GoldenModel;
use ttfs_compiler::model::QuantizedFor;
use ttfs_runtime::config::PoolLowering;
use ttfs_runtime::decision::DecisionRule;
use ttfs_runtime::target::Target;
use ttfs_trainer::{
    Network, TrainConfig, build_network_for, decisions_of, images_input, qat_integers as integers,
    to_model,
};

const FOUR: QuantizedFor = QuantizedFor {
    weight_bits: 4,
    threshold_bits: 16,
    per_neuron_threshold: true,
};

/// The tiny target with `spec`'s widths (and room for the test networks).
fn target(spec: QuantizedFor) -> Target {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/targets/tiny.json");
    let mut t = ttfs_runtime::target::load(std::path::Path::new(path)).unwrap();
    t.core.weight_bits = spec.weight_bits;
    t.core.threshold_bits = spec.threshold_bits;
    t.neuron.per_neuron_threshold = spec.per_neuron_threshold;
    t.core.max_axons = 4096;
    t.core.max_synapses = 1 << 20;
    t.core.max_neurons = 4096;
    t.validate().unwrap();
    t
}

/// A network of `arch` on 8x8 images with random weights, biases and scales, quantized as
/// `spec` says.
fn network(arch: &str, spec: Option<QuantizedFor>, seed: u64) -> (Network, TrainConfig) {
    let mut config = TrainConfig::recipe("mnist", PathBuf::from("unused"), arch);
    config.quantize = spec;
    config.steps = 4;
    let mut net = build_network_for(&config, [1, 8, 8]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (name, var) in &net.params {
        if name.ends_with("shift") || name.ends_with("scale") {
            let n = var.as_tensor().elem_count();
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    if name.ends_with("shift") {
                        rng.gen_range(-0.2..0.2)
                    } else {
                        rng.gen_range(0.5..1.5)
                    }
                })
                .collect();
            var.set(&Tensor::from_vec(v, n, &candle_core::Device::Cpu).unwrap())
                .unwrap();
        }
    }
    net.quantize = spec;
    (net, config)
}

/// Random latency-coded 8x8 images, about half the pixels lit.
fn images(count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..64)
                .map(|_| {
                    if rng.gen_bool(0.5) {
                        rng.gen_range(40..=255)
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect()
}

/// The trained network's decisions (the chip's rule, all T steps) on `images`.
fn trained_decisions(net: &Network, images: &[Vec<u8>]) -> Vec<(usize, Option<u32>)> {
    let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let mut buffer = Vec::new();
    let (input, mode) = images_input(
        &refs,
        ttfs_trainer::Encoding::Latency,
        net.steps,
        &mut buffer,
    )
    .unwrap();
    let out = net.forward(&input, mode).unwrap();
    let [d] = decisions_of(
        &out,
        10,
        [DecisionRule::full_run(
            ttfs_runtime::config::TieBreak::PotentialAtDecision,
        )],
    )
    .unwrap();
    d.iter().map(|d| (d.class, d.step)).collect()
}

#[test]
fn the_compiler_emits_exactly_the_integers_the_trainer_computed_with() {
    for per_neuron in [true, false] {
        let spec = QuantizedFor {
            per_neuron_threshold: per_neuron,
            ..FOUR
        };
        let (net, config) = network("64-32-10", Some(spec), 3);
        let model = to_model(&net, &config, 0.0, 0.0).unwrap();
        assert_eq!(model.description.quantized_for, Some(spec));
        let (_, q, _) = quantized(&model, &target(spec), PoolLowering::SharedAxons).unwrap();
        for layer in &q.network.layers {
            let i = layer.model_layer;
            let w = net.effective_weight(i).unwrap();
            let out = w.dims()[0];
            let values = w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let shift = net.params[&format!("layers.{i}.shift")]
                .as_tensor()
                .to_vec1::<f32>()
                .unwrap();
            let hidden = net.hidden_input_layers().contains(&i);
            let ints = integers(
                &values,
                out,
                Some(&shift),
                1.0,
                1.0,
                spec,
                per_neuron && hidden,
            );
            let thresholds: Vec<i64> = layer.threshold.iter().map(|&t| i64::from(t)).collect();
            assert_eq!(thresholds, ints.thresholds, "{} thresholds", layer.name);
            let biases: Vec<i64> = layer.bias.iter().map(|&b| i64::from(b)).collect();
            assert_eq!(biases, ints.biases, "{} biases", layer.name);
            // Every synapse (input j -> neuron o) carries w_int[o][j]; the zeros have none.
            let n_in = values.len() / out;
            let mut dense = vec![0i64; values.len()];
            let syn = &layer.synapses;
            for j in 0..syn.axons {
                for k in syn.offsets[j]..syn.offsets[j + 1] {
                    dense[syn.target[k] as usize * n_in + j] = i64::from(syn.weight[k]);
                }
            }
            assert_eq!(dense, ints.weights, "{} weights", layer.name);
            assert!(
                ints.weights.iter().any(|w| w.abs() == 7),
                "{}: the 4-bit range is used",
                layer.name
            );
        }
    }
}

#[test]
fn the_golden_model_decides_as_the_quantization_aware_network_with_and_without_a_pool() {
    for arch in ["64-32-10", "c4k3-a2-f10"] {
        let (net, config) = network(arch, Some(FOUR), 5);
        let model = to_model(&net, &config, 0.0, 0.0).unwrap();
        let (_, q, _) = quantized(&model, &target(FOUR), PoolLowering::SharedAxons).unwrap();
        let inputs = images(200, 9);
        let trained = trained_decisions(&net, &inputs);
        let mut golden = GoldenModel::new(&q.network);
        let (mut same, mut fired) = (0, 0);
        for (p, trained) in inputs.iter().zip(&trained) {
            let run = golden.run(p).unwrap();
            let d = run.decision;
            fired += usize::from(d.step.is_some());
            if (d.class, d.step) == *trained {
                same += 1;
                continue;
            }
            // The spikes are the same integers; only an exact tie of two outputs' integer
            // potentials may be ordered otherwise by f32 rounding of the trainer's sums.
            assert_eq!(d.step, trained.1, "{arch}: the decision step differs");
            let first = run.first_spike_steps(q.network.layers.len() - 1);
            let t = d.step.unwrap_or(config.steps as u32) as usize;
            let tied: Vec<i64> = (0..10)
                .filter(|&k| d.step.is_none() || first[k] == d.step)
                .map(|k| run.output_potential[k][t - 1])
                .collect();
            let best = tied.iter().copied().max().unwrap();
            assert!(
                tied.iter().filter(|&&v| v == best).count() >= 2
                    && run.output_potential[trained.0][t - 1] == best,
                "{arch}: class {} against {} without an exact tie: {tied:?}",
                trained.0,
                d.class
            );
        }
        assert!(
            same * 100 >= inputs.len() * 98,
            "{arch}: {same} of {} equal",
            inputs.len()
        );
        assert!(fired > inputs.len() / 2, "{arch}: outputs fire on {fired}");
    }
}

#[test]
fn at_16_bits_quantization_aware_training_decides_as_the_float_network() {
    let (float_net, _) = network("64-32-10", None, 11);
    let (q_net, _) = network(
        "64-32-10",
        Some(QuantizedFor {
            weight_bits: 16,
            threshold_bits: 32,
            per_neuron_threshold: false,
        }),
        11,
    );
    let inputs = images(300, 4);
    assert_eq!(
        trained_decisions(&float_net, &inputs),
        trained_decisions(&q_net, &inputs)
    );
}
