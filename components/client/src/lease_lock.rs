//! Leader election wired to the apiserver: a [`LeaderElector`] whose lock is a
//! `coordination.k8s.io/v1` Lease (client-go `tools/leaderelection/resourcelock/leaselock.go`).
//!
//! The lock keeps the Lease object it last read or wrote and updates that object with the new
//! record, so the update carries its resourceVersion and a concurrent writer's change makes it
//! fail with 409. Record times are the host's local clock, written as `MicroTime`s against
//! [`api::WALL_EPOCH_SECS`], as every other timestamp in the cluster.
//!
//! Timers: the owner gives a tag at construction and routes that tag to [`LeaseLock::on_timer`];
//! client events go to [`LeaseLock::on_client_event`], which ignores events it does not own.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use api::k8s_openapi::jiff::Timestamp;
use api::{Kind, Object, SharedObject};
use apiserver::{ApiEnvelope, ApiReply, GetOptions, Verb};
use sim::{Ctx, Time};

use crate::api_client::{ApiClient, ClientEvent};
use crate::klog;
use crate::leader_election::{
    ElectionConfig, ElectionEvent, LeaderElectionRecord, LeaderElector, LeaseReply, LeaseRequest,
    holder_identity,
};
use crate::wakeup::Wakeup;

/// A local virtual time as a `MicroTime` (microsecond precision, as the API stores it).
pub fn micro_time(t: Time) -> MicroTime {
    let micros = i128::from(t.as_nanos() / 1_000);
    let nanos = i128::from(api::WALL_EPOCH_SECS) * 1_000_000_000 + micros * 1_000;
    MicroTime(Timestamp::from_nanosecond(nanos).unwrap_or(Timestamp::MAX))
}

/// A `MicroTime` as virtual time (instants before the epoch become zero).
pub fn from_micro_time(t: &MicroTime) -> Time {
    let ns = t.0.as_nanosecond() - i128::from(api::WALL_EPOCH_SECS) * 1_000_000_000;
    Time::from_nanos(u64::try_from(ns.max(0)).unwrap_or(u64::MAX))
}

/// The record a Lease holds (`LeaseSpecToLeaderElectionRecord`).
pub fn record_of(lease: &Lease) -> LeaderElectionRecord {
    let spec = lease.spec.clone().unwrap_or_default();
    LeaderElectionRecord {
        holder_identity: spec.holder_identity.unwrap_or_default(),
        lease_duration_seconds: spec.lease_duration_seconds.unwrap_or(0),
        acquire_time: spec
            .acquire_time
            .as_ref()
            .map_or(Time::ZERO, from_micro_time),
        renew_time: spec.renew_time.as_ref().map_or(Time::ZERO, from_micro_time),
        leader_transitions: spec.lease_transitions.unwrap_or(0),
    }
}

/// The Lease spec for a record (`LeaderElectionRecordToLeaseSpec`).
pub fn spec_of(record: &LeaderElectionRecord) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(record.holder_identity.clone()),
        lease_duration_seconds: Some(record.lease_duration_seconds),
        acquire_time: Some(micro_time(record.acquire_time)),
        renew_time: Some(micro_time(record.renew_time)),
        lease_transitions: Some(record.leader_transitions),
        ..Default::default()
    }
}

/// Leader election on the Lease `namespace/name`.
#[derive(Debug)]
pub struct LeaseLock {
    namespace: String,
    name: String,
    elector: LeaderElector,
    /// API request id -> (elector request id, whether it is a get).
    in_flight: BTreeMap<u64, (u64, bool)>,
    /// The Lease as last read or written (what an update modifies).
    lease: Option<Lease>,
    timer: Wakeup,
}

impl LeaseLock {
    /// kube-controller-manager's lock is `kube-system/kube-controller-manager`, the scheduler's
    /// `kube-system/kube-scheduler`.
    pub fn new(namespace: &str, name: &str, cfg: ElectionConfig, timer_tag: u64) -> Self {
        LeaseLock {
            namespace: namespace.to_string(),
            name: name.to_string(),
            elector: LeaderElector::new(cfg),
            in_flight: BTreeMap::new(),
            lease: None,
            timer: Wakeup::new(timer_tag),
        }
    }

    pub fn elector(&self) -> &LeaderElector {
        &self.elector
    }

    pub fn is_leader(&self) -> bool {
        self.elector.is_leader()
    }

