//! `kubectl cluster-info`.
//!
//! Not simulated yet: the runner reports a `cluster-info` step as such (see [`NEEDS`]).

use super::Session;

/// What the cluster lacks for `cluster-info`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = Some("CoreDNS (for cluster-info)");

impl Session<'_> {
    pub(super) fn cluster_info(&mut self) {
        self.not_simulated("cluster-info");
    }
}
