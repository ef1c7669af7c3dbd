//! `kubectl get --watch`: the table, then one line per change with its virtual time, until
//! `--request-timeout`.
//!
//! Not simulated yet: the runner reports a `--watch` step as such (see [`NEEDS`]).

use super::{OutputFormat, Selection, Session};
use crate::units::Duration;

/// What the cluster lacks for `get --watch`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = Some("kubectl get --watch");

impl Session<'_> {
    pub(super) fn watch(
        &mut self,
        _selection: &Selection,
        _output: &OutputFormat,
        _no_headers: bool,
        _timeout: Option<Duration>,
    ) {
        self.not_simulated("get --watch");
    }
}
