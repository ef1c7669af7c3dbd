//! `kubectl logs`.
//!
//! Not simulated yet: the runner reports a `logs` step as such (see [`NEEDS`]).

use super::{Session, Target};

/// What the cluster lacks for `logs`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = Some("kubelet, container runtime (for logs)");

impl Session<'_> {
    pub(super) fn logs(
        &mut self,
        _pod: &Target,
        _container: Option<&str>,
        _previous: bool,
        _tail: Option<i64>,
        _follow: bool,
    ) {
        self.not_simulated("logs");
    }
}
