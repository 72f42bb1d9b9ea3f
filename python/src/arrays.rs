//! numpy arrays into the images and labels a compile or run takes, every wrong dtype, shape or
//! size refused in one line; and `ttfs.load_idx`, IDX files out as arrays.

use std::path::PathBuf;

use numpy::{PyArray1, PyArray3, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use ttfs_data::{Dataset, Split};

use crate::errors::{format_error, input_error};

/// Images checked against an input shape: the pixels, row-major, image after image.
pub struct Images {
    /// Every pixel of every image.
    pub pixels: Vec<u8>,
    /// Pixels per image (channels x rows x columns).
    pub per_image: usize,
    /// Images.
    pub count: usize,
}

impl Images {
    /// Image `i`'s pixels.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * self.per_image..(i + 1) * self.per_image]
    }

    /// The first `n` images (all if fewer), each as a slice.
    pub fn slices(&self, n: usize) -> Vec<&[u8]> {
        (0..n.min(self.count)).map(|i| self.image(i)).collect()
    }
}

/// The dtype of a numpy array (or the type of anything else), for messages.
fn dtype_of(value: &Bound<'_, PyAny>) -> String {
    value
        .getattr("dtype")
        .and_then(|d| d.str())
        .map(|s| format!("dtype {s}"))
        .or_else(|_| {
            value
                .get_type()
                .name()
                .map(|n| format!("a {n}, not a numpy array"))
        })
        .unwrap_or_else(|_| "something else".to_string())
}

/// `value` as images of `shape` (channels, rows, columns): a `uint8` array `[N, C, H, W]`, or
/// `[N, H, W]` where C is 1.
///
/// # Errors
/// `InputError` naming `what` (the argument), the dtype or shape found and the one expected.
pub fn images(value: &Bound<'_, PyAny>, shape: [usize; 3], what: &str) -> PyResult<Images> {
    let array = value.cast::<PyArrayDyn<u8>>().map_err(|_| {
        input_error(format!(
            "{what}: {}, expected a uint8 numpy array of grey levels 0-255 (e.g. \
             images.astype(numpy.uint8))",
            dtype_of(value)
        ))
    })?;
    let found = array.shape().to_vec();
    let [c, h, w] = shape;
    let fits = match found[..] {
        [_, fc, fh, fw] => [fc, fh, fw] == shape,
        [_, fh, fw] => c == 1 && [fh, fw] == [h, w],
        _ => false,
    };
    if !fits {
        return Err(input_error(format!(
            "{what}: shape {found:?}, expected [N, {c}, {h}, {w}]{} (the model's input is \
             {c} x {h} x {w}: channels, rows, columns)",
            if c == 1 {
                format!(" or [N, {h}, {w}]")
            } else {
                String::new()
            }
        )));
    }
    let count = found[0];
    if count == 0 {
        return Err(input_error(format!("{what}: no images (shape {found:?})")));
    }
    let pixels: Vec<u8> = array.readonly().as_array().iter().copied().collect();
    Ok(Images {
        pixels,
        per_image: c * h * w,
        count,
    })
}

/// `value` as `count` labels 0 to 255: a one-dimensional integer array.
///
/// # Errors
/// `InputError` for another dtype, dimension or length, or a label out of range.
pub fn labels(value: &Bound<'_, PyAny>, count: usize) -> PyResult<Vec<u8>> {
    let numpy = value.py().import("numpy")?;
    let is_array = value.is_instance(&numpy.getattr("ndarray")?)?;
    let integer = is_array
        && numpy
            .call_method1(
                "issubdtype",
                (value.getattr("dtype")?, numpy.getattr("integer")?),
            )?
            .is_truthy()?;
    if !integer {
        return Err(input_error(format!(
            "labels: {}, expected a one-dimensional integer numpy array",
            dtype_of(value)
        )));
    }
    let shape: Vec<usize> = value.getattr("shape")?.extract()?;
    if shape != [count] {
        return Err(input_error(format!(
            "labels: shape {shape:?}, expected [{count}] (one label per image)"
        )));
    }
    let wide: Vec<i64> = value.call_method1("astype", ("int64",))?.extract()?;
    wide.iter()
        .enumerate()
        .map(|(i, &l)| {
            u8::try_from(l)
                .map_err(|_| input_error(format!("labels[{i}] is {l}, expected 0 to 255")))
        })
        .collect()
}

/// Images `[N, rows, cols]` and labels `[N]`, as numpy arrays.
type SplitArrays<'py> = (Bound<'py, PyArray3<u8>>, Bound<'py, PyArray1<u8>>);

/// Reads a split of IDX files (MNIST's layout, optionally gzipped) as numpy arrays.
///
/// Parameters
/// ----------
/// folder : str or os.PathLike
///     The folder of the four IDX files (`train-`/`t10k-` `images-idx3-ubyte`,
///     `labels-idx1-ubyte`).
/// split : {"test", "train"}
///     Which pair to read.
///
/// Returns
/// -------
/// images : numpy.ndarray
///     `uint8`, shape `[N, rows, cols]`.
/// labels : numpy.ndarray
///     `uint8`, shape `[N]`.
#[pyfunction]
#[pyo3(signature = (folder, split = "test"))]
pub fn load_idx<'py>(py: Python<'py>, folder: PathBuf, split: &str) -> PyResult<SplitArrays<'py>> {
    let split = match split {
        "test" => Split::Test,
        "train" => Split::Train,
        other => {
            return Err(input_error(format!(
                "split '{other}': expected 'test' or 'train'"
            )));
        }
    };
    let data = py
        .detach(|| Dataset::load(&folder, split))
        .map_err(|e| format_error(&e))?;
    let (n, rows, cols) = (data.len(), data.rows, data.cols);
    let images = PyArray1::from_vec(py, data.images).reshape([n, rows, cols])?;
    Ok((images, PyArray1::from_vec(py, data.labels)))
}
