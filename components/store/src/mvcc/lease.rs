//! Leases: the replicated table (id, TTL, attached keys) that every member applies, and the
//! leader-only expiry clock that decides when a lease has run out.
//!
//! Follows etcd `server/lease/lessor.go`: a lease's remaining time lives only on the leader
//! (`Promote` restarts every lease's clock when a member becomes leader; keep-alives renew it
//! there); expiry is turned into a `LeaseRevoke` proposal that goes through Raft, and revoking
//! deletes the attached keys. The minimum TTL is etcd's `minTTL` = 1.5 × election timeout,
//! rounded up to whole seconds: 2 s with the 1000 ms election timeout. Simplifications: no
//! lease checkpoints (a new leader restarts every lease at its full TTL, as etcd without
//! checkpointing does), and the leader checks expiry on its own timer.

use std::collections::{BTreeMap, BTreeSet};

use super::kv::Bytes;

pub const MIN_LEASE_TTL_SECONDS: i64 = 2;
/// etcd revokes at most `leaseRevokeRate` (1000/s) expired leases; the check runs every 500 ms.
pub const MAX_REVOKES_PER_CHECK: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Lease {
    pub ttl_seconds: i64,
    pub keys: BTreeSet<Bytes>,
}

/// The replicated lease table.
#[derive(Clone, Debug, Default)]
pub struct LeaseTable {
    pub(super) leases: BTreeMap<i64, Lease>,
    next_id: i64,
}

impl LeaseTable {
    pub fn get(&self, id: i64) -> Option<&Lease> {
        self.leases.get(&id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.leases.contains_key(&id)
    }

    pub fn ids(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.leases.iter().map(|(id, l)| (*id, l.ttl_seconds))
    }

    /// Grant `id` (or the next free id when 0); `None` if it exists.
    pub(super) fn grant(&mut self, id: i64, ttl_seconds: i64) -> Option<(i64, i64)> {
        let id = if id == 0 {
            loop {
                self.next_id += 1;
                if !self.leases.contains_key(&self.next_id) {
                    break self.next_id;
                }
            }
        } else {
            id
        };
        if self.leases.contains_key(&id) {
            return None;
        }
        let ttl = ttl_seconds.max(MIN_LEASE_TTL_SECONDS);
        self.leases.insert(
            id,
            Lease {
                ttl_seconds: ttl,
                keys: BTreeSet::new(),
            },
        );
        Some((id, ttl))
    }

    pub(super) fn attach(&mut self, id: i64, key: &Bytes) {
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.insert(key.clone());
        }
    }

    pub(super) fn detach(&mut self, id: i64, key: &Bytes) {
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.remove(key);
        }
    }

    pub(super) fn remove(&mut self, id: i64) -> Option<Lease> {
        self.leases.remove(&id)
    }
}

/// The leader's expiry clock, in virtual nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct LeaseClock {
    expiry_ns: BTreeMap<i64, u64>,
}

impl LeaseClock {
    /// On becoming leader: every lease gets its full TTL from now.
    pub fn promote(&mut self, now_ns: u64, leases: impl Iterator<Item = (i64, i64)>) {
        self.expiry_ns = leases.map(|(id, ttl)| (id, now_ns + ttl_ns(ttl))).collect();
    }

    pub fn demote(&mut self) {
        self.expiry_ns.clear();
    }

    /// Start or renew a lease's clock; returns the TTL granted.
    pub fn renew(&mut self, id: i64, ttl_seconds: i64, now_ns: u64) {
        self.expiry_ns.insert(id, now_ns + ttl_ns(ttl_seconds));
    }

    pub fn forget(&mut self, id: i64) {
        self.expiry_ns.remove(&id);
    }

    /// Seconds left, rounded up as etcd's `Remaining`.
    pub fn remaining_seconds(&self, id: i64, now_ns: u64) -> Option<i64> {
        self.expiry_ns
            .get(&id)
            .map(|e| e.saturating_sub(now_ns).div_ceil(1_000_000_000) as i64)
    }

    /// Leases whose time is up, oldest deadline first, at most `MAX_REVOKES_PER_CHECK`.
    pub fn expired(&self, now_ns: u64) -> Vec<i64> {
        let mut due: Vec<(u64, i64)> = self
            .expiry_ns
            .iter()
            .filter(|(_, e)| **e <= now_ns)
            .map(|(id, e)| (*e, *id))
            .collect();
        due.sort_unstable();
        due.into_iter()
            .take(MAX_REVOKES_PER_CHECK)
            .map(|(_, id)| id)
            .collect()
    }
}

fn ttl_ns(ttl_seconds: i64) -> u64 {
    (ttl_seconds.max(0) as u64).saturating_mul(1_000_000_000)
}
