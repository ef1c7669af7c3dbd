//! The cluster's always-on invariants over what the apiserver stored in etcd (DESIGN.md,
//! "Tests"), checked as each write is applied, so that a violation stops the run at the event
//! that caused it, with the seed:
//! - **no pod bound twice**: once a pod's `spec.nodeName` is set it never changes (the
//!   apiserver's `pods/binding` refuses a second bind: `pod X is already assigned to node`);
//! - **no node over-committed**: when a pod starts to count on a node (bound, not Succeeded or
//!   Failed), the requests of the pods counted there stay within the node's allocatable cpu,
//!   memory and pods, as the scheduler's NodeResourcesFit promises (`pkg/scheduler/framework/
//!   plugins/noderesources/fit.go`; terminating pods still count, as they do for the
//!   scheduler);
//! - **no ReplicaSet over-creation**: a pod created for a ReplicaSet never takes its active
//!   pods (not terminal, not being deleted: `controller.FilterActivePods`) beyond
//!   `spec.replicas`, which the controller's expectations exist to prevent
//!   (`pkg/controller/replicaset/replica_set.go`, `manageReplicas`). A create answered after
//!   the ReplicaSet was scaled down is a race the real controller has too, so creations within
//!   [`SCALE_DOWN_GRACE`] of a decrease of `spec.replicas` are not judged.
//!
//! How it stays cheap: the checker follows the Raft log of the etcd member that has applied
//! the most, from the last index it read; for each new entry it looks only at the keys the
//! write touched, and reads their current values from that member's store (one key lookup
//! each). Nothing is scanned per event; a full read of pods, nodes and ReplicaSets happens only
//! when the member it follows has compacted the entries it has not read yet (after a snapshot)
//! and on the first check.
//!
//! Simplifications: the values read are those after the whole batch of entries a member
//! applied in one event, so two writes of one key in one batch are judged by the last; the
//! checker reads a member's state directly (it is an observer, not a client: it sends nothing
//! and changes no trace).

use std::collections::BTreeMap;

use api::{Object, SharedObject};
use apiserver::storage::{CodecError, Encoded, Peeked, encoded_of};
use sim::{ActorId, Duration, HostId, HostState, Sim, Time};
use store::mvcc::{Bytes, KeyValue, RangeRequest, RequestOp, WriteRequest, prefix_end};
use store::server::EtcdMember;
use store::server::safety::JournalWrites;

use crate::cluster::Cluster;
use crate::message::{ClusterMsg, EtcdValue};

/// How long after a ReplicaSet's `spec.replicas` went down a create for it is not judged: an
/// apiserver request in flight when the scale-down was written (client-go's request timeout
/// is far shorter).
pub const SCALE_DOWN_GRACE: Duration = Duration::from_secs(60);

/// The name the engine reports the invariants under.
pub const INVARIANT_NAME: &str = "cluster invariants";

const POD_PREFIX: &str = "/registry/pods/";
const NODE_PREFIX: &str = "/registry/nodes/";
const REPLICASET_PREFIX: &str = "/registry/replicasets/";
const DEPLOYMENT_PREFIX: &str = "/registry/deployments/";
/// The keys [`ClusterInvariants::observe`] looks at.
const WATCHED_PREFIXES: [&str; 3] = [POD_PREFIX, NODE_PREFIX, REPLICASET_PREFIX];

/// Cpu (milli), memory (bytes) and pod count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Amounts {
    cpu_milli: i64,
    memory: i64,
    pods: i64,
}

impl Amounts {
    fn add(&mut self, other: Amounts, sign: i64) {
        self.cpu_milli += sign * other.cpu_milli;
        self.memory += sign * other.memory;
        self.pods += sign * other.pods;
    }

    /// The first resource above `limit`, as the scheduler's `Insufficient …` names it.
    fn over(&self, limit: &Amounts) -> Option<String> {
        if self.cpu_milli > limit.cpu_milli {
            return Some(format!(
                "cpu requests {}m > allocatable {}m",
                self.cpu_milli, limit.cpu_milli
            ));
        }
        if self.memory > limit.memory {
            return Some(format!(
                "memory requests {} > allocatable {}",
                self.memory, limit.memory
            ));
        }
        if self.pods > limit.pods {
            return Some(format!("{} pods > allocatable {}", self.pods, limit.pods));
        }
        None
    }
}

