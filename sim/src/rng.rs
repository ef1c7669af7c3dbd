//! Seeded randomness: one root seed, one independent ChaCha8 stream per consumer.
//!
//! A stream is forked from the root by a stable string key (an actor's `host/actor` name,
//! `"network"`, `"faults"`, `"buggify"`): the 32-byte ChaCha key is the root seed (little-endian
//! in the first 8 bytes, the rest zero) and the ChaCha stream number is [`stable_hash`] of the
//! key. So adding an actor does not change any other actor's draws, and a key always gets the
//! same stream for the same seed, on every platform and build profile.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// FNV-1a 64 over the UTF-8 bytes of `key`: the fixed hash that names RNG streams and
/// decides which BUGGIFY points a run enables. Never a randomly seeded hasher.
pub fn stable_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Natural logarithm from IEEE basic operations only (which are correctly rounded everywhere),
/// unlike `f64::ln`, which calls the platform's libm and may differ in the last bit between
/// libraries: a trace hash must not depend on the machine. `x = m * 2^k` with `m` in
/// `[1, 2)`, then `ln m = 2 atanh((m - 1) / (m + 1))` by its series (|z| <= 1/3, so 30 terms
/// are below f64 precision). Returns NaN for `x <= 0` or NaN, like `ln` of a negative number.
pub fn portable_ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    let (mut m, mut k) = (x, 0i32);
    if m < f64::MIN_POSITIVE {
        // Subnormal: scale into the normal range first.
        m *= (1u64 << 54) as f64;
        k -= 54;
    }
    let bits = m.to_bits();
    k += ((bits >> 52) & 0x7ff) as i32 - 1023;
    m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1023u64 << 52));
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let (mut term, mut sum) = (z, 0.0);
    for n in 0..30 {
        sum += term / f64::from(2 * n + 1);
        term *= z2;
    }
    2.0 * sum + f64::from(k) * std::f64::consts::LN_2
}

/// One deterministic random stream. Wraps [`ChaCha8Rng`] with the few draws components need;
/// [`SimRng::chacha`] gives the raw generator for anything else (it implements `rand_core::Rng`).
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// The stream named `key` under root `seed`.
    pub fn fork(seed: u64, key: &str) -> SimRng {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut rng = ChaCha8Rng::from_seed(bytes);
        rng.set_stream(stable_hash(key));
        SimRng(rng)
    }

    /// 64 uniformly random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// 32 uniformly random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to `[0, 1]`). Draws nothing when `p <= 0` or `p >= 1`,
    /// so configuring no loss costs no draws and does not shift the stream.
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.next_f64() < p
        }
    }

    /// Uniform in `[0, n)` without modulo bias (Lemire's multiply-and-reject); 0 when `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            // The threshold `2^64 mod n` is below n: a low half of at least n is accepted
            // without the division (the same draws and results as computing it first).
            let low = m as u64;
            if low >= n || low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `[lo, hi)`; `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo))
    }

    /// Exponentially distributed with the given mean (inverse transform sampling, with
    /// [`portable_ln`] so the draw is the same bits on every platform).
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * portable_ln(1.0 - self.next_f64())
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A uniformly chosen element, or `None` for an empty slice.
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len() as u64) as usize)
        }
    }

    /// The underlying generator, for use with `rand_core`-based APIs.
    pub fn chacha(&mut self) -> &mut ChaCha8Rng {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_independent() {
        let a1: Vec<u64> = (0..4)
            .map({
                let mut r = SimRng::fork(7, "h/a");
                move |_| r.next_u64()
            })
            .collect();
        let mut again = SimRng::fork(7, "h/a");
        let a2: Vec<u64> = (0..4).map(|_| again.next_u64()).collect();
        assert_eq!(a1, a2);
        let mut b = SimRng::fork(7, "h/b");
        assert_ne!(a1[0], b.next_u64());
        let mut other_seed = SimRng::fork(8, "h/a");
        assert_ne!(a1[0], other_seed.next_u64());
    }

    #[test]
    fn stable_hash_is_fnv1a() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn portable_ln_agrees_with_libm_to_rounding() {
        for x in [
            1e-300, 1e-10, 0.1, 0.5, 0.999, 1.0, 1.5, 2.0, 10.0, 1e10, 5e-324,
        ] {
            let (a, b) = (portable_ln(x), x.ln());
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(1.0),
                "{x}: {a} vs {b}"
            );
        }
        assert!(portable_ln(0.0).is_nan() && portable_ln(-1.0).is_nan());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SimRng::fork(1, "t");
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(r.below(n) < n);
            }
        }
        assert_eq!(r.below(0), 0);
    }

    /// The same draws and results as Lemire's method with the threshold computed first
    /// (n just above 2^63 rejects about half the draws).
    #[test]
    fn below_matches_the_threshold_first_form() {
        let reference = |r: &mut SimRng, n: u64| {
            let threshold = n.wrapping_neg() % n;
            loop {
                let m = u128::from(r.next_u64()) * u128::from(n);
                if (m as u64) >= threshold {
                    return (m >> 64) as u64;
                }
            }
        };
        let (mut a, mut b) = (SimRng::fork(3, "below"), SimRng::fork(3, "below"));
        for n in [
            1u64,
            2,
            3,
            7,
            500,
            1 << 40,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            for _ in 0..500 {
                assert_eq!(a.below(n), reference(&mut b, n));
            }
        }
    }
}
