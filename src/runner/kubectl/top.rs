//! `kubectl top node|pod`. A kind cluster has no metrics-server (kind does not install one),
//! so the Metrics API (`metrics.k8s.io`) is not served and kubectl says so, as it does there
//! (`staging/src/k8s.io/kubectl/pkg/cmd/top/top_node.go`: `metricsAPIAvailable`).

use super::{KubectlError, Selection, Session};
use crate::kubectl::command::TopKind;

/// `top` runs: what it prints is kind's answer.
pub(super) const NEEDS: Option<&str> = None;

impl Session<'_> {
    pub(super) fn top(&mut self, _kind: TopKind, _selection: &Selection) {
        self.fail(KubectlError::Usage("Metrics API not available".into()));
    }
}
