//! The key property of the quantize pass: at 16-bit weights and 32-bit registers, the golden
//! model of the quantized network decides like the float model it came from, on almost every
//! input. The float model here is a small `f64` simulator written for this test alone
//! (`H[t] = H[t-1] + sum w x[t] + b`, one spike when `H >= threshold`, hidden neurons done
//! after it, outputs integrating on), independent of `crate::float`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ttfs_runtime::config::TieBreak;

use super::quantize;
use super::tests::{dense, fixture, network};
use crate::golden::GoldenModel;
use crate::ir::FoldedNetwork;
use ttfs_runtime::decision::{Decision, DecisionRule, decide};

/// SplitMix64: a tiny deterministic generator, so the figure is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
}

/// The float reference of a folded network on one input.
fn float_decision(net: &FoldedNetwork, pixels: &[u8]) -> Decision {
    let t_max = net.time_steps;
    let theta = f64::from(net.threshold);
    let mut input: Vec<Option<u32>> = vec![None; net.input.channels()];
    net.input.encoding.for_each_spike(pixels, t_max, |c, t| {
        if let Some(slot) = input.get_mut(c as usize) {
            *slot = Some(t);
        }
    });
    let persists = net.input.first_layer_current_persists();
    let mut held = vec![0.0f64; net.layers.first().map_or(0, |l| l.neurons())];
    let last = net.layers.len() - 1;
    let mut h: Vec<Vec<f64>> = net.layers.iter().map(|l| vec![0.0; l.neurons()]).collect();
    let mut fired: Vec<Vec<Option<u32>>> =
        net.layers.iter().map(|l| vec![None; l.neurons()]).collect();
    let mut potential = vec![Vec::new(); net.layers[last].neurons()];
    for t in 1..=t_max {
        let mut active: Vec<usize> = (0..input.len()).filter(|&c| input[c] == Some(t)).collect();
        for (l, layer) in net.layers.iter().enumerate() {
            let mut x: Vec<f64> = vec![0.0; layer.neurons()];
            for &j in &active {
                for axon in layer.routing.axons_of(j) {
                    for (i, w) in layer.synapses.row(axon) {
                        x[i as usize] += f64::from(w);
                    }
                }
            }
            if l == 0 && persists {
                // The thermometer lines' current persists over the steps.
                for (x, held) in x.iter_mut().zip(&mut held) {
                    *held += *x;
                    *x = *held;
                }
            }
            for (x, &b) in x.iter_mut().zip(&layer.bias) {
                *x += f64::from(b);
            }
            active.clear();
            for i in 0..layer.neurons() {
                if fired[l][i].is_some() && l != last {
                    continue;
                }
                h[l][i] += x[i];
                if fired[l][i].is_none() && h[l][i] >= theta {
                    fired[l][i] = Some(t);
                    active.push(i);
                }
            }
        }
        for (k, &v) in h[last].iter().enumerate() {
            potential[k].push(v);
        }
    }
    decide(
        &fired[last],
        t_max,
        DecisionRule::full_run(net.tie_break),
        |k, t| potential[k][t as usize - 1],
    )
}

/// A random dense network: 1 or 2 hidden layers, 3 to 5 classes, weights mostly positive so
/// that neurons fire within T, biases on half of the networks.
fn random_network(rng: &mut Rng) -> FoldedNetwork {
    let channels = rng.int(6, 16);
    let mut sizes = vec![rng.int(4, 12)];
    if rng.next() % 2 == 0 {
        sizes.push(rng.int(4, 10));
    }
    sizes.push(rng.int(3, 5));
    let with_bias = rng.next() % 2 == 0;
    let mut layers = Vec::new();
    let mut sources = channels;
    for (l, &n) in sizes.iter().enumerate() {
        let a = 6.0 / sources as f64;
        let rows: Vec<Vec<f32>> = (0..n)
            .map(|_| {
                (0..sources)
                    .map(|_| (a * (rng.unit() * 1.5 - 0.5)) as f32)
                    .collect()
            })
            .collect();
        let bias: Vec<f32> = (0..n)
            .map(|_| {
                if with_bias {
                    (0.1 * (rng.unit() - 0.3)) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let name = format!("layer {} (linear {sources}->{n})", l + 1);
        layers.push(dense(&name, &rows, &bias));
        sources = n;
    }
    let t = rng.int(6, 16) as u32;
    let mut net = network(channels, t, 1.0, layers);
    if rng.next() % 2 == 0 {
        net.tie_break = TieBreak::PotentialAtDecision;
    }
    net
}

#[test]
fn sixteen_bit_quantization_decides_like_the_float_model() {
    let mut target = fixture("tiny");
    target.core.weight_bits = 16;
    target.core.potential_bits = 32;
    target.core.current_bits = 32;

    // The same networks at the fixture's own 8 bits, for contrast (not asserted).
    let eight_bit = fixture("tiny");

    let mut rng = Rng(0x7d2f_00c3_11aa_5e01);
    let (networks, inputs_each) = (100, 8);
    let (mut agree, mut agree8, mut total, mut output_spiked, mut tied) = (0, 0, 0, 0, 0);
    for _ in 0..networks {
        let net = random_network(&mut rng);
        let q = quantize(&net, &target).unwrap();
        assert!(q.report.iter().all(|r| r.threshold_limited == 0));
        let q8 = quantize(&net, &eight_bit).unwrap();
        let mut golden = GoldenModel::new(&q.network);
        let mut golden8 = GoldenModel::new(&q8.network);
        for _ in 0..inputs_each {
            let pixels: Vec<u8> = (0..net.input.pixels())
                .map(|_| {
                    if rng.next() % 3 == 0 {
                        0
                    } else {
                        rng.int(1, 255) as u8
                    }
                })
                .collect();
            let int = golden.run(&pixels).unwrap().decision;
            let int8 = golden8.run(&pixels).unwrap().decision;
            let float = float_decision(&net, &pixels);
            total += 1;
            output_spiked += usize::from(float.step.is_some());
            tied += usize::from(float.tied > 1);
            agree += usize::from(int.class == float.class && int.step == float.step);
            agree8 += usize::from(int8.class == float.class && int8.step == float.step);
        }
    }
    let rate = agree as f64 / total as f64;
    println!(
        "16-bit golden vs float: {agree}/{total} decisions agree ({:.2}%; at 8 bits \
         {agree8}/{total}); an output fired in {output_spiked} cases, {tied} of them tied",
        100.0 * rate
    );
    assert!(rate >= 0.99, "agreement {agree}/{total}");
    // Not a trivial agreement: most cases are decided by a spike.
    assert!(output_spiked * 2 > total, "{output_spiked}/{total}");
}
