#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::ir::PoolLowering;
use crate::lower::{LowerError, lower};
use crate::model::test_models::{XorShift, random_model, tiny_linear, with_tensors};
use crate::model::{InputEncoding, LayerSpec, Model, TieBreak};
use ttfs_runtime::decision::Decision;

/// Input [1, 1, 3] -> flatten -> linear 3 -> 2 (hidden) -> linear 2 -> 2 (output), T = 4,
/// threshold 1.
/// - Hidden: raw rows [1, 2, 3] and [0, 0, 6], scales 0.25 and 0.5, shifts 0.125 and -0.25:
///   effective rows [0.25, 0.5, 0.75] and [0, 0, 3], biases 0.125 and -0.25.
/// - Output: rows [1, 0] and [1, 0.5], no bias.
fn two_layer(tie_break: TieBreak) -> Model {
    let linear = |i, o, scaled| LayerSpec::Linear {
        in_features: i,
        out_features: o,
        weight_norm: None,
        affine_scale: scaled,
        bias: scaled,
    };
    let mut model = with_tensors(
        vec![1, 1, 3],
        vec![LayerSpec::Flatten, linear(3, 2, true), linear(2, 2, false)],
        vec![
            (
                "layers.1.weight",
                vec![2, 3],
                vec![1.0, 2.0, 3.0, 0.0, 0.0, 6.0],
            ),
            ("layers.1.scale", vec![2], vec![0.25, 0.5]),
            ("layers.1.shift", vec![2], vec![0.125, -0.25]),
            ("layers.2.weight", vec![2, 2], vec![1.0, 0.0, 1.0, 0.5]),
        ],
    );
    model.description.decoding.tie_break = tie_break;
    model
}

#[test]
fn a_tiny_network_spikes_at_the_steps_worked_out_by_hand() {
    // Pixels [255, 128, 1] with T = 4 spike at steps 1, 2 and 4:
    // 255 -> 0 + 1; 128 -> (127 * 3 + 127) / 255 = 1, step 2; 1 -> (254 * 3 + 127) / 255 = 3,
    // step 4.
    // Hidden 0: t1 H = 0.25 + 0.125 = 0.375; t2 H += 0.5 + 0.125 -> 1.0 >= 1: spikes at 2;
    //   t3 H += 0.125 -> 1.125; t4 H += 0.75 + 0.125 -> 2.0.
    // Hidden 1: t1..t3 H = -0.25, -0.5, -0.75; t4 H += 3 - 0.25 -> 2.0: spikes at 4.
    // Output 0 (row [1, 0]): hidden 0's spike reaches it in the same step 2: H = 0, 1, 1, 1,
    //   spikes at 2. Output 1 (row [1, 0.5]): H = 0, 1, 1, 1.5, spikes at 2 as well.
    // Both outputs fire at step 2: tied. At the end H = 1 against 1.5: class 1. At the
    // decision step H = 1 against 1: the lower index, class 0.
    let pixels = [255, 128, 1];
    for (tie_break, class) in [
        (TieBreak::PotentialAtEnd, 1),
        (TieBreak::PotentialAtDecision, 0),
    ] {
        let model = two_layer(tie_break);
        let expected = FloatRun {
            spike_steps: vec![vec![Some(2), Some(4)], vec![Some(2), Some(2)]],
            output_potential: vec![vec![0.0, 1.0, 1.0, 1.0], vec![0.0, 1.0, 1.0, 1.5]],
            decision: Decision {
                class,
                step: Some(2),
                tied: 2,
            },
        };
        assert_eq!(run_model(&model, &pixels).unwrap(), expected);
        let net = lower(&model, PoolLowering::Synapses).unwrap();
        assert_eq!(run_folded(&net, &pixels), expected);
    }
}

