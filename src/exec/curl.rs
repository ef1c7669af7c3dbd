//! `curl` against the health endpoints a learner checks from inside a node: the apiserver's
//! `https://localhost:6443/healthz|livez|readyz` (with `?verbose`), etcd's metrics listener
//! `http://127.0.0.1:2381/health` (kubeadm's `--listen-metrics-urls`), the kubelet's
//! `http://127.0.0.1:10248/healthz`, kube-controller-manager's `https://127.0.0.1:10257/healthz`
//! and kube-scheduler's `https://127.0.0.1:10259/healthz`.
//!
//! Follows k8s.io/apiserver `pkg/server/healthz/healthz.go` (`handleRootHealth`): all checks
//! pass → `ok` (or each `[+]name ok` and `<path> check passed` with `?verbose`); a check fails
//! → every check listed, the failed one as `[-]name failed: reason withheld`, then `<path>
//! check failed`, HTTP 500 (curl prints the body and exits 0 unless `-f`). The `etcd` check
//! fails when the apiserver cannot reach a member that is in contact with a leader holding a
//! quorum (the check's linearizable read would time out); `informer-sync` until the watch
//! cache is loaded; `poststarthook/rbac/bootstrap-roles` until the bootstrap objects are
//! written. etcd's `/health` (`server/etcdserver/api/etcdhttp/health.go`) says
//! `{"health":"false","reason":"RAFT NO LEADER"}` (HTTP 503) without a leader.
//!
//! Simplifications: only the checks kubesim models are listed (a real apiserver lists some
//! thirty post-start hooks, all `ok` on a running cluster); the state is read at once, not
//! through the network; `https` without `-k` fails as it does on a kind node (the cluster CA
//! is not in the node's trust store); any other path on 6443 is what an anonymous user gets,
//! a 403 Status.

use cluster::apiserver::KubeApiServer;
use cluster::{ClusterMsg, EtcdMemberHandle};
use sim::HostId;

use super::{ExecOutput, Node};

/// The parts of a curl command line kubesim reads.
#[derive(Debug, Default)]
struct Request {
    insecure: bool,
    fail: bool,
    show_error: bool,
    silent: bool,
    url: Option<String>,
}

fn parse(args: &[&str]) -> Result<Request, ExecOutput> {
    let mut r = Request::default();
    for a in args {
        match *a {
            "--insecure" => r.insecure = true,
            "--fail" => r.fail = true,
            "--silent" => r.silent = true,
            "--show-error" => r.show_error = true,
            "--location" => {}
            flags if flags.starts_with('-') && !flags.starts_with("--") && flags.len() > 1 => {
                for c in flags[1..].chars() {
                    match c {
                        'k' => r.insecure = true,
                        'f' => r.fail = true,
                        's' => r.silent = true,
                        'L' => {}
                        'S' => r.show_error = true,
                        other => {
                            return Err(ExecOutput::fail(
                                format!(
                                    "kubesim: curl option -{other} is not simulated; -k, -s, -S, -f and -L are\n"
                                ),
                                2,
                            ));
                        }
                    }
                }
            }
            url if !url.starts_with('-') => r.url = Some(url.to_string()),
            other => {
                return Err(ExecOutput::fail(
                    format!(
                        "curl: option {other}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n"
                    ),
                    2,
                ));
            }
        }
    }
    Ok(r)
}

/// An HTTP answer: status code and body.
struct Answer {
    code: u16,
    body: String,
}

pub fn curl(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    let req = match parse(args) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(url) = req.url.clone() else {
        return ExecOutput::fail(
            "curl: try 'curl --help' or 'curl --manual' for more information\n",
            2,
        );
    };
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => ("http".to_string(), url.clone()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.clone(), "/".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse::<u16>().unwrap_or(0)),
        None => (authority.clone(), if scheme == "https" { 443 } else { 80 }),
    };
    let local = host == "localhost" || host == "127.0.0.1" || host == node.ip().to_string();
    let refused = || {
        ExecOutput::fail(
            format!(
                "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server\n"
            ),
            7,
        )
    };
    if !local {
        return ExecOutput::fail(
            format!("kubesim: curl to {host} is not simulated; the node's own ports are\n"),
            2,
        );
    }
    let tls = matches!(port, 6443 | 10257 | 10259);
    if tls && scheme != "https" {
        // The TLS listener answers a plain request with 400.
        return ExecOutput::ok("Client sent an HTTP request to an HTTPS server.\n");
    }
    if tls && !req.insecure {
        return ExecOutput::fail(
            "curl: (60) SSL certificate problem: unable to get local issuer certificate\nMore details here: https://curl.se/docs/sslcerts.html\n\ncurl failed to verify the legitimacy of the server and therefore could not\nestablish a secure connection to it. To learn more about this situation and\nhow to fix it, please visit the web page mentioned above.\n",
            60,
        );
    }
    let (path_only, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (path.clone(), String::new()),
    };
    let verbose = query
        .split('&')
        .any(|q| q == "verbose" || q.starts_with("verbose="));
    let answer = match port {
        6443 => match apiserver_on(node) {
            Some(server) => apiserver_answer(node, server, &path_only, verbose),
            None => return refused(),
        },
        2381 => match node
            .cluster
            .etcd_members()
            .iter()
            .find(|m| m.host == node.host)
        {
            Some(m) if path_only == "/health" => etcd_health(node, m),
            Some(_) => Answer {
                code: 404,
                body: "404 page not found\n".into(),
            },
            None => return refused(),
        },
        10248 if node.actor("kubelet").is_some() => simple_health(&path_only, "/healthz"),
        10257 if node.actor("kube-controller-manager").is_some() => {
            simple_health(&path_only, "/healthz")
        }
        10259 if node.actor("kube-scheduler").is_some() => simple_health(&path_only, "/healthz"),
        _ => return refused(),
    };
    if req.fail && answer.code >= 400 {
        let text = if req.show_error || !req.silent {
            format!(
                "curl: (22) The requested URL returned error: {}\n",
                answer.code
            )
        } else {
            String::new()
        };
        return ExecOutput::fail(text, 22);
    }
    let mut body = answer.body;
    if !body.ends_with('\n') {
        body.push('\n');
    }
    ExecOutput::ok(body)
}

