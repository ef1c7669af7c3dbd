//! The columns of `kubectl get` per kind: what the apiserver's table convertor prints.
//!
//! Follows `pkg/printers/internalversion/printers.go` (`printPod`, `printNode`,
//! `printDeployment`, …). Simplifications: Events are printed in the order given (kubectl
//! does not sort them either without `--sort-by`); a Service's LoadBalancer ingress list is
//! kept in its order where kubectl deduplicates it through a set.

use api::k8s_openapi::api::core::v1 as core;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use api::{Kind, Object};

use super::age::since;

const NONE: &str = "<none>";

/// The headers of `kind`'s table; `wide` adds the `-o wide` columns.
pub fn headers(kind: Kind, wide: bool) -> Vec<&'static str> {
    let (base, extra): (&[&str], &[&str]) = match kind {
        Kind::Pod => (
            &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        ),
        Kind::Node => (
            &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
            &[
                "INTERNAL-IP",
                "EXTERNAL-IP",
                "OS-IMAGE",
                "KERNEL-VERSION",
                "CONTAINER-RUNTIME",
            ],
        ),
        Kind::Namespace => (&["NAME", "STATUS", "AGE"], &[]),
        Kind::Service => (
            &[
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
            ],
            &["SELECTOR"],
        ),
        Kind::Endpoints => (&["NAME", "ENDPOINTS", "AGE"], &[]),
        Kind::ConfigMap => (&["NAME", "DATA", "AGE"], &[]),
        Kind::Secret => (&["NAME", "TYPE", "DATA", "AGE"], &[]),
        Kind::ServiceAccount => (&["NAME", "SECRETS", "AGE"], &[]),
        Kind::Event => (
            &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            &["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"],
        ),
        Kind::Deployment => (
            &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::ReplicaSet => (
            &["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::DaemonSet => (
            &[
                "NAME",
                "DESIRED",
                "CURRENT",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "NODE SELECTOR",
                "AGE",
            ],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::StatefulSet => (&["NAME", "READY", "AGE"], &["CONTAINERS", "IMAGES"]),
        Kind::Job => (
            &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::EndpointSlice => (&["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], &[]),
        Kind::Lease => (&["NAME", "HOLDER", "AGE"], &[]),
        Kind::EventsV1Event => (&["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], &[]),
        Kind::Role | Kind::ClusterRole => (&["NAME", "CREATED AT"], &[]),
        Kind::RoleBinding | Kind::ClusterRoleBinding => (
            &["NAME", "ROLE", "AGE"],
            &["USERS", "GROUPS", "SERVICEACCOUNTS"],
        ),
        Kind::PriorityClass => (
            &["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
            &[],
        ),
        Kind::PodDisruptionBudget => (
            &[
                "NAME",
                "MIN AVAILABLE",
                "MAX UNAVAILABLE",
                "ALLOWED DISRUPTIONS",
                "AGE",
            ],
            &[],
        ),
    };
    let mut h = base.to_vec();
    if wide {
        h.extend_from_slice(extra);
    }
    h
}

/// The cells of one object's row, in the order of [`headers`]. `name` is what the NAME
/// column shows (`nginx`, or `pod/nginx` when several kinds are printed together).
pub fn row(obj: &Object, name: &str, wide: bool, now_secs: i64) -> Vec<String> {
    let age = since(obj.metadata().creation_timestamp.as_ref(), now_secs);
    let mut cells: Vec<String> = match obj {
        Object::Pod(p) => return pod_row(p, name, wide, now_secs),
        Object::Node(n) => return node_row(n, name, wide, now_secs),
        Object::Namespace(ns) => vec![
            name.into(),
            ns.status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default(),
            age,
        ],
        Object::Service(s) => return service_row(s, name, wide, age),
        Object::Endpoints(e) => vec![name.into(), format_endpoints(e), age],
        Object::ConfigMap(c) => {
            let n = c.data.as_ref().map_or(0, |d| d.len())
                + c.binary_data.as_ref().map_or(0, |d| d.len());
            vec![name.into(), n.to_string(), age]
        }
        Object::Secret(s) => {
            let n = s.data.as_ref().map_or(0, |d| d.len())
                + s.string_data.as_ref().map_or(0, |d| d.len());
            vec![
                name.into(),
                s.type_.clone().unwrap_or_default(),
                n.to_string(),
                age,
            ]
        }
        Object::ServiceAccount(sa) => vec![
            name.into(),
            sa.secrets.as_ref().map_or(0, |s| s.len()).to_string(),
            age,
        ],
        Object::Event(e) => return event_row(e, wide, now_secs),
        Object::EventsV1Event(e) => {
            let last = e
                .deprecated_last_timestamp
                .as_ref()
                .map(|t| since(Some(t), now_secs))
                .or_else(|| {
                    e.event_time
                        .as_ref()
                        .map(|t| super::age::human_duration(now_secs - t.0.as_second()))
                })
                .unwrap_or_else(|| "<unknown>".into());
            let object = e.regarding.as_ref().map_or(String::new(), |r| {
                format!(
                    "{}/{}",
                    r.kind.as_deref().unwrap_or("").to_ascii_lowercase(),
                    r.name.as_deref().unwrap_or("")
                )
            });
            vec![
                last,
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                object,
                e.note.clone().unwrap_or_default(),
            ]
        }
        Object::Deployment(d) => {
            let spec = Some(&d.spec);
            let st = d.status.as_ref();
            let desired = spec.and_then(|s| s.replicas).unwrap_or(0);
            let mut c = vec![
                name.into(),
                format!(
                    "{}/{}",
                    st.and_then(|s| s.ready_replicas).unwrap_or(0),
                    desired
                ),
                st.and_then(|s| s.updated_replicas).unwrap_or(0).to_string(),
                st.and_then(|s| s.available_replicas)
                    .unwrap_or(0)
                    .to_string(),
                age,
            ];
            if wide {
                c.extend(template_columns(
                    spec.and_then(|s| s.template.spec.as_ref()),
                    spec.map(|s| &s.selector),
                ));
            }
            return c;
        }
        Object::ReplicaSet(rs) => {
            let spec = Some(&rs.spec);
            let st = rs.status.as_ref();
            let mut c = vec![
                name.into(),
                spec.and_then(|s| s.replicas).unwrap_or(0).to_string(),
                st.map_or(0, |s| s.replicas).to_string(),
                st.and_then(|s| s.ready_replicas).unwrap_or(0).to_string(),
                age,
            ];
            if wide {
                c.extend(template_columns(
                    spec.and_then(|s| s.template.as_ref())
                        .and_then(|t| t.spec.as_ref()),
                    spec.map(|s| &s.selector),
                ));
            }
            return c;
        }
        Object::DaemonSet(ds) => {
            let spec = Some(&ds.spec);
            let st = ds.status.as_ref();
            let pod_spec = spec.and_then(|s| s.template.spec.as_ref());
            let node_selector = pod_spec
                .and_then(|p| p.node_selector.as_ref())
                .map(|m| format_labels(m.iter()))
                .unwrap_or_else(|| NONE.into());
            let mut c = vec![
                name.into(),
                st.map_or(0, |s| s.desired_number_scheduled).to_string(),
                st.map_or(0, |s| s.current_number_scheduled).to_string(),
                st.map_or(0, |s| s.number_ready).to_string(),
                st.and_then(|s| s.updated_number_scheduled)
                    .unwrap_or(0)
                    .to_string(),
                st.and_then(|s| s.number_available).unwrap_or(0).to_string(),
                node_selector,
                age,
            ];
            if wide {
                c.extend(template_columns(pod_spec, spec.map(|s| &s.selector)));
            }
            return c;
        }
        Object::StatefulSet(ss) => {
            let spec = Some(&ss.spec);
            let st = ss.status.as_ref();
            let mut c = vec![
                name.into(),
                format!(
                    "{}/{}",
                    st.and_then(|s| s.ready_replicas).unwrap_or(0),
                    spec.and_then(|s| s.replicas).unwrap_or(0)
                ),
                age,
            ];
            if wide {
                let mut t = template_columns(spec.and_then(|s| s.template.spec.as_ref()), None);
                t.truncate(2);
                c.extend(t);
            }
            return c;
        }
        Object::Job(j) => return job_row(j, name, wide, age, now_secs),
        Object::EndpointSlice(s) => {
            let ports: Vec<String> = s
                .ports
                .iter()
                .flatten()
                .map(|p| match (p.port, &p.name) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(n)) => n.clone(),
                    (None, None) => "*".into(),
                })
                .collect();
            let addrs: Vec<String> = s
                .endpoints
                .iter()
                .flatten()
                .flat_map(|e| e.addresses.iter().cloned())
                .collect();
            vec![
                name.into(),
                s.address_type.clone(),
                list_with_more(&ports, "<unset>"),
                list_with_more(&addrs, "<unset>"),
                age,
            ]
        }
        Object::Lease(l) => vec![
            name.into(),
            l.spec
                .as_ref()
                .and_then(|s| s.holder_identity.clone())
                .unwrap_or_default(),
            age,
        ],
        Object::Role(_) | Object::ClusterRole(_) => vec![
            name.into(),
            obj.metadata()
                .creation_timestamp
                .as_ref()
                .map(rfc3339)
                .unwrap_or_default(),
        ],
        Object::RoleBinding(b) => {
            return binding_row(name, &b.role_ref, b.subjects.as_deref(), wide, age);
        }
        Object::ClusterRoleBinding(b) => {
            return binding_row(name, &b.role_ref, b.subjects.as_deref(), wide, age);
        }
        Object::PriorityClass(pc) => vec![
            name.into(),
            pc.value.unwrap_or(0).to_string(),
            pc.global_default.unwrap_or(false).to_string(),
            age,
            pc.preemption_policy.clone().unwrap_or_default(),
        ],
        Object::PodDisruptionBudget(pdb) => {
            let spec = pdb.spec.as_ref();
            let show =
                |v: Option<&api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>| {
                    v.map_or("N/A".to_string(), |v| match v {
                        api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => {
                            i.to_string()
                        }
                        api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(
                            s,
                        ) => s.clone(),
                    })
                };
            vec![
                name.into(),
                show(spec.and_then(|s| s.min_available.as_ref())),
                show(spec.and_then(|s| s.max_unavailable.as_ref())),
                pdb.status
                    .as_ref()
                    .and_then(|s| s.disruptions_allowed)
                    .unwrap_or(0)
                    .to_string(),
                age,
            ]
        }
    };
    cells.shrink_to_fit();
    cells
}

fn rfc3339(t: &Time) -> String {
    t.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `labels.FormatLabels`: `k=v,k2=v2` in key order, `<none>` when empty.
pub fn format_labels<'a>(labels: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let s: Vec<String> = labels.map(|(k, v)| format!("{k}={v}")).collect();
    if s.is_empty() {
        NONE.into()
    } else {
        s.join(",")
    }
}

/// `listWithMoreString` with kubectl's limit of three entries.
fn list_with_more(items: &[String], empty: &str) -> String {
    const MAX: usize = 3;
    if items.is_empty() {
        return empty.into();
    }
    let shown = items[..items.len().min(MAX)].join(",");
    if items.len() > MAX {
        format!("{shown} + {} more...", items.len() - MAX)
    } else {
        shown
    }
}

/// `metav1.LabelSelectorAsSelector(...).String()`: match labels then expressions.
pub fn selector_string(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let mut values = e.values.clone().unwrap_or_default();
        values.sort();
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({})", e.key, values.join(",")),
            "NotIn" => format!("{} notin ({})", e.key, values.join(",")),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => format!("{} {other}", e.key),
        });
    }
    parts.sort();
    if parts.is_empty() {
        NONE.into()
    } else {
        parts.join(",")
    }
}

/// CONTAINERS, IMAGES and SELECTOR of a workload's `-o wide`.
fn template_columns(pod: Option<&core::PodSpec>, sel: Option<&LabelSelector>) -> Vec<String> {
    let containers = pod.map(|p| p.containers.as_slice()).unwrap_or(&[]);
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = containers
        .iter()
        .map(|c| c.image.as_deref().unwrap_or(""))
        .collect();
    vec![
        names.join(","),
        images.join(","),
        sel.map_or(NONE.into(), selector_string),
    ]
}

fn is_restartable_init(c: Option<&core::Container>) -> bool {
    c.and_then(|c| c.restart_policy.as_deref()) == Some("Always")
}

fn condition_true(conditions: Option<&Vec<core::PodCondition>>, type_: &str) -> bool {
    conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == type_ && c.status == "True")
}

fn later(a: Option<Time>, b: &Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) if b.0 > a.0 => Some(b.clone()),
        (None, Some(b)) => Some(b.clone()),
        (a, _) => a,
    }
}

