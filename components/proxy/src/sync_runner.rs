//! When kube-proxy rewrites its rules: `async.BoundedFrequencyRunner`
//! (`pkg/util/async/bounded_frequency_runner.go`) as the iptables and IPVS proxiers use it.
//! A change asks for a sync; syncs are spaced by at least `minSyncPeriod` (a token bucket
//! refilled once per `minSyncPeriod`, holding `burstSyncs` = 2 tokens, so a quiet proxy applies
//! the first change at once and coalesces a storm of changes into one sync per period); and
//! a sync happens anyway `syncPeriod` after the last one.
//!
//! Defaults (F36, `pkg/proxy/apis/config/v1alpha1/defaults.go`): iptables `syncPeriod` 30 s,
//! `minSyncPeriod` 1 s; IPVS `syncPeriod` 30 s, `minSyncPeriod` 0 (every change at once).

use sim::{Duration, Time};

/// kube-proxy's `burstSyncs`.
pub const BURST_SYNCS: u64 = 2;

#[derive(Clone, Debug)]
pub struct SyncRunner {
    min_interval: Duration,
    max_interval: Duration,
    /// Token bucket credit in nanoseconds of `min_interval` (one token = `min_interval`).
    credit_nanos: u64,
    credit_at: Time,
    pending: bool,
    last_run: Option<Time>,
}

impl SyncRunner {
    pub fn new(min_interval: Duration, max_interval: Duration) -> Self {
        SyncRunner {
            min_interval,
            max_interval,
            credit_nanos: Self::capacity(min_interval),
            credit_at: Time::ZERO,
            pending: false,
            last_run: None,
        }
    }

    fn capacity(min_interval: Duration) -> u64 {
        min_interval.as_nanos().saturating_mul(BURST_SYNCS)
    }

    fn credit(&self, now: Time) -> u64 {
        let earned = now.saturating_since(self.credit_at).as_nanos();
        self.credit_nanos
            .saturating_add(earned)
            .min(Self::capacity(self.min_interval))
    }

    /// Something changed: a sync is wanted (`Run()`).
    pub fn request(&mut self) {
        self.pending = true;
    }

    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// When the next sync is due (host clock), if any.
    pub fn next_run(&self, now: Time) -> Option<Time> {
        let periodic = self.last_run.map(|t| t.saturating_add(self.max_interval));
        let asked = self.pending.then(|| {
            let have = self.credit(now);
            let need = self.min_interval.as_nanos();
            now.saturating_add(Duration::from_nanos(need.saturating_sub(have)))
        });
        [periodic, asked].into_iter().flatten().min()
    }

    /// Runs the sync now if it is due; true when the caller must sync.
    pub fn try_run(&mut self, now: Time) -> bool {
        if self.next_run(now).is_none_or(|t| t > now) {
            return false;
        }
        self.credit_nanos = self
            .credit(now)
            .saturating_sub(self.min_interval.as_nanos());
        self.credit_at = now;
        self.pending = false;
        self.last_run = Some(now);
        true
    }

    pub fn last_run(&self) -> Option<Time> {
        self.last_run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_of_changes_are_coalesced_to_one_sync_per_min_period() {
        let mut r = SyncRunner::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut runs = Vec::new();
        // A change every 100 ms for 5 s; the owner runs whenever the runner says so.
        let mut now = Time::from_secs(100);
        let end = Time::from_secs(105);
        while now < end {
            r.request();
            if r.try_run(now) {
                runs.push(now.as_millis() - 100_000);
            }
            now = now.saturating_add(Duration::from_millis(100));
        }
        // Two at once (the burst), then one per second.
        assert_eq!(runs, [0, 100, 1000, 2000, 3000, 4000]);
        // The change at 4.9 s is applied at 5 s; then, quiet, the periodic sync 30 s later.
        assert!(r.try_run(end));
        assert!(!r.is_pending());
        assert_eq!(r.next_run(Time::from_secs(106)), Some(Time::from_secs(135)));
    }

    #[test]
    fn zero_min_period_syncs_every_change() {
        let mut r = SyncRunner::new(Duration::ZERO, Duration::from_secs(30));
        for ms in [0, 1, 2] {
            r.request();
            assert!(r.try_run(Time::from_millis(ms)));
        }
        assert!(!r.try_run(Time::from_millis(3)));
    }
}
