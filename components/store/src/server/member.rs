//! `EtcdMember`: one etcd server as an actor. It drives its Raft node on 100 ms engine ticks,
//! persists hard state, entries and snapshots to the host's disk and waits for the fsync
//! before sending anything that acknowledges them, applies committed entries to its MVCC
//! store, and serves clients over connection streams.
//!
//! Follows etcd `server/etcdserver/server.go`, `raft.go` (the Ready loop: save, then send,
//! then apply) and `v3_server.go`:
//! - writes go through Raft; a follower's proposal is forwarded to the leader inside Raft, and
//!   the member that took the request answers once it has applied the entry itself;
//! - linearizable reads use ReadIndex on whichever member the client talks to; serializable
//!   reads are served from the local store;
//! - a request not answered within `request_timeout` (etcd: 5 s + 2 × election timeout = 7 s)
//!   gets "etcdserver: request timed out"; proposals made while there is no leader wait for
//!   one until then, as etcd's blocking propose does;
//! - lease clocks run on the leader only; it proposes `LeaseRevoke` for expired leases (every
//!   500 ms, as etcd's `revokeExpiredLeases` loop) and answers keep-alives. A follower answers
//!   a keep-alive with "etcdserver: not leader" and the client resends it to the leader (etcd
//!   forwards it to the leader over the peer API instead);
//! - a member without a leader for three election timeouts cancels its watches (etcd's
//!   `monitorLeader` with `maxNoLeaderCnt` = 3) so clients resume them elsewhere.
//!
//! Restart: a crashed member rebuilds its Raft node from the WAL and snapshot on disk and
//! re-applies committed entries. Disk loss: real etcd refuses to start a member whose data
//! directory is gone but that its cluster already knows ("member ... has already been
//! bootstrapped"); it must be removed and re-added as a new member. Membership here is static,
//! so a member that lost its disk stays down (it logs etcd's error and ignores all traffic)
//! rather than rejoining with an empty log, which could make it vote twice in one term.
//!
//! Simplifications: snapshots compact the log at the applied index (etcd keeps 5,000
//! catch-up entries); every linearizable read gets its own ReadIndex round (etcd batches
//! them); static membership, no learners.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sim::{Actor, ActorId, Ctx, Disk, Duration, StreamClose, StreamId};

use super::message::*;
use super::safety::{JournalWrites, SafetyJournal, SafetyRecord};
use super::{storage, zap};

/// The release `starting etcd server` reports (kind's etcd image, 3.5.21-0).
const ETCD_VERSION: &str = "3.5.21";
use crate::mvcc::{
    LeaseClock, MvccStore, RangeRequest, Value, WatchRequest, WriteRequest, WriteResponse,
};
use crate::raft::{self, HardState, Persisted, RawNode, Ready, Role};

const TICK_TAG: u64 = 1;
/// Ready rounds handled per event without an fsync in between (bounds one handler's work).
const MAX_READY_ROUNDS: usize = 64;

#[derive(Clone, Debug)]
pub struct EtcdConfig {
    pub member_id: u64,
    /// Every member (this one included) and its actor.
    pub peers: BTreeMap<u64, ActorId>,
    pub tick: Duration,
    pub heartbeat_ticks: u64,
    pub election_ticks: u64,
    pub request_timeout: Duration,
    /// Applied entries between snapshots (etcd `--snapshot-count`, default 100,000).
    pub snapshot_count: u64,
    /// Requests waiting for Raft at once; more get "etcdserver: too many requests".
    pub max_pending_requests: usize,
    /// Lease expiry is checked every this many ticks (etcd: every 500 ms).
    pub lease_check_ticks: u64,
    /// A planted bug for the fuzzer's self-test (`fuzz/tests/planted_bug.rs`): finish a Ready
    /// (send votes and append acknowledgements, count the entries as stable, apply) without
    /// waiting for its fsync, so a crash can lose what the member acknowledged. Off by default;
    /// never set it elsewhere.
    pub planted_bug_ack_before_fsync: bool,
}