fn last_finished(s: &core::ContainerStatus) -> Option<Time> {
    s.last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .and_then(|t| t.finished_at.clone())
}

/// READY, STATUS and RESTARTS as `printPod` computes them.
pub fn pod_status(pod: &core::Pod, now_secs: i64) -> (String, String, String) {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let containers = spec.map(|s| s.containers.as_slice()).unwrap_or(&[]);
    let init_containers = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or(&[]);
    let mut total = containers.len();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<Time> = None;
    let mut last_sidecar_restart: Option<Time> = None;
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();
    let mut reason = status
        .and_then(|s| s.reason.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| phase.clone());
    let conditions = status.and_then(|s| s.conditions.as_ref());
    if conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"))
    {
        reason = "SchedulingGated".into();
    }
    let init_spec = |name: &str| init_containers.iter().find(|c| c.name == name);
    total += init_containers
        .iter()
        .filter(|c| is_restartable_init(Some(c)))
        .count();

    let mut initializing = false;
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or(&[]);
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += i64::from(c.restart_count);
        let finished = last_finished(c);
        last_restart = later(last_restart, &finished);
        let sidecar = is_restartable_init(init_spec(&c.name));
        if sidecar {
            sidecar_restarts += i64::from(c.restart_count);
            last_sidecar_restart = later(last_sidecar_restart, &finished);
        }
        let state = c.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        if terminated.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if sidecar && c.started == Some(true) {
            if c.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => match t.signal.filter(|s| *s != 0) {
                    Some(sig) => format!("Init:Signal:{sig}"),
                    None => format!("Init:ExitCode:{}", t.exit_code),
                },
            };
        } else if let Some(r) = waiting
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(conditions, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        for c in statuses.iter().rev() {
            restarts += i64::from(c.restart_count);
            last_restart = later(last_restart, &last_finished(c));
            let state = c.state.as_ref();
            let waiting_reason = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                .filter(|r| !r.is_empty());
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if let Some(r) = waiting_reason {
                reason = r.to_string();
            } else if let Some(t) = terminated {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None => match t.signal.filter(|s| *s != 0) {
                        Some(sig) => format!("Signal:{sig}"),
                        None => format!("ExitCode:{}", t.exit_code),
                    },
                };
            } else if c.ready && state.and_then(|s| s.running.as_ref()).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(conditions, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        if status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }

    let restarts_str = match (&last_restart, restarts) {
        (Some(t), n) if n != 0 => format!("{n} ({} ago)", since(Some(t), now_secs)),
        (_, n) => n.to_string(),
    };
    (format!("{ready}/{total}"), reason, restarts_str)
}

