//! `kubectl describe`.
//!
//! Not simulated yet: the runner reports a `describe` step as such (see [`NEEDS`]).

use super::{Selection, Session};

/// What the cluster lacks for `describe`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = Some("kubectl describe");

impl Session<'_> {
    pub(super) fn describe(&mut self, _selection: &Selection) {
        self.not_simulated("describe");
    }
}