impl EtcdConfig {
    /// etcd's defaults (heartbeat 100 ms, election 1000 ms; FIDELITY F1).
    pub fn new(member_id: u64, peers: BTreeMap<u64, ActorId>) -> Self {
        EtcdConfig {
            member_id,
            peers,
            tick: Duration::from_millis(100),
            heartbeat_ticks: 1,
            election_ticks: 10,
            request_timeout: Duration::from_millis(7000),
            snapshot_count: 100_000,
            max_pending_requests: 10_000,
            lease_check_ticks: 5,
            planted_bug_ack_before_fsync: false,
        }
    }
}

type Node<V> = RawNode<EntryData<V>, SnapshotData<V>>;
type EtcdReady<V> = Ready<EntryData<V>, SnapshotData<V>>;

struct WriteWaiter<V> {
    stream: StreamId,
    request_id: u64,
    deadline_ns: u64,
    /// Not yet accepted by Raft (no leader known): retried every tick.
    unproposed: Option<EntryData<V>>,
}

struct ReadWaiter {
    stream: StreamId,
    request_id: u64,
    request: RangeRequest,
    deadline_ns: u64,
    /// Set once the read index is known; served when applied.
    index: Option<u64>,
}

struct WatchSub {
    stream: StreamId,
    watch_id: u64,
    /// The next revision this watcher should see.
    next_revision: i64,
    key: crate::mvcc::Bytes,
    range_end: Option<crate::mvcc::Bytes>,
    prev_kv: bool,
}

struct Running<V> {
    node: Node<V>,
    store: MvccStore<V>,
    applied_index: u64,
    snapshot_index: u64,
    fsync: Option<(u64, EtcdReady<V>)>,
    /// The hard state last written to the WAL.
    persisted_hard: HardState,
    next_fsync_token: u64,
    /// This boot's number (see `storage::bootstrap`), part of every proposal id.
    boot: u64,
    next_proposal: u64,
    writes: BTreeMap<u64, WriteWaiter<V>>,
    next_read: u64,
    reads: BTreeMap<u64, ReadWaiter>,
    /// Hub watcher id → subscription.
    watches: BTreeMap<i64, WatchSub>,
    lease_clock: LeaseClock,
    revoking: BTreeSet<i64>,
    leaderless_ticks: u64,
    ticks: u64,
    journal: SafetyJournal,
    /// Snapshots received from a leader and loaded.
    snapshots_installed: u64,
    /// The index of the newest snapshot written to disk and not yet covered by an fsync.
    snapshot_unsynced: Option<u64>,
    /// The fsync (by token) that makes the snapshot at this index durable, once it completes:
    /// the safety monitor learns it then (`SafetyRecord::SnapshotDurable`).
    snapshot_syncing: Option<(u64, u64)>,
}

enum State<V> {
    /// Built from disk by the factory; becomes `Running` in `on_start`.
    Loaded(Box<Persisted<EntryData<V>, SnapshotData<V>>>),
    Running(Box<Running<V>>),
    /// The data directory was lost: etcd refuses to start.
    Refused,
}

pub struct EtcdMember<V> {
    cfg: EtcdConfig,
    state: State<V>,
    /// Shared by the member's incarnations (the factory's) and the safety invariant.
    journal_writes: JournalWrites,
}

