//! Units written in scenarios: durations and resource quantities, as strings in Kubernetes'
//! own syntax.
//!
//! Durations follow Go's `time.ParseDuration` (what `metav1.Duration` and kubectl's
//! `--timeout` use): a sequence of decimal numbers with a unit, `ns`, `us` (`µs`), `ms`, `s`, `m`,
//! `h`, optionally signed, e.g. "500ms", "1.5s", "1h30m"; "0" alone is zero. Simplification:
//! fractions finer than a nanosecond are truncated, as Go does.
//!
//! Quantities follow `k8s.io/apimachinery/pkg/api/resource/quantity.go`: a signed decimal
//! number followed by a binary-SI suffix (Ki…Ei), a decimal-SI suffix (n, u, m, "", k, M, G,
//! T, P, E) or a decimal exponent (e3, E-2). The value is kept exactly in nano-units; like
//! Kubernetes, anything finer than 1n rounds up. Simplification: magnitudes beyond what fits
//! (about 10^29) are rejected rather than kept as big decimals.
//!
//! The object model (components/api) will own Kubernetes' `Quantity` for manifests; this small
//! parser serves the scenario's own fields (image sizes, node capacity) and duplicates that
//! syntax on purpose until the two can share one implementation.

use std::fmt;

/// A non-negative virtual duration in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    nanos: u64,
}

/// A duration that may be negative, for clock skews ("+5s", "-2s").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SignedDuration {
    nanos: i64,
}

/// A resource quantity such as "500m" or "2Gi", kept exactly in nano-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    nanos: i128,
}

/// Why a unit string was rejected; the message says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("expected a duration like \"30s\", \"6m\", \"1h30m\", found {0:?}")]
    BadDuration(String),
    #[error("expected a non-negative duration like \"30s\", found {0:?}")]
    NegativeDuration(String),
    #[error("duration {0:?} is too long (at most about 292 years)")]
    DurationOverflow(String),
    #[error(
        "expected a quantity like \"500m\", \"2Gi\", \"1.5\", \"1e3\" (number and suffix n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei), found {0:?}"
    )]
    BadQuantity(String),
    #[error("quantity {0:?} is out of range")]
    QuantityOverflow(String),
}

const NANOS_PER_UNIT: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

impl Duration {
    pub const ZERO: Duration = Duration { nanos: 0 };

    pub const fn from_nanos(nanos: u64) -> Self {
        Duration { nanos }
    }

    pub const fn from_secs(secs: u64) -> Self {
        Duration {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Parses a non-negative Go duration ("30s", "1h30m", "1.5s", "0").
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let (negative, nanos) = parse_go_duration(text)?;
        if negative && nanos != 0 {
            return Err(UnitError::NegativeDuration(text.to_string()));
        }
        u64::try_from(nanos)
            .map(Duration::from_nanos)
            .map_err(|_| UnitError::DurationOverflow(text.to_string()))
    }
}

impl SignedDuration {
    pub const fn from_nanos(nanos: i64) -> Self {
        SignedDuration { nanos }
    }

    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Parses a signed Go duration ("+5s", "-2s", "250ms").
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let (negative, nanos) = parse_go_duration(text)?;
        let magnitude =
            i64::try_from(nanos).map_err(|_| UnitError::DurationOverflow(text.to_string()))?;
        Ok(SignedDuration {
            nanos: if negative { -magnitude } else { magnitude },
        })
    }
}

/// Go's `time.ParseDuration`, returning (negative, magnitude in ns). The magnitude is kept in
/// u128 so that only the final conversion decides what overflows.
fn parse_go_duration(text: &str) -> Result<(bool, u128), UnitError> {
    let bad = || UnitError::BadDuration(text.to_string());
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok((negative, 0));
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let limit = u128::from(u64::MAX) * 2;
    let mut total: u128 = 0;
    // Each iteration consumes at least one character, so the loop is bounded by the length.
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = NANOS_PER_UNIT
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, scale)| u128::from(*scale))
            .ok_or_else(bad)?;
        let mut whole: u128 = 0;
        for digit in int_part.bytes() {
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u128::from(digit - b'0')))
                .filter(|w| *w <= limit)
                .ok_or_else(|| UnitError::DurationOverflow(text.to_string()))?;
        }
        let mut value = whole
            .checked_mul(scale)
            .ok_or_else(|| UnitError::DurationOverflow(text.to_string()))?;
        // Fractions beyond nanosecond precision are truncated, as in Go.
        let mut place = scale;
        for digit in frac_part.bytes() {
            if place < 10 {
                break;
            }
            place /= 10;
            value += u128::from(digit - b'0') * place;
        }
        total = total
            .checked_add(value)
            .filter(|t| *t <= limit)
            .ok_or_else(|| UnitError::DurationOverflow(text.to_string()))?;
    }
    Ok((negative, total))
}

