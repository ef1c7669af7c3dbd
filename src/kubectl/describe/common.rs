//! The pieces every describer shares: labels, annotations, taints, tolerations, the Events
//! table, the pod template, containers, volumes and timestamps, as
//! `staging/src/k8s.io/kubectl/pkg/describe/describe.go` (kubectl v1.33) prints them.

use std::collections::BTreeMap;

use api::k8s_openapi::api::core::v1 as core;
use api::k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use api::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use api::quantity::Quantity;

use super::tabwriter::PrefixWriter;
use crate::kubectl::age::human_duration;

pub const NONE: &str = "<none>";
/// Annotations longer than this (key and value) print on lines of their own.
const MAX_ANNOTATION_LEN: usize = 140;
/// The annotation describe never shows.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Go's `time.RFC1123Z`: `Thu, 01 Jan 2026 00:00:05 +0000`.
pub fn rfc1123z(t: &Time) -> String {
    t.0.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `translateTimestampSince`.
pub fn since(t: Option<&Time>, now_secs: i64) -> String {
    match t {
        Some(t) => human_duration(now_secs - t.0.as_second()),
        None => "<unknown>".into(),
    }
}

/// `Quantity.String()`: the canonical form.
pub fn quantity(q: &K8sQuantity) -> String {
    Quantity::parse(&q.0).map_or_else(|_| q.0.clone(), |q| q.to_string())
}

/// `IntOrString.String()`.
pub fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// Go's `%v` of a `*bool`.
pub fn opt_bool(v: Option<bool>) -> String {
    v.map_or_else(|| "<nil>".into(), |b| b.to_string())
}

/// `printLabelsMultilineWithIndent`.
pub fn labels_multiline(
    w: &mut PrefixWriter,
    initial_indent: &str,
    title: &str,
    labels: Option<&BTreeMap<String, String>>,
) {
    w.write(0, &format!("{initial_indent}{title}:\t"));
    let Some(labels) = labels.filter(|l| !l.is_empty()) else {
        w.write_line(NONE);
        return;
    };
    for (i, (k, v)) in labels.iter().enumerate() {
        if i != 0 {
            w.write(0, initial_indent);
            w.write(0, "\t");
        }
        w.write(0, &format!("{k}={v}\n"));
    }
}

/// `printAnnotationsMultiline`: without the last-applied configuration; long or multi-line
/// values on lines of their own, cut at 138 characters.
pub fn annotations_multiline(
    w: &mut PrefixWriter,
    title: &str,
    annotations: Option<&BTreeMap<String, String>>,
) {
    w.write(0, &format!("{title}:\t"));
    let keys: Vec<(&String, &String)> = annotations
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != LAST_APPLIED)
        .collect();
    if keys.is_empty() {
        w.write_line(NONE);
        return;
    }
    for (i, (k, v)) in keys.into_iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        let value = v.strip_suffix('\n').unwrap_or(v);
        if value.len() + k.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.write(0, &format!("{k}:\n"));
            for s in value.split('\n') {
                w.write(0, &format!("\t  {}\n", shorten(s, MAX_ANNOTATION_LEN - 2)));
            }
        } else {
            w.write(0, &format!("{k}: {value}\n"));
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s.to_string()
    }
}

/// `Taint.ToString()`: `key=value:Effect`, `key:Effect`.
pub fn taint_string(t: &core::Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

/// `printTaintsMultilineWithIndent`, sorted by effect then key.
pub fn taints_multiline(w: &mut PrefixWriter, title: &str, taints: &[core::Taint]) {
    w.write(0, &format!("{title}:\t"));
    if taints.is_empty() {
        w.write_line(NONE);
        return;
    }
    let mut sorted: Vec<&core::Taint> = taints.iter().collect();
    sorted.sort_by(|a, b| (a.effect.as_str(), &a.key).cmp(&(b.effect.as_str(), &b.key)));
    for (i, t) in sorted.into_iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        w.write(0, &format!("{}\n", taint_string(t)));
    }
}

