//! kubectl's command line as scenario steps write it: tokenizing (shell quoting), finding the
//! verb, pflag-style flags (`--flag=v`, `--flag v`, `-n v`, `-nv`, bools as `--flag` or
//! `--flag=false`, flags anywhere, `--` ends them), resolving resources as kubectl's RESTMapper
//! does (through [`api::kinds::resolve_resource`]), `TYPE NAME…`, `TYPE/NAME…` and `a,b` forms,
//! and kubectl's own errors for its own mistakes.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/*` and `cli-runtime/pkg/resource/builder.go`
//! (`ResourceTypeOrNameArgs`). Simplifications: only the verbs and flags the scenario language
//! documents; `-o` formats beyond yaml/json/name/wide/jsonpath/custom-columns are rejected as
//! kubectl rejects an unknown one; `--dry-run`, `--server-side` and kustomize (`-k`) are not
//! supported.

use std::collections::BTreeMap;

use api::KindInfo;
use api::kinds::resolve_resource;

use super::error::KubectlError;
use super::print::OutputFormat;
use super::service::{CreateServiceOptions, ExposeOptions, ServiceType};
use crate::units::Duration;

/// A parsed kubectl command line.
#[derive(Debug, Clone, PartialEq)]
pub struct KubectlCommand {
    pub global: GlobalFlags,
    pub verb: Verb,
}

/// Flags every verb accepts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlobalFlags {
    /// `-n/--namespace`; `None` means the context's namespace, `default`.
    pub namespace: Option<String>,
    /// `--as`: impersonate this user.
    pub as_user: Option<String>,
    /// `--as-group`, repeatable.
    pub as_groups: Vec<String>,
    /// `--request-timeout` (`0` is no timeout, a bare number is seconds).
    pub request_timeout: Option<Duration>,
}

impl GlobalFlags {
    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// One resource a command names: a kind, and a name unless the command means all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub kind: &'static KindInfo,
    pub name: Option<String>,
}

/// What a command acts on: named objects, or every object of some kinds matching selectors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selection {
    pub targets: Vec<Target>,
    /// `-l/--selector`.
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// `-A/--all-namespaces`.
    pub all_namespaces: bool,
    /// `--all`.
    pub all: bool,
}

/// `--cascade` of delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cascade {
    #[default]
    Background,
    Foreground,
    Orphan,
}

/// One `key=value` / `key-` argument of label or annotate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaChange {
    Set(String, String),
    Remove(String),
}

/// One argument of `kubectl taint`: `key[=value]:Effect` or `key[:Effect]-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaintChange {
    Add {
        key: String,
        value: Option<String>,
        effect: String,
    },
    Remove {
        key: String,
        effect: Option<String>,
    },
}

/// `--for` of kubectl wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitFor {
    /// `condition=Available` or `condition=Ready=false`; `value` defaults to `true`.
    Condition {
        name: String,
        value: String,
    },
    Delete,
    /// `jsonpath={.status.phase}=Running`; without `=value` it waits for the path to exist.
    JsonPath {
        path: String,
        value: Option<String>,
    },
    Create,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutAction {
    Status,
    Undo,
    History,
    Restart,
    Pause,
    Resume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopKind {
    Node,
    Pod,
}

/// The verbs kubesim's kubectl runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Verb {
    Get {
        selection: Selection,
        output: OutputFormat,
        show_labels: bool,
        no_headers: bool,
        watch: bool,
    },
    Describe {
        selection: Selection,
    },
    Apply {
        files: Vec<String>,
    },
    CreateFromFiles {
        files: Vec<String>,
    },
    CreateDeployment {
        name: String,
        images: Vec<String>,
        replicas: i32,
        port: Option<i32>,
    },
    CreateNamespace {
        name: String,
    },
    /// `create service clusterip|nodeport|loadbalancer|externalname NAME`.
    CreateService(CreateServiceOptions),
    /// `expose TYPE NAME` / `expose TYPE/NAME`.
    Expose {
        targets: Vec<Target>,
        options: ExposeOptions,
    },
    Delete {
        selection: Selection,
        files: Vec<String>,
        grace_period: Option<i64>,
        cascade: Cascade,
        force: bool,
        wait: bool,
    },
    Scale {
        selection: Selection,
        replicas: i32,
    },
    Label {
        selection: Selection,
        changes: Vec<MetaChange>,
        overwrite: bool,
        /// `--resource-version`: the update fails with 409 unless the object is at it.
        resource_version: Option<String>,
    },
    Annotate {
        selection: Selection,
        changes: Vec<MetaChange>,
        overwrite: bool,
        /// `--resource-version`: the update fails with 409 unless the object is at it.
        resource_version: Option<String>,
    },
    Taint {
        selection: Selection,
        changes: Vec<TaintChange>,
        overwrite: bool,
    },
    Cordon {
        selection: Selection,
    },
    Uncordon {
        selection: Selection,
    },
    Drain {
        selection: Selection,
        ignore_daemonsets: bool,
        delete_emptydir_data: bool,
        force: bool,
        grace_period: Option<i64>,
        timeout: Option<Duration>,
    },
    Rollout {
        action: RolloutAction,
        selection: Selection,
        to_revision: Option<i64>,
        timeout: Option<Duration>,
    },
    SetImage {
        selection: Selection,
        /// `container=image` pairs; `*` as container means all.
        images: Vec<(String, String)>,
    },
    Wait {
        selection: Selection,
        condition: WaitFor,
        /// kubectl's default is 30s.
        timeout: Duration,
    },
    Logs {
        pod: Target,
        container: Option<String>,
        previous: bool,
        tail: Option<i64>,
        follow: bool,
    },
    ClusterInfo,
    Top {
        kind: TopKind,
        selection: Selection,
    },
}

