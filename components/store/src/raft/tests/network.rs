//! The test network: members with a "disk" of what they persisted, messages in flight that the
//! test delivers or drops, partitions, crashes, and a safety monitor fed at every step.

use std::collections::{BTreeMap, BTreeSet};

use crate::raft::log::RaftLog;
use crate::raft::safety::{RaftSafetyMonitor, check_log_matching};
use crate::raft::{Config, HardState, Message, NodeId, Persisted, RawNode, ReadState, Role};

/// The test state machine is the list of applied values; a snapshot is a copy of it.
pub type Data = u64;
pub type State = Vec<u64>;
pub type Msg = Message<Data, State>;

pub struct Member {
    pub node: RawNode<Data, State>,
    pub disk: Persisted<Data, State>,
    pub state: State,
    pub read_states: Vec<ReadState>,
    cfg: Config,
}

pub struct Network {
    pub members: BTreeMap<NodeId, Member>,
    pub in_flight: Vec<Msg>,
    pub monitor: RaftSafetyMonitor<Data>,
    cut: BTreeSet<(NodeId, NodeId)>,
    pub dropped: usize,
}

pub fn config(id: NodeId, n: u64, seed: u64) -> Config {
    let mut c = Config::etcd_defaults(id, (1..=n).collect(), seed);
    c.max_entries_per_message = 64;
    c
}

impl Network {
    pub fn new(n: u64) -> Self {
        Self::with_config(n, |id| config(id, n, 7))
    }

    pub fn with_config(n: u64, cfg: impl Fn(NodeId) -> Config) -> Self {
        let mut members = BTreeMap::new();
        for id in 1..=n {
            let c = cfg(id);
            let node = RawNode::new(c.clone(), Persisted::default()).expect("valid config");
            members.insert(
                id,
                Member {
                    node,
                    disk: Persisted::default(),
                    state: Vec::new(),
                    read_states: Vec::new(),
                    cfg: c,
                },
            );
        }
        Network {
            members,
            in_flight: Vec::new(),
            monitor: RaftSafetyMonitor::new(),
            cut: BTreeSet::new(),
            dropped: 0,
        }
    }

    pub fn m(&self, id: NodeId) -> &Member {
        &self.members[&id]
    }

    pub fn role(&self, id: NodeId) -> Role {
        self.m(id).node.raft().role
    }

    pub fn term(&self, id: NodeId) -> u64 {
        self.m(id).node.raft().term
    }

    pub fn log(&self, id: NodeId) -> &RaftLog<Data, State> {
        &self.m(id).node.raft().log
    }

    /// Terms of every entry in `id`'s log, from its first index.
    pub fn log_terms(&self, id: NodeId) -> Vec<u64> {
        let log = self.log(id);
        (log.first_index()..=log.last_index())
            .filter_map(|i| log.term(i))
            .collect()
    }

    pub fn leaders(&self) -> Vec<NodeId> {
        self.members
            .keys()
            .copied()
            .filter(|&id| self.role(id) == Role::Leader)
            .collect()
    }

    /// Persist, send, apply, advance, until the member has nothing more to do.
    pub fn process(&mut self, id: NodeId) {
        for _ in 0..64 {
            let m = self.members.get_mut(&id).expect("member");
            if !m.node.has_ready() {
                return;
            }
            let rd = m.node.ready();
            if let Some(h) = rd.hard_state {
                m.disk.hard_state = h;
            }
            if let Some(s) = &rd.snapshot {
                m.disk.entries.retain(|e| e.index > s.index);
                m.disk.snapshot = Some(s.clone());
            }
            if let Some(first) = rd.entries.first() {
                let from = first.index;
                m.disk.entries.retain(|e| e.index < from);
                m.disk.entries.extend(rd.entries.iter().cloned());
            }
            for term in &rd.became_leader {
                let raft = m.node.raft();
                self.monitor
                    .observe_leader(id, *term, raft.term, &raft.log)
                    .unwrap_or_else(|v| panic!("{v}"));
            }
            for msg in rd.messages {
                if self.cut.contains(&(msg.from, msg.to)) {
                    self.dropped += 1;
                } else {
                    self.in_flight.push(msg);
                }
            }
            let m = self.members.get_mut(&id).expect("member");
            if let Some(s) = rd.snapshot {
                m.state = s.data.clone();
                self.monitor
                    .observe_snapshot(id, s.index, s.term)
                    .unwrap_or_else(|v| panic!("{v}"));
            }
            let m = self.members.get_mut(&id).expect("member");
            for e in &rd.committed_entries {
                if let Some(d) = e.data {
                    m.state.push(d);
                }
                self.monitor
                    .observe_applied(id, e)
                    .unwrap_or_else(|v| panic!("{v}"));
            }
            let m = self.members.get_mut(&id).expect("member");
            m.read_states.extend(rd.read_states);
            m.node.advance();
        }
        panic!("member {id} did not settle in 64 Ready rounds");
    }

