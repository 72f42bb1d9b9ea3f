//! The trainer's effective weights equal the compiler's fold, and the exported model
//! round-trips through the model file format.
//!
//! Two independent paths (style.md habit 9): the trainer folds weight norm and the affine
//! scale in `f32` Candle ops ([`Network::effective_weight`]); the compiler folds the raw
//! tensors of the exported model in `f64` ([`Model::effective_layer`]). Scales, shifts and a
//! per-row offset of the raw weights are randomised so that every part of the fold (centring,
//! normalising, gain, scale, bias) matters.

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ttfs_compiler::model::{self, LayerSpec, Model, WeightNorm};
use ttfs_trainer::{
    FireConfig, InputMode, LayerOptions, Network, TrainConfig, resolve_arch as resolve, to_model,
};

const T: usize = 8;

/// A network with weight norm (gain 8, eps 1e-5), affine scale and bias, all randomised.
fn random_net(arch: &str, shape: [usize; 3], seed: u64) -> Network {
    let options = LayerOptions {
        weight_norm: Some(WeightNorm {
            gain: 8.0,
            eps: 1e-5,
        }),
        affine_scale: true,
        bias: true,
    };
    let layers = resolve(arch, shape, &options).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let net = Network::new(layers, shape, T, FireConfig::default(), 8.0, &mut rng).unwrap();
    for (name, var) in &net.params {
        let t = var.as_tensor();
        let dims = t.dims().to_vec();
        let values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let new: Vec<f32> = if name.ends_with(".scale") {
            values.iter().map(|_| rng.gen_range(0.5..1.5)).collect()
        } else if name.ends_with(".shift") {
            values.iter().map(|_| rng.gen_range(-0.5..0.5)).collect()
        } else {
            // Give every output unit's raw weights their own mean, so centring matters.
            let per_row = values.len() / dims[0];
            let offsets: Vec<f32> = (0..dims[0]).map(|_| rng.gen_range(-0.2..0.2)).collect();
            values
                .iter()
                .enumerate()
                .map(|(i, w)| w + offsets[i / per_row])
                .collect()
        };
        var.set(&Tensor::from_vec(new, dims, &Device::Cpu).unwrap())
            .unwrap();
    }
    net
}

fn exported(net: &Network, arch: &str) -> Model {
    let config = TrainConfig::recipe("mnist", "unused".into(), arch);
    to_model(net, &config, 0.5, 1.0).unwrap()
}

/// Compares the fold of both sides for weighted layer `index`, to 1e-5 of the row's largest
/// magnitude (a relative tolerance that does not blow up for weights near zero).
fn assert_folds_agree(net: &Network, model: &Model, index: usize) {
    let trainer = net.effective_weight(index).unwrap();
    let compiler = model.effective_layer(index).unwrap();
    assert_eq!(
        trainer.dims(),
        compiler.weight.shape.as_slice(),
        "layer {index}"
    );
    let values = trainer.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let rows = compiler.weight.shape[0];
    let per_row = values.len() / rows;
    for o in 0..rows {
        let a = &values[o * per_row..(o + 1) * per_row];
        let b = &compiler.weight.data[o * per_row..(o + 1) * per_row];
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            scale > 0.0,
            "layer {index} row {o} is all zero: the test is vacuous"
        );
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * scale,
                "layer {index}, unit {o}, input {i}: trainer {x}, compiler {y}"
            );
        }
    }
    let shift = net.params[&format!("layers.{index}.shift")]
        .as_tensor()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(compiler.bias, shift, "layer {index} bias");
}

#[test]
fn trainer_and_compiler_fold_the_same_weights() {
    let arch = "c4k3-a2-f10";
    let net = random_net(arch, [2, 6, 6], 11);
    let model = exported(&net, arch);
    assert!(matches!(net.layers[0], LayerSpec::Conv2d { .. }));
    assert!(matches!(net.layers[3], LayerSpec::Linear { .. }));
    assert_folds_agree(&net, &model, 0);
    assert_folds_agree(&net, &model, 3);
}

#[test]
fn folded_weights_and_bias_reproduce_the_output_currents() {
    // The last layer's input current, rebuilt from the compiler's folded weights and bias on the
    // network's own spikes of the layer before, equals the network's `out_currents` at every step.
    let arch = "16-12-5";
    let net = random_net(arch, [1, 4, 4], 12);
    let model = exported(&net, arch);
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let batch = 6;
    let mut v = vec![0f32; T * batch * 16];
    for k in 0..batch * 16 {
        if rng.gen_bool(0.7) {
            v[rng.gen_range(0..T) * batch * 16 + k] = 1.0;
        }
    }
    let input = Tensor::from_vec(v, (T, batch, 16), &Device::Cpu).unwrap();
    let out = net.forward(&input, InputMode::Spikes).unwrap();
    let hidden = out.layer_spikes[0]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(
        hidden.iter().any(|&s| s > 0.0),
        "no hidden spike: the test is vacuous"
    );
    let currents = out
        .out_currents
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let layer = model.effective_layer(2).unwrap(); // [flatten, linear, linear]
    let (outputs, inputs) = (layer.weight.shape[0], layer.weight.shape[1]);
    assert_eq!((outputs, inputs), (5, 12));
    for t in 0..T {
        for b in 0..batch {
            let x = &hidden[(t * batch + b) * inputs..(t * batch + b + 1) * inputs];
            for o in 0..outputs {
                let w = &layer.weight.data[o * inputs..(o + 1) * inputs];
                let expected: f32 =
                    layer.bias[o] + w.iter().zip(x).map(|(w, x)| w * x).sum::<f32>();
                let found = currents[(t * batch + b) * outputs + o];
                assert!(
                    (found - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
                    "step {t}, sample {b}, output {o}: network {found}, folded {expected}"
                );
            }
        }
    }
}

#[test]
fn the_exported_model_round_trips_through_the_file_format() {
    let arch = "c4k3-a2-f10";
    let net = random_net(arch, [2, 6, 6], 14);
    let model = exported(&net, arch);
    assert_eq!(model.description.time_steps as usize, T);
    assert_eq!(model.description.decoding.weights.len(), T);
    assert_eq!(model.description.training.test_accuracy, Some(0.5));
    assert_eq!(model.tensors.len(), net.params.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.safetensors");
    model::write(&path, &model).unwrap();
    let back = model::read(&path).unwrap();
    assert_eq!(back, model);
    // And the raw tensors are the network's parameters, bit for bit.
    for (name, var) in &net.params {
        let data = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(back.tensors[name].data, data, "{name}");
        assert_eq!(back.tensors[name].shape, var.as_tensor().dims(), "{name}");
    }
}
