//! `Quantity`: Kubernetes' fixed-point resource amounts ("500m", "2Gi", "1e3"), parsed,
//! compared, added and printed in canonical form.
//!
//! Follows `staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go`: suffixes
//! (binary Ki..Ei, decimal n u m "" k M G T P E, exponents e/E), the remembered format, values
//! more precise than 1n rounded up (away from zero), a binary quantity below 1 becoming decimal,
//! and canonical output (no fractional digits, largest suffix that loses nothing, binary shown
//! as decimal when it is under 1024 or not whole). Simplification: the value is an `i128` count
//! of nano-units, so magnitudes above 2^63-1 units are rejected rather than kept in an
//! arbitrary-precision decimal as upstream's slow path does.

use std::cmp::Ordering;
use std::fmt;

/// How a quantity is printed: the kind of suffix it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `e3`, `E-3`.
    DecimalExponent,
    /// `Ki`, `Mi`, ...
    BinarySI,
    /// `m`, `k`, `M`, ...
    #[default]
    DecimalSI,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    #[error("unable to parse quantity's suffix")]
    Suffix,
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    #[error("quantity too large: at most 9223372036854775807 units can be represented")]
    TooLarge,
}

const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Kubernetes keeps amounts within int64 units.
const NANOS_MAX: i128 = i64::MAX as i128 * NANOS_PER_UNIT;

/// A resource amount. Equality and order compare values, not formats (`1000m == 1`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl Quantity {
    pub const ZERO: Quantity = Quantity {
        nanos: 0,
        format: Format::DecimalSI,
    };

    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        parse(text.trim())
    }

    /// An amount in milli-units (CPU: millicores), printed in decimal form.
    pub fn from_milli(milli: i64) -> Quantity {
        Quantity {
            nanos: milli as i128 * 1_000_000,
            format: Format::DecimalSI,
        }
    }

    /// A whole amount in the given format (memory in bytes: `Format::BinarySI`).
    pub fn from_units(units: i64, format: Format) -> Quantity {
        Quantity {
            nanos: units as i128 * NANOS_PER_UNIT,
            format,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub fn as_nanos(&self) -> i128 {
        self.nanos
    }

    /// Milli-units rounded up away from zero, as `Quantity.MilliValue` (CPU in millicores).
    pub fn milli_value(&self) -> i64 {
        clamp_i64(div_away_from_zero(self.nanos, 1_000_000))
    }

    /// Whole units rounded up away from zero, as `Quantity.Value` (memory in bytes).
    pub fn value(&self) -> i64 {
        clamp_i64(div_away_from_zero(self.nanos, NANOS_PER_UNIT))
    }

    /// Sum; a zero left-hand side takes the right-hand side's format, as upstream's `Add`.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let format = if self.nanos == 0 {
            other.format
        } else {
            self.format
        };
        let nanos = self.nanos.checked_add(other.nanos)?;
        Some(Quantity { nanos, format })
    }

    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        let format = if self.nanos == 0 {
            other.format
        } else {
            self.format
        };
        let nanos = self.nanos.checked_sub(other.nanos)?;
        Some(Quantity { nanos, format })
    }

    /// Adds in place, saturating (sums of parsed quantities stay far inside i128).
    pub fn add(&mut self, other: &Quantity) {
        if self.nanos == 0 {
            self.format = other.format;
        }
        self.nanos = self.nanos.saturating_add(other.nanos);
    }

    pub fn sub(&mut self, other: &Quantity) {
        if self.nanos == 0 {
            self.format = other.format;
        }
        self.nanos = self.nanos.saturating_sub(other.nanos);
    }

    pub fn to_k8s(&self) -> k8s_openapi::apimachinery::pkg::api::resource::Quantity {
        k8s_openapi::apimachinery::pkg::api::resource::Quantity(self.to_string())
    }

    fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == Format::BinarySI {
            let whole = self.nanos % NANOS_PER_UNIT == 0;
            let under_1024 = self.nanos.abs() < 1024 * NANOS_PER_UNIT;
            if under_1024 || !whole {
                format = Format::DecimalSI;
            }
        }
        match format {
            Format::BinarySI => {
                let mut units = self.nanos / NANOS_PER_UNIT;
                let mut power = 0;
                while power < BINARY_SUFFIXES.len() - 1 && units % 1024 == 0 {
                    units /= 1024;
                    power += 1;
                }
                format!("{units}{}", BINARY_SUFFIXES[power])
            }
            Format::DecimalSI | Format::DecimalExponent => {
                // mantissa × 10^exponent, exponent a multiple of 3 starting at nano.
                let mut mantissa = self.nanos;
                let mut exponent: i32 = -9;
                let exponent_max = if format == Format::DecimalSI {
                    18
                } else {
                    i32::MAX
                };
                while mantissa % 1000 == 0 && exponent < exponent_max {
                    mantissa /= 1000;
                    exponent += 3;
                }
                let suffix = if format == Format::DecimalSI {
                    decimal_si_suffix(exponent).to_string()
                } else if exponent == 0 {
                    String::new()
                } else {
                    format!("e{exponent}")
                };
                format!("{mantissa}{suffix}")
            }
        }
    }
}

