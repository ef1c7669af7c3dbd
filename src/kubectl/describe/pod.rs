//! `kubectl describe pod` (`describePod` in `staging/src/k8s.io/kubectl/pkg/describe/describe.go`,
//! kubectl v1.33).

use api::k8s_openapi::api::core::v1 as core;

use super::common::{self, NONE};
use super::tabwriter::PrefixWriter;

/// The annotation a mirror pod carries: its events are about the static pod's UID.
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

pub fn describe(pod: &core::Pod, events: Option<&[core::Event]>, now_secs: i64) -> String {
    let mut w = PrefixWriter::new();
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    w.write(
        0,
        &format!("Name:\t{}\n", meta.name.as_deref().unwrap_or("")),
    );
    w.write(
        0,
        &format!("Namespace:\t{}\n", meta.namespace.as_deref().unwrap_or("")),
    );
    if let Some(p) = spec.priority {
        w.write(0, &format!("Priority:\t{p}\n"));
    }
    if let Some(pc) = spec
        .priority_class_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        w.write(0, &format!("Priority Class Name:\t{pc}\n"));
    }
    if let Some(rc) = spec.runtime_class_name.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("Runtime Class Name:\t{rc}\n"));
    }
    if let Some(sa) = spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        w.write(0, &format!("Service Account:\t{sa}\n"));
    }
    match spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        None => w.write(0, "Node:\t<none>\n"),
        Some(n) => w.write(
            0,
            &format!("Node:\t{n}/{}\n", status.host_ip.as_deref().unwrap_or("")),
        ),
    }
    if let Some(t) = &status.start_time {
        w.write(0, &format!("Start Time:\t{}\n", common::rfc1123z(t)));
    }
    common::labels_multiline(&mut w, "", "Labels", meta.labels.as_ref());
    common::annotations_multiline(&mut w, "Annotations", meta.annotations.as_ref());
    let phase = status.phase.as_deref().unwrap_or("");
    match &meta.deletion_timestamp {
        Some(t) if phase != "Failed" && phase != "Succeeded" => {
            w.write(
                0,
                &format!(
                    "Status:\tTerminating (lasts {})\n",
                    common::since(Some(t), now_secs)
                ),
            );
            w.write(
                0,
                &format!(
                    "Termination Grace Period:\t{}s\n",
                    meta.deletion_grace_period_seconds.unwrap_or(0)
                ),
            );
        }
        _ => w.write(0, &format!("Status:\t{phase}\n")),
    }
    if let Some(r) = status.reason.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("Reason:\t{r}\n"));
    }
    if let Some(m) = status.message.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("Message:\t{m}\n"));
    }
    if let Some(sp) = spec
        .security_context
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_ref())
    {
        w.write(0, &format!("SeccompProfile:\t{}\n", sp.type_));
        if sp.type_ == "Localhost" {
            w.write(
                0,
                &format!(
                    "LocalhostProfile:\t{}\n",
                    sp.localhost_profile.as_deref().unwrap_or("")
                ),
            );
        }
    }
    w.write(
        0,
        &format!("IP:\t{}\n", status.pod_ip.as_deref().unwrap_or("")),
    );
    let ips = status.pod_ips.as_deref().unwrap_or(&[]);
    if ips.is_empty() {
        w.write(0, "IPs:\t<none>\n");
    } else {
        w.write(0, "IPs:\n");
        for ip in ips {
            w.write(1, &format!("IP:\t{}\n", ip.ip));
        }
    }
    if let Some(c) = common::controlled_by(meta) {
        w.write(0, &format!("Controlled By:\t{c}\n"));
    }
    if let Some(n) = status
        .nominated_node_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        w.write(0, &format!("NominatedNodeName:\t{n}\n"));
    }
    if let Some(init) = spec.init_containers.as_deref().filter(|c| !c.is_empty()) {
        common::containers(
            &mut w,
            "Init Containers",
            init,
            status.init_container_statuses.as_deref().unwrap_or(&[]),
            Some(pod),
            "",
        );
    }
    common::containers(
        &mut w,
        "Containers",
        &spec.containers,
        status.container_statuses.as_deref().unwrap_or(&[]),
        Some(pod),
        "",
    );
    let conditions = status.conditions.as_deref().unwrap_or(&[]);
    if let Some(gates) = spec.readiness_gates.as_deref().filter(|g| !g.is_empty()) {
        w.write(0, "Readiness Gates:\n  Type\tStatus\n");
        for g in gates {
            let s = conditions
                .iter()
                .find(|c| c.type_ == g.condition_type)
                .map_or(NONE, |c| c.status.as_str());
            w.write(1, &format!("{} \t{s} \n", g.condition_type));
        }
    }
    if !conditions.is_empty() {
        w.write(0, "Conditions:\n  Type\tStatus\n");
        for c in conditions {
            w.write(1, &format!("{} \t{} \n", c.type_, c.status));
        }
    }
    common::volumes(&mut w, spec.volumes.as_deref().unwrap_or(&[]), "");
    w.write(
        0,
        &format!("QoS Class:\t{}\n", api::qos::pod_qos(pod).as_str()),
    );
    common::labels_multiline(&mut w, "", "Node-Selectors", spec.node_selector.as_ref());
    common::tolerations_multiline(
        &mut w,
        "",
        "Tolerations",
        spec.tolerations.as_deref().unwrap_or(&[]),
    );
    topology_spread(
        &mut w,
        spec.topology_spread_constraints.as_deref().unwrap_or(&[]),
    );
    if let Some(events) = events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}

/// `describeTopologySpreadConstraints`.
fn topology_spread(w: &mut PrefixWriter, tscs: &[core::TopologySpreadConstraint]) {
    if tscs.is_empty() {
        return;
    }
    let mut sorted: Vec<&core::TopologySpreadConstraint> = tscs.iter().collect();
    sorted.sort_by(|a, b| a.topology_key.cmp(&b.topology_key));
    w.write(0, "Topology Spread Constraints:\t");
    for (i, t) in sorted.into_iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        w.write(
            0,
            &format!(
                "{}:{} when max skew {} is exceeded",
                t.topology_key, t.when_unsatisfiable, t.max_skew
            ),
        );
        if let Some(sel) = &t.label_selector {
            w.write(
                0,
                &format!(
                    " for selector {}",
                    crate::kubectl::columns::selector_string(sel)
                ),
            );
        }
        w.write(0, "\n");
    }
}
