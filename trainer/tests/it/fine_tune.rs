//! Fine-tuning (`init_from`): a run starts from a trained model's weights, and a model of
//! another architecture or a missing file is refused with a sentence naming it.

use ttfs_trainer::{Prune, Silent, TrainConfig, train};

use crate::synthetic::{data_folder, run_paths};

fn config(data: &std::path::Path, arch: &str) -> TrainConfig {
    let mut config = TrainConfig::recipe("mnist", data.to_path_buf(), arch);
    config.batch_size = 16;
    config.epochs = 1;
    config.steps = 4;
    config
}

#[test]
fn a_fine_tuning_run_starts_from_the_trained_weights() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 96, 32, 5);
    let first = run_paths(dir.path(), "a");
    let trained = train(config(&data, "64-32-10"), &first, false, &mut Silent).unwrap();

    // A different seed would initialise other weights; the loaded ones must win.
    let mut tune = config(&data, "64-32-10");
    tune.seed = 99;
    tune.init_from = Some(first.model.clone());
    let second = run_paths(dir.path(), "b");
    let tuned = train(tune.clone(), &second, false, &mut Silent).unwrap();
    assert_eq!(
        tuned.firing_at_init, trained.firing,
        "the run must begin with the first run's network"
    );
    let mut fresh = tune;
    fresh.init_from = None;
    let third = run_paths(dir.path(), "c");
    let scratch = train(fresh, &third, false, &mut Silent).unwrap();
    assert_ne!(
        scratch.firing_at_init, trained.firing,
        "the test has teeth: a fresh start fires differently"
    );
}

#[test]
fn another_architecture_or_a_missing_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 48, 16, 6);
    let first = run_paths(dir.path(), "a");
    train(config(&data, "64-32-10"), &first, false, &mut Silent).unwrap();

    let mut wider = config(&data, "64-48-10");
    wider.init_from = Some(first.model.clone());
    let out = run_paths(dir.path(), "b");
    let err = train(wider, &out, false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--from") && err.contains("has shape [32") && err.contains("64-32-10"),
        "{err}"
    );
    assert!(!out.model.exists(), "nothing is written on a refusal");

    let mut missing = config(&data, "64-32-10");
    missing.init_from = Some(dir.path().join("nowhere.safetensors"));
    let err = train(missing, &out, false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere.safetensors"), "{err}");
}

/// `--prune`: the smallest weights of the `--from` model's hidden-input layers are removed,
/// stay exactly zero through fine-tuning (the same positions after two epochs, and after a
/// resume), are exported as zeros, and the compiler gives them no synapse.
#[test]
fn pruned_weights_stay_zero_through_fine_tuning_and_compile_to_no_synapse() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 96, 32, 7);
    let first = run_paths(dir.path(), "a");
    let trained = train(config(&data, "64-32-10"), &first, false, &mut Silent).unwrap();

    let mut tune = config(&data, "64-32-10");
    tune.init_from = Some(first.model.clone());
    tune.prune = Some(Prune::All(0.75));
    tune.epochs = 2;
    let second = run_paths(dir.path(), "b");
    let tuned = train(tune.clone(), &second, false, &mut Silent).unwrap();

    // The hidden layer (index 1 after the flatten): the 75% of the trained model's effective
    // weights of smallest magnitude, ties to the lower index, are exactly 0 now.
    let before = ttfs_compiler::model::read(&first.model)
        .unwrap()
        .effective_layer(1)
        .unwrap()
        .weight
        .data;
    let after = &tuned.model.tensors["layers.1.weight"].data;
    let mut order: Vec<usize> = (0..before.len()).collect();
    order.sort_by(|&a, &b| before[a].abs().total_cmp(&before[b].abs()).then(a.cmp(&b)));
    let pruned = before.len() * 3 / 4;
    assert!(order[..pruned].iter().all(|&i| after[i] == 0.0));
    assert!(order[pruned..].iter().all(|&i| after[i] != 0.0));
    // The output layer is not pruned, and the pruned layer is written without weight norm so
    // the file's weight is the effective one.
    assert!(
        tuned.model.tensors["layers.2.weight"]
            .data
            .iter()
            .all(|&w| w != 0.0)
    );
    assert!(matches!(
        tuned.model.description.layers[1],
        ttfs_compiler::model::LayerSpec::Linear {
            weight_norm: None,
            affine_scale: false,
            ..
        }
    ));
    assert_eq!(
        tuned.model.effective_layer(1).unwrap().weight.data,
        *after,
        "the compiler reads the weights as trained"
    );
    assert_ne!(
        tuned.firing, trained.firing,
        "fine-tuning changed the network"
    );

    // A resumed run recomputes the same masks from the --from model.
    let mut longer = tune;
    longer.epochs = 3;
    let resumed = train(longer, &second, true, &mut Silent).unwrap();
    let again = &resumed.model.tensors["layers.1.weight"].data;
    assert!(order[..pruned].iter().all(|&i| again[i] == 0.0));

    // On the chip: no synapse for a pruned weight (8-bit rounding may drop a few more).
    let target = ttfs_runtime::target::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/targets/loihi.json"),
    )
    .unwrap();
    let (_, quantized, _) =
        ttfs_compiler::compile::quantized(&resumed.model, &target, Default::default()).unwrap();
    let kept = again.iter().filter(|&&w| w != 0.0).count();
    assert!(quantized.network.layers[0].synapses.len() <= kept);
    assert!(quantized.network.layers[0].synapses.len() >= kept * 9 / 10);
}

