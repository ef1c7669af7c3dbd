//! etcdctl (v3) against the simulated cluster: its command syntax, what it asks the members,
//! and what it prints, so a scenario's `Etcdctl("endpoint status -w table")` shows what a
//! person sees in a terminal.
//!
//! Follows etcd 3.5's etcdctl (`etcdctl/ctlv3/command/`: `ep_command.go`, `member_command.go`,
//! `get_command.go`, `put_command.go`, `del_command.go`, `compaction_command.go`, printers in
//! `printer.go`, `printer_simple.go`, `printer_table.go`, `printer_json.go`; exit codes from
//! `pkg/cobrautl`: 1 for errors, 4 for an unsupported output format, 128 for bad arguments).
//!
//! Where it runs: on the terminal host (see [`crate::cluster`]), with `--endpoints` defaulting
//! to every member's client URL (as if `ETCDCTL_ENDPOINTS` listed the cluster). Each request
//! has `--command-timeout` (5 s) of virtual time; an endpoint that is down or cut off costs
//! that long and reports "context deadline exceeded". KV commands and `member list` go to the
//! first listed endpoint whose connection is up (clientv3's balancer skips endpoints it cannot
//! connect to).
//!
//! Simplifications: `member list` is answered from the static membership by the first live
//! endpoint (etcd serves it from the member's local view too). `endpoint health` checks
//! endpoints one after another in endpoint order (etcdctl checks them concurrently and prints
//! in order of arrival). clientv3's JSON warning lines on stderr (they carry wall-clock
//! timestamps) are left out, and errors omit cobra's usage text. DB SIZE is etcd's fresh
//! bbolt file (20 kB) plus the store's size estimate in 4 KiB pages. Implemented: `endpoint
//! status|health [--cluster]`, `member list`, `get`, `put`, `del`, `compaction`, `version`;
//! output formats simple, json and table. Other commands and `-w fields|protobuf` say so.

mod args;
pub mod format;

use sim::Duration;
use store::mvcc::{
    Bytes, DeleteRangeRequest, KeyValue, MvccError, PutRequest, RangeRequest, WriteRequest,
    WriteResponse, bytes, prefix_end,
};
use store::server::{EtcdError, RequestBody, ResponseBody, ResponseHeader, StatusInfo};

use self::args::{ArgsError, FlagSpec, Parsed, flag, parse, parse_go_duration, split_words};
use self::format::{base64, go_duration, humanize_bytes, json_str, table};
use crate::cluster::{Cluster, RequestError};
use crate::message::{EtcdValue, value_bytes};
use crate::topology::dotted;

/// The etcd release kind's node image runs with Kubernetes 1.33 (kubeadm `constants.go`).
pub const ETCD_VERSION: &str = "3.5.21";
/// etcdctl's `--command-timeout` default.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// A fresh etcd's bbolt file (etcd reports the file size, not the data size).
const BBOLT_EMPTY_BYTES: u64 = 20_480;
const BBOLT_PAGE_BYTES: u64 = 4_096;

const EXIT_ERROR: i32 = 1;
const EXIT_BAD_FEATURE: i32 = 4;
const EXIT_BAD_ARGS: i32 = 128;

/// What etcdctl printed (stdout and stderr in the order a terminal shows them) and its exit
/// status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdctlOutput {
    pub text: String,
    pub status: i32,
}

impl EtcdctlOutput {
    fn ok(text: String) -> Self {
        EtcdctlOutput { text, status: 0 }
    }

    fn error(status: i32, message: impl std::fmt::Display) -> Self {
        EtcdctlOutput {
            text: format!("Error: {message}\n"),
            status,
        }
    }
}

const GLOBAL_FLAGS: &[FlagSpec] = &[
    flag("endpoints", true),
    FlagSpec {
        name: "write-out",
        short: Some('w'),
        takes_value: true,
    },
    flag("command-timeout", true),
    flag("dial-timeout", true),
    // TLS and auth settings people copy from kind/kubeadm docs: accepted, nothing to check.
    flag("cacert", true),
    flag("cert", true),
    flag("key", true),
    flag("insecure-skip-tls-verify", false),
    flag("insecure-transport", false),
    flag("debug", false),
];

