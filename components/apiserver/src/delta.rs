//! Byte deltas between consecutive revisions of one stored object.
//!
//! etcd keeps every revision of a key whole until the compaction (every 5 minutes), and the
//! Raft log and the apiserver's watch window share those values. Most writes change little of
//! an object: a Pod's status write leaves its spec alone, and the legacy Endpoints object of a
//! Service with 1,000 pods gains or loses one address of 1,000 per write (145 KB encoded, kept
//! hundreds of times per compaction window: at 1,000 workers that history was most of the
//! process). So an older revision is kept as a [`Patch`] against the revision written after
//! it (reverse deltas, as RCS keeps history): the newest revision, the one read and replaced,
//! stays whole, and an old one is rebuilt only when a watch replays it or a read asks for it.
//!
//! The diff is deliberately simple and linear: a common prefix extended across short
//! same-length substitutions (a changed count, a timestamp), then a common suffix; what lies
//! between is kept literally. That covers an address added or removed, a field changed in
//! place, and a status rewritten at the end of an object; a patch that would not save at
//! least half of the bytes is not made.

/// How many bytes past a substitution must match again for the substitution to be taken as
/// one (short runs match by accident in structured data).
const RESYNC: usize = 16;
/// The longest same-length substitution the forward scan steps over.
const MAX_SUBSTITUTION: usize = 8;

/// How to rebuild one byte string from another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    ops: Box<[Op]>,
    len: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    /// Bytes `at .. at + len` of the source.
    Copy { at: usize, len: usize },
    /// Bytes of the target the source does not have.
    Insert(Box<[u8]>),
}

impl Patch {
    /// The patch that turns `source` into `target`, if it keeps at most half of `target`'s
    /// bytes literally.
    pub fn between(source: &[u8], target: &[u8]) -> Option<Patch> {
        let suffix = common_suffix(source, target);
        let (source_end, target_end) = (source.len() - suffix, target.len() - suffix);
        let mut ops = Vec::new();
        let mut literal = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < target_end {
            let m = common_prefix(&source[j..source_end], &target[i..target_end]);
            if m > 0 {
                flush(&mut ops, &mut literal);
                ops.push(Op::Copy { at: j, len: m });
                i += m;
                j += m;
                continue;
            }
            match substitution(&source[j..source_end], &target[i..target_end]) {
                Some(k) => {
                    literal.extend_from_slice(&target[i..i + k]);
                    i += k;
                    j += k;
                }
                None => {
                    literal.extend_from_slice(&target[i..target_end]);
                    i = target_end;
                }
            }
        }
        flush(&mut ops, &mut literal);
        if suffix > 0 {
            ops.push(Op::Copy {
                at: source_end,
                len: suffix,
            });
        }
        let patch = Patch {
            ops: ops.into_boxed_slice(),
            len: target.len(),
        };
        (patch.literal_len() * 2 <= target.len()).then_some(patch)
    }

    /// The bytes the patch carries itself (the rest is copied from the source).
    pub fn literal_len(&self) -> usize {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Insert(b) => b.len(),
                Op::Copy { .. } => 0,
            })
            .sum()
    }

    /// The target rebuilt from the source the patch was made against.
    pub fn apply(&self, source: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for op in &self.ops {
            match op {
                Op::Copy { at, len } => out.extend_from_slice(&source[*at..*at + *len]),
                Op::Insert(b) => out.extend_from_slice(b),
            }
        }
        out
    }

    /// The length of the target.
    pub fn target_len(&self) -> usize {
        self.len
    }
}

