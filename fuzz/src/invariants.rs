//! Collects the verdicts of the always-on invariants of one run (DESIGN.md, "Tests"), so a
//! driver can say which held and which did not, in one place:
//! - the engine's [`sim::Finding`] (Raft safety is installed as an engine invariant by the
//!   cluster, so its violation arrives here; so do panics inside actors);
//! - linearizability of a recorded etcd client history, judged by
//!   [`store::linearizability::check`] (a budget that runs out is "unknown", not a violation);
//! - anything else a driver checks itself (expectations, liveness after the settle period),
//!   through [`Verdicts::record`].

use store::linearizability::{Budget, History, Verdict};

/// One invariant's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantVerdict {
    pub invariant: String,
    /// `None` when it held.
    pub violation: Option<String>,
}

/// Verdicts of one run, in the order they were taken.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub verdicts: Vec<InvariantVerdict>,
    /// Checks that could not decide (a search budget ran out).
    pub undecided: Vec<String>,
}

impl Verdicts {
    pub fn new() -> Verdicts {
        Verdicts::default()
    }

    pub fn record(&mut self, invariant: &str, result: Result<(), String>) {
        self.verdicts.push(InvariantVerdict {
            invariant: invariant.to_string(),
            violation: result.err(),
        });
    }

    /// The engine's finding, if the run had one (Raft safety, panics, registered invariants).
    pub fn engine(&mut self, finding: Option<&sim::Finding>) {
        self.record(
            "engine findings",
            finding.map_or(Ok(()), |f| Err(f.to_string())),
        );
    }

    /// Linearizability of an etcd client history.
    pub fn linearizability(&mut self, history: &History, budget: Budget) {
        match store::linearizability::check(history, budget) {
            Verdict::Ok => self.record("linearizability", Ok(())),
            Verdict::Illegal(v) => self.record("linearizability", Err(format!("{v:?}"))),
            Verdict::Unknown { undecided_keys } => self.undecided.push(format!(
                "linearizability: search budget ran out on keys {undecided_keys:?}"
            )),
        }
    }

    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.violation.is_none())
    }

    /// `Err` with every violation, one per line, named by invariant.
    pub fn into_result(self) -> Result<(), String> {
        let lines: Vec<String> = self
            .verdicts
            .into_iter()
            .filter_map(|v| v.violation.map(|why| format!("{}: {why}", v.invariant)))
            .collect();
        if lines.is_empty() {
            Ok(())
        } else {
            Err(lines.join("\n"))
        }
    }
}
