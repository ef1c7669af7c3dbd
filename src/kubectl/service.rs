//! The Services kubectl generates on the client side: `kubectl expose` (a Service whose
//! selector, ports, protocols and labels are read off the exposed object) and `kubectl create
//! service clusterip|nodeport|loadbalancer|externalname` (label and selector `app=NAME`, one
//! port per `--tcp`). Pure functions from flags and the exposed object (as JSON) to the
//! Service's JSON, or to the message kubectl prints after `error: `.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/expose/expose.go` (`RunExpose`, `createService`,
//! `parseLabels`, `parseProtocols`), `polymorphichelpers` (`canBeExposed`,
//! `mapBasedSelectorForObject`, `portsForObject`, `multiProtocolsForObject`) and
//! `pkg/cmd/create/create_service.go` (`Validate`, `createService`, `parsePorts`).
//!
//! Simplifications: ReplicationControllers are not a kind kubesim serves, so they are not
//! exposed; `--overrides`, `--dry-run`, `--load-balancer-ip` and `-f` are not supported.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The longest name a Service may have (a DNS-1035 label); a longer default is cut.
const DNS1035_LABEL_MAX: usize = 63;

/// `kubectl expose` flags; `None` where kubectl's flag is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExposeOptions {
    /// `--port`: kept as text, kubectl parses it when it builds the Service.
    pub port: Option<String>,
    pub target_port: Option<String>,
    /// `--type`: ClusterIP, NodePort, LoadBalancer or ExternalName (the apiserver validates).
    pub service_type: Option<String>,
    /// `--name`: the Service's name (default: the exposed object's).
    pub name: Option<String>,
    pub protocol: Option<String>,
    /// `--selector`: `k=v,k=v` (default: the exposed object's).
    pub selector: Option<String>,
    /// `-l/--labels`: `k=v,k=v` (default: the exposed object's labels).
    pub labels: Option<String>,
    pub cluster_ip: Option<String>,
    pub external_ip: Option<String>,
    pub session_affinity: Option<String>,
}

/// The kinds `kubectl expose` accepts (`canBeExposed`), by kind name; any other is refused
/// with `cannot expose a Kind.group`.
pub fn can_be_exposed(kind: &str, group: &str) -> Result<(), String> {
    match (kind, group) {
        ("Pod" | "Service" | "ReplicationController", "")
        | ("Deployment" | "ReplicaSet", "apps" | "extensions") => Ok(()),
        _ if group.is_empty() => Err(format!("cannot expose a {kind}")),
        _ => Err(format!("cannot expose a {kind}.{group}")),
    }
}

