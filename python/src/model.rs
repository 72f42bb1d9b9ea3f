//! `ttfs.Model`: a trained network, from a model file written by `ttfs train`, a NIR file, or
//! an in-memory `nir.NIRGraph`; read by the same function as the CLI's (`ttfs_nir::read_model`).

use std::path::PathBuf;

use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use ttfs_compiler::compile::{Calibration, CompileError, CompileOptions, compile};
use ttfs_compiler::model::{Integrity, Model, TieBreak};
use ttfs_nir::import::InputChoice;
use ttfs_nir::{ImportOptions, read_model};
use ttfs_runtime::config::PoolLowering;

use crate::compiled::PyCompiled;
use crate::errors::{self, FitError, input_error};
use crate::pyjson::to_py;
use crate::target::PyTarget;

/// A trained network, ready to compile for a target.
///
/// Load one with ``Model.load(path)`` (a safetensors model or a NIR file) or
/// ``Model.from_nir(graph)``.
#[pyclass(name = "Model", module = "ttfs", frozen)]
pub struct PyModel {
    /// The model.
    pub model: Model,
    /// Where it came from (named in messages and reports).
    pub origin: String,
}

/// The import options the keyword arguments give, checked by the NIR crate's rule.
fn import_options(
    steps: Option<u32>,
    dt: f64,
    input: Option<&str>,
    levels: Option<u32>,
    tie_break: Option<&str>,
    dataset: Option<String>,
) -> PyResult<ImportOptions> {
    let input = match input {
        None => None,
        Some("latency") => Some(InputChoice::Latency),
        Some("thermometer") => Some(InputChoice::Thermometer),
        Some(other) => {
            return Err(input_error(format!(
                "input '{other}': expected 'latency' or 'thermometer'"
            )));
        }
    };
    let tie_break = match tie_break {
        None => None,
        Some("end") => Some(TieBreak::PotentialAtEnd),
        Some("decision") => Some(TieBreak::PotentialAtDecision),
        Some(other) => {
            return Err(input_error(format!(
                "tie_break '{other}': expected 'end' or 'decision'"
            )));
        }
    };
    ImportOptions::checked(steps, dt, input, levels, tie_break, dataset).map_err(input_error)
}

/// The pool lowering named `name`.
fn lowering_named(name: &str) -> PyResult<PoolLowering> {
    match name {
        "shared_axons" | "shared-axons" => Ok(PoolLowering::SharedAxons),
        "synapses" => Ok(PoolLowering::Synapses),
        other => Err(input_error(format!(
            "pool_lowering '{other}': expected 'shared_axons' or 'synapses'"
        ))),
    }
}

/// Reads `path` as the CLI does; the import's notes and a missing digest become warnings.
/// `origin` names the model in the warnings and reports (the path unless given).
fn read(
    py: Python<'_>,
    path: PathBuf,
    options: &ImportOptions,
    origin: Option<String>,
) -> PyResult<PyModel> {
    let shown = path.display().to_string();
    let origin = origin.unwrap_or_else(|| shown.clone());
    let file = read_model(&path, options)
        .map_err(|e| errors::FormatError::new_err(errors::line(&e).replace(&shown, &origin)))?;
    for note in &file.notes {
        PyErr::warn(
            py,
            &py.get_type::<PyUserWarning>(),
            &std::ffi::CString::new(format!("{origin}: {note}")).unwrap_or_default(),
            1,
        )?;
    }
    if file.integrity == Integrity::Unchecked {
        PyErr::warn(
            py,
            &py.get_type::<PyUserWarning>(),
            &std::ffi::CString::new(format!(
                "{origin}: the file carries no digest, so an edit to it cannot be detected"
            ))
            .unwrap_or_default(),
            1,
        )?;
    }
    Ok(PyModel {
        model: file.model,
        origin,
    })
}

