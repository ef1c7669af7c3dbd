//! What `kubectl get` prints for a list of objects in each output format: tables (with
//! NAMESPACE for `-A`, LABELS for `--show-labels`, `kind/name` when several kinds are shown),
//! `-o yaml|json|name|jsonpath|custom-columns`, and "No resources found".
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/get/get.go` and the printers in
//! `staging/src/k8s.io/cli-runtime/pkg/printers`. kubectl reads objects as unstructured maps,
//! so YAML and JSON keys print in alphabetical order at every level; JSON is indented by four
//! spaces; YAML is written by [`super::yaml`] as go-yaml v2 writes it.

use api::{KindInfo, Object};
use serde_json::Value;

use super::columns;
use super::error::KubectlError;
use super::jsonpath::{JsonPath, value_text};
use super::table::Table;

/// `-o` of kubectl get.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Yaml,
    Json,
    Name,
    /// The template after `jsonpath=`.
    JsonPath(String),
    /// `HEADER:.path` pairs after `custom-columns=`.
    CustomColumns(Vec<(String, String)>),
}

impl OutputFormat {
    /// Parses the value of `-o`, with kubectl's error for an unknown format.
    pub fn parse(s: &str) -> Result<OutputFormat, KubectlError> {
        Ok(match s {
            "" => OutputFormat::Table,
            "wide" => OutputFormat::Wide,
            "yaml" => OutputFormat::Yaml,
            "json" => OutputFormat::Json,
            "name" => OutputFormat::Name,
            _ => {
                if let Some(t) = s.strip_prefix("jsonpath=") {
                    JsonPath::parse(t)?;
                    OutputFormat::JsonPath(t.to_string())
                } else if let Some(spec) = s.strip_prefix("custom-columns=") {
                    let mut cols = Vec::new();
                    for part in spec.split(',') {
                        let (h, p) = part.split_once(':').ok_or_else(|| {
                            KubectlError::Usage(format!(
                                "unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
                            ))
                        })?;
                        JsonPath::parse(&braced(p))?;
                        cols.push((h.to_string(), p.to_string()));
                    }
                    OutputFormat::CustomColumns(cols)
                } else {
                    return Err(KubectlError::Usage(format!(
                        "unable to match a printer suitable for the output format \"{s}\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml"
                    )));
                }
            }
        })
    }
}

/// custom-columns paths are written without braces (`.metadata.name`).
fn braced(p: &str) -> String {
    if p.starts_with('{') {
        p.to_string()
    } else {
        format!("{{{p}}}")
    }
}

/// Options of one `kubectl get` print.
#[derive(Debug, Clone, Default)]
pub struct GetPrintOptions {
    pub output: OutputFormat,
    /// `-A`: a NAMESPACE column, and "No resources found" without a namespace.
    pub all_namespaces: bool,
    pub show_labels: bool,
    pub no_headers: bool,
    /// The namespace the request was made in, for "No resources found in X namespace.".
    pub namespace: String,
    /// Virtual wall time in Unix seconds, for AGE.
    pub now_secs: i64,
}

/// One kind's objects, as a `get` request for that kind returned them.
#[derive(Debug, Clone, Copy)]
pub struct KindObjects<'a> {
    pub kind: &'static KindInfo,
    pub objects: &'a [&'a Object],
}

/// `kind.group/name` for `-o name` and multi-kind tables: `pod/nginx`, `deployment.apps/web`.
pub fn resource_name(obj: &Object) -> String {
    let info = obj.info();
    let kind = info.name.to_ascii_lowercase();
    if info.group.is_empty() {
        format!("{kind}/{}", obj.name())
    } else {
        format!("{kind}.{}/{}", info.group, obj.name())
    }
}

/// The object as kubectl sees it: JSON with keys sorted at every level.
pub fn to_value(obj: &Object) -> Value {
    sorted(serde_json::to_value(obj).unwrap_or(Value::Null))
}

/// The object as the apiserver sends it: Go's API types serialize a non-pointer `status`
/// struct even when it is empty (`status: {}` on a Deployment no controller has touched yet;
/// a Service's `status.loadBalancer: {}`), where the Rust types leave it out.
pub fn as_served(obj: &Object) -> Value {
    let mut v = to_value(obj);
    let empty = match obj.kind() {
        api::Kind::Service => Some(serde_json::json!({"loadBalancer": {}})),
        api::Kind::Deployment
        | api::Kind::ReplicaSet
        | api::Kind::StatefulSet
        | api::Kind::DaemonSet
        | api::Kind::Job
        | api::Kind::Pod
        | api::Kind::Node
        | api::Kind::Namespace => Some(serde_json::json!({})),
        _ => None,
    };
    if let (Some(empty), Value::Object(m)) = (empty, &mut v) {
        match m.get_mut("status") {
            None => {
                m.insert("status".into(), empty);
            }
            Some(Value::Object(st)) => {
                if let Value::Object(defaults) = empty {
                    for (k, d) in defaults {
                        st.entry(k).or_insert(d);
                    }
                }
            }
            Some(_) => {}
        }
    }
    sorted(v)
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// One object, or a `List` of them (what kubectl prints for a list or several names).
fn document(objects: &[&Object], single: bool) -> Value {
    if single && objects.len() == 1 {
        return as_served(objects[0]);
    }
    let items: Vec<Value> = objects.iter().map(|o| as_served(o)).collect();
    let mut m = serde_json::Map::new();
    m.insert("apiVersion".into(), Value::String("v1".into()));
    m.insert("items".into(), Value::Array(items));
    m.insert("kind".into(), Value::String("List".into()));
    let mut meta = serde_json::Map::new();
    meta.insert("resourceVersion".into(), Value::String(String::new()));
    m.insert("metadata".into(), Value::Object(meta));
    Value::Object(m)
}

/// kubectl's JSON: four-space indent, trailing newline.
pub fn to_json(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    match serde::Serialize::serialize(v, &mut ser) {
        Ok(()) => {
            let mut s = String::from_utf8_lossy(&buf).into_owned();
            s.push('\n');
            s
        }
        Err(e) => format!("error: {e}\n"),
    }
}

pub fn to_yaml(v: &Value) -> String {
    super::yaml::to_yaml(v)
}

/// Prints the result of `kubectl get` over one or more kinds. `single` is true when the user
/// named exactly one object (`get pod nginx`), which prints the object itself in yaml/json
/// rather than a List.
pub fn print_get(groups: &[KindObjects<'_>], single: bool, opts: &GetPrintOptions) -> String {
    let all: Vec<&Object> = groups
        .iter()
        .flat_map(|g| g.objects.iter().copied())
        .collect();
    let namespaced = groups.iter().any(|g| g.kind.namespaced);
    if all.is_empty() && !matches!(opts.output, OutputFormat::Yaml | OutputFormat::Json) {
        return no_resources(namespaced, opts);
    }
    match &opts.output {
        OutputFormat::Yaml => to_yaml(&document(&all, single)),
        OutputFormat::Json => to_json(&document(&all, single)),
        OutputFormat::Name => all.iter().map(|o| resource_name(o) + "\n").collect(),
        OutputFormat::JsonPath(t) => match JsonPath::parse(t) {
            Ok(jp) => jp.execute(&document(&all, single)),
            Err(e) => format!("error: {e}\n"),
        },
        OutputFormat::CustomColumns(cols) => custom_columns(&all, cols, opts.no_headers),
        OutputFormat::Table | OutputFormat::Wide => {
            let with_kind = groups.iter().filter(|g| !g.objects.is_empty()).count() > 1;
            let tables: Vec<String> = groups
                .iter()
                .filter(|g| !g.objects.is_empty())
                .map(|g| kind_table(g, with_kind, opts).render(!opts.no_headers))
                .collect();
            tables.join("\n")
        }
    }
}

/// "No resources found in default namespace." (kubectl writes it to stderr).
pub fn no_resources(namespaced: bool, opts: &GetPrintOptions) -> String {
    if namespaced && !opts.all_namespaces {
        format!("No resources found in {} namespace.\n", opts.namespace)
    } else {
        "No resources found\n".to_string()
    }
}

/// The table of one kind's objects.
pub fn kind_table(g: &KindObjects<'_>, with_kind: bool, opts: &GetPrintOptions) -> Table {
    let wide = opts.output == OutputFormat::Wide;
    let mut t = Table::new(&columns::headers(g.kind.kind, wide));
    let ns_column = opts.all_namespaces && g.kind.namespaced;
    if ns_column {
        t.headers.insert(0, "NAMESPACE".into());
    }
    if opts.show_labels {
        t.headers.push("LABELS".into());
    }
    for obj in g.objects {
        let name = if with_kind {
            resource_name(obj)
        } else {
            obj.name().to_string()
        };
        let mut row = columns::row(obj, &name, wide, opts.now_secs);
        if ns_column {
            row.insert(0, obj.namespace().to_string());
        }
        if opts.show_labels {
            row.push(columns::format_labels(obj.labels().iter()));
        }
        t.rows.push(row);
    }
    t
}

fn custom_columns(objects: &[&Object], cols: &[(String, String)], no_headers: bool) -> String {
    let headers: Vec<&str> = cols.iter().map(|(h, _)| h.as_str()).collect();
    let mut t = Table::new(&headers);
    let paths: Vec<Option<JsonPath>> = cols
        .iter()
        .map(|(_, p)| JsonPath::parse(&braced(p)).ok())
        .collect();
    for obj in objects {
        let v = as_served(obj);
        t.rows.push(
            paths
                .iter()
                .map(|p| {
                    let vals: Vec<String> = p
                        .as_ref()
                        .map(|p| p.values(&v).into_iter().map(value_text).collect())
                        .unwrap_or_default();
                    if vals.is_empty() {
                        "<none>".into()
                    } else {
                        vals.join(",")
                    }
                })
                .collect(),
        );
    }
    t.render(!no_headers)
}

/// One line of `get --watch` after the first listing: kubectl flushes its tabwriter after every
/// event, so the line is aligned on its own cells, not on the header's.
pub fn watch_line(kind: &'static KindInfo, obj: &Object, opts: &GetPrintOptions) -> String {
    let objects = [obj];
    kind_table(
        &KindObjects {
            kind,
            objects: &objects,
        },
        false,
        opts,
    )
    .render(false)
}
