//! Why a pod fits nowhere, and the message the FailedScheduling event carries.
//!
//! Follows `pkg/scheduler/framework/types.go` (`FitError.Error`, `Diagnosis`): `0/N nodes are
//! available:` then either the PreFilter message, or every node's reasons counted and the
//! "COUNT REASON" strings sorted as strings and joined with ", ", each part ending in "."; the
//! PostFilter (preemption) message follows as its own sentence, with upstream's extra "." (so
//! real events end in "incoming pod.."; FIDELITY.md F28 quotes it with one).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::Status;

/// `framework.Diagnosis`.
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// Node name → the status of the plugin that rejected it.
    pub node_to_status: BTreeMap<String, Status>,
    /// Set when a PreFilter plugin rejected the pod for every node.
    pub pre_filter_msg: String,
    pub post_filter_msg: String,
    /// Plugins that rejected the pod (the queue waits for their events).
    pub unschedulable_plugins: BTreeSet<&'static str>,
}

/// `framework.FitError`.
#[derive(Clone, Debug, Default)]
pub struct FitError {
    pub num_all_nodes: usize,
    pub diagnosis: Diagnosis,
}

/// "COUNT REASON" for every reason, sorted as strings (`sortReasonsHistogram`).
pub fn reasons_histogram<'a>(statuses: impl Iterator<Item = &'a Status>) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in statuses {
        for r in &s.reasons {
            *counts.entry(r.as_str()).or_insert(0) += 1;
        }
    }
    let mut out: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    out.sort();
    out
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        let d = &self.diagnosis;
        if !d.pre_filter_msg.is_empty() {
            write!(f, " {}.", d.pre_filter_msg)?;
        } else {
            let reasons = reasons_histogram(d.node_to_status.values());
            if !reasons.is_empty() {
                write!(f, " {}.", reasons.join(", "))?;
            }
        }
        if !d.post_filter_msg.is_empty() {
            // The nested message already ends in "."; upstream's `SeparatorFormat` adds
            // another, which is why real events end in "pod..".
            write!(f, " {}.", d.post_filter_msg)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_counts_and_sorts_reasons_and_appends_preemption() {
        let mut d = Diagnosis::default();
        d.node_to_status.insert(
            "cp".into(),
            Status::unresolvable("node(s) had untolerated taint(s)"),
        );
        for n in ["w1", "w2", "w3"] {
            d.node_to_status
                .insert(n.into(), Status::unschedulable("Insufficient cpu"));
        }
        d.post_filter_msg = "preemption: 0/4 nodes are available: 1 Preemption is not helpful \
                             for scheduling, 3 No preemption victims found for incoming pod."
            .into();
        let e = FitError {
            num_all_nodes: 4,
            diagnosis: d,
        };
        assert_eq!(
            e.to_string(),
            "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 Insufficient cpu. \
             preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, \
             3 No preemption victims found for incoming pod.."
        );
    }
}
