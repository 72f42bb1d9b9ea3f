//! The exceptions of the package. Every one carries one line naming the file, field, node or
//! layer and the limit, the same line the CLI prints after `error:`.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    ttfs,
    Error,
    PyException,
    "Every error ttfs raises: one line naming the file, field, node or layer and the limit."
);
create_exception!(
    ttfs,
    FormatError,
    Error,
    "A file or bytes that are not what they should be: a model, a NIR graph, a target, a configuration."
);
create_exception!(
    ttfs,
    FitError,
    Error,
    "A model that does not fit a target (cores, synapses, fan-in, bit widths)."
);
create_exception!(
    ttfs,
    CompileError,
    Error,
    "A model the compiler refuses for a reason other than fit."
);
create_exception!(
    ttfs,
    InputError,
    Error,
    "An argument of the wrong type, dtype, shape, size or value."
);
create_exception!(
    ttfs,
    RunError,
    Error,
    "A run the emulator or the golden model refused."
);

/// An error and its causes in one line, each cause once (the CLI's `error:` line).
pub fn line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

/// A `FormatError` with `err`'s line.
pub fn format_error(err: &(dyn std::error::Error + 'static)) -> PyErr {
    FormatError::new_err(line(err))
}

/// An `InputError` saying `what`.
pub fn input_error(what: impl Into<String>) -> PyErr {
    InputError::new_err(what.into())
}