    pub fn check_logs(&self) {
        let logs: Vec<_> = self
            .members
            .iter()
            .map(|(id, m)| (*id, &m.node.raft().log))
            .collect();
        check_log_matching(&logs).unwrap_or_else(|v| panic!("{v}"));
    }

    pub fn campaign(&mut self, id: NodeId) {
        self.members.get_mut(&id).expect("member").node.campaign();
        self.process(id);
    }

    pub fn tick(&mut self, id: NodeId) {
        self.members.get_mut(&id).expect("member").node.tick();
        self.process(id);
    }

    pub fn tick_all(&mut self, n: usize) {
        for _ in 0..n {
            let ids: Vec<_> = self.members.keys().copied().collect();
            for id in ids {
                self.tick(id);
            }
        }
    }

    pub fn propose(&mut self, id: NodeId, data: Data) -> bool {
        let ok = self
            .members
            .get_mut(&id)
            .expect("member")
            .node
            .propose(data)
            .is_ok();
        self.process(id);
        ok
    }

    pub fn read_index(&mut self, id: NodeId, ctx: u64) {
        self.members
            .get_mut(&id)
            .expect("member")
            .node
            .read_index(ctx);
        self.process(id);
    }

    /// Deliver the message at position `k` of the in-flight list.
    pub fn deliver_at(&mut self, k: usize) {
        let msg = self.in_flight.remove(k);
        let to = msg.to;
        if self.cut.contains(&(msg.from, msg.to)) {
            self.dropped += 1;
            return;
        }
        let m = self.members.get_mut(&to).expect("member");
        m.node.step(msg).expect("well-addressed message");
        self.process(to);
    }

    /// Deliver in-flight messages (and those they cause) in FIFO order until none remain.
    pub fn deliver_all(&mut self) {
        self.deliver_while(|_| true);
    }

    /// Deliver messages matching `keep`, dropping the others, until none remain.
    pub fn deliver_while(&mut self, keep: impl Fn(&Msg) -> bool) {
        for _ in 0..100_000 {
            if self.in_flight.is_empty() {
                return;
            }
            if keep(&self.in_flight[0]) {
                self.deliver_at(0);
            } else {
                self.in_flight.remove(0);
                self.dropped += 1;
            }
        }
        panic!("messages did not quiesce");
    }

    /// Deliver messages matching `pick` (and those they cause) until none match; the others
    /// stay in flight.
    pub fn deliver_matching(&mut self, pick: impl Fn(&Msg) -> bool) {
        for _ in 0..100_000 {
            let Some(k) = self.in_flight.iter().position(&pick) else {
                return;
            };
            self.deliver_at(k);
        }
        panic!("messages did not quiesce");
    }

    pub fn isolate(&mut self, id: NodeId) {
        let ids: Vec<_> = self.members.keys().copied().collect();
        for other in ids {
            if other != id {
                self.cut.insert((id, other));
                self.cut.insert((other, id));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Lose volatile state and restart from what was persisted.
    pub fn crash_restart(&mut self, id: NodeId) {
        let m = self.members.get_mut(&id).expect("member");
        let node = RawNode::new(m.cfg.clone(), m.disk.clone()).expect("valid config");
        m.state = m
            .disk
            .snapshot
            .as_ref()
            .map(|s| s.data.clone())
            .unwrap_or_default();
        let applied = m.disk.snapshot.as_ref().map_or(0, |s| s.index);
        m.node = node;
        m.read_states.clear();
        self.monitor
            .observe_restart(id, applied)
            .unwrap_or_else(|v| panic!("{v}"));
        self.in_flight.retain(|msg| msg.to != id);
        self.process(id);
    }

    /// Compact `id`'s log at its applied index, persisting the snapshot.
    pub fn compact(&mut self, id: NodeId) {
        let m = self.members.get_mut(&id).expect("member");
        let applied = m.node.raft().log.applied();
        if m.node.compact(applied, m.state.clone())
            && let Some(s) = m.node.raft().snapshot()
        {
            m.disk.entries.retain(|e| e.index > s.index);
            m.disk.snapshot = Some(s.clone());
        }
    }

    pub fn hard_state(&self, id: NodeId) -> HardState {
        self.m(id).node.raft().hard_state()
    }
}
