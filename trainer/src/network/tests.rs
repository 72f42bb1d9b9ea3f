//! The network's layers, forward pass and effective weights against independent paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::arch::{LayerOptions, resolve};
use crate::ops::neuron::reference_step_by_step;
use rand::{Rng, SeedableRng};

fn random_spikes(t: usize, b: usize, n: usize, rng: &mut ChaCha8Rng) -> Tensor {
    // Latency-coded random input: each input spikes at most once, at a random step.
    let mut v = vec![0f32; t * b * n];
    for k in 0..b * n {
        if rng.gen_bool(0.6) {
            let step = rng.gen_range(0..t);
            v[step * b * n + k] = 1.0;
        }
    }
    Tensor::from_vec(v, (t, b, n), &Device::Cpu).unwrap()
}

fn net(arch: &str, shape: [usize; 3], t: usize, seed: u64) -> Network {
    let opts = LayerOptions {
        weight_norm: Some(WeightNorm {
            gain: t as f32,
            eps: 1e-5,
        }),
        affine_scale: true,
        bias: true,
    };
    let layers = resolve(arch, shape, &opts).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net =
        Network::new(layers, shape, t, FireConfig::default(), t as f32, &mut rng).unwrap();
    // Random, non-trivial shifts and scales so biases are exercised.
    for (name, var) in net.params.iter_mut() {
        if name.ends_with("shift") || name.ends_with("scale") {
            let n = var.as_tensor().elem_count();
            let base = if name.ends_with("scale") { 1.0 } else { 0.0 };
            let v: Vec<f32> = (0..n).map(|_| base + rng.gen_range(-0.3..0.3)).collect();
            var.set(&Tensor::from_vec(v, n, &Device::Cpu).unwrap())
                .unwrap();
        }
    }
    net
}

