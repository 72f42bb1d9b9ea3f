//! Every shipped model exported to NIR, written, read back and imported compiles to the same
//! chip configuration as its safetensors file, byte for byte but the model digest it records,
//! with its pools exported either way (AvgPool2d, or SumPool2d with 1/k^2 in the next layer) and
//! compiled either way.

use std::path::{Path, PathBuf};

use ttfs_compiler::compile::{CompileOptions, compile};
use ttfs_compiler::ir::PoolLowering;
use ttfs_compiler::model::Model;
use ttfs_nir::{ExportOptions, ImportOptions, Origin, export_model, import};
use ttfs_runtime::target::Target;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn shipped() -> Vec<(String, Model)> {
    let mut models: Vec<(String, Model)> = std::fs::read_dir(repo("fixtures/models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, ttfs_compiler::model::read(&p).unwrap())
        })
        .collect();
    models.sort_by(|a, b| a.0.cmp(&b.0));
    models
}

/// The configuration `model` compiles to on `target` with `lowering`, its model digest zeroed,
/// as bytes; or the compiler's refusal.
fn config_bytes(model: &Model, target: &Target, lowering: PoolLowering) -> Result<Vec<u8>, String> {
    let options = CompileOptions {
        pool_lowering: lowering,
        ..CompileOptions::default()
    };
    let mut config = compile(model, target, &options)
        .map_err(|e| e.to_string())?
        .mapping
        .config;
    config.model_digest = 0;
    Ok(ttfs_runtime::config::encode(&config).unwrap())
}

#[test]
fn every_shipped_model_round_trips_to_the_same_configuration() {
    let target = ttfs_runtime::target::load(&repo("fixtures/targets/loihi.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for ((name, model), sum_pools) in shipped()
        .into_iter()
        .flat_map(|m| [(m.clone(), false), (m, true)])
    {
        let file = export_model(&model, ExportOptions { sum_pools }).unwrap();
        let name = format!("{name} (sum pools {sum_pools})");
        let pools = model
            .description
            .layers
            .iter()
            .filter(|l| l.kind_name() == "avg_pool2d")
            .count();
        let summary = ttfs_nir::summary::describe(&file);
        assert_eq!(
            summary.matches("SumPool2d").count(),
            if sum_pools { pools } else { 0 },
            "{name}: {summary}"
        );
        let path = dir.path().join(format!("{name}.nir"));
        ttfs_nir::hdf5::write(&path, &file, true).unwrap();
        let back = ttfs_nir::hdf5::read(&path).unwrap();
        assert_eq!(back, file, "{name}: the file reads back as written");
        let imported = import(&back, &ImportOptions::default()).unwrap();
        assert_eq!(
            imported.origin,
            Origin::Ttfs {
                digest: Some(format!("{:016x}", model.digest()))
            },
            "{name}"
        );
        assert!(imported.notes.is_empty(), "{name}: {:?}", imported.notes);
        let d = &imported.model.description;
        assert_eq!(
            (
                d.time_steps,
                d.input.encoding,
                d.decoding.tie_break,
                &d.dataset
            ),
            (
                model.description.time_steps,
                model.description.input.encoding,
                model.description.decoding.tie_break,
                &model.description.dataset
            ),
            "{name}"
        );
        for lowering in [PoolLowering::SharedAxons, PoolLowering::Synapses] {
            let original = config_bytes(&model, &target, lowering);
            let round_trip = config_bytes(&imported.model, &target, lowering);
            match (&original, &round_trip) {
                (Ok(a), Ok(b)) => assert!(a == b, "{name} {lowering:?}: the configurations differ"),
                (Err(a), Err(b)) => assert_eq!(a, b, "{name} {lowering:?}"),
                _ => panic!("{name} {lowering:?}: {original:?} against {round_trip:?}"),
            }
        }
    }
}

/// The integer network compiled for a target, exported with `--quantized-for` and imported
/// back, compiles for that target to the same configuration (its integers are the chip's); a
/// thermometer model's lines are refused with what to do instead.
#[test]
fn a_compiled_network_exported_and_imported_compiles_to_the_same_configuration() {
    let target = ttfs_runtime::target::load(&repo("fixtures/targets/loihi.json")).unwrap();
    for (name, model) in shipped() {
        if name.contains("cnn") {
            continue; // dense arrays of a CNN's folded pools are too large to export
        }
        let (_, quantized, _) =
            ttfs_compiler::compile::quantized(&model, &target, PoolLowering::Synapses).unwrap();
        let file = ttfs_nir::export_quantized(&model, &quantized.network, &target.name).unwrap();
        let bytes = ttfs_nir::hdf5::encode(&file, true).unwrap();
        let back = ttfs_nir::hdf5::decode(&bytes).unwrap();
        let imported = import(&back, &ImportOptions::default());
        if name.starts_with("fashion") {
            let err = imported.unwrap_err().to_string();
            assert!(err.contains("import the float export"), "{name}: {err}");
            continue;
        }
        let imported = imported.unwrap();
        assert!(matches!(imported.origin, Origin::Ttfs { .. }), "{name}");
        // The one difference allowed: the ANN baseline's nonzero multiply-accumulates count
        // the weights the model holds, and the integer network's zeroed weights are zeros.
        let dense = |m: &Model| -> Vec<u8> {
            let mut config = ttfs_runtime::config::decode(
                &config_bytes(m, &target, PoolLowering::SharedAxons).unwrap(),
            )
            .unwrap();
            for layer in &mut config.layers {
                layer.ann_nonzero_macs = 0;
            }
            ttfs_runtime::config::encode(&config).unwrap()
        };
        assert!(
            dense(&model) == dense(&imported.model),
            "{name}: the configurations differ"
        );
    }
}
