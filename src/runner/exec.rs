//! `Exec(node, "command")`: `docker exec` into a kind node. The target (a node, or a
//! component's current leader) is resolved when the step runs; the command is answered by
//! [`crate::exec`] from the node's state.

use cluster::Cluster;

use crate::scenario::Target;

pub use crate::exec::ExecOutput;

/// What the cluster lacks for `Exec`; `None` once it runs.
pub const NEEDS: Option<&str> = None;

/// Runs `command` on the node `target` names.
pub fn run(cluster: &mut Cluster, target: &Target, command: &str) -> ExecOutput {
    let node = match target {
        Target::Node(name) => name.clone(),
        Target::Leader(of) => match cluster.resolve_leader(of.as_str()) {
            Ok(host) => cluster
                .sim()
                .host_name(host)
                .unwrap_or_default()
                .to_string(),
            Err(e) => {
                return ExecOutput::fail(format!("{target} did not resolve: {e}\n"), 1);
            }
        },
    };
    crate::exec::run(cluster, &node, command)
}