#[test]
fn no_neuron_fires_twice_for_random_inputs_and_weights() {
    for (seed, arch, shape) in [
        (1u64, "48-40-30-10", [3, 4, 4]),
        (2, "c6k3-a2-c8k3-f10", [2, 8, 8]),
        (3, "c4k3s2p1-f12-10", [1, 9, 9]),
    ] {
        let t = 8;
        let net = net(arch, shape, t, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
        let x = random_spikes(t, 5, shape.iter().product(), &mut rng);
        let out = net.forward(&x, InputMode::Spikes).unwrap();
        let mut total = 0.0;
        for spikes in &out.layer_spikes {
            let per_neuron = spikes.sum(0).unwrap().flatten_all().unwrap();
            let max = per_neuron.max(0).unwrap().to_scalar::<f32>().unwrap();
            assert!(max <= 1.0, "{arch}: a neuron fired {max} times");
            total += per_neuron.sum_all().unwrap().to_scalar::<f32>().unwrap();
        }
        assert!(total > 0.0, "{arch}: the test is vacuous, nothing fired");
    }
}

/// Fusing the hidden linear layers changes nothing: the same output spikes and currents and
/// the same gradient of every parameter, bit for bit, on an MLP and a CNN's linear layers.
#[test]
fn fused_hidden_layers_give_the_same_spikes_and_gradients() {
    for (seed, arch, shape) in [
        (21u64, "48-40-30-10", [3, 4, 4]),
        (22, "c6k3-a2-f20-10", [2, 8, 8]),
    ] {
        let t = 6;
        let net = net(arch, shape, t, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
        let x = random_spikes(t, 7, shape.iter().product(), &mut rng);
        let run = |currents| {
            let out = net.forward_with(&x, InputMode::Spikes, currents).unwrap();
            let h = out.out_currents.cumsum(0).unwrap();
            let loss =
                (out.out_spikes.sum_all().unwrap() + h.sqr().unwrap().sum_all().unwrap()).unwrap();
            let grads = loss.backward().unwrap();
            let mut values = vec![
                out.out_spikes
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap(),
                out.out_currents
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap(),
            ];
            for var in net.params.values() {
                let g = grads
                    .get(var.as_tensor())
                    .expect("every parameter has a gradient");
                values.push(g.flatten_all().unwrap().to_vec1::<f32>().unwrap());
            }
            (
                values,
                out.layer_currents.iter().filter(|c| c.is_none()).count(),
            )
        };
        let (all, none_kept) = run(Currents::All);
        let (fused, fused_layers) = run(Currents::OutputOnly);
        assert_eq!(none_kept, 0);
        assert!(fused_layers >= 1, "{arch}: no layer ran fused");
        assert_eq!(all, fused, "{arch}");
        let fired: f32 = all[0].iter().sum();
        assert!(fired > 0.0, "{arch}: the test is vacuous, no output spike");
    }
}

/// The training step's forward, with the fused hidden linear layers' weights outside the
/// graph, gives every parameter the gradient Candle's backward gives through the graph: the
/// raw weights and scales from [`Network::direct_gradients`], the rest from the store, bit for
/// bit; and the same output spikes.
#[test]
fn weights_outside_the_graph_get_the_graphs_gradients() {
    for (seed, arch, shape) in [
        (31u64, "48-40-30-10", [3, 4, 4]),
        (32, "c6k3-a2-f20-10", [2, 8, 8]),
    ] {
        let t = 4;
        let net = net(arch, shape, t, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
        let x = random_spikes(t, 7, shape.iter().product(), &mut rng);
        let loss_of = |out: &Forward| {
            let h = out.out_currents.cumsum(0).unwrap();
            (out.out_spikes.sum_all().unwrap() + h.sqr().unwrap().sum_all().unwrap()).unwrap()
        };
        let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let reference = net
            .forward_with(&x, InputMode::Spikes, Currents::OutputOnly)
            .unwrap();
        let graph = loss_of(&reference).backward().unwrap();
        // Each layer's W^T computed by the forward itself, or once beforehand and shared.
        let shared = net
            .step_weights(InputMode::Spikes, Currents::OutputOnly)
            .unwrap();
        assert!(!shared.is_empty(), "{arch}: no shared weights");
        for weights in [BTreeMap::new(), shared] {
            let (out, layers) = net
                .forward_for_step(&x, InputMode::Spikes, Currents::OutputOnly, &weights)
                .unwrap();
            assert!(!layers.is_empty(), "{arch}: no layer ran outside the graph");
            assert_eq!(values(&out.out_spikes), values(&reference.out_spikes));
            let store = loss_of(&out).backward().unwrap();
            let direct = net.direct_gradients(&layers).unwrap();
            for (name, var) in &net.params {
                let expected = values(graph.get(var.as_tensor()).expect("graph gradient"));
                let got = match (direct.get(name), store.get(var.as_tensor())) {
                    (Some(g), None) => g.clone(),
                    (None, Some(g)) => values(g),
                    other => panic!(
                        "{arch} {name}: gradients {:?}",
                        (other.0.is_some(), other.1.is_some())
                    ),
                };
                assert_eq!(got, expected, "{arch} {name}");
            }
            // The slots are taken: asking again is an error, not a silent zero.
            assert!(net.direct_gradients(&layers).is_err());
        }
    }
}

#[test]
fn max_pooling_breaks_the_single_spike_property() {
    // Two inputs of one pooling window spiking at different steps make the pooled unit
    // spike twice; average pooling would give two half spikes.
    let t = 3;
    let mut v = vec![0f32; t * 4];
    v[0] = 1.0; // step 1, pixel 0
    v[2 * 4 + 3] = 1.0; // step 3, pixel 3
    let x = Tensor::from_vec(v, (t, 1, 2, 2), &Device::Cpu).unwrap();
    let pooled = x.max_pool2d(2).unwrap();
    let count = pooled.sum_all().unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(count, 2.0);
}

#[test]
fn time_parallel_forward_equals_step_by_step_reference() {
    let t = 6;
    let shape = [2, 6, 6];
    let net = net("c4k3-a2-f16-10", shape, t, 7);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let b = 3;
    let x = random_spikes(t, b, 72, &mut rng);
    let parallel = net.forward(&x, InputMode::Spikes).unwrap();
    let conv = |s: &Tensor| {
        net.layer_current(0, &s.reshape((b, 2, 6, 6)).unwrap(), LayerInput::Dense)
            .and_then(|y| y.reshape((b, ())))
    };
    let fc1 = |s: &Tensor| {
        let pooled = s.reshape((b, 4, 6, 6))?.avg_pool2d(2)?.flatten_from(1)?;
        net.layer_current(3, &pooled, LayerInput::Dense)
    };
    let fc2 = |s: &Tensor| net.layer_current(4, s, LayerInput::Dense);
    let reference = reference_step_by_step(&x, &[&conv, &fc1, &fc2], 1.0).unwrap();
    for (l, (a, b)) in parallel.layer_spikes.iter().zip(&reference).enumerate() {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a, b, "layer {l} differs");
    }
}

#[test]
fn direct_input_equals_the_same_current_at_every_step() {
    let t = 4;
    let net = net("16-12-5", [1, 4, 4], t, 9);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let pixels: Vec<f32> = (0..2 * 16).map(|_| rng.gen_range(0.0..1.0)).collect();
    let direct = Tensor::from_vec(pixels, (2, 16), &Device::Cpu).unwrap();
    let repeated = direct
        .unsqueeze(0)
        .unwrap()
        .broadcast_as((t, 2, 16))
        .unwrap()
        .contiguous()
        .unwrap();
    let a = net.forward(&direct, InputMode::Direct).unwrap();
    let b = net.forward(&repeated, InputMode::Spikes).unwrap();
    let a = a
        .out_spikes
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let b = b
        .out_spikes
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a, b);
}
