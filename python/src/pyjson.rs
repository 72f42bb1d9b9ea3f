//! Rust values out to Python through their JSON form, so a dict from `to_dict()` holds exactly
//! what the CLI's JSON files hold.

use pyo3::prelude::*;
use serde::Serialize;

/// `value` as the Python object `json.loads` makes of its JSON.
pub fn to_py<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| crate::errors::Error::new_err(format!("could not serialize: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}