    /// A started process's campaign on `namespace/name` (kube-scheduler's and
    /// kube-controller-manager's `leaderelection.RunOrDie`): a new identity
    /// (`<hostname>_<uuid>`), the election's timings as `tune` sets them, and [`Self::start`].
    pub fn campaign<M: ApiEnvelope>(
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        hostname: &str,
        (namespace, name): (&str, &str),
        tune: impl FnOnce(&mut ElectionConfig),
        timer_tag: u64,
    ) -> (LeaseLock, Vec<ElectionEvent>) {
        let mut cfg = ElectionConfig::new(holder_identity(hostname, ctx.rng()));
        tune(&mut cfg);
        let mut lock = LeaseLock::new(namespace, name, cfg, timer_tag);
        let events = lock.start(ctx, client);
        (lock, events)
    }

    /// Starts campaigning. Returns the notifications (sends are done here). Logs client-go's
    /// lines, as its `acquire` does with `klog.Infof` (an unquoted message).
    pub fn start<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
    ) -> Vec<ElectionEvent> {
        klog::infof(
            ctx,
            "leaderelection.go:257",
            &format!(
                "attempting to acquire leader lease {}/{}...",
                self.namespace, self.name
            ),
        );
        let events = self.elector.start(ctx.now());
        self.perform(ctx, client, events)
    }

    pub fn owns_timer(&self, tag: u64) -> bool {
        tag == self.timer.tag()
    }

    pub fn on_timer<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
    ) -> Vec<ElectionEvent> {
        self.timer.fired();
        let now = ctx.now();
        let events = self.elector.on_wakeup(now, ctx.rng());
        self.perform(ctx, client, events)
    }

    /// Feeds a client event; `None` when it is not one of this lock's requests.
    pub fn on_client_event<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        event: &ClientEvent,
    ) -> Option<Vec<ElectionEvent>> {
        let ClientEvent::Response { id, result } = event else {
            return None;
        };
        let (elector_id, is_get) = self.in_flight.remove(id)?;
        let reply = match result {
            Ok(ApiReply::Object(obj)) => match obj.as_ref() {
                Object::Lease(lease) => {
                    self.lease = Some(lease.as_ref().clone());
                    let resource_version = obj.resource_version().to_string();
                    if is_get {
                        LeaseReply::Found {
                            record: record_of(lease),
                            resource_version,
                        }
                    } else {
                        LeaseReply::Written { resource_version }
                    }
                }
                _ => LeaseReply::Failed,
            },
            Err(e) if e.is_not_found() => LeaseReply::NotFound,
            _ => LeaseReply::Failed,
        };
        let now = ctx.now();
        let events = self.elector.on_reply(now, elector_id, reply, ctx.rng());
        Some(self.perform(ctx, client, events))
    }

    fn perform<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        events: Vec<ElectionEvent>,
    ) -> Vec<ElectionEvent> {
        let mut out = Vec::new();
        for e in events {
            match e {
                ElectionEvent::Send { id, request } => {
                    let verb = match &request {
                        LeaseRequest::Get => Verb::Get(GetOptions::default()),
                        LeaseRequest::Create(record) => {
                            Verb::Create(self.lease_object(record, None))
                        }
                        LeaseRequest::Update {
                            record,
                            resource_version,
                        } => Verb::Update(self.lease_object(record, Some(resource_version))),
                    };
                    let name = if matches!(request, LeaseRequest::Create(_)) {
                        ""
                    } else {
                        self.name.as_str()
                    };
                    let api_id = client.request(ctx, Kind::Lease, &self.namespace, name, verb);
                    self.in_flight
                        .insert(api_id, (id, matches!(request, LeaseRequest::Get)));
                }
                ElectionEvent::StartedLeading => {
                    klog::infof(
                        ctx,
                        "leaderelection.go:271",
                        &format!(
                            "successfully acquired lease {}/{}",
                            self.namespace, self.name
                        ),
                    );
                    out.push(ElectionEvent::StartedLeading);
                }
                other => out.push(other),
            }
        }
        self.arm(ctx);
        out
    }

    fn lease_object(
        &self,
        record: &LeaderElectionRecord,
        resource_version: Option<&String>,
    ) -> SharedObject {
        let mut lease = self.lease.clone().unwrap_or_else(|| Lease {
            metadata: ObjectMeta {
                namespace: Some(self.namespace.clone()),
                name: Some(self.name.clone()),
                ..Default::default()
            },
            spec: None,
        });
        lease.spec = Some(spec_of(record));
        if let Some(rv) = resource_version {
            lease.metadata.resource_version = Some(rv.clone());
        }
        Arc::new(Object::from(lease))
    }

    fn arm<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        let want = self.elector.next_wakeup();
        self.timer.arm(ctx, want);
    }
}
