//! Slow-start pod creation shared by the DaemonSet and Job controllers: the creates one sync
//! decided on go out in batches of 1, 2, 4, …; the next batch leaves when every create of the
//! previous one is answered, and the first failure ends the run.
//!
//! Follows `slowStartBatch` in `pkg/controller/replicaset/replica_set.go` (reused by
//! `pkg/controller/daemon/daemon_controller.go` `syncNodes` and `pkg/controller/job`'s
//! `manageJob`). Upstream blocks a worker on each batch; here the run is kept per key and
//! advanced by the write results (see `controller.rs`). The caller learns how many creates
//! were never sent so that it can lower its expectations by that many, as upstream does.

use std::collections::{BTreeMap, VecDeque};

use api::Object;

use crate::controller::{Purpose, Write};

/// `SlowStartInitialBatchSize`.
pub const INITIAL_BATCH: usize = 1;

#[derive(Clone, Debug)]
struct Run {
    pending: VecDeque<Object>,
    outstanding: usize,
    batch: usize,
    failed: bool,
}

/// How a create result moved a run along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Creates of the current batch are still unanswered, or the next batch was sent.
    Running,
    /// The run ended; `skipped` creates were never sent (after a failure).
    Done { skipped: usize },
    /// No run for this key (a result after a reset).
    Unknown,
}

/// The slow-start runs of one controller, by queue key.
#[derive(Clone, Debug, Default)]
pub struct SlowStarts {
    runs: BTreeMap<String, Run>,
}

impl SlowStarts {
    /// Starts creating `pods` for `key` (replacing a finished run) and sends the first batch.
    pub fn start(&mut self, key: &str, pods: Vec<Object>, writes: &mut Vec<Write>) {
        if pods.is_empty() {
            return;
        }
        self.runs.insert(
            key.to_string(),
            Run {
                pending: pods.into(),
                outstanding: 0,
                batch: INITIAL_BATCH,
                failed: false,
            },
        );
        self.send(key, writes);
    }

    pub fn is_running(&self, key: &str) -> bool {
        self.runs.contains_key(key)
    }

    fn send(&mut self, key: &str, writes: &mut Vec<Write>) {
        let Some(run) = self.runs.get_mut(key) else {
            return;
        };
        let n = run.batch.min(run.pending.len());
        for pod in run.pending.drain(..n) {
            writes.push(Write::create(pod, key).purpose(Purpose::CreatePod));
        }
        run.outstanding += n;
    }

    /// One create of `key`'s run was answered (`ok` = created).
    pub fn on_result(&mut self, key: &str, ok: bool, writes: &mut Vec<Write>) -> Progress {
        let Some(run) = self.runs.get_mut(key) else {
            return Progress::Unknown;
        };
        run.outstanding = run.outstanding.saturating_sub(1);
        run.failed |= !ok;
        if run.outstanding > 0 {
            return Progress::Running;
        }
        if run.failed || run.pending.is_empty() {
            let skipped = run.pending.len();
            self.runs.remove(key);
            return Progress::Done { skipped };
        }
        run.batch = (run.batch * 2).min(run.pending.len());
        self.send(key, writes);
        Progress::Running
    }

    pub fn forget(&mut self, key: &str) {
        self.runs.remove(key);
    }

    pub fn clear(&mut self) {
        self.runs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pods(n: usize) -> Vec<Object> {
        (0..n).map(|_| Object::from(Pod::default())).collect()
    }

    #[test]
    fn batches_double_and_a_failure_skips_the_rest() {
        let mut s = SlowStarts::default();
        let mut w = Vec::new();
        s.start("ns/a", pods(7), &mut w);
        assert_eq!(w.len(), 1);
        w.clear();
        assert_eq!(s.on_result("ns/a", true, &mut w), Progress::Running);
        assert_eq!(w.len(), 2);
        w.clear();
        s.on_result("ns/a", true, &mut w);
        assert!(w.is_empty(), "the batch is not answered yet");
        s.on_result("ns/a", true, &mut w);
        assert_eq!(w.len(), 4);
        w.clear();
        s.on_result("ns/a", false, &mut w);
        s.on_result("ns/a", true, &mut w);
        s.on_result("ns/a", true, &mut w);
        assert_eq!(
            s.on_result("ns/a", true, &mut w),
            Progress::Done { skipped: 0 }
        );
        assert!(!s.is_running("ns/a"));

        s.start("ns/b", pods(4), &mut w);
        w.clear();
        assert_eq!(
            s.on_result("ns/b", false, &mut w),
            Progress::Done { skipped: 3 }
        );
        assert!(w.is_empty());
    }
}