fn pod_row(pod: &core::Pod, name: &str, wide: bool, now_secs: i64) -> Vec<String> {
    let (ready, reason, restarts) = pod_status(pod, now_secs);
    let mut c = vec![
        name.into(),
        ready,
        reason,
        restarts,
        since(pod.metadata.creation_timestamp.as_ref(), now_secs),
    ];
    if wide {
        let status = pod.status.as_ref();
        let or_none = |s: Option<String>| s.filter(|s| !s.is_empty()).unwrap_or(NONE.into());
        let ip = status
            .and_then(|s| s.pod_ips.as_ref())
            .and_then(|ips| ips.first())
            .map(|ip| ip.ip.clone());
        let gates = pod
            .spec
            .as_ref()
            .and_then(|s| s.readiness_gates.as_ref())
            .filter(|g| !g.is_empty());
        let gates = match gates {
            None => NONE.to_string(),
            Some(g) => {
                let conditions = status.and_then(|s| s.conditions.as_ref());
                let ok = g
                    .iter()
                    .filter(|gate| {
                        conditions
                            .into_iter()
                            .flatten()
                            .find(|c| c.type_ == gate.condition_type)
                            .is_some_and(|c| c.status == "True")
                    })
                    .count();
                format!("{ok}/{}", g.len())
            }
        };
        c.extend([
            or_none(ip),
            or_none(pod.spec.as_ref().and_then(|s| s.node_name.clone())),
            or_none(status.and_then(|s| s.nominated_node_name.clone())),
            gates,
        ]);
    }
    c
}

