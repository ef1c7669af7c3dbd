//! `kubesim check`: what a valid scenario contains and what each step needs, printed for a
//! person, without running anything.

use std::fmt::Write as _;

use crate::runner::{needs, step_header};
use crate::scenario::{Loaded, NodeRole, Step};

/// The summary `kubesim check` prints for a valid scenario.
pub fn summary(loaded: &Loaded) -> String {
    let scenario = &loaded.scenario;
    let cluster = &scenario.cluster;
    let mut out = String::new();
    let _ = writeln!(out, "{}: valid scenario", loaded.path.display());
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "  description: {}", scenario.description);
    }
    let workers = loaded
        .topology
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Worker)
        .count();
    let _ = writeln!(
        out,
        "  seed: {}\n  cluster: {} control-plane, {} worker{} ({}), etcd members: {}, proxy mode: {}{}",
        scenario.seed,
        cluster.control_planes,
        workers,
        if workers == 1 { "" } else { "s" },
        loaded.topology.names().join(", "),
        cluster.etcd_member_count(),
        cluster.proxy_mode.as_str(),
        if cluster.zones.is_empty() {
            String::new()
        } else {
            format!(", zones: {}", cluster.zones.join(", "))
        }
    );
    if !scenario.images.is_empty() {
        let names: Vec<&str> = scenario.images.keys().map(String::as_str).collect();
        let _ = writeln!(out, "  images: {}", names.join(", "));
    }
    let faults = scenario
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Fault(_) | Step::After(..)))
        .count();
    let objects: usize = loaded
        .step_manifests
        .iter()
        .flatten()
        .map(|m| m.objects.len())
        .sum();
    let _ = writeln!(
        out,
        "  steps: {} ({} fault{}), manifests: {} object{}",
        scenario.steps.len(),
        faults,
        if faults == 1 { "" } else { "s" },
        objects,
        if objects == 1 { "" } else { "s" }
    );
    let mut waiting = 0;
    for (index, step) in scenario.steps.iter().enumerate() {
        let pos = loaded
            .step_positions
            .get(index)
            .map_or_else(String::new, ToString::to_string);
        let _ = write!(out, "  {:>3}  {pos:<7} {}", index + 1, step_header(step));
        if let Some(component) = needs(step) {
            waiting += 1;
            let _ = write!(out, "    [needs: {component}]");
        }
        out.push('\n');
    }
    if waiting > 0 {
        let _ = writeln!(
            out,
            "  {waiting} step{} need{} components kubesim does not simulate yet: `kubesim run` fails at them",
            if waiting == 1 { "" } else { "s" },
            if waiting == 1 { "s" } else { "" }
        );
    }
    out
}
