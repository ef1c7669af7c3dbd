//! Pod startup latency, measured as Kubernetes' scalability SLO defines it (FIDELITY F41:
//! p99 ≤ 5 s for stateless pods whose images are present, from creation to every container
//! running, observed through a watch) and as ClusterLoader2's `PodStartupLatency`
//! measurement takes it: an informer on pods outside the cluster's nodes, noting when each
//! pod is first seen, first seen bound to a node and first seen Running.
//!
//! Where this differs from ClusterLoader2: the start of each latency is the virtual time the
//! watch delivered the pod's ADDED event, not its `creationTimestamp`, because the API's
//! timestamps have one-second resolution and would add up to a second to every figure; the
//! watch's own delay (well under a millisecond here) is then in both ends and cancels. Pods
//! already present when the probe's first list arrives, or first seen Running, are not
//! counted: their creation was not observed.
//!
//! The probe is an actor with its own client and watch, so installing it adds its list and
//! watch traffic to the run (as ClusterLoader2's informer does to a real cluster's): a run
//! with the probe is a different run, with its own trace hash.

use std::collections::BTreeMap;

use api::{Kind, Object};
use apiserver::{ApiEnvelope, UserInfo};
use client::api_client::{ApiClient, ApiClientConfig, ClientEvent, is_api_client_timer};
use client::indexer::Indexer;
use client::informer::{Informer, InformerConfig, Notification};
use sim::{Actor, ActorId, Ctx, Duration, SimError, StreamClose, StreamId, Time};

use crate::cluster::Cluster;
use crate::message::ClusterMsg;

const INFORMER_TIMER: u64 = 1;
/// The probe's actor name on the terminal host.
pub const POD_STARTUP_ACTOR: &str = "pod-startup-probe";

/// What the probe watches: ClusterLoader2 selects the test's own pods by namespace and label.
#[derive(Clone, Debug, Default)]
pub struct PodSelector {
    /// Empty: every namespace.
    pub namespace: String,
    /// A label selector (`app=web`, `kubesim-bench`); empty: every pod.
    pub label_selector: String,
    /// A field selector (`metadata.namespace!=kube-system`); empty: every pod.
    pub field_selector: String,
}

/// When one pod was seen at each stage.
#[derive(Clone, Copy, Debug)]
struct Seen {
    created: Time,
    scheduled: Option<Time>,
    running: Option<Time>,
}

/// The probe actor: a pod informer and the times it saw each pod reach each stage.
pub struct PodStartupProbe {
    client: ApiClient,
    pods: Informer,
    /// By `namespace/name`; a pod deleted and created again under its name starts over.
    seen: BTreeMap<String, Seen>,
    /// Stages of pods that were deleted, kept for the figures.
    done: Vec<Seen>,
}

impl PodStartupProbe {
    pub fn new(apiservers: Vec<ActorId>, user: UserInfo, selector: PodSelector) -> Self {
        let mut cfg = InformerConfig::new(Kind::Pod, INFORMER_TIMER);
        cfg.namespace = selector.namespace;
        cfg.label_selector = selector.label_selector;
        cfg.field_selector = selector.field_selector;
        PodStartupProbe {
            client: ApiClient::new(ApiClientConfig::new(apiservers, user)),
            pods: Informer::new(cfg, Indexer::new()),
            seen: BTreeMap::new(),
            done: Vec::new(),
        }
    }

    /// The latencies of every pod whose creation the probe saw.
    pub fn latencies(&self) -> PodStartupLatencies {
        let mut l = PodStartupLatencies::default();
        for s in self.seen.values().chain(&self.done) {
            l.created += 1;
            if let Some(at) = s.scheduled {
                l.create_to_schedule.push(at.saturating_since(s.created));
            }
            if let Some(run) = s.running {
                l.pod_startup.push(run.saturating_since(s.created));
                if let Some(at) = s.scheduled {
                    l.schedule_to_run.push(run.saturating_since(at));
                }
            }
        }
        for v in [
            &mut l.create_to_schedule,
            &mut l.schedule_to_run,
            &mut l.pod_startup,
        ] {
            v.sort_unstable();
        }
        l
    }

    /// `initial`: the notifications are the first list's, i.e. pods that existed before the
    /// probe, whose creation it did not see.
    fn observe(&mut self, now: Time, notifications: Vec<Notification>, initial: bool) {
        for n in notifications {
            let pod = n.object();
            let key = n.key();
            match n {
                Notification::Add(_) if initial || running(pod) => {}
                Notification::Add(_) => {
                    let fresh = Seen {
                        created: now,
                        scheduled: None,
                        running: None,
                    };
                    if let Some(old) = self.seen.insert(key.clone(), fresh) {
                        self.done.push(old);
                    }
                    self.update(now, &key, pod);
                }
                Notification::Update { .. } => self.update(now, &key, pod),
                Notification::Delete(_) => {
                    if let Some(old) = self.seen.remove(&key) {
                        self.done.push(old);
                    }
                }
            }
        }
    }