/// `printTolerationsMultilineWithIndent`, sorted by key.
pub fn tolerations_multiline(
    w: &mut PrefixWriter,
    initial_indent: &str,
    title: &str,
    tolerations: &[core::Toleration],
) {
    w.write(0, &format!("{initial_indent}{title}:\t"));
    if tolerations.is_empty() {
        w.write_line(NONE);
        return;
    }
    let mut sorted: Vec<&core::Toleration> = tolerations.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for (i, t) in sorted.into_iter().enumerate() {
        if i != 0 {
            w.write(0, initial_indent);
            w.write(0, "\t");
        }
        let key = t.key.as_deref().unwrap_or("");
        let value = t.value.as_deref().unwrap_or("");
        let effect = t.effect.as_deref().unwrap_or("");
        let mut s = key.to_string();
        if !value.is_empty() {
            s.push_str(&format!("={value}"));
        }
        if !effect.is_empty() {
            s.push_str(&format!(":{effect}"));
        }
        if t.operator.as_deref() == Some("Exists") && value.is_empty() {
            s.push_str(if !key.is_empty() || !effect.is_empty() {
                " op=Exists"
            } else {
                "op=Exists"
            });
        }
        if let Some(secs) = t.toleration_seconds {
            s.push_str(&format!(" for {secs}s"));
        }
        w.write(0, &format!("{s}\n"));
    }
}

/// `printController`: `Kind/name` of the controlling owner, if any.
pub fn controlled_by(meta: &ObjectMeta) -> Option<String> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .map(|r| format!("{}/{}", r.kind, r.name))
}

/// The time an event is ordered by (`event.SortableEvents`): the series' last observation,
/// else the last timestamp, else the event time.
fn event_time(e: &core::Event) -> i64 {
    if let Some(t) = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
    {
        return t.0.as_second();
    }
    if let Some(t) = &e.last_timestamp {
        return t.0.as_second();
    }
    e.event_time.as_ref().map_or(0, |t| t.0.as_second())
}

/// `DescribeEvents`: `Events: <none>`, or the table oldest first with ages at `now_secs`.
/// kubectl flushes its tabwriter first, so the table is aligned on its own.
pub fn events(w: &mut PrefixWriter, events: &[core::Event], now_secs: i64) {
    if events.is_empty() {
        w.write(0, "Events:\t<none>\n");
        return;
    }
    w.flush();
    let mut sorted: Vec<&core::Event> = events.iter().collect();
    // kubectl's sort is not stable; events of the same second stay in the order the
    // apiserver wrote them (resourceVersion), which is the order they happened.
    sorted.sort_by_key(|e| {
        let rv: u64 = e
            .metadata
            .resource_version
            .as_deref()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        (event_time(e), rv)
    });
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.write(1, "----\t------\t----\t----\t-------\n");
    for e in sorted {
        let first = match &e.event_time {
            Some(t) => human_duration(now_secs - t.0.as_second()),
            None => since(e.first_timestamp.as_ref(), now_secs),
        };
        let count = e.count.unwrap_or(0);
        let interval = if let Some(series) = &e.series {
            let last = series.last_observed_time.as_ref().map_or_else(
                || "<unknown>".into(),
                |t| human_duration(now_secs - t.0.as_second()),
            );
            format!("{last} (x{} over {first})", series.count.unwrap_or(0))
        } else if count > 1 {
            format!(
                "{} (x{count} over {first})",
                since(e.last_timestamp.as_ref(), now_secs)
            )
        } else {
            first
        };
        let source = e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .filter(|c| !c.is_empty())
            .or_else(|| e.reporting_component.clone())
            .unwrap_or_default();
        w.write(
            1,
            &format!(
                "{}\t{}\t{interval}\t{source}\t{}\n",
                e.type_.as_deref().unwrap_or(""),
                e.reason.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or("").trim()
            ),
        );
    }
}