#[test]
fn silent_outputs_are_decided_by_the_final_potential() {
    // tiny_linear: rows [1, 2, 3] and [0, 0, 6], here with shifts -2 and -1, T = 4.
    // Image [0, 0, 0]: no input spikes, H = -2t and -t, both silent; every class is a
    // candidate and the larger H[4] (-4 against -8) gives class 1.
    // Image [0, 0, 255]: pixel 2 spikes at step 1. Neuron 0: H = 3 - 2 = 1, spikes at 1,
    // then -2 a step: 1, -1, -3, -5. Neuron 1: H = 6 - 1 = 5, spikes at 1.
    let model = tiny_linear(None, None, Some(vec![-2.0, -1.0]));
    let run = run_model(&model, &[0, 0, 0]).unwrap();
    assert_eq!(run.spike_steps, vec![vec![None, None]]);
    assert_eq!(
        run.output_potential,
        vec![vec![-2.0, -4.0, -6.0, -8.0], vec![-1.0, -2.0, -3.0, -4.0]]
    );
    assert_eq!(
        run.decision,
        Decision {
            class: 1,
            step: None,
            tied: 0
        }
    );
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    assert_eq!(run_folded(&net, &[0, 0, 0]), run);
    let run = run_model(&model, &[0, 0, 255]).unwrap();
    assert_eq!(run.spike_steps, vec![vec![Some(1), Some(1)]]);
    assert_eq!(run.output_potential[0], vec![1.0, -1.0, -3.0, -5.0]);
    assert_eq!(run_folded(&net, &[0, 0, 255]), run);
}

