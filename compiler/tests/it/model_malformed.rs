//! One test per way a model file can be malformed: the error variant, and a message that
//! names the file and, where there is one, the layer and tensor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::Dtype;
use safetensors::tensor::TensorView;
use tempfile::TempDir;
use ttfs_compiler::model::*;

use crate::common::{self, conv, conv_layer, mlp, write_model_unchecked, write_unchecked};

fn temp_path() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    (dir, path)
}

/// Reads `path`, expecting failure, and checks the message starts with the path.
fn read_err(path: &Path) -> ModelError {
    let err = read(path).unwrap_err();
    assert_eq!(err.path(), Some(path));
    let prefix = format!("{}: ", path.display());
    assert!(err.to_string().starts_with(&prefix), "{err}");
    err
}

/// The message without the path prefix.
fn cause(err: &ModelError) -> String {
    err.inner().to_string()
}

#[test]
fn not_safetensors_bytes() {
    let (_dir, path) = temp_path();
    std::fs::write(&path, b"P5\n28 28\n255\n this is a picture, not a model").unwrap();
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::NotSafetensors { .. }),
        "{err}"
    );
    assert!(cause(&err).starts_with("not a safetensors file ("), "{err}");
}

#[test]
fn truncated_file() {
    let (_dir, path) = temp_path();
    write(&path, &mlp()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::NotSafetensors { .. }),
        "{err}"
    );
    // Cut inside the header too.
    std::fs::write(&path, &bytes[..20]).unwrap();
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::NotSafetensors { .. }),
        "{err}"
    );
}

#[test]
fn missing_metadata() {
    let (_dir, path) = temp_path();
    let model = mlp();
    let other = HashMap::from([("format".to_string(), "pt".to_string())]);
    common::write_raw(&path, Some(other), &model.tensors);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::MissingMetadata { .. }),
        "{err}"
    );
    assert!(cause(&err).contains("\"ttfs.model\""), "{err}");
    common::write_raw(&path, None, &model.tensors);
    assert!(matches!(
        read_err(&path).inner(),
        ModelError::MissingMetadata { .. }
    ));
}

#[test]
fn bad_json() {
    let (_dir, path) = temp_path();
    write_unchecked(&path, "{\"format_version\": 1, arch".into(), &mlp().tensors);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::BadDescription { .. }),
        "{err}"
    );
    // serde's own message, with its position, is kept.
    assert!(
        cause(&err).contains("key must be a string at line 1 column 23"),
        "{err}"
    );
}

#[test]
fn json_that_does_not_fit_the_description() {
    let (_dir, path) = temp_path();
    let model = mlp();
    let mut value = serde_json::to_value(&model.description).unwrap();
    value["layers"][1]["weight_nrom"] = value["layers"][1]["weight_norm"].take();
    write_unchecked(&path, value.to_string(), &model.tensors);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::BadDescription { .. }),
        "{err}"
    );
    assert!(cause(&err).contains("weight_nrom"), "{err}");
}

#[test]
fn unknown_format_version() {
    let (_dir, path) = temp_path();
    let model = mlp();
    // A future version may change anything else too: the version is reported first.
    let json = serde_json::json!({ "format_version": 7, "layers": "something new" });
    write_unchecked(&path, json.to_string(), &model.tensors);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::UnsupportedVersion { found: 7, .. }),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "model format version 7 is not supported (this build reads version 1)"
    );
}

#[test]
fn tensor_not_f32() {
    let (_dir, path) = temp_path();
    let model = mlp();
    let json = serde_json::to_string(&model.description).unwrap();
    let bytes: Vec<u8> = (0..24u64).flat_map(|v| (v as f64).to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F64, vec![3, 8], &bytes).unwrap();
    let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
    std::fs::write(
        &path,
        safetensors::serialize([("layers.2.weight", view)], Some(metadata)).unwrap(),
    )
    .unwrap();
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::TensorDtype { .. }),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "tensor layers.2.weight has dtype F64, expected F32"
    );
}

#[test]
fn wrong_tensor_shape() {
    let (_dir, path) = temp_path();
    let mut model = mlp();
    let weight = model.tensors.get_mut("layers.2.weight").unwrap();
    weight.shape = vec![3, 7];
    weight.data.truncate(21);
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::TensorShape { index: 2, .. }),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "layer 2 (linear): tensor layers.2.weight has shape [3, 7], expected [3, 8]"
    );
}

#[test]
fn missing_tensor() {
    let (_dir, path) = temp_path();
    let mut model = mlp();
    model.tensors.remove("layers.1.scale");
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::MissingTensor { index: 1, .. }),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "layer 1 (linear): tensor layers.1.scale is missing"
    );
}

