//! The history of one key: generations from creation to deletion, and the revisions of every
//! write in each. Answers "which revision of this key was visible at revision r" and drops
//! history on compaction.
//!
//! Follows etcd `server/storage/mvcc/key_index.go` (`put`, `tombstone`, `get`, `compact`).
//! Simplification: compaction keeps, per generation, the last revision at or before the
//! compaction revision, and drops a generation entirely when it ended (tombstone) at or before
//! it, which is what etcd's `keep` set amounts to.

use super::revision::Revision;

#[derive(Clone, Debug, Default)]
struct Generation {
    /// Version of the key at the generation's last revision.
    version: i64,
    created: Revision,
    /// Revisions of writes; in a finished generation the last one is the tombstone.
    revs: Vec<Revision>,
}

#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    /// Oldest first; the last one is the live generation (empty if the key is deleted).
    generations: Vec<Generation>,
    /// Written since a compaction last left it with nothing more to drop: the store lists
    /// such keys (see `MvccStore::compact`).
    pub(super) dirty: bool,
}

/// What `get` finds: the visible write's revision, its key's creation revision and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub modified: Revision,
    pub created: Revision,
    pub version: i64,
}

impl KeyIndex {
    pub fn put(&mut self, rev: Revision) {
        if self.generations.is_empty() {
            self.generations.push(Generation::default());
        }
        let g = self
            .generations
            .last_mut()
            .expect("a generation was just ensured");
        if g.revs.is_empty() {
            g.created = rev;
        }
        g.revs.push(rev);
        g.version += 1;
    }

    /// Record a deletion at `rev`; the key must exist.
    pub fn tombstone(&mut self, rev: Revision) -> bool {
        match self.generations.last_mut() {
            Some(g) if !g.revs.is_empty() => {
                g.revs.push(rev);
                self.generations.push(Generation::default());
                true
            }
            _ => false,
        }
    }

    /// The write visible at main revision `at`.
    pub fn get(&self, at: i64) -> Option<Found> {
        let n = self.generations.len();
        for (i, g) in self.generations.iter().enumerate().rev() {
            if g.revs.is_empty() {
                continue;
            }
            let finished = i + 1 < n;
            if finished {
                let tomb = *g.revs.last().expect("non-empty");
                if tomb.main <= at {
                    return None;
                }
            }
            if g.revs[0].main > at {
                continue;
            }
            let live = if finished {
                &g.revs[..g.revs.len() - 1]
            } else {
                &g.revs[..]
            };
            let pos = live.partition_point(|r| r.main <= at);
            if pos == 0 {
                return None;
            }
            // Versions count from the generation's start; compaction keeps the count right by
            // computing it back from the generation's current version.
            let version = g.version - (live.len() - pos) as i64;
            return Some(Found {
                modified: live[pos - 1],
                created: g.created,
                version,
            });
        }
        None
    }

    /// Drop history older than `at`: every write but the last at or before `at` in each
    /// generation, and the generations deleted at or before `at`. Pushes the revisions dropped
    /// (whose records go) onto `dropped`.
    pub fn compact(&mut self, at: i64, dropped: &mut Vec<Revision>) {
        let n = self.generations.len();
        let mut i = 0;
        self.generations.retain_mut(|g| {
            let finished = i + 1 < n;
            i += 1;
            if finished && g.revs.last().is_some_and(|t| t.main <= at) {
                dropped.extend_from_slice(&g.revs);
                return false;
            }
            let pos = g.revs.partition_point(|r| r.main <= at);
            if pos > 1 {
                dropped.extend(g.revs.drain(..pos - 1));
            }
            true
        });
        if self.generations.is_empty() {
            self.generations.push(Generation::default());
        }
    }

    /// Whether a write came after `at`: the next compaction may have more to drop.
    pub fn written_after(&self, at: i64) -> bool {
        self.generations
            .iter()
            .rev()
            .find_map(|g| g.revs.last())
            .is_some_and(|r| r.main > at)
    }

    /// No history left at all: the key can be forgotten.
    pub fn is_empty(&self) -> bool {
        self.generations.iter().all(|g| g.revs.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::new(main, 0)
    }

    #[test]
    fn get_table() {
        // put@2 put@4 del@6 put@8
        let mut ki = KeyIndex::default();
        ki.put(r(2));
        ki.put(r(4));
        assert!(ki.tombstone(r(6)));
        ki.put(r(8));
        let cases = [
            (1, None),
            (2, Some((2, 2, 1))),
            (3, Some((2, 2, 1))),
            (5, Some((4, 2, 2))),
            (6, None),
            (7, None),
            (8, Some((8, 8, 1))),
            (100, Some((8, 8, 1))),
        ];
        for (at, want) in cases {
            let got = ki
                .get(at)
                .map(|f| (f.modified.main, f.created.main, f.version));
            assert_eq!(got, want, "at {at}");
        }
    }

    #[test]
    fn compaction_keeps_the_latest_visible_write() {
        let mut ki = KeyIndex::default();
        for m in [2, 4, 5] {
            ki.put(r(m));
        }
        let mut dropped = Vec::new();
        ki.compact(4, &mut dropped);
        assert_eq!(dropped, vec![r(2)]);
        assert!(ki.written_after(4) && !ki.written_after(5));
        assert_eq!(
            ki.get(4).map(|f| (f.modified.main, f.version)),
            Some((4, 2))
        );
        assert_eq!(
            ki.get(5).map(|f| (f.modified.main, f.version)),
            Some((5, 3))
        );
        assert!(ki.tombstone(r(7)));
        dropped.clear();
        ki.compact(7, &mut dropped);
        assert_eq!(dropped, vec![r(4), r(5), r(7)]);
        assert!(ki.is_empty());
    }
}
