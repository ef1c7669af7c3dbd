//! The etcd part of the cluster under faults: election, leader loss, minority partitions,
//! a returning old leader (pre-vote), and determinism of the whole run.

use cluster::{Cluster, EtcdValue, LeaderError, RequestError, Topology};
use sim::{Duration, Fault};
use store::mvcc::{PutRequest, WriteRequest, bytes};
use store::server::{RequestBody, ResponseBody};

fn ready_cluster(control_planes: u32, seed: u64) -> Cluster {
    let mut c = Cluster::build(Topology::new(control_planes, 1).with_seed(seed)).unwrap();
    let leader = c.run_until_etcd_ready(Duration::from_secs(10)).unwrap();
    assert!(leader.is_some(), "seed {seed}: no etcd leader within 10 s");
    c
}

fn put(key: &str, value: &str) -> RequestBody<EtcdValue> {
    RequestBody::Write(std::sync::Arc::new(WriteRequest::Put(PutRequest {
        key: bytes(key),
        value: EtcdValue::Raw(bytes(value)),
        lease: 0,
        prev_kv: false,
    })))
}

#[test]
fn hosts_are_named_as_kind_names_them() {
    let c = Cluster::build(Topology::new(3, 2)).unwrap();
    for name in [
        "kubesim-control-plane",
        "kubesim-control-plane2",
        "kubesim-control-plane3",
        "kubesim-worker",
        "kubesim-worker2",
    ] {
        let host = c.host(name).expect(name);
        assert_eq!(c.sim().host_name(host), Some(name));
    }
    let members: Vec<&str> = c
        .etcd_members()
        .iter()
        .map(|m| m.spec.name.as_str())
        .collect();
    assert_eq!(
        members,
        [
            "kubesim-control-plane",
            "kubesim-control-plane2",
            "kubesim-control-plane3"
        ]
    );
    assert!(c.host("kubesim-worker3").is_none());
}

#[test]
fn three_control_planes_elect_one_etcd_leader() {
    let c = ready_cluster(3, 1);
    let leader = c.etcd_leader().unwrap();
    assert!(leader.term >= 1);
    for m in c.etcd_members() {
        let s = c.etcd_status(m.spec.id).unwrap();
        assert_eq!(s.leader, Some(leader.member_id), "{}", m.spec.name);
    }
    assert_eq!(c.resolve_leader("etcd"), Ok(c.host(&leader.host).unwrap()));
}

#[test]
fn leader_targets_resolve_to_the_lease_holders() {
    let mut c = ready_cluster(1, 2);
    // kube-controller-manager and kube-scheduler take their Leases once the apiserver serves.
    c.sim_mut().run_for(Duration::from_secs(20)).unwrap();
    let cp = c.host("kubesim-control-plane").unwrap();
    assert_eq!(c.resolve_leader("kube-scheduler"), Ok(cp));
    assert_eq!(c.resolve_leader("kube-controller-manager"), Ok(cp));
    assert!(matches!(
        c.resolve_leader("coredns"),
        Err(LeaderError::Unknown { .. })
    ));
}

/// Crashes the leader's host and returns how long until a new leader is followed by every
/// live member.
fn time_to_new_leader(seed: u64) -> Duration {
    let mut c = ready_cluster(3, seed);
    // Let the cluster settle past its first election.
    c.sim_mut().run_for(Duration::from_secs(2)).unwrap();
    let old = c.etcd_leader().unwrap();
    let host = c.resolve_leader("etcd").unwrap();
    c.sim_mut().apply_fault(Fault::Crash(host)).unwrap();
    let crashed_at = c.sim().now();
    let new = c
        .run_until_etcd_ready(Duration::from_secs(10))
        .unwrap()
        .expect("a new leader");
    assert_ne!(new.member_id, old.member_id);
    assert!(new.term > old.term);
    c.sim().now() - crashed_at
}

#[test]
fn crash_of_the_leader_elects_a_new_one_within_two_election_timeouts() {
    // F1: election timeout 1 s; a follower notices after 1–2 s, then one pre-vote and one
    // vote round.
    for seed in 1..=10 {
        let took = time_to_new_leader(seed);
        assert!(
            took <= Duration::from_secs(3),
            "seed {seed}: new leader after {took:?}"
        );
        assert!(
            took >= Duration::from_millis(1000),
            "seed {seed}: a follower waits at least one election timeout, got {took:?}"
        );
    }
}

