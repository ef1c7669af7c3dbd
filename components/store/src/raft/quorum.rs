//! Majority arithmetic over a static voter set: the commit index a quorum has reached and the
//! outcome of an election.
//!
//! Follows etcd-io/raft `quorum/majority.go` (`CommittedIndex`, `VoteResult`). Joint consensus
//! is not modelled because membership is static.

/// How many voters make a majority of `voters`.
pub fn majority(voters: usize) -> usize {
    voters / 2 + 1
}

/// The largest index that a majority of `matched` (one per voter) has reached; `matched` is
/// left sorted (the leader calls this after every acknowledgement: no copy).
pub fn committed_index(matched: &mut [u64]) -> u64 {
    if matched.is_empty() {
        return 0;
    }
    matched.sort_unstable_by(|a, b| b.cmp(a));
    matched[majority(matched.len()) - 1]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    Won,
    Lost,
    Pending,
}

/// Outcome of an election with `granted` and `rejected` answers out of `voters`.
pub fn vote_result(voters: usize, granted: usize, rejected: usize) -> VoteResult {
    let q = majority(voters);
    if granted >= q {
        VoteResult::Won
    } else if voters.saturating_sub(rejected) < q {
        VoteResult::Lost
    } else {
        VoteResult::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_index_table() {
        let cases: &[(&[u64], u64)] = &[
            (&[5], 5),
            (&[5, 3, 1], 3),
            (&[1, 3, 5], 3),
            (&[7, 7, 1], 7),
            (&[9, 8, 2, 1, 0], 2),
            (&[4, 4, 4, 0, 0], 4),
        ];
        for (matched, want) in cases {
            assert_eq!(committed_index(&mut matched.to_vec()), *want, "{matched:?}");
        }
    }

    #[test]
    fn vote_result_table() {
        let cases = [
            (1, 1, 0, VoteResult::Won),
            (3, 1, 0, VoteResult::Pending),
            (3, 2, 0, VoteResult::Won),
            (3, 1, 2, VoteResult::Lost),
            (5, 2, 2, VoteResult::Pending),
            (5, 2, 3, VoteResult::Lost),
        ];
        for (n, g, r, want) in cases {
            assert_eq!(vote_result(n, g, r), want, "{n} {g} {r}");
        }
    }
}
