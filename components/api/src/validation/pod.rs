//! Pod spec validation (the commonest rules of `pkg/apis/core/validation/validation.go`:
//! ValidatePodSpec, validateContainers, validateContainerPorts, ValidateResourceRequirements,
//! validateProbe, validateRestartPolicy, validateDNSPolicy), with upstream's paths and messages.
//! Simplification: volumes, security contexts, affinity and topology spread constraints are not
//! validated beyond what decoding enforces.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Container, PodSpec, Probe};

use super::field::{BadValue, ErrorList, FieldError};
use super::names;
use crate::quantity::Quantity;

pub const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
const DNS_POLICIES: [&str; 4] = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
pub const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

/// `must be between 1 and 65535, inclusive` checks.
pub fn port_in_range(port: i32) -> bool {
    (1..=65535).contains(&port)
}

pub const PORT_RANGE_MESSAGE: &str = "must be between 1 and 65535, inclusive";

/// `IsValidPortName`.
pub fn port_name(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push("must be no more than 15 characters".to_string());
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

pub fn validate_pod_spec(spec: &PodSpec, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen = BTreeSet::new();
    if spec.containers.is_empty() {
        errs.push(FieldError::required(format!("{path}.containers"), ""));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        validate_container(
            c,
            &format!("{path}.containers[{i}]"),
            &mut seen,
            true,
            &mut errs,
        );
    }
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        validate_container(
            c,
            &format!("{path}.initContainers[{i}]"),
            &mut seen,
            false,
            &mut errs,
        );
    }
    if let Some(p) = &spec.restart_policy
        && !RESTART_POLICIES.contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            format!("{path}.restartPolicy"),
            BadValue::Str(p.clone()),
            &RESTART_POLICIES,
        ));
    }
    if let Some(p) = &spec.dns_policy
        && !DNS_POLICIES.contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            format!("{path}.dnsPolicy"),
            BadValue::Str(p.clone()),
            &DNS_POLICIES,
        ));
    }
    if let Some(g) = spec.termination_grace_period_seconds
        && g < 0
    {
        errs.push(FieldError::invalid(
            format!("{path}.terminationGracePeriodSeconds"),
            BadValue::Int(g),
            "must be greater than or equal to 0",
        ));
    }
    if let Some(d) = spec.active_deadline_seconds
        && d <= 0
    {
        errs.push(FieldError::invalid(
            format!("{path}.activeDeadlineSeconds"),
            BadValue::Int(d),
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    if let Some(node) = &spec.node_name {
        for m in names::dns1123_subdomain(node) {
            errs.push(FieldError::invalid(
                format!("{path}.nodeName"),
                BadValue::Str(node.clone()),
                m,
            ));
        }
    }
    if let Some(selector) = &spec.node_selector {
        errs.extend(names::validate_labels(
            selector,
            &format!("{path}.nodeSelector"),
        ));
    }
    errs
}

fn validate_container(
    c: &Container,
    path: &str,
    seen: &mut BTreeSet<String>,
    regular: bool,
    errs: &mut ErrorList,
) {
    if c.name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else {
        for m in names::dns1123_label(&c.name) {
            errs.push(FieldError::invalid(
                format!("{path}.name"),
                BadValue::Str(c.name.clone()),
                m,
            ));
        }
        if !seen.insert(c.name.clone()) {
            errs.push(FieldError::duplicate(
                format!("{path}.name"),
                BadValue::Str(c.name.clone()),
            ));
        }
    }
    if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    }
    if let Some(p) = &c.image_pull_policy
        && !PULL_POLICIES.contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            format!("{path}.imagePullPolicy"),
            BadValue::Str(p.clone()),
            &PULL_POLICIES,
        ));
    }
    let mut port_names = BTreeSet::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let pp = format!("{path}.ports[{i}]");
        if let Some(name) = &p.name {
            for m in port_name(name) {
                errs.push(FieldError::invalid(
                    format!("{pp}.name"),
                    BadValue::Str(name.clone()),
                    m,
                ));
            }
            if !port_names.insert(name.clone()) {
                errs.push(FieldError::duplicate(
                    format!("{pp}.name"),
                    BadValue::Str(name.clone()),
                ));
            }
        }
        if p.container_port == 0 {
            errs.push(FieldError::required(format!("{pp}.containerPort"), ""));
        } else if !port_in_range(p.container_port) {
            errs.push(FieldError::invalid(
                format!("{pp}.containerPort"),
                BadValue::Int(p.container_port.into()),
                PORT_RANGE_MESSAGE,
            ));
        }
        if let Some(hp) = p.host_port
            && hp != 0
            && !port_in_range(hp)
        {
            errs.push(FieldError::invalid(
                format!("{pp}.hostPort"),
                BadValue::Int(hp.into()),
                PORT_RANGE_MESSAGE,
            ));
        }
        if let Some(proto) = &p.protocol
            && !PROTOCOLS.contains(&proto.as_str())
        {
            errs.push(FieldError::not_supported(
                format!("{pp}.protocol"),
                BadValue::Str(proto.clone()),
                &PROTOCOLS,
            ));
        }
    }
    validate_resources(c, &format!("{path}.resources"), errs);
    if regular {
        if let Some(p) = &c.liveness_probe {
            validate_probe(p, &format!("{path}.livenessProbe"), true, errs);
        }
        if let Some(p) = &c.startup_probe {
            validate_probe(p, &format!("{path}.startupProbe"), true, errs);
        }
        if let Some(p) = &c.readiness_probe {
            validate_probe(p, &format!("{path}.readinessProbe"), false, errs);
        }
    }
}

