//! `crictl ps [-a]`, `crictl pods` and `crictl images` on a node: the runtime's sandboxes,
//! containers and images through the renderers of `runtime::crictl` (cri-tools'
//! `cmd/crictl` table formats).
//!
//! Simplifications: no filters (`--name`, `--pod`, `--state`), no `-o json|yaml`, no
//! `inspect`/`logs`/`exec` subcommands; those end with crictl's usage error.

use super::{ExecOutput, Node};

pub fn crictl(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    let Some(state) = node.runtime() else {
        // The node runs no runtime actor: the socket is not there.
        return ExecOutput::fail(
            "E0101 00:00:00.000000    1234 remote_runtime.go:294] \"ListContainers with filter from runtime service failed\" err=\"rpc error: code = Unavailable desc = connection error: desc = \\\"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or directory\\\"\"\n",
            1,
        );
    };
    let now = node.cluster.sim().now();
    match args {
        ["ps"] => ExecOutput::ok(runtime::crictl::ps(state, now, false)),
        ["ps", "-a" | "--all"] => ExecOutput::ok(runtime::crictl::ps(state, now, true)),
        ["pods"] => ExecOutput::ok(runtime::crictl::pods(state, now)),
        ["images" | "img"] => ExecOutput::ok(runtime::crictl::images(state)),
        [] => ExecOutput::fail(
            "NAME:\n   crictl - client for CRI\n\nUSAGE:\n   crictl [global options] command [command options]\n",
            1,
        ),
        [sub, ..] if matches!(*sub, "ps" | "pods" | "images" | "img") => ExecOutput::fail(
            format!(
                "kubesim: `crictl {}` is not simulated; `crictl ps [-a]`, `crictl pods` and `crictl images` are\n",
                args.join(" ")
            ),
            1,
        ),
        [sub, ..] => ExecOutput::fail(format!("No help topic for '{sub}'\n"), 3),
    }
}