/// Runs one etcdctl command line (with or without the leading `etcdctl`) against `cluster`,
/// advancing its virtual time by what the requests take.
pub fn run(cluster: &mut Cluster, line: &str) -> EtcdctlOutput {
    let mut words = match split_words(line) {
        Ok(w) => w,
        Err(e) => return EtcdctlOutput::error(EXIT_BAD_ARGS, e),
    };
    // `ETCDCTL_API=3 etcdctl ...` as people paste it; ETCDCTL_ENDPOINTS stands for
    // `--endpoints` unless the flag is given too (the flag wins, as in etcdctl).
    let mut env_endpoints = None;
    while words
        .first()
        .is_some_and(|w| w.starts_with("ETCDCTL_") && w.contains('='))
    {
        let assignment = words.remove(0);
        if let Some(v) = assignment.strip_prefix("ETCDCTL_ENDPOINTS=") {
            env_endpoints = Some(v.to_owned());
        }
    }
    if words.first().is_some_and(|w| w == "etcdctl") {
        words.remove(0);
    }
    let path = command_path(&words);
    let (command, extra): (&str, &[FlagSpec]) = match path.as_slice() {
        [] => {
            return EtcdctlOutput::error(
                EXIT_ERROR,
                "expected a command: endpoint, member, get, put, del, compaction or version",
            );
        }
        ["endpoint", "status", ..] => ("endpoint status", &[flag("cluster", false)]),
        ["endpoint", "health", ..] => ("endpoint health", &[flag("cluster", false)]),
        ["member", "list", ..] => ("member list", &[]),
        ["get", ..] => ("get", GET_FLAGS),
        ["put", ..] => ("put", &[flag("prev-kv", false)]),
        ["del", ..] => ("del", DEL_FLAGS),
        ["compaction", ..] => ("compaction", &[flag("physical", false)]),
        ["version", ..] => ("version", &[]),
        [group @ ("endpoint" | "member"), rest @ ..] => {
            let sub = rest.first().copied().unwrap_or("");
            return EtcdctlOutput::error(
                EXIT_ERROR,
                format!(
                    "unknown command {sub:?} for \"etcdctl {group}\": kubesim runs {}",
                    if *group == "endpoint" {
                        "endpoint status and endpoint health"
                    } else {
                        "member list"
                    }
                ),
            );
        }
        [
            known @ ("alarm" | "check" | "defrag" | "lease" | "txn" | "watch" | "snapshot"
            | "move-leader" | "auth" | "user" | "role" | "elect" | "lock" | "make-mirror"
            | "downgrade"),
            ..,
        ] => {
            return EtcdctlOutput::error(
                EXIT_ERROR,
                format!(
                    "kubesim's etcdctl does not run {known:?}; it runs endpoint status|health, member list, get, put, del, compaction and version"
                ),
            );
        }
        [other, ..] => {
            return EtcdctlOutput::error(
                EXIT_ERROR,
                format!("unknown command {other:?} for \"etcdctl\""),
            );
        }
    };
    let specs: Vec<FlagSpec> = GLOBAL_FLAGS.iter().chain(extra).copied().collect();
    let mut parsed = match parse(&words, &specs) {
        Ok(p) => p,
        Err(e) => return EtcdctlOutput::error(EXIT_ERROR, e),
    };
    if let Some(v) = env_endpoints {
        parsed.flags.entry("endpoints").or_insert(v);
    }
    let depth = command.split(' ').count();
    parsed.args.drain(..depth.min(parsed.args.len()));
    let ctx = match Context::new(cluster, &parsed) {
        Ok(c) => c,
        Err(out) => return out,
    };
    match command {
        "endpoint status" => endpoint_status(cluster, &ctx, &parsed),
        "endpoint health" => endpoint_health(cluster, &ctx, &parsed),
        "member list" => member_list(cluster, &ctx),
        "get" => get(cluster, &ctx, &parsed),
        "put" => put(cluster, &ctx, &parsed),
        "del" => del(cluster, &ctx, &parsed),
        "compaction" => compaction(cluster, &ctx, &parsed),
        _ => version(),
    }
}