/// Splits a command line as a POSIX shell would: whitespace separates words, single quotes
/// keep everything, double quotes keep everything but `\"` and `\\`, a backslash escapes the
/// next character outside quotes.
pub fn tokenize(line: &str) -> Result<Vec<String>, KubectlError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(KubectlError::Usage("unterminated quote".into())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => {
                                return Err(KubectlError::Usage("unterminated quote".into()));
                            }
                        },
                        Some(c) => word.push(c),
                        None => return Err(KubectlError::Usage("unterminated quote".into())),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[derive(Debug, Clone, Copy)]
struct FlagSpec {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
}

const fn val(long: &'static str, short: Option<char>) -> FlagSpec {
    FlagSpec {
        long,
        short,
        takes_value: true,
    }
}

const fn flag(long: &'static str, short: Option<char>) -> FlagSpec {
    FlagSpec {
        long,
        short,
        takes_value: false,
    }
}

const GLOBAL_FLAGS: &[FlagSpec] = &[
    val("namespace", Some('n')),
    val("as", None),
    val("as-group", None),
    val("request-timeout", None),
];

const VERBS: &[&str] = &[
    "get",
    "describe",
    "apply",
    "create",
    "expose",
    "delete",
    "scale",
    "label",
    "annotate",
    "taint",
    "cordon",
    "uncordon",
    "drain",
    "rollout",
    "set",
    "wait",
    "logs",
    "cluster-info",
    "top",
];

const SELECTOR: FlagSpec = val("selector", Some('l'));
const FIELD_SELECTOR: FlagSpec = val("field-selector", None);
const ALL_NAMESPACES: FlagSpec = flag("all-namespaces", Some('A'));

/// The flags of a (sub)command, besides the global ones.
fn verb_flags(command: &str) -> Vec<FlagSpec> {
    match command {
        "get" => vec![
            SELECTOR,
            FIELD_SELECTOR,
            ALL_NAMESPACES,
            val("output", Some('o')),
            flag("show-labels", None),
            flag("no-headers", None),
            flag("watch", Some('w')),
        ],
        "describe" => vec![SELECTOR, FIELD_SELECTOR, ALL_NAMESPACES],
        "apply" | "create" => vec![val("filename", Some('f')), val("output", Some('o'))],
        "create deployment" => vec![
            val("image", None),
            val("replicas", Some('r')),
            val("port", None),
        ],
        "create namespace" | "cluster-info" => vec![],
        "create service clusterip" => vec![val("tcp", None), val("clusterip", None)],
        "create service nodeport" => vec![val("tcp", None), val("node-port", None)],
        "create service loadbalancer" => vec![val("tcp", None)],
        "create service externalname" => vec![val("tcp", None), val("external-name", None)],
        "expose" => vec![
            val("port", None),
            val("target-port", None),
            val("type", None),
            val("name", None),
            val("protocol", None),
            val("selector", None),
            val("labels", Some('l')),
            val("cluster-ip", None),
            val("external-ip", None),
            val("session-affinity", None),
        ],
        "delete" => vec![
            SELECTOR,
            FIELD_SELECTOR,
            ALL_NAMESPACES,
            val("filename", Some('f')),
            val("grace-period", None),
            val("cascade", None),
            flag("force", None),
            flag("all", None),
            val("wait", None),
            flag("now", None),
        ],
        "scale" => vec![SELECTOR, val("replicas", None), flag("all", None)],
        "label" | "annotate" => vec![
            SELECTOR,
            flag("overwrite", None),
            flag("all", None),
            val("resource-version", None),
        ],
        "taint" => vec![SELECTOR, flag("overwrite", None), flag("all", None)],
        "cordon" | "uncordon" => vec![SELECTOR],
        "drain" => vec![
            SELECTOR,
            flag("ignore-daemonsets", None),
            flag("delete-emptydir-data", None),
            flag("force", None),
            val("grace-period", None),
            val("timeout", None),
        ],
        "rollout status" => vec![SELECTOR, val("timeout", None), val("watch", Some('w'))],
        "rollout undo" => vec![SELECTOR, val("to-revision", None)],
        "rollout history" => vec![SELECTOR, val("revision", None)],
        "rollout restart" | "rollout pause" | "rollout resume" => vec![SELECTOR],
        "set image" => vec![SELECTOR, flag("all", None)],
        "wait" => vec![
            SELECTOR,
            FIELD_SELECTOR,
            ALL_NAMESPACES,
            val("for", None),
            val("timeout", None),
            flag("all", None),
        ],
        "logs" => vec![
            val("container", Some('c')),
            flag("previous", Some('p')),
            val("tail", None),
            flag("follow", Some('f')),
            flag("timestamps", None),
        ],
        "top node" | "top pod" => vec![SELECTOR, ALL_NAMESPACES, flag("no-headers", None)],
        _ => vec![],
    }
}

