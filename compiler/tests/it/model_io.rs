//! Round trips through the model file, the on-disk layout the trainer relies on, and
//! atomic writes.

use safetensors::{Dtype, SafeTensors};
use ttfs_compiler::model::*;

use crate::common::{conv, mlp};

#[test]
fn mlp_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.safetensors");
    let model = mlp();
    write(&path, &model).unwrap();
    let back = read(&path).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.num_classes().unwrap(), 3);
    assert_eq!(
        back.layer_shapes().unwrap(),
        vec![vec![20], vec![8], vec![3]]
    );
}

#[test]
fn conv_model_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.safetensors");
    let mut model = conv();
    model.description.input.encoding = InputEncoding::Direct;
    model.description.training.test_accuracy = None;
    write(&path, &model).unwrap();
    let back = read(&path).unwrap();
    assert_eq!(back, model);
    assert_eq!(
        back.layer_shapes().unwrap(),
        vec![vec![2, 6, 6], vec![2, 3, 3], vec![18], vec![3]]
    );
    assert_eq!(back.num_classes().unwrap(), 3);
}

#[test]
fn file_layout_is_f32_tensors_named_by_layer_and_json_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.safetensors");
    write(&path, &conv()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        [
            "layers.0.scale",
            "layers.0.shift",
            "layers.0.weight",
            "layers.3.shift",
            "layers.3.weight"
        ]
    );
    let weight = file.tensor("layers.0.weight").unwrap();
    assert_eq!(weight.dtype(), Dtype::F32);
    assert_eq!(weight.shape(), [2, 1, 3, 3]);
    let first = f32::from_le_bytes(weight.data()[..4].try_into().unwrap());
    assert_eq!(first, conv().tensors["layers.0.weight"].data[0]);

    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let json = &header.metadata().as_ref().unwrap()[METADATA_KEY];
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["layers"][0]["kind"], "conv2d");
    assert_eq!(value["layers"][1]["kind"], "avg_pool2d");
    assert_eq!(value["input"]["encoding"], "latency");
    assert_eq!(value["decoding"]["tie_break"], "potential_at_decision");
    assert_eq!(value["decoding"]["rule"], "earliest_spike");
}

#[test]
fn conv_weight_norm_standardises_over_channels_and_kernel() {
    // Independent check of the fan-in for conv: after dividing out the scale, each output
    // channel's 9 weights have mean 0 and sum of squares g * var / (var + eps).
    let model = conv();
    let raw = &model.tensors["layers.0.weight"].data;
    let scale = &model.tensors["layers.0.scale"].data;
    let folded = model.effective_layer(0).unwrap();
    assert_eq!(folded.weight.shape, vec![2, 1, 3, 3]);
    assert_eq!(folded.bias, model.tensors["layers.0.shift"].data);
    for o in 0..2 {
        let w: Vec<f64> = raw[o * 9..(o + 1) * 9]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let mean = w.iter().sum::<f64>() / 9.0;
        let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 9.0;
        let unscaled: Vec<f64> = folded.weight.data[o * 9..(o + 1) * 9]
            .iter()
            .map(|&v| f64::from(v) / f64::from(scale[o]))
            .collect();
        let sum: f64 = unscaled.iter().sum();
        let squares: f64 = unscaled.iter().map(|v| v * v).sum();
        assert!(sum.abs() < 1e-5, "channel {o}: mean not zero ({sum})");
        let expected = 1.0 * var / (var + 1e-4);
        assert!(
            (squares - expected).abs() < 1e-5,
            "channel {o}: {squares} vs {expected}"
        );
    }
    // The plain last layer passes its weights through.
    let last = model.effective_layer(3).unwrap();
    assert_eq!(last.weight, model.tensors["layers.3.weight"]);
}

#[test]
fn failed_write_of_an_invalid_model_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let mut model = mlp();
    model.tensors.get_mut("layers.2.weight").unwrap().data[5] = f32::NAN;
    let err = write(&path, &model).unwrap_err();
    assert!(
        matches!(
            err.inner(),
            ModelError::NonFinite {
                index: 2,
                position: 5,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.path(), Some(path.as_path()));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "left files behind"
    );
}

#[test]
fn failed_write_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    write(&path, &mlp()).unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut model = conv();
    model.description.time_steps = 0;
    let err = write(&path, &model).unwrap_err();
    assert!(
        matches!(
            err.inner(),
            ModelError::Field {
                field: "time_steps",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "left files behind"
    );
}

#[test]
fn write_into_a_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("m.safetensors");
    let err = write(&path, &mlp()).unwrap_err();
    assert!(matches!(err.inner(), ModelError::Io { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn read_of_a_missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.safetensors");
    let err = read(&path).unwrap_err();
    assert!(matches!(err.inner(), ModelError::Io { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_nan_in_the_description_is_refused_before_json_turns_it_into_null() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut model = mlp();
    model.description.training.test_accuracy = Some(f32::NAN);
    let err = write(&path, &model).unwrap_err();
    assert!(
        matches!(
            err.inner(),
            ModelError::Field {
                field: "training.test_accuracy",
                ..
            }
        ),
        "{err}"
    );
    // And the JSON really would have lost it: serde_json writes NaN as null.
    let json = serde_json::to_string(&model.description).unwrap();
    assert!(json.contains("\"test_accuracy\":null"), "{json}");
}
