//! `kubectl describe service` (`describeService`, `formatEndpointSlices`) and
//! `kubectl describe namespace` (`describeNamespace`) from
//! `staging/src/k8s.io/kubectl/pkg/describe/describe.go` (kubectl v1.33).
//!
//! kubesim's clusters have no ResourceQuota or LimitRange objects (it does not serve those
//! kinds), so a namespace ends as it does on a kind cluster: `No resource quota.` and
//! `No LimitRange resource.`.

use api::k8s_openapi::api::core::v1 as core;
use api::k8s_openapi::api::discovery::v1 as discovery;

use super::common::{self, NONE};
use super::tabwriter::PrefixWriter;
use crate::kubectl::columns::format_labels;

/// Endpoints shown per port before `+ N more...`.
const MAX_ENDPOINTS: usize = 3;

pub fn describe_service(
    svc: &core::Service,
    slices: &[&discovery::EndpointSlice],
    events: Option<&[core::Event]>,
    now_secs: i64,
) -> String {
    let mut w = PrefixWriter::new();
    let meta = &svc.metadata;
    let spec = svc.spec.clone().unwrap_or_default();
    w.write(
        0,
        &format!("Name:\t{}\n", meta.name.as_deref().unwrap_or("")),
    );
    w.write(
        0,
        &format!("Namespace:\t{}\n", meta.namespace.as_deref().unwrap_or("")),
    );
    common::labels_multiline(&mut w, "", "Labels", meta.labels.as_ref());
    common::annotations_multiline(&mut w, "Annotations", meta.annotations.as_ref());
    w.write(
        0,
        &format!(
            "Selector:\t{}\n",
            format_labels(spec.selector.iter().flatten())
        ),
    );
    w.write(
        0,
        &format!("Type:\t{}\n", spec.type_.as_deref().unwrap_or("")),
    );
    if let Some(p) = &spec.ip_family_policy {
        w.write(0, &format!("IP Family Policy:\t{p}\n"));
    }
    match spec.ip_families.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => w.write(0, &format!("IP Families:\t{}\n", f.join(","))),
        None => w.write(0, "IP Families:\t<none>\n"),
    }
    w.write(
        0,
        &format!("IP:\t{}\n", spec.cluster_ip.as_deref().unwrap_or("")),
    );
    match spec.cluster_ips.as_deref().filter(|f| !f.is_empty()) {
        Some(ips) => w.write(0, &format!("IPs:\t{}\n", ips.join(","))),
        None => w.write(0, "IPs:\t<none>\n"),
    }
    if let Some(ips) = spec.external_ips.as_deref().filter(|f| !f.is_empty()) {
        w.write(0, &format!("External IPs:\t{}\n", ips.join(",")));
    }
    if let Some(ip) = spec.load_balancer_ip.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("Desired LoadBalancer IP:\t{ip}\n"));
    }
    if let Some(n) = spec.external_name.as_deref().filter(|s| !s.is_empty()) {
        w.write(0, &format!("External Name:\t{n}\n"));
    }
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.as_deref())
        .unwrap_or(&[]);
    if !ingress.is_empty() {
        let list: Vec<String> = ingress
            .iter()
            .map(|i| match i.ip.as_deref().filter(|s| !s.is_empty()) {
                Some(ip) => match &i.ip_mode {
                    Some(mode) => format!("{ip} ({mode})"),
                    None => ip.to_string(),
                },
                None => i.hostname.clone().unwrap_or_default(),
            })
            .collect();
        w.write(0, &format!("LoadBalancer Ingress:\t{}\n", list.join(", ")));
    }
    for p in spec.ports.iter().flatten() {
        let port_name = p.name.clone().unwrap_or_default();
        let name = if port_name.is_empty() {
            "<unset>".to_string()
        } else {
            port_name.clone()
        };
        let proto = p.protocol.as_deref().unwrap_or("TCP");
        w.write(0, &format!("Port:\t{name}\t{}/{proto}\n", p.port));
        let target = p
            .target_port
            .as_ref()
            .map_or_else(|| p.port.to_string(), common::int_or_string);
        w.write(0, &format!("TargetPort:\t{target}/{proto}\n"));
        if let Some(a) = &p.app_protocol {
            w.write(0, &format!("AppProtocol:\t{a}\n"));
        }
        if let Some(np) = p.node_port.filter(|n| *n != 0) {
            w.write(0, &format!("NodePort:\t{name}\t{np}/{proto}\n"));
        }
        w.write(
            0,
            &format!(
                "Endpoints:\t{}\n",
                format_endpoint_slices(slices, &port_name)
            ),
        );
    }
    w.write(
        0,
        &format!(
            "Session Affinity:\t{}\n",
            spec.session_affinity.as_deref().unwrap_or("")
        ),
    );
    if let Some(p) = spec
        .external_traffic_policy
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        w.write(0, &format!("External Traffic Policy:\t{p}\n"));
    }
    if let Some(p) = &spec.internal_traffic_policy {
        w.write(0, &format!("Internal Traffic Policy:\t{p}\n"));
    }
    if let Some(p) = spec.health_check_node_port.filter(|p| *p != 0) {
        w.write(0, &format!("HealthCheck NodePort:\t{p}\n"));
    }
    if let Some(r) = spec
        .load_balancer_source_ranges
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        w.write(
            0,
            &format!("LoadBalancer Source Ranges:\t{}\n", r.join(",")),
        );
    }
    if let Some(t) = &spec.traffic_distribution {
        w.write(0, &format!("Traffic Distribution:\t{t}\n"));
    }
    if let Some(events) = events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}