#[test]
fn unsupported_models_and_wrong_images_are_refused() {
    let mut model = tiny_linear(None, None, None);
    model.description.input.encoding = InputEncoding::Direct;
    assert!(matches!(
        run_model(&model, &[1, 2, 3]),
        Err(LowerError::DirectInput)
    ));
    let model = tiny_linear(None, None, None);
    let err = run_model(&model, &[1, 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the image has 2 pixels, but the model's input [1, 1, 3] needs 3"
    );
    let model = with_tensors(
        vec![1, 2, 2],
        vec![
            LayerSpec::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            LayerSpec::Flatten,
            LayerSpec::Linear {
                in_features: 1,
                out_features: 2,
                weight_norm: None,
                affine_scale: false,
                bias: false,
            },
        ],
        vec![("layers.2.weight", vec![2, 1], vec![1.0, 1.0])],
    );
    let err = run_model(&model, &[1, 2, 3, 4]).unwrap_err();
    assert!(matches!(err, LowerError::MaxPool { layer: 0 }), "{err}");
}

#[test]
fn a_reused_simulator_gives_the_same_runs_as_fresh_ones() {
    let model = two_layer(TieBreak::PotentialAtEnd);
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    let mut sim = FloatSim::new(&net);
    let images = [[255, 128, 1], [0, 0, 0], [10, 200, 90], [255, 128, 1]];
    for pixels in images {
        assert_eq!(sim.run(&pixels), run_folded(&net, &pixels));
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The key property: the model's own layers and the folded synapse lists are the same
/// network, with pools as shared axons or folded into the synapses. Random small models (conv k2/k3, padding 0/1, stride 1/2, average pools,
/// flatten, linear, with and without weight norm, scale and shift) on random images, many
/// pixels 0: identical spike steps for every neuron, identical decisions, output
/// potentials equal within 1e-9 relative.
#[test]
fn the_model_and_its_folded_network_agree_on_random_cases() {
    let mut rng = XorShift::new(2024);
    let (mut fired, mut neurons, mut pooled_models) = (0usize, 0usize, 0usize);
    let mut thermometer_models = 0;
    for case in 0..120 {
        let mut model = random_model(&mut rng);
        let thermometer = case % 3 == 1;
        if thermometer {
            // Every third model takes the thermometer code: 1 to 5 lines per pixel into a
            // first layer whose current persists, against the model's quantized grey levels.
            let levels = 1 + (case / 3) % 5;
            model.description.input.encoding = InputEncoding::Thermometer { levels };
            thermometer_models += 1;
        }
        // Odd cases lower the pools as shared axons, even ones fold them into the synapses.
        let lowering = if case % 2 == 1 {
            PoolLowering::SharedAxons
        } else {
            PoolLowering::Synapses
        };
        let net = lower(&model, lowering).unwrap();
        let channels = net.input.pixels();
        let mut sim = FloatSim::new(&net);
        if model
            .description
            .layers
            .iter()
            .any(|l| matches!(l, LayerSpec::AvgPool2d { .. }))
        {
            pooled_models += 1;
        }
        for image in 0..4 {
            let pixels: Vec<u8> = (0..channels)
                .map(|_| {
                    if rng.chance(0.4) {
                        0
                    } else {
                        1 + rng.below(255) as u8
                    }
                })
                .collect();
            let reference = run_model(&model, &pixels).unwrap();
            let folded = sim.run(&pixels);
            let what = format!("case {case} image {image}: {:?}", model.description.layers);
            assert_eq!(reference.spike_steps, folded.spike_steps, "{what}");
            assert_eq!(reference.decision, folded.decision, "{what}");
            for (a, b) in reference
                .output_potential
                .iter()
                .flatten()
                .zip(folded.output_potential.iter().flatten())
            {
                // The folded thermometer lines carry w / levels rounded to f32 (relative error
                // up to 6e-8 per weight); latency-coded weights are the same f32 on both paths.
                let near = if thermometer {
                    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
                } else {
                    close(*a, *b)
                };
                assert!(near, "{what}: potential {a} against {b}");
            }
            for layer in &folded.spike_steps {
                neurons += layer.len();
                fired += layer.iter().flatten().count();
            }
        }
    }
    // The cases are not trivial: a fair share of neurons fire and a fair share do not, and
    // many models have pooling to fold.
    let fraction = fired as f64 / neurons as f64;
    assert!((0.1..0.9).contains(&fraction), "fired fraction {fraction}");
    assert!(pooled_models > 30, "{pooled_models} models with pooling");
    assert_eq!(thermometer_models, 40);
}

/// Random MNIST-shaped images: about a fifth of the pixels lit.
fn mnist_like(rng: &mut XorShift, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            (0..784)
                .map(|_| {
                    if rng.chance(0.2) {
                        1 + rng.below(255) as u8
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect()
}

/// The folded float reference equals the model's own layers on the paper's MNIST MLP
/// (784-800-10) and CNN (c32k3-a2-c64k3-a2-f256-f10), random weights, three images each (its
/// throughput is the `compiler/float-mlp` benchmark).
#[test]
fn the_folded_paper_networks_equal_their_own_layers() {
    use crate::model::test_models::random_tensors;
    let linear = |i, o| LayerSpec::Linear {
        in_features: i,
        out_features: o,
        weight_norm: None,
        affine_scale: false,
        bias: false,
    };
    let conv = |i, o| LayerSpec::Conv2d {
        in_channels: i,
        out_channels: o,
        kernel: [3, 3],
        stride: 1,
        padding: 1,
        weight_norm: None,
        affine_scale: false,
        bias: false,
    };
    let pool = LayerSpec::AvgPool2d {
        kernel: 2,
        stride: 2,
    };
    let mlp = vec![LayerSpec::Flatten, linear(784, 800), linear(800, 10)];
    let cnn = vec![
        conv(1, 32),
        pool.clone(),
        conv(32, 64),
        pool,
        LayerSpec::Flatten,
        linear(3136, 256),
        linear(256, 10),
    ];
    let mut rng = XorShift::new(3);
    for layers in [mlp, cnn] {
        let mut model = with_tensors(vec![1, 28, 28], layers, Vec::new());
        model.description.time_steps = 8;
        model.description.decoding.weights = vec![1.0; 8];
        model.tensors = random_tensors(&model.description.layers, &mut rng);
        let net = lower(&model, PoolLowering::Synapses).unwrap();
        let mut sim = FloatSim::new(&net);
        let mut fired = 0;
        for pixels in &mnist_like(&mut rng, 3) {
            let folded = sim.run(pixels);
            fired += folded.spike_steps.iter().flatten().flatten().count();
            assert_eq!(
                run_model(&model, pixels).unwrap().spike_steps,
                folded.spike_steps
            );
        }
        assert!(fired > 0, "the random networks fire");
    }
}
