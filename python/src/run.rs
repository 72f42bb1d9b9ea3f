//! `ttfs.run`: a configuration on the cycle-accurate emulator over numpy images, against the
//! golden model when asked; its `ttfs.RunReport` holds the per-inference figures as numpy
//! arrays and equals, as a dict, the CLI's `run.json`.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use numpy::PyArray1;
use pyo3::prelude::*;
use ttfs_compiler::crosscheck::GoldenReference;
use ttfs_compiler::ir::QuantNetwork;
use ttfs_runtime::batch::{Batch, BatchError, run_report};
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::decision::EarlyExit;
use ttfs_runtime::emulator::{Emulator, RunOptions};
use ttfs_runtime::report::{RunReport, Sources};
use ttfs_runtime::target::Target;

use crate::compiled::PyCompiled;
use crate::errors::{self, RunError, format_error, input_error};
use crate::model::PyModel;
use crate::off_gil::run_off_gil;
use crate::pyjson::to_py;
use crate::target::{PyTarget, shipped_for};

/// A configuration to run: from a `Compiled`, or read from a file.
struct Setup {
    config: ChipConfig,
    target: Target,
    name: String,
    /// The network it was compiled from, when it came from a `Compiled`.
    network: Option<QuantNetwork>,
}

/// The configuration `compiled` is (a `Compiled` or a path) and the target it runs on.
fn setup(compiled: &Bound<'_, PyAny>, target: Option<PyRef<'_, PyTarget>>) -> PyResult<Setup> {
    if let Ok(c) = compiled.cast::<PyCompiled>() {
        let c = c.get();
        return Ok(Setup {
            config: c.compiled.config().clone(),
            target: target.map_or_else(|| c.target.clone(), |t| t.target.clone()),
            name: format!("<{} compiled for {}>", c.model, c.target.name),
            network: Some(c.compiled.quantized.network.clone()),
        });
    }
    let path: PathBuf = compiled.extract().map_err(|_| {
        input_error(
            "compiled: expected a Compiled (from Model.compile) or the path of a configuration",
        )
    })?;
    let config = ttfs_runtime::config::read(&path).map_err(|e| format_error(&e))?;
    let target = match target {
        Some(t) => t.target.clone(),
        None => shipped_for(&config.target_name, config.target_hash, &path)?,
    };
    Ok(Setup {
        config,
        target,
        name: path.display().to_string(),
        network: None,
    })
}

/// Whether to stop at the first output spike, from ``early_exit`` (a bool, or the CLI's
/// `auto`, `on`, `off`, `anyway`) against the configuration's tie break.
fn early_exit(value: &Bound<'_, PyAny>, config: &ChipConfig) -> PyResult<bool> {
    let setting = if let Ok(on) = value.extract::<bool>() {
        if on { EarlyExit::On } else { EarlyExit::Off }
    } else {
        let name: String = value.extract().map_err(|_| {
            input_error("early_exit: expected a bool or one of 'auto', 'on', 'off', 'anyway'")
        })?;
        name.parse::<EarlyExit>()
            .map_err(|e| input_error(format!("early_exit: {e}")))?
    };
    setting
        .stops(config.decoding.tie_break)
        .map_err(|e| input_error(format!("early_exit: {e}")))
}