/// The command words (positional words before the command's own arguments), skipping global
/// flags and the values of those that take one.
fn command_path(words: &[String]) -> Vec<&str> {
    let mut path = Vec::new();
    let mut i = 0;
    while i < words.len() && path.len() < 2 {
        let w = words[i].as_str();
        i += 1;
        if w == "--" {
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            let takes = GLOBAL_FLAGS.iter().any(|f| f.takes_value && f.name == long);
            if takes {
                i += 1;
            }
            continue;
        }
        if w == "-w" {
            i += 1;
            continue;
        }
        if w.starts_with('-') {
            continue;
        }
        path.push(w);
        if !matches!(path[0], "endpoint" | "member") {
            break;
        }
    }
    path
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    Simple,
    Json,
    Table,
}

/// Settings every command shares.
struct Context {
    writer: Writer,
    timeout: Duration,
    /// Each endpoint as written, and the member serving it (if any does).
    endpoints: Vec<(String, Option<u64>)>,
}

impl Context {
    fn new(cluster: &Cluster, parsed: &Parsed) -> Result<Context, EtcdctlOutput> {
        let writer = match parsed.value("write-out").unwrap_or("simple") {
            "simple" => Writer::Simple,
            "json" => Writer::Json,
            "table" => Writer::Table,
            w @ ("fields" | "protobuf") => {
                return Err(EtcdctlOutput::error(
                    EXIT_BAD_FEATURE,
                    format!(
                        "kubesim's etcdctl does not print -w {w}; expected simple, json or table"
                    ),
                ));
            }
            _ => {
                return Err(EtcdctlOutput::error(
                    EXIT_BAD_FEATURE,
                    "unsupported output format",
                ));
            }
        };
        let timeout = match parsed.value("command-timeout") {
            Some(v) => Duration::from_nanos(
                parse_go_duration("command-timeout", v)
                    .map_err(|e| EtcdctlOutput::error(EXIT_ERROR, e))?,
            ),
            None => DEFAULT_COMMAND_TIMEOUT,
        };
        let endpoints = match parsed.value("endpoints") {
            Some(list) => list
                .split(',')
                .filter(|e| !e.is_empty())
                .map(|e| (e.to_owned(), member_for(cluster, e)))
                .collect(),
            None => cluster
                .etcd_members()
                .iter()
                .map(|m| (m.spec.client_url.clone(), Some(m.spec.id)))
                .collect(),
        };
        Ok(Context {
            writer,
            timeout,
            endpoints,
        })
    }

    /// The endpoint clientv3's balancer would use: the first one it can connect to.
    fn kv_member(&self, cluster: &Cluster) -> Option<u64> {
        self.endpoints
            .iter()
            .filter_map(|(_, m)| *m)
            .find(|m| cluster.etcd_reachable(*m))
    }
}

/// The member serving an endpoint written as `https://IP:2379`, `IP:2379` or a member's node
/// name with the port. `127.0.0.1:2379` (etcdctl's default, what kind's docs use inside
/// `kubectl -n kube-system exec etcd-kubesim-control-plane -- etcdctl ...`) is the member on
/// the first control-plane node.
fn member_for(cluster: &Cluster, endpoint: &str) -> Option<u64> {
    let authority = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .unwrap_or(endpoint)
        .trim_end_matches('/');
    if matches!(authority, "127.0.0.1:2379" | "localhost:2379") {
        return cluster.etcd_members().first().map(|m| m.spec.id);
    }
    cluster
        .etcd_members()
        .iter()
        .find(|m| {
            authority == format!("{}:2379", dotted(m.ip))
                || authority == format!("{}:2379", m.spec.name)
        })
        .map(|m| m.spec.id)
}

