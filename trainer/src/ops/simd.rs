//! The widest vector instructions the CPU has, chosen at run time, for the hot loops.
//!
//! The workspace builds for baseline x86-64 (SSE2, four `f32` lanes), so one binary runs on
//! any x86-64 machine. A kernel written inside [`wide_kernel!`](crate::ops::simd::wide_kernel)
//! is compiled twice, for the baseline and with AVX2 (eight lanes), and runs the AVX2 copy when
//! the CPU has it. Only the vector width changes: FMA is not enabled, and Rust never fuses or
//! reorders floating-point operations on its own, so both copies compute the same bits (the
//! tests run the copy this CPU picks and compare it with plain loops and with Candle).

/// Defines the function written inside it so that its body is compiled for the baseline and
/// for AVX2, and the AVX2 copy runs when this CPU has it:
///
/// ```ignore
/// wide_kernel! {
///     /// Adds `b` to `a`.
///     fn add(a: &mut [f32], b: &[f32]) {
///         a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
///     }
/// }
/// ```
///
/// The body may call other functions; those marked `#[inline(always)]` are compiled into each
/// copy, the others stay baseline code.
macro_rules! wide_kernel {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            /// The body, inlined into both copies.
            #[inline(always)]
            fn kernel($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                /// The body compiled with AVX2.
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    kernel($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    #[allow(unsafe_code)]
                    // SAFETY: `avx2` needs nothing but the AVX2 instructions, which this CPU
                    // has (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            kernel($($arg),*)
        }
    };
}
pub(crate) use wide_kernel;