/// Node roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role` labels.
fn node_roles(node: &core::Node) -> String {
    let mut roles = std::collections::BTreeSet::new();
    for (k, v) in node.metadata.labels.iter().flatten() {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role.to_string());
            }
        } else if k == "kubernetes.io/role" && !v.is_empty() {
            roles.insert(v.clone());
        }
    }
    if roles.is_empty() {
        NONE.into()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

/// STATUS of a node: Ready/NotReady/Unknown, plus SchedulingDisabled when cordoned.
pub fn node_status(node: &core::Node) -> String {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().rev().find(|c| c.type_ == "Ready"));
    let mut status = vec![match ready {
        Some(c) if c.status == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

fn node_row(node: &core::Node, name: &str, wide: bool, now_secs: i64) -> Vec<String> {
    let info = node.status.as_ref().and_then(|s| s.node_info.as_ref());
    let mut c = vec![
        name.into(),
        node_status(node),
        node_roles(node),
        since(node.metadata.creation_timestamp.as_ref(), now_secs),
        info.map(|i| i.kubelet_version.clone()).unwrap_or_default(),
    ];
    if wide {
        let address = |t: &str| {
            node.status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .and_then(|a| a.iter().find(|a| a.type_ == t))
                .map_or(NONE.to_string(), |a| a.address.clone())
        };
        let unknown = |s: Option<&String>| {
            s.filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or("<unknown>".into())
        };
        c.extend([
            address("InternalIP"),
            address("ExternalIP"),
            unknown(info.map(|i| &i.os_image)),
            unknown(info.map(|i| &i.kernel_version)),
            unknown(info.map(|i| &i.container_runtime_version)),
        ]);
    }
    c
}

fn service_row(svc: &core::Service, name: &str, wide: bool, age: String) -> Vec<String> {
    let spec = svc.spec.as_ref();
    let type_ = spec
        .and_then(|s| s.type_.clone())
        .unwrap_or_else(|| "ClusterIP".into());
    // printService reads spec.clusterIPs (the apiserver fills it from clusterIP).
    let cluster_ip = spec
        .and_then(|s| s.cluster_ips.as_ref())
        .and_then(|ips| ips.first().cloned())
        .or_else(|| spec.and_then(|s| s.cluster_ip.clone()))
        .filter(|s| !s.is_empty())
        .unwrap_or(NONE.into());
    let external_ips: Vec<String> = spec
        .and_then(|s| s.external_ips.clone())
        .unwrap_or_default();
    let lb_ips: Vec<String> = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .collect();
    let external = match type_.as_str() {
        "LoadBalancer" => {
            let mut all = lb_ips;
            all.extend(external_ips);
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => spec
            .and_then(|s| s.external_name.clone())
            .unwrap_or_default(),
        _ if !external_ips.is_empty() => external_ips.join(","),
        _ => NONE.into(),
    };
    let ports: Vec<String> = spec
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p.protocol.as_deref().unwrap_or("TCP");
            match p.node_port {
                Some(np) if np != 0 => format!("{}:{np}/{proto}", p.port),
                _ => format!("{}/{proto}", p.port),
            }
        })
        .collect();
    let mut c = vec![
        name.into(),
        type_,
        cluster_ip,
        external,
        if ports.is_empty() {
            NONE.into()
        } else {
            ports.join(",")
        },
        age,
    ];
    if wide {
        c.push(
            spec.and_then(|s| s.selector.as_ref())
                .map_or(NONE.into(), |m| format_labels(m.iter())),
        );
    }
    c
}

/// `formatEndpoints`: `ip:port` for every port and address, at most three then `+ N more...`.
fn format_endpoints(e: &core::Endpoints) -> String {
    let mut list = Vec::new();
    for ss in e.subsets.iter().flatten() {
        let addrs = ss.addresses.as_deref().unwrap_or(&[]);
        match ss.ports.as_deref() {
            None | Some([]) => list.extend(addrs.iter().map(|a| a.ip.clone())),
            Some(ports) => {
                for p in ports {
                    list.extend(addrs.iter().map(|a| {
                        if a.ip.contains(':') {
                            format!("[{}]:{}", a.ip, p.port)
                        } else {
                            format!("{}:{}", a.ip, p.port)
                        }
                    }));
                }
            }
        }
    }
    if e.subsets.as_ref().is_none_or(|s| s.is_empty()) {
        return NONE.into();
    }
    list_with_more(&list, "")
}

fn event_row(e: &core::Event, wide: bool, now_secs: i64) -> Vec<String> {
    let first = e
        .first_timestamp
        .as_ref()
        .or(e.metadata.creation_timestamp.as_ref());
    let last_secs = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()));
    let last = last_secs.map_or("<unknown>".into(), |s| {
        super::age::human_duration(now_secs - s)
    });
    let count = e.count.unwrap_or(1);
    let last_seen = if count > 1 {
        format!("{last} (x{count} over {})", since(first, now_secs))
    } else {
        last
    };
    let obj = &e.involved_object;
    let mut c = vec![
        last_seen,
        e.type_.clone().unwrap_or_default(),
        e.reason.clone().unwrap_or_default(),
        format!(
            "{}/{}",
            obj.kind.as_deref().unwrap_or("").to_ascii_lowercase(),
            obj.name.as_deref().unwrap_or("")
        ),
        e.message.clone().unwrap_or_default(),
    ];
    if wide {
        let source = e.source.as_ref();
        let component = source
            .and_then(|s| s.component.clone())
            .or_else(|| e.reporting_component.clone())
            .unwrap_or_default();
        let source = match source.and_then(|s| s.host.as_deref()) {
            Some(h) if !h.is_empty() => format!("{component}, {h}"),
            _ => component,
        };
        c.extend([
            obj.field_path.clone().unwrap_or_default(),
            source,
            since(first, now_secs),
            count.to_string(),
            e.metadata.name.clone().unwrap_or_default(),
        ]);
    }
    c
}