#[test]
fn minority_refuses_writes_while_majority_accepts_them() {
    let mut c = ready_cluster(3, 3);
    let leader = c.etcd_leader().unwrap();
    // Cut off one follower.
    let minority = c
        .etcd_members()
        .iter()
        .find(|m| m.spec.id != leader.member_id)
        .unwrap()
        .clone();
    let majority: Vec<_> = c
        .etcd_members()
        .iter()
        .filter(|m| m.spec.id != minority.spec.id)
        .cloned()
        .collect();
    c.sim_mut()
        .apply_fault(Fault::Partition(
            vec![minority.host],
            majority.iter().map(|m| m.host).collect(),
        ))
        .unwrap();
    let before = c.sim().now();
    let refused = c.etcd_request(
        minority.spec.id,
        put("/k", "minority"),
        Duration::from_secs(5),
    );
    assert!(matches!(refused, Err(RequestError::Timeout)), "{refused:?}");
    assert_eq!(c.sim().now() - before, Duration::from_secs(5));
    for m in &majority {
        let ok = c
            .etcd_request(m.spec.id, put("/k", &m.spec.name), Duration::from_secs(5))
            .unwrap();
        assert!(
            matches!(ok.result, Ok(ResponseBody::Write(_))),
            "{}: {:?}",
            m.spec.name,
            ok.result
        );
    }
    // The minority's value never got in; the majority's last write is what a read sees.
    let read = c
        .etcd_request(
            majority[0].spec.id,
            RequestBody::Range {
                request: store::mvcc::RangeRequest {
                    key: bytes("/k"),
                    ..Default::default()
                },
                serializable: false,
            },
            Duration::from_secs(5),
        )
        .unwrap();
    let Ok(ResponseBody::Range(r)) = read.result else {
        panic!("{:?}", read.result)
    };
    assert_eq!(r.kvs.len(), 1);
    assert_eq!(
        cluster::value_bytes(&r.kvs[0].value),
        majority[1].spec.name.as_bytes()
    );
}

#[test]
fn partitioned_old_leader_returns_without_bumping_the_term() {
    let mut c = ready_cluster(3, 4);
    let old = c.etcd_leader().unwrap();
    let others: Vec<_> = c
        .etcd_members()
        .iter()
        .filter(|m| m.spec.id != old.member_id)
        .map(|m| m.host)
        .collect();
    c.sim_mut()
        .apply_fault(Fault::Partition(vec![old.host_id], others))
        .unwrap();
    // The majority elects a new leader; the old one steps down (check-quorum) and keeps
    // failing pre-votes, which never raise its term.
    c.sim_mut().run_for(Duration::from_secs(10)).unwrap();
    let new = c.etcd_leader().unwrap();
    assert_ne!(new.member_id, old.member_id);
    let isolated = c.etcd_status(old.member_id).unwrap();
    assert!(
        isolated.raft_term < new.term || isolated.raft_term == old.term,
        "isolated member's term {} rose past the old term {} while alone",
        isolated.raft_term,
        old.term
    );
    assert_eq!(isolated.raft_term, old.term, "pre-vote keeps the term");
    c.sim_mut().apply_fault(Fault::Heal).unwrap();
    let after = c
        .run_until_etcd_ready(Duration::from_secs(5))
        .unwrap()
        .expect("leader after heal");
    assert_eq!(
        after.member_id, new.member_id,
        "the returning member does not depose it"
    );
    assert_eq!(after.term, new.term, "no election after the heal");
}

#[test]
fn same_seed_same_trace_hash() {
    let run = |seed: u64| {
        let mut c = ready_cluster(3, seed);
        let host = c.resolve_leader("etcd").unwrap();
        c.sim_mut().apply_fault(Fault::Crash(host)).unwrap();
        c.sim_mut().run_for(Duration::from_secs(5)).unwrap();
        let _ = c.etcd_request(
            c.etcd_members()[1].spec.id,
            put("/a", "b"),
            Duration::from_secs(5),
        );
        c.sim_mut().apply_fault(Fault::Restart(host)).unwrap();
        c.sim_mut().run_for(Duration::from_secs(5)).unwrap();
        (c.sim().trace_hash(), c.sim().events_processed())
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11).0, run(12).0);
}