/// Flag values by long name (bools as "true"/"false") and positional arguments.
#[derive(Debug, Default)]
struct Parsed {
    flags: BTreeMap<&'static str, Vec<String>>,
    args: Vec<String>,
}

impl Parsed {
    fn last(&self, long: &str) -> Option<&str> {
        self.flags
            .get(long)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    fn all(&self, long: &str) -> Vec<String> {
        self.flags.get(long).cloned().unwrap_or_default()
    }

    fn bool(&self, long: &str) -> bool {
        self.last(long) == Some("true")
    }
}

fn flag_error(command: &str, message: String) -> KubectlError {
    KubectlError::Flag {
        message,
        command: command.to_string(),
    }
}

fn parse_flags(command: &str, words: &[String]) -> Result<Parsed, KubectlError> {
    let specs: Vec<FlagSpec> = GLOBAL_FLAGS
        .iter()
        .copied()
        .chain(verb_flags(command))
        .collect();
    let mut parsed = Parsed::default();
    let mut i = 0;
    // Each iteration consumes at least one word, so the loop is bounded by words.len().
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if w == "--" {
            parsed.args.extend(words[i..].iter().cloned());
            break;
        }
        if let Some(body) = w.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec = specs
                .iter()
                .find(|s| s.long == name)
                .ok_or_else(|| flag_error(command, format!("unknown flag: --{name}")))?;
            let value = take_value(command, spec, inline, words, &mut i, &format!("--{name}"))?;
            parsed.flags.entry(spec.long).or_default().push(value);
        } else if w.len() > 1 && w.starts_with('-') {
            // A cluster of shorthands: bools may be stacked (`-Aw`), a value flag takes the rest.
            let body = &w[1..];
            for (pos, c) in body.char_indices() {
                let spec = specs.iter().find(|s| s.short == Some(c)).ok_or_else(|| {
                    flag_error(command, format!("unknown shorthand flag: '{c}' in -{body}"))
                })?;
                let rest = &body[pos + c.len_utf8()..];
                if spec.takes_value {
                    let inline = if rest.is_empty() {
                        None
                    } else {
                        Some(rest.strip_prefix('=').unwrap_or(rest).to_string())
                    };
                    let value = take_value(command, spec, inline, words, &mut i, &format!("-{c}"))?;
                    parsed.flags.entry(spec.long).or_default().push(value);
                    break;
                }
                let value = match rest.strip_prefix('=') {
                    Some(v) => {
                        let v = bool_value(command, v, &format!("-{c}"))?;
                        parsed.flags.entry(spec.long).or_default().push(v);
                        break;
                    }
                    None => "true".to_string(),
                };
                parsed.flags.entry(spec.long).or_default().push(value);
            }
        } else {
            parsed.args.push(w.clone());
        }
    }
    Ok(parsed)
}

fn bool_value(command: &str, v: &str, shown: &str) -> Result<String, KubectlError> {
    match v {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok("true".into()),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok("false".into()),
        _ => Err(flag_error(
            command,
            format!(
                "invalid argument \"{v}\" for \"{shown}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"
            ),
        )),
    }
}

fn take_value(
    command: &str,
    spec: &FlagSpec,
    inline: Option<String>,
    words: &[String],
    i: &mut usize,
    shown: &str,
) -> Result<String, KubectlError> {
    if !spec.takes_value {
        return match inline {
            Some(v) => bool_value(command, &v, shown),
            None => Ok("true".into()),
        };
    }
    if let Some(v) = inline {
        return Ok(v);
    }
    match words.get(*i) {
        Some(v) => {
            *i += 1;
            Ok(v.clone())
        }
        None => Err(flag_error(
            command,
            format!("flag needs an argument: {shown}"),
        )),
    }
}

/// Is `w` a global flag that takes its value from the next word (so that the verb search
/// skips that word)?
fn global_takes_next(w: &str) -> bool {
    GLOBAL_FLAGS
        .iter()
        .any(|s| w == format!("--{}", s.long) || s.short.is_some_and(|c| w == format!("-{c}")))
}

