//! `ttfs.explore`: every model on every target, compiled, run against its golden model, and
//! marked by the runtime's Pareto rule, as `ttfs explore` does.

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use ttfs_compiler::compile::{Calibration, CompileOptions, compile};
use ttfs_compiler::crosscheck::GoldenReference;
use ttfs_runtime::batch::{Batch, run_report};
use ttfs_runtime::emulator::RunOptions;
use ttfs_runtime::report::pareto::dominated;
use ttfs_runtime::report::{RunReport, Sources};

use crate::errors::{self, input_error};
use crate::model::PyModel;
use crate::off_gil::run_off_gil;
use crate::target::PyTarget;

/// One point: figures, or the compiler's refusal.
enum Outcome {
    Ran(Box<RunReport>, usize),
    Refused(String),
}

/// Explores the design space: each model compiled for each target (calibrated on the images)
/// and run on the emulator against its golden model.
///
/// The GIL is released while it runs; Ctrl-C stops it (``KeyboardInterrupt``).
///
/// Parameters
/// ----------
/// models : list of Model
///     The models.
/// targets : list of Target
///     The targets.
/// images : numpy.ndarray
///     ``uint8`` test images ``[N, C, H, W]`` (or ``[N, H, W]``), every model's input shape.
/// labels : numpy.ndarray
///     One integer label per image.
/// limit : int, default 1000
///     Images to calibrate on and run, from the first (0: all).
/// threads : int, optional
///     Worker threads (default: one per core).
///
/// Returns
/// -------
/// list of dict
///     One per model and target, in that order, with the keys of ``ttfs explore``'s
///     ``explore.json`` points: ``model``, ``target``, ``early_exit``, ``refused`` (the
///     compiler's reason, or ``None``), ``accuracy``, ``energy_nj``, ``ann_nj``,
///     ``sparse_ann_nj``, ``latency_us``, ``steps_run``, ``synaptic_ops``,
///     ``neuron_updates``, ``cores``, ``golden_equal`` and ``dominated`` (another fitting
///     point is at least as accurate and at most as costly, and better in one).
#[pyfunction]
#[pyo3(signature = (models, targets, images, labels, *, limit=1000, threads=None))]
pub fn explore<'py>(
    py: Python<'py>,
    models: Vec<PyRef<'py, PyModel>>,
    targets: Vec<PyRef<'py, PyTarget>>,
    images: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    limit: usize,
    threads: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    if models.is_empty() || targets.is_empty() {
        return Err(input_error(
            "explore needs at least one model and one target",
        ));
    }
    let shape = models[0].shape()?;
    if let Some(other) = models
        .iter()
        .find(|m| m.model.description.input.shape != shape)
    {
        return Err(input_error(format!(
            "{}: input shape {:?}, but {} has {shape:?}: explore models of one input",
            other.origin, other.model.description.input.shape, models[0].origin
        )));
    }
    let images = crate::arrays::images(images, shape, "images")?;
    let labels = crate::arrays::labels(labels, images.count)?;
    let n = if limit == 0 {
        images.count
    } else {
        limit.min(images.count)
    };
    let pairs: Vec<(&PyModel, &PyTarget)> = models
        .iter()
        .flat_map(|m| targets.iter().map(move |t| (&**m, &**t)))
        .collect();
    let outcomes = run_off_gil(py, threads, |stop| {
        let slices = images.slices(n);
        let labels = &labels[..n];
        let mut outcomes = Vec::with_capacity(pairs.len());
        for (model, target) in &pairs {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let target = &target.target;
            let options = CompileOptions {
                calibration: Some(Calibration {
                    shape,
                    images: &slices,
                    labels,
                }),
                ..CompileOptions::default()
            };
            let compiled = match compile(&model.model, target, &options) {
                Ok(c) => c,
                // Any refusal is a point without figures, as in `ttfs explore`.
                Err(e) => {
                    outcomes.push(Ok(Outcome::Refused(errors::line(&e))));
                    continue;
                }
            };
            let config = compiled.config();
            let reference = GoldenReference {
                network: &compiled.quantized.network,
                config,
                early_exit: false,
            };
            let batch = Batch {
                images: &slices,
                labels,
                options: RunOptions { early_exit: false },
                first_image: 0,
            };
            let sources = Sources {
                config: format!("<{} compiled for {}>", model.origin, target.name),
                config_target: target.name.clone(),
                target: target.name.clone(),
                target_file: format!("<target {}>", target.name),
                data: "<numpy array>".to_string(),
            };
            let report = run_report(
                config,
                target,
                batch,
                Some((&reference, model.origin.clone())),
                sources,
                &|| {
                    if stop.load(Ordering::Relaxed) {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            );
            match report {
                Ok(r) => outcomes.push(Ok(Outcome::Ran(
                    Box::new(r),
                    compiled.mapping.report.cores_used,
                ))),
                Err(e) => {
                    outcomes.push(Err(format!("{}: {}", model.origin, errors::line(&e))));
                    break;
                }
            }
        }
        outcomes
    })?;
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(errors::RunError::new_err)?;
    let scores: Vec<Option<(f64, f64)>> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Ran(r, _) => Some((r.accuracy, r.energy.total_nj)),
            Outcome::Refused(_) => None,
        })
        .collect();
    let marks = dominated(&scores);
    let mut points = Vec::with_capacity(outcomes.len());
    for (((model, target), outcome), dominated) in pairs.iter().zip(&outcomes).zip(marks) {
        let p = PyDict::new(py);
        p.set_item("model", &model.origin)?;
        p.set_item("target", &target.target.name)?;
        p.set_item("early_exit", false)?;
        match outcome {
            Outcome::Refused(why) => {
                p.set_item("refused", why)?;
                for key in [
                    "accuracy",
                    "energy_nj",
                    "ann_nj",
                    "sparse_ann_nj",
                    "latency_us",
                    "steps_run",
                    "synaptic_ops",
                    "neuron_updates",
                    "cores",
                    "golden_equal",
                ] {
                    p.set_item(key, py.None())?;
                }
            }
            Outcome::Ran(r, cores) => {
                p.set_item("refused", py.None())?;
                p.set_item("accuracy", r.accuracy)?;
                p.set_item("energy_nj", r.energy.total_nj)?;
                p.set_item("ann_nj", r.ann.ann_pj.map(|pj| pj / 1000.0))?;
                p.set_item("sparse_ann_nj", r.ann.sparse_ann_pj.map(|pj| pj / 1000.0))?;
                p.set_item("latency_us", r.latency.microseconds.mean)?;
                p.set_item("steps_run", r.latency.steps_run_mean)?;
                p.set_item("synaptic_ops", r.counters.synaptic_ops)?;
                p.set_item("neuron_updates", r.counters.neuron_updates)?;
                p.set_item("cores", cores)?;
                p.set_item(
                    "golden_equal",
                    r.golden
                        .as_ref()
                        .map(|g| format!("{} of {}", g.spikes_equal, g.compared)),
                )?;
            }
        }
        p.set_item("dominated", dominated)?;
        points.push(p);
    }
    Ok(points)
}