/// What the checker keeps of one pod.
#[derive(Clone, Debug)]
struct PodFacts {
    name: String,
    uid: String,
    node: Option<String>,
    requests: Amounts,
    /// Not Succeeded or Failed: occupies its node.
    non_terminal: bool,
    /// Non-terminal and not being deleted.
    active: bool,
    /// The uid of the ReplicaSet that controls it.
    replica_set: Option<String>,
}

impl PodFacts {
    fn of(o: &Object) -> Option<PodFacts> {
        let pod = o.as_pod()?;
        let spec = pod.spec.as_ref();
        let (cpu_milli, memory) = spec.map_or((0, 0), |s| {
            api::resources::cpu_memory(&api::resources::pod_requests(s))
        });
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let non_terminal = !matches!(phase, Some("Succeeded" | "Failed"));
        Some(PodFacts {
            name: format!("{}/{}", o.namespace(), o.name()),
            uid: o.uid().to_string(),
            node: spec
                .and_then(|s| s.node_name.clone())
                .filter(|n| !n.is_empty()),
            requests: Amounts {
                cpu_milli,
                memory,
                pods: 1,
            },
            non_terminal,
            active: non_terminal && !o.is_terminating(),
            replica_set: o
                .controller_ref()
                .filter(|r| r.kind == "ReplicaSet")
                .map(|r| r.uid.clone()),
        })
    }

    /// The node it counts on.
    fn counted_on(&self) -> Option<&str> {
        self.node.as_deref().filter(|_| self.non_terminal)
    }
}

#[derive(Clone, Debug)]
struct ReplicaSetFacts {
    name: String,
    replicas: i64,
    active: i64,
    scaled_down_at: Option<Time>,
}

/// The invariants' state: what the followed member's store held at `applied`.
#[derive(Debug)]
pub struct ClusterInvariants {
    members: Vec<(ActorId, HostId)>,
    /// What the last check saw; see [`Seen`].
    seen: Seen,
    /// The Raft index read up to; `None` before the first (full) read.
    applied: Option<u64>,
    pods: BTreeMap<Bytes, PodFacts>,
    nodes: BTreeMap<String, Amounts>,
    node_keys: BTreeMap<Bytes, String>,
    used: BTreeMap<String, Amounts>,
    replica_sets: BTreeMap<String, ReplicaSetFacts>,
    replica_set_keys: BTreeMap<Bytes, String>,
    /// Pods that counted before their ReplicaSet was seen, by ReplicaSet uid.
    orphan_active: BTreeMap<String, i64>,
    /// The object last read under each watched key, when it was decoded. The checker reads
    /// a revision as its member applies it, before the apiservers' watches deliver it;
    /// holding a decode lets their watch caches share it instead of each decoding the
    /// revision again (`storage::Encoded::decode_at`). They hold the same newest revisions,
    /// so this costs little memory. Mostly the write is still in flight and the checker
    /// reads the writer's object, which it does not hold: the writer stamps it for its reply
    /// and the other apiservers share that.
    held: BTreeMap<Bytes, SharedObject>,
}

type Member = EtcdMember<EtcdValue>;

/// Whether anything the checker reads can have moved since its last check, without looking
/// the members up (it runs after every member event, most of them heartbeats; looking up
/// three members' Raft state each time was ~3% of a fuzz run). A member's applied index, and
/// whether it runs, change only with a record in its safety journal (an applied entry, a
/// loaded snapshot, a start) or with its host's state; so while the members' journal counts
/// and host states stand still, the followed member and its applied index do too (a member
/// rebuilt by a restart but not started yet is skipped by `followed`, which can only lower
/// the maximum, and a lower one is ignored).
#[derive(Debug, Default)]
struct Seen {
    /// Each member's journal count, when every member was found at install.
    counts: Option<Vec<JournalWrites>>,
    /// The sum of those counts and the members' host states at the last check.
    last: Option<(u64, Vec<Option<HostState>>)>,
}

