//! A simulated machine: whether it runs, its clock, its disk and the actors it holds.
//!
//! The clock reads `anchor_local + (t - anchor_true) * (1 + drift_ppm / 10^6)` at true time
//! `t`; skew re-anchors it (the reading jumps, as after an NTP step), drift changes its rate from
//! now on. A fast clock (positive drift) also fires timers early in true time, because a timer
//! is set in the host's own time. Readings are clamped at zero.

use crate::disk::Disk;
use crate::ids::ActorId;
use crate::time::{Duration, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a host runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostState {
    /// Running.
    Up,
    /// Crashed; waiting for a restart.
    Crashed,
    /// Stalled until the given true time.
    Paused {
        /// When the pause ends.
        until: Time,
    },
}

/// A host's clock relative to true virtual time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    anchor_true: u64,
    anchor_local: i128,
    drift_ppm: i64,
}

const PPM: i128 = 1_000_000;

impl Clock {
    /// The host's reading at true time `t`.
    pub fn local(&self, t: Time) -> Time {
        let elapsed = i128::from(t.as_nanos()) - i128::from(self.anchor_true);
        // Most clocks do not drift: skip the 128-bit division (`Ctx::now` runs it per handler).
        let reading = if self.drift_ppm == 0 {
            self.anchor_local + elapsed
        } else {
            self.anchor_local + elapsed * (PPM + i128::from(self.drift_ppm)) / PPM
        };
        Time::from_nanos(u64::try_from(reading.max(0)).unwrap_or(u64::MAX))
    }

    /// How much true time passes while this clock advances by `local`: rounded up, so a timer
    /// never fires before its deadline in the host's own time.
    pub fn true_delay(&self, local: Duration) -> Duration {
        if self.drift_ppm == 0 {
            return local;
        }
        let num = i128::from(local.as_nanos()) * PPM;
        let den = PPM + i128::from(self.drift_ppm);
        let d = (num + den - 1) / den;
        Duration::from_nanos(u64::try_from(d.max(0)).unwrap_or(u64::MAX))
    }

    /// Makes the clock read `t + offset_ns` at true time `t = now`, keeping the drift.
    pub fn set_offset(&mut self, now: Time, offset_ns: i64) {
        self.anchor_true = now.as_nanos();
        self.anchor_local = i128::from(now.as_nanos()) + i128::from(offset_ns);
    }

    /// Changes the rate from `now` on; the reading does not jump. Clamped to ±50% so the clock
    /// keeps moving forward.
    pub fn set_drift(&mut self, now: Time, ppm: i64) {
        let reading = self.local(now);
        self.anchor_true = now.as_nanos();
        self.anchor_local = i128::from(reading.as_nanos());
        self.drift_ppm = ppm.clamp(-500_000, 500_000);
    }

    /// The drift in parts per million.
    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// The current offset `local(now) - now` in nanoseconds.
    pub fn offset_ns(&self, now: Time) -> i64 {
        let diff = i128::from(self.local(now).as_nanos()) - i128::from(now.as_nanos());
        i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
    }
}

/// The per-host facts every delivery checks, kept in a dense array apart from [`Host`] so
/// that 5,000 hosts' worth of them stay in cache (measured: the full `Host` records missed
/// cache on every event).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HostStatus {
    pub(crate) up: bool,
    pub(crate) paused: bool,
    /// Whether the clock drifts: only then does setting a timer read the host's clock.
    pub(crate) drifts: bool,
    /// Bumped on crash: events addressed to an older incarnation are dropped.
    pub(crate) incarnation: u32,
}

impl HostStatus {
    pub(crate) const fn new() -> HostStatus {
        HostStatus {
            up: true,
            paused: false,
            drifts: false,
            incarnation: 0,
        }
    }
}

pub(crate) struct Host<E> {
    pub(crate) name: String,
    pub(crate) paused_until: Option<Time>,
    pub(crate) pause_generation: u32,
    pub(crate) clock: Clock,
    pub(crate) disk: Disk,
    pub(crate) actors: Vec<ActorId>,
    pub(crate) actor_names: BTreeMap<Box<str>, ActorId>,
    /// Events due while paused, in due order.
    pub(crate) paused_events: Vec<E>,
    /// Events held while the host is clogged, in arrival order.
    pub(crate) clogged_events: Vec<E>,
}

impl<E> Host<E> {
    pub(crate) fn new(name: String) -> Host<E> {
        Host {
            name,
            paused_until: None,
            pause_generation: 0,
            clock: Clock::default(),
            disk: Disk::new(),
            actors: Vec::new(),
            actor_names: BTreeMap::new(),
            paused_events: Vec::new(),
            clogged_events: Vec::new(),
        }
    }

    pub(crate) fn state(&self, status: HostStatus) -> HostState {
        match (status.up, self.paused_until) {
            (false, _) => HostState::Crashed,
            (true, Some(until)) => HostState::Paused { until },
            (true, None) => HostState::Up,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_drift() {
        let mut c = Clock::default();
        assert_eq!(c.local(Time::from_secs(3)), Time::from_secs(3));
        c.set_offset(Time::from_secs(10), 5_000_000_000);
        assert_eq!(c.local(Time::from_secs(11)), Time::from_secs(16));
        c.set_drift(Time::from_secs(11), 100_000); // 10% fast
        assert_eq!(c.local(Time::from_secs(21)), Time::from_secs(27));
        assert_eq!(
            c.true_delay(Duration::from_secs(11)),
            Duration::from_secs(10)
        );
        c.set_offset(Time::from_secs(1), -2_000_000_000);
        assert_eq!(c.local(Time::from_secs(1)), Time::ZERO);
    }
}
