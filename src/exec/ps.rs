//! `ps aux` (and `ps -ef`) on a kind node: systemd as PID 1, journald, containerd, the
//! kubelet with kind's flags (`kind/pkg/cluster/internal/kubeadm/config.go` and the node
//! image's `10-kubeadm.conf` drop-in), then for every pod sandbox its containerd shim and
//! `/pause`, and every running container's process with the command its pod spec gives
//! (kubeadm's static pods carry their full command lines; `$(VAR)` references to `value` and
//! `spec.nodeName` env vars are expanded as the kubelet does).
//!
//! Follows procps-ng's `aux` format (`USER PID %CPU %MEM VSZ RSS TTY STAT START TIME
//! COMMAND`, widths 8/7/4/4/6/5/8/4/5/6) and `-ef` (`UID PID PPID C STIME TTY TIME CMD`).
//! Simplifications: CPU time and memory are not simulated, so %CPU, %MEM and TIME read 0 and
//! VSZ/RSS are each program's typical size on a kind node; PIDs are handed out in start
//! order; a container whose pod spec has no command shows its image's name (the image's
//! entrypoint is not known); the node's boot is dated by its runtime ([`Node::boot_time`]).

use std::collections::BTreeMap;

use api::k8s_openapi::api::core::v1::Pod;
use cluster::ClusterMsg;
use kubelet::Kubelet;
use runtime::state::{ContainerState, SandboxState};
use sim::Time;

use super::{ExecOutput, Node};

/// One process row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub user: String,
    pub pid: u32,
    pub ppid: u32,
    pub vsz: u64,
    pub rss: u64,
    pub stat: &'static str,
    pub start: Time,
    pub command: String,
}

/// Typical (VSZ, RSS) in KiB of a program on a kind node.
fn size_of(command: &str) -> (u64, u64) {
    let program = command.split_whitespace().next().unwrap_or_default();
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "init" => (19_984, 11_708),
        "systemd-journald" => (31_180, 13_824),
        "containerd" => (2_425_180, 49_288),
        "kubelet" => (2_935_412, 76_544),
        "containerd-shim-runc-v2" => (1_238_476, 12_288),
        "pause" => (1_020, 640),
        "etcd" => (11_742_872, 43_008),
        "kube-apiserver" => (1_533_220, 305_152),
        "kube-controller-manager" => (1_304_740, 103_676),
        "kube-scheduler" => (1_290_184, 56_860),
        "kube-proxy" => (1_288_492, 61_276),
        "kindnetd" => (1_273_280, 48_220),
        "coredns" => (1_281_724, 55_196),
        "local-path-provisioner" => (1_262_196, 40_320),
        _ => (10_404, 5_672),
    }
}

/// The kubelet's command line on a kind node.
pub fn kubelet_command(node: &Node<'_>) -> String {
    format!(
        "/usr/bin/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml --container-runtime-endpoint=unix:///run/containerd/containerd.sock --node-ip={} --node-labels= --pod-infra-container-image=registry.k8s.io/pause:3.10 --provider-id=kind://docker/kubesim/{} --runtime-cgroups=/system.slice/containerd.service",
        node.ip(),
        node.name()
    )
}

pub const CONTAINERD_COMMAND: &str = "/usr/local/bin/containerd";

/// A container's command line from its pod spec, `$(VAR)` expanded from the env vars the
/// kubelet can resolve (`value`, `fieldRef: spec.nodeName`).
fn container_command(pod: &Pod, container: &str, node: &str, image: &str) -> String {
    let spec = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == container));
    let Some(c) = spec else {
        return image_program(image);
    };
    let mut words: Vec<String> = c.command.clone().unwrap_or_default();
    words.extend(c.args.clone().unwrap_or_default());
    if words.is_empty() {
        return image_program(image);
    }
    let mut env = BTreeMap::new();
    for e in c.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(from)) => from
                .field_ref
                .as_ref()
                .filter(|f| f.field_path == "spec.nodeName")
                .map(|_| node.to_string()),
            _ => None,
        };
        if let Some(v) = value {
            env.insert(format!("$({})", e.name), v);
        }
    }
    words
        .iter()
        .map(|w| {
            env.iter()
                .fold(w.clone(), |acc, (k, v)| acc.replace(k.as_str(), v))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What an image without a known command runs, as ps shows it: the image's name.
fn image_program(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last).to_string()
}

/// Who runs a container's process (CoreDNS's image runs as the nonroot uid 65532).
fn user_of(image: &str) -> &'static str {
    if image.contains("coredns") {
        "65532"
    } else {
        "root"
    }
}