/// One request with the command timeout; `Err` holds the message etcdctl prints.
fn request(
    cluster: &mut Cluster,
    ctx: &Context,
    member: Option<u64>,
    body: RequestBody<EtcdValue>,
) -> Result<(ResponseHeader, ResponseBody<EtcdValue>), String> {
    let Some(member) = member else {
        // Nothing serves that address: the dial never completes.
        let deadline = cluster.sim().now() + ctx.timeout;
        if let Err(f) = cluster.sim_mut().run_until(deadline) {
            return Err(RequestError::from(f).to_string());
        }
        return Err(RequestError::Timeout.to_string());
    };
    match cluster.etcd_request(member, body, ctx.timeout) {
        Ok(answer) => answer
            .result
            .map(|body| (answer.header, body))
            .map_err(|e| etcd_error_text(&e)),
        Err(e) => Err(e.to_string()),
    }
}

/// etcd's gRPC error strings (`api/v3rpc/rpctypes/error.go`): MVCC errors carry the
/// `etcdserver: ` prefix on the wire.
fn etcd_error_text(e: &EtcdError) -> String {
    match e {
        EtcdError::Mvcc(m @ (MvccError::Compacted { .. } | MvccError::FutureRevision { .. })) => {
            format!("etcdserver: {m}")
        }
        other => other.to_string(),
    }
}

fn db_size(status: &StatusInfo) -> u64 {
    BBOLT_EMPTY_BYTES + status.db_size_bytes.div_ceil(BBOLT_PAGE_BYTES) * BBOLT_PAGE_BYTES
}

fn header_json(cluster: &Cluster, h: &ResponseHeader) -> String {
    let mut fields = vec![
        format!("\"cluster_id\":{}", cluster.etcd_cluster_id()),
        format!("\"member_id\":{}", h.member_id),
    ];
    if h.revision != 0 {
        fields.push(format!("\"revision\":{}", h.revision));
    }
    if h.raft_term != 0 {
        fields.push(format!("\"raft_term\":{}", h.raft_term));
    }
    format!("{{{}}}", fields.join(","))
}

/// The endpoints a command covers: with `--cluster`, every member's client URL from the member
/// list (ordered by member ID, as etcd lists them).
fn target_endpoints(
    cluster: &mut Cluster,
    ctx: &Context,
    parsed: &Parsed,
) -> Result<Vec<(String, Option<u64>)>, EtcdctlOutput> {
    if !parsed.bool("cluster") {
        return Ok(ctx.endpoints.clone());
    }
    let via = ctx.kv_member(cluster);
    if let Err(e) = request(cluster, ctx, via, RequestBody::Status) {
        return Err(EtcdctlOutput::error(
            EXIT_ERROR,
            format!("failed to fetch endpoints from etcd cluster member list: {e}"),
        ));
    }
    let mut members: Vec<(String, Option<u64>)> = cluster
        .etcd_members()
        .iter()
        .map(|m| (m.spec.client_url.clone(), Some(m.spec.id)))
        .collect();
    members.sort_by_key(|(_, id)| *id);
    Ok(members)
}

fn endpoint_status(cluster: &mut Cluster, ctx: &Context, parsed: &Parsed) -> EtcdctlOutput {
    let endpoints = match target_endpoints(cluster, ctx, parsed) {
        Ok(e) => e,
        Err(out) => return out,
    };
    let mut text = String::new();
    let mut failed = false;
    let mut statuses = Vec::new();
    for (ep, member) in endpoints {
        match request(cluster, ctx, member, RequestBody::Status) {
            Ok((header, ResponseBody::Status(s))) => statuses.push((ep, header, s)),
            Ok(_) => {}
            Err(e) => {
                failed = true;
                text.push_str(&format!(
                    "Failed to get the status of endpoint {ep} ({e})\n"
                ));
            }
        }
    }
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|(ep, _, s)| {
            vec![
                ep.clone(),
                format!("{:x}", s.member_id),
                ETCD_VERSION.to_owned(),
                humanize_bytes(db_size(s)),
                (s.leader == Some(s.member_id)).to_string(),
                "false".to_owned(),
                s.raft_term.to_string(),
                s.raft_index.to_string(),
                s.raft_applied_index.to_string(),
                String::new(),
            ]
        })
        .collect();
    match ctx.writer {
        Writer::Table => text.push_str(&table(
            &[
                "endpoint",
                "ID",
                "version",
                "db size",
                "is leader",
                "is learner",
                "raft term",
                "raft index",
                "raft applied index",
                "errors",
            ],
            &rows,
        )),
        Writer::Simple => {
            for row in &rows {
                text.push_str(&row.join(", "));
                text.push('\n');
            }
        }
        Writer::Json => {
            let items: Vec<String> = statuses
                .iter()
                .map(|(ep, header, s)| {
                    let size = db_size(s);
                    let mut f = vec![format!("\"header\":{}", header_json(cluster, header))];
                    f.push(format!("\"version\":{}", json_str(ETCD_VERSION)));
                    f.push(format!("\"dbSize\":{size}"));
                    if let Some(l) = s.leader {
                        f.push(format!("\"leader\":{l}"));
                    }
                    f.push(format!("\"raftIndex\":{}", s.raft_index));
                    f.push(format!("\"raftTerm\":{}", s.raft_term));
                    f.push(format!("\"raftAppliedIndex\":{}", s.raft_applied_index));
                    f.push(format!("\"dbSizeInUse\":{size}"));
                    format!(
                        "{{\"Endpoint\":{},\"Status\":{{{}}}}}",
                        json_str(ep),
                        f.join(",")
                    )
                })
                .collect();
            text.push_str(&format!("[{}]\n", items.join(",")));
        }
    }
    EtcdctlOutput {
        text,
        status: if failed { EXIT_ERROR } else { 0 },
    }
}

