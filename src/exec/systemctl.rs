//! `systemctl status kubelet|containerd` (and `systemctl is-active …`) on a kind node: the two
//! services kind's node image runs under systemd, with the unit files and drop-ins it ships
//! (`kind/images/base/files/etc/systemd/system/{kubelet,containerd}.service`,
//! `kubelet.service.d/10-kubeadm.conf` and `11-kind.conf`), the main process as `ps` lists it,
//! and the journal's last ten lines: the component's own log (the kubelet's klog lines).
//!
//! Follows systemd 252's `systemctl status` layout (Debian 12, kind's base): the `●` line,
//! `Loaded`, `Drop-In`, `Active: active (running) since …; <relative> ago`, `Docs`, `Main
//! PID`, `CGroup`, a blank line and the journal as `Mon DD HH:MM:SS host unit[pid]: line`.
//! Simplifications: no `Tasks`/`Memory`/`CPU` lines (not simulated); the service started
//! with the node (dated by [`super::Node::boot_time`]);
//! unit names other than these two are not found.

use cluster::logs::render;
use sim::{ActorId, Duration, Time};

use super::ps::{CONTAINERD_COMMAND, kubelet_command};
use super::{ExecOutput, Node};

struct Unit {
    name: &'static str,
    description: &'static str,
    drop_in: Option<&'static str>,
    docs: &'static str,
    cgroup: &'static str,
    pid: u32,
    program: &'static str,
    command: String,
    actor: Option<ActorId>,
}

fn unit(node: &Node<'_>, name: &str) -> Option<Unit> {
    match name.trim_end_matches(".service") {
        "kubelet" => Some(Unit {
            name: "kubelet",
            description: "kubelet: The Kubernetes Node Agent",
            drop_in: Some("10-kubeadm.conf, 11-kind.conf"),
            docs: "http://kubernetes.io/docs/",
            cgroup: "/kubelet.slice/kubelet.service",
            pid: 160,
            program: "kubelet",
            command: kubelet_command(node),
            actor: node.agents.map(|a| a.kubelet),
        }),
        "containerd" => Some(Unit {
            name: "containerd",
            description: "containerd container runtime",
            drop_in: None,
            docs: "https://containerd.io",
            cgroup: "/system.slice/containerd.service",
            pid: 101,
            program: "containerd",
            command: CONTAINERD_COMMAND.to_string(),
            actor: node.agents.map(|a| a.runtime),
        }),
        _ => None,
    }
}

/// systemd's relative timestamp (`format_timestamp_relative`).
fn relative(d: Duration) -> String {
    let s = d.as_secs();
    let (min, hour, day) = (60, 3600, 86_400);
    if s >= 2 * day {
        format!("{} days ago", s / day)
    } else if s >= day {
        format!("1 day {}h ago", (s - day) / hour)
    } else if s >= hour {
        format!("{}h {}min ago", s / hour, s % hour / min)
    } else if s >= 5 * min {
        format!("{}min ago", s / min)
    } else if s >= min {
        format!("{}min {}s ago", s / min, s % min)
    } else if s >= 1 {
        format!("{s}s ago")
    } else {
        "now".into()
    }
}

fn since(t: Time) -> String {
    let secs = api::WALL_EPOCH_SECS + t.as_secs() as i64;
    api::k8s_openapi::jiff::Timestamp::from_second(secs)
        .map(|ts| ts.strftime("%a %Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn journal_time(t: Time) -> String {
    let secs = api::WALL_EPOCH_SECS + t.as_secs() as i64;
    api::k8s_openapi::jiff::Timestamp::from_second(secs)
        .map(|ts| ts.strftime("%b %d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub fn systemctl(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    let (verb, names): (&str, &[&str]) = match args {
        [verb, names @ ..] if !names.is_empty() => (verb, names),
        _ => {
            return ExecOutput::fail(
                "kubesim: only `systemctl status UNIT` and `systemctl is-active UNIT` are simulated\n",
                1,
            );
        }
    };
    let mut out = String::new();
    let mut status = 0;
    for name in names {
        let Some(u) = unit(node, name) else {
            match verb {
                "is-active" => out.push_str("inactive\n"),
                _ => out.push_str(&format!(
                    "Unit {}.service could not be found.\n",
                    name.trim_end_matches(".service")
                )),
            }
            status = if verb == "is-active" { 3 } else { 4 };
            continue;
        };
        let running = u
            .actor
            .is_some_and(|a| node.cluster.sim().actor_host(a).is_some());
        match verb {
            "is-active" => {
                out.push_str(if running { "active\n" } else { "inactive\n" });
                if !running {
                    status = 3;
                }
            }
            "status" => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&status_text(node, &u, running));
                if !running {
                    status = 3;
                }
            }
            other => {
                return ExecOutput::fail(
                    format!(
                        "kubesim: `systemctl {other}` is not simulated; status and is-active are\n"
                    ),
                    1,
                );
            }
        }
    }
    ExecOutput { text: out, status }
}

fn status_text(node: &Node<'_>, u: &Unit, running: bool) -> String {
    let boot = node.boot_time();
    let now = node.local_now();
    let mut s = format!(
        "● {}.service - {}\n     Loaded: loaded (/etc/systemd/system/{}.service; enabled; preset: enabled)\n",
        u.name, u.description, u.name
    );
    if let Some(d) = u.drop_in {
        s.push_str(&format!(
            "    Drop-In: /etc/systemd/system/{}.service.d\n             └─{d}\n",
            u.name
        ));
    }
    if running {
        s.push_str(&format!(
            "     Active: active (running) since {}; {}\n",
            since(boot),
            relative(now.saturating_since(boot))
        ));
    } else {
        s.push_str("     Active: inactive (dead)\n");
    }
    s.push_str(&format!("       Docs: {}\n", u.docs));
    if running {
        s.push_str(&format!(
            "   Main PID: {} ({})\n     CGroup: {}\n             └─{} {}\n",
            u.pid, u.program, u.cgroup, u.pid, u.command
        ));
    }
    let lines: Vec<String> = match u.actor {
        Some(a) => {
            let all: Vec<_> = node.cluster.sim().logs(a).collect();
            let skip = all.len().saturating_sub(10);
            all[skip..]
                .iter()
                .map(|l| {
                    format!(
                        "{} {} {}[{}]: {}",
                        journal_time(l.local),
                        node.name(),
                        u.name,
                        u.pid,
                        render(l)
                    )
                })
                .collect()
        }
        None => Vec::new(),
    };
    if !lines.is_empty() {
        s.push('\n');
        for l in lines {
            s.push_str(&l);
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_like_systemd() {
        assert_eq!(relative(Duration::from_secs(33)), "33s ago");
        assert_eq!(relative(Duration::from_secs(125)), "2min 5s ago");
        assert_eq!(relative(Duration::from_secs(600)), "10min ago");
        assert_eq!(relative(Duration::from_secs(3_720)), "1h 2min ago");
    }
}