fn flush(ops: &mut Vec<Op>, literal: &mut Vec<u8>) {
    if !literal.is_empty() {
        ops.push(Op::Insert(std::mem::take(literal).into_boxed_slice()));
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Compared a word at a time: the runs are tens of kilobytes long.
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n && a[i..i + 8] == b[i..i + 8] {
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n && a[a.len() - i - 8..a.len() - i] == b[b.len() - i - 8..b.len() - i] {
        i += 8;
    }
    while i < n && a[a.len() - i - 1] == b[b.len() - i - 1] {
        i += 1;
    }
    i
}

/// The length of a same-length substitution at the start of both, after which they agree for
/// at least [`RESYNC`] bytes (or both end).
fn substitution(source: &[u8], target: &[u8]) -> Option<usize> {
    (1..=MAX_SUBSTITUTION).find(|&k| {
        if k > source.len() || k > target.len() {
            return false;
        }
        let (s, t) = (&source[k..], &target[k..]);
        if s.is_empty() && t.is_empty() {
            return true;
        }
        let want = RESYNC.min(s.len()).min(t.len());
        want == RESYNC.min(s.len().max(t.len())) && want > 0 && s[..want] == t[..want]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(source: &[u8], target: &[u8]) -> Option<Patch> {
        let p = Patch::between(source, target)?;
        assert_eq!(p.apply(source), target, "the patch rebuilds the target");
        assert_eq!(p.target_len(), target.len());
        Some(p)
    }

    fn addresses(ips: impl Iterator<Item = u32>) -> Vec<u8> {
        // A count then fixed records, as an encoded list of addresses looks.
        let ips: Vec<u32> = ips.collect();
        let mut out = b"{\"addresses\":".to_vec();
        out.extend_from_slice(&(ips.len() as u16).to_be_bytes());
        for ip in ips {
            out.extend_from_slice(
                format!(
                    "{{ip:10.244.{}.{},node:worker{}}}",
                    ip / 256,
                    ip % 256,
                    ip % 97
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(b"],\"metadata\":{\"name\":\"web\"}}");
        out
    }

    #[test]
    fn an_address_removed_from_a_long_list_keeps_only_the_changed_bytes() {
        let newer = addresses(0..1000);
        let older = addresses((0..1000).filter(|&i| i != 500));
        let p = round_trip(&newer, &older).expect("worth a patch");
        assert!(
            p.literal_len() <= 2,
            "only the count differs: {}",
            p.literal_len()
        );
        let p = round_trip(&older, &newer).expect("worth a patch");
        assert!(
            p.literal_len() < 40,
            "the count and one record: {}",
            p.literal_len()
        );
    }

    #[test]
    fn unrelated_or_tiny_inputs_round_trip_or_are_kept_whole() {
        assert!(round_trip(b"abcdefgh", b"zyxwvuts").is_none());
        round_trip(b"", b"");
        assert!(round_trip(b"", b"a").is_none());
        round_trip(b"a", b"");
        let long: Vec<u8> = (0..4096u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut changed = long.clone();
        changed[100] ^= 1;
        changed[2000] ^= 0xff;
        changed.truncate(10_000);
        changed.extend_from_slice(b"tail");
        let p = round_trip(&long, &changed).expect("worth a patch");
        assert!(p.literal_len() < 64, "{}", p.literal_len());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x6465_6c74),
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// A revision and its successor as writes make them: the successor is the revision
        /// with a few bytes substituted, spliced in or cut out. Every patch made rebuilds its
        /// target, and most such pairs are worth one.
        #[test]
        fn a_revision_is_rebuilt_from_its_edited_successor(
            base in proptest::collection::vec(0u8..4, 600..1200),
            edits in proptest::collection::vec((0usize..1200, 0usize..12, proptest::collection::vec(0u8..4, 0..12)), 1..4),
        ) {
            let one_edit = edits.len() == 1;
            let mut newer = base.clone();
            for (at, cut, insert) in edits {
                let at = at.min(newer.len());
                let cut = cut.min(newer.len() - at);
                newer.splice(at..at + cut, insert);
            }
            let patch = Patch::between(&newer, &base);
            // One edit leaves at most its own bytes literal; several far apart may not pay.
            proptest::prop_assert!(patch.is_some() || !one_edit, "one edit in {} bytes", base.len());
            if let Some(p) = patch {
                proptest::prop_assert_eq!(p.apply(&newer), base);
            }
        }
    }
}