    fn update(&mut self, now: Time, key: &str, pod: &Object) {
        let Some(s) = self.seen.get_mut(key) else {
            return;
        };
        if s.scheduled.is_none() && scheduled(pod) {
            s.scheduled = Some(now);
        }
        if s.running.is_none() && running(pod) {
            s.running = Some(now);
        }
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, ClusterMsg>, events: Vec<ClientEvent>) {
        for event in events {
            let initial = !self.pods.has_synced();
            if let Some(n) = self.pods.on_client_event(ctx, &mut self.client, &event) {
                self.observe(ctx.now(), n, initial);
            }
        }
    }
}

fn scheduled(o: &Object) -> bool {
    matches!(o, Object::Pod(p) if p.spec.as_ref().is_some_and(|s| s.node_name.is_some()))
}

/// ClusterLoader2 takes a pod as started when its phase is Running (every container
/// created, at least one running).
fn running(o: &Object) -> bool {
    matches!(o, Object::Pod(p)
        if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
}

impl Actor<ClusterMsg> for PodStartupProbe {
    fn on_start(&mut self, ctx: &mut Ctx<'_, ClusterMsg>) {
        self.pods.start(ctx, &mut self.client);
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, ClusterMsg>, _from: ActorId, _msg: ClusterMsg) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ClusterMsg>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle(ctx, events);
        } else if self.pods.owns_timer(tag) {
            // A resync or a relist's backoff: never the first list's answer.
            let n = self.pods.on_timer(ctx, &mut self.client);
            self.observe(ctx.now(), n, false);
        }
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, ClusterMsg>,
        stream: StreamId,
        _from: ActorId,
        msg: ClusterMsg,
    ) {
        if let Ok(m) = msg.unwrap_api() {
            let events = self.client.on_message(ctx, stream, m);
            self.handle(ctx, events);
        }
    }

    fn on_stream_closed(
        &mut self,
        ctx: &mut Ctx<'_, ClusterMsg>,
        stream: StreamId,
        _why: StreamClose,
    ) {
        let events = self.client.on_stream_closed(ctx, stream);
        self.handle(ctx, events);
    }
}

/// Each stage's latencies over the pods whose creation the probe saw, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodStartupLatencies {
    /// Pods whose creation was seen.
    pub created: usize,
    /// ADDED to bound to a node.
    pub create_to_schedule: Vec<Duration>,
    /// Bound to Running.
    pub schedule_to_run: Vec<Duration>,
    /// ADDED to Running: the SLO's pod startup latency.
    pub pod_startup: Vec<Duration>,
}

/// The SLO's bound on the 99th percentile of pod startup latency.
pub const POD_STARTUP_SLO: Duration = Duration::from_secs(5);

/// The `p`-th percentile (0 < p ≤ 100) of sorted `values` by nearest rank, as ClusterLoader2's
/// `LatencyMetric` takes it; `None` for no values.
pub fn percentile(sorted: &[Duration], p: u32) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    // ceil(p/100 * n), at least 1.
    let rank = (n * p as usize).div_ceil(100).max(1);
    Some(sorted[rank.min(n) - 1])
}

impl Cluster {
    /// Adds a [`PodStartupProbe`] for `selector` on the terminal host, as `kubernetes-admin`;
    /// it starts listing at once. Install it before creating the pods to be measured.
    pub fn install_pod_startup_probe(
        &mut self,
        selector: PodSelector,
    ) -> Result<ActorId, SimError> {
        let endpoints: Vec<ActorId> = self.apiservers().iter().map(|a| a.actor).collect();
        let terminal = self.terminal_host();
        self.sim_mut()
            .add_actor(terminal, POD_STARTUP_ACTOR, move |_| {
                PodStartupProbe::new(endpoints.clone(), UserInfo::admin(), selector.clone())
            })
    }

    /// What the probe `actor` measured so far.
    pub fn pod_startup_latencies(&self, actor: ActorId) -> Option<PodStartupLatencies> {
        self.sim()
            .actor::<PodStartupProbe>(actor)
            .map(PodStartupProbe::latencies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&v, 50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&v, 90), Some(Duration::from_millis(90)));
        assert_eq!(percentile(&v, 99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&v, 100), Some(Duration::from_millis(100)));
        let three = ms(&[10, 20, 30]);
        assert_eq!(percentile(&three, 50), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&three, 99), Some(Duration::from_millis(30)));
        assert_eq!(percentile(&ms(&[7]), 1), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 99), None);
    }
}
