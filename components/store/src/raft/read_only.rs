//! The leader's queue of ReadIndex requests waiting for a heartbeat round to confirm that it
//! is still the leader.
//!
//! Follows etcd-io/raft `read_only.go` (ReadOnlySafe). Difference: etcd keys a request by its
//! context bytes and echoes them in the heartbeat; here each request gets a leader-local
//! sequence number that heartbeats echo, and an acknowledgement of sequence `s` confirms every
//! request queued at or before `s` (the heartbeat was sent after they were queued).

use std::collections::{BTreeSet, VecDeque};

use super::message::NodeId;

#[derive(Clone, Debug)]
pub struct PendingRead {
    pub seq: u64,
    /// Commit index when the request arrived: the read may be served once this is applied.
    pub index: u64,
    /// Who asked, and their request id.
    pub from: NodeId,
    pub context: u64,
    acks: BTreeSet<NodeId>,
}

#[derive(Clone, Debug, Default)]
pub struct ReadOnly {
    queue: VecDeque<PendingRead>,
    next_seq: u64,
}

impl ReadOnly {
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queue a request; returns the sequence number the confirming heartbeat must carry.
    pub fn add(&mut self, index: u64, from: NodeId, context: u64, leader: NodeId) -> u64 {
        self.next_seq += 1;
        let mut acks = BTreeSet::new();
        acks.insert(leader);
        self.queue.push_back(PendingRead {
            seq: self.next_seq,
            index,
            from,
            context,
            acks,
        });
        self.next_seq
    }

    /// Record that `from` acknowledged heartbeat `seq`; returns the requests now confirmed by
    /// a quorum of `quorum`, oldest first.
    pub fn ack(&mut self, seq: u64, from: NodeId, quorum: usize) -> Vec<PendingRead> {
        for r in self.queue.iter_mut().take_while(|r| r.seq <= seq) {
            r.acks.insert(from);
        }
        self.release(quorum)
    }

    /// Requests at the front that a quorum has confirmed (all of them when quorum is 1).
    pub fn release(&mut self, quorum: usize) -> Vec<PendingRead> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|r| r.acks.len() >= quorum) {
            out.extend(self.queue.pop_front());
        }
        out
    }

    pub fn last_seq(&self) -> u64 {
        self.queue.back().map_or(0, |r| r.seq)
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_confirms_earlier_requests_in_order() {
        let mut ro = ReadOnly::default();
        let a = ro.add(5, 1, 100, 1);
        let b = ro.add(6, 2, 200, 1);
        assert!(ro.ack(a, 2, 2).iter().map(|r| r.context).eq([100]));
        let c = ro.add(7, 1, 300, 1);
        assert!(ro.ack(c, 3, 2).iter().map(|r| r.context).eq([200, 300]));
        assert!(b < c && ro.is_empty());
    }
}
