//! The `--probability` of each rule in a `KUBE-SVC-…` chain, as the kernel holds it and as
//! iptables prints it.
//!
//! kube-proxy writes rule `i` of `n` with probability `1/(n−i)` formatted `%0.10f`
//! (`pkg/proxy/iptables/proxier.go`, `computeProbability`); iptables' statistic extension
//! stores it as `lround(p × 2^31)` and prints that back as `k / 2^31` with `%.11f`
//! (`extensions/libxt_statistic.c`); the kernel matches when `(random & 0x7fffffff) < k`
//! (`net/netfilter/xt_statistic.c`). So 1/3 reads `0.33333333349` in `iptables-save`, as on a
//! real node. Every step here is exact integer or correctly rounded arithmetic, so the output
//! does not depend on the platform's printf.

/// 2^31: the statistic match's fixed-point unit.
const ONE: u64 = 0x8000_0000;

/// `x` (an exact rational `num / den`) rounded half-to-even at `digits` decimals, as the
/// digits of `round(x × 10^digits)`.
fn round_half_even(num: u128, den: u128, digits: u32) -> u128 {
    let scaled = num * 10u128.pow(digits);
    let (q, r) = (scaled / den, scaled % den);
    match (2 * r).cmp(&den) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// The exact value of a finite positive f64 as `mantissa / 2^shift`.
fn exact(x: f64) -> (u128, u32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = if exp == 0 {
        bits & ((1 << 52) - 1)
    } else {
        (bits & ((1 << 52) - 1)) | (1 << 52)
    };
    // value = mantissa × 2^(exp − 1075); probabilities are ≤ 1, so the exponent is ≤ 0.
    let shift = (1075 - exp.max(1)).max(0) as u32;
    (u128::from(mantissa), shift)
}

/// The kernel's threshold `k` for rule `i` (0-based) of `n`: matches with probability
/// `k / 2^31`. `None` for the last rule, which always matches.
pub fn threshold(i: usize, n: usize) -> Option<u32> {
    if n == 0 || i + 1 >= n {
        return None;
    }
    let remaining = (n - i) as f64;
    let p = 1.0 / remaining;
    // Go's %0.10f: the exact binary value rounded half-to-even at 10 decimals.
    let (m, shift) = exact(p);
    let decimal = if shift >= 127 {
        0
    } else {
        round_half_even(m, 1u128 << shift, 10)
    };
    // iptables parses the text (strtod, correctly rounded) and takes lround(p × 2^31);
    // ten decimals times 2^31 stays exact in u128, so round the rational directly
    // (half away from zero, as lround does).
    let scaled = decimal * u128::from(ONE);
    let den = 10u128.pow(10);
    let k = (scaled + den / 2) / den;
    Some(u32::try_from(k.min(u128::from(ONE))).unwrap_or(u32::MAX))
}

/// `k / 2^31` printed with 11 decimals, as `iptables-save` and `iptables -L` print it.
pub fn format_threshold(k: u32) -> String {
    let digits = round_half_even(u128::from(k), u128::from(ONE), 11);
    let unit = 10u128.pow(11);
    format!("{}.{:011}", digits / unit, digits % unit)
}

/// The printed probabilities of a chain of `n` endpoints (`n − 1` values).
pub fn printed_sequence(n: usize) -> Vec<String> {
    (0..n)
        .filter_map(|i| threshold(i, n))
        .map(format_threshold)
        .collect()
}

/// Does a draw of 32 random bits match threshold `k`? (`xt_statistic`'s test.)
pub fn matches(random: u32, k: u32) -> bool {
    (random & 0x7fff_ffff) < k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_print_as_iptables_save_prints_them() {
        // n, the --probability values in order (as seen on kind nodes for n = 2, 3, 4).
        let table: [(usize, &[&str]); 6] = [
            (1, &[]),
            (2, &["0.50000000000"]),
            (3, &["0.33333333349", "0.50000000000"]),
            (4, &["0.25000000000", "0.33333333349", "0.50000000000"]),
            (
                5,
                &[
                    "0.20000000019",
                    "0.25000000000",
                    "0.33333333349",
                    "0.50000000000",
                ],
            ),
            (
                7,
                &[
                    "0.14285714272",
                    "0.16666666651",
                    "0.20000000019",
                    "0.25000000000",
                    "0.33333333349",
                    "0.50000000000",
                ],
            ),
        ];
        for (n, want) in table {
            assert_eq!(printed_sequence(n), want, "n = {n}");
        }
    }

    #[test]
    fn the_last_rule_always_matches_and_thresholds_follow_the_kernel() {
        assert_eq!(threshold(2, 3), None);
        assert_eq!(threshold(0, 2), Some(0x4000_0000));
        assert!(matches(0x3fff_ffff, 0x4000_0000));
        assert!(!matches(0x4000_0000, 0x4000_0000));
        // The top bit is masked off, as in xt_statistic.
        assert!(matches(0x8000_0001, 0x4000_0000));
    }
}