impl<V: Value + Default + 'static> EtcdMember<V> {
    /// The engine factory: builds the member from its disk at boot and after every restart.
    /// It remembers whether the member booted before, to recognise a lost disk.
    pub fn factory(cfg: EtcdConfig) -> impl FnMut(&Disk) -> EtcdMember<V> + 'static {
        let mut booted = false;
        let journal_writes = JournalWrites::default();
        move |disk: &Disk| {
            let state = if booted && !storage::is_bootstrapped(disk) {
                State::Refused
            } else {
                State::Loaded(Box::new(storage::load::<V>(disk)))
            };
            booted = true;
            EtcdMember {
                cfg: cfg.clone(),
                state,
                journal_writes: journal_writes.clone(),
            }
        }
    }

    pub fn id(&self) -> u64 {
        self.cfg.member_id
    }

    fn running(&self) -> Option<&Running<V>> {
        match &self.state {
            State::Running(r) => Some(r),
            _ => None,
        }
    }

    pub fn raw_node(&self) -> Option<&Node<V>> {
        self.running().map(|r| &r.node)
    }

    pub fn journal(&self) -> Option<&SafetyJournal> {
        self.running().map(|r| &r.journal)
    }

    /// The count of records its journals took, which moves whenever a journal does.
    pub fn journal_writes(&self) -> JournalWrites {
        self.journal_writes.clone()
    }

    pub fn store(&self) -> Option<&MvccStore<V>> {
        self.running().map(|r| &r.store)
    }

    pub fn snapshots_installed(&self) -> u64 {
        self.running().map_or(0, |r| r.snapshots_installed)
    }

    pub fn is_refused(&self) -> bool {
        matches!(self.state, State::Refused)
    }

    pub fn status(&self) -> Option<StatusInfo> {
        self.running().map(|r| status_of(self.cfg.member_id, r))
    }
}

fn status_of<V: Value + Default>(member_id: u64, r: &Running<V>) -> StatusInfo {
    let s = r.node.status();
    StatusInfo {
        member_id,
        leader: s.lead,
        raft_term: s.term,
        raft_index: s.last_index,
        raft_applied_index: r.applied_index,
        db_size_bytes: r.store.size_bytes() as u64,
    }
}

