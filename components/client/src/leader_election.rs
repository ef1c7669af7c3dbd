//! Lease-based leader election as a pure state machine (what kube-controller-manager and
//! kube-scheduler run), independent of how the Lease is read and written.
//!
//! Follows client-go `tools/leaderelection/leaderelection.go`:
//! - `tryAcquireOrRenew`: a leader whose lease is still valid first updates optimistically
//!   from the object it last wrote (the "fast path"), falling back to get-then-update; a
//!   candidate gets the Lease, creates it when missing, and takes it over only when the
//!   holder is empty or the lease has expired — judged by the LOCAL time at which the record
//!   was last seen to change plus `leaseDurationSeconds`, never by the `renewTime` written in
//!   it, so a skewed clock on another host does not matter. Taking over bumps
//!   `leaseTransitions` and sets `acquireTime`. A write that loses the optimistic-concurrency
//!   race (409) simply fails the attempt: someone else got there first.
//! - `acquire`: an attempt at once, then every `retryPeriod` plus up to 1.2× jitter
//!   (`wait.JitterUntil(..., JitterFactor = 1.2, sliding)`).
//! - `renew`: rounds (`wait.Until` with period `retryPeriod`, first round at once); each round
//!   polls every `retryPeriod` until an attempt succeeds, and fails when `renewDeadline`
//!   passes without one; a failed round means leadership is lost.
//! - `OnStartedLeading` / `OnStoppedLeading` / `OnNewLeader` become [`ElectionEvent`]s.
//!
//! Defaults (F9): lease 15 s, renew deadline 10 s, retry 2 s (`component-base/config/v1alpha1/
//! defaults.go`). Identity as kube-controller-manager builds it: `<hostname>_<uuid>`.
//!
//! Simplifications: after losing, the elector stops for good, as kube-controller-manager and
//! kube-scheduler exit ("leaderelection lost") and are restarted; the owner builds a new one.
//! `ReleaseOnCancel` is not modelled (neither component sets it). Each attempt's requests
//! share one timeout, `request_timeout` (default the renew deadline, the client timeout the
//! components give their leader-election client — confirm), cut short by the round deadline
//! when leading.

use sim::{Duration, SimRng, Time};

/// What a Lease says (`LeaderElectionRecord`; times are the writer's local clock).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaderElectionRecord {
    pub holder_identity: String,
    pub lease_duration_seconds: i32,
    pub acquire_time: Time,
    pub renew_time: Time,
    pub leader_transitions: i32,
}

/// Timing and identity of one candidate.
#[derive(Clone, Debug)]
pub struct ElectionConfig {
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    pub request_timeout: Duration,
}