/// The Service `kubectl expose` creates for `object` (the exposed object as JSON), in
/// `namespace`.
pub fn expose(object: &Value, namespace: &str, opts: &ExposeOptions) -> Result<Value, String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let object_name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let default_name: String = object_name.chars().take(DNS1035_LABEL_MAX).collect();
    let selector = match &opts.selector {
        Some(s) if !s.is_empty() => parse_labels(s)?,
        _ => selector_of(kind, object).map_err(|e| {
            format!("couldn't retrieve selectors via --selector flag or introspection: {e}")
        })?,
    };
    let headless = opts.cluster_ip.as_deref() == Some("None");
    // `--port`, else every port of the object: one is the Service's port, several become
    // `port-1`, `port-2`… (none is an error unless the Service is headless).
    let port_list: Vec<String> = match opts.port.as_deref().filter(|p| !p.is_empty()) {
        // kubectl splits the flag's text itself.
        Some(p) => p.split(',').map(str::to_string).collect(),
        None => {
            let ports = ports_of(kind, object);
            if ports.is_empty() && !headless {
                return Err("couldn't find port via --port flag or introspection".into());
            }
            ports
        }
    };
    let several = port_list.len() > 1;
    let protocols = protocols_of(kind, object);
    let labels = match &opts.labels {
        Some(l) if !l.is_empty() => Some(parse_labels(l)?),
        _ => {
            let l = labels_of(object);
            (!l.is_empty()).then_some(l)
        }
    };
    let name = match opts.name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None if default_name.is_empty() => return Err("name must be specified".into()),
        None => default_name,
    };
    let mut ports = Vec::new();
    for (i, text) in port_list.iter().enumerate() {
        let port: i64 = text
            .parse()
            .map_err(|_| format!("strconv.Atoi: parsing {text:?}: invalid syntax"))?;
        let port_name = several.then(|| format!("port-{}", i + 1));
        let protocol = match (&opts.protocol, protocols.get(text.as_str())) {
            (Some(p), _) => p.clone(),
            (None, Some(found)) if found.len() > 1 => {
                // A port served over several protocols: one Service port each.
                for p in found {
                    ports.push(json!({
                        "name": format!("port-{}-{}", i + 1, p.to_ascii_lowercase()),
                        "port": port,
                        "protocol": p,
                    }));
                }
                continue;
            }
            (None, Some(found)) => found[0].clone(),
            (None, None) => "TCP".to_string(),
        };
        let mut p = json!({"port": port, "protocol": protocol});
        if let Some(n) = port_name {
            p["name"] = Value::String(n);
        }
        ports.push(p);
    }
    // The same `--target-port` for every port, else each port's own number.
    for p in &mut ports {
        let target = match opts.target_port.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => int_or_string(t),
            None => p["port"].clone(),
        };
        p["targetPort"] = target;
    }
    let mut metadata = json!({"name": name, "namespace": namespace});
    if let Some(l) = labels {
        metadata["labels"] = string_map(&l);
    }
    let mut spec = json!({"selector": string_map(&selector), "ports": ports});
    if let Some(ip) = opts.external_ip.as_deref().filter(|s| !s.is_empty()) {
        spec["externalIPs"] = json!([ip]);
    }
    if let Some(t) = opts.service_type.as_deref().filter(|s| !s.is_empty()) {
        spec["type"] = Value::String(t.to_string());
    }
    if let Some(a) = opts.session_affinity.as_deref().filter(|s| !s.is_empty()) {
        if a != "None" && a != "ClientIP" {
            return Err(format!("unknown session affinity: {a}"));
        }
        spec["sessionAffinity"] = Value::String(a.to_string());
    }
    if let Some(ip) = opts.cluster_ip.as_deref().filter(|s| !s.is_empty()) {
        spec["clusterIP"] = Value::String(ip.to_string());
    }
    Ok(json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}))
}

/// `mapBasedSelectorForObject`: a pod's labels, a Service's selector, a Deployment's or
/// ReplicaSet's `matchLabels` (match expressions cannot become a Service selector).
fn selector_of(kind: &str, object: &Value) -> Result<BTreeMap<String, String>, String> {
    match kind {
        "Pod" => {
            let labels = labels_of(object);
            if labels.is_empty() {
                return Err("the pod has no labels and cannot be exposed".into());
            }
            Ok(labels)
        }
        "Service" | "ReplicationController" => match object.pointer("/spec/selector") {
            Some(Value::Object(m)) => Ok(strings(m)),
            _ if kind == "Service" => Err("the service has no pod selector set".into()),
            _ => Ok(BTreeMap::new()),
        },
        "Deployment" | "ReplicaSet" => {
            let match_labels = object
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .map(strings)
                .unwrap_or_default();
            if match_labels.is_empty() {
                return Err(format!(
                    "invalid {}: no selectors, therefore cannot be exposed",
                    kind.to_ascii_lowercase()
                ));
            }
            if let Some(exprs) = object
                .pointer("/spec/selector/matchExpressions")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
            {
                return Err(format!(
                    "couldn't convert expressions - {} to map-based selector format",
                    go_expressions(exprs)
                ));
            }
            Ok(match_labels)
        }
        other => Err(format!("cannot extract pod selector from {other}")),
    }
}

/// Match expressions as Go's `%+v` prints them: `[{Key:tier Operator:In Values:[web]}]`.
fn go_expressions(exprs: &[Value]) -> String {
    let one = |e: &Value| {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        format!(
            "{{Key:{} Operator:{} Values:[{}]}}",
            s("key"),
            s("operator"),
            values.join(" ")
        )
    };
    format!("[{}]", exprs.iter().map(one).collect::<Vec<_>>().join(" "))
}

/// The containers of a pod or of a workload's pod template (init containers are not
/// looked at, as kubectl does not).
fn containers_of<'a>(kind: &str, object: &'a Value) -> &'a [Value] {
    let pointer = if kind == "Pod" {
        "/spec/containers"
    } else {
        "/spec/template/spec/containers"
    };
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `portsForObject`: every container port of the pod (template), or every port of a Service,
/// in order, as text.
fn ports_of(kind: &str, object: &Value) -> Vec<String> {
    port_protocols(kind, object)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// `multiProtocolsForObject`: the protocols each port is served over (TCP when unset).
fn protocols_of(kind: &str, object: &Value) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (port, protocol) in port_protocols(kind, object) {
        map.entry(port).or_default().push(protocol);
    }
    map
}