#[test]
fn pruning_needs_a_model_to_fine_tune_and_a_fraction_below_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 16, 16, 8);
    let out = run_paths(dir.path(), "a");
    let mut alone = config(&data, "64-32-10");
    alone.prune = Some(Prune::All(0.5));
    let err = train(alone, &out, false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--prune") && err.contains("--from MODEL"),
        "{err}"
    );
    let mut all = config(&data, "64-32-10");
    all.init_from = Some(dir.path().join("m.safetensors"));
    all.prune = Some(Prune::All(1.0));
    let err = train(all, &out, false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--prune") && err.contains("got 1"), "{err}");
}

/// The weight norm's gain is part of every effective weight, so a `--from` model keeps the
/// gain it was saved with whatever this run's initialisation says: the fine-tune starts from
/// exactly the saved network and exports that gain. Per-layer pruning fractions apply in
/// order, and a list of the wrong length is refused.
#[test]
fn a_model_keeps_its_weight_norm_gain_and_per_layer_pruning_applies_in_order() {
    use ttfs_trainer::Init;
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 96, 32, 5);
    let first = run_paths(dir.path(), "a");
    let trained = train(config(&data, "64-32-16-10"), &first, false, &mut Silent).unwrap();

    let mut other = config(&data, "64-32-16-10");
    other.init = Init::Ettfs { gain: Some(9.0) };
    other.init_from = Some(first.model.clone());
    let tuned = train(other, &run_paths(dir.path(), "b"), false, &mut Silent).unwrap();
    assert_eq!(
        tuned.firing_at_init, trained.firing,
        "it starts from the saved network"
    );
    let gains = |m: &ttfs_compiler::model::Model| -> Vec<Option<f32>> {
        m.description
            .layers
            .iter()
            .filter(|l| l.is_weighted())
            .map(|l| l.weight_norm().map(|w| w.gain))
            .collect()
    };
    assert_eq!(gains(&tuned.model), gains(&trained.model));
    assert_eq!(gains(&trained.model), vec![Some(4.0); 3]);

    let mut tune = config(&data, "64-32-16-10");
    tune.init_from = Some(first.model.clone());
    tune.prune = Some(Prune::PerLayer(vec![0.0, 0.5]));
    let pruned = train(
        tune.clone(),
        &run_paths(dir.path(), "c"),
        false,
        &mut Silent,
    )
    .unwrap();
    let zeros = |i: usize| {
        let w = &pruned.model.tensors[&format!("layers.{i}.weight")].data;
        (w.iter().filter(|&&x| x == 0.0).count(), w.len())
    };
    // Layer 0 of the model is the flattening; the weighted layers are 1, 2 and 3.
    let (z0, _) = zeros(1);
    let (z1, n1) = zeros(2);
    let (z2, _) = zeros(3);
    assert_eq!(z0, 0, "the first layer is kept whole");
    assert_eq!(z1, n1 / 2, "half of the second");
    assert_eq!(z2, 0, "the output layer is never pruned");

    tune.prune = Some(Prune::PerLayer(vec![0.5]));
    let err = train(tune, &run_paths(dir.path(), "d"), false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--prune lists 1 fractions but the network has 2 hidden-input layers"),
        "{err}"
    );
}

/// A pruned model is a starting point like any other: its pruned layers were written as plain
/// weights (no weight norm, scale or bias) while its output layer keeps its weight norm, and a
/// fine-tune builds each layer the way it was saved and starts from exactly that network.
#[test]
fn a_pruned_model_can_be_fine_tuned() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 96, 32, 8);
    let first = run_paths(dir.path(), "a");
    train(config(&data, "64-32-10"), &first, false, &mut Silent).unwrap();
    let mut prune = config(&data, "64-32-10");
    prune.init_from = Some(first.model.clone());
    prune.prune = Some(Prune::All(0.5));
    let pruned_paths = run_paths(dir.path(), "pruned");
    let pruned = train(prune, &pruned_paths, false, &mut Silent).unwrap();
    let normed: Vec<bool> = pruned
        .model
        .description
        .layers
        .iter()
        .filter(|l| l.is_weighted())
        .map(|l| l.weight_norm().is_some())
        .collect();
    assert_eq!(
        normed,
        vec![false, true],
        "the pruned layer is a plain weight, the output layer keeps its weight norm"
    );

    let mut tune = config(&data, "64-32-10");
    tune.init_from = Some(pruned_paths.model.clone());
    let tuned = train(tune, &run_paths(dir.path(), "tuned"), false, &mut Silent).unwrap();
    assert_eq!(
        tuned.firing_at_init, pruned.firing,
        "it starts from the pruned network"
    );
}
