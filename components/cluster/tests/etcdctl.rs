//! etcdctl's command lines against a three-control-plane cluster: outputs snapshot-tested
//! (checked by hand against etcdctl 3.5's printers), errors and exit codes asserted.

use cluster::etcdctl::{EtcdctlOutput, run};
use cluster::{Cluster, Topology};
use sim::{Duration, Fault};

fn cluster() -> Cluster {
    let mut c = Cluster::build(Topology::new(3, 1).with_seed(5)).unwrap();
    c.run_until_etcd_ready(Duration::from_secs(10))
        .unwrap()
        .expect("leader");
    c
}

fn ok(c: &mut Cluster, line: &str) -> String {
    let out = run(c, line);
    assert_eq!(out.status, 0, "{line}: {}", out.text);
    out.text
}

fn err(c: &mut Cluster, line: &str) -> EtcdctlOutput {
    let out = run(c, line);
    assert_ne!(out.status, 0, "{line} should fail: {}", out.text);
    out
}

#[test]
fn endpoint_status_table() {
    let mut c = cluster();
    insta::assert_snapshot!(ok(&mut c, "endpoint status -w table"));
}

#[test]
fn endpoint_status_simple_json_and_cluster() {
    let mut c = cluster();
    insta::assert_snapshot!(ok(&mut c, "etcdctl endpoint status"));
    insta::assert_snapshot!(ok(&mut c, "endpoint status --cluster -w json"));
}

#[test]
fn member_list_table_and_simple() {
    let mut c = cluster();
    insta::assert_snapshot!(ok(&mut c, "member list -w table"));
    insta::assert_snapshot!(ok(&mut c, "member list"));
}

#[test]
fn put_get_prefix_keys_only_and_del() {
    let mut c = cluster();
    for (k, v) in [
        ("/registry/pods/default/web-1", "a"),
        ("/registry/pods/default/web-2", "b"),
        ("/registry/services/default/web", "c"),
    ] {
        assert_eq!(ok(&mut c, &format!("put {k} {v}")), "OK\n");
    }
    insta::assert_snapshot!(ok(&mut c, "get /registry/pods --prefix --keys-only"));
    assert_eq!(
        ok(&mut c, "get /registry/pods/default/web-1"),
        "/registry/pods/default/web-1\na\n"
    );
    assert_eq!(
        ok(
            &mut c,
            "get /registry --prefix --print-value-only --limit 2"
        ),
        "a\nb\n"
    );
    insta::assert_snapshot!(ok(&mut c, "get /registry/services/default/web -w json"));
    assert_eq!(ok(&mut c, "put k 'two words'"), "OK\n");
    assert_eq!(ok(&mut c, "get k"), "k\ntwo words\n");
    assert_eq!(ok(&mut c, "del /registry/pods --prefix"), "2\n");
    assert_eq!(ok(&mut c, "get /registry/pods --prefix"), "");
    // Revisions: 2..=4 the puts, 5 "k", 6 the delete. Reading at revision 3 sees two pods.
    assert_eq!(
        ok(&mut c, "get /registry/pods --prefix --keys-only --rev 3"),
        "/registry/pods/default/web-1\n\n/registry/pods/default/web-2\n\n"
    );
    assert_eq!(ok(&mut c, "compaction 4"), "compacted revision 4\n");
    let out = err(&mut c, "get /registry/pods --prefix --rev 3");
    assert_eq!(
        out.text,
        "Error: etcdserver: mvcc: required revision has been compacted\n"
    );
    assert_eq!(out.status, 1);
}

#[test]
fn endpoint_health_simple() {
    let mut c = cluster();
    let text = ok(&mut c, "endpoint health");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for (line, ip) in lines.iter().zip(["172.18.0.2", "172.18.0.3", "172.18.0.4"]) {
        assert!(
            line.starts_with(&format!(
                "https://{ip}:2379 is healthy: successfully committed proposal: took = "
            )),
            "{line}"
        );
    }
}

