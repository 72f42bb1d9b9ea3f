//! `import ttfs`: the compiler and the cycle-accurate emulator from Python, numpy in and out.
//!
//! The module calls the same library functions as the `ttfs` CLI (never the binary): a model
//! is read by `ttfs_nir::read_model`, compiled by `ttfs_compiler::compile::compile`, run by
//! `ttfs_runtime::batch::run_report` against `ttfs_compiler::crosscheck`'s golden model.
//! Errors are Python exceptions ([`errors`]) carrying the CLI's one-line message.
//!
//! - [`target`]: `ttfs.Target`, shipped targets by name or a JSON file.
//! - [`model`]: `ttfs.Model`, from a model file, a NIR file or an in-memory `nir.NIRGraph`.
//! - [`compiled`]: `ttfs.Compiled`, a configuration with its compile report.
//! - [`run`]: `ttfs.run` and its `ttfs.RunReport`.
//! - [`explore`]: `ttfs.explore`, models x targets with the Pareto marks.
//! - [`arrays`]: numpy arrays checked into images and labels.
//! - [`off_gil`]: long calls without the GIL, on `threads` workers, stopped by Ctrl-C.

mod arrays;
mod compiled;
mod errors;
mod explore;
mod model;
mod off_gil;
mod pyjson;
mod run;
mod target;

use pyo3::prelude::*;

/// The extension module `ttfs._ttfs`; the `ttfs` package re-exports it.
#[pymodule]
fn _ttfs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("FormatError", py.get_type::<errors::FormatError>())?;
    m.add("FitError", py.get_type::<errors::FitError>())?;
    m.add("CompileError", py.get_type::<errors::CompileError>())?;
    m.add("InputError", py.get_type::<errors::InputError>())?;
    m.add("RunError", py.get_type::<errors::RunError>())?;
    m.add_class::<target::PyTarget>()?;
    m.add_class::<model::PyModel>()?;
    m.add_class::<compiled::PyCompiled>()?;
    m.add_class::<run::PyRunReport>()?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(explore::explore, m)?)?;
    m.add_function(wrap_pyfunction!(arrays::load_idx, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