/// The node's processes in PID order.
pub fn processes(node: &Node<'_>) -> Vec<Process> {
    let runtime = node.runtime();
    let kubelet = node
        .agents
        .and_then(|a| node.cluster.sim().actor::<Kubelet<ClusterMsg>>(a.kubelet));
    let boot = node.boot_time();
    let mut out = Vec::new();
    let push = |out: &mut Vec<Process>, user: &str, pid, ppid, stat, start, command: String| {
        let (vsz, rss) = size_of(&command);
        out.push(Process {
            user: user.to_string(),
            pid,
            ppid,
            vsz,
            rss,
            stat,
            start,
            command,
        });
    };
    push(&mut out, "root", 1, 0, "Ss", boot, "/sbin/init".into());
    push(
        &mut out,
        "root",
        88,
        1,
        "Ss",
        boot,
        "/lib/systemd/systemd-journald".into(),
    );
    let containerd_pid = 101;
    if runtime.is_some() {
        push(
            &mut out,
            "root",
            containerd_pid,
            1,
            "Ssl",
            boot,
            CONTAINERD_COMMAND.into(),
        );
    }
    if kubelet.is_some() {
        push(&mut out, "root", 160, 1, "Ssl", boot, kubelet_command(node));
    }
    let mut next_pid = 200;
    let mut proxy_listed = false;
    if let Some(state) = runtime {
        let mut sandboxes: Vec<_> = state
            .sandboxes
            .values()
            .filter(|s| s.state == SandboxState::Ready)
            .collect();
        sandboxes.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        for s in sandboxes {
            let shim = next_pid;
            push(
                &mut out,
                "root",
                shim,
                1,
                "Sl",
                s.created_at,
                format!(
                    "/usr/local/bin/containerd-shim-runc-v2 -namespace k8s.io -id {} -address /run/containerd/containerd.sock",
                    s.id
                ),
            );
            push(
                &mut out,
                "65535",
                shim + 1,
                shim,
                "Ss",
                s.created_at,
                "/pause".into(),
            );
            next_pid = shim + 2;
            let pod = kubelet
                .and_then(|k| k.pod(&s.namespace, &s.name))
                .map(|w| w.pod());
            let mut containers: Vec<_> = state
                .containers_of(&s.id)
                .filter(|c| c.state == ContainerState::Running)
                .collect();
            containers.sort_by_key(|c| (c.started_at, c.seq));
            for c in containers {
                let command = match &pod {
                    Some(p) => container_command(p, &c.name, node.name(), &c.image),
                    None => image_program(&c.image),
                };
                proxy_listed |= c.name == "kube-proxy";
                push(
                    &mut out,
                    user_of(&c.image),
                    next_pid,
                    shim,
                    "Ssl",
                    c.started_at.unwrap_or(c.created_at),
                    command,
                );
                next_pid += 1;
            }
            // Room for the processes a shim forks and reaps.
            next_pid += 7;
        }
    }
    // kube-proxy without a pod of its own (the cluster runs it on every node either way).
    if !proxy_listed && node.proxy().is_some() {
        push(
            &mut out,
            "root",
            next_pid,
            1,
            "Ssl",
            boot,
            format!(
                "/usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf --hostname-override={}",
                node.name()
            ),
        );
    }
    out
}

fn hh_mm(t: Time) -> String {
    let secs = t.as_secs();
    format!("{:02}:{:02}", secs / 3600 % 24, secs / 60 % 60)
}

/// `ps ARGS`: `aux` (with or without the dash) and `-ef`.
pub fn ps(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    let joined = args.join(" ");
    let procs = processes(node);
    match joined.as_str() {
        "aux" | "-aux" | "axu" | "-ax u" | "aux --no-headers" => {
            let mut out = String::from(
                "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n",
            );
            for p in &procs {
                out.push_str(&format!(
                    "{:<8} {:>7} {:>4} {:>4} {:>6} {:>5} {:<8} {:<4} {:>5} {:>6} {}\n",
                    p.user,
                    p.pid,
                    "0.0",
                    "0.0",
                    p.vsz,
                    p.rss,
                    "?",
                    p.stat,
                    hh_mm(p.start),
                    "0:00",
                    p.command
                ));
            }
            ExecOutput::ok(out)
        }
        "-ef" | "-e -f" | "-fe" => {
            let mut out = String::from("UID          PID    PPID  C STIME TTY          TIME CMD\n");
            for p in &procs {
                out.push_str(&format!(
                    "{:<8} {:>7} {:>7} {:>2} {:>5} {:<8} {:>8} {}\n",
                    p.user,
                    p.pid,
                    p.ppid,
                    0,
                    hh_mm(p.start),
                    "?",
                    "00:00:00",
                    p.command
                ));
            }
            ExecOutput::ok(out)
        }
        "" => {
            let pid = procs.last().map_or(300, |p| p.pid + 13);
            ExecOutput::ok(format!(
                "    PID TTY          TIME CMD\n{pid:>7} ?        00:00:00 ps\n"
            ))
        }
        other => ExecOutput::fail(
            format!("kubesim: `ps {other}` is not simulated; `ps`, `ps aux` and `ps -ef` are\n"),
            1,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_without_a_command_show_their_name() {
        assert_eq!(image_program("docker.io/library/nginx:1.27"), "nginx");
        assert_eq!(image_program("nginx@sha256:abc"), "nginx");
        assert_eq!(hh_mm(Time::from_nanos(3_725_000_000_000)), "01:02");
    }
}