#[test]
fn extra_tensor() {
    let (_dir, path) = temp_path();
    let mut model = mlp();
    // Layer 2 has no bias, so a shift for it is not part of the model.
    let shift = TensorData {
        shape: vec![3],
        data: vec![0.0; 3],
    };
    model.tensors.insert("layers.2.shift".into(), shift);
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::UnexpectedTensor { .. }),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "tensor layers.2.shift is not used by any layer"
    );
}

#[test]
fn non_finite_value() {
    let (_dir, path) = temp_path();
    let mut model = conv();
    model.tensors.get_mut("layers.0.shift").unwrap().data[1] = f32::INFINITY;
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(
            err.inner(),
            ModelError::NonFinite {
                index: 0,
                position: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "layer 0 (conv2d): tensor layers.0.shift holds the non-finite value inf at flat index 1"
    );
}

#[test]
fn decoding_weights_length_differs_from_time_steps() {
    let (_dir, path) = temp_path();
    let mut model = mlp();
    model.description.time_steps = 8;
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(
            err.inner(),
            ModelError::Field {
                field: "decoding.weights",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "decoding.weights has 5 values, expected one per time step (8)"
    );
}

#[test]
fn linear_after_a_feature_map_without_flatten() {
    let (_dir, path) = temp_path();
    let mut model = mlp();
    model.description.layers[0] = common::linear(20, 20, false, false, false);
    model.tensors.insert(
        "layers.0.weight".into(),
        TensorData {
            shape: vec![20, 20],
            data: common::pseudo_random(3, 400),
        },
    );
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(
            err.inner(),
            ModelError::Layer {
                index: 0,
                kind: "linear",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "layer 0 (linear): expects a 1-D input of 20 features, found shape [1, 4, 5] (put a flatten layer before it)"
    );
}

#[test]
fn conv_kernel_larger_than_input() {
    let (_dir, path) = temp_path();
    let mut model = conv();
    model.description.layers[0] = conv_layer(7, 0);
    let weight = model.tensors.get_mut("layers.0.weight").unwrap();
    weight.shape = vec![2, 1, 7, 7];
    weight.data = common::pseudo_random(5, 98);
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(
            err.inner(),
            ModelError::Layer {
                index: 0,
                kind: "conv2d",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        cause(&err),
        "layer 0 (conv2d): kernel [7, 7] is larger than the padded input [6, 6] (input shape [1, 6, 6], padding 0)"
    );
}

#[test]
fn last_layer_without_weights() {
    let (_dir, path) = temp_path();
    let mut model = conv();
    model.description.layers.truncate(3);
    model
        .tensors
        .retain(|name, _| name.starts_with("layers.0."));
    write_model_unchecked(&path, &model);
    let err = read_err(&path);
    assert!(
        matches!(
            err.inner(),
            ModelError::LastLayerNotWeighted {
                index: 2,
                kind: "flatten"
            }
        ),
        "{err}"
    );
}

/// The description text of the file at `path`, as written.
fn written_json(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    header.metadata().as_ref().unwrap()[METADATA_KEY].clone()
}

#[test]
fn an_edited_description_no_longer_matches_the_digest() {
    // One digit of weight_norm.eps changed by hand: the file once compiled silently into
    // another network.
    let (_dir, path) = temp_path();
    let model = mlp();
    write(&path, &model).unwrap();
    let json = written_json(&path);
    assert!(
        json.ends_with(&format!(
            ",\"digest\":\"fnv1a64:{:016x}\"}}",
            model.file_digest()
        )),
        "{json}"
    );
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let eps = &mut value["layers"][1]["weight_norm"]["eps"];
    *eps = (eps.as_f64().unwrap() * 2.0).into();
    common::write_unchecked(&path, value.to_string(), &model.tensors);
    let err = read_err(&path);
    assert!(
        matches!(err.inner(), ModelError::DigestMismatch { .. }),
        "{err}"
    );
    assert!(
        cause(&err).starts_with("the model's digest does not match its contents"),
        "{err}"
    );

    // The description as written, but one weight changed.
    let mut tensors = model.tensors.clone();
    tensors.values_mut().next().unwrap().data[0] += 1.0;
    common::write_unchecked(&path, json.clone(), &tensors);
    assert!(matches!(
        read_err(&path).inner(),
        ModelError::DigestMismatch { .. }
    ));

    // A digest that is not one.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["digest"] = "sha256:abc".into();
    common::write_unchecked(&path, value.to_string(), &model.tensors);
    let err = read_err(&path);
    assert!(matches!(err.inner(), ModelError::BadDigest { .. }), "{err}");

    // A file written before digests existed reads as it is.
    common::write_model_unchecked(&path, &model);
    assert_eq!(read(&path).unwrap(), model);
}