const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

fn decimal_si_suffix(exponent: i32) -> &'static str {
    match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn div_away_from_zero(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

/// The multiplier a suffix stands for: (power of two, power of ten, format).
fn interpret_suffix(suffix: &str) -> Result<(u32, i32, Format), QuantityError> {
    let decimal = |e| Ok((0, e, Format::DecimalSI));
    let binary = |p| Ok((p, 0, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let rest = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .ok_or(QuantityError::Suffix)?;
            let exponent: i32 = rest.parse().map_err(|_| QuantityError::Suffix)?;
            Ok((0, exponent, Format::DecimalExponent))
        }
    }
}

fn parse(text: &str) -> Result<Quantity, QuantityError> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    let int_start = pos;
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_digits = &text[int_start..pos];
    let mut frac_digits = "";
    if pos < bytes.len() && bytes[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_digits = &text[frac_start..pos];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    // Suffix: letters, then an optional signed number (the exponent form).
    let suffix_start = pos;
    while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
        pos += 1;
    }
    if pos < bytes.len() && (bytes[pos] == b'-' || bytes[pos] == b'+') {
        pos += 1;
    }
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos != bytes.len() {
        return Err(QuantityError::FormatWrong);
    }
    let (power_of_two, power_of_ten, mut format) = interpret_suffix(&text[suffix_start..])?;

    let mut mantissa: i128 = 0;
    for d in int_digits.bytes().chain(frac_digits.bytes()) {
        if mantissa == 0 && d == b'0' {
            continue;
        }
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add((d - b'0') as i128))
            .ok_or(QuantityError::TooLarge)?;
    }
    mantissa = mantissa
        .checked_mul(1i128 << power_of_two)
        .ok_or(QuantityError::TooLarge)?;
    let scale = power_of_ten as i64 - frac_digits.len() as i64 + 9;
    let nanos = if mantissa == 0 {
        0
    } else if scale >= 0 {
        let factor = 10i128.checked_pow(u32::try_from(scale).map_err(|_| QuantityError::TooLarge)?);
        factor
            .and_then(|f| mantissa.checked_mul(f))
            .ok_or(QuantityError::TooLarge)?
    } else {
        // More precise than a nano-unit: round up to the next nano-unit.
        match 10i128.checked_pow(u32::try_from(-scale).map_err(|_| QuantityError::Numeric)?) {
            Some(divisor) => div_away_from_zero(mantissa, divisor),
            None => 1,
        }
    };
    if nanos > NANOS_MAX {
        return Err(QuantityError::TooLarge);
    }
    if format == Format::BinarySI && nanos < NANOS_PER_UNIT {
        format = Format::DecimalSI;
    }
    Ok(Quantity {
        nanos: if negative { -nanos } else { nanos },
        format,
    })
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl TryFrom<&k8s_openapi::apimachinery::pkg::api::resource::Quantity> for Quantity {
    type Error = QuantityError;
    fn try_from(
        q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    ) -> Result<Self, Self::Error> {
        Quantity::parse(&q.0)
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical())
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let q = k8s_openapi::apimachinery::pkg::api::resource::Quantity::deserialize(d)?;
        Quantity::parse(&q.0).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        // Cases from upstream's quantity_test.go (TestQuantityParse, TestQuantityString) and
        // the canonical-form rules in its doc comment.
        let cases = [
            ("0", "0"),
            ("0n", "0"),
            ("0u", "0"),
            ("0m", "0"),
            ("0Ki", "0"),
            ("0k", "0"),
            ("0Mi", "0"),
            ("1Ki", "1Ki"),
            ("8Ki", "8Ki"),
            ("7Mi", "7Mi"),
            ("6Gi", "6Gi"),
            ("5Ti", "5Ti"),
            ("4Pi", "4Pi"),
            ("3Ei", "3Ei"),
            ("10Ti", "10Ti"),
            ("100Ti", "100Ti"),
            ("5n", "5n"),
            ("4u", "4u"),
            ("3m", "3m"),
            ("9", "9"),
            ("8k", "8k"),
            ("50k", "50k"),
            ("7M", "7M"),
            ("6G", "6G"),
            ("5T", "5T"),
            ("40T", "40T"),
            ("300T", "300T"),
            ("2P", "2P"),
            ("1E", "1E"),
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("1.1Ki", "1126400m"),
            ("1024", "1024"),
            ("1000", "1k"),
            ("1000m", "1"),
            ("100m", "100m"),
            ("0.1", "100m"),
            ("0.0001", "100u"),
            (".5", "500m"),
            ("5.", "5"),
            ("+5", "5"),
            ("-5", "-5"),
            ("-1.5Gi", "-1536Mi"),
            ("1e3", "1e3"),
            ("1E6", "1e6"),
            ("1e-3", "1e-3"),
            ("1.5e3", "1500"),
            ("12e3", "12e3"),
            ("1000Ki", "1000Ki"),
            ("1024Ki", "1Mi"),
            ("2048Mi", "2Gi"),
            ("0.5Ki", "512"),
            ("0.1Ki", "102400m"),
            ("1.5n", "2n"),
            ("0.1n", "1n"),
            ("-0.1n", "-1n"),
            ("129e-2", "1290e-3"),
        ];
        for (input, want) in cases {
            let q = Quantity::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(q.to_string(), want, "{input}");
            let again = Quantity::parse(want).unwrap();
            assert_eq!(
                again, q,
                "canonical {want} of {input} re-parses to the same value"
            );
        }
    }

    #[test]
    fn rejects_malformed_quantities() {
        let format = QuantityError::FormatWrong;
        let suffix = QuantityError::Suffix;
        let cases = [
            ("", format.clone()),
            (".", format.clone()),
            ("abc", format.clone()),
            ("1.2.3", format.clone()),
            ("1 Ki", format.clone()),
            ("1Qi", suffix.clone()),
            ("1KiB", suffix.clone()),
            ("1e", suffix.clone()),
            ("1i", suffix.clone()),
            ("1ki", suffix.clone()),
            ("1mm", suffix.clone()),
            ("1e1e1", format.clone()),
            ("10Ei", QuantityError::TooLarge),
        ];
        for (input, want) in cases {
            assert_eq!(Quantity::parse(input), Err(want), "{input:?}");
        }
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn values_for_the_scheduler() {
        let cases = [
            ("100m", 100, 1),
            ("1", 1000, 1),
            ("2.5", 2500, 3),
            ("1Gi", 1_073_741_824_000, 1_073_741_824),
            ("128974848", 128_974_848_000, 128_974_848),
            ("129e6", 129_000_000_000, 129_000_000),
            ("123Mi", 128_974_848_000, 128_974_848),
            ("1n", 1, 1),
            ("-1n", -1, -1),
        ];
        for (input, milli, units) in cases {
            let q = Quantity::parse(input).unwrap();
            assert_eq!((q.milli_value(), q.value()), (milli, units), "{input}");
        }
    }

    #[test]
    fn arithmetic_and_order() {
        let q = |s: &str| Quantity::parse(s).unwrap();
        let mut sum = Quantity::ZERO;
        sum.add(&q("1Gi"));
        sum.add(&q("512Mi"));
        assert_eq!(sum.to_string(), "1536Mi");
        assert_eq!(
            sum.format(),
            Format::BinarySI,
            "zero takes the first addend's format"
        );
        let mut cpu = q("1");
        cpu.sub(&q("250m"));
        assert_eq!(cpu.to_string(), "750m");
        assert_eq!(q("1000m"), q("1"));
        assert!(q("999m") < q("1"));
        assert!(q("1Gi") > q("1G"));
        assert_eq!(q("1").checked_sub(&q("2")).unwrap().to_string(), "-1");
        assert_eq!(Quantity::from_milli(1500).to_string(), "1500m");
        assert_eq!(
            Quantity::from_units(3 * 1024 * 1024, Format::BinarySI).to_string(),
            "3Mi"
        );
    }

    #[test]
    fn serde_uses_canonical_strings() {
        let q: Quantity = serde_json::from_str("\"1.5Gi\"").unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"1536Mi\"");
        let n: Quantity = serde_json::from_str("2").unwrap();
        assert_eq!(n.milli_value(), 2000);
    }
}