fn endpoint_health(cluster: &mut Cluster, ctx: &Context, parsed: &Parsed) -> EtcdctlOutput {
    let endpoints = match target_endpoints(cluster, ctx, parsed) {
        Ok(e) => e,
        Err(out) => return out,
    };
    // (endpoint, took, error)
    let mut results: Vec<(String, String, Option<String>)> = Vec::new();
    for (ep, member) in endpoints {
        let start = cluster.sim().now();
        // A linearizable read: it needs the member to reach its leader and a quorum.
        let body = RequestBody::Range {
            request: RangeRequest {
                key: bytes("health"),
                ..RangeRequest::default()
            },
            serializable: false,
        };
        let outcome = request(cluster, ctx, member, body);
        let took = go_duration((cluster.sim().now() - start).as_nanos());
        results.push((ep, took, outcome.err()));
    }
    let unhealthy = results.iter().any(|(_, _, e)| e.is_some());
    let mut text = String::new();
    match ctx.writer {
        Writer::Simple => {
            for (ep, took, err) in &results {
                match err {
                    None => text.push_str(&format!(
                        "{ep} is healthy: successfully committed proposal: took = {took}\n"
                    )),
                    Some(e) => text.push_str(&format!(
                        "{ep} is unhealthy: failed to commit proposal: {e}\n"
                    )),
                }
            }
        }
        Writer::Table => {
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|(ep, took, err)| {
                    vec![
                        ep.clone(),
                        err.is_none().to_string(),
                        took.clone(),
                        err.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            text.push_str(&table(&["endpoint", "health", "took", "error"], &rows));
        }
        Writer::Json => {
            let items: Vec<String> = results
                .iter()
                .map(|(ep, took, err)| {
                    let mut f = vec![
                        format!("\"endpoint\":{}", json_str(ep)),
                        format!("\"health\":{}", err.is_none()),
                        format!("\"took\":{}", json_str(took)),
                    ];
                    if let Some(e) = err {
                        f.push(format!("\"error\":{}", json_str(e)));
                    }
                    format!("{{{}}}", f.join(","))
                })
                .collect();
            text.push_str(&format!("[{}]\n", items.join(",")));
        }
    }
    if unhealthy {
        text.push_str("Error: unhealthy cluster\n");
        return EtcdctlOutput {
            text,
            status: EXIT_ERROR,
        };
    }
    EtcdctlOutput::ok(text)
}

fn member_list(cluster: &mut Cluster, ctx: &Context) -> EtcdctlOutput {
    let via = ctx.kv_member(cluster);
    let header = match request(cluster, ctx, via, RequestBody::Status) {
        Ok((h, _)) => h,
        Err(e) => return EtcdctlOutput::error(EXIT_ERROR, e),
    };
    let mut members: Vec<_> = cluster.etcd_members().to_vec();
    members.sort_by_key(|m| m.spec.id);
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            vec![
                format!("{:x}", m.spec.id),
                "started".to_owned(),
                m.spec.name.clone(),
                m.spec.peer_url.clone(),
                m.spec.client_url.clone(),
                "false".to_owned(),
            ]
        })
        .collect();
    let text = match ctx.writer {
        Writer::Table => table(
            &[
                "ID",
                "Status",
                "Name",
                "Peer Addrs",
                "Client Addrs",
                "Is Learner",
            ],
            &rows,
        ),
        Writer::Simple => rows.iter().map(|r| r.join(", ") + "\n").collect(),
        Writer::Json => {
            let items: Vec<String> = members
                .iter()
                .map(|m| {
                    format!(
                        "{{\"ID\":{},\"name\":{},\"peerURLs\":[{}],\"clientURLs\":[{}]}}",
                        m.spec.id,
                        json_str(&m.spec.name),
                        json_str(&m.spec.peer_url),
                        json_str(&m.spec.client_url)
                    )
                })
                .collect();
            let header = ResponseHeader {
                revision: 0,
                ..header
            };
            format!(
                "{{\"header\":{},\"members\":[{}]}}\n",
                header_json(cluster, &header),
                items.join(",")
            )
        }
    };
    EtcdctlOutput::ok(text)
}

