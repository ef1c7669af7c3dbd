//! `kubectl rollout status|undo|history|restart|pause|resume`.
//!
//! Not simulated yet: the runner reports a `rollout` step as such (see [`NEEDS`]).

use super::{Selection, Session};
use crate::kubectl::command::RolloutAction;
use crate::units::Duration;

/// What the cluster lacks for `rollout`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = Some("kube-controller-manager (for rollouts)");

impl Session<'_> {
    pub(super) fn rollout(
        &mut self,
        _action: RolloutAction,
        _selection: &Selection,
        _to_revision: Option<i64>,
        _timeout: Option<Duration>,
    ) {
        self.not_simulated("rollout");
    }
}