impl fmt::Display for Duration {
    /// Go's `Duration.String()` shape for whole units: "6m5s", "1h30m0s", "500ms", "0s".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_go_duration(f, u128::from(self.nanos))
    }
}

impl fmt::Display for SignedDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos < 0 {
            f.write_str("-")?;
        } else {
            f.write_str("+")?;
        }
        write_go_duration(f, u128::from(self.nanos.unsigned_abs()))
    }
}

fn write_go_duration(f: &mut fmt::Formatter<'_>, nanos: u128) -> fmt::Result {
    if nanos == 0 {
        return f.write_str("0s");
    }
    if nanos < 1_000_000_000 {
        return if nanos.is_multiple_of(1_000_000) {
            write!(f, "{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            write!(f, "{}µs", nanos / 1_000)
        } else {
            write!(f, "{nanos}ns")
        };
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = (nanos / 1_000_000_000) % 60;
    let sub = nanos % 1_000_000_000;
    if hours > 0 {
        write!(f, "{hours}h")?;
    }
    if hours > 0 || minutes > 0 {
        write!(f, "{minutes}m")?;
    }
    if sub == 0 {
        write!(f, "{seconds}s")
    } else {
        let frac = format!("{sub:09}");
        write!(f, "{seconds}.{}s", frac.trim_end_matches('0'))
    }
}

impl Quantity {
    /// Parses a Kubernetes quantity ("500m", "2Gi", "1.5", "1e3", "-20Mi").
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let bad = || UnitError::BadQuantity(text.to_string());
        let overflow = || UnitError::QuantityOverflow(text.to_string());
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        let mut suffix = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = suffix.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            suffix = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        // Kubernetes limits the digits it keeps; bounding them here bounds the arithmetic.
        if int_part.len() + frac_part.len() > 30 {
            return Err(overflow());
        }
        // Value in units of 10^-frac_len.
        let mut mantissa: i128 = 0;
        for digit in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(digit - b'0')))
                .ok_or_else(overflow)?;
        }
        let frac_len = i32::try_from(frac_part.len()).map_err(|_| overflow())?;
        // Result is mantissa * 2^binary_exp * 10^(decimal_exp - frac_len) in units; store nanos.
        let (binary_exp, decimal_exp): (u32, i32) = match suffix {
            "Ki" => (10, 0),
            "Mi" => (20, 0),
            "Gi" => (30, 0),
            "Ti" => (40, 0),
            "Pi" => (50, 0),
            "Ei" => (60, 0),
            "n" => (0, -9),
            "u" => (0, -6),
            "m" => (0, -3),
            "" => (0, 0),
            "k" => (0, 3),
            "M" => (0, 6),
            "G" => (0, 9),
            "T" => (0, 12),
            "P" => (0, 15),
            "E" => (0, 18),
            exp if exp.starts_with(['e', 'E']) => {
                let digits = &exp[1..];
                let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
                if unsigned.is_empty()
                    || unsigned.len() > 4
                    || !unsigned.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(bad());
                }
                (0, digits.parse::<i32>().map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        };
        let scaled = mantissa
            .checked_mul(1_i128 << binary_exp)
            .ok_or_else(overflow)?;
        let power = decimal_exp - frac_len + 9;
        let nanos = if power >= 0 {
            let factor = 10_i128
                .checked_pow(power.unsigned_abs())
                .ok_or_else(overflow)?;
            scaled.checked_mul(factor).ok_or_else(overflow)?
        } else {
            // Kubernetes rounds values below its smallest scale (1n) up, away from zero.
            let divisor = 10_i128
                .checked_pow(power.unsigned_abs())
                .unwrap_or(i128::MAX);
            let whole = scaled / divisor;
            if scaled % divisor == 0 {
                whole
            } else {
                whole + 1
            }
        };
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
        })
    }

    /// A whole number of units (bytes, cores, pods).
    pub const fn from_units(units: i64) -> Self {
        Quantity {
            nanos: units as i128 * 1_000_000_000,
        }
    }

    /// The exact value in nano-units (1 = 10^-9).
    pub const fn as_nanos(self) -> i128 {
        self.nanos
    }

    /// Whole units rounded up, as Kubernetes' `Quantity.Value()` does (bytes, pods).
    pub fn value_ceil(self) -> i128 {
        ceil_div(self.nanos, 1_000_000_000)
    }

    /// Milli-units rounded up, as `Quantity.MilliValue()` does (CPU millicores).
    pub fn milli_value_ceil(self) -> i128 {
        ceil_div(self.nanos, 1_000_000)
    }

    pub const fn is_negative(self) -> bool {
        self.nanos < 0
    }
}