impl Seen {
    fn new(sim: &Sim<ClusterMsg>, members: &[(ActorId, HostId)]) -> Seen {
        Seen {
            counts: members
                .iter()
                .map(|(a, _)| sim.actor::<Member>(*a).map(|m| m.journal_writes()))
                .collect(),
            last: None,
        }
    }

    /// Records what the members show now; false if it is what the last check saw.
    fn moved(&mut self, sim: &Sim<ClusterMsg>, members: &[(ActorId, HostId)]) -> bool {
        let Some(counts) = &self.counts else {
            return true;
        };
        let sum = counts.iter().map(JournalWrites::get).sum::<u64>();
        if let Some((last_sum, states)) = &mut self.last
            && *last_sum == sum
            && members
                .iter()
                .zip(states.iter())
                .all(|((_, h), s)| sim.host_state(*h) == *s)
        {
            return false;
        }
        let states = members.iter().map(|(_, h)| sim.host_state(*h)).collect();
        self.last = Some((sum, states));
        true
    }
}

fn watched(key: &[u8]) -> bool {
    [POD_PREFIX, NODE_PREFIX, REPLICASET_PREFIX]
        .iter()
        .any(|p| key.starts_with(p.as_bytes()))
}

impl ClusterInvariants {
    pub fn new(members: Vec<(ActorId, HostId)>) -> ClusterInvariants {
        ClusterInvariants {
            members,
            seen: Seen::default(),
            applied: None,
            pods: BTreeMap::new(),
            nodes: BTreeMap::new(),
            node_keys: BTreeMap::new(),
            used: BTreeMap::new(),
            replica_sets: BTreeMap::new(),
            replica_set_keys: BTreeMap::new(),
            orphan_active: BTreeMap::new(),
            held: BTreeMap::new(),
        }
    }

