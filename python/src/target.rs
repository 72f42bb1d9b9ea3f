//! `ttfs.Target`: a chip description, by a shipped target's name or from a JSON file. The
//! shipped descriptions are built into the package (the same files as `fixtures/targets/`), so
//! an installed package needs no clone beside it.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use ttfs_runtime::target::{Target, load, parse};

use crate::errors::{format_error, input_error};
use crate::pyjson::to_py;

/// The shipped targets: name and JSON text, sorted by name.
const SHIPPED: [(&str, &str); 6] = [
    ("akida", include_str!("../../fixtures/targets/akida.json")),
    ("loihi", include_str!("../../fixtures/targets/loihi.json")),
    ("speck", include_str!("../../fixtures/targets/speck.json")),
    ("tiny", include_str!("../../fixtures/targets/tiny.json")),
    (
        "truenorth",
        include_str!("../../fixtures/targets/truenorth.json"),
    ),
    ("xylo", include_str!("../../fixtures/targets/xylo.json")),
];

/// The shipped target `name`, if there is one.
pub fn shipped(name: &str) -> Option<PyResult<Target>> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(n, text)| {
        parse(text, &format!("shipped target \"{n}\"")).map_err(|e| format_error(&e))
    })
}

/// The names of the shipped targets, comma-separated (for messages).
pub fn shipped_names() -> String {
    SHIPPED.map(|(n, _)| n).join(", ")
}

/// A chip: its mesh of cores, what one core holds, the neuron circuit, the timing and the
/// energy of each operation.
///
/// Load one with ``Target.load("loihi")`` or ``Target.load("my-chip.json")``.
#[pyclass(name = "Target", module = "ttfs", frozen)]
pub struct PyTarget {
    /// The description, validated.
    pub target: Target,
}

#[pymethods]
impl PyTarget {
    /// Loads a target.
    ///
    /// Parameters
    /// ----------
    /// name_or_path : str or os.PathLike
    ///     A JSON target description, or the name of a shipped target
    ///     (see ``Target.shipped()``).
    ///
    /// Raises
    /// ------
    /// FormatError
    ///     The file is not a valid target description (naming the field and its limit).
    /// InputError
    ///     Neither a file nor a shipped target's name.
    #[staticmethod]
    fn load(name_or_path: PathBuf) -> PyResult<PyTarget> {
        let target = if name_or_path.exists() {
            load(&name_or_path).map_err(|e| format_error(&e))?
        } else {
            let arg = name_or_path.to_string_lossy();
            match shipped(&arg).filter(|_| !arg.contains(['/', '.'])) {
                Some(target) => target?,
                None => {
                    return Err(input_error(format!(
                        "target '{arg}' is neither a file nor a shipped target; shipped \
                         targets: {}",
                        shipped_names()
                    )));
                }
            }
        };
        Ok(PyTarget { target })
    }

    /// The names of the shipped targets.
    #[staticmethod]
    fn shipped() -> Vec<&'static str> {
        SHIPPED.map(|(n, _)| n).to_vec()
    }

    /// Short name, e.g. ``"loihi"``.
    #[getter]
    fn name(&self) -> &str {
        &self.target.name
    }

    /// What the target models and which numbers are assumptions.
    #[getter]
    fn description(&self) -> &str {
        &self.target.description
    }

    /// Where the numbers come from.
    #[getter]
    fn sources(&self) -> Vec<String> {
        self.target.sources.clone()
    }

    /// Cores on the mesh.
    #[getter]
    fn cores(&self) -> u64 {
        self.target.cores()
    }

    /// The hash a configuration compiled for this target records.
    #[getter]
    fn hash(&self) -> u64 {
        self.target.hash()
    }

    /// The mesh: ``{"cols", "rows"}``.
    #[getter]
    fn mesh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.target.mesh)
    }

    /// What one core holds: neurons, axons, synapses, weight and other bit widths.
    #[getter]
    fn core<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.target.core)
    }

    /// What the neuron circuit supports.
    #[getter]
    fn neuron<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.target.neuron)
    }

    /// Latency of each operation in clock cycles, and the clock.
    #[getter]
    fn timing_cycles<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.target.timing_cycles)
    }

    /// Energy of each operation in picojoules, and the static power.
    #[getter]
    fn energy_pj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.target.energy_pj)
    }

    /// The whole description as a dict (the JSON file's fields).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.target)
    }

    fn __repr__(&self) -> String {
        format!(
            "Target('{}': {} x {} cores, {}-bit weights)",
            self.target.name,
            self.target.mesh.cols,
            self.target.mesh.rows,
            self.target.core.weight_bits
        )
    }
}

/// The target a configuration names, shipped and with the hash it was compiled for.
///
/// # Errors
/// `InputError` saying why it cannot be used and to pass ``target=``.
pub fn shipped_for(name: &str, hash: u64, config: &Path) -> PyResult<Target> {
    let target = shipped(name).ok_or_else(|| {
        input_error(format!(
            "{}: the configuration's target \"{name}\" is not a shipped one (shipped: {}); \
             pass target=",
            config.display(),
            shipped_names()
        ))
    })??;
    if target.hash() != hash {
        return Err(input_error(format!(
            "{}: the shipped target \"{name}\" has hash {:016x}, not the configuration's \
             {hash:016x} (it was compiled for another description of that name); pass target=",
            config.display(),
            target.hash()
        )));
    }
    Ok(target)
}
