//! The architecture tour (`kubesim run` with no FILE): `scenarios/tour.ron`, compiled in,
//! narrated by [`ArchitectureNarrator`]. It follows one request through a kind cluster, as
//! Kubernetes' architecture is usually taught (kubectl → kube-apiserver → etcd → the
//! Deployment and ReplicaSet controllers → kube-scheduler → kubelet → containerd → Running
//! pods → Service endpoints → kube-proxy's rules → requests answered), then loses a worker
//! and shows the control loops repair the damage.
//!
//! Every statement about the run is derived from what the cluster holds after the step
//! (objects in etcd with their timestamps, events, node conditions and taints, who runs
//! where, the clients' counters: [`super::architecture_facts`]) or is a documented Kubernetes
//! rule with its default (FIDELITY.md: kubelet status and Lease every 10 s, F10/F11;
//! node-monitor-period 5 s and grace period 50 s, F12; the unreachable taint, F13; 300 s
//! tolerations, F14; leader-election Leases, F9; kube-proxy's probabilities, F36; kind's
//! address ranges, F39). What a step shows is recognised from the step itself (its command
//! words), so the narration follows the scenario's commands rather than a fixed script, and
//! `kubesim run --seed N` narrates its own run: another seed places the pods elsewhere and
//! the narration says so. Simplification: it knows the tour's one application (the first
//! Deployment applied) and one Service (the first `Traffic` target).

use cluster::{Cluster, NodeRole};

use super::architecture_facts::{self as facts, PodFact, clock};
use crate::observe::EtcdView;
use crate::runner::{Narrator, StepFacts};
use crate::scenario::{Fault, Step, Target};

/// The architecture tour's scenario, also checked, run and snapshotted by the test suite.
pub const TOUR: &str = include_str!("../../scenarios/tour.ron");

const NAMESPACE: &str = "default";
const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// A node the tour crashed, and what ran on it.
#[derive(Clone, Debug)]
struct Crash {
    node: String,
    at: i64,
    /// The application's pods on it when it crashed.
    pods: Vec<String>,
    /// Told already: the node went NotReady; its pods were evicted; it came back.
    told_not_ready: bool,
    told_evicted: bool,
    restarted: Option<i64>,
    told_back: bool,
}

/// Narrates the architecture tour from observed state.
#[derive(Default)]
pub struct ArchitectureNarrator {
    control_planes: Vec<String>,
    workers: Vec<String>,
    /// The application's Deployment (the first one applied) and its selector.
    app: Option<facts::DeploymentFact>,
    /// The Service the clients call (`namespace/name`) and since when.
    service: Option<String>,
    traffic_from: Option<i64>,
    /// Requests answered and failed when the last report was made.
    reported: (u64, u64),
    crash: Option<Crash>,
    /// Seen: `get nodes` before (first look).
    looked_at_nodes: bool,
    /// The first `Sleep` (the cluster booting) has been narrated.
    booted: bool,
}

impl ArchitectureNarrator {
    pub fn new() -> Self {
        ArchitectureNarrator::default()
    }

