//! The widest vector instructions the CPU has, chosen at run time, for the hot loops.
//!
//! The workspace builds for baseline x86-64 (SSE2, four `f32` lanes), so one binary runs on
//! any x86-64 machine. [`wide_kernel!`](crate::ops::simd::wide_kernel) defines a function that
//! runs a kernel compiled a second time with AVX2 (eight lanes) when the CPU has it. Only the
//! vector width changes: FMA is not enabled, and Rust never fuses or reorders floating-point
//! operations on its own, so both copies compute the same bits (the tests run the copy this
//! CPU picks and compare it with plain loops and with Candle).
//!
//! A kernel takes part by being `#[inline(always)]`: inlined into the AVX2 copy, it is
//! compiled for AVX2 there.

/// Defines `fn name(args) -> R` that runs the `#[inline(always)]` function `kernel(args)`,
/// compiled for AVX2 when this CPU has it and for the baseline otherwise:
///
/// ```ignore
/// wide_kernel!(fn add_wide(a: &mut [f32], b: &[f32]) = add);
/// ```
macro_rules! wide_kernel {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $kernel:path) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                /// The kernel compiled with AVX2.
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $kernel($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    #[allow(unsafe_code)]
                    // SAFETY: `avx2` needs nothing but the AVX2 instructions, which this CPU
                    // has (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $kernel($($arg),*)
        }
    };
}
pub(crate) use wide_kernel;