/// Parses a kubectl command line (with or without the leading `kubectl`).
pub fn parse(line: &str) -> Result<KubectlCommand, KubectlError> {
    let mut words = tokenize(line)?;
    if words.first().map(String::as_str) == Some("kubectl") {
        words.remove(0);
    }
    let mut verb_at = None;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w.starts_with('-') {
            i += if global_takes_next(w) { 2 } else { 1 };
            continue;
        }
        verb_at = Some(i);
        break;
    }
    let Some(verb_at) = verb_at else {
        return Err(KubectlError::Usage(
            "kubectl controls the Kubernetes cluster manager: a command is required".into(),
        ));
    };
    let verb = words.remove(verb_at);
    if !VERBS.contains(&verb.as_str()) {
        return Err(KubectlError::Usage(format!(
            "unknown command \"{verb}\" for \"kubectl\""
        )));
    }
    let command = subcommand(&verb, &mut words, verb_at)?;
    let p = parse_flags(&command, &words)?;
    let global = GlobalFlags {
        namespace: p.last("namespace").map(str::to_string),
        as_user: p.last("as").map(str::to_string),
        as_groups: p.all("as-group"),
        request_timeout: p
            .last("request-timeout")
            .map(|v| request_timeout(&command, v))
            .transpose()?,
    };
    let verb = build_verb(&command, &p)?;
    Ok(KubectlCommand { global, verb })
}

/// Takes the subcommand word of `create`, `rollout`, `set` and `top` (the first positional
/// after the verb) and returns the full command name, e.g. `rollout status`.
fn subcommand(verb: &str, words: &mut Vec<String>, from: usize) -> Result<String, KubectlError> {
    let subs: &[&str] = match verb {
        "create" => &["deployment", "namespace", "ns", "deploy", "service", "svc"],
        "rollout" => &["status", "undo", "history", "restart", "pause", "resume"],
        "set" => &["image"],
        "top" => &["node", "nodes", "no", "pod", "pods", "po"],
        _ => return Ok(verb.to_string()),
    };
    let mut j = from;
    while j < words.len() {
        let w = &words[j];
        if w.starts_with('-') {
            // `create -f x`: a flag with a value before any subcommand.
            j += if global_takes_next(w) || w == "-f" || w == "--filename" {
                2
            } else {
                1
            };
            continue;
        }
        if !subs.contains(&w.as_str()) {
            return Err(KubectlError::Usage(format!(
                "unknown command \"{w}\" for \"kubectl {verb}\""
            )));
        }
        let sub = words.remove(j);
        let sub = match sub.as_str() {
            "ns" => "namespace",
            "deploy" => "deployment",
            "nodes" | "no" => "node",
            "pods" | "po" => "pod",
            "svc" => "service",
            s => s,
        };
        if sub == "service" {
            return service_type(words, j);
        }
        return Ok(format!("{verb} {sub}"));
    }
    if verb == "create" {
        return Ok("create".into());
    }
    Err(KubectlError::UsageWithHelp {
        message: format!("a subcommand is required: {}", subs.join(", ")),
        command: verb.to_string(),
    })
}

/// The type word of `create service TYPE NAME`, taken from `words` at or after `from`.
fn service_type(words: &mut Vec<String>, from: usize) -> Result<String, KubectlError> {
    const TYPES: [&str; 4] = ["clusterip", "externalname", "loadbalancer", "nodeport"];
    let Some(j) = (from..words.len()).find(|&j| !words[j].starts_with('-')) else {
        return Err(KubectlError::UsageWithHelp {
            message: format!("a subcommand is required: {}", TYPES.join(", ")),
            command: "create service".into(),
        });
    };
    let word = words.remove(j);
    if !TYPES.contains(&word.as_str()) {
        return Err(KubectlError::UsageWithHelp {
            message: format!("unknown command \"{word}\""),
            command: "create service".into(),
        });
    }
    Ok(format!("create service {word}"))
}

fn request_timeout(command: &str, v: &str) -> Result<Duration, KubectlError> {
    let parsed = if v.bytes().all(|b| b.is_ascii_digit()) {
        v.parse::<u64>().ok().map(Duration::from_secs)
    } else {
        Duration::parse(v).ok()
    };
    parsed.ok_or_else(|| {
        flag_error(
            command,
            format!("invalid argument \"{v}\" for \"--request-timeout\" flag: time: invalid duration \"{v}\""),
        )
    })
}

fn duration_flag(command: &str, name: &str, v: &str) -> Result<Duration, KubectlError> {
    Duration::parse(v).map_err(|_| {
        flag_error(
            command,
            format!(
                "invalid argument \"{v}\" for \"--{name}\" flag: time: invalid duration \"{v}\""
            ),
        )
    })
}

