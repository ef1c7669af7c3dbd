//! Durations written in scenarios, as strings in Kubernetes' own syntax. (Quantities such as
//! "500m" and "2Gi" are the object model's: `api::quantity`, read by `scenario::de`.)
//!
//! Durations follow Go's `time.ParseDuration` (what `metav1.Duration` and kubectl's
//! `--timeout` use): a sequence of decimal numbers with a unit, `ns`, `us` (`µs`), `ms`, `s`, `m`,
//! `h`, optionally signed, e.g. "500ms", "1.5s", "1h30m"; "0" alone is zero. Simplification:
//! fractions finer than a nanosecond are truncated, as Go does.
//!

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

/// Why a unit string was rejected; the message says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("expected a duration like \"30s\", \"6m\", \"1h30m\", found {0:?}")]
    BadDuration(String),
    #[error("expected a non-negative duration like \"30s\", found {0:?}")]
    NegativeDuration(String),
    #[error("duration {0:?} is too long (at most about 292 years)")]
    DurationOverflow(String),
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
}
