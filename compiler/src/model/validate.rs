//! [`Model::validate`]: every check of a model in one place, in the order a reader would
//! want to hear about problems: version, scalar fields, layer shapes, then tensors.

use std::collections::BTreeSet;

use super::description::{FORMAT_VERSION, LayerSpec};
use super::error::ModelError;
use super::shapes::check_last_layer;
use super::{Model, TensorData};

impl Model {
    /// Checks that the description and the tensors make a network this build can compile:
    /// the format version, `time_steps >= 1`, a positive finite threshold, one finite
    /// decoding weight per time step, finite floats everywhere (JSON cannot carry NaN),
    /// shapes that chain from the input, a weighted last layer, every tensor a layer needs
    /// with exactly the expected shape, element count and finite values, and no other
    /// tensor.
    pub fn validate(&self) -> Result<(), ModelError> {
        let d = &self.description;
        if d.format_version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion {
                found: d.format_version.into(),
                supported: FORMAT_VERSION,
            });
        }
        if d.time_steps == 0 {
            return Err(field("time_steps", "must be at least 1, found 0".into()));
        }
        let threshold = d.neuron.threshold;
        if !(threshold.is_finite() && threshold > 0.0) {
            return Err(field(
                "neuron.threshold",
                format!("must be positive and finite, found {threshold}"),
            ));
        }
        if let Some(q) = &d.quantized_for {
            if !(2..=16).contains(&q.weight_bits) {
                return Err(field(
                    "quantized_for.weight_bits",
                    format!("must be between 2 and 16, found {}", q.weight_bits),
                ));
            }
            if !(2..=32).contains(&q.threshold_bits) {
                return Err(field(
                    "quantized_for.threshold_bits",
                    format!("must be between 2 and 32, found {}", q.threshold_bits),
                ));
            }
        }
        let weights = &d.decoding.weights;
        if weights.len() != d.time_steps as usize {
            return Err(field(
                "decoding.weights",
                format!(
                    "has {} values, expected one per time step ({})",
                    weights.len(),
                    d.time_steps
                ),
            ));
        }
        if let Some((t, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(field(
                "decoding.weights",
                format!("must be finite, found {w} at step {}", t + 1),
            ));
        }
        finite("decoding.logit_scale", f64::from(d.decoding.logit_scale))?;
        if let Some(accuracy) = d.training.test_accuracy {
            finite("training.test_accuracy", f64::from(accuracy))?;
        }
        if let Some(seconds) = d.training.wall_seconds {
            finite("training.wall_seconds", seconds)?;
        }

        self.layer_shapes()?;
        check_last_layer(&d.layers)?;

        let mut expected_names = BTreeSet::new();
        for (index, layer) in d.layers.iter().enumerate() {
            for name in self.check_layer_tensors(index, layer)? {
                expected_names.insert(name);
            }
        }
        if let Some(name) = self.tensors.keys().find(|n| !expected_names.contains(*n)) {
            return Err(ModelError::UnexpectedTensor { name: name.clone() });
        }
        Ok(())
    }

    /// Checks the tensors of one layer (presence, shape, length, finite values) and returns
    /// their names.
    pub(crate) fn check_layer_tensors(
        &self,
        index: usize,
        layer: &LayerSpec,
    ) -> Result<Vec<String>, ModelError> {
        let kind = layer.kind_name();
        let mut names = Vec::new();
        for (_, name, expected) in layer.expected_tensors(index) {
            let tensor = self
                .tensors
                .get(&name)
                .ok_or_else(|| ModelError::MissingTensor {
                    index,
                    kind,
                    name: name.clone(),
                })?;
            check_tensor(index, kind, &name, tensor, &expected)?;
            names.push(name);
        }
        Ok(names)
    }
}

fn check_tensor(
    index: usize,
    kind: &'static str,
    name: &str,
    tensor: &TensorData,
    expected: &[usize],
) -> Result<(), ModelError> {
    if tensor.shape != expected {
        return Err(ModelError::TensorShape {
            index,
            kind,
            name: name.to_string(),
            found: tensor.shape.clone(),
            expected: expected.to_vec(),
        });
    }
    let count = expected.iter().fold(1usize, |n, &d| n.saturating_mul(d));
    if tensor.data.len() != count {
        return Err(ModelError::TensorLength {
            index,
            kind,
            name: name.to_string(),
            shape: tensor.shape.clone(),
            found: tensor.data.len(),
            expected: count,
        });
    }
    if let Some((position, &value)) = tensor.data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ModelError::NonFinite {
            index,
            kind,
            name: name.to_string(),
            position,
            value,
        });
    }
    Ok(())
}

fn field(field: &'static str, problem: String) -> ModelError {
    ModelError::Field { field, problem }
}

fn finite(name: &'static str, value: f64) -> Result<(), ModelError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(field(name, format!("must be finite, found {value}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::test_models::tiny_linear;

    #[test]
    fn the_tiny_model_is_valid() {
        tiny_linear(None, Some(vec![1.0, 2.0]), Some(vec![0.0, 1.0]))
            .validate()
            .unwrap();
    }

    #[test]
    fn version_is_checked_first() {
        let mut model = tiny_linear(None, None, None);
        model.description.format_version = 2;
        model.description.time_steps = 0;
        let err = model.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "model format version 2 is not supported (this build reads version 1)"
        );
    }

    #[test]
    fn threshold_must_be_positive_and_finite() {
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let mut model = tiny_linear(None, None, None);
            model.description.neuron.threshold = bad;
            let err = model.validate().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("neuron.threshold must be positive and finite, found {bad}")
            );
        }
    }

    #[test]
    fn decoding_weights_must_be_finite() {
        let mut model = tiny_linear(None, None, None);
        model.description.decoding.weights[2] = f32::NAN;
        let err = model.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "decoding.weights must be finite, found NaN at step 3"
        );
    }

    #[test]
    fn data_length_must_match_shape() {
        let mut model = tiny_linear(None, None, Some(vec![1.0, 2.0]));
        model
            .tensors
            .get_mut("layers.1.shift")
            .unwrap()
            .data
            .push(3.0);
        let err = model.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "layer 1 (linear): tensor layers.1.shift has 3 values, but its shape [2] holds 2"
        );
    }

    #[test]
    fn scale_tensor_without_affine_scale_is_unexpected() {
        let mut model = tiny_linear(None, Some(vec![1.0, 1.0]), None);
        if let LayerSpec::Linear { affine_scale, .. } = &mut model.description.layers[1] {
            *affine_scale = false;
        }
        let err = model.validate().unwrap_err();
        assert!(
            matches!(&err, ModelError::UnexpectedTensor { name } if name == "layers.1.scale"),
            "{err}"
        );
    }
}