    /// The running member that has applied the most, and its applied index.
    fn followed<'s>(&self, sim: &'s Sim<ClusterMsg>) -> Option<(&'s Member, u64)> {
        self.members
            .iter()
            .filter(|(_, h)| sim.host_state(*h) == Some(HostState::Up))
            .filter_map(|(a, _)| {
                let m = sim.actor::<Member>(*a)?;
                let applied = m.raw_node()?.raft().log.applied();
                m.store()?;
                Some((m, applied))
            })
            .max_by_key(|(_, applied)| *applied)
    }

    /// Checks what was applied since the last call.
    pub fn check(&mut self, sim: &Sim<ClusterMsg>) -> Result<(), String> {
        if !self.seen.moved(sim, &self.members) {
            return Ok(());
        }
        let Some((member, applied)) = self.followed(sim) else {
            return Ok(());
        };
        let from = match self.applied {
            Some(done) if applied <= done => return Ok(()),
            Some(done) => done + 1,
            None => {
                self.reload(member);
                self.applied = Some(applied);
                return Ok(());
            }
        };
        let log = &member.raw_node().map(|n| &n.raft().log);
        let Some(log) = log else { return Ok(()) };
        let mut touched: Vec<Bytes> = Vec::new();
        for index in from..=applied {
            let Some(entry) = log.entry(index) else {
                // Compacted into a snapshot before we read it: read everything again.
                self.reload(member);
                self.applied = Some(applied);
                return Ok(());
            };
            let Some(proposal) = &entry.data else {
                continue;
            };
            if touched_keys(&proposal.request, &mut touched) {
                self.reload(member);
                self.applied = Some(applied);
                return Ok(());
            }
        }
        self.applied = Some(applied);
        let mut seen: Vec<&Bytes> = Vec::with_capacity(touched.len());
        let now = sim.now();
        for key in &touched {
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if !WATCHED_PREFIXES
                .iter()
                .any(|p| key.starts_with(p.as_bytes()))
            {
                // Nothing to judge: do not decode it.
                continue;
            }
            let value = current(member, key);
            match &value {
                Some(Peeked::Decoded(o)) => self.held.insert(key.clone(), o.clone()),
                Some(Peeked::Written(_)) | None => self.held.remove(key),
            };
            self.observe(key, value.as_ref().map(Peeked::object), now, true)?;
        }
        Ok(())
    }

    /// Forgets everything and reads pods, nodes and ReplicaSets from the member's store.
    fn reload(&mut self, member: &Member) {
        let members = std::mem::take(&mut self.members);
        let seen = std::mem::take(&mut self.seen);
        *self = ClusterInvariants::new(members);
        self.seen = seen;
        let Some(store) = member.store() else { return };
        // Nodes and ReplicaSets first, so that pods find them.
        for prefix in [NODE_PREFIX, REPLICASET_PREFIX, POD_PREFIX] {
            let req = RangeRequest {
                key: store::mvcc::bytes(prefix),
                range_end: Some(prefix_end(prefix.as_bytes())),
                limit: 0,
                revision: 0,
                count_only: false,
                keys_only: false,
            };
            let Ok(resp) = store.range(&req) else {
                continue;
            };
            for kv in resp.kvs {
                if let Some(o) = decoded(&kv, Encoded::decode_at) {
                    // A reload judges nothing: it only rebuilds the state.
                    let _ = self.observe(&kv.key, Some(&o), Time::ZERO, false);
                    self.held.insert(kv.key, o);
                }
            }
        }
    }

    /// Applies the new state of one key (`None`: deleted); `judge` is false while reloading.
    fn observe(
        &mut self,
        key: &Bytes,
        value: Option<&SharedObject>,
        now: Time,
        judge: bool,
    ) -> Result<(), String> {
        if key.starts_with(POD_PREFIX.as_bytes()) {
            let new = value.and_then(|o| PodFacts::of(o));
            self.pod(key, new, now, judge)
        } else if key.starts_with(NODE_PREFIX.as_bytes()) {
            self.node(key, value);
            Ok(())
        } else if key.starts_with(REPLICASET_PREFIX.as_bytes()) {
            self.replica_set(key, value, now);
            Ok(())
        } else {
            Ok(())
        }
    }

    fn node(&mut self, key: &Bytes, value: Option<&SharedObject>) {
        match value.map(|o| &**o) {
            Some(Object::Node(node)) => {
                let alloc = api::resources::parse_list(
                    node.status.as_ref().and_then(|s| s.allocatable.as_ref()),
                );
                let (cpu_milli, memory) = api::resources::cpu_memory(&alloc);
                let pods = alloc.get("pods").map_or(0, |q| q.value());
                let name = node.metadata.name.clone().unwrap_or_default();
                self.node_keys.insert(key.clone(), name.clone());
                // A node that reports no allocatable yet (registering) is not judged.
                if alloc.is_empty() {
                    self.nodes.remove(&name);
                } else {
                    self.nodes.insert(
                        name,
                        Amounts {
                            cpu_milli,
                            memory,
                            pods,
                        },
                    );
                }
            }
            _ => {
                if let Some(name) = self.node_keys.remove(key) {
                    self.nodes.remove(&name);
                }
            }
        }
    }

    fn replica_set(&mut self, key: &Bytes, value: Option<&SharedObject>, now: Time) {
        match value.map(|o| &**o) {
            Some(Object::ReplicaSet(rs)) => {
                let uid = rs.metadata.uid.clone().unwrap_or_default();
                let replicas = i64::from(rs.spec.replicas.unwrap_or(1));
                let name = format!(
                    "{}/{}",
                    rs.metadata.namespace.as_deref().unwrap_or(""),
                    rs.metadata.name.as_deref().unwrap_or("")
                );
                self.replica_set_keys.insert(key.clone(), uid.clone());
                let orphans = self.orphan_active.remove(&uid).unwrap_or(0);
                let facts = self
                    .replica_sets
                    .entry(uid)
                    .or_insert_with(|| ReplicaSetFacts {
                        name,
                        replicas,
                        active: 0,
                        scaled_down_at: None,
                    });
                facts.active += orphans;
                if replicas < facts.replicas {
                    facts.scaled_down_at = Some(now);
                }
                facts.replicas = replicas;
            }
            _ => {
                if let Some(uid) = self.replica_set_keys.remove(key) {
                    self.replica_sets.remove(&uid);
                }
            }
        }
    }

    fn pod(
        &mut self,
        key: &Bytes,
        new: Option<PodFacts>,
        now: Time,
        judge: bool,
    ) -> Result<(), String> {
        let old = match &new {
            Some(n) => self.pods.insert(key.clone(), n.clone()),
            None => self.pods.remove(key),
        };
        // Undo what the old state counted, then count the new one.
        if let Some(o) = &old {
            if let Some(node) = o.counted_on()
                && let Some(used) = self.used.get_mut(node)
            {
                used.add(o.requests, -1);
            }
            if o.active
                && let Some(rs) = &o.replica_set
            {
                self.count_replica(rs, -1);
            }
        }
        let Some(n) = &new else { return Ok(()) };
        if let Some(node) = n.counted_on() {
            self.used
                .entry(node.to_string())
                .or_default()
                .add(n.requests, 1);
        }
        if n.active
            && let Some(rs) = &n.replica_set
        {
            self.count_replica(rs, 1);
        }
        if !judge {
            return Ok(());
        }
        let same_pod = old.as_ref().filter(|o| o.uid == n.uid);
        if let Some(o) = same_pod
            && let Some(was) = &o.node
            && n.node.as_ref() != Some(was)
        {
            return Err(format!(
                "pod {} (uid {}) bound twice: spec.nodeName was {was:?}, now {:?}",
                n.name, n.uid, n.node
            ));
        }
        let counted_before = same_pod.and_then(|o| o.counted_on());
        if let Some(node) = n.counted_on()
            && counted_before != Some(node)
            && let (Some(used), Some(alloc)) = (self.used.get(node), self.nodes.get(node))
            && let Some(why) = used.over(alloc)
        {
            return Err(format!(
                "node {node} over-committed when pod {} was bound to it: {why}",
                n.name
            ));
        }
        if same_pod.is_none()
            && n.active
            && let Some(uid) = &n.replica_set
            && let Some(rs) = self.replica_sets.get(uid)
            && rs.active > rs.replicas
            && rs
                .scaled_down_at
                .is_none_or(|t| now.saturating_since(t) > SCALE_DOWN_GRACE)
        {
            return Err(format!(
                "ReplicaSet {} over-created: pod {} makes {} active pods for spec.replicas {}",
                rs.name, n.name, rs.active, rs.replicas
            ));
        }
        Ok(())
    }

    fn count_replica(&mut self, uid: &str, delta: i64) {
        match self.replica_sets.get_mut(uid) {
            Some(rs) => rs.active += delta,
            None => *self.orphan_active.entry(uid.to_string()).or_default() += delta,
        }
    }
}

