//! What a parsed scenario must satisfy beyond RON's types: node names that exist in the
//! topology, kubectl/etcdctl/shell commands a component will answer, manifests that exist and
//! decode, and values in range. Every problem is collected (not just the first) and located
//! at the step or value it is about.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Loaded;
use super::commands::{self, parse_kubectl};
use super::error::{Diagnostic, ScenarioError};
use super::model::{Check, Cluster, Fault, Scenario, Step, Target};
use super::source::{Node, NodeKind, Pos};
use super::topology::Topology;
use crate::manifest::{self, Manifest, ManifestOrigin};

/// Bounds that keep a scenario a simulation of a Kubernetes cluster (FIDELITY F40).
const CONTROL_PLANES_MAX: u32 = 7;
const WORKERS_MAX: u32 = 5000;
const RPS_MAX: f64 = 100_000.0;

struct Validator<'a> {
    path: &'a Path,
    base_dir: PathBuf,
    tree: &'a Node,
    topology: Topology,
    diagnostics: Vec<Diagnostic>,
}

/// The folder relative manifest paths resolve against: the scenario file's folder, joined
/// with the scenario's `manifest_dir` when it names one.
pub fn manifest_dir(scenario: &Scenario, path: &Path) -> PathBuf {
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    match &scenario.manifest_dir {
        Some(dir) => folder.join(dir),
        None => folder,
    }
}

pub fn validate(scenario: Scenario, tree: &Node, path: &Path) -> Result<Loaded, ScenarioError> {
    let base_dir = manifest_dir(&scenario, path);
    let mut v = Validator {
        path,
        base_dir,
        tree,
        topology: Topology::from_cluster(&scenario.cluster),
        diagnostics: Vec::new(),
    };
    v.cluster(&scenario.cluster);
    v.images(&scenario);
    let steps_node = tree.field("steps");
    let mut step_positions = Vec::with_capacity(scenario.steps.len());
    let mut step_manifests = Vec::with_capacity(scenario.steps.len());
    for (index, step) in scenario.steps.iter().enumerate() {
        let node = steps_node.and_then(|s| s.arg(index)).unwrap_or(tree);
        step_positions.push(node.start);
        step_manifests.push(v.step(step, node));
    }
    if v.diagnostics.is_empty() {
        Ok(Loaded {
            path: path.to_path_buf(),
            topology: v.topology,
            scenario,
            step_positions,
            step_manifests,
        })
    } else {
        Err(ScenarioError::Invalid(v.diagnostics))
    }
}