fn validate_probe(p: &Probe, path: &str, success_must_be_one: bool, errs: &mut ErrorList) {
    let non_negative = [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ];
    for (field, value) in non_negative {
        if let Some(v) = value
            && v < 0
        {
            errs.push(FieldError::invalid(
                format!("{path}.{field}"),
                BadValue::Int(v.into()),
                "must be greater than or equal to 0",
            ));
        }
    }
    if success_must_be_one
        && let Some(s) = p.success_threshold
        && s != 1
    {
        errs.push(FieldError::invalid(
            format!("{path}.successThreshold"),
            BadValue::Int(s.into()),
            "must be 1",
        ));
    }
    let handlers = [
        p.exec.is_some(),
        p.http_get.is_some(),
        p.tcp_socket.is_some(),
        p.grpc.is_some(),
    ];
    match handlers.iter().filter(|h| **h).count() {
        0 => errs.push(FieldError::required(
            path.to_string(),
            "must specify a handler type",
        )),
        1 => {}
        _ => errs.push(FieldError::forbidden(
            path.to_string(),
            "may not specify more than 1 handler type",
        )),
    }
}

/// ValidateResourceRequirements: quantities parse and are non-negative; requests ≤ limits.
fn validate_resources(c: &Container, path: &str, errs: &mut ErrorList) {
    let Some(r) = &c.resources else { return };
    let mut parsed = |kind: &str,
                      map: &Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| {
        let mut out = Vec::new();
        for (name, q) in map.iter().flatten() {
            let field = format!("{path}.{kind}[{name}]");
            match Quantity::parse(&q.0) {
                Ok(v) if v.is_negative() => errs.push(FieldError::invalid(
                    field,
                    BadValue::Str(v.to_string()),
                    "must be greater than or equal to 0",
                )),
                Ok(v) => out.push((name.clone(), v)),
                Err(e) => errs.push(FieldError::invalid(
                    field,
                    BadValue::Str(q.0.clone()),
                    e.to_string(),
                )),
            }
        }
        out
    };
    let limits = parsed("limits", &r.limits);
    let requests = parsed("requests", &r.requests);
    for (name, request) in &requests {
        if let Some((_, limit)) = limits.iter().find(|(n, _)| n == name)
            && request > limit
        {
            errs.push(FieldError::invalid(
                format!("{path}.requests[{name}]"),
                BadValue::Str(request.to_string()),
                format!("must be less than or equal to {name} limit of {limit}"),
            ));
        }
    }
}