#[pymethods]
impl PyModel {
    /// Reads a model file written by ``ttfs train`` (safetensors) or a NIR file.
    ///
    /// A NIR graph from another tool carries no TTFS settings: give at least ``steps``.
    /// What the import has to say (the source's neurons reset and fire on ``>``; the chip runs
    /// them single-spike on ``>=``) comes as a ``UserWarning``.
    ///
    /// Parameters
    /// ----------
    /// path : str or os.PathLike
    ///     The file.
    /// steps : int, optional
    ///     Time steps T per inference (NIR from another tool only; ``-T``).
    /// dt : float, default 1.0
    ///     The step a NIR step stands for; an IF neuron's ``r`` is multiplied by it.
    /// input : {"latency", "thermometer"}, optional
    ///     Input coding (default latency).
    /// levels : int, optional
    ///     Thermometer levels, 1 to 255 (default 4).
    /// tie_break : {"end", "decision"}, optional
    ///     Ties between output neurons broken by the potential after the last step or at the
    ///     decision step (default end).
    /// dataset : str, optional
    ///     The data set the model is for (default "mnist").
    ///
    /// Raises
    /// ------
    /// FormatError
    ///     Not a model file, or a NIR graph the chip cannot run (naming the node and why).
    /// InputError
    ///     A keyword argument out of range.
    #[staticmethod]
    #[pyo3(signature = (path, *, steps=None, dt=1.0, input=None, levels=None, tie_break=None, dataset=None))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        steps: Option<u32>,
        dt: f64,
        input: Option<&str>,
        levels: Option<u32>,
        tie_break: Option<&str>,
        dataset: Option<String>,
    ) -> PyResult<PyModel> {
        let options = import_options(steps, dt, input, levels, tie_break, dataset)?;
        read(py, path, &options, None)
    }

    /// Imports an in-memory ``nir.NIRGraph`` (needs the ``nir`` package): the graph is written
    /// with ``nir.write`` and read back by the same import as ``Model.load``.
    ///
    /// Parameters
    /// ----------
    /// graph : nir.NIRGraph
    ///     The graph.
    /// name : str, default "nir"
    ///     The model's name (its architecture in reports).
    /// steps, dt, input, levels, tie_break, dataset
    ///     As for ``Model.load``.
    #[staticmethod]
    #[pyo3(signature = (graph, *, name="nir", steps=None, dt=1.0, input=None, levels=None, tie_break=None, dataset=None))]
    #[allow(clippy::too_many_arguments)]
    fn from_nir(
        py: Python<'_>,
        graph: &Bound<'_, PyAny>,
        name: &str,
        steps: Option<u32>,
        dt: f64,
        input: Option<&str>,
        levels: Option<u32>,
        tie_break: Option<&str>,
        dataset: Option<String>,
    ) -> PyResult<PyModel> {
        let mut options = import_options(steps, dt, input, levels, tie_break, dataset)?;
        options.name = Some(name.to_string());
        let nir = py
            .import("nir")
            .map_err(|_| input_error("Model.from_nir needs the nir package (pip install nir)"))?;
        let dir = tempfile::tempdir()
            .map_err(|e| errors::Error::new_err(format!("no temporary folder: {e}")))?;
        let path = dir.path().join(format!("{name}.nir"));
        nir.call_method1("write", (path.clone(), graph))?;
        read(py, path, &options, Some(format!("<nir graph {name}>")))
    }

    /// The architecture's name.
    #[getter]
    fn arch(&self) -> &str {
        &self.model.description.arch
    }

    /// The data set the model is for.
    #[getter]
    fn dataset(&self) -> &str {
        &self.model.description.dataset
    }

    /// Time steps T per inference.
    #[getter]
    fn time_steps(&self) -> u32 {
        self.model.description.time_steps
    }

    /// The input shape ``[channels, rows, columns]``.
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        self.model.description.input.shape.clone()
    }

    /// The network's digest (as a configuration compiled from it records), in hex.
    #[getter]
    fn digest(&self) -> String {
        format!("{:016x}", self.model.digest())
    }

    /// The model's description as a dict (architecture, layers, neuron, decoding, training).
    fn description<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.model.description)
    }

    /// Compiles the model for a target: fold, quantize, map, check every hardware limit.
    ///
    /// The GIL is released while it runs.
    ///
    /// Parameters
    /// ----------
    /// target : Target
    ///     The chip.
    /// images : numpy.ndarray, optional
    ///     ``uint8`` test images ``[N, C, H, W]`` (or ``[N, H, W]``) to calibrate on: the float
    ///     and golden models are compared on the first ``limit`` of them and their firing
    ///     weighs the placement. Without images nothing is calibrated (``ttfs compile
    ///     --limit 0``).
    /// labels : numpy.ndarray, optional
    ///     One integer label per image; required with ``images``.
    /// limit : int, default 1000
    ///     Images to calibrate on, from the first; 0 skips calibration (``ttfs compile
    ///     --limit``).
    /// pool_lowering : {"shared_axons", "synapses"}
    ///     How average pools become part of the layer after them.
    ///
    /// Returns
    /// -------
    /// Compiled
    ///
    /// Raises
    /// ------
    /// FitError
    ///     The model does not fit the target (naming the layer and the limit).
    /// CompileError
    ///     The compiler refuses the model for another reason.
    /// InputError
    ///     Images or labels of the wrong dtype, shape or size.
    #[pyo3(signature = (target, images=None, labels=None, *, limit=1000, pool_lowering="shared_axons"))]
    fn compile(
        &self,
        py: Python<'_>,
        target: PyRef<'_, PyTarget>,
        images: Option<&Bound<'_, PyAny>>,
        labels: Option<&Bound<'_, PyAny>>,
        limit: usize,
        pool_lowering: &str,
    ) -> PyResult<PyCompiled> {
        let lowering = lowering_named(pool_lowering)?;
        let shape = self.shape()?;
        let calibration = match (images, labels) {
            (None, None) => None,
            (Some(images), Some(labels)) => {
                let images = crate::arrays::images(images, shape, "images")?;
                let labels = crate::arrays::labels(labels, images.count)?;
                Some((images, labels))
            }
            (Some(_), None) => {
                return Err(input_error(
                    "labels are needed with images (the float and golden models are scored \
                     on them)",
                ));
            }
            (None, Some(_)) => return Err(input_error("labels given without images")),
        };
        let target = target.target.clone();
        let model = &self.model;
        let compiled = py.detach(|| {
            let slices = calibration
                .as_ref()
                .filter(|_| limit > 0)
                .map(|(images, _)| images.slices(limit));
            let options = CompileOptions {
                pool_lowering: lowering,
                calibration: calibration.as_ref().zip(slices.as_ref()).map(
                    |((_, labels), slices)| Calibration {
                        shape,
                        images: slices,
                        labels: &labels[..slices.len()],
                    },
                ),
                observer: None,
            };
            compile(model, &target, &options)
        });
        let compiled = compiled.map_err(|e| match &e {
            CompileError::Map(_) => FitError::new_err(format!(
                "{} does not fit target \"{}\": {}",
                self.origin,
                target.name,
                errors::line(&e)
            )),
            _ => errors::CompileError::new_err(format!(
                "{} does not compile: {}",
                self.origin,
                errors::line(&e)
            )),
        })?;
        PyCompiled::new(compiled, target, self.origin.clone())
    }

    fn __repr__(&self) -> String {
        let d = &self.model.description;
        format!(
            "Model('{}': {} on {}, {} layers, T = {})",
            self.origin,
            d.arch,
            d.dataset,
            d.layers.len(),
            d.time_steps
        )
    }
}

impl PyModel {
    /// The model's input shape as `[C, H, W]`.
    ///
    /// # Errors
    /// `FormatError` if the model's input is not three-dimensional.
    pub fn shape(&self) -> PyResult<[usize; 3]> {
        <[usize; 3]>::try_from(self.model.description.input.shape.as_slice()).map_err(|_| {
            errors::FormatError::new_err(format!(
                "{}: the input shape {:?} is not [channels, rows, columns]",
                self.origin, self.model.description.input.shape
            ))
        })
    }
}