/// Pushes the watched keys a write touches; `true` when it deletes a range of them (the caller
/// then reads everything again).
fn touched_keys(req: &WriteRequest<EtcdValue>, out: &mut Vec<Bytes>) -> bool {
    let mut ranged = false;
    let mut op = |key: &Bytes, range_end: Option<&Bytes>| {
        if range_end.is_some() {
            ranged |= watched(key) || key.as_ref() <= b"/registry/";
        } else if watched(key) {
            out.push(key.clone());
        }
    };
    match req {
        WriteRequest::Put(p) => op(&p.key, None),
        WriteRequest::DeleteRange(d) => op(&d.key, d.range_end.as_ref()),
        WriteRequest::Txn(t) => {
            for o in t.success.iter().chain(&t.failure) {
                match o {
                    RequestOp::Put(p) => op(&p.key, None),
                    RequestOp::DeleteRange(d) => op(&d.key, d.range_end.as_ref()),
                    RequestOp::Range(_) => {}
                }
            }
        }
        WriteRequest::Compact { .. }
        | WriteRequest::LeaseGrant { .. }
        | WriteRequest::LeaseRevoke { .. } => {}
    }
    ranged
}

/// The object stored at `key` now, if any: while its write is in flight the writer's own
/// object, without a resourceVersion ([`Encoded::peek_at`]), which the checks do not read.
fn current(member: &Member, key: &Bytes) -> Option<Peeked> {
    let store = member.store()?;
    let req = RangeRequest {
        key: key.clone(),
        range_end: None,
        limit: 1,
        revision: 0,
        count_only: false,
        keys_only: false,
    };
    let resp = store.range(&req).ok()?;
    decoded(resp.kvs.first()?, Encoded::peek_at)
}

