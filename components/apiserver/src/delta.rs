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
//! The diff is deliberately simple and close to linear: a common prefix extended across short
//! same-length substitutions (a changed count, a timestamp) and across insertions, deletions
//! and replacements found by looking for the next 16 bytes within a few kilobytes, then a
//! common suffix; what cannot be realigned is kept literally. That covers an address added or
//! removed (or moved from `notReadyAddresses` to `addresses`, two edits far apart), a field
//! changed in place, and a status rewritten at the end of an object; a patch that would not
//! save at least half of the bytes is not made.

/// How many bytes past a substitution must match again for the substitution to be taken as
/// one (short runs match by accident in structured data).
const RESYNC: usize = 16;
/// The longest same-length substitution the forward scan steps over.
const MAX_SUBSTITUTION: usize = 8;
/// How far ahead (in either input) the scan looks for the two to agree again after an
/// insertion, a deletion or a replacement: an object's edits are local (an address of a few
/// hundred bytes, a condition), and a bounded look keeps a write's diff linear.
const REALIGN_WINDOW: usize = 4096;
/// How long a realigned match must run to be taken (records of structured data share their
/// field names, so a short match is often the same field of another record).
const REALIGN_MIN: usize = 64;

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
                None => match realign(&source[j..source_end], &target[i..target_end]) {
                    Some((skip, take)) => {
                        literal.extend_from_slice(&target[i..i + take]);
                        i += take;
                        j += skip;
                    }
                    None => {
                        literal.extend_from_slice(&target[i..target_end]);
                        i = target_end;
                    }
                },
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
        self.apply_into(source, &mut out);
        out
    }

    /// [`Patch::apply`] into `out`, replacing what it held (a chain of patches reuses its
    /// buffers).
    pub fn apply_into(&self, source: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.len);
        for op in &self.ops {
            match op {
                Op::Copy { at, len } => out.extend_from_slice(&source[*at..*at + *len]),
                Op::Insert(b) => out.extend_from_slice(b),
            }
        }
    }

    /// What the patch holds on the heap (its operations and literal bytes).
    pub fn heap_bytes(&self) -> usize {
        self.ops.len() * std::mem::size_of::<Op>() + self.literal_len()
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

/// Where `source` and `target`, which differ at their first byte, agree again after an edit
/// of different lengths: `(source bytes skipped, target bytes kept literally)`, the fewest
/// literal bytes among the matches of [`REALIGN_MIN`] bytes found within [`REALIGN_WINDOW`].
/// An insertion is found by looking for the source's next bytes in the target; a deletion or
/// a replacement by looking for the target's bytes, a little way in, in the source.
fn realign(source: &[u8], target: &[u8]) -> Option<(usize, usize)> {
    let agrees = |s: usize, t: usize| {
        let run = common_prefix(&source[s..], &target[t..]);
        run >= REALIGN_MIN || s + run == source.len() || t + run == target.len()
    };
    let mut best: Option<(usize, usize)> = None;
    if source.len() >= RESYNC {
        let needle = &source[..RESYNC];
        let end = target.len().min(REALIGN_WINDOW);
        best = (1..end.saturating_sub(RESYNC - 1))
            .find(|&t| target[t..t + RESYNC] == *needle && agrees(0, t))
            .map(|t| (0, t));
    }
    for lead in [0, 8, 32, 128] {
        if best.is_some_and(|(_, take)| take <= lead) || target.len() < lead + RESYNC {
            break;
        }
        let needle = &target[lead..lead + RESYNC];
        let end = source.len().min(REALIGN_WINDOW);
        let found = (1..end.saturating_sub(RESYNC - 1))
            .find(|&s| source[s..s + RESYNC] == *needle && agrees(s, lead));
        if let Some(mut s) = found {
            // The replaced bytes may end before the anchor: take back what matches before it.
            let mut take = lead;
            while take > 0 && s > 0 && source[s - 1] == target[take - 1] {
                s -= 1;
                take -= 1;
            }
            if best.is_none_or(|(_, b)| take < b) {
                best = Some((s, take));
            }
        }
    }
    best
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

    /// Endpoints as the controller rewrites them: one address leaves `notReadyAddresses`, near
    /// the end, and joins `addresses`, in the middle, with its name's length unlike its
    /// neighbours'. Both edits are kept, not everything between them.
    #[test]
    fn an_address_moved_between_two_lists_keeps_both_edits_only() {
        let record = |i: u32| format!("{{ip:10.244.{}.{},targetRef:web-{i}}}", i / 256, i % 256);
        let endpoints = |ready: &[u32], not_ready: &[u32]| {
            let mut out = b"{\"subsets\":[{\"addresses\":[".to_vec();
            out.extend(ready.iter().flat_map(|&i| record(i).into_bytes()));
            out.extend_from_slice(b"],\"notReadyAddresses\":[");
            out.extend(not_ready.iter().flat_map(|&i| record(i).into_bytes()));
            out.extend_from_slice(b"]}]}");
            out
        };
        let ready: Vec<u32> = (0..600).filter(|i| i % 7 != 0).collect();
        let not_ready: Vec<u32> = (0..600).filter(|i| i % 7 == 0).collect();
        let older = endpoints(&ready, &not_ready);
        let mut ready_after = ready.clone();
        ready_after.push(301);
        ready_after.sort();
        let not_ready_after: Vec<u32> = not_ready.iter().copied().filter(|&i| i != 301).collect();
        let newer = endpoints(&ready_after, &not_ready_after);
        let p = round_trip(&newer, &older).expect("worth a patch");
        assert!(
            p.literal_len() < 40,
            "one record's bytes: {}",
            p.literal_len()
        );
        let p = round_trip(&older, &newer).expect("worth a patch");
        assert!(
            p.literal_len() < 40,
            "one record's bytes: {}",
            p.literal_len()
        );
    }

    #[test]
    fn replacements_of_another_length_are_realigned() {
        let base: Vec<u8> = (0..3000u32)
            .flat_map(|i| format!("<{}:{}>", i, i * 7919 % 10007).into_bytes())
            .collect();
        let text = String::from_utf8(base.clone()).expect("ascii");
        let edited = text
            .replacen("<100:", "<one hundred:", 1)
            .replacen("<2000:", "<2k:", 1)
            .into_bytes();
        let p = round_trip(&edited, &base).expect("worth a patch");
        assert!(p.literal_len() < 20, "{}", p.literal_len());
        let p = round_trip(&base, &edited).expect("worth a patch");
        assert!(p.literal_len() < 30, "{}", p.literal_len());
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
