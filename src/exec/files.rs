//! The files a learner looks at on a kind node: etcd's data directory (`ls -la
//! /var/lib/etcd/member`: `snap` and `wal`; inside them the bbolt `db`, the `.snap` files and
//! the WAL segments) and kubeadm's static pod manifests (`ls /etc/kubernetes/manifests`,
//! `cat /etc/kubernetes/manifests/<component>.yaml`).
//!
//! Follows etcd's layout (`server/storage/datadir`: `member/snap/db`, `member/snap/<term
//! %016x>-<index %016x>.snap`, `member/wal/<seq %016x>-<index %016x>.wal` preallocated to
//! 64,000,000 bytes with the next segment waiting as `0.tmp`) and kubeadm's manifests
//! (`cmd/kubeadm/app/util/staticpod`: the Pod marshalled to YAML, `creationTimestamp: null`,
//! `status: {}`), built from the same Pods the kubelet's file source reads
//! (`kubelet::static_pods`). GNU ls's long format (`total`, mode, links, owner, size
//! right-aligned, `%b %e %H:%M`).
//!
//! Simplifications: the data directory exists once the member has bootstrapped it on the
//! node's disk (a `DiskLoss` removes it); `db` is as large as the member reports (`etcdctl
//! endpoint status` shows the same figure); one WAL segment (the simulated WAL never reaches
//! 64 MB); directories keep the time of the node's first boot; `ls` takes the options `-l`,
//! `-a`, `-la`/`-al` and one path.

use api::k8s_openapi::api::core::v1::Pod;
use cluster::EtcdValue;
use serde_json::Value;
use sim::Time;

use super::{ExecOutput, Node};
use crate::kubectl::yaml::to_yaml;

const ETCD_DIR: &str = "/var/lib/etcd";
const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// etcd's `SegmentSizeBytes`.
const WAL_SEGMENT_BYTES: u64 = 64_000_000;

/// One directory entry.
struct Entry {
    name: String,
    dir: bool,
    mode: &'static str,
    size: u64,
    mtime: Time,
}

impl Entry {
    fn dir(name: &str, mtime: Time) -> Entry {
        Entry {
            name: name.into(),
            dir: true,
            mode: "drwx------",
            size: 4096,
            mtime,
        }
    }

    fn file(name: String, mode: &'static str, size: u64, mtime: Time) -> Entry {
        Entry {
            name,
            dir: false,
            mode,
            size,
            mtime,
        }
    }
}

/// What a path holds: a directory's entries (with `.` and `..` first), or `None` when it
/// does not exist.
fn list(node: &Node<'_>, path: &str) -> Option<Vec<Entry>> {
    let path = path.trim_end_matches('/');
    let boot = Time::ZERO;
    let now = node.local_now();
    match path {
        MANIFESTS_DIR if node.is_control_plane() => {
            let mut v = vec![Entry::dir(".", boot), Entry::dir("..", boot)];
            v[0].mode = "drwxr-xr-x";
            v[1].mode = "drwxr-xr-x";
            for (name, text) in manifests(node) {
                v.push(Entry::file(
                    format!("{name}.yaml"),
                    "-rw-------",
                    text.len() as u64,
                    boot,
                ));
            }
            Some(v)
        }
        _ => etcd_list(node, path, boot, now),
    }
}

fn etcd_list(node: &Node<'_>, path: &str, boot: Time, now: Time) -> Option<Vec<Entry>> {
    let member = node
        .cluster
        .etcd_members()
        .iter()
        .find(|m| m.host == node.host)?;
    let disk = node.cluster.sim().disk(node.host)?;
    if !store::server::storage::is_bootstrapped(disk) {
        return None;
    }
    let mut v = vec![Entry::dir(".", boot), Entry::dir("..", boot)];
    match path.strip_prefix(ETCD_DIR)? {
        "" => v.push(Entry::dir("member", boot)),
        "/member" => {
            v.push(Entry::dir("snap", boot));
            v.push(Entry::dir("wal", boot));
        }
        "/member/snap" => {
            let db = node
                .cluster
                .etcd_status(member.spec.id)
                .map_or(0, |s| s.db_size_bytes);
            v.push(Entry::file("db".into(), "-rw-------", db, now));
            if let Some((term, index)) = store::server::storage::snapshot_meta::<EtcdValue>(disk) {
                v.push(Entry::file(
                    format!("{term:016x}-{index:016x}.snap"),
                    "-rw-r--r--",
                    // A snapshot file holds the v2 store and membership: small.
                    8_000,
                    now,
                ));
            }
        }
        "/member/wal" => {
            v.push(Entry::file(
                "0.tmp".into(),
                "-rw-------",
                WAL_SEGMENT_BYTES,
                boot,
            ));
            v.push(Entry::file(
                format!("{:016x}-{:016x}.wal", 0, 0),
                "-rw-------",
                WAL_SEGMENT_BYTES,
                now,
            ));
        }
        _ => return None,
    }
    Some(v)
}