fn int_flag<T: std::str::FromStr>(command: &str, name: &str, v: &str) -> Result<T, KubectlError> {
    v.parse::<T>().map_err(|_| {
        flag_error(
            command,
            format!("invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"),
        )
    })
}

/// `ResourceTypeOrNameArgs`: `TYPE[,TYPE…] [NAME…]` or `TYPE/NAME…`.
fn targets(args: &[String]) -> Result<Vec<Target>, KubectlError> {
    let Some(first) = args.first() else {
        return Ok(Vec::new());
    };
    if args.iter().any(|a| a.contains('/')) {
        if !args.iter().all(|a| a.contains('/')) {
            return Err(KubectlError::Usage(
                "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'".into(),
            ));
        }
        return args
            .iter()
            .map(|a| {
                let (t, n) = a.split_once('/').unwrap_or((a, ""));
                if n.is_empty() {
                    return Err(KubectlError::Usage(
                        "arguments in resource/name form must have a single resource and name"
                            .to_string(),
                    ));
                }
                Ok(Target {
                    kind: resolve_resource(t)?,
                    name: Some(n.to_string()),
                })
            })
            .collect();
    }
    let kinds = first
        .split(',')
        .filter(|t| !t.is_empty())
        .map(resolve_resource)
        .collect::<Result<Vec<_>, _>>()?;
    let names = &args[1..];
    if names.is_empty() {
        return Ok(kinds
            .into_iter()
            .map(|kind| Target { kind, name: None })
            .collect());
    }
    if kinds.len() > 1 {
        return Err(KubectlError::Usage(
            "you must specify only one resource".into(),
        ));
    }
    Ok(names
        .iter()
        .map(|n| Target {
            kind: kinds[0],
            name: Some(n.clone()),
        })
        .collect())
}

fn selection(p: &Parsed, args: &[String]) -> Result<Selection, KubectlError> {
    Ok(Selection {
        targets: targets(args)?,
        label_selector: p.last("selector").map(str::to_string),
        field_selector: p.last("field-selector").map(str::to_string),
        all_namespaces: p.bool("all-namespaces"),
        all: p.bool("all"),
    })
}

/// Commands that act on named objects need names, a selector or `--all`.
fn require_names(sel: &Selection) -> Result<(), KubectlError> {
    if sel.targets.is_empty() {
        return Err(KubectlError::UsageWithHelp {
            message: "You must provide one or more resources by argument or filename.".into(),
            command: String::new(),
        });
    }
    let unnamed = sel.targets.iter().any(|t| t.name.is_none());
    if unnamed && sel.label_selector.is_none() && sel.field_selector.is_none() && !sel.all {
        return Err(KubectlError::Usage(
            "resource(s) were provided, but no name was specified".into(),
        ));
    }
    Ok(())
}

fn no_resource_error(command: &str) -> KubectlError {
    KubectlError::UsageWithHelp {
        message: "You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'".into(),
        command: command.to_string(),
    }
}

/// `key=value` / `key-` arguments after the resource of label/annotate: kubectl takes the
/// trailing words that contain `=` or end in `-` as changes.
fn split_changes(args: &[String]) -> (Vec<String>, Vec<String>) {
    let split = args
        .iter()
        .position(|a| a.contains('=') || (a.ends_with('-') && !a.contains('/')))
        .unwrap_or(args.len());
    (args[..split].to_vec(), args[split..].to_vec())
}

fn meta_changes(args: &[String]) -> Result<Vec<MetaChange>, KubectlError> {
    args.iter()
        .map(|a| {
            if let Some((k, v)) = a.split_once('=') {
                Ok(MetaChange::Set(k.to_string(), v.to_string()))
            } else if let Some(k) = a.strip_suffix('-') {
                Ok(MetaChange::Remove(k.to_string()))
            } else {
                Err(KubectlError::Usage(format!("invalid label spec: {a}")))
            }
        })
        .collect()
}

fn taint_changes(args: &[String]) -> Result<Vec<TaintChange>, KubectlError> {
    const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
    args.iter()
        .map(|a| {
            if let Some(spec) = a.strip_suffix('-') {
                let (key, effect) = match spec.split_once(':') {
                    Some((k, e)) => (k, Some(e.to_string())),
                    None => (spec, None),
                };
                let key = key.split_once('=').map_or(key, |(k, _)| k);
                return Ok(TaintChange::Remove {
                    key: key.to_string(),
                    effect,
                });
            }
            let (kv, effect) = a
                .split_once(':')
                .ok_or_else(|| KubectlError::Usage(format!("invalid taint spec: {a}")))?;
            if !EFFECTS.contains(&effect) {
                return Err(KubectlError::Usage(format!(
                    "invalid taint effect: {effect}, unsupported taint effect"
                )));
            }
            let (key, value) = match kv.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (kv, None),
            };
            Ok(TaintChange::Add {
                key: key.to_string(),
                value,
                effect: effect.to_string(),
            })
        })
        .collect()
}