fn port_protocols(kind: &str, object: &Value) -> Vec<(String, String)> {
    let list: Vec<&Value> = if kind == "Service" {
        object
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    } else {
        containers_of(kind, object)
            .iter()
            .flat_map(|c| {
                c.get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .collect()
    };
    let number = if kind == "Service" {
        "port"
    } else {
        "containerPort"
    };
    list.iter()
        .filter_map(|p| {
            let n = p.get(number).and_then(Value::as_i64)?;
            let proto = p
                .get("protocol")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("TCP");
            Some((n.to_string(), proto.to_string()))
        })
        .collect()
}

fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(strings)
        .unwrap_or_default()
}

fn strings(m: &Map<String, Value>) -> BTreeMap<String, String> {
    m.iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `intstr.Parse`: a number is a port number, anything else a port name.
fn int_or_string(s: &str) -> Value {
    match s.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => Value::String(s.to_string()),
    }
}

/// `parseLabels`: `k=v,k=v`.
fn parse_labels(spec: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for part in spec.split(',') {
        let kv: Vec<&str> = part.split('=').collect();
        let [k, v] = kv.as_slice() else {
            return Err(format!("unexpected label spec: {part}"));
        };
        if k.is_empty() {
            return Err("unexpected empty label key".into());
        }
        labels.insert((*k).to_string(), (*v).to_string());
    }
    Ok(labels)
}

/// The type `kubectl create service <type>` creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIp,
    NodePort,
    LoadBalancer,
    ExternalName,
}

impl ServiceType {
    /// The subcommand word.
    pub fn parse(word: &str) -> Option<ServiceType> {
        Some(match word {
            "clusterip" => ServiceType::ClusterIp,
            "nodeport" => ServiceType::NodePort,
            "loadbalancer" => ServiceType::LoadBalancer,
            "externalname" => ServiceType::ExternalName,
            _ => return None,
        })
    }

    /// `spec.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
        }
    }
}

/// `kubectl create service` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateServiceOptions {
    pub service_type: ServiceType,
    pub name: String,
    /// `--tcp` values, each `port[:targetPort]`.
    pub tcp: Vec<String>,
    /// `--clusterip` (`None` for a headless Service).
    pub cluster_ip: Option<String>,
    /// `--node-port` (0: the apiserver allocates).
    pub node_port: i32,
    pub external_name: Option<String>,
}

/// `Validate` of `kubectl create service`.
pub fn validate_create(o: &CreateServiceOptions) -> Result<(), String> {
    let headless = o.cluster_ip.as_deref() == Some("None");
    if headless && o.service_type != ServiceType::ClusterIp {
        return Err("ClusterIP=None can only be used with ClusterIP service type".into());
    }
    if !headless && o.tcp.is_empty() && o.service_type != ServiceType::ExternalName {
        return Err("at least one tcp port specifier must be provided".into());
    }
    if o.service_type == ServiceType::ExternalName {
        let name = o.external_name.as_deref().unwrap_or("");
        if !is_dns1123_subdomain(name) {
            return Err(format!("invalid service external name {name}"));
        }
    }
    Ok(())
}

/// The Service `kubectl create service` sends: label and selector `app: NAME`, a port named
/// after each `--tcp` value (`5678:8080` → `5678-8080`).
pub fn create(o: &CreateServiceOptions, namespace: &str) -> Result<Value, String> {
    let mut ports = Vec::new();
    for tcp in &o.tcp {
        let (port, target) = parse_ports(tcp)?;
        let mut p = json!({
            "name": tcp.replace(':', "-"),
            "port": port,
            "targetPort": target,
            "protocol": "TCP",
        });
        if o.node_port != 0 {
            p["nodePort"] = json!(o.node_port);
        }
        ports.push(p);
    }
    let mut spec = json!({
        "type": o.service_type.as_str(),
        "selector": {"app": o.name},
        "ports": ports,
    });
    if let Some(e) = o.external_name.as_deref().filter(|e| !e.is_empty()) {
        spec["externalName"] = Value::String(e.to_string());
    }
    if let Some(ip) = o.cluster_ip.as_deref().filter(|s| !s.is_empty()) {
        spec["clusterIP"] = Value::String(ip.to_string());
    }
    Ok(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": o.name, "namespace": namespace, "labels": {"app": o.name}},
        "spec": spec,
    }))
}