impl Validator<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.path.to_path_buf(),
            pos,
            message: message.into(),
        });
    }

    /// Where `cluster.<field>` is written, or the nearest enclosing value.
    fn cluster_pos(&self, field: &str) -> Pos {
        let cluster = self.tree.field("cluster");
        cluster
            .and_then(|c| c.field(field))
            .or(cluster)
            .unwrap_or(self.tree)
            .start
    }

    fn cluster(&mut self, cluster: &Cluster) {
        if !(1..=CONTROL_PLANES_MAX).contains(&cluster.control_planes) {
            let pos = self.cluster_pos("control_planes");
            self.error(
                pos,
                format!(
                    "control_planes must be 1 to {CONTROL_PLANES_MAX}, found {}",
                    cluster.control_planes
                ),
            );
        }
        if cluster.workers > WORKERS_MAX {
            let pos = self.cluster_pos("workers");
            self.error(
                pos,
                format!(
                    "workers must be at most {WORKERS_MAX} (Kubernetes' node limit), found {}",
                    cluster.workers
                ),
            );
        }
        if let Some(members) = cluster.etcd_members
            && !(1..=cluster.control_planes).contains(&members)
        {
            let pos = self.cluster_pos("etcd_members");
            self.error(
                pos,
                format!(
                    "etcd_members must be 1 to control_planes ({}): kind runs etcd on control-plane nodes; found {members}",
                    cluster.control_planes
                ),
            );
        }
        let capacity = &cluster.node_capacity;
        let capacity_node = self
            .tree
            .field("cluster")
            .and_then(|c| c.field("node_capacity"));
        let capacity_pos = |field: &str| {
            capacity_node
                .and_then(|n| n.field(field))
                .or(capacity_node)
                .map(|n| n.start)
        };
        if capacity.cpu.milli_value() <= 0 {
            let pos = capacity_pos("cpu").unwrap_or(self.cluster_pos("node_capacity"));
            self.error(
                pos,
                "node_capacity.cpu must be positive, like \"4\" or \"3500m\"",
            );
        }
        if capacity.memory.value() <= 0 {
            let pos = capacity_pos("memory").unwrap_or(self.cluster_pos("node_capacity"));
            self.error(pos, "node_capacity.memory must be positive, like \"16Gi\"");
        }
        if capacity.pods == 0 {
            let pos = capacity_pos("pods").unwrap_or(self.cluster_pos("node_capacity"));
            self.error(
                pos,
                "node_capacity.pods must be at least 1 (the kubelet's default maxPods is 110)",
            );
        }
        let mut seen = BTreeSet::new();
        for (i, zone) in cluster.zones.iter().enumerate() {
            let pos = self
                .tree
                .field("cluster")
                .and_then(|c| c.field("zones"))
                .and_then(|z| z.arg(i))
                .map_or(self.cluster_pos("zones"), |n| n.start);
            if !is_label_value(zone) || zone.is_empty() {
                self.error(
                    pos,
                    format!(
                        "zone {zone:?} is not a valid label value: at most 63 characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
                    ),
                );
            } else if !seen.insert(zone) {
                self.error(pos, format!("zone {zone:?} is listed twice"));
            }
        }
    }

    fn images(&mut self, scenario: &Scenario) {
        let images_node = self.tree.field("images");
        for (name, image) in &scenario.images {
            let entry = images_node.and_then(|n| n.map_entry(name));
            let key_pos = entry.map_or(self.tree.start, |(k, _)| k.start);
            let field_pos = |field: &str| {
                entry
                    .and_then(|(_, v)| v.field(field))
                    .map_or(key_pos, |n| n.start)
            };
            if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
                self.error(key_pos, format!("image name {name:?} must be non-empty without spaces, like \"nginx:1.14.2\""));
            }
            if image.size.is_some_and(|s| s.is_negative()) {
                self.error(field_pos("size"), "size must not be negative");
            }
            if image.exit_code.is_some() && image.exits_after.is_none() {
                self.error(
                    field_pos("exit_code"),
                    "exit_code needs exits_after: (the time the container runs before it exits)",
                );
            }
            if let (Some(exits), Some(unhealthy)) = (image.exits_after, image.unhealthy_after)
                && exits <= unhealthy
            {
                self.error(
                    field_pos("unhealthy_after"),
                    "unhealthy_after must be shorter than exits_after (the container exits before its liveness probe would fail)",
                );
            }
            if image.fails_readiness && image.pull_error.is_some() {
                self.error(
                    field_pos("fails_readiness"),
                    "fails_readiness has no effect on an image whose pull fails (pull_error): it never runs",
                );
            }
            if image
                .pull_error
                .as_deref()
                .is_some_and(|e| e.trim().is_empty())
            {
                self.error(
                    field_pos("pull_error"),
                    "pull_error must say what the registry answers, like \"manifest unknown\"",
                );
            }
        }
    }

    fn step(&mut self, step: &Step, node: &Node) -> Vec<Manifest> {
        let pos = node.start;
        match step {
            Step::Kubectl(line) => return self.kubectl(line, pos),
            Step::Apply(yaml) => {
                let literal = node.arg(0).unwrap_or(node);
                match manifest::validate_manifest(yaml) {
                    Ok(objects) if objects.is_empty() => {
                        self.error(
                            literal.start,
                            "Apply has no object: expected YAML with apiVersion, kind and metadata",
                        );
                    }
                    Ok(objects) => {
                        return vec![Manifest {
                            origin: ManifestOrigin::Inline,
                            objects,
                        }];
                    }
                    Err(problem) => {
                        let at = literal.char_pos(char_offset(yaml, problem.line, problem.col));
                        self.error(at, format!("in the inline manifest: {}", problem.message));
                    }
                }
            }
            Step::Sleep(_) => {}
            Step::Fault(fault) => self.fault(fault, node.arg(0).unwrap_or(node)),
            Step::After(_, fault) => self.fault(fault, node.arg(1).unwrap_or(node)),
            Step::Expect(check) | Step::Always(check) => self.check(check, node),
            Step::Traffic { service, rps } => {
                if service.trim().is_empty() {
                    self.error(pos, "Traffic needs a Service name, like service: \"nginx\"");
                }
                if !rps.is_finite() || *rps <= 0.0 || *rps > RPS_MAX {
                    let at = node.field("rps").map_or(pos, |n| n.start);
                    self.error(
                        at,
                        format!("rps must be more than 0 and at most {RPS_MAX}, found {rps}"),
                    );
                }
            }
            Step::Exec(target, command) => {
                self.target(target, node);
                if let Err(err) = commands::check_node_command(command) {
                    let at = node.arg(1).map_or(pos, |n| n.start);
                    self.error(at, err.to_string());
                }
            }
            Step::Etcdctl(line) => {
                if let Err(err) = commands::check_etcdctl(line) {
                    self.error(pos, err.to_string());
                }
            }
        }
        Vec::new()
    }

    fn kubectl(&mut self, line: &str, pos: Pos) -> Vec<Manifest> {
        let command = match parse_kubectl(line) {
            Ok(command) => command,
            Err(err) => {
                self.error(pos, err.to_string());
                return Vec::new();
            }
        };
        let mut manifests = Vec::new();
        for value in &command.files {
            let files = match manifest::files_named(&self.base_dir, value, command.recursive) {
                Ok(files) => files,
                Err(message) => {
                    self.error(pos, message);
                    continue;
                }
            };
            for file in files {
                let text = match std::fs::read_to_string(&file) {
                    Ok(text) => text,
                    Err(err) => {
                        self.error(
                            pos,
                            format!("cannot read manifest {}: {err}", file.display()),
                        );
                        continue;
                    }
                };
                match manifest::validate_manifest(&text) {
                    Ok(objects) => manifests.push(Manifest {
                        origin: ManifestOrigin::File(file),
                        objects,
                    }),
                    Err(problem) => self.diagnostics.push(Diagnostic {
                        file: file.clone(),
                        pos: Pos {
                            line: problem.line,
                            col: problem.col,
                        },
                        message: format!(
                            "{} (named by the step at {}:{pos})",
                            problem.message,
                            self.path.display()
                        ),
                    }),
                }
            }
        }
        manifests
    }

    fn check(&mut self, check: &Check, node: &Node) {
        match check {
            Check::Kubectl { command, .. } => {
                if let Err(err) = parse_kubectl(command) {
                    let at = node.arg(0).map_or(node.start, |n| n.start);
                    self.error(at, err.to_string());
                }
            }
            // Percentile and bound are checked as they are read (`scenario::de`).
            Check::Latency { .. } => {}
            Check::TrafficErrors { service, at_most } => {
                if service.trim().is_empty() {
                    self.error(node.start, "traffic_errors needs a Service name");
                }
                if !(0.0..=1.0).contains(at_most) {
                    let at = node.field("at_most").map_or(node.start, |n| n.start);
                    self.error(
                        at,
                        format!("at_most is a fraction of requests, 0 to 1; found {at_most}"),
                    );
                }
            }
        }
    }

    fn fault(&mut self, fault: &Fault, node: &Node) {
        let probability = |v: &mut Self, p: f64| {
            if !(0.0..=1.0).contains(&p) {
                let at = find_scalar(node).unwrap_or(node.start);
                v.error(at, format!("loss is a probability, 0 to 1; found {p}"));
            }
        };
        match fault {
            Fault::Partition(a, b) => {
                if a.is_empty() || b.is_empty() {
                    self.error(node.start, "Partition needs two non-empty groups of nodes, like Partition([\"kubesim-worker\"], [\"kubesim-control-plane\"])");
                }
                for target in a.iter().chain(b) {
                    self.target(target, node);
                }
                for target in a.iter().filter(|t| b.contains(t)) {
                    self.error(
                        node.start,
                        format!("{target} is on both sides of the partition"),
                    );
                }
            }
            Fault::OneWay { from, to } => {
                if from.is_empty() || to.is_empty() {
                    self.error(
                        node.start,
                        "OneWay needs non-empty from: and to: lists of nodes",
                    );
                }
                for target in from.iter().chain(to) {
                    self.target(target, node);
                }
            }
            Fault::Heal | Fault::RestartAll | Fault::Latency(_) => {}
            Fault::Loss(p) => probability(self, *p),
            Fault::LossAt(target, p) => {
                self.target(target, node);
                probability(self, *p);
            }
            Fault::LatencyAt(target, _)
            | Fault::Crash(target)
            | Fault::Restart(target)
            | Fault::Pause(target, _)
            | Fault::Skew(target, _)
            | Fault::DiskLoss(target) => self.target(target, node),
        }
    }

    /// A named node must exist; a leader target is resolved when the step runs.
    fn target(&mut self, target: &Target, node: &Node) {
        if let Target::Node(name) = target
            && !self.topology.contains(name)
        {
            let at = find_str(node, name).unwrap_or(node.start);
            self.error(
                at,
                format!(
                    "unknown node {name:?}, expected one of: {} (kind's names for this cluster's topology)",
                    self.topology.names().join(", ")
                ),
            );
        }
    }
}

