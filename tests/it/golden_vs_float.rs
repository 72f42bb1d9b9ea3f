//! The trained MLP through the compiler: float reference against golden model, at the target's
//! 8 bits and at 16 bits.

use ttfs_compiler::compile::{CompileOptions, compile, quantized};
use ttfs_compiler::evaluate::evaluate;

use crate::common::{mlp, mnist_test, target};

const IMAGES: usize = 500;

#[test]
fn mlp_on_loihi_golden_tracks_the_float_model_at_8_bits() {
    let model = mlp();
    let loihi = target("loihi");
    let compiled = compile(&model, &loihi, &CompileOptions::default()).unwrap();
    let (images, labels) = mnist_test(IMAGES);
    let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let e = evaluate(
        &compiled.folded,
        &compiled.quantized.network,
        &refs,
        &labels,
    );
    // Measured on the full test set (ttfs compile --limit 10000): float 98.51%, golden 98.58%,
    // agreement 99.82%. On the first 500 images, allow two disagreements in a thousand.
    assert!(e.float_accuracy > 0.97, "{e:?}");
    assert!(e.agreement >= 0.99, "agreement {}", e.agreement);
    assert!(
        (e.golden_accuracy - e.float_accuracy).abs() <= 0.006,
        "float {} golden {}",
        e.float_accuracy,
        e.golden_accuracy
    );
    // The registers never saturate and stay far inside their 24-bit range.
    for layer in &e.layers {
        assert_eq!(layer.saturations, 0, "{}", layer.name);
        assert!(layer.max_abs_v < layer.potential_limit / 100, "{layer:?}");
    }
    // The configuration survives its binary form.
    let bytes = ttfs_runtime::config::encode(&compiled.mapping.config).unwrap();
    let back = ttfs_runtime::config::decode(&bytes).unwrap();
    assert_eq!(back, compiled.mapping.config);
    back.check_target(&loihi).unwrap();
    assert_eq!(compiled.mapping.report.cores_used, 11);
}

#[test]
fn quantization_at_16_bits_reproduces_the_float_predictions() {
    let model = mlp();
    let mut wide = target("loihi");
    wide.core.weight_bits = 16;
    wide.core.current_bits = 32;
    wide.core.potential_bits = 32;
    wide.core.threshold_bits = 32;
    let (folded, quantized, _) = quantized(&model, &wide, Default::default()).unwrap();
    let (images, labels) = mnist_test(IMAGES);
    let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let e = evaluate(&folded, &quantized.network, &refs, &labels);
    // Measured on all 10,000 test images: 100.00% agreement.
    assert_eq!(e.agreement, 1.0, "{e:?}");
    assert_eq!(e.golden_accuracy, e.float_accuracy);
}

#[test]
fn the_chip_and_the_trainer_encode_every_pixel_at_the_same_step() {
    for t in 1..=32u32 {
        for p in 0..=255u8 {
            let chip = ttfs_runtime::config::InputEncoding::Latency.spike_step(p, t);
            let trainer = ttfs_trainer::spike_step(p, t as usize).map(|s| s as u32);
            assert_eq!(chip, trainer, "pixel {p}, T = {t}");
        }
    }
}
