//! A member's data directory on the simulated disk: the WAL (hard state and entries) and the
//! latest snapshot, as etcd keeps `member/wal` and `member/snap`.
//!
//! Follows etcd `server/storage/wal` and `server/etcdserver/api/snap` in what is kept, not in
//! format: typed records are stored as shared values (no encoding). Writes are pending until
//! the member's fsync completes; only then does it send what acknowledges them.

use sim::Disk;

use super::message::{EntryData, SnapshotData};
use crate::raft::{Entry, HardState, Persisted, Ready, Snapshot};

const MEMBER_KEY: &str = "etcd/member";
const BOOTS_KEY: &str = "etcd/boots";
const HARD_STATE_KEY: &str = "etcd/wal/hardstate";
const SNAPSHOT_KEY: &str = "etcd/snap";
/// The WAL's entries, a numbered log of the disk (by Raft index).
const WAL: &str = "etcd/wal/entry";

type Ent<V> = Entry<EntryData<V>>;
type Snap<V> = Snapshot<SnapshotData<V>>;

/// Marks the data directory as bootstrapped and counts this boot, synced at once (etcd
/// creates its WAL at boot). Returns this boot's number (1 for the first): the member puts it
/// in its proposal ids so that a proposal from before a crash, applied after the restart, is
/// never taken for a new one (etcd's `idutil.Generator` gets the same from a time prefix).
pub fn bootstrap(disk: &mut Disk, member_id: u64) -> u64 {
    let boot = disk.get::<u64>(BOOTS_KEY).copied().unwrap_or(0) + 1;
    disk.put(MEMBER_KEY, member_id);
    disk.put(BOOTS_KEY, boot);
    disk.sync();
    boot
}

pub fn is_bootstrapped(disk: &Disk) -> bool {
    disk.contains(MEMBER_KEY)
}

/// Write what a Ready asks to persist. Returns whether it must be fsynced before anything
/// that depends on it is sent: etcd's `raft.MustSync` — new entries, a snapshot, or a changed
/// term or vote. A commit index alone is written but not synced (it can be recomputed).
pub fn write_ready<V: 'static>(
    disk: &mut Disk,
    rd: &Ready<EntryData<V>, SnapshotData<V>>,
    persisted: &mut HardState,
) -> bool {
    let mut must_sync = false;
    if let Some(s) = &rd.snapshot {
        write_snapshot(disk, s);
        must_sync = true;
    }
    if let Some(first) = rd.entries.first() {
        // A new entry replaces the stored one at its index and everything after it. The WAL
        // on disk is contiguous, so there is nothing to truncate unless that index is taken.
        if disk.log_contains(WAL, first.index) {
            disk.log_truncate(WAL, first.index);
        }
        for e in &rd.entries {
            disk.log_put(WAL, e.index, e.clone());
        }
        must_sync = true;
    }
    if let Some(h) = rd.hard_state {
        must_sync |= h.term != persisted.term || h.vote != persisted.vote;
        disk.put(HARD_STATE_KEY, h);
        *persisted = h;
    }
    must_sync
}

/// Persist a snapshot and drop the entries it covers (etcd's WAL release after snapshot).
pub fn write_snapshot<V: 'static>(disk: &mut Disk, s: &Snap<V>) {
    disk.put(SNAPSHOT_KEY, s.clone());
    disk.log_release(WAL, s.index + 1);
}

/// The term and index of the stored snapshot (etcd names its file
/// `<term>-<index>.snap` in `member/snap`), if the member has taken or received one.
pub fn snapshot_meta<V: 'static>(disk: &Disk) -> Option<(u64, u64)> {
    disk.get::<Snap<V>>(SNAPSHOT_KEY).map(|s| (s.term, s.index))
}

/// Everything a restarting member recovers.
pub fn load<V: 'static>(disk: &Disk) -> Persisted<EntryData<V>, SnapshotData<V>> {
    let hard_state = disk
        .get::<HardState>(HARD_STATE_KEY)
        .copied()
        .unwrap_or_default();
    let snapshot = disk.get::<Snap<V>>(SNAPSHOT_KEY).cloned();
    let after = snapshot.as_ref().map_or(0, |s| s.index);
    let entries = disk
        .log_from(WAL, after + 1)
        .filter_map(|(_, v)| v.downcast_ref::<Ent<V>>().cloned())
        .collect();
    Persisted {
        hard_state,
        snapshot,
        entries,
    }
}