fn simple_health(path: &str, expected: &str) -> Answer {
    if path == expected || path == "/livez" || path == "/readyz" {
        Answer {
            code: 200,
            body: "ok".into(),
        }
    } else {
        Answer {
            code: 404,
            body: "404 page not found\n".into(),
        }
    }
}

fn apiserver_on<'a>(node: &Node<'a>) -> Option<&'a KubeApiServer<ClusterMsg>> {
    let handle = node
        .cluster
        .apiservers()
        .iter()
        .find(|a| a.host == node.host)?;
    node.cluster.apiserver(handle.actor)
}

fn reachable(node: &Node<'_>, a: HostId, b: HostId) -> bool {
    let sim = node.cluster.sim();
    a == b || (!sim.is_partitioned(a, b) && !sim.is_partitioned(b, a))
}

/// Whether a linearizable read from this node would succeed: some member it reaches is in
/// contact with a leader that has a quorum.
fn etcd_quorum_from(node: &Node<'_>, from: HostId) -> bool {
    let cluster = node.cluster;
    let Some(leader) = cluster.etcd_leader() else {
        return false;
    };
    let members = cluster.etcd_members();
    let up = |m: &EtcdMemberHandle| cluster.etcd_status(m.spec.id).is_some();
    let with_leader = members
        .iter()
        .filter(|m| up(m) && reachable(node, m.host, leader.host_id))
        .count();
    let reached = members
        .iter()
        .any(|m| up(m) && reachable(node, from, m.host) && reachable(node, m.host, leader.host_id));
    reached && with_leader * 2 > members.len()
}

fn apiserver_answer(
    node: &Node<'_>,
    server: &KubeApiServer<ClusterMsg>,
    path: &str,
    verbose: bool,
) -> Answer {
    let name = match path.trim_end_matches('/') {
        "/healthz" => "healthz",
        "/livez" => "livez",
        "/readyz" => "readyz",
        other => {
            let shown = if other.is_empty() { "/" } else { other };
            return Answer {
                code: 403,
                body: format!(
                    "{{\n  \"kind\": \"Status\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {{}},\n  \"status\": \"Failure\",\n  \"message\": \"forbidden: User \\\"system:anonymous\\\" cannot get path \\\"{shown}\\\"\",\n  \"reason\": \"Forbidden\",\n  \"details\": {{}},\n  \"code\": 403\n}}"
                ),
            };
        }
    };
    let etcd = etcd_quorum_from(node, node.host);
    let mut checks: Vec<(&str, bool)> = vec![("ping", true), ("log", true), ("etcd", etcd)];
    if name == "readyz" {
        checks.push(("etcd-readiness", etcd));
        checks.push(("informer-sync", server.is_ready()));
    }
    checks.push((
        "poststarthook/rbac/bootstrap-roles",
        server.is_bootstrapped(),
    ));
    if name == "readyz" {
        checks.push(("shutdown", true));
    }
    let failed = checks.iter().any(|(_, ok)| !ok);
    if !failed && !verbose {
        return Answer {
            code: 200,
            body: "ok".into(),
        };
    }
    let mut body = String::new();
    for (check, ok) in &checks {
        if *ok {
            body.push_str(&format!("[+]{check} ok\n"));
        } else {
            body.push_str(&format!("[-]{check} failed: reason withheld\n"));
        }
    }
    if failed {
        body.push_str(&format!("{name} check failed\n"));
        Answer { code: 500, body }
    } else {
        body.push_str(&format!("{name} check passed\n"));
        Answer { code: 200, body }
    }
}

fn etcd_health(node: &Node<'_>, member: &EtcdMemberHandle) -> Answer {
    let has_leader = node
        .cluster
        .etcd_status(member.spec.id)
        .is_some_and(|s| s.leader.is_some());
    if !has_leader {
        return Answer {
            code: 503,
            body: r#"{"health":"false","reason":"RAFT NO LEADER"}"#.into(),
        };
    }
    if !etcd_quorum_from(node, member.host) {
        return Answer {
            code: 503,
            body: r#"{"health":"false","reason":"QGET ERROR"}"#.into(),
        };
    }
    Answer {
        code: 200,
        body: r#"{"health":"true","reason":""}"#.into(),
    }
}