impl<V: Value + Default + 'static> EtcdMember<V> {
    fn start(&mut self, ctx: &mut Ctx<'_, impl EtcdEnvelope<V>>) {
        let persisted = match std::mem::replace(&mut self.state, State::Refused) {
            State::Loaded(p) => *p,
            State::Refused => {
                zap::log(
                    ctx,
                    zap::Level::Fatal,
                    "etcdmain/etcd.go",
                    "discovery failed",
                    &[(
                        "error",
                        format!(
                            "member {:x} has already been bootstrapped",
                            self.cfg.member_id
                        )
                        .into(),
                    )],
                );
                return;
            }
            running @ State::Running(_) => {
                self.state = running;
                return;
            }
        };
        let boot = storage::bootstrap(ctx.disk(), self.cfg.member_id);
        let mut rc = raft::Config::etcd_defaults(
            self.cfg.member_id,
            self.cfg.peers.keys().copied().collect(),
            ctx.rng().next_u64(),
        );
        rc.heartbeat_ticks = self.cfg.heartbeat_ticks;
        rc.election_ticks = self.cfg.election_ticks;
        let (store, snapshot_index, snapshot_term) = match &persisted.snapshot {
            Some(s) => {
                let mut st = MvccStore::new();
                st.restore(&s.data);
                (st, s.index, s.term)
            }
            None => (MvccStore::new(), 0, 0),
        };
        let persisted_hard = persisted.hard_state;
        let node = match RawNode::new(rc, persisted) {
            Ok(n) => n,
            Err(e) => {
                zap::log(
                    ctx,
                    zap::Level::Fatal,
                    "etcdserver/raft.go",
                    "failed to create raft node",
                    &[("error", e.to_string().into())],
                );
                return;
            }
        };
        let mut journal = SafetyJournal::new(
            ctx.rng().next_u64(),
            snapshot_index,
            self.journal_writes.clone(),
        );
        if snapshot_index > 0 {
            journal.push(SafetyRecord::SnapshotLoaded {
                index: snapshot_index,
                term: snapshot_term,
            });
        }
        self.state = State::Running(Box::new(Running {
            node,
            store,
            applied_index: snapshot_index,
            snapshot_index,
            fsync: None,
            persisted_hard,
            next_fsync_token: 0,
            boot,
            next_proposal: 0,
            writes: BTreeMap::new(),
            next_read: 0,
            reads: BTreeMap::new(),
            watches: BTreeMap::new(),
            lease_clock: LeaseClock::default(),
            revoking: BTreeSet::new(),
            leaderless_ticks: 0,
            ticks: 0,
            journal,
            snapshots_installed: 0,
            snapshot_unsynced: None,
            snapshot_syncing: None,
        }));
        let id = zap::member_id(self.cfg.member_id);
        if boot > 1 {
            zap::log(
                ctx,
                zap::Level::Info,
                "etcdserver/bootstrap.go",
                "restarting local member",
                &[
                    ("local-member-id", id.clone()),
                    ("commit-index", persisted_hard.commit.into()),
                ],
            );
        }
        zap::log(
            ctx,
            zap::Level::Info,
            "etcdserver/server.go",
            "starting etcd server",
            &[
                ("local-member-id", id),
                ("local-server-version", ETCD_VERSION.into()),
                ("cluster-version", "to_be_decided".into()),
            ],
        );
        ctx.set_timer(self.cfg.tick, TICK_TAG);
        self.drive(ctx);
    }

    /// Take Ready batches until one needs an fsync (then wait for `on_fsync`).
    fn drive<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>) {
        for _ in 0..MAX_READY_ROUNDS {
            let State::Running(r) = &mut self.state else {
                return;
            };
            if r.fsync.is_some() || !r.node.has_ready() {
                return;
            }
            let mut rd = r.node.ready();
            // As etcd's leader, send appends, heartbeats and snapshots while the write is in
            // progress: they acknowledge nothing, and Raft counts the leader's own entries only
            // once persisted. Everything else (votes, append responses) waits for the fsync.
            // In place, in order: no new vectors for a heartbeat's Ready.
            for m in rd
                .messages
                .extract_if(.., |m| raft::node::may_send_before_persisting(m))
            {
                if let Some(&to) = self.cfg.peers.get(&m.to) {
                    ctx.send(to, M::wrap(EtcdMessage::Raft(Box::new(m))));
                }
            }
            if let Some(s) = &rd.snapshot {
                r.snapshot_unsynced = Some(s.index);
            }
            if storage::write_ready::<V>(ctx.disk(), &rd, &mut r.persisted_hard) {
                r.next_fsync_token += 1;
                let token = r.next_fsync_token;
                ctx.fsync(token);
                if let Some(index) = r.snapshot_unsynced.take() {
                    r.snapshot_syncing = Some((token, index));
                }
                if self.cfg.planted_bug_ack_before_fsync {
                    self.finish_ready(ctx, rd);
                    continue;
                }
                r.fsync = Some((token, rd));
                return;
            }
            self.finish_ready(ctx, rd);
        }
    }

    /// The Ready's writes are durable: send, apply, advance.
    fn finish_ready<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        rd: Ready<EntryData<V>, SnapshotData<V>>,
    ) {
        let me = self.cfg.member_id;
        let State::Running(r) = &mut self.state else {
            return;
        };
        let mut messages = rd.messages;
        for m in messages.drain(..) {
            if let Some(&to) = self.cfg.peers.get(&m.to) {
                ctx.send(to, M::wrap(EtcdMessage::Raft(Box::new(m))));
            }
        }
        r.node.recycle_messages(messages);
        for term in rd.became_leader {
            r.journal.push(SafetyRecord::BecameLeader { term });
            zap::log(
                ctx,
                zap::Level::Info,
                "etcdserver/zap_raft.go",
                &format!("{me:x} became leader at term {term}"),
                &[],
            );
        }
        if let Some(soft) = rd.soft_state {
            if soft.role == Role::Leader {
                let now = ctx.now().as_nanos();
                r.lease_clock.promote(now, r.store.leases().ids());
            } else {
                r.lease_clock.demote();
                r.revoking.clear();
            }
        }
        if let Some(snap) = rd.snapshot {
            r.store.restore(&snap.data);
            r.applied_index = snap.index;
            r.snapshot_index = snap.index;
            r.snapshots_installed += 1;
            r.journal.push(SafetyRecord::SnapshotLoaded {
                index: snap.index,
                term: snap.term,
            });
            zap::log(
                ctx,
                zap::Level::Info,
                "etcdserver/server.go",
                "applied snapshot",
                &[
                    ("local-member-id", zap::member_id(me)),
                    ("incoming-leader-snapshot-index", snap.index.into()),
                ],
            );
            resync_watches(ctx, me, r);
        }
        let now = ctx.now().as_nanos();
        for e in rd.committed_entries {
            r.applied_index = e.index;
            r.journal.push(SafetyRecord::Applied {
                index: e.index,
                term: e.term,
                proposal: e.data.as_ref().map(|p| p.id),
            });
            let Some(p) = e.data else { continue };
            let result = r.store.apply(&p.request);
            match (p.request.as_ref(), &result) {
                (
                    WriteRequest::LeaseGrant { .. },
                    Ok(WriteResponse::LeaseGrant {
                        id, ttl_seconds, ..
                    }),
                ) if r.node.raft().role == Role::Leader => {
                    r.lease_clock.renew(*id, *ttl_seconds, now);
                }
                (WriteRequest::LeaseRevoke { id }, _) => {
                    r.lease_clock.forget(*id);
                    r.revoking.remove(id);
                }
                _ => {}
            }
            if p.id.member == me
                && p.id.boot == r.boot
                && let Some(w) = r.writes.remove(&p.id.seq)
            {
                let header = header(me, r);
                let result = result.map(ResponseBody::Write).map_err(EtcdError::from);
                let _ = ctx.stream_send(
                    w.stream,
                    M::wrap(EtcdMessage::Response {
                        id: w.request_id,
                        header,
                        result,
                    }),
                );
            }
            deliver_watch_events(ctx, me, r);
        }
        for rs in rd.read_states {
            if let Some(w) = r.reads.get_mut(&rs.context) {
                w.index = Some(rs.index);
            }
        }
        serve_reads(ctx, me, r);
        r.node.advance();
        self.maybe_snapshot(ctx);
    }

    fn maybe_snapshot<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>) {
        let State::Running(r) = &mut self.state else {
            return;
        };
        if r.applied_index < r.snapshot_index + self.cfg.snapshot_count
            || r.node.raft().log.applied() != r.applied_index
        {
            return;
        }
        let data = Arc::new(r.store.snapshot());
        if r.node.compact(r.applied_index, data)
            && let Some(s) = r.node.raft().snapshot()
        {
            storage::write_snapshot::<V>(ctx.disk(), s);
            r.snapshot_index = s.index;
            r.snapshot_unsynced = Some(s.index);
        }
    }

    fn on_tick<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>) {
        let me = self.cfg.member_id;
        // Copies of what the tick needs (every 100 ms on every member: no clone of the peers).
        let (tick, lease_check_ticks, election_ticks) = (
            self.cfg.tick,
            self.cfg.lease_check_ticks,
            self.cfg.election_ticks,
        );
        let State::Running(r) = &mut self.state else {
            return;
        };
        ctx.set_timer(tick, TICK_TAG);
        r.ticks += 1;
        r.node.tick();
        let now = ctx.now().as_nanos();
        let leader = r.node.raft().lead;
        // Proposals that found no leader: try again.
        for w in r.writes.values_mut() {
            if let Some(data) = w.unproposed.take()
                && r.node.propose(data.clone()).is_err()
            {
                w.unproposed = Some(data);
            }
        }
        // Lease expiry, judged by the leader only.
        if r.node.raft().role == Role::Leader && r.ticks.is_multiple_of(lease_check_ticks) {
            for id in r.lease_clock.expired(now) {
                if r.revoking.insert(id) {
                    r.next_proposal += 1;
                    let p = Proposal {
                        id: ProposalId {
                            member: me,
                            boot: r.boot,
                            seq: r.next_proposal,
                        },
                        request: Arc::new(WriteRequest::LeaseRevoke { id }),
                    };
                    let _ = r.node.propose(Arc::new(p));
                }
            }
        }
        // Timeouts.
        let expired: Vec<u64> = r
            .writes
            .iter()
            .filter(|(_, w)| w.deadline_ns <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some(w) = r.writes.remove(&k) {
                respond_err(ctx, me, r, w.stream, w.request_id, EtcdError::Timeout);
            }
        }
        let expired: Vec<u64> = r
            .reads
            .iter()
            .filter(|(_, w)| w.deadline_ns <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some(w) = r.reads.remove(&k) {
                respond_err(ctx, me, r, w.stream, w.request_id, EtcdError::Timeout);
            }
        }
        // Watches need a leader.
        if leader.is_none() {
            r.leaderless_ticks += 1;
            if r.leaderless_ticks == 3 * election_ticks {
                let subs = std::mem::take(&mut r.watches);
                for (hub, sub) in subs {
                    r.store.watchers().cancel(hub);
                    send_watch(
                        ctx,
                        me,
                        r,
                        sub.stream,
                        sub.watch_id,
                        Vec::new(),
                        Some(WatchCancel::NoLeader),
                    );
                }
            }
        } else {
            r.leaderless_ticks = 0;
        }
        self.drive(ctx);
    }

    fn on_request<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        id: u64,
        body: RequestBody<V>,
    ) {
        let me = self.cfg.member_id;
        let timeout = self.cfg.request_timeout.as_nanos();
        let max_pending = self.cfg.max_pending_requests;
        let State::Running(r) = &mut self.state else {
            return;
        };
        let now = ctx.now().as_nanos();
        match body {
            RequestBody::Status => {
                let header = header(me, r);
                let result = Ok(ResponseBody::Status(status_of(me, r)));
                let _ = ctx.stream_send(
                    stream,
                    M::wrap(EtcdMessage::Response { id, header, result }),
                );
            }
            RequestBody::Range {
                request,
                serializable: true,
            } => {
                let header = header(me, r);
                let result = r
                    .store
                    .range(&request)
                    .map(ResponseBody::Range)
                    .map_err(EtcdError::from);
                let _ = ctx.stream_send(
                    stream,
                    M::wrap(EtcdMessage::Response { id, header, result }),
                );
            }
            RequestBody::Range {
                request,
                serializable: false,
            } => {
                if r.reads.len() >= max_pending {
                    respond_err(ctx, me, r, stream, id, EtcdError::TooManyRequests);
                    return;
                }
                r.next_read += 1;
                let rctx = r.next_read;
                r.reads.insert(
                    rctx,
                    ReadWaiter {
                        stream,
                        request_id: id,
                        request,
                        deadline_ns: now + timeout,
                        index: None,
                    },
                );
                r.node.read_index(rctx);
            }
            RequestBody::Write(request) => {
                if r.writes.len() >= max_pending {
                    respond_err(ctx, me, r, stream, id, EtcdError::TooManyRequests);
                    return;
                }
                r.next_proposal += 1;
                let seq = r.next_proposal;
                let data = Arc::new(Proposal {
                    id: ProposalId {
                        member: me,
                        boot: r.boot,
                        seq,
                    },
                    request,
                });
                let unproposed = r.node.propose(data.clone()).is_err().then_some(data);
                r.writes.insert(
                    seq,
                    WriteWaiter {
                        stream,
                        request_id: id,
                        deadline_ns: now + timeout,
                        unproposed,
                    },
                );
            }
            RequestBody::LeaseKeepAlive { id: lease } => {
                if r.node.raft().role != Role::Leader {
                    let leader = r.node.raft().lead;
                    respond_err(ctx, me, r, stream, id, EtcdError::NotLeader { leader });
                    return;
                }
                let result = match r.store.leases().get(lease) {
                    Some(l) => {
                        let ttl = l.ttl_seconds;
                        r.lease_clock.renew(lease, ttl, now);
                        Ok(ResponseBody::LeaseKeepAlive {
                            id: lease,
                            ttl_seconds: ttl,
                        })
                    }
                    None => Err(EtcdError::Mvcc(crate::mvcc::MvccError::LeaseNotFound)),
                };
                let header = header(me, r);
                let _ = ctx.stream_send(
                    stream,
                    M::wrap(EtcdMessage::Response { id, header, result }),
                );
            }
        }
        self.drive(ctx);
    }

    fn on_watch_create<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        watch_id: u64,
        request: WatchRequest,
    ) {
        let me = self.cfg.member_id;
        let State::Running(r) = &mut self.state else {
            return;
        };
        start_watch(ctx, me, r, stream, watch_id, request);
    }

    fn on_watch_cancel<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        watch_id: u64,
    ) {
        let me = self.cfg.member_id;
        let State::Running(r) = &mut self.state else {
            return;
        };
        let hub: Vec<i64> = r
            .watches
            .iter()
            .filter(|(_, s)| s.stream == stream && s.watch_id == watch_id)
            .map(|(h, _)| *h)
            .collect();
        for h in hub {
            r.watches.remove(&h);
            r.store.watchers().cancel(h);
        }
        send_watch(
            ctx,
            me,
            r,
            stream,
            watch_id,
            Vec::new(),
            Some(WatchCancel::Requested),
        );
    }
}

