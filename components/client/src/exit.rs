//! A component process that exits on purpose, as its static pod's container sees it.
//!
//! kube-scheduler and kube-controller-manager end their process when they lose their Lease
//! (`klog.FlushAndExit(..., 1)` in `OnStoppedLeading`); the kubelet then restarts the static
//! pod's container, so `kubectl get pods -n kube-system` counts a restart, `lastState` holds
//! the exit (code 1, reason `Error`) and `kubectl logs --previous` prints the old process's
//! lines. Here the process is the component's actor and the container a stand-in the node's
//! container runtime runs (the kubelet's `static_pods`); [`exit_and_restart`] tells that runtime
//! the process exited (a message on the node itself) and starts a new run of the actor's log
//! ([`sim::Ctx::process_restarted`]).
//!
//! Simplification: the actor goes on at once as the new process, while its container is
//! restarted by the kubelet's next pod sync, a moment later (upstream the new process starts
//! only then).

use sim::{Ctx, Message};

/// The node's container runtime, by its actor name on every node.
pub const RUNTIME_ACTOR: &str = "containerd";

/// A cluster's message type can say to the runtime that a container's process exited.
pub trait ExitEnvelope: Message {
    /// The message telling the runtime that `container` of `namespace/pod` exited with
    /// `exit_code`; `None` where there is no runtime to tell (a harness of the component
    /// alone).
    fn process_exit(namespace: &str, pod: &str, container: &str, exit_code: i32) -> Option<Self>;
}

/// The process of `component`'s static pod (`kube-system/<component>-<node>`, container
/// `<component>`, kubeadm's names) exits with `exit_code` and is started again: the runtime
/// is told, and the actor's log begins a new run. The caller resets its own state.
pub fn exit_and_restart<M: ExitEnvelope>(ctx: &mut Ctx<'_, M>, component: &str, exit_code: i32) {
    let node = ctx.host_name(ctx.host()).to_string();
    let pod = format!("{component}-{node}");
    if let (Some(runtime), Some(msg)) = (
        ctx.lookup(&node, RUNTIME_ACTOR),
        M::process_exit("kube-system", &pod, component, exit_code),
    ) {
        ctx.send(runtime, msg);
    }
    ctx.process_restarted();
}

/// The apiserver's test harness runs components without nodes: nothing to tell.
impl ExitEnvelope for apiserver::testkit::TestMsg {
    fn process_exit(_: &str, _: &str, _: &str, _: i32) -> Option<Self> {
        None
    }
}