    /// The application's pods (matching its Deployment's selector), live and terminating.
    fn app_pods(&self, cluster: &Cluster) -> Vec<PodFact> {
        let Some(app) = &self.app else {
            return Vec::new();
        };
        facts::pods(cluster, NAMESPACE)
            .into_iter()
            .filter(|p| app.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
            .collect()
    }
}

fn plural(n: usize, word: &str) -> String {
    let ending = match (n, word.ends_with('s')) {
        (1, _) => "",
        (_, true) => "es",
        (_, false) => "s",
    };
    format!("{n} {word}{ending}")
}

/// Where pods were placed: "to kubesim-worker", or "2 to kubesim-worker and 1 to …".
fn placed(pods: &[&PodFact]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for p in pods {
        *counts.entry(p.node.as_str()).or_default() += 1;
    }
    if counts.len() == 1 {
        return format!("to {}", counts.keys().next().copied().unwrap_or_default());
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(node, n)| format!("{n} to {node}"))
        .collect();
    and_list(&parts)
}

/// "pod" or "pods", "was" or "were", … by count.
fn by_count<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// "a", "a and b", "a, b and c".
fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// Pods per node, in node order: "2 on kubesim-worker and 1 on kubesim-worker2".
fn per_node(pods: &[&PodFact]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for p in pods {
        *counts.entry(p.node.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(node, n)| format!("{n} on {node}"))
        .collect();
    and_list(&parts)
}

fn now_secs(cluster: &Cluster) -> i64 {
    cluster.sim().now().as_secs() as i64
}

impl Narrator for ArchitectureNarrator {
    fn start(&mut self, cluster: &Cluster, _view: &EtcdView) -> Vec<String> {
        for n in cluster.nodes() {
            match n.role {
                NodeRole::ControlPlane => self.control_planes.push(n.name.clone()),
                NodeRole::Worker => self.workers.push(n.name.clone()),
            }
        }
        let statics: Vec<String> = facts::pods(cluster, "kube-system")
            .iter()
            .filter(|p| p.owner.as_ref().is_some_and(|(kind, _)| kind == "Node"))
            .filter_map(|p| p.component.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut lines = vec![
            format!(
                "kind made {}, each a container running systemd, containerd and a kubelet:",
                plural(self.control_planes.len() + self.workers.len(), "node"),
            ),
            format!(
                "{} (the control plane), {} (worker{}).",
                and_list(&self.control_planes),
                and_list(&self.workers),
                if self.workers.len() == 1 { "" } else { "s" },
            ),
        ];
        if !statics.is_empty() {
            lines.push(format!(
                "The control plane's kubelet started {} from files in /etc/kubernetes/manifests: static pods need no apiserver.",
                and_list(&statics)
            ));
        }
        lines.push(
            "etcd is the cluster's database and kube-apiserver its only client; every other component talks to kube-apiserver."
                .to_string(),
        );
        lines
    }

    fn after_step(
        &mut self,
        cluster: &Cluster,
        step: &Step,
        _before: &EtcdView,
        _after: &EtcdView,
        step_facts: &StepFacts,
    ) -> Vec<String> {
        match step {
            Step::Kubectl(line) => {
                let status = step_facts.output.as_ref().map_or(0, |(s, _)| *s);
                if status != 0 {
                    return Vec::new();
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                self.kubectl(cluster, &words)
            }
            Step::Apply(_) => self.applied(cluster),
            Step::Etcdctl(line) => self.etcdctl(line, step_facts),
            Step::Exec(Target::Node(node), command) => self.exec(cluster, node, command),
            Step::Traffic { service, rps } => self.traffic_started(cluster, service, *rps),
            Step::Fault(Fault::Crash(_)) => self.crashed(cluster, step_facts),
            Step::Fault(Fault::Restart(_)) => self.restarted(cluster, step_facts),
            Step::Sleep(_) => self.slept(cluster),
            _ => Vec::new(),
        }
    }
}

impl ArchitectureNarrator {
    fn kubectl(&mut self, cluster: &Cluster, words: &[&str]) -> Vec<String> {
        match words {
            ["get", "nodes", ..] => self.nodes(cluster),
            ["get", "pods", "-n", "kube-system", ..] => self.system_pods(cluster),
            ["get", "leases", "-n", "kube-system", ..] => self.leases(cluster),
            ["get", "pods", rest @ ..] if rest.contains(&"--watch") => self.watched(cluster),
            ["get", "pods", ..] => self.app_pods_listed(cluster),
            ["get", "events", "--field-selector", selector] => {
                match selector.strip_prefix("reason=") {
                    Some(reason) => self.events(cluster, reason),
                    None => Vec::new(),
                }
            }
            ["get", "endpoints", name, ..] => self.endpoints(cluster, name),
            _ => Vec::new(),
        }
    }

    fn nodes(&mut self, cluster: &Cluster) -> Vec<String> {
        let nodes = facts::nodes(cluster);
        let ready: Vec<&facts::NodeFact> = nodes.iter().filter(|n| n.ready == "True").collect();
        let mut lines = Vec::new();
        if !self.looked_at_nodes {
            self.looked_at_nodes = true;
            lines.push(format!(
                "Each kubelet registered its node as a Node object. {} of {} are Ready: their kubelets post status every 10 s",
                ready.len(),
                nodes.len()
            ));
            lines.push("and renew a Lease in kube-node-lease every 10 s; that is how the control plane knows they are alive.".to_string());
            let tainted: Vec<&str> = nodes
                .iter()
                .filter(|n| {
                    n.taints
                        .iter()
                        .any(|(k, e, _)| k == CONTROL_PLANE_TAINT && e == "NoSchedule")
                })
                .map(|n| n.name.as_str())
                .collect();
            if !tainted.is_empty() {
                lines.push(format!(
                    "{} carries the taint {CONTROL_PLANE_TAINT}:NoSchedule, so ordinary pods go to the workers.",
                    and_list(&tainted)
                ));
            }
            return lines;
        }
        let not_ready: Vec<&facts::NodeFact> = nodes.iter().filter(|n| n.ready != "True").collect();
        for n in &not_ready {
            lines.push(format!(
                "kubectl shows NotReady for {}: its Ready condition is {}{}.",
                n.name,
                if n.ready.is_empty() {
                    "missing"
                } else {
                    n.ready.as_str()
                },
                n.ready_changed
                    .map(|t| format!(" since {}", clock(t)))
                    .unwrap_or_default()
            ));
        }
        if not_ready.is_empty() {
            lines.push(format!("All {} nodes are Ready again.", nodes.len()));
        }
        lines
    }

    fn system_pods(&mut self, cluster: &Cluster) -> Vec<String> {
        let pods = facts::pods(cluster, "kube-system");
        let mut lines = Vec::new();
        let mut by_node: std::collections::BTreeMap<&str, Vec<&str>> =
            std::collections::BTreeMap::new();
        for p in &pods {
            if p.owner.as_ref().is_some_and(|(kind, _)| kind == "Node")
                && let Some(c) = &p.component
            {
                by_node.entry(p.node.as_str()).or_default().push(c);
            }
        }
        for (node, components) in &by_node {
            lines.push(format!(
                "{} run as static pods on {node};",
                and_list(components)
            ));
            lines.push("its kubelet reports each to kube-apiserver as a mirror pod, named after the node, so kubectl lists them.".to_string());
        }
        let mut owners: std::collections::BTreeMap<(String, String), Vec<&PodFact>> =
            std::collections::BTreeMap::new();
        for p in &pods {
            if let Some((kind, name)) = &p.owner
                && kind != "Node"
            {
                owners
                    .entry((kind.clone(), name.clone()))
                    .or_default()
                    .push(p);
            }
        }
        let daemon_sets: Vec<String> = owners
            .iter()
            .filter(|((kind, _), _)| kind == "DaemonSet")
            .map(|((_, name), pods)| format!("{name} ({})", plural(pods.len(), "pod")))
            .collect();
        if !daemon_sets.is_empty() {
            lines.push(format!(
                "{} {} DaemonSets: one pod on every node.",
                and_list(&daemon_sets),
                if daemon_sets.len() == 1 {
                    "is a"
                } else {
                    "are"
                },
            ));
            lines.push(
                "kube-proxy programs each node's Service rules; kindnet connects the pod network across nodes."
                    .to_string(),
            );
        }
        for ((kind, name), owned) in &owners {
            if kind != "ReplicaSet" {
                continue;
            }
            let deployment = name.rsplit_once('-').map_or(name.as_str(), |(d, _)| d);
            if deployment == "coredns" {
                lines.push(format!(
                    "coredns, the cluster's DNS, is a Deployment: {}.",
                    per_node(owned)
                ));
            }
        }
        let running = pods.iter().filter(|p| p.phase == "Running").count();
        lines.push(format!(
            "{running} of {} kube-system pods are Running (the STATUS column).",
            pods.len()
        ));
        lines
    }

    fn leases(&mut self, cluster: &Cluster) -> Vec<String> {
        let mut lines = Vec::new();
        let mut by_node: std::collections::BTreeMap<String, Vec<&str>> =
            std::collections::BTreeMap::new();
        for component in ["kube-controller-manager", "kube-scheduler"] {
            if let Some((holder, _)) = facts::lease(cluster, "kube-system", component) {
                // The holder identity is `<node>_<uuid>`.
                let node = holder.split('_').next().unwrap_or_default().to_string();
                by_node.entry(node).or_default().push(component);
            }
        }
        if !by_node.is_empty() {
            let holders: Vec<String> = by_node
                .iter()
                .map(|(node, components)| format!("{} on {node}", and_list(components)))
                .collect();
            lines.push(format!(
                "Leader election: {} hold these Leases and renew them every 2 s (a Lease lasts 15 s).",
                and_list(&holders)
            ));
            lines.push(format!(
                "Only a Lease's holder acts, so with several control-plane nodes nothing is done twice; this cluster has {}.",
                plural(self.control_planes.len(), "control-plane node")
            ));
        }
        lines
    }

    fn applied(&mut self, cluster: &Cluster) -> Vec<String> {
        let mut lines = Vec::new();
        if self.app.is_none() {
            if let Some(d) = facts::deployments(cluster, NAMESPACE).into_iter().next() {
                lines.push(
                    format!(
                        "kubectl sent the Deployment {} ({} replicas of {}) to kube-apiserver, which authenticated and authorized",
                        d.name, d.replicas, d.image
                    ),
                );
                lines.push(format!(
                    "the request, applied defaults (strategy {}, maxSurge {}, maxUnavailable {}), validated it and stored it in etcd at {}.",
                    d.strategy,
                    d.max_surge,
                    d.max_unavailable,
                    d.created.map_or_else(|| "once".to_string(), clock)
                ));
                lines.push(
                    "That is all kubectl did: it wrote desired state. Making it real is the control loops' job."
                        .to_string(),
                );
                self.app = Some(d);
            }
            return lines;
        }
        if self.service.is_none()
            && let Some(app) = &self.app
        {
            let services: Vec<String> = cluster
                .stored_objects(api::Kind::Service)
                .iter()
                .filter(|o| o.namespace() == NAMESPACE && o.name() != "kubernetes")
                .map(|o| o.name().to_string())
                .collect();
            if let Some(name) = services.first()
                && let Some((ip, _)) = facts::cluster_ip(cluster, NAMESPACE, name)
            {
                let selector: Vec<String> = app
                    .selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                lines.push(format!(
                    "kube-apiserver gave the Service {name} the cluster IP {ip}, from kind's service range 10.96.0.0/16; its selector is {}.",
                    selector.join(",")
                ));
                lines.push(
                    "A cluster IP belongs to no machine: every node's kube-proxy makes it work."
                        .to_string(),
                );
            }
        }
        lines
    }

    fn etcdctl(&mut self, line: &str, step_facts: &StepFacts) -> Vec<String> {
        let Some((0, text)) = &step_facts.etcdctl else {
            return Vec::new();
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["get", key, ..] if text.contains(key) => vec![
                format!("kube-apiserver keeps every object in etcd under /registry/<resource>/<namespace>/<name>: here {key}."),
                "Controllers, the scheduler and kubelets never read etcd; they watch kube-apiserver, which streams them every change.".to_string(),
            ],
            _ => Vec::new(),
        }
    }

    fn watched(&mut self, cluster: &Cluster) -> Vec<String> {
        let pods = self.app_pods(cluster);
        let running: Vec<&PodFact> = pods.iter().filter(|p| p.phase == "Running").collect();
        let mut lines = vec![
            "Each line is a change kube-apiserver streamed to kubectl's watch: the pods appear Pending (no node yet), get a node,"
                .to_string(),
            "then ContainerCreating while the kubelet starts them, then Running. The next commands show who made each change."
                .to_string(),
        ];
        if let (Some(first), Some(last)) = (
            pods.iter().filter_map(|p| p.created).min(),
            running.iter().filter_map(|p| p.ready_changed).max(),
        ) {
            lines.push(format!(
                "{} of {} pods Running: created at {}, all ready by {}.",
                running.len(),
                pods.len(),
                clock(first),
                clock(last)
            ));
        }
        lines
    }

    fn events(&mut self, cluster: &Cluster, reason: &str) -> Vec<String> {
        let Some(app) = self.app.clone() else {
            return Vec::new();
        };
        let events = facts::events(cluster, NAMESPACE, reason);
        let mut lines = Vec::new();
        match reason {
            "ScalingReplicaSet" => {
                let sets = facts::replica_sets_of(cluster, NAMESPACE, &app.name);
                if let Some((rs, replicas, hash)) = sets.first() {
                    let at = events
                        .iter()
                        .find(|e| e.name == app.name)
                        .and_then(|e| e.at)
                        .map(|t| format!(" at {}", clock(t)))
                        .unwrap_or_default();
                    lines.push(format!(
                        "The Deployment controller, a control loop in kube-controller-manager, found no ReplicaSet for {}'s pod template",
                        app.name
                    ));
                    lines.push(format!(
                        "and created {rs}{at} with {replicas} replicas ({hash} is a hash of the template; a changed template gets a new one)."
                    ));
                }
            }
            "SuccessfulCreate" => {
                let sets = facts::replica_sets_of(cluster, NAMESPACE, &app.name);
                if let Some((rs, replicas, _)) = sets.first() {
                    let created = events.iter().filter(|e| &e.name == rs).count();
                    lines.push(format!(
                        "The ReplicaSet controller compared {rs}'s {replicas} desired replicas with the pods it found ({}) and created {created}.",
                        if created as i32 == *replicas { "none" } else { "some" }
                    ));
                    lines.push("A new pod has no node (spec.nodeName is empty): it is Pending until the scheduler picks one.".to_string());
                }
            }
            "Scheduled" => {
                let pods = self.app_pods(cluster);
                let bound: Vec<&PodFact> = pods.iter().filter(|p| !p.node.is_empty()).collect();
                let skipped: Vec<String> = facts::nodes(cluster)
                    .into_iter()
                    .filter(|n| {
                        n.taints
                            .iter()
                            .any(|(k, e, _)| k == CONTROL_PLANE_TAINT && e == "NoSchedule")
                    })
                    .map(|n| n.name)
                    .collect();
                lines.push(
                    "kube-scheduler watches for pods without a node. For each it filtered out the nodes that cannot take it"
                        .to_string(),
                );
                lines.push(format!(
                    "{}scored the others and wrote its choice back through kube-apiserver as a Binding: {}.",
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!("({}: its NoSchedule taint), ", and_list(&skipped))
                    },
                    per_node(&bound)
                ));
            }
            _ => {}
        }
        lines
    }

    fn exec(&mut self, cluster: &Cluster, node: &str, command: &str) -> Vec<String> {
        let words: Vec<&str> = command.split_whitespace().collect();
        match words.as_slice() {
            ["crictl", "ps", ..] => {
                let pods = self.app_pods(cluster);
                let here: Vec<&PodFact> = pods
                    .iter()
                    .filter(|p| p.node == node && !p.terminating)
                    .collect();
                let cidr = facts::node(cluster, node)
                    .map(|n| n.pod_cidr)
                    .unwrap_or_default();
                let ips: Vec<&str> = here.iter().map(|p| p.ip.as_str()).collect();
                vec![
                    format!(
                        "The kubelet on {node} saw {} bound to its node and asked containerd, over the CRI, to pull the image,",
                        plural(here.len(), "pod")
                    ),
                    format!(
                        "create a sandbox (the pod's network namespace; IP {} from the node's {cidr}) and start the container.",
                        and_list(&ips)
                    ),
                    "crictl asks containerd directly: the runtime knows containers, not Deployments.".to_string(),
                ]
            }
            ["iptables", ..] => {
                let Some(service) = self.first_service(cluster) else {
                    return Vec::new();
                };
                let ips = facts::endpoint_ips(cluster, NAMESPACE, &service);
                let (ip, port) =
                    facts::cluster_ip(cluster, NAMESPACE, &service).unwrap_or_default();
                let n = ips.len();
                if n == 0 {
                    return Vec::new();
                }
                let odds: Vec<String> = (0..n).map(|i| format!("1/{}", n - i)).collect();
                vec![
                    format!(
                        "kube-proxy on {node} turned the endpoints into rules: a connection to {ip}:{port} jumps to this chain, which tries"
                    ),
                    format!(
                        "the {} KUBE-SEP chains in turn with probability {}: each pod gets an equal share. Each SEP chain rewrites",
                        n,
                        odds.join(", then ")
                    ),
                    "the destination to its pod's IP (DNAT); the pod answers the client directly."
                        .to_string(),
                ]
            }
            _ => Vec::new(),
        }
    }

    fn first_service(&self, cluster: &Cluster) -> Option<String> {
        cluster
            .stored_objects(api::Kind::Service)
            .iter()
            .find(|o| o.namespace() == NAMESPACE && o.name() != "kubernetes")
            .map(|o| o.name().to_string())
    }

    fn app_pods_listed(&mut self, cluster: &Cluster) -> Vec<String> {
        let Some(app) = self.app.clone() else {
            return Vec::new();
        };
        let pods = self.app_pods(cluster);
        let live: Vec<&PodFact> = pods.iter().filter(|p| !p.terminating).collect();
        let running: Vec<&PodFact> = live
            .iter()
            .copied()
            .filter(|p| p.phase == "Running" && p.ready)
            .collect();
        let Some(crash) = self.crash.clone() else {
            return vec![
                format!(
                    "{} of {} pods are Running and ready, {}, each with its own IP.",
                    running.len(),
                    app.replicas,
                    per_node(&running)
                ),
                "Desired state (the Deployment's replicas) now matches actual state; the controllers keep comparing the two:"
                    .to_string(),
                "that is the control loop, and every component above runs one.".to_string(),
            ];
        };
        let mut lines = Vec::new();
        let on_dead: Vec<&PodFact> = pods.iter().filter(|p| p.node == crash.node).collect();
        let still: Vec<&PodFact> = on_dead
            .iter()
            .copied()
            .filter(|p| !p.terminating && p.phase == "Running")
            .collect();
        let terminating: Vec<&PodFact> =
            on_dead.iter().copied().filter(|p| p.terminating).collect();
        if !still.is_empty() {
            let one = still.len() == 1;
            lines.push(format!(
                "The {} on {} still show{} {} Running: the last status {} kubelet wrote, and that kubelet is gone.",
                if one { "pod" } else { "pods" },
                crash.node,
                if one { "s" } else { "" },
                if still.iter().all(|p| p.containers_ready) { "1/1" } else { "as" },
                if one { "its" } else { "their" },
            ));
            if let Some(t) = still
                .iter()
                .filter(|p| !p.ready)
                .filter_map(|p| p.ready_changed)
                .max()
            {
                lines.push(format!(
                    "READY counts the containers the kubelet reported ready; the pod's Ready condition, which Services use, is False since {}.",
                    clock(t)
                ));
            }
            lines.push(format!(
                "No replacement yet: the ReplicaSet controller counts the pods that exist, and these still do ({} of {}).",
                live.len(),
                app.replicas
            ));
        }
        if !terminating.is_empty() {
            let one = terminating.len() == 1;
            lines.push(format!(
                "{} on {} show{} Terminating: a deleted pod gets 30 s to stop, and is removed once its kubelet confirms",
                and_list(&terminating.iter().map(|p| p.name.as_str()).collect::<Vec<_>>()),
                crash.node,
                if one { "s" } else { "" },
            ));
            lines.push(format!(
                "that {} stopped. That kubelet is down, so {} until the node returns (or someone force-deletes {}).",
                if one { "its containers" } else { "their containers" },
                if one { "it stays" } else { "they stay" },
                if one { "it" } else { "them" },
            ));
            let replacements: Vec<&PodFact> = live
                .iter()
                .copied()
                .filter(|p| p.created.is_some_and(|c| c >= crash.at))
                .collect();
            if !replacements.is_empty() {
                let running: Vec<&PodFact> = replacements
                    .iter()
                    .copied()
                    .filter(|p| p.phase == "Running")
                    .collect();
                let n = replacements.len();
                lines.push(format!(
                    "{} {} Running on {}.",
                    by_count(n, "Its replacement", "Their replacements"),
                    if running.len() == n {
                        by_count(n, "is", "are")
                    } else {
                        "are not all"
                    },
                    and_list(
                        &running
                            .iter()
                            .map(|p| p.node.as_str())
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect::<Vec<_>>()
                    )
                ));
            }
        }
        if on_dead.is_empty() && crash.restarted.is_some() {
            lines.push(format!(
                "{} of {} pods are Running, {}. Kubernetes does not move pods back to a node that returns;",
                running.len(),
                app.replicas,
                per_node(&running)
            ));
            lines.push(
                "the scheduler only places new pods. Each step of the repair was a control loop comparing desired and actual state."
                    .to_string(),
            );
            lines.extend(self.traffic_summary(cluster));
        }
        lines
    }

    fn endpoints(&mut self, cluster: &Cluster, name: &str) -> Vec<String> {
        let ips = facts::endpoint_ips(cluster, NAMESPACE, name);
        let pods = self.app_pods(cluster);
        let Some(crash) = &self.crash else {
            let ready = pods.iter().filter(|p| p.ready && !p.terminating).count();
            return vec![
                "The endpoints controllers in kube-controller-manager keep the Service's Endpoints and EndpointSlices listing"
                    .to_string(),
                format!(
                    "the IPs of the ready pods its selector matches: {} here. Every node's kube-proxy watches them.",
                    plural(ready, "pod")
                ),
            ];
        };
        let dropped: Vec<&PodFact> = pods
            .iter()
            .filter(|p| p.node == crash.node && !p.ready && !ips.contains(&p.ip))
            .collect();
        if dropped.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "{} left: the not-ready {} on {} {} dropped, so kube-proxy sends no new connection there.",
            plural(ips.len(), "address"),
            if dropped.len() == 1 { "pod" } else { "pods" },
            crash.node,
            if dropped.len() == 1 { "was" } else { "were" },
        )]
    }

    fn traffic_started(&mut self, cluster: &Cluster, service: &str, rps: f64) -> Vec<String> {
        let key = proxy::TrafficSpec::new(service, rps).key();
        self.service = Some(key);
        self.traffic_from = Some(now_secs(cluster));
        let nodes = cluster.node_agents().len();
        let (ip, port) = facts::cluster_ip(cluster, NAMESPACE, service).unwrap_or_default();
        vec![
            format!(
                "Clients on the {nodes} nodes now send {rps} requests/s in all to {ip}:{port}. No proxy process sits in between:"
            ),
            "each node's kernel applies kube-proxy's rules to the connection, which goes straight to a pod.".to_string(),
        ]
    }

    /// Requests answered and failed since the last report.
    fn traffic_report(&mut self, cluster: &Cluster) -> Vec<String> {
        let Some(key) = self.service.clone() else {
            return Vec::new();
        };
        let t = facts::traffic(cluster, &key);
        let (answered, failed) = (t.totals.ok, t.totals.failed());
        let (was_ok, was_failed) = self.reported;
        self.reported = (answered, failed);
        let new_ok = answered.saturating_sub(was_ok);
        let new_failed = failed.saturating_sub(was_failed);
        if new_ok + new_failed == 0 {
            return Vec::new();
        }
        let median = t
            .median_micros
            .map(|m| format!(" (median latency {:.1} ms)", m as f64 / 1000.0))
            .unwrap_or_default();
        let mut lines = vec![format!(
            "Requests meanwhile: {new_ok} answered by nginx{median}, {}.",
            if new_failed == 0 {
                "none failed".to_string()
            } else {
                format!("{new_failed} failed")
            }
        )];
        if new_failed > 0
            && let Some(crash) = &self.crash
            && !crash.pods.is_empty()
        {
            lines.push(format!(
                "The failures are requests that kube-proxy's rules sent to the dead {} on {}: they time out after 1 s,",
                by_count(crash.pods.len(), "pod", "pods"),
                crash.node
            ));
            lines.push(format!(
                "until {} the endpoints and every kube-proxy updates its rules.",
                by_count(crash.pods.len(), "the pod leaves", "the pods leave")
            ));
        }
        lines
    }

    /// The whole run's requests, and when the failed ones were sent.
    fn traffic_summary(&self, cluster: &Cluster) -> Vec<String> {
        let (Some(key), Some(from)) = (&self.service, self.traffic_from) else {
            return Vec::new();
        };
        let t = facts::traffic(cluster, key);
        let mut line = format!(
            "Since {} the clients sent {} requests: {} answered, {} failed",
            clock(from),
            t.totals.finished(),
            t.totals.ok,
            t.totals.failed()
        );
        if let (Some(first), Some(last)) = (t.failed_seconds.first(), t.failed_seconds.last()) {
            line.push_str(&format!(
                ", all sent between {} and {}",
                clock(*first as i64),
                clock(*last as i64 + 1)
            ));
        }
        line.push('.');
        vec![line]
    }

    fn crashed(&mut self, cluster: &Cluster, step_facts: &StepFacts) -> Vec<String> {
        let Some(node) = step_facts.nodes.first().cloned() else {
            return Vec::new();
        };
        let pods: Vec<String> = self
            .app_pods(cluster)
            .into_iter()
            .filter(|p| p.node == node && !p.terminating)
            .map(|p| p.name)
            .collect();
        let lines = vec![
            format!(
                "{node} stops, and with it its kubelet, containerd, kube-proxy, its clients and {}.",
                if pods.is_empty() {
                    "no nginx pod (none ran there)".to_string()
                } else {
                    format!(
                        "{} {}",
                        by_count(pods.len(), "the nginx pod", "the nginx pods"),
                        and_list(&pods)
                    )
                }
            ),
            "Nothing tells the control plane: it can only notice that the kubelet went silent."
                .to_string(),
        ];
        self.crash = Some(Crash {
            node,
            at: now_secs(cluster),
            pods,
            told_not_ready: false,
            told_evicted: false,
            restarted: None,
            told_back: false,
        });
        lines
    }

    fn restarted(&mut self, cluster: &Cluster, step_facts: &StepFacts) -> Vec<String> {
        let Some(crash) = self.crash.as_mut() else {
            return Vec::new();
        };
        if !step_facts.nodes.contains(&crash.node) {
            return Vec::new();
        }
        crash.restarted = Some(now_secs(cluster));
        vec![format!(
            "{} boots again: systemd starts containerd and the kubelet; no container survived the crash.",
            crash.node
        )]
    }

    fn slept(&mut self, cluster: &Cluster) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.booted {
            self.booted = true;
            let nodes = facts::nodes(cluster);
            lines.push(format!(
                "kind create cluster returns once kube-apiserver answers; meanwhile the kubelets registered {} and started the add-ons.",
                plural(nodes.len(), "node")
            ));
        }
        if let Some(mut crash) = self.crash.clone() {
            if !crash.told_not_ready {
                lines.extend(self.not_ready_story(cluster, &mut crash));
            }
            if crash.told_not_ready && !crash.told_evicted {
                lines.extend(self.eviction_story(cluster, &mut crash));
            }
            if crash.restarted.is_some() && !crash.told_back {
                lines.extend(self.return_story(cluster, &mut crash));
            }
            self.crash = Some(crash);
        }
        lines.extend(self.traffic_report(cluster));
        lines
    }