/// `parsePorts`: `port[:targetPort]`, the target a number or a port name.
fn parse_ports(spec: &str) -> Result<(i64, Value), String> {
    let mut parts = spec.split(':');
    let first = parts.next().unwrap_or("");
    let port: u16 = first
        .parse()
        .map_err(|_| format!("strconv.ParseUint: parsing {first:?}: invalid syntax"))?;
    let Some(target) = parts.next() else {
        return Ok((i64::from(port), json!(port)));
    };
    match target.parse::<i64>() {
        Ok(n) if (1..=65535).contains(&n) => Ok((i64::from(port), json!(n))),
        Ok(_) => Err("must be between 1 and 65535, inclusive".into()),
        Err(_) => {
            valid_port_name(target)?;
            Ok((i64::from(port), Value::String(target.to_string())))
        }
    }
}

/// `IsValidPortName`: at most 15 lowercase alphanumerics or '-', at least one letter, no
/// leading, trailing or doubled '-'.
fn valid_port_name(name: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if name.is_empty() || name.len() > 15 {
        errs.push("must be no more than 15 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens");
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)");
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen");
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join(","))
    }
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(ports: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
            "spec": {
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": ports}]}
                }
            }
        })
    }

    #[test]
    fn expose_reads_selector_labels_and_the_one_container_port() {
        let svc = expose(
            &deployment(json!([{"containerPort": 80, "protocol": "TCP"}])),
            "default",
            &ExposeOptions::default(),
        )
        .unwrap();
        assert_eq!(
            svc,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
                "spec": {
                    "selector": {"app": "nginx"},
                    "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]
                }
            })
        );
    }

    #[test]
    fn expose_names_several_ports_and_splits_protocols() {
        let d = deployment(json!([
            {"containerPort": 80},
            {"containerPort": 53, "protocol": "UDP"},
            {"containerPort": 53, "protocol": "TCP"}
        ]));
        let svc = expose(&d, "default", &ExposeOptions::default()).unwrap();
        let ports = svc.pointer("/spec/ports").unwrap();
        assert_eq!(
            ports,
            &json!([
                {"name": "port-1", "port": 80, "protocol": "TCP", "targetPort": 80},
                {"name": "port-2-udp", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "port-2-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "port-3-udp", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "port-3-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ])
        );
    }

    #[test]
    fn expose_flags_override_introspection() {
        let opts = ExposeOptions {
            port: Some("8080".into()),
            target_port: Some("http".into()),
            service_type: Some("NodePort".into()),
            name: Some("web".into()),
            labels: Some("tier=front".into()),
            ..ExposeOptions::default()
        };
        let svc = expose(&deployment(json!([])), "team", &opts).unwrap();
        assert_eq!(svc["metadata"]["name"], "web");
        assert_eq!(svc["metadata"]["namespace"], "team");
        assert_eq!(svc["metadata"]["labels"], json!({"tier": "front"}));
        assert_eq!(svc["spec"]["type"], "NodePort");
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"port": 8080, "protocol": "TCP", "targetPort": "http"}])
        );
    }

    #[test]
    fn expose_errors_are_kubectls() {
        let no_port = expose(&deployment(json!([])), "default", &ExposeOptions::default());
        assert_eq!(
            no_port.unwrap_err(),
            "couldn't find port via --port flag or introspection"
        );
        let headless = ExposeOptions {
            cluster_ip: Some("None".into()),
            ..ExposeOptions::default()
        };
        let svc = expose(&deployment(json!([])), "default", &headless).unwrap();
        assert_eq!(svc["spec"]["clusterIP"], "None");
        let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}});
        assert_eq!(
            expose(&pod, "default", &ExposeOptions::default()).unwrap_err(),
            "couldn't retrieve selectors via --selector flag or introspection: the pod has no labels and cannot be exposed"
        );
        let mut exprs = deployment(json!([{"containerPort": 80}]));
        exprs["spec"]["selector"]["matchExpressions"] =
            json!([{"key": "tier", "operator": "In", "values": ["web", "api"]}]);
        assert_eq!(
            expose(&exprs, "default", &ExposeOptions::default()).unwrap_err(),
            "couldn't retrieve selectors via --selector flag or introspection: couldn't convert expressions - [{Key:tier Operator:In Values:[web api]}] to map-based selector format"
        );
        let bad = ExposeOptions {
            selector: Some("app".into()),
            port: Some("80".into()),
            ..ExposeOptions::default()
        };
        assert_eq!(
            expose(&pod, "default", &bad).unwrap_err(),
            "unexpected label spec: app"
        );
        assert_eq!(
            can_be_exposed("DaemonSet", "apps").unwrap_err(),
            "cannot expose a DaemonSet.apps"
        );
        assert!(can_be_exposed("Deployment", "apps").is_ok());
    }

    #[test]
    fn expose_a_service_copies_its_ports_and_selector() {
        let svc = json!({
            "kind": "Service", "metadata": {"name": "nginx"},
            "spec": {"selector": {"app": "nginx"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}
        });
        let out = expose(
            &svc,
            "default",
            &ExposeOptions {
                name: Some("nginx-2".into()),
                ..ExposeOptions::default()
            },
        )
        .unwrap();
        assert_eq!(out["spec"]["selector"], json!({"app": "nginx"}));
        assert_eq!(
            out["spec"]["ports"],
            json!([{"port": 80, "protocol": "TCP", "targetPort": 80}])
        );
        assert!(out["metadata"].get("labels").is_none());
    }

    fn create_opts(t: ServiceType, tcp: &[&str]) -> CreateServiceOptions {
        CreateServiceOptions {
            service_type: t,
            name: "my-cs".into(),
            tcp: tcp.iter().map(|s| s.to_string()).collect(),
            cluster_ip: None,
            node_port: 0,
            external_name: None,
        }
    }

    #[test]
    fn create_service_names_ports_after_their_spec() {
        let o = create_opts(ServiceType::ClusterIp, &["5678:8080", "443:https"]);
        validate_create(&o).unwrap();
        let svc = create(&o, "default").unwrap();
        assert_eq!(
            svc,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "my-cs", "namespace": "default", "labels": {"app": "my-cs"}},
                "spec": {
                    "type": "ClusterIP",
                    "selector": {"app": "my-cs"},
                    "ports": [
                        {"name": "5678-8080", "port": 5678, "targetPort": 8080, "protocol": "TCP"},
                        {"name": "443-https", "port": 443, "targetPort": "https", "protocol": "TCP"}
                    ]
                }
            })
        );
        let mut np = create_opts(ServiceType::NodePort, &["80"]);
        np.node_port = 30080;
        let svc = create(&np, "default").unwrap();
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"name": "80", "port": 80, "targetPort": 80, "protocol": "TCP", "nodePort": 30080}])
        );
    }

    #[test]
    fn create_service_validation() {
        let mut headless = create_opts(ServiceType::ClusterIp, &[]);
        assert_eq!(
            validate_create(&headless).unwrap_err(),
            "at least one tcp port specifier must be provided"
        );
        headless.cluster_ip = Some("None".into());
        validate_create(&headless).unwrap();
        assert_eq!(
            create(&headless, "default").unwrap()["spec"]["clusterIP"],
            "None"
        );
        let mut np = create_opts(ServiceType::NodePort, &["80"]);
        np.cluster_ip = Some("None".into());
        assert_eq!(
            validate_create(&np).unwrap_err(),
            "ClusterIP=None can only be used with ClusterIP service type"
        );
        let mut ext = create_opts(ServiceType::ExternalName, &[]);
        ext.external_name = Some("Bad_Name".into());
        assert_eq!(
            validate_create(&ext).unwrap_err(),
            "invalid service external name Bad_Name"
        );
        ext.external_name = Some("example.com".into());
        validate_create(&ext).unwrap();
        assert_eq!(
            create(&ext, "default").unwrap()["spec"]["externalName"],
            "example.com"
        );
        let bad = create_opts(ServiceType::ClusterIp, &["http:80"]);
        assert_eq!(
            create(&bad, "default").unwrap_err(),
            "strconv.ParseUint: parsing \"http\": invalid syntax"
        );
        let bad = create_opts(ServiceType::ClusterIp, &["80:Http"]);
        assert!(
            create(&bad, "default")
                .unwrap_err()
                .contains("alpha-numeric")
        );
    }
}