fn job_row(
    j: &api::k8s_openapi::api::batch::v1::Job,
    name: &str,
    wide: bool,
    age: String,
    now_secs: i64,
) -> Vec<String> {
    let spec = j.spec.as_ref();
    let st = j.status.as_ref();
    let succeeded = st.and_then(|s| s.succeeded).unwrap_or(0);
    let completions = match (
        spec.and_then(|s| s.completions),
        spec.and_then(|s| s.parallelism),
    ) {
        (Some(c), _) => format!("{succeeded}/{c}"),
        (None, Some(p)) if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    };
    let has = |t: &str| {
        st.and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == t && c.status == "True")
    };
    let status = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if j.metadata.deletion_timestamp.is_some() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let duration = match (
        st.and_then(|s| s.start_time.as_ref()),
        st.and_then(|s| s.completion_time.as_ref()),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => since(Some(start), now_secs),
        (Some(start), Some(end)) => {
            super::age::human_duration(end.0.as_second() - start.0.as_second())
        }
    };
    let mut c = vec![name.into(), status.into(), completions, duration, age];
    if wide {
        c.extend(template_columns(
            spec.and_then(|s| s.template.spec.as_ref()),
            spec.and_then(|s| s.selector.as_ref()),
        ));
    }
    c
}

fn binding_row(
    name: &str,
    role_ref: &api::k8s_openapi::api::rbac::v1::RoleRef,
    subjects: Option<&[api::k8s_openapi::api::rbac::v1::Subject]>,
    wide: bool,
    age: String,
) -> Vec<String> {
    let mut c = vec![
        name.into(),
        format!("{}/{}", role_ref.kind, role_ref.name),
        age,
    ];
    if wide {
        let of = |kind: &str| {
            let v: Vec<String> = subjects
                .unwrap_or(&[])
                .iter()
                .filter(|s| s.kind == kind)
                .map(|s| match (kind, s.namespace.as_deref()) {
                    ("ServiceAccount", Some(ns)) => format!("{ns}/{}", s.name),
                    _ => s.name.clone(),
                })
                .collect();
            v.join(", ")
        };
        c.extend([of("User"), of("Group"), of("ServiceAccount")]);
    }
    c
}
