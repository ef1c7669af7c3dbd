//! Service, Namespace and ConfigMap validation (`pkg/apis/core/validation/validation.go`:
//! ValidateService's type, ports, session affinity; IsConfigMapKey for ConfigMap/Secret keys).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::field::{BadValue, ErrorList, FieldError};
use super::pod::{PORT_RANGE_MESSAGE, PROTOCOLS, port_in_range, port_name};

const SERVICE_TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

pub fn validate_service(svc: &Service) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(spec) = &svc.spec else {
        errs.push(FieldError::required("spec.ports", ""));
        return errs;
    };
    let service_type = spec.type_.as_deref().unwrap_or("ClusterIP");
    if !SERVICE_TYPES.contains(&service_type) {
        errs.push(FieldError::not_supported(
            "spec.type",
            BadValue::Str(service_type.into()),
            &SERVICE_TYPES,
        ));
    }
    let ports = spec.ports.as_deref().unwrap_or(&[]);
    let headless = spec.cluster_ip.as_deref() == Some("None");
    if ports.is_empty() && service_type != "ExternalName" && !headless {
        errs.push(FieldError::required("spec.ports", ""));
    }
    if service_type == "ExternalName" && spec.external_name.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required("spec.externalName", ""));
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        let name = p.name.as_deref().unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(format!("{path}.name"), ""));
        } else if !name.is_empty() {
            for m in super::names::dns1123_label(name) {
                errs.push(FieldError::invalid(
                    format!("{path}.name"),
                    BadValue::Str(name.into()),
                    m,
                ));
            }
            if !names.insert(name.to_string()) {
                errs.push(FieldError::duplicate(
                    format!("{path}.name"),
                    BadValue::Str(name.into()),
                ));
            }
        }
        if !port_in_range(p.port) {
            errs.push(FieldError::invalid(
                format!("{path}.port"),
                BadValue::Int(p.port.into()),
                PORT_RANGE_MESSAGE,
            ));
        }
        if let Some(proto) = &p.protocol
            && !PROTOCOLS.contains(&proto.as_str())
        {
            errs.push(FieldError::not_supported(
                format!("{path}.protocol"),
                BadValue::Str(proto.clone()),
                &PROTOCOLS,
            ));
        }
        match &p.target_port {
            Some(IntOrString::Int(t)) if *t != 0 && !port_in_range(*t) => {
                errs.push(FieldError::invalid(
                    format!("{path}.targetPort"),
                    BadValue::Int((*t).into()),
                    PORT_RANGE_MESSAGE,
                ));
            }
            Some(IntOrString::String(t)) if !t.is_empty() => {
                for m in port_name(t) {
                    errs.push(FieldError::invalid(
                        format!("{path}.targetPort"),
                        BadValue::Str(t.clone()),
                        m,
                    ));
                }
            }
            _ => {}
        }
        if let Some(np) = p.node_port
            && np != 0
        {
            if service_type != "NodePort" && service_type != "LoadBalancer" {
                errs.push(FieldError::forbidden(
                    format!("{path}.nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else if !port_in_range(np) {
                errs.push(FieldError::invalid(
                    format!("{path}.nodePort"),
                    BadValue::Int(np.into()),
                    PORT_RANGE_MESSAGE,
                ));
            }
        }
    }
    if let Some(a) = &spec.session_affinity
        && a != "None"
        && a != "ClientIP"
    {
        errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            BadValue::Str(a.clone()),
            &["ClientIP", "None"],
        ));
    }
    if let Some(t) = spec
        .session_affinity_config
        .as_ref()
        .and_then(|c| c.client_ip.as_ref())
        .and_then(|c| c.timeout_seconds)
        && !(1..=86_400).contains(&t)
    {
        errs.push(FieldError::invalid(
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
            BadValue::Int(t.into()),
            "must be greater than 0 and less than 86400",
        ));
    }
    errs
}

/// `IsConfigMapKey`.
pub fn config_map_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string());
    }
    if key == "." {
        errs.push("must not be '.'".to_string());
    } else if key == ".." {
        errs.push("must not be '..'".to_string());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

pub fn validate_data_keys<'a>(keys: impl Iterator<Item = &'a String>, field: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for k in keys {
        for m in config_map_key(k) {
            errs.push(FieldError::invalid(
                format!("{field}[{k}]"),
                BadValue::Str(k.clone()),
                m,
            ));
        }
    }
    errs
}
