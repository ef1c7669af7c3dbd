//! The scheduling queue: activeQ (pods to try now, highest priority first, then the oldest),
//! backoffQ (pods that failed, until their backoff passes) and the unschedulable pods (waiting
//! for a cluster event one of the plugins that rejected them cares about, or 5 minutes).
//!
//! Follows `pkg/scheduler/backend/queue/scheduling_queue.go` (PriorityQueue: `Pop` counts an
//! attempt and starts a scheduling cycle; `AddUnschedulableIfNotPresent` sends a pod to
//! backoffQ instead when a move request came during its cycle; `MoveAllToActiveOrBackoffQueue`
//! with per-plugin event interest; `flushBackoffQCompleted`;
//! `flushUnschedulablePodsLeftover` after `podMaxInUnschedulablePodsDuration` 5 min), the
//! backoff `podInitialBackoffSeconds` 1 doubling to `podMaxBackoffSeconds` 10 (F24), the
//! PrioritySort plugin's order, and SchedulingGates (a gated pod waits until its gates are
//! removed). Simplifications: the flushes happen at the exact instants they are due (the owner
//! arms a timer at [`SchedulingQueue::next_wakeup`]) instead of on 1 s / 30 s ticks; event
//! interest is per plugin and event kind ([`ClusterEvent`]), without QueueingHint functions.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sim::{Duration, Time};

use crate::framework::{ClusterEvent, PodInfo};

pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
pub const MAX_IN_UNSCHEDULABLE: Duration = Duration::from_secs(300);
/// The plugin name a gated pod waits on.
pub const SCHEDULING_GATES: &str = "SchedulingGates";

/// A pod in the queue (`framework.QueuedPodInfo`).
#[derive(Clone, Debug)]
pub struct QueuedPod {
    pub pod: Arc<PodInfo>,
    /// When it entered the queue or last failed (orders activeQ, starts backoff).
    pub timestamp: Time,
    pub initial_attempt: Option<Time>,
    pub attempts: u32,
    /// The plugins that rejected it last.
    pub unschedulable_plugins: BTreeSet<&'static str>,
    /// The scheduling cycle of its last pop.
    pub cycle: u64,
}

/// Where a pod is, with its entry in that queue (so removal is O(log n)).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Where {
    Active(Reverse<i32>, Time, u64),
    Backoff(Time, u64),
    Unschedulable,
    InFlight,
}

#[derive(Debug, Default)]
pub struct SchedulingQueue {
    pods: BTreeMap<String, (QueuedPod, Where)>,
    active: BTreeSet<(Reverse<i32>, Time, u64, String)>,
    backoff: BTreeSet<(Time, u64, String)>,
    /// Keys of the pods waiting in the unschedulable set.
    unschedulable: BTreeSet<String>,
    seq: u64,
    scheduling_cycle: u64,
    move_request_cycle: u64,
    /// Plugin → the events it waits for.
    interest: BTreeMap<&'static str, &'static [ClusterEvent]>,
}

fn gated(pod: &PodInfo) -> bool {
    pod.pod()
        .spec
        .as_ref()
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty())
}

/// `calculateBackoffDuration`.
pub fn backoff_duration(attempts: u32) -> Duration {
    let mut d = INITIAL_BACKOFF;
    for _ in 1..attempts {
        d = d.saturating_add(d);
        if d > MAX_BACKOFF {
            return MAX_BACKOFF;
        }
    }
    d
}