/// `DescribePodTemplate`.
pub fn pod_template(w: &mut PrefixWriter, template: Option<&core::PodTemplateSpec>) {
    w.write(0, "Pod Template:\n");
    let Some(template) = template else {
        w.write(1, "<unset>");
        return;
    };
    let meta = template.metadata.as_ref();
    labels_multiline(w, "", "  Labels", meta.and_then(|m| m.labels.as_ref()));
    if let Some(a) = meta
        .and_then(|m| m.annotations.as_ref())
        .filter(|a| !a.is_empty())
    {
        annotations_multiline(w, "  Annotations", Some(a));
    }
    let spec = template.spec.as_ref();
    if let Some(sa) = spec
        .and_then(|s| s.service_account_name.as_deref())
        .filter(|s| !s.is_empty())
    {
        w.write(1, &format!("Service Account:\t{sa}\n"));
    }
    if let Some(init) = spec
        .and_then(|s| s.init_containers.as_deref())
        .filter(|c| !c.is_empty())
    {
        containers(w, "Init Containers", init, &[], None, "  ");
    }
    let cs = spec.map(|s| s.containers.as_slice()).unwrap_or(&[]);
    containers(w, "Containers", cs, &[], None, "  ");
    volumes(
        w,
        spec.and_then(|s| s.volumes.as_deref()).unwrap_or(&[]),
        "  ",
    );
    if let Some(pc) = spec
        .and_then(|s| s.priority_class_name.as_deref())
        .filter(|s| !s.is_empty())
    {
        w.write(1, &format!("Priority Class Name:\t{pc}\n"));
    }
    labels_multiline(
        w,
        "",
        "  Node-Selectors",
        spec.and_then(|s| s.node_selector.as_ref()),
    );
    tolerations_multiline(
        w,
        "",
        "  Tolerations",
        spec.and_then(|s| s.tolerations.as_deref()).unwrap_or(&[]),
    );
}

