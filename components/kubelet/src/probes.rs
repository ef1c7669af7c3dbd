//! One container's probes: when each runs next and what its results add up to.
//!
//! Follows `pkg/kubelet/prober/worker.go` and the Probe defaults of
//! `pkg/apis/core/v1/defaults.go` (F31: periodSeconds 10, timeoutSeconds 1, failureThreshold
//! 3, successThreshold 1, initialDelaySeconds 0): a probe is skipped until
//! `initialDelaySeconds` after the container started; a result counts only once the same
//! result came `successThreshold` / `failureThreshold` times in a row; readiness starts as
//! failure and liveness as success; while a startup probe has not succeeded the other two do
//! not run. Simplifications: probes tick from the container's start (upstream's ticker
//! starts with the pod worker, so the first probe lands anywhere in the first period); the
//! runtime answers at once, so `timeoutSeconds` never expires.

use api::k8s_openapi::api::core::v1::Probe;
use runtime::ProbeKind;
use sim::{Duration, Time};

/// A probe's numbers, defaulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeSpec {
    pub initial_delay: Duration,
    pub period: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl ProbeSpec {
    pub fn from_api(p: &Probe) -> Self {
        let secs = |v: Option<i32>, d: i32| {
            Duration::from_secs(u64::try_from(v.unwrap_or(d).max(0)).unwrap_or(0))
        };
        let count = |v: Option<i32>, d: i32| u32::try_from(v.unwrap_or(d).max(1)).unwrap_or(1);
        ProbeSpec {
            initial_delay: secs(p.initial_delay_seconds, 0),
            period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
            success_threshold: count(p.success_threshold, 1),
            failure_threshold: count(p.failure_threshold, 3),
        }
    }
}

/// One probe's worker state.
#[derive(Clone, Debug)]
pub struct ProbeState {
    pub kind: ProbeKind,
    pub spec: ProbeSpec,
    pub next_at: Option<Time>,
    pub in_flight: bool,
    /// The current result (`None`: none yet).
    pub result: Option<bool>,
    run_of: (bool, u32),
}

/// What a probe result means for the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing changed.
    Same,
    /// The result flipped to success.
    Passed,
    /// The result flipped to failure (liveness/startup: restart the container).
    Failed,
}

impl ProbeState {
    pub fn new(kind: ProbeKind, spec: ProbeSpec) -> Self {
        ProbeState {
            kind,
            spec,
            next_at: None,
            in_flight: false,
            result: None,
            run_of: (true, 0),
        }
    }

    /// The container (re)started at `at`: results reset, first probe after the initial delay.
    pub fn container_started(&mut self, at: Time) {
        self.result = None;
        self.run_of = (true, 0);
        self.in_flight = false;
        self.next_at = Some(at.saturating_add(self.spec.initial_delay));
    }

    /// The container stopped: no more probes.
    pub fn stop(&mut self) {
        self.next_at = None;
        self.in_flight = false;
    }

    /// Due at `now`?
    pub fn due(&self, now: Time) -> bool {
        !self.in_flight && self.next_at.is_some_and(|t| t <= now)
    }

    /// A result came in at `now`.
    pub fn record(&mut self, success: bool, now: Time) -> Verdict {
        self.in_flight = false;
        if self.next_at.is_some() {
            self.next_at = Some(now.saturating_add(self.spec.period));
        }
        self.run_of = if self.run_of.0 == success && self.run_of.1 > 0 {
            (success, self.run_of.1.saturating_add(1))
        } else {
            (success, 1)
        };
        let threshold = if success {
            self.spec.success_threshold
        } else {
            self.spec.failure_threshold
        };
        if self.run_of.1 < threshold || self.result == Some(success) {
            return Verdict::Same;
        }
        self.result = Some(success);
        if success {
            Verdict::Passed
        } else {
            Verdict::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_fails_after_three_periods() {
        let spec = ProbeSpec::from_api(&Probe::default());
        assert_eq!(spec.period, Duration::from_secs(10));
        let mut p = ProbeState::new(ProbeKind::Liveness, spec);
        p.container_started(Time::ZERO);
        assert!(p.due(Time::ZERO));
        let mut verdicts = Vec::new();
        let mut now = Time::ZERO;
        for ok in [true, false, false, false] {
            verdicts.push(p.record(ok, now));
            now = p.next_at.unwrap();
        }
        assert_eq!(
            verdicts,
            [
                Verdict::Passed,
                Verdict::Same,
                Verdict::Same,
                Verdict::Failed
            ]
        );
    }
}