const GET_FLAGS: &[FlagSpec] = &[
    flag("prefix", false),
    flag("from-key", false),
    flag("keys-only", false),
    flag("print-value-only", false),
    flag("count-only", false),
    flag("limit", true),
    flag("rev", true),
    flag("consistency", true),
];

const DEL_FLAGS: &[FlagSpec] = &[
    flag("prefix", false),
    flag("from-key", false),
    flag("prev-kv", false),
];

fn int_flag(parsed: &Parsed, name: &str) -> Result<i64, EtcdctlOutput> {
    match parsed.value(name) {
        None => Ok(0),
        Some(v) => v.parse().map_err(|_| {
            EtcdctlOutput::error(
                EXIT_ERROR,
                ArgsError::InvalidValue {
                    flag: name.to_owned(),
                    value: v.to_owned(),
                    why: format!("strconv.ParseInt: parsing {v:?}: invalid syntax"),
                },
            )
        }),
    }
}

/// `[key, range_end)` from a key command's arguments and `--prefix` / `--from-key`.
fn key_range(parsed: &Parsed, command: &str) -> Result<(Bytes, Option<Bytes>), EtcdctlOutput> {
    let args = &parsed.args;
    if args.is_empty() || args.len() > 2 {
        return Err(EtcdctlOutput::error(
            EXIT_BAD_ARGS,
            format!(
                "{command} command needs one argument as key and an optional argument as range_end"
            ),
        ));
    }
    let (prefix, from_key) = (parsed.bool("prefix"), parsed.bool("from-key"));
    if prefix && from_key {
        return Err(EtcdctlOutput::error(
            EXIT_BAD_ARGS,
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    if args.len() > 1 && (prefix || from_key) {
        return Err(EtcdctlOutput::error(
            EXIT_BAD_ARGS,
            "too many arguments, only accept one argument when `--prefix` or `--from-key` is set",
        ));
    }
    let key = bytes(&args[0]);
    let end = if prefix {
        Some(prefix_end(&key))
    } else if from_key {
        Some(bytes([0u8]))
    } else {
        args.get(1).map(bytes)
    };
    Ok((key, end))
}

fn kv_json(kv: &KeyValue<EtcdValue>, keys_only: bool) -> String {
    let mut f = vec![
        format!("\"key\":\"{}\"", base64(&kv.key)),
        format!("\"create_revision\":{}", kv.create_revision),
        format!("\"mod_revision\":{}", kv.mod_revision),
        format!("\"version\":{}", kv.version),
    ];
    let value = if keys_only {
        Vec::new()
    } else {
        value_bytes(&kv.value)
    };
    if !value.is_empty() {
        f.push(format!("\"value\":\"{}\"", base64(&value)));
    }
    if kv.lease != 0 {
        f.push(format!("\"lease\":{}", kv.lease));
    }
    format!("{{{}}}", f.join(","))
}

fn print_kv(text: &mut String, kv: &KeyValue<EtcdValue>, value_only: bool) {
    if !value_only {
        text.push_str(&String::from_utf8_lossy(&kv.key));
        text.push('\n');
    }
    text.push_str(&String::from_utf8_lossy(&value_bytes(&kv.value)));
    text.push('\n');
}

fn get(cluster: &mut Cluster, ctx: &Context, parsed: &Parsed) -> EtcdctlOutput {
    let (key, range_end) = match key_range(parsed, "get") {
        Ok(r) => r,
        Err(out) => return out,
    };
    let (limit, revision) = match (int_flag(parsed, "limit"), int_flag(parsed, "rev")) {
        (Ok(l), Ok(r)) => (l, r),
        (Err(out), _) | (_, Err(out)) => return out,
    };
    if parsed.bool("count-only") {
        return EtcdctlOutput::error(
            EXIT_BAD_ARGS,
            "--count-only is only for `--write-out=fields`",
        );
    }
    let serializable = match parsed.value("consistency").unwrap_or("l") {
        "l" => false,
        "s" => true,
        other => {
            return EtcdctlOutput::error(
                EXIT_BAD_ARGS,
                format!("unknown consistency flag {other:?}"),
            );
        }
    };
    if ctx.writer == Writer::Table {
        return EtcdctlOutput::error(EXIT_BAD_FEATURE, "table is not supported as output format");
    }
    let body = RequestBody::Range {
        request: RangeRequest {
            key,
            range_end,
            limit,
            revision,
            count_only: false,
            keys_only: parsed.bool("keys-only"),
        },
        serializable,
    };
    let member = ctx.kv_member(cluster);
    let (header, resp) = match request(cluster, ctx, member, body) {
        Ok((h, ResponseBody::Range(r))) => (h, r),
        Ok(_) => return EtcdctlOutput::error(EXIT_ERROR, "unexpected response to a range request"),
        Err(e) => return EtcdctlOutput::error(EXIT_ERROR, e),
    };
    let mut text = String::new();
    match ctx.writer {
        Writer::Json => {
            let mut f = vec![format!("\"header\":{}", header_json(cluster, &header))];
            if !resp.kvs.is_empty() {
                let keys_only = parsed.bool("keys-only");
                let kvs: Vec<String> = resp.kvs.iter().map(|kv| kv_json(kv, keys_only)).collect();
                f.push(format!("\"kvs\":[{}]", kvs.join(",")));
            }
            if resp.more {
                f.push("\"more\":true".to_owned());
            }
            if resp.count != 0 {
                f.push(format!("\"count\":{}", resp.count));
            }
            text.push_str(&format!("{{{}}}\n", f.join(",")));
        }
        _ => {
            let value_only = parsed.bool("print-value-only");
            let keys_only = parsed.bool("keys-only");
            for kv in &resp.kvs {
                if keys_only {
                    // etcd sends no value; etcdctl still prints the empty value line.
                    if !value_only {
                        text.push_str(&String::from_utf8_lossy(&kv.key));
                        text.push('\n');
                    }
                    text.push('\n');
                    continue;
                }
                print_kv(&mut text, kv, value_only);
            }
        }
    }
    EtcdctlOutput::ok(text)
}

fn write(
    cluster: &mut Cluster,
    ctx: &Context,
    req: WriteRequest<EtcdValue>,
) -> Result<(ResponseHeader, WriteResponse<EtcdValue>), EtcdctlOutput> {
    if ctx.writer == Writer::Table {
        return Err(EtcdctlOutput::error(
            EXIT_BAD_FEATURE,
            "table is not supported as output format",
        ));
    }
    let member = ctx.kv_member(cluster);
    match request(
        cluster,
        ctx,
        member,
        RequestBody::Write(std::sync::Arc::new(req)),
    ) {
        Ok((h, ResponseBody::Write(w))) => Ok((h, w)),
        Ok(_) => Err(EtcdctlOutput::error(
            EXIT_ERROR,
            "unexpected response to a write request",
        )),
        Err(e) => Err(EtcdctlOutput::error(EXIT_ERROR, e)),
    }
}

fn put(cluster: &mut Cluster, ctx: &Context, parsed: &Parsed) -> EtcdctlOutput {
    let [key, value] = parsed.args.as_slice() else {
        return EtcdctlOutput::error(
            EXIT_BAD_ARGS,
            "put command needs 1 argument and input from stdin or 2 arguments",
        );
    };
    let prev_kv = parsed.bool("prev-kv");
    let req = WriteRequest::Put(PutRequest {
        key: bytes(key),
        value: EtcdValue::Raw(bytes(value)),
        lease: 0,
        prev_kv,
    });
    let (header, resp) = match write(cluster, ctx, req) {
        Ok(r) => r,
        Err(out) => return out,
    };
    let WriteResponse::Put(p) = resp else {
        return EtcdctlOutput::error(EXIT_ERROR, "unexpected response to a put");
    };
    let text = match ctx.writer {
        Writer::Json => {
            let prev = p
                .prev_kv
                .as_ref()
                .map(|kv| format!(",\"prev_kv\":{}", kv_json(kv, false)))
                .unwrap_or_default();
            format!("{{\"header\":{}{prev}}}\n", header_json(cluster, &header))
        }
        _ => {
            let mut t = "OK\n".to_owned();
            if let Some(kv) = &p.prev_kv {
                print_kv(&mut t, kv, false);
            }
            t
        }
    };
    EtcdctlOutput::ok(text)
}

fn del(cluster: &mut Cluster, ctx: &Context, parsed: &Parsed) -> EtcdctlOutput {
    let (key, range_end) = match key_range(parsed, "del") {
        Ok(r) => r,
        Err(out) => return out,
    };
    let req = WriteRequest::DeleteRange(DeleteRangeRequest {
        key,
        range_end,
        prev_kv: parsed.bool("prev-kv"),
    });
    let (header, resp) = match write(cluster, ctx, req) {
        Ok(r) => r,
        Err(out) => return out,
    };
    let WriteResponse::DeleteRange(d) = resp else {
        return EtcdctlOutput::error(EXIT_ERROR, "unexpected response to a delete");
    };
    let text = match ctx.writer {
        Writer::Json => {
            let mut f = vec![format!("\"header\":{}", header_json(cluster, &header))];
            if d.deleted != 0 {
                f.push(format!("\"deleted\":{}", d.deleted));
            }
            if !d.prev_kvs.is_empty() {
                let kvs: Vec<String> = d.prev_kvs.iter().map(|kv| kv_json(kv, false)).collect();
                f.push(format!("\"prev_kvs\":[{}]", kvs.join(",")));
            }
            format!("{{{}}}\n", f.join(","))
        }
        _ => {
            let mut t = format!("{}\n", d.deleted);
            for kv in &d.prev_kvs {
                print_kv(&mut t, kv, false);
            }
            t
        }
    };
    EtcdctlOutput::ok(text)
}

fn compaction(cluster: &mut Cluster, ctx: &Context, parsed: &Parsed) -> EtcdctlOutput {
    let [rev] = parsed.args.as_slice() else {
        return EtcdctlOutput::error(EXIT_BAD_ARGS, "compaction command needs 1 argument");
    };
    let Ok(revision) = rev.parse::<i64>() else {
        return EtcdctlOutput::error(
            EXIT_BAD_ARGS,
            format!("strconv.ParseInt: parsing {rev:?}: invalid syntax"),
        );
    };
    match write(cluster, ctx, WriteRequest::Compact { revision }) {
        Ok(_) => EtcdctlOutput::ok(format!("compacted revision {revision}\n")),
        Err(out) => out,
    }
}

fn version() -> EtcdctlOutput {
    // etcdctl prints its version as text whatever -w says.
    let api = ETCD_VERSION
        .rsplit_once('.')
        .map_or(ETCD_VERSION, |(a, _)| a);
    EtcdctlOutput::ok(format!(
        "etcdctl version: {ETCD_VERSION}\nAPI version: {api}\n"
    ))
}