fn header<V: Value + Default>(me: u64, r: &Running<V>) -> ResponseHeader {
    ResponseHeader {
        member_id: me,
        raft_term: r.node.raft().term,
        revision: r.store.current_revision(),
    }
}

fn respond_err<V: Value + Default + 'static, M: EtcdEnvelope<V>>(
    ctx: &mut Ctx<'_, M>,
    me: u64,
    r: &Running<V>,
    stream: StreamId,
    id: u64,
    err: EtcdError,
) {
    let header = header(me, r);
    let _ = ctx.stream_send(
        stream,
        M::wrap(EtcdMessage::Response {
            id,
            header,
            result: Err(err),
        }),
    );
}

fn send_watch<V: Value + Default + 'static, M: EtcdEnvelope<V>>(
    ctx: &mut Ctx<'_, M>,
    me: u64,
    r: &Running<V>,
    stream: StreamId,
    watch_id: u64,
    events: Vec<Arc<crate::mvcc::Event<V>>>,
    canceled: Option<WatchCancel>,
) -> bool {
    let header = header(me, r);
    ctx.stream_send(
        stream,
        M::wrap(EtcdMessage::WatchResponse {
            watch_id,
            header,
            events,
            canceled,
        }),
    )
    .is_ok()
}

fn start_watch<V: Value + Default + 'static, M: EtcdEnvelope<V>>(
    ctx: &mut Ctx<'_, M>,
    me: u64,
    r: &mut Running<V>,
    stream: StreamId,
    watch_id: u64,
    request: WatchRequest,
) {
    match r.store.watch(&request) {
        Ok(start) => {
            let next_revision = start.catch_up.last().map_or_else(
                || {
                    if request.start_revision > 0 {
                        request.start_revision.max(r.store.current_revision() + 1)
                    } else {
                        r.store.current_revision() + 1
                    }
                },
                |e| e.kv.mod_revision + 1,
            );
            r.watches.insert(
                start.id,
                WatchSub {
                    stream,
                    watch_id,
                    next_revision,
                    key: request.key,
                    range_end: request.range_end,
                    prev_kv: request.prev_kv,
                },
            );
            if !send_watch(ctx, me, r, stream, watch_id, start.catch_up, None) {
                r.watches.remove(&start.id);
                r.store.watchers().cancel(start.id);
            }
        }
        Err(crate::mvcc::MvccError::Compacted { compact_revision }) => {
            send_watch(
                ctx,
                me,
                r,
                stream,
                watch_id,
                Vec::new(),
                Some(WatchCancel::Compacted { compact_revision }),
            );
        }
        Err(_) => {
            send_watch(
                ctx,
                me,
                r,
                stream,
                watch_id,
                Vec::new(),
                Some(WatchCancel::Requested),
            );
        }
    }
}

