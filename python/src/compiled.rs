//! `ttfs.Compiled`: a chip configuration with the report of the compile that made it.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use ttfs_compiler::compile::Compiled;
use ttfs_runtime::target::Target;

use crate::errors::{Error, format_error};
use crate::pyjson::to_py;

/// A model compiled for a target: the configuration the chip loads (``config_bytes``,
/// ``save``) and what the compile reports (cores, synapses, quantization per layer, the float
/// against the golden model on the calibration images).
#[pyclass(name = "Compiled", module = "ttfs", frozen)]
pub struct PyCompiled {
    /// The passes' results.
    pub compiled: Compiled,
    /// The configuration, encoded.
    pub bytes: Vec<u8>,
    /// The target compiled for.
    pub target: Target,
    /// The model it was compiled from (named in reports).
    pub model: String,
}

impl PyCompiled {
    /// Encodes the configuration of `compiled`.
    ///
    /// # Errors
    /// `Error` if the configuration does not encode (a compiler bug).
    pub fn new(compiled: Compiled, target: Target, model: String) -> PyResult<PyCompiled> {
        let bytes = ttfs_runtime::config::encode(compiled.config())
            .map_err(|e| Error::new_err(format!("the configuration does not encode: {e}")))?;
        Ok(PyCompiled {
            compiled,
            bytes,
            target,
            model,
        })
    }
}

#[pymethods]
impl PyCompiled {
    /// The chip configuration as ``ttfs compile`` writes it.
    #[getter]
    fn config_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.bytes)
    }

    /// Writes the configuration to ``path`` (whole or not at all); ``ttfs run`` reads it.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        ttfs_runtime::atomic::write_atomic(&path, &self.bytes).map_err(|e| format_error(&e))
    }

    /// The target's name.
    #[getter]
    fn target(&self) -> &str {
        &self.target.name
    }

    /// Cores used.
    #[getter]
    fn cores(&self) -> usize {
        self.compiled.mapping.report.cores_used
    }

    /// Synapses stored, over all layers.
    #[getter]
    fn synapses(&self) -> usize {
        self.compiled
            .mapping
            .report
            .layers
            .iter()
            .map(|l| l.synapses)
            .sum()
    }

    /// Per layer: neurons, synapses, cores and what bounds them.
    #[getter]
    fn layers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.compiled.mapping.report.layers)
    }

    /// Per layer: what rounding to the target's bit widths did (scale, clipped weights,
    /// threshold).
    #[getter]
    fn quantization<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.compiled.quantized.report)
    }

    /// The float against the golden model on the calibration images, or ``None`` without them.
    #[getter]
    fn evaluation<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.compiled.evaluation)
    }

    /// The float model's accuracy on the calibration images, or ``None``.
    #[getter]
    fn float_accuracy(&self) -> Option<f64> {
        self.compiled.evaluation.as_ref().map(|e| e.float_accuracy)
    }

    /// The golden (integer) model's accuracy on the calibration images, or ``None``.
    #[getter]
    fn golden_accuracy(&self) -> Option<f64> {
        self.compiled.evaluation.as_ref().map(|e| e.golden_accuracy)
    }

    /// The compile report as a dict: what ``ttfs compile`` writes to ``.map.json`` after its
    /// file names (pass times, quantization, pool lowerings, evaluation, mapping).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.compiled.report())
    }

    fn __repr__(&self) -> String {
        format!(
            "Compiled('{}' for '{}': {} cores, {} bytes)",
            self.model,
            self.target.name,
            self.compiled.mapping.report.cores_used,
            self.bytes.len()
        )
    }
}