/// Runs a chip configuration on the cycle-accurate emulator.
///
/// The GIL is released while it runs; Ctrl-C stops it (``KeyboardInterrupt``).
///
/// Parameters
/// ----------
/// compiled : Compiled or str or os.PathLike
///     What ``Model.compile`` returned, or a configuration file written by ``ttfs compile``
///     or ``Compiled.save``.
/// images : numpy.ndarray
///     ``uint8`` images ``[N, C, H, W]`` (or ``[N, H, W]``) of the configuration's input shape.
/// labels : numpy.ndarray, optional
///     One integer label per image; without them ``accuracy`` is ``None``.
/// early_exit : bool or {"auto", "on", "off", "anyway"}, default False
///     Stop each inference at its first output spike; ``True`` (``"on"``) is refused where
///     that changes decisions.
/// golden : bool or Model, optional
///     Compare every inference, spike for spike, with the golden (integer) model: ``True``
///     takes the network ``compiled`` was compiled from; a ``Model`` is compiled for the
///     target and must be the one the configuration was compiled from.
/// target : Target, optional
///     The target to run on (default: the one compiled for; for a file, the shipped target
///     it names, with its hash).
/// threads : int, optional
///     Worker threads (default: one per core). The result is the same for any number.
///
/// Returns
/// -------
/// RunReport
///
/// Raises
/// ------
/// InputError
///     Images or labels of the wrong dtype, shape or size; an early exit that changes
///     decisions; ``golden=True`` without a ``Compiled``.
/// FormatError
///     A configuration file that does not decode.
/// RunError
///     The emulator refused the configuration on the target, or the golden model failed.
#[pyfunction]
#[pyo3(signature = (compiled, images, labels=None, *, early_exit=None, golden=None, target=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn run(
    py: Python<'_>,
    compiled: &Bound<'_, PyAny>,
    images: &Bound<'_, PyAny>,
    labels: Option<&Bound<'_, PyAny>>,
    early_exit: Option<&Bound<'_, PyAny>>,
    golden: Option<&Bound<'_, PyAny>>,
    target: Option<PyRef<'_, PyTarget>>,
    threads: Option<usize>,
) -> PyResult<PyRunReport> {
    let setup = setup(compiled, target)?;
    Emulator::new(&setup.config, &setup.target)
        .map_err(|e| RunError::new_err(format!("{}: {}", setup.name, errors::line(&e))))?;
    let early = match early_exit {
        Some(value) => self::early_exit(value, &setup.config)?,
        None => false,
    };
    let dims: Vec<usize> = setup
        .config
        .input
        .shape
        .iter()
        .map(|&d| d as usize)
        .collect();
    let shape = <[usize; 3]>::try_from(dims.as_slice()).map_err(|_| {
        errors::FormatError::new_err(format!(
            "{}: the input shape {dims:?} is not [channels, rows, columns]",
            setup.name
        ))
    })?;
    let images = crate::arrays::images(images, shape, "images")?;
    let labelled = labels.is_some();
    let labels = match labels {
        Some(l) => crate::arrays::labels(l, images.count)?,
        None => vec![0; images.count],
    };
    let (network, golden_name) = golden_network(py, golden, &setup)?;
    let reference = network.as_ref().map(|network| GoldenReference {
        network,
        config: &setup.config,
        early_exit: early,
    });
    let sources = Sources {
        config: setup.name.clone(),
        config_target: setup.config.target_name.clone(),
        target: setup.target.name.clone(),
        target_file: format!("<target {}>", setup.target.name),
        data: "<numpy array>".to_string(),
    };
    let report = run_off_gil(py, threads, |stop| {
        let slices = images.slices(images.count);
        let batch = Batch {
            images: &slices,
            labels: &labels,
            options: RunOptions { early_exit: early },
            first_image: 0,
        };
        let named = reference.as_ref().zip(golden_name.clone());
        run_report(&setup.config, &setup.target, batch, named, sources, &|| {
            if stop.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    })?;
    let report = report.map_err(|e| match e {
        BatchError::Labels { .. } => input_error(errors::line(&e)),
        _ => RunError::new_err(format!("{}: {}", setup.name, errors::line(&e))),
    })?;
    Ok(PyRunReport { report, labelled })
}

/// The golden model `golden` asks for, and the name the report gives it.
fn golden_network(
    py: Python<'_>,
    golden: Option<&Bound<'_, PyAny>>,
    setup: &Setup,
) -> PyResult<(Option<QuantNetwork>, Option<String>)> {
    let Some(golden) = golden.filter(|g| !g.is_none()) else {
        return Ok((None, None));
    };
    if let Ok(model) = golden.cast::<PyModel>() {
        let model = model.get();
        let network = py
            .detach(|| {
                ttfs_compiler::crosscheck::prepare(&model.model, &setup.config, &setup.target)
            })
            .map_err(|e| input_error(format!("golden: {}: {}", model.origin, errors::line(&e))))?;
        return Ok((Some(network), Some(model.origin.clone())));
    }
    match golden.extract::<bool>() {
        Ok(false) => Ok((None, None)),
        Ok(true) => match &setup.network {
            Some(network) => Ok((Some(network.clone()), Some(setup.name.clone()))),
            None => Err(input_error(
                "golden=True needs a Compiled (a configuration file does not hold the network \
                 it came from): pass golden=Model.load(...)",
            )),
        },
        Err(_) => Err(input_error("golden: expected a bool or a Model")),
    }
}

/// What a run measured: accuracy, energy and latency per inference, the counters, the
/// single-spike verdict and the golden comparison. Per-inference figures are numpy arrays.
#[pyclass(name = "RunReport", module = "ttfs", frozen)]
pub struct PyRunReport {
    report: RunReport,
    labelled: bool,
}

#[pymethods]
impl PyRunReport {
    /// Images run.
    #[getter]
    fn images(&self) -> usize {
        self.report.images
    }

    /// Correct decisions over images, or ``None`` without labels.
    #[getter]
    fn accuracy(&self) -> Option<f64> {
        self.labelled.then_some(self.report.accuracy)
    }

    /// Correct decisions, or ``None`` without labels.
    #[getter]
    fn correct(&self) -> Option<usize> {
        self.labelled.then_some(self.report.correct)
    }

    /// Time steps T.
    #[getter]
    fn time_steps(&self) -> u32 {
        self.report.time_steps
    }

    /// Whether each inference stopped at its first output spike.
    #[getter]
    fn early_exit(&self) -> bool {
        self.report.early_exit
    }

    /// Mean energy per inference, nJ.
    #[getter]
    fn energy_nj(&self) -> f64 {
        self.report.energy.total_nj
    }

    /// Mean energy per inference by cause, pJ: ``{cause: pJ}``.
    #[getter]
    fn energy_breakdown<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let parts = to_py(py, &self.report.energy.breakdown)?;
        let dict = pyo3::types::PyDict::new(py);
        for part in parts.try_iter()? {
            let part = part?;
            dict.set_item(part.get_item("name")?, part.get_item("pj")?)?;
        }
        Ok(dict.into_any())
    }

    /// Latency per inference: cycles and microseconds (mean, p50, p99, min, max), the clock,
    /// the mean decision step.
    #[getter]
    fn latency<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.latency)
    }

    /// Counter means per inference (synaptic ops, neuron updates, packets, ...).
    #[getter]
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.counters)
    }

    /// Per layer: spikes, firing, synaptic ops.
    #[getter]
    fn layers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.layers)
    }

    /// The same network as a conventional ANN: MACs and their energy.
    #[getter]
    fn ann<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.ann)
    }

    /// The single-spike verdict: whether every neuron fired at most once.
    #[getter]
    fn single_spike<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.single_spike)
    }

    /// The golden comparison (compared, spikes equal, decisions equal, first difference), or
    /// ``None``.
    #[getter]
    fn golden<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.golden)
    }

    /// Whether every inference's spikes equalled the golden model's; ``None`` without one.
    #[getter]
    fn golden_equal(&self) -> Option<bool> {
        self.report
            .golden
            .as_ref()
            .map(|g| g.spikes_equal == g.compared && g.decisions_equal == g.compared)
    }

    /// Wall-clock figures of the run (threads, seconds, inferences per second).
    #[getter]
    fn timing<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.timing)
    }

    /// Per inference: the decided class (``int64``).
    #[getter]
    fn decision<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let v = &self.report.per_inference.decision;
        PyArray1::from_vec(py, v.iter().map(|&d| d as i64).collect())
    }

    /// Per inference: the step of the first output spike, -1 where none came (``int64``).
    #[getter]
    fn decision_step<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let v = &self.report.per_inference.decision_step;
        PyArray1::from_vec(py, v.iter().map(|s| s.map_or(-1, i64::from)).collect())
    }

    /// Per inference: latency in clock cycles (``uint64``).
    #[getter]
    fn latency_cycles<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_slice(py, &self.report.per_inference.cycles)
    }

    /// Per inference: energy in pJ (``float64``).
    #[getter]
    fn energy_pj<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.report.per_inference.energy_pj)
    }

    /// Per inference: the label given (``uint8``; zeros without labels).
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        PyArray1::from_slice(py, &self.report.per_inference.label)
    }

    /// The report as a dict, key for key what ``ttfs run`` writes to ``run.json`` (the
    /// ``sources`` name the Python inputs).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report)
    }

    fn __repr__(&self) -> String {
        let r = &self.report;
        format!(
            "RunReport({} images{}, {:.1} nJ and {:.2} us per inference)",
            r.images,
            if self.labelled {
                format!(", {:.2}% correct", 100.0 * r.accuracy)
            } else {
                String::new()
            },
            r.energy.total_nj,
            r.latency.microseconds.mean
        )
    }
}