fn deliver_watch_events<V: Value + Default + 'static, M: EtcdEnvelope<V>>(
    ctx: &mut Ctx<'_, M>,
    me: u64,
    r: &mut Running<V>,
) {
    for (hub, events) in r.store.watchers().drain() {
        let Some(sub) = r.watches.get_mut(&hub) else {
            continue;
        };
        if let Some(last) = events.last() {
            sub.next_revision = last.kv.mod_revision + 1;
        }
        let (stream, watch_id) = (sub.stream, sub.watch_id);
        if !send_watch(ctx, me, r, stream, watch_id, events, None) {
            r.watches.remove(&hub);
            r.store.watchers().cancel(hub);
        }
    }
}

/// After loading a snapshot the store's history jumped: restart every watcher from the next
/// revision it should see, so its stream stays gap-free (or is cancelled as compacted).
fn resync_watches<V: Value + Default + 'static, M: EtcdEnvelope<V>>(
    ctx: &mut Ctx<'_, M>,
    me: u64,
    r: &mut Running<V>,
) {
    for (hub, sub) in std::mem::take(&mut r.watches) {
        r.store.watchers().cancel(hub);
        let req = WatchRequest {
            key: sub.key,
            range_end: sub.range_end,
            start_revision: sub.next_revision,
            prev_kv: sub.prev_kv,
        };
        start_watch(ctx, me, r, sub.stream, sub.watch_id, req);
    }
}