fn build_verb(command: &str, p: &Parsed) -> Result<Verb, KubectlError> {
    let args = &p.args;
    Ok(match command {
        "get" => {
            if args.is_empty() {
                return Err(KubectlError::UsageWithHelp {
                    message: "You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).".into(),
                    command: "get".into(),
                });
            }
            Verb::Get {
                selection: selection(p, args)?,
                output: OutputFormat::parse(p.last("output").unwrap_or(""))?,
                show_labels: p.bool("show-labels"),
                no_headers: p.bool("no-headers"),
                watch: p.bool("watch"),
            }
        }
        "describe" => {
            if args.is_empty() {
                return Err(no_resource_error("describe"));
            }
            Verb::Describe {
                selection: selection(p, args)?,
            }
        }
        "apply" | "create" => {
            let files = p.all("filename");
            if files.is_empty() {
                return Err(KubectlError::UsageWithHelp {
                    message: "must specify one of -f and -k".into(),
                    command: command.into(),
                });
            }
            if let Some(a) = args.first() {
                return Err(KubectlError::Usage(format!("Unexpected args: [{a}]")));
            }
            if command == "apply" {
                Verb::Apply { files }
            } else {
                Verb::CreateFromFiles { files }
            }
        }
        "create deployment" => {
            let name = single_name(command, args, "NAME is required")?;
            let images = p.all("image");
            if images.is_empty() {
                return Err(KubectlError::Usage(
                    "required flag(s) \"image\" not set".into(),
                ));
            }
            Verb::CreateDeployment {
                name,
                images,
                replicas: p
                    .last("replicas")
                    .map(|v| int_flag(command, "replicas", v))
                    .transpose()?
                    .unwrap_or(1),
                port: p
                    .last("port")
                    .map(|v| int_flag(command, "port", v))
                    .transpose()?,
            }
        }
        "create namespace" => Verb::CreateNamespace {
            name: single_name(command, args, "NAME is required")?,
        },
        c if c.starts_with("create service ") => {
            let word = &c["create service ".len()..];
            let service_type = ServiceType::parse(word).unwrap_or(ServiceType::ClusterIp);
            let name = single_name(c, args, "exactly one NAME is required, got 0")?;
            if service_type == ServiceType::ExternalName && p.last("external-name").is_none() {
                return Err(KubectlError::Usage(
                    "required flag(s) \"external-name\" not set".into(),
                ));
            }
            // `--tcp` is a string slice: repeatable, each value comma-separated.
            let tcp: Vec<String> = p
                .all("tcp")
                .iter()
                .flat_map(|v| v.split(','))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect();
            let options = CreateServiceOptions {
                service_type,
                name,
                tcp,
                cluster_ip: p.last("clusterip").map(str::to_string),
                node_port: p
                    .last("node-port")
                    .map(|v| int_flag(c, "node-port", v))
                    .transpose()?
                    .unwrap_or(0),
                external_name: p.last("external-name").map(str::to_string),
            };
            super::service::validate_create(&options).map_err(KubectlError::Usage)?;
            Verb::CreateService(options)
        }
        "expose" => {
            let selection = selection(p, args)?;
            if selection.targets.is_empty() {
                return Err(no_resource_error("expose"));
            }
            if selection.targets.iter().any(|t| t.name.is_none()) {
                return Err(KubectlError::Usage(
                    "resource(s) were provided, but no name was specified".into(),
                ));
            }
            let text = |f: &str| p.last(f).map(str::to_string);
            Verb::Expose {
                targets: selection.targets,
                options: ExposeOptions {
                    port: text("port"),
                    target_port: text("target-port"),
                    service_type: text("type"),
                    name: text("name"),
                    protocol: text("protocol"),
                    selector: text("selector"),
                    labels: text("labels"),
                    cluster_ip: text("cluster-ip"),
                    external_ip: text("external-ip"),
                    session_affinity: text("session-affinity"),
                },
            }
        }
        "delete" => {
            let files = p.all("filename");
            let selection = selection(p, args)?;
            if files.is_empty() {
                if selection.targets.is_empty() {
                    return Err(no_resource_error("delete"));
                }
                require_names(&selection)?;
            }
            let cascade = match p.last("cascade").unwrap_or("background") {
                "background" | "true" => Cascade::Background,
                "foreground" => Cascade::Foreground,
                "orphan" | "false" => Cascade::Orphan,
                other => {
                    return Err(KubectlError::Usage(format!(
                        "invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\""
                    )));
                }
            };
            let mut grace_period = p
                .last("grace-period")
                .map(|v| int_flag::<i64>(command, "grace-period", v))
                .transpose()?
                .filter(|g| *g >= 0);
            if p.bool("now") {
                grace_period = Some(1);
            }
            let force = p.bool("force");
            if force && grace_period.is_none() {
                grace_period = Some(0);
            }
            Verb::Delete {
                selection,
                files,
                grace_period,
                cascade,
                force,
                wait: p.last("wait").is_none_or(|w| w != "false"),
            }
        }
        "scale" => {
            let replicas = p.last("replicas").ok_or_else(|| {
                KubectlError::UsageWithHelp {
                    message: "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0".into(),
                    command: "scale".into(),
                }
            })?;
            let replicas: i32 = int_flag(command, "replicas", replicas)?;
            let selection = selection(p, args)?;
            if selection.targets.is_empty() {
                return Err(no_resource_error("scale"));
            }
            require_names(&selection)?;
            Verb::Scale {
                selection,
                replicas,
            }
        }
        "label" | "annotate" => {
            let (res, changes) = split_changes(args);
            let selection = selection(p, &res)?;
            if selection.targets.is_empty() {
                return Err(no_resource_error(command));
            }
            require_names(&selection)?;
            if changes.is_empty() {
                return Err(KubectlError::UsageWithHelp {
                    message: format!(
                        "at least one {} update is required",
                        if command == "label" {
                            "label"
                        } else {
                            "annotation"
                        }
                    ),
                    command: command.into(),
                });
            }
            let changes = meta_changes(&changes)?;
            let overwrite = p.bool("overwrite");
            let resource_version = p.last("resource-version").map(str::to_string);
            if command == "label" {
                Verb::Label {
                    selection,
                    changes,
                    overwrite,
                    resource_version,
                }
            } else {
                Verb::Annotate {
                    selection,
                    changes,
                    overwrite,
                    resource_version,
                }
            }
        }
        "taint" => {
            let split = args
                .iter()
                .position(|a| a.contains(':') || a.ends_with('-') || a.contains('='))
                .unwrap_or(args.len());
            let selection = selection(p, &args[..split])?;
            if selection.targets.is_empty() {
                return Err(no_resource_error("taint"));
            }
            if selection
                .targets
                .iter()
                .any(|t| t.kind.kind != api::Kind::Node)
            {
                return Err(KubectlError::Usage(
                    "invalid resource type, only node types are supported".into(),
                ));
            }
            require_names(&selection)?;
            if split == args.len() {
                return Err(KubectlError::UsageWithHelp {
                    message: "at least one taint update is required".into(),
                    command: "taint".into(),
                });
            }
            Verb::Taint {
                selection,
                changes: taint_changes(&args[split..])?,
                overwrite: p.bool("overwrite"),
            }
        }
        "cordon" | "uncordon" | "drain" => {
            let selection = Selection {
                targets: args
                    .iter()
                    .map(|n| Target {
                        kind: api::Kind::Node.info(),
                        name: Some(n.clone()),
                    })
                    .collect(),
                label_selector: p.last("selector").map(str::to_string),
                ..Selection::default()
            };
            if selection.targets.is_empty() && selection.label_selector.is_none() {
                return Err(KubectlError::UsageWithHelp {
                    message: "USAGE: ".to_string() + command + " NODE [flags]",
                    command: command.into(),
                });
            }
            match command {
                "cordon" => Verb::Cordon { selection },
                "uncordon" => Verb::Uncordon { selection },
                _ => Verb::Drain {
                    selection,
                    ignore_daemonsets: p.bool("ignore-daemonsets"),
                    delete_emptydir_data: p.bool("delete-emptydir-data"),
                    force: p.bool("force"),
                    grace_period: p
                        .last("grace-period")
                        .map(|v| int_flag::<i64>(command, "grace-period", v))
                        .transpose()?
                        .filter(|g| *g >= 0),
                    timeout: p
                        .last("timeout")
                        .map(|v| duration_flag(command, "timeout", v))
                        .transpose()?,
                },
            }
        }
        c if c.starts_with("rollout ") => {
            let action = match &c["rollout ".len()..] {
                "status" => RolloutAction::Status,
                "undo" => RolloutAction::Undo,
                "history" => RolloutAction::History,
                "restart" => RolloutAction::Restart,
                "pause" => RolloutAction::Pause,
                _ => RolloutAction::Resume,
            };
            let selection = selection(p, args)?;
            if selection.targets.is_empty() {
                return Err(no_resource_error(c));
            }
            require_names(&selection)?;
            Verb::Rollout {
                action,
                selection,
                to_revision: p
                    .last("to-revision")
                    .or(p.last("revision"))
                    .map(|v| int_flag(c, "to-revision", v))
                    .transpose()?,
                timeout: p
                    .last("timeout")
                    .map(|v| duration_flag(c, "timeout", v))
                    .transpose()?,
            }
        }
        "set image" => {
            let split = args
                .iter()
                .position(|a| a.contains('='))
                .unwrap_or(args.len());
            let selection = selection(p, &args[..split])?;
            if selection.targets.is_empty() {
                return Err(no_resource_error(command));
            }
            require_names(&selection)?;
            let images: Vec<(String, String)> = args[split..]
                .iter()
                .map(|a| {
                    a.split_once('=')
                        .map(|(c, i)| (c.to_string(), i.to_string()))
                        .ok_or_else(|| KubectlError::Usage(format!("invalid image update: {a}")))
                })
                .collect::<Result<_, _>>()?;
            if images.is_empty() {
                return Err(KubectlError::UsageWithHelp {
                    message: "at least one image update is required".into(),
                    command: command.into(),
                });
            }
            Verb::SetImage { selection, images }
        }
        "wait" => {
            let selection = selection(p, args)?;
            if selection.targets.is_empty() {
                return Err(no_resource_error("wait"));
            }
            let f = p
                .last("for")
                .ok_or_else(|| KubectlError::Usage("--for must be specified".into()))?;
            let condition = wait_for(f)?;
            Verb::Wait {
                selection,
                condition,
                timeout: p
                    .last("timeout")
                    .map(|v| duration_flag(command, "timeout", v))
                    .transpose()?
                    .unwrap_or(Duration::from_secs(30)),
            }
        }
        "logs" => {
            let (pod, container) = match args.as_slice() {
                [] => {
                    return Err(KubectlError::Usage(
                        "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command".into(),
                    ));
                }
                [pod] => (pod.clone(), None),
                [pod, c] => (pod.clone(), Some(c.clone())),
                _ => {
                    return Err(KubectlError::Usage(
                        "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.".into(),
                    ));
                }
            };
            let pod = match pod.split_once('/') {
                Some((t, n)) => Target {
                    kind: resolve_resource(t)?,
                    name: Some(n.to_string()),
                },
                None => Target {
                    kind: api::Kind::Pod.info(),
                    name: Some(pod),
                },
            };
            Verb::Logs {
                pod,
                container: p.last("container").map(str::to_string).or(container),
                previous: p.bool("previous"),
                tail: p
                    .last("tail")
                    .map(|v| int_flag(command, "tail", v))
                    .transpose()?,
                follow: p.bool("follow"),
            }
        }
        "cluster-info" => Verb::ClusterInfo,
        "top node" | "top pod" => {
            let kind = if command == "top node" {
                TopKind::Node
            } else {
                TopKind::Pod
            };
            let info = match kind {
                TopKind::Node => api::Kind::Node.info(),
                TopKind::Pod => api::Kind::Pod.info(),
            };
            Verb::Top {
                kind,
                selection: Selection {
                    targets: if args.is_empty() {
                        vec![Target {
                            kind: info,
                            name: None,
                        }]
                    } else {
                        args.iter()
                            .map(|n| Target {
                                kind: info,
                                name: Some(n.clone()),
                            })
                            .collect()
                    },
                    label_selector: p.last("selector").map(str::to_string),
                    all_namespaces: p.bool("all-namespaces"),
                    ..Selection::default()
                },
            }
        }
        other => {
            return Err(KubectlError::Usage(format!(
                "unknown command \"{other}\" for \"kubectl\""
            )));
        }
    })
}