impl ElectionConfig {
    /// Kubernetes' defaults for kube-controller-manager and kube-scheduler.
    pub fn new(identity: impl Into<String>) -> Self {
        ElectionConfig {
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// kube-controller-manager's identity: `<hostname>_<uuid>` (a random v4 UUID per process).
pub fn holder_identity(hostname: &str, rng: &mut SimRng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    // Version 4 and the RFC 4122 variant bits, as uuid.New() sets them.
    let a = (a & !0xF000) | 0x4000;
    let b = (b & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{hostname}_{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// A request the owner must send for the Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseRequest {
    Get,
    Create(LeaderElectionRecord),
    /// Update guarded by the resourceVersion of the object last read or written.
    Update {
        record: LeaderElectionRecord,
        resource_version: String,
    },
}

/// How a Lease request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseReply {
    /// Get found it.
    Found {
        record: LeaderElectionRecord,
        resource_version: String,
    },
    /// Get: no such Lease.
    NotFound,
    /// Create or update succeeded; the new object's resourceVersion.
    Written { resource_version: String },
    /// Anything else: 409 Conflict, 409 AlreadyExists, 5xx, a timeout.
    Failed,
}

/// What the owner must do or may want to know, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionEvent {
    /// Send this request and feed the reply back with the same id.
    Send {
        id: u64,
        request: LeaseRequest,
    },
    StartedLeading,
    StoppedLeading,
    /// The observed holder changed (`OnNewLeader`).
    NewLeader(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Acquiring,
    Leading,
    /// Leadership was lost; the elector does nothing more.
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    FastUpdate,
    Get,
    Create,
    Update,
}

#[derive(Clone, Debug)]
struct Attempt {
    id: u64,
    step: Step,
    started: Time,
    deadline: Time,
    /// The record this attempt writes (times from `started`).
    record: LeaderElectionRecord,
}

/// One candidate's election state.
#[derive(Clone, Debug)]
pub struct LeaderElector {
    cfg: ElectionConfig,
    phase: Phase,
    attempt: Option<Attempt>,
    next_attempt_at: Option<Time>,
    /// While leading: the end of the current renew round, once it started.
    round_deadline: Option<Time>,
    observed: Option<LeaderElectionRecord>,
    observed_time: Time,
    resource_version: Option<String>,
    reported_leader: String,
    next_id: u64,
}

impl LeaderElector {
    pub fn new(cfg: ElectionConfig) -> Self {
        LeaderElector {
            cfg,
            phase: Phase::Acquiring,
            attempt: None,
            next_attempt_at: None,
            round_deadline: None,
            observed: None,
            observed_time: Time::ZERO,
            resource_version: None,
            reported_leader: String::new(),
            next_id: 1,
        }
    }

    pub fn config(&self) -> &ElectionConfig {
        &self.cfg
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is_leader(&self) -> bool {
        self.phase == Phase::Leading
    }

    /// The holder last observed (client-go's `GetLeader`).
    pub fn leader(&self) -> Option<&str> {
        self.observed
            .as_ref()
            .map(|r| r.holder_identity.as_str())
            .filter(|h| !h.is_empty())
    }

    /// When the owner must call [`LeaderElector::on_wakeup`] next (arm a timer).
    pub fn next_wakeup(&self) -> Option<Time> {
        let times = [
            self.attempt.as_ref().map(|a| a.deadline),
            if self.attempt.is_none() {
                self.next_attempt_at
            } else {
                None
            },
            self.round_deadline,
        ];
        times.into_iter().flatten().min()
    }

    /// The first attempt, at once.
    pub fn start(&mut self, now: Time) -> Vec<ElectionEvent> {
        let mut out = Vec::new();
        if self.phase == Phase::Acquiring && self.attempt.is_none() {
            self.begin_attempt(now, &mut out);
        }
        out
    }

    /// Timers: request timeouts, retries, the renew deadline.
    pub fn on_wakeup(&mut self, now: Time, rng: &mut SimRng) -> Vec<ElectionEvent> {
        let mut out = Vec::new();
        if self.phase == Phase::Stopped {
            return out;
        }
        if self.phase == Phase::Leading && self.round_deadline.is_some_and(|d| now >= d) {
            self.stop_leading(&mut out);
            return out;
        }
        if self.attempt.as_ref().is_some_and(|a| now >= a.deadline) {
            let started = self.attempt.take().map_or(now, |a| a.started);
            self.finish_attempt(false, started, now, rng, &mut out);
        }
        if self.attempt.is_none() && self.next_attempt_at.is_some_and(|t| now >= t) {
            self.next_attempt_at = None;
            if self.phase == Phase::Leading && self.round_deadline.is_none() {
                self.round_deadline = Some(now.saturating_add(self.cfg.renew_deadline));
            }
            self.begin_attempt(now, &mut out);
        }
        out
    }

    /// The reply to request `id` (stale ids, from timed-out attempts, are ignored).
    pub fn on_reply(
        &mut self,
        now: Time,
        id: u64,
        reply: LeaseReply,
        rng: &mut SimRng,
    ) -> Vec<ElectionEvent> {
        let mut out = Vec::new();
        let Some(attempt) = self.attempt.take_if(|a| a.id == id) else {
            return out;
        };
        let started = attempt.started;
        match (attempt.step, reply) {
            (
                Step::FastUpdate | Step::Create | Step::Update,
                LeaseReply::Written { resource_version },
            ) => {
                self.resource_version = Some(resource_version);
                self.observe(attempt.record, now);
                self.finish_attempt(true, started, now, rng, &mut out);
            }
            (Step::FastUpdate, _) => {
                // client-go logs "Failed to update lock optimistically" and takes the slow path.
                self.send(Step::Get, attempt, &mut out);
            }
            (Step::Get, LeaseReply::NotFound) => {
                self.send(Step::Create, attempt, &mut out);
            }
            (
                Step::Get,
                LeaseReply::Found {
                    record,
                    resource_version,
                },
            ) => {
                self.resource_version = Some(resource_version.clone());
                if self.observed.as_ref() != Some(&record) {
                    self.observe(record.clone(), now);
                }
                let mine = self.holds_observed();
                if !record.holder_identity.is_empty() && self.lease_valid(started) && !mine {
                    self.finish_attempt(false, started, now, rng, &mut out);
                    return out;
                }
                let mut attempt = attempt;
                if mine {
                    attempt.record.acquire_time = record.acquire_time;
                    attempt.record.leader_transitions = record.leader_transitions;
                } else {
                    attempt.record.leader_transitions = record.leader_transitions.saturating_add(1);
                }
                self.send(Step::Update, attempt, &mut out);
            }
            _ => self.finish_attempt(false, started, now, rng, &mut out),
        }
        out
    }

    fn holds_observed(&self) -> bool {
        self.observed
            .as_ref()
            .is_some_and(|r| r.holder_identity == self.cfg.identity)
    }

    fn lease_valid(&self, now: Time) -> bool {
        self.observed_time.saturating_add(self.cfg.lease_duration) > now
    }

    fn observe(&mut self, record: LeaderElectionRecord, now: Time) {
        self.observed = Some(record);
        self.observed_time = now;
    }

    fn begin_attempt(&mut self, now: Time, out: &mut Vec<ElectionEvent>) {
        let mut deadline = now.saturating_add(self.cfg.request_timeout);
        if let Some(round) = self.round_deadline {
            deadline = deadline.min(round);
        }
        let secs = i32::try_from(self.cfg.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let mut record = LeaderElectionRecord {
            holder_identity: self.cfg.identity.clone(),
            lease_duration_seconds: secs,
            acquire_time: now,
            renew_time: now,
            leader_transitions: 0,
        };
        let fast =
            self.holds_observed() && self.lease_valid(now) && self.resource_version.is_some();
        if fast && let Some(old) = &self.observed {
            record.acquire_time = old.acquire_time;
            record.leader_transitions = old.leader_transitions;
        }
        let attempt = Attempt {
            id: 0,
            step: Step::Get,
            started: now,
            deadline,
            record,
        };
        self.send(
            if fast { Step::FastUpdate } else { Step::Get },
            attempt,
            out,
        );
    }

    fn send(&mut self, step: Step, mut attempt: Attempt, out: &mut Vec<ElectionEvent>) {
        let id = self.next_id;
        self.next_id += 1;
        attempt.id = id;
        attempt.step = step;
        let request = match step {
            Step::Get => LeaseRequest::Get,
            Step::Create => LeaseRequest::Create(attempt.record.clone()),
            Step::FastUpdate | Step::Update => LeaseRequest::Update {
                record: attempt.record.clone(),
                resource_version: self.resource_version.clone().unwrap_or_default(),
            },
        };
        self.attempt = Some(attempt);
        out.push(ElectionEvent::Send { id, request });
    }

    fn finish_attempt(
        &mut self,
        ok: bool,
        started: Time,
        now: Time,
        rng: &mut SimRng,
        out: &mut Vec<ElectionEvent>,
    ) {
        self.report_transition(out);
        let retry = self.cfg.retry_period;
        match (self.phase, ok) {
            (Phase::Acquiring, true) => {
                self.phase = Phase::Leading;
                out.push(ElectionEvent::StartedLeading);
                // The renew loop's first round starts at once (`wait.Until` runs immediately).
                self.round_deadline = Some(now.saturating_add(self.cfg.renew_deadline));
                self.begin_attempt(now, out);
            }
            (Phase::Acquiring, false) => {
                // JitterUntil(retryPeriod, 1.2): wait in [retry, retry * 2.2).
                let jitter_ns = rng.below(retry.as_nanos().saturating_mul(12) / 10 + 1);
                self.next_attempt_at = Some(
                    now.saturating_add(retry)
                        .saturating_add(Duration::from_nanos(jitter_ns)),
                );
            }
            (Phase::Leading, true) => {
                self.round_deadline = None;
                self.next_attempt_at = Some(now.saturating_add(retry));
            }
            (Phase::Leading, false) => {
                // PollImmediateUntil ticks every retryPeriod from the attempt's start.
                let next = started.saturating_add(retry).max(now);
                self.next_attempt_at = Some(next);
            }
            (Phase::Stopped, _) => {}
        }
    }

    fn stop_leading(&mut self, out: &mut Vec<ElectionEvent>) {
        self.phase = Phase::Stopped;
        self.attempt = None;
        self.next_attempt_at = None;
        self.round_deadline = None;
        out.push(ElectionEvent::StoppedLeading);
    }

    fn report_transition(&mut self, out: &mut Vec<ElectionEvent>) {
        let holder = self
            .observed
            .as_ref()
            .map(|r| r.holder_identity.as_str())
            .unwrap_or("");
        if holder != self.reported_leader {
            self.reported_leader = holder.to_string();
            if !holder.is_empty() {
                out.push(ElectionEvent::NewLeader(holder.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests;