fn ceil_div(value: i128, divisor: i128) -> i128 {
    let whole = value / divisor;
    if value % divisor > 0 {
        whole + 1
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn durations_in_go_syntax() {
        let table: &[(&str, u64)] = &[
            ("0", 0),
            ("0s", 0),
            ("500ms", 500_000_000),
            ("30s", 30 * S),
            ("6m", 360 * S),
            ("1h30m", 5400 * S),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("1.s", S),
            ("2h45m30.5s", (2 * 3600 + 45 * 60 + 30) * S + S / 2),
            ("10us", 10_000),
            ("10µs", 10_000),
            ("7ns", 7),
            ("1.0000000009s", S),
            ("+5s", 5 * S),
        ];
        for (text, nanos) in table {
            assert_eq!(
                Duration::parse(text),
                Ok(Duration::from_nanos(*nanos)),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_durations_say_what_was_expected() {
        for text in [
            "", "5x", "5", "s", "1h30", "ms5", ".s", "1..5s", "5 s", "-", "1e3s",
        ] {
            let err = Duration::parse(text).unwrap_err();
            assert_eq!(err, UnitError::BadDuration(text.to_string()), "{text}");
            assert!(err.to_string().contains("\"1h30m\""), "{err}");
        }
        assert_eq!(
            Duration::parse("-2s"),
            Err(UnitError::NegativeDuration("-2s".into()))
        );
        assert!(matches!(
            Duration::parse("99999999999999999999h"),
            Err(UnitError::DurationOverflow(_))
        ));
        assert!(matches!(
            Duration::parse("6000000h"),
            Err(UnitError::DurationOverflow(_))
        ));
    }

    #[test]
    fn signed_durations_for_skew() {
        assert_eq!(
            SignedDuration::parse("+5s").unwrap().as_nanos(),
            5 * S as i64
        );
        assert_eq!(
            SignedDuration::parse("-2s").unwrap().as_nanos(),
            -2 * S as i64
        );
        assert_eq!(
            SignedDuration::parse("250ms").unwrap().as_nanos(),
            250_000_000
        );
        assert_eq!(SignedDuration::parse("-2s").unwrap().to_string(), "-2s");
        assert!(SignedDuration::parse("+-2s").is_err());
    }

    #[test]
    fn durations_print_like_go() {
        let table: &[(u64, &str)] = &[
            (0, "0s"),
            (365 * S, "6m5s"),
            (5400 * S, "1h30m0s"),
            (500_000_000, "500ms"),
            (1_500_000_000, "1.5s"),
            (42, "42ns"),
        ];
        for (nanos, text) in table {
            assert_eq!(Duration::from_nanos(*nanos).to_string(), *text);
        }
    }

    #[test]
    fn quantities_in_kubernetes_syntax() {
        let table: &[(&str, i128)] = &[
            ("500m", 500_000_000),
            ("2Gi", 2 * (1 << 30) * 1_000_000_000),
            ("20Mi", 20 * (1 << 20) * 1_000_000_000),
            ("1.5", 1_500_000_000),
            ("1e3", 1_000_000_000_000),
            ("1E-3", 1_000_000),
            ("0.5Gi", (1 << 29) * 1_000_000_000),
            ("-20Mi", -20 * (1 << 20) * 1_000_000_000),
            ("1n", 1),
            ("0.1n", 1),
            ("4", 4_000_000_000),
            ("2k", 2_000_000_000_000),
            (".5", 500_000_000),
        ];
        for (text, nanos) in table {
            assert_eq!(
                Quantity::parse(text).map(Quantity::as_nanos),
                Ok(*nanos),
                "{text}"
            );
        }
        assert_eq!(Quantity::parse("500m").unwrap().milli_value_ceil(), 500);
        assert_eq!(Quantity::parse("1.5").unwrap().value_ceil(), 2);
        assert_eq!(
            Quantity::parse("20Mi").unwrap().value_ceil(),
            20 * 1024 * 1024
        );
    }

    #[test]
    fn bad_quantities_say_what_was_expected() {
        for text in [
            "", "Gi", "2GB", "2 Gi", "1e", "1e3.5", "--1", "1.2.3", "2gi", "0x10",
        ] {
            let err = Quantity::parse(text).unwrap_err();
            assert_eq!(err, UnitError::BadQuantity(text.to_string()), "{text}");
            assert!(err.to_string().contains("\"2Gi\""));
        }
        assert!(matches!(
            Quantity::parse("99999999999999999999999999Ei"),
            Err(UnitError::QuantityOverflow(_))
        ));
        assert!(Quantity::parse("1e9999").is_err());
    }
}