fn single_name(command: &str, args: &[String], missing: &str) -> Result<String, KubectlError> {
    match args {
        [name] => Ok(name.clone()),
        [] => Err(KubectlError::UsageWithHelp {
            message: missing.to_string(),
            command: command.to_string(),
        }),
        _ => Err(KubectlError::UsageWithHelp {
            message: "exactly one NAME is required, got ".to_string() + &args.len().to_string(),
            command: command.to_string(),
        }),
    }
}

/// `--for=delete|create|condition=X[=v]|jsonpath={…}[=v]`.
fn wait_for(f: &str) -> Result<WaitFor, KubectlError> {
    let lower = f.to_ascii_lowercase();
    if lower == "delete" {
        return Ok(WaitFor::Delete);
    }
    if lower == "create" {
        return Ok(WaitFor::Create);
    }
    if let Some(c) = f.strip_prefix("condition=") {
        let (name, value) = match c.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (c.to_string(), "true".to_string()),
        };
        return Ok(WaitFor::Condition { name, value });
    }
    if let Some(j) = f.strip_prefix("jsonpath=") {
        // The value follows the template's closing brace: `{.status.phase}=Running`.
        let (path, value) = match j.rfind('}') {
            Some(end) => {
                let rest = &j[end + 1..];
                (
                    j[..=end].to_string(),
                    rest.strip_prefix('=').map(str::to_string),
                )
            }
            None => match j.split_once('=') {
                Some((p, v)) => (format!("{{{p}}}"), Some(v.to_string())),
                None => (format!("{{{j}}}"), None),
            },
        };
        super::jsonpath::JsonPath::parse(&path)?;
        return Ok(WaitFor::JsonPath { path, value });
    }
    Err(KubectlError::Usage(format!(
        "unrecognized condition: \"{f}\""
    )))
}