    fn not_ready_story(&self, cluster: &Cluster, crash: &mut Crash) -> Vec<String> {
        let Some(node) = facts::node(cluster, &crash.node) else {
            return Vec::new();
        };
        let renewed = facts::lease(cluster, "kube-node-lease", &crash.node).and_then(|(_, t)| t);
        let renewed = renewed.map(clock).unwrap_or_else(|| "?".into());
        if node.ready == "True" {
            return vec![format!(
                "{} is still Ready in the API: node-monitor-grace-period (50 s) has not passed since its last Lease renewal ({renewed}).",
                crash.node
            )];
        }
        crash.told_not_ready = true;
        let mut lines = vec![
            format!(
                "{}'s kubelet last renewed its Lease at {renewed}. The node lifecycle controller in kube-controller-manager looks every 5 s;",
                crash.node
            ),
            format!(
                "at {}, with no renewal for node-monitor-grace-period (50 s), it set the Node's Ready condition to {},",
                node.ready_changed.map(clock).unwrap_or_default(),
                node.ready
            ),
        ];
        let effects: Vec<&str> = node
            .taints
            .iter()
            .filter(|(k, _, _)| k == UNREACHABLE)
            .map(|(_, e, _)| e.as_str())
            .collect();
        let pods = self.app_pods(cluster);
        let marked: Vec<&PodFact> = pods
            .iter()
            .filter(|p| crash.pods.contains(&p.name) && !p.ready)
            .collect();
        lines.push(format!(
            "tainted it {UNREACHABLE} ({}){}.",
            and_list(&effects),
            if marked.is_empty() {
                String::new()
            } else {
                format!(
                    " and set the Ready condition of its {} to False",
                    plural(marked.len(), "nginx pod")
                )
            }
        ));
        let ips = self
            .first_service(cluster)
            .map(|s| facts::endpoint_ips(cluster, NAMESPACE, &s))
            .unwrap_or_default();
        if !marked.is_empty() && marked.iter().all(|p| !ips.contains(&p.ip)) {
            lines.push(format!(
                "The endpoints controllers then took {} out of the Service, and every kube-proxy out of its rules.",
                by_count(marked.len(), "that pod", "those pods")
            ));
        }
        lines
    }