/// `describeContainers`: each container's image, ports, command, state (when statuses are
/// given), resources, probes, environment and mounts. `pod` resolves `fieldRef` variables.
pub fn containers(
    w: &mut PrefixWriter,
    label: &str,
    containers: &[core::Container],
    statuses: &[core::ContainerStatus],
    pod: Option<&core::Pod>,
    space: &str,
) {
    let none = if containers.is_empty() { " <none>" } else { "" };
    w.write(0, &format!("{space}{label}:{none}\n"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in containers {
        let status = statuses.iter().find(|s| s.name == c.name);
        w.write(1, &format!("{name_indent}{}:\n", c.name));
        if let Some(s) = status {
            w.write(
                2,
                &format!(
                    "Container ID:\t{}\n",
                    s.container_id.as_deref().unwrap_or("")
                ),
            );
        }
        w.write(
            2,
            &format!("Image:\t{}\n", c.image.as_deref().unwrap_or("")),
        );
        if let Some(s) = status {
            w.write(2, &format!("Image ID:\t{}\n", s.image_id));
        }
        let ports = c.ports.as_deref().unwrap_or(&[]);
        let port = port_list(ports, |p| p.container_port);
        if port.contains(',') {
            w.write(2, &format!("Ports:\t{port}\n"));
        } else {
            w.write(2, &format!("Port:\t{}\n", or_none(&port)));
        }
        let host = port_list(ports, |p| p.host_port.unwrap_or(0));
        if host.contains(',') {
            w.write(2, &format!("Host Ports:\t{host}\n"));
        } else {
            w.write(2, &format!("Host Port:\t{}\n", or_none(&host)));
        }
        command_lines(w, "Command", c.command.as_deref());
        command_lines(w, "Args", c.args.as_deref());
        if let Some(s) = status {
            container_state(w, "State", s.state.as_ref());
            if s.last_state
                .as_ref()
                .is_some_and(|l| l.terminated.is_some())
            {
                container_state(w, "Last State", s.last_state.as_ref());
            }
            w.write(
                2,
                &format!("Ready:\t{}\n", if s.ready { "True" } else { "False" }),
            );
            w.write(2, &format!("Restart Count:\t{}\n", s.restart_count));
        }
        if let Some(r) = &c.resources {
            resources(w, r, 2);
        }
        for (title, probe) in [
            ("Liveness", &c.liveness_probe),
            ("Readiness", &c.readiness_probe),
            ("Startup", &c.startup_probe),
        ] {
            if let Some(p) = probe {
                w.write(2, &format!("{title}:\t{}\n", describe_probe(p)));
            }
        }
        if let Some(from) = c.env_from.as_deref().filter(|f| !f.is_empty()) {
            env_from(w, from);
        }
        env(w, c, pod);
        mounts(w, c.volume_mounts.as_deref().unwrap_or(&[]));
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { NONE } else { s }
}

fn port_list(
    ports: &[core::ContainerPort],
    number: impl Fn(&core::ContainerPort) -> i32,
) -> String {
    ports
        .iter()
        .map(|p| {
            let s = format!("{}/{}", number(p), p.protocol.as_deref().unwrap_or("TCP"));
            match p.name.as_deref().filter(|n| !n.is_empty()) {
                Some(n) => format!("{s} ({n})"),
                None => s,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn command_lines(w: &mut PrefixWriter, title: &str, words: Option<&[String]>) {
    let Some(words) = words.filter(|w| !w.is_empty()) else {
        return;
    };
    w.write(2, &format!("{title}:\n"));
    for word in words {
        for s in word.split('\n') {
            w.write(3, &format!("{s}\n"));
        }
    }
}

/// `describeStatus`.
fn container_state(w: &mut PrefixWriter, title: &str, state: Option<&core::ContainerState>) {
    let state = state.cloned().unwrap_or_default();
    if let Some(r) = &state.running {
        w.write(2, &format!("{title}:\tRunning\n"));
        let started = r.started_at.as_ref().map(rfc1123z).unwrap_or_default();
        w.write(3, &format!("Started:\t{started}\n"));
    } else if let Some(wt) = &state.waiting {
        w.write(2, &format!("{title}:\tWaiting\n"));
        if let Some(r) = wt.reason.as_deref().filter(|r| !r.is_empty()) {
            w.write(3, &format!("Reason:\t{r}\n"));
        }
    } else if let Some(t) = &state.terminated {
        w.write(2, &format!("{title}:\tTerminated\n"));
        if let Some(r) = t.reason.as_deref().filter(|r| !r.is_empty()) {
            w.write(3, &format!("Reason:\t{r}\n"));
        }
        if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
            w.write(3, &format!("Message:\t{m}\n"));
        }
        w.write(3, &format!("Exit Code:\t{}\n", t.exit_code));
        if let Some(sig) = t.signal.filter(|s| *s > 0) {
            w.write(3, &format!("Signal:\t{sig}\n"));
        }
        let at = |t: &Option<Time>| t.as_ref().map(rfc1123z).unwrap_or_else(zero_time);
        w.write(3, &format!("Started:\t{}\n", at(&t.started_at)));
        w.write(3, &format!("Finished:\t{}\n", at(&t.finished_at)));
    } else {
        w.write(2, &format!("{title}:\tWaiting\n"));
    }
}

/// Go's zero `time.Time` in RFC1123Z.
fn zero_time() -> String {
    "Mon, 01 Jan 0001 00:00:00 +0000".into()
}

/// `describeResources`: Limits then Requests, names sorted.
pub fn resources(w: &mut PrefixWriter, r: &core::ResourceRequirements, level: usize) {
    for (title, list) in [("Limits", &r.limits), ("Requests", &r.requests)] {
        let Some(list) = list.as_ref().filter(|l| !l.is_empty()) else {
            continue;
        };
        w.write(level, &format!("{title}:\n"));
        for (name, q) in list {
            w.write(level + 1, &format!("{name}:\t{}\n", quantity(q)));
        }
    }
}

/// `DescribeProbe`.
pub fn describe_probe(p: &core::Probe) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(0),
        p.period_seconds.unwrap_or(0),
        p.success_threshold.unwrap_or(0),
        p.failure_threshold.unwrap_or(0)
    );
    if let Some(e) = &p.exec {
        return format!(
            "exec [{}] {attrs}",
            e.command.as_deref().unwrap_or(&[]).join(" ")
        );
    }
    if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let port = int_or_string(&h.port);
        let host = h.host.as_deref().unwrap_or("");
        let host = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        return format!(
            "http-get {scheme}://{host}{} {attrs}",
            h.path.as_deref().unwrap_or("")
        );
    }
    if let Some(t) = &p.tcp_socket {
        return format!(
            "tcp-socket {}:{} {attrs}",
            t.host.as_deref().unwrap_or(""),
            int_or_string(&t.port)
        );
    }
    if let Some(g) = &p.grpc {
        return format!(
            "grpc <pod>:{} {} {attrs}",
            g.port,
            g.service.as_deref().unwrap_or("")
        );
    }
    format!("unknown {attrs}")
}

fn env_from(w: &mut PrefixWriter, from: &[core::EnvFromSource]) {
    w.write(2, "Environment Variables from:\n");
    for e in from {
        let (kind, name, optional) = if let Some(c) = &e.config_map_ref {
            ("ConfigMap", c.name.as_str(), c.optional.unwrap_or(false))
        } else if let Some(s) = &e.secret_ref {
            ("Secret", s.name.as_str(), s.optional.unwrap_or(false))
        } else {
            ("", "", false)
        };
        match e.prefix.as_deref().filter(|p| !p.is_empty()) {
            None => w.write(3, &format!("{name}\t{kind}\tOptional: {optional}\n")),
            Some(p) => w.write(
                3,
                &format!("{name}\t{kind} with prefix '{p}'\tOptional: {optional}\n"),
            ),
        }
    }
}

fn env(w: &mut PrefixWriter, c: &core::Container, pod: Option<&core::Pod>) {
    let vars = c.env.as_deref().unwrap_or(&[]);
    let none = if vars.is_empty() { "\t<none>" } else { "" };
    w.write(2, &format!("Environment:{none}\n"));
    for e in vars {
        let Some(from) = &e.value_from else {
            for (i, s) in e.value.as_deref().unwrap_or("").split('\n').enumerate() {
                if i == 0 {
                    w.write(3, &format!("{}:\t{s}\n", e.name));
                } else {
                    w.write(3, &format!("\t{s}\n"));
                }
            }
            continue;
        };
        if let Some(f) = &from.field_ref {
            let value = pod
                .map(|p| field_value(p, &f.field_path))
                .unwrap_or_default();
            w.write(
                3,
                &format!(
                    "{}:\t{value} ({}:{})\n",
                    e.name,
                    f.api_version.as_deref().unwrap_or(""),
                    f.field_path
                ),
            );
        } else if let Some(r) = &from.resource_field_ref {
            let mut value = resource_value(c, r);
            if value == "0" && (r.resource == "limits.cpu" || r.resource == "limits.memory") {
                value = "node allocatable".into();
            }
            w.write(3, &format!("{}:\t{value} ({})\n", e.name, r.resource));
        } else if let Some(s) = &from.secret_key_ref {
            w.write(
                3,
                &format!(
                    "{}:\t<set to the key '{}' in secret '{}'>\tOptional: {}\n",
                    e.name,
                    s.key,
                    s.name,
                    s.optional.unwrap_or(false)
                ),
            );
        } else if let Some(m) = &from.config_map_key_ref {
            w.write(
                3,
                &format!(
                    "{}:\t<set to the key '{}' of config map '{}'>\tOptional: {}\n",
                    e.name,
                    m.key,
                    m.name,
                    m.optional.unwrap_or(false)
                ),
            );
        }
    }
}

/// `fieldpath.ExtractFieldPathAsString` for the fields the downward API exposes.
fn field_value(pod: &core::Pod, path: &str) -> String {
    let meta = &pod.metadata;
    let keyed = |prefix: &str, map: Option<&BTreeMap<String, String>>| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .and_then(|k| map.and_then(|m| m.get(k)).cloned())
    };
    if let Some(v) = keyed("metadata.labels['", meta.labels.as_ref()) {
        return v;
    }
    if let Some(v) = keyed("metadata.annotations['", meta.annotations.as_ref()) {
        return v;
    }
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
        "status.hostIP" => status.and_then(|s| s.host_ip.clone()),
        _ => None,
    }
    .unwrap_or_default()
}

/// `ExtractContainerResourceValue`: a request or limit divided by the divisor, rounded up.
fn resource_value(c: &core::Container, r: &core::ResourceFieldSelector) -> String {
    let resources = c.resources.as_ref();
    let (list, name) = match r.resource.split_once('.') {
        Some(("limits", n)) => (resources.and_then(|r| r.limits.as_ref()), n),
        Some(("requests", n)) => (resources.and_then(|r| r.requests.as_ref()), n),
        _ => return String::new(),
    };
    let value = list
        .and_then(|l| l.get(name))
        .and_then(|q| Quantity::parse(&q.0).ok())
        .unwrap_or(Quantity::ZERO);
    let divisor = r
        .divisor
        .as_ref()
        .and_then(|q| Quantity::parse(&q.0).ok())
        .filter(|q| !q.is_zero());
    if name == "cpu" {
        let d = divisor.map_or(1000, |d| d.milli_value()).max(1);
        let m = value.milli_value();
        ((m + d - 1) / d).to_string()
    } else {
        let d = divisor.map_or(1, |d| d.value()).max(1);
        let v = value.value();
        ((v + d - 1) / d).to_string()
    }
}

fn mounts(w: &mut PrefixWriter, mounts: &[core::VolumeMount]) {
    let none = if mounts.is_empty() { "\t<none>" } else { "" };
    w.write(2, &format!("Mounts:{none}\n"));
    let mut sorted: Vec<&core::VolumeMount> = mounts.iter().collect();
    sorted.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
    for m in sorted {
        let mut flags = vec![
            if m.read_only == Some(true) {
                "ro"
            } else {
                "rw"
            }
            .to_string(),
        ];
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            flags.push(format!("path={sub:?}"));
        }
        w.write(
            3,
            &format!("{} from {} ({})\n", m.mount_path, m.name, flags.join(",")),
        );
    }
}

