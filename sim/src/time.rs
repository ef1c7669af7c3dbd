//! Virtual time: the only clock a simulation has.
//!
//! [`Time`] is an instant and [`Duration`] a span, both whole nanoseconds in a `u64` (enough for
//! 584 years of virtual time). Nothing here reads the wall clock. Instants print as
//! `HH:MM:SS.mmm` (hours are not wrapped at 24), durations in Kubernetes' style (`1h30m`, `500ms`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// An instant of virtual time: nanoseconds since the simulation started.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Time(u64);

/// A span of virtual time in nanoseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Duration(u64);

impl Time {
    /// The start of every simulation.
    pub const ZERO: Time = Time(0);
    /// The largest representable instant; used as "never".
    pub const MAX: Time = Time(u64::MAX);

    /// An instant `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Time {
        Time(nanos)
    }
    /// An instant `millis` milliseconds after the start.
    pub const fn from_millis(millis: u64) -> Time {
        Time(millis.saturating_mul(NANOS_PER_MILLI))
    }
    /// An instant `secs` seconds after the start.
    pub const fn from_secs(secs: u64) -> Time {
        Time(secs.saturating_mul(NANOS_PER_SEC))
    }
    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole milliseconds since the start.
    pub const fn as_millis(self) -> u64 {
        self.0 / NANOS_PER_MILLI
    }
    /// Whole seconds since the start.
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// The span since the start.
    pub const fn since_start(self) -> Duration {
        Duration(self.0)
    }
    /// `self - earlier`, or zero when `earlier` is later.
    pub const fn saturating_since(self, earlier: Time) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
    /// `self + d`, saturating at [`Time::MAX`].
    pub const fn saturating_add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.0))
    }
    /// `self` shifted by a signed number of nanoseconds, clamped to `[ZERO, MAX]`.
    pub fn offset_by(self, nanos: i64) -> Time {
        Time(self.0.saturating_add_signed(nanos))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable span.
    pub const MAX: Duration = Duration(u64::MAX);

    /// `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> Duration {
        Duration(n)
    }
    /// `n` microseconds.
    pub const fn from_micros(n: u64) -> Duration {
        Duration(n.saturating_mul(NANOS_PER_MICRO))
    }
    /// `n` milliseconds.
    pub const fn from_millis(n: u64) -> Duration {
        Duration(n.saturating_mul(NANOS_PER_MILLI))
    }
    /// `n` seconds.
    pub const fn from_secs(n: u64) -> Duration {
        Duration(n.saturating_mul(NANOS_PER_SEC))
    }
    /// `n` minutes.
    pub const fn from_mins(n: u64) -> Duration {
        Duration(n.saturating_mul(60 * NANOS_PER_SEC))
    }
    /// Nanoseconds in the span.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole microseconds in the span.
    pub const fn as_micros(self) -> u64 {
        self.0 / NANOS_PER_MICRO
    }
    /// Whole milliseconds in the span.
    pub const fn as_millis(self) -> u64 {
        self.0 / NANOS_PER_MILLI
    }
    /// Whole seconds in the span.
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// Seconds as a float, for reports only (never for simulation decisions).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// `self + other`, saturating.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
    /// `self - other`, or zero.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }
    /// `self * n`, saturating.
    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration(self.0.saturating_mul(n))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    /// Saturates at [`Time::MAX`] rather than overflowing: "never" stays "never".
    fn add(self, d: Duration) -> Time {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    /// Saturates at zero: asking how long ago a future instant was is "not at all".
    fn sub(self, earlier: Time) -> Duration {
        self.saturating_since(earlier)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        self.saturating_add(other)
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, other: Duration) -> Duration {
        self.saturating_sub(other)
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Duration {
        Duration(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> std::time::Duration {
        std::time::Duration::from_nanos(d.0)
    }
}

impl fmt::Display for Time {
    /// `HH:MM:SS.mmm`; hours keep counting past 24.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / NANOS_PER_MILLI;
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        write!(f, "{h:02}:{m:02}:{s:02}.{milli:03}")
    }
}

impl fmt::Display for Duration {
    /// Kubernetes' style: `1h30m`, `6m`, `1.5s`, `500ms`, `250us`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n == 0 {
            return f.write_str("0s");
        }
        if n < NANOS_PER_MICRO {
            return write!(f, "{n}ns");
        }
        if n < NANOS_PER_MILLI {
            return write_decimal(f, n, NANOS_PER_MICRO, "us");
        }
        if n < NANOS_PER_SEC {
            return write_decimal(f, n, NANOS_PER_MILLI, "ms");
        }
        let secs = n / NANOS_PER_SEC;
        let (h, m) = (secs / 3600, secs / 60 % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if h > 0 || m > 0 {
            write!(f, "{m}m")?;
        }
        write_decimal(f, n % (60 * NANOS_PER_SEC), NANOS_PER_SEC, "s")
    }
}

fn write_decimal(f: &mut fmt::Formatter<'_>, n: u64, unit: u64, suffix: &str) -> fmt::Result {
    let (whole, frac) = (n / unit, n % unit);
    if frac == 0 {
        return write!(f, "{whole}{suffix}");
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    write!(f, "{whole}.{}{suffix}", digits.trim_end_matches('0'))
}

/// Year, month (1–12) and day (1–31) of the proleptic Gregorian calendar, `days` after
/// 1970-01-01 (Howard Hinnant's `civil_from_days`): for the components that print wall-clock
/// dates (API timestamps, etcd's log lines) without a date library on their hot paths.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_dates_across_months_leap_years_and_eras() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(31), (1970, 2, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2028-02-29 is day 21_243; 2100 is not a leap year, 2000 is.
        assert_eq!(civil_from_days(21_243), (2028, 2, 29));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn instants_print_as_clock_readings() {
        assert_eq!(Time::ZERO.to_string(), "00:00:00.000");
        assert_eq!(Time::from_millis(3_723_045).to_string(), "01:02:03.045");
        assert_eq!(Time::from_secs(100 * 3600).to_string(), "100:00:00.000");
    }

    #[test]
    fn durations_print_like_kubernetes() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::from_micros(250), "250us"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_mins(6), "6m0s"),
            (Duration::from_secs(5400), "1h30m0s"),
        ];
        for (d, want) in cases {
            assert_eq!(d.to_string(), want);
        }
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Time::MAX + Duration::from_secs(1), Time::MAX);
        assert_eq!(Time::from_secs(1) - Time::from_secs(2), Duration::ZERO);
        assert_eq!(Time::from_secs(1).offset_by(-2_000_000_000), Time::ZERO);
    }
}