/// The object in a stored key-value as `read` gives it at the key's revision (`None` for
/// what is not one).
fn decoded<T>(
    kv: &KeyValue<EtcdValue>,
    read: impl FnOnce(&Encoded, i64) -> Result<T, CodecError>,
) -> Option<T> {
    read(encoded_of(kv)?, kv.mod_revision).ok()
}

impl Cluster {
    /// Installs the cluster's always-on invariants (see the module doc) as an engine invariant:
    /// a violation stops the run with a finding naming the seed.
    pub fn install_invariants(&mut self) {
        let members = self
            .etcd_members()
            .iter()
            .map(|m| (m.actor, m.host))
            .collect();
        let actors: Vec<ActorId> = self.etcd_members().iter().map(|m| m.actor).collect();
        let mut invariants = ClusterInvariants::new(members);
        invariants.seen = Seen::new(self.sim(), &invariants.members);
        // It reads only the members (their applied state) and their hosts' states: checked
        // after their events and after faults, the only ones that change what it reads.
        self.sim_mut()
            .add_invariant_on(INVARIANT_NAME, &actors, move |sim| invariants.check(sim));
    }
}

/// Every object of `prefix` in the store of the running member that has applied the most.
fn stored_objects(cluster: &Cluster, prefix: &str) -> Vec<SharedObject> {
    let sim = cluster.sim();
    let best = cluster
        .etcd_members()
        .iter()
        .filter(|m| sim.host_state(m.host) == Some(HostState::Up))
        .filter_map(|m| {
            let member = sim.actor::<Member>(m.actor)?;
            let applied = member.raw_node()?.raft().log.applied();
            Some((member.store()?, applied))
        })
        .max_by_key(|(_, applied)| *applied);
    let Some((store, _)) = best else {
        return Vec::new();
    };
    let req = RangeRequest {
        key: store::mvcc::bytes(prefix),
        range_end: Some(prefix_end(prefix.as_bytes())),
        limit: 0,
        revision: 0,
        count_only: false,
        keys_only: false,
    };
    store
        .range(&req)
        .map(|r| {
            r.kvs
                .iter()
                .filter_map(|kv| decoded(kv, Encoded::decode_at))
                .collect()
        })
        .unwrap_or_default()
}

impl Cluster {
    /// Liveness after faults heal (DESIGN.md, "Tests"): every Deployment has
    /// `status.readyReplicas == spec.replicas` and no pod has been Pending for longer than
    /// `pending_for` (by its creationTimestamp). `Err` says what has not converged. Reads the
    /// store of the most advanced running etcd member, so it sends nothing; a caller polls it
    /// for a bounded settle time.
    pub fn converged(&self, pending_for: Duration) -> Result<(), String> {
        let mut problems = Vec::new();
        for o in stored_objects(self, DEPLOYMENT_PREFIX) {
            let Object::Deployment(d) = &*o else { continue };
            let want = d.spec.replicas.unwrap_or(1);
            let ready = d
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            if ready != want {
                problems.push(format!(
                    "deployment {}/{} has {ready} of {want} replicas ready",
                    o.namespace(),
                    o.name()
                ));
            }
        }
        let now_secs = self.sim().now().as_secs() as i64;
        for o in stored_objects(self, POD_PREFIX) {
            let Some(pod) = o.as_pod() else { continue };
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if phase != Some("Pending") || o.is_terminating() {
                continue;
            }
            let created = pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(now_secs, apiserver::objects::virtual_secs);
            let age = now_secs.saturating_sub(created);
            if age > pending_for.as_secs() as i64 {
                problems.push(format!(
                    "pod {}/{} Pending for {age}s",
                    o.namespace(),
                    o.name()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Kind;
    use apiserver::storage::kind_prefix;

    #[test]
    fn prefixes_are_the_apiservers_keys() {
        assert_eq!(kind_prefix(Kind::Pod), POD_PREFIX);
        assert_eq!(kind_prefix(Kind::Node), NODE_PREFIX);
        assert_eq!(kind_prefix(Kind::ReplicaSet), REPLICASET_PREFIX);
        assert_eq!(kind_prefix(Kind::Deployment), DEPLOYMENT_PREFIX);
    }
}