/// `describeVolumes` for the volume types kubesim's pods use; any other source prints
/// `<unknown>` as kubectl does for a type it does not know.
pub fn volumes(w: &mut PrefixWriter, volumes: &[core::Volume], space: &str) {
    if volumes.is_empty() {
        w.write(0, &format!("{space}Volumes:\t<none>\n"));
        return;
    }
    w.write(0, &format!("{space}Volumes:\n"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in volumes {
        w.write(1, &format!("{name_indent}{}:\n", v.name));
        if let Some(h) = &v.host_path {
            w.write(
                2,
                &format!(
                    "Type:\tHostPath (bare host directory volume)\n    Path:\t{}\n    HostPathType:\t{}\n",
                    h.path,
                    h.type_.as_deref().unwrap_or("")
                ),
            );
        } else if let Some(e) = &v.empty_dir {
            let size = e
                .size_limit
                .as_ref()
                .map(quantity)
                .filter(|q| q != "0")
                .unwrap_or_else(|| "<unset>".into());
            w.write(
                2,
                &format!(
                    "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t{}\n    SizeLimit:\t{size}\n",
                    e.medium.as_deref().unwrap_or("")
                ),
            );
        } else if let Some(s) = &v.secret {
            w.write(
                2,
                &format!(
                    "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t{}\n    Optional:\t{}\n",
                    s.secret_name.as_deref().unwrap_or(""),
                    s.optional.unwrap_or(false)
                ),
            );
        } else if let Some(c) = &v.config_map {
            w.write(
                2,
                &format!(
                    "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t{}\n    Optional:\t{}\n",
                    c.name,
                    c.optional.unwrap_or(false)
                ),
            );
        } else if let Some(p) = &v.persistent_volume_claim {
            w.write(
                2,
                &format!(
                    "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t{}\n    ReadOnly:\t{}\n",
                    p.claim_name,
                    p.read_only.unwrap_or(false)
                ),
            );
        } else if let Some(p) = &v.projected {
            w.write(
                2,
                "Type:\tProjected (a volume that contains injected data from multiple sources)\n",
            );
            for s in p.sources.iter().flatten() {
                if let Some(sec) = &s.secret {
                    w.write(
                        2,
                        &format!(
                            "SecretName:\t{}\n    SecretOptionalName:\t{}\n",
                            sec.name,
                            opt_bool(sec.optional)
                        ),
                    );
                } else if s.downward_api.is_some() {
                    w.write(2, "DownwardAPI:\ttrue\n");
                } else if let Some(cm) = &s.config_map {
                    w.write(
                        2,
                        &format!(
                            "ConfigMapName:\t{}\n    ConfigMapOptional:\t{}\n",
                            cm.name,
                            opt_bool(cm.optional)
                        ),
                    );
                } else if let Some(t) = &s.service_account_token {
                    w.write(
                        2,
                        &format!(
                            "TokenExpirationSeconds:\t{}\n",
                            t.expiration_seconds.unwrap_or(0)
                        ),
                    );
                }
            }
        } else if let Some(d) = &v.downward_api {
            w.write(
                2,
                "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n",
            );
            for item in d.items.iter().flatten() {
                if let Some(f) = &item.field_ref {
                    w.write(3, &format!("{} -> {}\n", f.field_path, item.path));
                }
                if let Some(r) = &item.resource_field_ref {
                    w.write(3, &format!("{} -> {}\n", r.resource, item.path));
                }
            }
        } else {
            w.write(1, "<unknown>\n");
        }
    }
}

/// The UID of the controlling owner (`metav1.GetControllerOf`).
pub fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}