impl SchedulingQueue {
    pub fn new(interest: BTreeMap<&'static str, &'static [ClusterEvent]>) -> SchedulingQueue {
        SchedulingQueue {
            interest,
            ..SchedulingQueue::default()
        }
    }

    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// (active, backoff, unschedulable) sizes.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.active.len(),
            self.backoff.len(),
            self.unschedulable.len(),
        )
    }

    pub fn contains(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    fn push_active(&mut self, key: &str) {
        self.unlink(key);
        self.seq += 1;
        let seq = self.seq;
        if let Some((qp, w)) = self.pods.get_mut(key) {
            let (p, t) = (Reverse(qp.pod.priority), qp.timestamp);
            *w = Where::Active(p, t, seq);
            self.active.insert((p, t, seq, key.to_string()));
        }
    }

    fn push_backoff(&mut self, key: &str) {
        self.unlink(key);
        self.seq += 1;
        let seq = self.seq;
        if let Some((qp, w)) = self.pods.get_mut(key) {
            let expiry = qp.timestamp + backoff_duration(qp.attempts);
            *w = Where::Backoff(expiry, seq);
            self.backoff.insert((expiry, seq, key.to_string()));
        }
    }

    fn push_unschedulable(&mut self, key: &str) {
        self.unlink(key);
        if let Some((_, w)) = self.pods.get_mut(key) {
            *w = Where::Unschedulable;
            self.unschedulable.insert(key.to_string());
        }
    }

    /// Takes the pod out of whichever queue holds it (it stays known).
    fn unlink(&mut self, key: &str) {
        let Some((_, w)) = self.pods.get_mut(key) else {
            return;
        };
        match std::mem::replace(w, Where::InFlight) {
            Where::Active(p, t, s) => {
                self.active.remove(&(p, t, s, key.to_string()));
            }
            Where::Backoff(t, s) => {
                self.backoff.remove(&(t, s, key.to_string()));
            }
            Where::Unschedulable => {
                self.unschedulable.remove(key);
            }
            Where::InFlight => {}
        }
    }

    fn backoff_expiry(qp: &QueuedPod) -> Time {
        qp.timestamp + backoff_duration(qp.attempts)
    }

    /// A new pending pod.
    pub fn add(&mut self, pod: Arc<PodInfo>, now: Time) {
        let key = pod.key();
        if self.pods.contains_key(&key) {
            self.update(pod, now);
            return;
        }
        let is_gated = gated(&pod);
        let qp = QueuedPod {
            pod,
            timestamp: now,
            initial_attempt: None,
            attempts: 0,
            unschedulable_plugins: if is_gated {
                BTreeSet::from([SCHEDULING_GATES])
            } else {
                BTreeSet::new()
            },
            cycle: 0,
        };
        self.pods.insert(key.clone(), (qp, Where::InFlight));
        if is_gated {
            self.push_unschedulable(&key);
        } else {
            self.push_active(&key);
        }
    }

    /// The pending pod changed. An unschedulable pod is retried (after its backoff).
    pub fn update(&mut self, pod: Arc<PodInfo>, now: Time) {
        let key = pod.key();
        let Some((qp, w)) = self.pods.get_mut(&key) else {
            self.add(pod, now);
            return;
        };
        let was_gated = qp.unschedulable_plugins.contains(SCHEDULING_GATES);
        qp.pod = pod;
        let w = w.clone();
        match w {
            Where::Active(..) => self.push_active(&key),
            Where::Backoff(..) | Where::InFlight => {}
            Where::Unschedulable => {
                let (qp, _) = &self.pods[&key];
                if gated(&qp.pod) {
                    return;
                }
                let interested = was_gated
                    || qp.unschedulable_plugins.is_empty()
                    || qp.unschedulable_plugins.iter().any(|p| {
                        self.interest
                            .get(p)
                            .is_some_and(|ev| ev.contains(&ClusterEvent::UnscheduledPodUpdate))
                    });
                if interested {
                    self.requeue(&key, now);
                }
            }
        }
    }

    /// The pending pod's latest state, without retrying it (only its status changed).
    pub fn refresh(&mut self, pod: Arc<PodInfo>) {
        if let Some((qp, _)) = self.pods.get_mut(&pod.key()) {
            qp.pod = pod;
        }
    }

    fn requeue(&mut self, key: &str, now: Time) {
        let Some((qp, _)) = self.pods.get(key) else {
            return;
        };
        if qp.attempts > 0 && Self::backoff_expiry(qp) > now {
            self.push_backoff(key);
        } else {
            self.push_active(key);
        }
    }

    /// The pod was deleted, or bound, or is no longer this scheduler's.
    pub fn delete(&mut self, key: &str) {
        self.unlink(key);
        self.pods.remove(key);
    }

    /// The next pod to schedule: an attempt is counted and a cycle starts.
    pub fn pop(&mut self) -> Option<QueuedPod> {
        let first = self.active.pop_first()?;
        let key = first.3;
        self.scheduling_cycle += 1;
        let cycle = self.scheduling_cycle;
        let (qp, w) = self.pods.get_mut(&key)?;
        *w = Where::InFlight;
        qp.attempts += 1;
        qp.cycle = cycle;
        if qp.initial_attempt.is_none() {
            qp.initial_attempt = Some(qp.timestamp);
        }
        Some(qp.clone())
    }

    /// The popped pod failed. `plugins` rejected it (empty: an error; it backs off).
    pub fn add_unschedulable(&mut self, key: &str, plugins: BTreeSet<&'static str>, now: Time) {
        let move_request_cycle = self.move_request_cycle;
        let Some((qp, _)) = self.pods.get_mut(key) else {
            return;
        };
        qp.timestamp = now;
        qp.unschedulable_plugins = plugins;
        let to_backoff = qp.unschedulable_plugins.is_empty() || move_request_cycle >= qp.cycle;
        if to_backoff {
            self.push_backoff(key);
        } else {
            self.push_unschedulable(key);
        }
    }

    /// A pod whose binding failed: back in the queue, backing off as after a failed attempt.
    pub fn add_failed(&mut self, pod: Arc<PodInfo>, now: Time) {
        let key = pod.key();
        let attempts = self.pods.get(&key).map_or(1, |(qp, _)| qp.attempts.max(1));
        self.delete(&key);
        let qp = QueuedPod {
            pod,
            timestamp: now,
            initial_attempt: Some(now),
            attempts,
            unschedulable_plugins: BTreeSet::new(),
            cycle: self.scheduling_cycle,
        };
        self.pods.insert(key.clone(), (qp, Where::InFlight));
        self.push_backoff(&key);
    }

    /// The popped pod was scheduled (assumed): it leaves the queue.
    pub fn done(&mut self, key: &str) {
        self.delete(key);
    }

    /// A cluster event: unschedulable pods rejected by a plugin that cares go to activeQ (or
    /// backoffQ while backing off).
    pub fn on_event(&mut self, event: ClusterEvent, now: Time) {
        let movable: Vec<String> =
            self.pods
                .iter()
                .filter(|(_, (qp, w))| {
                    *w == Where::Unschedulable
                        && !qp.unschedulable_plugins.contains(SCHEDULING_GATES)
                        && (qp.unschedulable_plugins.is_empty()
                            || qp.unschedulable_plugins.iter().any(|p| {
                                self.interest.get(p).is_some_and(|ev| ev.contains(&event))
                            }))
                })
                .map(|(k, _)| k.clone())
                .collect();
        for key in movable {
            self.requeue(&key, now);
        }
        self.move_request_cycle = self.scheduling_cycle;
    }

    /// Backoffs that passed go to activeQ; pods unschedulable for 5 minutes are retried.
    pub fn flush(&mut self, now: Time) {
        while let Some(first) = self.backoff.first().cloned() {
            if first.0 > now {
                break;
            }
            self.backoff.pop_first();
            self.push_active(&first.2);
        }
        let stale: Vec<String> = self
            .unschedulable
            .iter()
            .filter_map(|k| self.pods.get_key_value(k))
            .filter(|(_, (qp, _))| {
                !qp.unschedulable_plugins.contains(SCHEDULING_GATES)
                    && qp.timestamp + MAX_IN_UNSCHEDULABLE <= now
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.requeue(&key, now);
        }
    }

    /// When [`SchedulingQueue::flush`] has something to do next.
    pub fn next_wakeup(&self) -> Option<Time> {
        let backoff = self.backoff.first().map(|e| e.0);
        // Bounded by the unschedulable set, which only this loop scans per wakeup.
        let unsched = self
            .unschedulable
            .iter()
            .filter_map(|k| self.pods.get(k))
            .filter(|(qp, _)| !qp.unschedulable_plugins.contains(SCHEDULING_GATES))
            .map(|(qp, _)| qp.timestamp + MAX_IN_UNSCHEDULABLE)
            .min();
        match (backoff, unsched) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn has_active(&self) -> bool {
        !self.active.is_empty()
    }

    /// The queued pod, wherever it is.
    pub fn get(&self, key: &str) -> Option<&QueuedPod> {
        self.pods.get(key).map(|(qp, _)| qp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Object;
    use k8s_openapi::api::core::v1::{Pod, PodSpec};

    fn pod(name: &str, priority: i32) -> Arc<PodInfo> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("default".into());
        p.metadata.uid = Some(format!("uid-{name}"));
        p.spec = Some(PodSpec {
            priority: Some(priority),
            ..Default::default()
        });
        Arc::new(PodInfo::new(Arc::new(Object::from(p))).unwrap())
    }

    fn t(secs: u64) -> Time {
        Time::ZERO + Duration::from_secs(secs)
    }

    fn interest() -> BTreeMap<&'static str, &'static [ClusterEvent]> {
        BTreeMap::from([(
            "NodeResourcesFit",
            &[ClusterEvent::NodeAdd, ClusterEvent::AssignedPodDelete][..],
        )])
    }

    #[test]
    fn active_queue_orders_by_priority_then_age() {
        let mut q = SchedulingQueue::new(interest());
        q.add(pod("old-low", 0), t(1));
        q.add(pod("high", 100), t(3));
        q.add(pod("new-low", 0), t(2));
        let order: Vec<String> =
            std::iter::from_fn(|| q.pop().map(|p| p.pod.name.clone())).collect();
        assert_eq!(order, ["high", "old-low", "new-low"]);
    }

    #[test]
    fn a_gated_pod_waits_until_its_gates_are_removed() {
        let mut q = SchedulingQueue::new(interest());
        let mut gated = PodInfo::clone(&pod("g", 0));
        if let Object::Pod(p) = Arc::make_mut(&mut gated.obj) {
            p.spec.get_or_insert_default().scheduling_gates =
                Some(vec![k8s_openapi::api::core::v1::PodSchedulingGate {
                    name: "example.com/quota".into(),
                }]);
        }
        q.add(Arc::new(gated), t(0));
        q.on_event(ClusterEvent::NodeAdd, t(1));
        q.flush(t(400));
        assert_eq!(q.sizes(), (0, 0, 1));
        assert!(q.pop().is_none());
        q.update(pod("g", 0), t(401));
        assert_eq!(q.pop().map(|p| p.pod.name.clone()).as_deref(), Some("g"));
    }

    #[test]
    fn backoff_doubles_from_one_second_to_ten() {
        let got: Vec<u64> = (1..=6).map(|a| backoff_duration(a).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn unschedulable_pod_waits_for_an_event_its_plugin_cares_about_or_five_minutes() {
        let mut q = SchedulingQueue::new(interest());
        q.add(pod("p", 0), t(0));
        let p = q.pop().unwrap();
        q.add_unschedulable(&p.pod.key(), BTreeSet::from(["NodeResourcesFit"]), t(10));
        assert_eq!(q.sizes(), (0, 0, 1));
        // An event nobody rejected it for leaves it there.
        q.on_event(ClusterEvent::NodeUpdate, t(20));
        assert_eq!(q.sizes(), (0, 0, 1));
        assert_eq!(q.next_wakeup(), Some(t(310)));
        // A deleted pod frees resources: it goes back (its 1 s backoff has passed).
        q.on_event(ClusterEvent::AssignedPodDelete, t(20));
        assert_eq!(q.sizes(), (1, 0, 0));
        let p = q.pop().unwrap();
        assert_eq!(p.attempts, 2);
        // An event while it is being scheduled (a move request during its cycle) sends it
        // to backoffQ when it fails (2 s at 2 attempts), not back to waiting.
        q.on_event(ClusterEvent::NodeUpdate, t(25));
        q.add_unschedulable(&p.pod.key(), BTreeSet::from(["NodeResourcesFit"]), t(30));
        assert_eq!(q.sizes(), (0, 1, 0));
        q.flush(t(31));
        assert_eq!(q.sizes(), (0, 1, 0));
        q.flush(t(32));
        assert_eq!(q.sizes(), (1, 0, 0));
        let p = q.pop().unwrap();
        q.add_unschedulable(&p.pod.key(), BTreeSet::from(["NodeResourcesFit"]), t(40));
        assert_eq!(q.sizes(), (0, 0, 1));
        q.flush(t(339));
        assert_eq!(q.sizes(), (0, 0, 1));
        q.flush(t(340));
        assert_eq!(q.sizes(), (1, 0, 0));
    }
}