/// `formatEndpointSlices` for one Service port: the ready endpoints' `ip:port`, three at
/// most and `+ N more...`; `<none>` without slices.
pub fn format_endpoint_slices(slices: &[&discovery::EndpointSlice], port_name: &str) -> String {
    if slices.is_empty() {
        return NONE.into();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    let ready =
        |e: &discovery::Endpoint| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
    for slice in slices {
        let ports = slice.ports.as_deref().unwrap_or(&[]);
        if ports.is_empty() {
            for e in slice.endpoints.iter().flatten() {
                if list.len() == MAX_ENDPOINTS {
                    more = true;
                }
                if !ready(e) {
                    continue;
                }
                if !more {
                    list.push(e.addresses.first().cloned().unwrap_or_default());
                }
                count += 1;
            }
            continue;
        }
        for port in ports {
            if port.name.as_deref().unwrap_or("") != port_name {
                continue;
            }
            for e in slice.endpoints.iter().flatten() {
                if list.len() == MAX_ENDPOINTS {
                    more = true;
                }
                if !ready(e) {
                    continue;
                }
                if !more {
                    let addr = e.addresses.first().cloned().unwrap_or_default();
                    let number = port.port.unwrap_or(0);
                    list.push(if addr.contains(':') {
                        format!("[{addr}]:{number}")
                    } else {
                        format!("{addr}:{number}")
                    });
                }
                count += 1;
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX_ENDPOINTS)
    } else {
        joined
    }
}

pub fn describe_namespace(ns: &core::Namespace) -> String {
    let mut w = PrefixWriter::new();
    let meta = &ns.metadata;
    w.write(
        0,
        &format!("Name:\t{}\n", meta.name.as_deref().unwrap_or("")),
    );
    common::labels_multiline(&mut w, "", "Labels", meta.labels.as_ref());
    common::annotations_multiline(&mut w, "Annotations", meta.annotations.as_ref());
    let status = ns.status.clone().unwrap_or_default();
    w.write(
        0,
        &format!("Status:\t{}\n", status.phase.as_deref().unwrap_or("")),
    );
    let conditions = status.conditions.as_deref().unwrap_or(&[]);
    if !conditions.is_empty() {
        w.write(0, "Conditions:\n");
        w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n");
        w.write(1, "----\t------\t------------------\t------\t-------\n");
        for c in conditions {
            w.write(
                1,
                &format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    c.type_,
                    c.status,
                    c.last_transition_time
                        .as_ref()
                        .map(common::rfc1123z)
                        .unwrap_or_default(),
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ),
            );
        }
    }
    w.write(0, "\n");
    w.write(0, "No resource quota.\n");
    w.write(0, "\n");
    w.write(0, "No LimitRange resource.\n");
    w.finish()
}