    fn eviction_story(&self, cluster: &Cluster, crash: &mut Crash) -> Vec<String> {
        if crash.pods.is_empty() {
            crash.told_evicted = true;
            return Vec::new();
        }
        let evictions: Vec<facts::EventFact> =
            facts::events(cluster, NAMESPACE, "TaintManagerEviction")
                .into_iter()
                .filter(|e| crash.pods.contains(&e.name))
                .collect();
        let tainted = facts::node(cluster, &crash.node).and_then(|n| {
            n.taints
                .iter()
                .find(|(k, e, _)| k == UNREACHABLE && e == "NoExecute")
                .and_then(|(_, _, t)| *t)
        });
        let tainted = tainted.map(clock).unwrap_or_else(|| "?".into());
        if evictions.is_empty() {
            return vec![
                format!(
                    "The {} on {} {} not evicted yet: every pod tolerates {UNREACHABLE}:NoExecute for 300 s",
                    by_count(crash.pods.len(), "pod", "pods"),
                    crash.node,
                    by_count(crash.pods.len(), "is", "are"),
                ),
                format!(
                    "(the DefaultTolerationSeconds admission plugin adds the toleration), counted from the taint's time, {tainted}."
                ),
            ];
        }
        crash.told_evicted = true;
        let at = evictions.iter().filter_map(|e| e.at).min();
        let mut lines = vec![format!(
            "300 s after the NoExecute taint ({tainted}), at {}, the taint eviction controller deleted {}.",
            at.map(clock).unwrap_or_else(|| "?".into()),
            and_list(
                &evictions
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
            )
        )];
        let replacements: Vec<PodFact> = self
            .app_pods(cluster)
            .into_iter()
            .filter(|p| p.created.is_some_and(|c| c >= crash.at) && !p.terminating)
            .collect();
        if let Some(app) = &self.app
            && !replacements.is_empty()
        {
            let refs: Vec<&PodFact> = replacements.iter().collect();
            let one = replacements.len() == 1;
            lines.push(format!(
                "The ReplicaSet controller saw fewer than {} pods and created {}; kube-scheduler bound {} {}",
                app.replicas,
                and_list(&replacements.iter().map(|p| p.name.as_str()).collect::<Vec<_>>()),
                if one { "it" } else { "them" },
                placed(&refs)
            ));
            lines.push(format!(
                "({} is tainted), and the kubelet there started {}.",
                crash.node,
                if one { "it" } else { "them" }
            ));
        }
        lines
    }

    fn return_story(&self, cluster: &Cluster, crash: &mut Crash) -> Vec<String> {
        let Some(node) = facts::node(cluster, &crash.node) else {
            return Vec::new();
        };
        if node.ready != "True" {
            return vec![format!("{} is not Ready yet.", crash.node)];
        }
        crash.told_back = true;
        let untainted = !node.taints.iter().any(|(k, _, _)| k == UNREACHABLE);
        let mut lines = vec![format!(
            "At {} {}'s kubelet posted Ready again{}.",
            node.ready_changed.map(clock).unwrap_or_default(),
            crash.node,
            if untainted {
                ", and the node lifecycle controller removed the unreachable taints"
            } else {
                ""
            }
        )];
        let left = self
            .app_pods(cluster)
            .into_iter()
            .filter(|p| p.node == crash.node)
            .count();
        if !crash.pods.is_empty() {
            lines.push(if left == 0 {
                "Its kubelet found the Terminating pods' containers gone and confirmed it: the pods are deleted now."
                    .to_string()
            } else {
                format!("{} still on {}.", plural(left, "nginx pod"), crash.node)
            });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(and_list::<&str>(&[]), "");
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(and_list(&["a", "b"]), "a and b");
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(clock(76), "00:01:16");
    }
}