/// The first string literal with this value inside `node`.
fn find_str(node: &Node, value: &str) -> Option<Pos> {
    match &node.kind {
        NodeKind::Str { value: v, .. } if v == value => Some(node.start),
        NodeKind::Str { .. } | NodeKind::Scalar(_) => None,
        NodeKind::Named { items, .. } => items.iter().find_map(|i| find_str(&i.value, value)),
        NodeKind::List(nodes) => nodes.iter().find_map(|n| find_str(n, value)),
        NodeKind::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| find_str(k, value).or_else(|| find_str(v, value))),
    }
}

/// The first bare number inside `node` (a fault's probability).
fn find_scalar(node: &Node) -> Option<Pos> {
    match &node.kind {
        NodeKind::Scalar(_) => Some(node.start),
        NodeKind::Named { items, .. } => items.iter().find_map(|i| find_scalar(&i.value)),
        _ => None,
    }
}

/// The index of the character at 1-based (line, col) of `text`.
fn char_offset(text: &str, line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            return offset + col.saturating_sub(1).min(l.chars().count());
        }
        offset += l.chars().count() + 1;
    }
    text.chars().count().saturating_sub(1)
}

/// Kubernetes label values (`apimachinery/pkg/util/validation.IsValidLabelValue`).
fn is_label_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && value
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .last()
            .is_none_or(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_of_yaml_positions() {
        let text = "\nab\ncd";
        assert_eq!(char_offset(text, 1, 1), 0);
        assert_eq!(char_offset(text, 2, 2), 2);
        assert_eq!(char_offset(text, 3, 1), 4);
        assert_eq!(char_offset(text, 9, 9), 5);
    }

    #[test]
    fn label_values() {
        assert!(is_label_value("us-east-1a"));
        assert!(!is_label_value("-a"));
        assert!(!is_label_value("a b"));
        assert!(!is_label_value(&"a".repeat(64)));
    }
}
