//! `iptables`, `iptables-save` and `ipvsadm` on a node: the rules the node's kube-proxy
//! programmed, through `proxy::exec` (iptables' and ipvsadm's own listing formats, with the
//! `--probability` values of kube-proxy's `KUBE-SVC-…` chains).
//!
//! A node whose kube-proxy is not running has an empty ruleset: iptables lists the built-in
//! chains only. Simplification: the rules of other programs on a kind node (docker's
//! `DOCKER_OUTPUT`, kindnet's masquerading) are whatever `proxy` renders.

use proxy::exec::CommandOutput;
use proxy::{ProxyMode, RuleTable};

use super::{ExecOutput, Node, date_stamp};

fn rules(node: &Node<'_>) -> RuleTable {
    match node.proxy() {
        Some(p) => p.rules().clone(),
        None => RuleTable::empty(ProxyMode::Iptables),
    }
}

fn output(o: CommandOutput) -> ExecOutput {
    ExecOutput {
        text: format!("{}{}", o.stderr, o.stdout),
        status: o.status,
    }
}

pub fn iptables(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    output(proxy::exec::iptables(args, &rules(node)))
}

pub fn iptables_save(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    let stamp = date_stamp(node.local_now());
    output(proxy::exec::iptables_save(args, &rules(node), &stamp))
}

pub fn ipvsadm(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    output(proxy::exec::ipvsadm(args, &rules(node)))
}
