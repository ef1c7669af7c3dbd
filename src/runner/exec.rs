//! `Exec(node, "command")`: `docker exec` into a kind node.
//!
//! Not simulated yet: the runner reports an `Exec` step as such (see [`NEEDS`]).

use cluster::Cluster;

use crate::scenario::Target;

/// What the cluster lacks for `Exec`; `None` once it runs.
pub const NEEDS: Option<&str> = Some("`docker exec` into a node");

/// What one command printed (stdout and stderr in order) and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub text: String,
    pub status: i32,
}

/// Runs `command` on the node `target` names.
pub fn run(_cluster: &mut Cluster, target: &Target, command: &str) -> ExecOutput {
    ExecOutput {
        text: format!("kubesim does not run `docker exec {target} {command}` yet\n"),
        status: 126,
    }
}