fn serve_reads<V: Value + Default + 'static, M: EtcdEnvelope<V>>(
    ctx: &mut Ctx<'_, M>,
    me: u64,
    r: &mut Running<V>,
) {
    let ready: Vec<u64> = r
        .reads
        .iter()
        .filter(|(_, w)| w.index.is_some_and(|i| i <= r.applied_index))
        .map(|(k, _)| *k)
        .collect();
    for k in ready {
        if let Some(w) = r.reads.remove(&k) {
            let header = header(me, r);
            let result = r
                .store
                .range(&w.request)
                .map(ResponseBody::Range)
                .map_err(EtcdError::from);
            let _ = ctx.stream_send(
                w.stream,
                M::wrap(EtcdMessage::Response {
                    id: w.request_id,
                    header,
                    result,
                }),
            );
        }
    }
}

impl<V: Value + Default + 'static, M: EtcdEnvelope<V>> Actor<M> for EtcdMember<V> {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        self.start(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, _from: ActorId, msg: M) {
        let Ok(EtcdMessage::Raft(m)) = msg.unwrap_etcd() else {
            return;
        };
        let State::Running(r) = &mut self.state else {
            return;
        };
        // A message from a non-member or for someone else is dropped, as etcd's transport does.
        let _ = r.node.step(*m);
        self.drive(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) {
        if tag == TICK_TAG {
            self.on_tick(ctx);
        }
    }

    fn on_fsync(&mut self, ctx: &mut Ctx<'_, M>, token: u64) {
        let State::Running(r) = &mut self.state else {
            return;
        };
        if let Some((t, index)) = r.snapshot_syncing
            && t == token
        {
            r.snapshot_syncing = None;
            r.journal.push(SafetyRecord::SnapshotDurable { index });
        }
        if r.fsync.as_ref().is_some_and(|(t, _)| *t == token)
            && let Some((_, rd)) = r.fsync.take()
        {
            self.finish_ready(ctx, rd);
        }
        self.drive(ctx);
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        _from: ActorId,
        msg: M,
    ) {
        if matches!(self.state, State::Refused) {
            // The process is not running: the client's connection is refused.
            let _ = ctx.close_stream(stream);
            return;
        }
        match msg.unwrap_etcd() {
            Ok(EtcdMessage::Request { id, body }) => self.on_request(ctx, stream, id, body),
            Ok(EtcdMessage::WatchCreate { watch_id, request }) => {
                self.on_watch_create(ctx, stream, watch_id, request)
            }
            Ok(EtcdMessage::WatchCancel { watch_id }) => {
                self.on_watch_cancel(ctx, stream, watch_id)
            }
            _ => {}
        }
    }

    fn on_stream_closed(&mut self, _ctx: &mut Ctx<'_, M>, stream: StreamId, _why: StreamClose) {
        let State::Running(r) = &mut self.state else {
            return;
        };
        let gone: Vec<i64> = r
            .watches
            .iter()
            .filter(|(_, s)| s.stream == stream)
            .map(|(h, _)| *h)
            .collect();
        for h in gone {
            r.watches.remove(&h);
            r.store.watchers().cancel(h);
        }
        r.reads.retain(|_, w| w.stream != stream);
        // Writes stay: they are in the log already or will time out; their answer is dropped.
    }
}