#[test]
fn a_crashed_member_fails_its_status_and_health() {
    let mut c = cluster();
    let host = c.host("kubesim-control-plane2").unwrap();
    c.sim_mut().apply_fault(Fault::Crash(host)).unwrap();
    let before = c.sim().now();
    let out = err(&mut c, "endpoint status -w table");
    assert_eq!(out.status, 1);
    assert!(out.text.starts_with(
        "Failed to get the status of endpoint https://172.18.0.3:2379 (context deadline exceeded)\n+"
    ));
    assert_eq!(out.text.matches("| https://").count(), 2);
    // The dead endpoint cost the command timeout; the live ones answered at once.
    let took = c.sim().now() - before;
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
    let out = err(&mut c, "endpoint health --command-timeout=2s");
    assert!(out.text.contains(
        "https://172.18.0.3:2379 is unhealthy: failed to commit proposal: context deadline exceeded\n"
    ));
    assert!(out.text.ends_with("Error: unhealthy cluster\n"));
}

#[test]
fn bad_input_gets_etcdctl_errors_not_panics() {
    let mut c = cluster();
    let cases: &[(&str, &str, i32)] = &[
        ("get --foo", "Error: unknown flag: --foo\n", 1),
        (
            "get",
            "Error: get command needs one argument as key and an optional argument as range_end\n",
            128,
        ),
        (
            "get a b --prefix",
            "Error: too many arguments, only accept one argument when `--prefix` or `--from-key` is set\n",
            128,
        ),
        (
            "put onlykey",
            "Error: put command needs 1 argument and input from stdin or 2 arguments\n",
            128,
        ),
        (
            "del",
            "Error: del command needs one argument as key and an optional argument as range_end\n",
            128,
        ),
        (
            "compaction",
            "Error: compaction command needs 1 argument\n",
            128,
        ),
        (
            "compaction x",
            "Error: strconv.ParseInt: parsing \"x\": invalid syntax\n",
            128,
        ),
        (
            "get a --limit x",
            "Error: invalid argument \"x\" for \"--limit\" flag: strconv.ParseInt: parsing \"x\": invalid syntax\n",
            1,
        ),
        ("get a -w yaml", "Error: unsupported output format\n", 4),
        (
            "get a -w table",
            "Error: table is not supported as output format\n",
            4,
        ),
        (
            "frobnicate",
            "Error: unknown command \"frobnicate\" for \"etcdctl\"\n",
            1,
        ),
        (
            "get 'a",
            "Error: unterminated quote in the command line\n",
            128,
        ),
        ("get --limit", "Error: flag needs an argument: --limit\n", 1),
    ];
    for (line, text, status) in cases {
        let out = run(&mut c, line);
        assert_eq!(
            (out.text.as_str(), out.status),
            (*text, *status),
            "etcdctl {line}"
        );
    }
    assert!(
        run(&mut c, "")
            .text
            .starts_with("Error: expected a command")
    );
    assert!(
        run(&mut c, "watch /a")
            .text
            .contains("does not run \"watch\"")
    );
}

#[test]
fn endpoints_flag_picks_members_and_minority_put_times_out() {
    let mut c = cluster();
    let leader = c.etcd_leader().unwrap();
    let follower = c
        .etcd_members()
        .iter()
        .find(|m| m.spec.id != leader.member_id)
        .unwrap()
        .clone();
    let rest: Vec<_> = c
        .etcd_members()
        .iter()
        .filter(|m| m.spec.id != follower.spec.id)
        .map(|m| m.host)
        .collect();
    c.sim_mut()
        .apply_fault(Fault::Partition(vec![follower.host], rest))
        .unwrap();
    let minority = format!("--endpoints={}", follower.spec.client_url);
    let out = err(&mut c, &format!("{minority} put /k v"));
    assert_eq!(out.text, "Error: context deadline exceeded\n");
    assert_eq!(out.status, 1);
    // Its status still answers: it is up, only cut off from its peers.
    let status = ok(&mut c, &format!("{minority} endpoint status"));
    assert!(status.starts_with(&follower.spec.client_url), "{status}");
    let leader_ep = c
        .etcd_members()
        .iter()
        .find(|m| m.spec.id == leader.member_id)
        .unwrap()
        .spec
        .client_url
        .clone();
    assert_eq!(
        ok(&mut c, &format!("--endpoints {leader_ep} put /k v")),
        "OK\n"
    );
    assert_eq!(
        ok(&mut c, "version"),
        "etcdctl version: 3.5.21\nAPI version: 3.5\n"
    );
}
