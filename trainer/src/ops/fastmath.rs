//! An `exp` for `f32` that the compiler can vectorise, for the surrogate gradient.
//!
//! The backward scan evaluates the sigmoid surrogate's derivative at every step of every neuron
//! that has not fired: millions of `exp` calls per training step. `f32::exp` is a call into the
//! C library, one value at a time, so a loop around it stays scalar. [`exp`] is Cephes' `expf`
//! (range reduction by `ln 2`, a degree-6 polynomial, the exponent put back by bit arithmetic)
//! written with plain arithmetic and no branches, so a loop over lanes becomes SIMD code. It is
//! within 2 ulp of `f32::exp` over the whole range (tested).

/// `log2(e)`.
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in two parts whose sum is more precise than one `f32` (Cephes' C1 and C2).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Arguments are clamped to where `e^x` is a normal, finite `f32`.
const MAX_ARG: f32 = 88.376_26;
const MIN_ARG: f32 = -87.336_55;
/// `1.5 * 2^23`: adding and subtracting it rounds an `f32` to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// `2^23 + 127`: an integer `n` in `[-126, 127]` added to it is `2^23 + (n + 127)`, whose low
/// mantissa bits are the biased exponent of `2^n`.
const EXPONENT_MAGIC: f32 = 8_388_735.0;

/// `e^x`, within 2 ulp of `f32::exp` for `x` in `[-87.3, 88.3]`; clamped outside that range
/// (so it never returns infinity or zero). Branch-free, so loops over it vectorise.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(MIN_ARG, MAX_ARG);
    // n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2].
    let n = (x * LOG2_E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let z = r * r;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * z
        + r
        + 1.0;
    // 2^n from its exponent bits; n is in [-126, 127] after the clamp. Adding 2^23 + 127
    // leaves the biased exponent n + 127 (exact) in the low mantissa bits, and the shift puts
    // it in the exponent field: the bits of `(n as i32 + 127) << 23`, without the saturating
    // float-to-integer cast that keeps a loop scalar.
    let scale = f32::from_bits((n + EXPONENT_MAGIC).to_bits() << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn within_two_ulp_of_std_exp_over_the_normal_range() {
        let mut worst = 0;
        let mut x = -87.0f32;
        while x < 88.0 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 0.000_731;
        }
        for x in [
            0.0f32, -0.0, 1.0, -1.0, 1e-8, -1e-8, 0.346, -0.346, 0.347, -0.347,
        ] {
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2, "worst error {worst} ulp");
    }

    #[test]
    fn clamps_instead_of_overflowing() {
        assert!(exp(1000.0).is_finite() && exp(1000.0) > 1e38);
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
        assert_eq!(exp(f32::INFINITY), exp(1000.0));
    }
}
