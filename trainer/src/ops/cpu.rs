//! Access to the data of Candle CPU tensors, shared by the custom ops.

use candle_core::{CpuStorage, Layout, Result, Storage, Tensor};

/// The `f32` values of a contiguous CPU storage; `op` and `what` name the op and the operand
/// in the error ("sparse linear: weight must be contiguous").
pub fn f32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
    what: &str,
) -> Result<&'a [f32]> {
    let data = match storage {
        CpuStorage::F32(d) => d,
        _ => candle_core::bail!("{op}: {what} must be f32"),
    };
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("{op}: {what} must be contiguous"),
    }
}

/// Runs `f` on the `f32` values of a CPU tensor, borrowed without a copy when the tensor is
/// contiguous; `op` and `what` name the op and the operand in the error.
pub fn with_data<R>(t: &Tensor, op: &str, what: &str, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => Ok(f(f32_slice(s, layout, op, what)?)),
        _ => candle_core::bail!("{op}: {what} must be on the CPU"),
    }
}