/// `Jan  1 00:00`, as ls prints a recent file's time.
fn ls_time(t: Time) -> String {
    let secs = api::WALL_EPOCH_SECS + t.as_secs() as i64;
    api::k8s_openapi::jiff::Timestamp::from_second(secs)
        .map(|ts| ts.strftime("%b %e %H:%M").to_string())
        .unwrap_or_default()
}

pub fn ls(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    let mut long = false;
    let mut all = false;
    let mut paths = Vec::new();
    for a in args {
        if let Some(flags) = a.strip_prefix('-') {
            for c in flags.chars() {
                match c {
                    'l' => long = true,
                    'a' => all = true,
                    other => {
                        return ExecOutput::fail(
                            format!("kubesim: ls -{other} is not simulated; -l and -a are\n"),
                            2,
                        );
                    }
                }
            }
        } else {
            paths.push(*a);
        }
    }
    let path = match paths.as_slice() {
        [p] => *p,
        [] => "/",
        _ => {
            return ExecOutput::fail("kubesim: ls of several paths is not simulated\n", 2);
        }
    };
    let Some(entries) = list(node, path) else {
        return ExecOutput::fail(
            format!("ls: cannot access '{path}': No such file or directory\n"),
            2,
        );
    };
    let shown: Vec<&Entry> = entries
        .iter()
        .filter(|e| all || !e.name.starts_with('.'))
        .collect();
    if !long {
        let mut out = String::new();
        for e in shown {
            out.push_str(&e.name);
            out.push('\n');
        }
        return ExecOutput::ok(out);
    }
    // Blocks of 1 KiB, as GNU ls counts them (4 KiB filesystem blocks).
    let total: u64 = shown.iter().map(|e| e.size.div_ceil(4096) * 4).sum();
    let width = shown
        .iter()
        .map(|e| e.size.to_string().len())
        .max()
        .unwrap_or(1);
    let mut out = format!("total {total}\n");
    for e in shown {
        let links = if e.dir { links_of(path, &e.name) } else { 1 };
        out.push_str(&format!(
            "{} {links} root root {:>width$} {} {}\n",
            e.mode,
            e.size,
            ls_time(e.mtime),
            e.name
        ));
    }
    ExecOutput::ok(out)
}

/// A directory's link count: 2 plus its subdirectories.
fn links_of(listed: &str, name: &str) -> u32 {
    let listed = listed.trim_end_matches('/');
    let dir = match name {
        "." => listed.to_string(),
        ".." => listed
            .rsplit_once('/')
            .map_or("/".to_string(), |(p, _)| p.to_string()),
        other => format!("{listed}/{other}"),
    };
    match dir.as_str() {
        "/var/lib/etcd" => 3,
        "/var/lib/etcd/member" => 4,
        "/var/lib" => 12,
        "/etc/kubernetes" => 4,
        _ => 2,
    }
}

/// The static pod manifests of a control-plane node, by component, as kubeadm wrote them.
fn manifests(node: &Node<'_>) -> Vec<(String, String)> {
    kubelet::static_pods::control_plane_manifests(
        node.name(),
        node.ip(),
        node.cluster.pod_network(),
    )
    .into_iter()
    .filter_map(|pod| {
        let component = pod.metadata.labels.as_ref()?.get("component")?.clone();
        Some((component, manifest_yaml(pod)))
    })
    .collect()
}

/// The file kubeadm writes: the Pod without what the kubelet adds when it reads it.
fn manifest_yaml(mut pod: Pod) -> String {
    pod.metadata.uid = None;
    if let Some(a) = pod.metadata.annotations.as_mut() {
        a.retain(|k, _| k.starts_with("kubeadm.kubernetes.io/"));
    }
    if pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.is_empty())
    {
        pod.metadata.annotations = None;
    }
    let mut v = serde_json::to_value(&pod).unwrap_or(Value::Null);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("creationTimestamp".into(), Value::Null);
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("status".into(), Value::Object(Default::default()));
    }
    to_yaml(&v)
}

pub fn cat(node: &Node<'_>, args: &[&str]) -> ExecOutput {
    let mut out = String::new();
    let mut status = 0;
    for path in args {
        let found = path
            .strip_prefix(MANIFESTS_DIR)
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|f| f.strip_suffix(".yaml"))
            .filter(|_| node.is_control_plane())
            .and_then(|c| manifests(node).into_iter().find(|(n, _)| n == c));
        match found {
            Some((_, text)) => out.push_str(&text),
            None if list(node, path).is_some() => {
                out.push_str(&format!("cat: {path}: Is a directory\n"));
                status = 1;
            }
            None => {
                out.push_str(&format!("cat: {path}: No such file or directory\n"));
                status = 1;
            }
        }
    }
    ExecOutput { text: out, status }
}
