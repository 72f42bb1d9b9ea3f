//! Access to the data of Candle CPU tensors, shared by the custom ops.

use std::cell::RefCell;

use candle_core::{CpuStorage, InplaceOp1, Layout, Result, Storage, Tensor};

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

/// Runs `f` on the `f32` values of a contiguous CPU tensor, borrowed mutably: the values are
/// changed in place, for every tensor that shares the storage (as [`candle_core::Var::set`]
/// would, without its copy). `op` and `what` name the operation and the tensor in the error.
pub fn with_data_mut<R>(
    t: &Tensor,
    op: &'static str,
    what: &str,
    f: impl FnOnce(&mut [f32]) -> R,
) -> Result<R> {
    let in_place = InPlace {
        op,
        what,
        f: RefCell::new(Some(f)),
        out: RefCell::new(None),
    };
    t.inplace_op1(&in_place)?;
    in_place
        .out
        .into_inner()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op}: {what} was not visited")))
}

/// The in-place op behind [`with_data_mut`]: calls its closure once on the storage.
struct InPlace<'a, F, R> {
    op: &'static str,
    what: &'a str,
    f: RefCell<Option<F>>,
    out: RefCell<Option<R>>,
}

impl<F: FnOnce(&mut [f32]) -> R, R> InplaceOp1 for InPlace<'_, F, R> {
    fn name(&self) -> &'static str {
        self.op
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let (op, what) = (self.op, self.what);
        let data = match storage {
            CpuStorage::F32(d) => d,
            _ => candle_core::bail!("{op}: {what} must be f32"),
        };
        let Some((a, b)) = layout.contiguous_offsets() else {
            candle_core::bail!("{op}: {what} must be contiguous");
        };
        let Some(f) = self.f.borrow_mut().take() else {
            candle_core::bail!("{op}: {what} visited twice");
        };
        *self.out.borrow_mut() = Some(f(&mut data[a..b]));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn in_place_changes_reach_every_tensor_sharing_the_storage_and_odd_layouts_are_refused() {
        let t = Tensor::new(&[[1f32, 2.], [3., 4.]], &Device::Cpu).unwrap();
        let shared = t.clone();
        let sum = with_data_mut(&t, "test", "t", |d| {
            d[3] = 10.0;
            d.iter().sum::<f32>()
        })
        .unwrap();
        assert_eq!(sum, 16.0);
        assert_eq!(shared.to_vec2::<f32>().unwrap(), [[1., 2.], [3., 10.]]);
        let err = with_data_mut(&t.t().unwrap(), "test", "t", |_| ()).unwrap_err();
        assert!(
            err.to_string().contains("test: t must be contiguous"),
            "{err}"
        );
        let bytes = Tensor::zeros(3, DType::U8, &Device::Cpu).unwrap();
        let err = with_data_mut(&bytes, "test", "b", |_| ()).unwrap_err();
        assert!(err.to_string().contains("test: b must be f32"), "{err}");
    }
}
