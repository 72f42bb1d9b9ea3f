//! Pruning's fractions: one for every hidden-input layer, or one per layer, each checked.

use super::{ConfigError, invalid};

/// How much of each hidden-input layer (every weighted layer but the output one) pruning
/// removes: one fraction for all of them, or one per layer in order (`--prune 0,0.5,0.8`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Prune {
    /// The same fraction, above 0 and below 1, in every hidden-input layer.
    All(f32),
    /// One fraction per hidden-input layer, each at least 0 and below 1 (0 keeps the layer
    /// whole).
    PerLayer(Vec<f32>),
}

impl Prune {
    /// Reads `--prune`'s value: one fraction, or several separated by commas.
    ///
    /// # Errors
    /// A sentence naming the part that is not a number.
    pub fn parse(text: &str) -> Result<Prune, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let mut values = Vec::with_capacity(parts.len());
        for part in &parts {
            values.push(part.parse::<f32>().map_err(|_| {
                format!("'{part}' is not a fraction (e.g. 0.5, or 0,0.5,0.8 per layer)")
            })?);
        }
        Ok(match values.as_slice() {
            [one] => Prune::All(*one),
            _ => Prune::PerLayer(values),
        })
    }

    /// The fractions for `layers` hidden-input layers, in order.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when a per-layer list does not have one fraction per layer.
    pub fn fractions(&self, layers: usize) -> Result<Vec<f32>, ConfigError> {
        match self {
            Prune::All(f) => Ok(vec![*f; layers]),
            Prune::PerLayer(v) if v.len() == layers => Ok(v.clone()),
            Prune::PerLayer(v) => Err(invalid(
                "--prune",
                format!(
                    "lists {} fractions but the network has {layers} hidden-input layers (every \
                     weighted layer but the output one)",
                    v.len()
                ),
            )),
        }
    }

    /// Checks every fraction's range.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Prune::All(f) if !(*f > 0.0 && *f < 1.0) => Err(invalid(
                "--prune",
                format!("is the fraction of weights to remove, above 0 and below 1, got {f}"),
            )),
            Prune::PerLayer(v) => {
                if let Some(f) = v.iter().find(|f| !(**f >= 0.0 && **f < 1.0)) {
                    return Err(invalid(
                        "--prune",
                        format!("takes per-layer fractions of at least 0 and below 1, got {f}"),
                    ));
                }
                if v.iter().all(|f| *f == 0.0) {
                    return Err(invalid("--prune", "removes nothing: every fraction is 0"));
                }
                Ok(())
            }
            Prune::All(_) => Ok(()),
        }
    }
}

impl std::fmt::Display for Prune {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prune::All(x) => write!(f, "{x}"),
            Prune::PerLayer(v) => {
                let parts: Vec<String> = v.iter().map(f32::to_string).collect();
                write!(f, "{}", parts.join(","))
            }
        }
    }
}
