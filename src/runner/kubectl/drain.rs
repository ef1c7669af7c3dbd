//! `kubectl drain`.
//!
//! Not simulated yet: the runner reports a `drain` step as such (see [`NEEDS`]).

use super::{Selection, Session};
use crate::units::Duration;

/// What the cluster lacks for `drain`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = Some("kube-controller-manager (for drain's evictions)");

/// `kubectl drain`'s flags.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // read by drain once it runs
pub(super) struct DrainFlags {
    pub ignore_daemonsets: bool,
    pub delete_emptydir_data: bool,
    pub force: bool,
    pub grace_period: Option<i64>,
    pub timeout: Option<Duration>,
}

impl Session<'_> {
    pub(super) fn drain(&mut self, _selection: &Selection, _flags: DrainFlags) {
        self.not_simulated("drain");
    }
}
