//! The framework on small clusters, against scores computed by hand in the comments.

use std::sync::Arc;

use api::Object;
use sim::SimRng;

use super::profile::Profile;
use super::schedule::{Algorithm, Decision, Nominator};
use super::{PodInfo, Snapshot};
use crate::explain::explain;

fn obj(yaml: &str) -> Arc<Object> {
    let mut objs = api::manifest::parse_objects(yaml).expect("test manifest parses");
    Arc::new(objs.remove(0))
}

fn node(name: &str, cpu: &str, memory: &str, extra: &str) -> Arc<Object> {
    obj(&format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n    kubernetes.io/hostname: {name}\n{extra}status:\n  allocatable: {{cpu: \"{cpu}\", memory: {memory}, pods: \"110\"}}\n"
    ))
}

fn pod(name: &str, cpu: &str, memory: &str, priority: i32, extra_spec: &str) -> PodInfo {
    let o = obj(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\n  uid: uid-{name}\n  labels: {{app: {name}}}\nspec:\n  priority: {priority}\n  containers:\n  - name: c\n    image: nginx:1.25\n    resources:\n      requests: {{cpu: \"{cpu}\", memory: {memory}}}\n{extra_spec}"
    ));
    PodInfo::new(o).expect("a pod")
}

fn bound(mut p: PodInfo, node: &str) -> Arc<PodInfo> {
    p.node_name = node.to_string();
    Arc::new(p)
}

/// kind's shape: a tainted control plane and three workers; worker2 runs a 2-CPU pod;
/// worker3 is smaller.
fn four_nodes() -> Snapshot {
    let mut s = Snapshot::new();
    s.upsert_node(node(
        "kubesim-control-plane",
        "4",
        "8Gi",
        "spec:\n  taints:\n  - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}\n",
    ));
    s.upsert_node(node("kubesim-worker", "4", "8Gi", ""));
    s.upsert_node(node("kubesim-worker2", "4", "8Gi", ""));
    s.upsert_node(node("kubesim-worker3", "2", "4Gi", ""));
    s.upsert_bound_pod(bound(pod("busy", "2", "1Gi", 0, ""), "kubesim-worker2"));
    s.refresh();
    s
}

fn run(snap: &Snapshot, p: &PodInfo) -> Decision {
    let mut alg = Algorithm::new(Profile::default_profile());
    let mut rng = SimRng::fork(1, "test");
    alg.schedule(p, snap, &Nominator::default(), &mut rng).1
}

fn total(d: &Decision, node: &str) -> Option<i64> {
    d.nodes()
        .iter()
        .find(|v| &*v.node == node && v.rejected.is_none())
        .map(|v| v.total())
}

#[test]
fn placement_matches_hand_computed_scores() {
    let snap = four_nodes();
    let d = run(&snap, &pod("web", "1", "1Gi", 0, ""));
    // TaintToleration: no PreferNoSchedule taints, all 0 -> reversed 100, x3 = 300.
    // NodeResourcesFit (LeastAllocated, non-zero requests):
    //   worker:  cpu (4000-1000)*100/4000 = 75, mem 7Gi*100/8Gi = 87 -> (75+87)/2 = 81
    //   worker2: cpu (4000-3000)*100/4000 = 25, mem 6Gi*100/8Gi = 75 -> 50
    //   worker3: cpu (2000-1000)*100/2000 = 50, mem 3Gi*100/4Gi = 75 -> 62
    // BalancedAllocation: |cpu - mem| / 2:
    //   worker:  |0.25 - 0.125|/2 = 0.0625 -> 93; worker2: |0.75-0.25|/2 -> 75;
    //   worker3: |0.5 - 0.25|/2 = 0.125 -> 87
    // ImageLocality: no images anywhere -> 0.
    assert_eq!(total(&d, "kubesim-worker"), Some(300 + 81 + 93));
    assert_eq!(total(&d, "kubesim-worker2"), Some(300 + 50 + 75));
    assert_eq!(total(&d, "kubesim-worker3"), Some(300 + 62 + 87));
    assert_eq!(d.outcome, Ok("kubesim-worker".to_string()));
    let nodes = d.nodes();
    let cp = nodes
        .iter()
        .find(|v| &*v.node == "kubesim-control-plane")
        .unwrap();
    let why = cp.rejected.as_ref().unwrap();
    assert_eq!(
        (why.plugin, why.message().as_str()),
        ("TaintToleration", "node(s) had untolerated taint(s)")
    );
    // Skipped: PodTopologySpread and InterPodAffinity have nothing to do; NodeAffinity has no
    // preferred terms.
    let scorers: Vec<&str> = d.scorers.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        scorers,
        [
            "TaintToleration",
            "NodeResourcesFit",
            "NodeResourcesBalancedAllocation",
            "ImageLocality"
        ]
    );
    let table = explain(&d).to_string();
    let want = "\
pod default/web: 4 node(s) in the cluster, 4 evaluated
result: scheduled to kubesim-worker
filters skipped (nothing to check for this pod): PodTopologySpread, InterPodAffinity
scores skipped (nothing to score for this pod): NodeAffinity, PodTopologySpread, InterPodAffinity
NODE                    FILTER                                              TaintToleration (x3)   NodeResourcesFit (x1)   NodeResourcesBalancedAllocation (x1)   ImageLocality (x1)   TOTAL
kubesim-control-plane   TaintToleration: node(s) had untolerated taint(s)   -                      -                       -                                      -                    -
kubesim-worker          passed                                              0 -> 100 = 300         81 -> 81 = 81           93 -> 93 = 93                          0 -> 0 = 0           474
kubesim-worker2         passed                                              0 -> 100 = 300         50 -> 50 = 50           75 -> 75 = 75                          0 -> 0 = 0           425
kubesim-worker3         passed                                              0 -> 100 = 300         62 -> 62 = 62           87 -> 87 = 87                          0 -> 0 = 0           449
(scores: raw -> normalized = normalized x weight)
";
    assert_eq!(table, want);
}

#[test]
fn preferred_node_affinity_and_image_locality_move_the_choice() {
    let mut snap = four_nodes();
    // worker3 holds the image (500 MiB) and carries the preferred label.
    snap.upsert_node(obj(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: kubesim-worker3\n  labels: \
         {kubernetes.io/hostname: kubesim-worker3, disk: ssd}\nstatus:\n  allocatable: \
         {cpu: \"2\", memory: 4Gi, pods: \"110\"}\n  images:\n  - names: \
         [\"docker.io/library/nginx:1.25\", \"nginx:1.25\"]\n    sizeBytes: 524288000\n",
    ));
    snap.refresh();
    let p = pod(
        "web",
        "1",
        "1Gi",
        0,
        "  affinity:\n    nodeAffinity:\n      preferredDuringSchedulingIgnoredDuringExecution:\n      - weight: 50\n        preference:\n          matchExpressions: [{key: disk, operator: In, values: [ssd]}]\n",
    );
    let d = run(&snap, &p);
    // NodeAffinity: worker3 50 -> normalized 100, x2 = 200; others 0.
    // ImageLocality: 500 MiB x 1/4 of the nodes = 125 MiB; (125-23)*100/(1000-23) = 10.
    assert_eq!(total(&d, "kubesim-worker3"), Some(300 + 200 + 62 + 87 + 10));
    assert_eq!(total(&d, "kubesim-worker"), Some(300 + 81 + 93));
    assert_eq!(d.outcome, Ok("kubesim-worker3".to_string()));
}

#[test]
fn fit_error_counts_reasons_and_preemption_finds_no_victims() {
    let snap = four_nodes();
    let mut alg = Algorithm::new(Profile::default_profile());
    let mut rng = SimRng::fork(1, "test");
    let (r, _) = alg.schedule(
        &pod("huge", "5", "1Gi", 0, ""),
        &snap,
        &Nominator::default(),
        &mut rng,
    );
    let f = r.unwrap_err();
    assert_eq!(
        f.message,
        "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 Insufficient cpu. \
         preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, \
         3 No preemption victims found for incoming pod.."
    );
    let plugins = &f.fit_error.unwrap().diagnosis.unschedulable_plugins;
    assert!(plugins.contains("NodeResourcesFit") && plugins.contains("TaintToleration"));
}

#[test]
fn preemption_picks_the_node_with_the_least_important_victims() {
    let mut snap = Snapshot::new();
    snap.upsert_node(node("n1", "2", "4Gi", ""));
    snap.upsert_node(node("n2", "2", "4Gi", ""));
    snap.upsert_bound_pod(bound(pod("low", "1500m", "1Gi", 10, ""), "n1"));
    snap.upsert_bound_pod(bound(pod("mid", "1500m", "1Gi", 100, ""), "n2"));
    snap.refresh();
    let mut alg = Algorithm::new(Profile::default_profile());
    let mut rng = SimRng::fork(1, "test");
    let (r, d) = alg.schedule(
        &pod("urgent", "1", "1Gi", 1000, ""),
        &snap,
        &Nominator::default(),
        &mut rng,
    );
    let f = r.unwrap_err();
    let p = f.preemption.unwrap();
    assert_eq!(p.nominated_node.as_deref(), Some("n1"));
    assert_eq!(
        p.victims
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        ["low"]
    );
    // A successful preemption adds nothing to the event's message.
    assert_eq!(f.message, "0/2 nodes are available: 2 Insufficient cpu.");
    assert_eq!(d.victims, ["default/low"]);
    // preemptionPolicy Never: not eligible.
    let never = pod("polite", "1", "1Gi", 1000, "  preemptionPolicy: Never\n");
    let (r, _) = alg.schedule(&never, &snap, &Nominator::default(), &mut rng);
    assert_eq!(
        r.unwrap_err().message,
        "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to \
         preemptionPolicy=Never.."
    );
}

#[test]
fn nominated_pods_hold_their_room_against_lower_priority_pods() {
    let mut snap = Snapshot::new();
    snap.upsert_node(node("n1", "2", "4Gi", ""));
    snap.refresh();
    let mut nominator = Nominator::default();
    nominator.nominate(Arc::new(pod("urgent", "1500m", "1Gi", 1000, "")), "n1");
    let mut alg = Algorithm::new(Profile::default_profile());
    let mut rng = SimRng::fork(1, "test");
    let (r, _) = alg.schedule(
        &pod("small", "1", "1Gi", 0, ""),
        &snap,
        &nominator,
        &mut rng,
    );
    assert!(
        r.unwrap_err()
            .message
            .starts_with("0/1 nodes are available: 1 Insufficient cpu.")
    );
    let (r, _) = alg.schedule(
        &pod("vip", "1", "1Gi", 2000, ""),
        &snap,
        &nominator,
        &mut rng,
    );
    assert_eq!(r.unwrap().node, "n1");
}

fn zoned(snap: &mut Snapshot, name: &str, zone: &str) {
    snap.upsert_node(node(
        name,
        "4",
        "8Gi",
        &format!("    topology.kubernetes.io/zone: {zone}\n"),
    ));
}

#[test]
fn anti_affinity_and_topology_spread_filter_by_zone() {
    let mut snap = Snapshot::new();
    zoned(&mut snap, "a1", "a");
    zoned(&mut snap, "a2", "a");
    zoned(&mut snap, "b1", "b");
    zoned(&mut snap, "c1", "c");
    let mut web = |name: &str, node: &str| {
        let mut p = pod(name, "100m", "64Mi", 0, "");
        Arc::make_mut(&mut p.obj)
            .metadata_mut()
            .labels
            .get_or_insert_default()
            .insert("app".into(), "web".into());
        snap.upsert_bound_pod(bound(PodInfo::new(p.obj.clone()).unwrap(), node));
    };
    web("web-1", "a1");
    web("web-2", "a2");
    web("web-3", "b1");
    snap.refresh();
    let anti = pod(
        "web",
        "100m",
        "64Mi",
        0,
        "  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector: {matchLabels: {app: web}}\n        topologyKey: topology.kubernetes.io/zone\n",
    );
    let d = run(&snap, &anti);
    assert_eq!(d.outcome, Ok("c1".to_string()));
    let nodes = d.nodes();
    let rejected: Vec<(&str, String)> = nodes
        .iter()
        .filter_map(|v| v.rejected.as_ref().map(|s| (&*v.node, s.message())))
        .collect();
    assert_eq!(rejected.len(), 3);
    assert!(
        rejected
            .iter()
            .all(|(_, m)| m == "node(s) didn't match pod anti-affinity rules")
    );

    // maxSkew 1 over zones for app=web: a has 2, b 1, c 0; a pod labelled app=web may go to
    // c (skew 1) or b (2 - 0 = 2 > 1: no).
    let mut spread = pod(
        "web-4",
        "100m",
        "64Mi",
        0,
        "  topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: topology.kubernetes.io/zone\n    whenUnsatisfiable: DoNotSchedule\n    labelSelector: {matchLabels: {app: web}}\n",
    );
    Arc::make_mut(&mut spread.obj)
        .metadata_mut()
        .labels
        .get_or_insert_default()
        .insert("app".into(), "web".into());
    let spread = PodInfo::new(spread.obj.clone()).unwrap();
    let d = run(&snap, &spread);
    assert_eq!(d.outcome, Ok("c1".to_string()));
    let reasons: Vec<String> = d
        .nodes()
        .iter()
        .filter_map(|v| v.rejected.as_ref().map(|s| s.message()))
        .collect();
    assert_eq!(
        reasons,
        vec!["node(s) didn't match pod topology spread constraints"; 3]
    );
}

#[test]
fn system_default_spread_prefers_the_emptier_zone_and_node() {
    let mut snap = Snapshot::new();
    zoned(&mut snap, "a1", "a");
    zoned(&mut snap, "b1", "b");
    let mut p = pod("web-0", "100m", "64Mi", 0, "");
    p.default_spread_selector = vec![api::selector::Selector::parse("app=web-0").unwrap()].into();
    snap.upsert_bound_pod(bound(pod("web-0", "100m", "64Mi", 0, ""), "a1"));
    snap.refresh();
    let mut incoming = pod("web-0", "100m", "64Mi", 0, "");
    incoming.uid = "uid-new".into();
    incoming.name = "web-1".into();
    incoming.default_spread_selector = p.default_spread_selector.clone();
    let d = run(&snap, &incoming);
    // zone: a has 1 matching pod, b 0; two zones -> weight ln(4); hostname likewise ln(4).
    // a1: 1*ln4 + 4 + 1*ln4 + 2 = 8.77 -> 9; b1: 0 + 4 + 0 + 2 = 6.
    // Normalized: 100 * (9 + 6 - s) / 9: a1 66, b1 100; x2.
    let spread = |node: &str| {
        d.nodes()
            .iter()
            .find(|v| &*v.node == node)
            .and_then(|v| v.scores.iter().find(|s| s.plugin == "PodTopologySpread"))
            .map(|s| (s.raw, s.normalized))
    };
    assert_eq!(spread("a1"), Some((9, 66)));
    assert_eq!(spread("b1"), Some((6, 100)));
    assert_eq!(d.outcome, Ok("b1".to_string()));
}

#[test]
fn node_list_interleaves_zones_and_the_window_rotates() {
    let mut snap = Snapshot::new();
    for i in 0..200 {
        zoned(
            &mut snap,
            &format!("n{i:03}"),
            if i < 150 { "a" } else { "b" },
        );
    }
    snap.refresh();
    // Node tree order: one node of each zone in turn while both have nodes.
    let first: Vec<&str> = snap.iter().take(4).map(|n| &*n.name).collect();
    assert_eq!(first, ["n000", "n150", "n001", "n151"]);
    let mut alg = Algorithm::new(Profile::default_profile());
    let mut rng = SimRng::fork(1, "test");
    let p = pod("web", "100m", "64Mi", 0, "");
    // 200 nodes: every one fits, 100 (the minimum) are examined, and the next cycle starts
    // where this one stopped.
    let (r, d) = alg.schedule(&p, &snap, &Nominator::default(), &mut rng);
    assert_eq!(r.unwrap().evaluated_nodes, 100);
    assert_eq!(&*d.nodes()[0].node, "n000");
    assert_eq!(alg.next_start_node_index(), 100);
    let (_, d) = alg.schedule(&p, &snap, &Nominator::default(), &mut rng);
    assert_eq!(&*d.nodes()[0].node, &*snap.node(snap.ordered()[100]).name);
    assert_eq!(alg.next_start_node_index(), 0);
}

/// PodTopologySpread's batch scores (per-domain terms, the per-cycle memo of zone and count,
/// the normalization table) equal its per-node scores and upstream's normalization, for the
/// system defaults, counts past the memo, a node without a zone, and the pod's own
/// constraints.
#[test]
fn topology_spread_batch_scores_equal_per_node_scores() {
    use crate::framework::{CycleState, Plugin};
    use crate::plugins::pod_topology_spread::PodTopologySpread;

    let mut s = Snapshot::new();
    for i in 0..130 {
        let zone = if i == 7 {
            String::new()
        } else {
            format!("    topology.kubernetes.io/zone: z{}\n", i % 3)
        };
        s.upsert_node(node(&format!("n{i}"), "64", "256Gi", &zone));
    }
    s.refresh();
    let web = |i: usize| {
        let mut p = pod(&format!("w{i}"), "10m", "1Mi", 0, "");
        p.default_spread_selector = vec![api::selector::Selector::parse("app=web").unwrap()].into();
        let mut o = (*p.obj).clone();
        o.metadata_mut()
            .labels
            .get_or_insert_with(Default::default)
            .insert("app".into(), "web".into());
        PodInfo {
            obj: Arc::new(o),
            ..p
        }
    };
    let check_on = |s: &Snapshot, p: &PodInfo, feasible: &[usize]| {
        let plugin = PodTopologySpread;
        let mut state = CycleState::default();
        let feasible = feasible.to_vec();
        if plugin.pre_score(&mut state, p, s, &feasible).code == super::Code::Skip {
            return;
        }
        let mut batch = Vec::new();
        plugin.score_nodes(&state, p, s, &feasible, &mut batch);
        let one: Vec<i64> = feasible
            .iter()
            .map(|slot| plugin.score(&state, p, s.node(*slot), s))
            .collect();
        assert_eq!(batch, one);
        let mut normalized = one.clone();
        plugin.normalize_score(&state, p, &mut normalized);
        let real = one.iter().filter(|v| **v != -1);
        let (min, max) = (
            real.clone().copied().min().unwrap_or(i64::MAX),
            real.copied().max().unwrap_or(0).max(0),
        );
        let upstream: Vec<i64> = one
            .iter()
            .map(|v| match *v {
                -1 => 0,
                _ if max == 0 => 100,
                v => 100 * (max + min - v) / max,
            })
            .collect();
        assert_eq!(normalized, upstream);
    };
    // All nodes (hostname terms by domain) and fewer nodes than hostnames (kept counts read
    // per node, and the memo of zone and count: 3 zones x 32 counts <= 100 nodes).
    let check = |s: &Snapshot, p: &PodInfo| {
        check_on(s, p, s.ordered());
        check_on(s, p, &s.ordered()[..100]);
    };
    // Pile pods on a few nodes so counts pass the memo's 32 per node.
    for round in 0..80 {
        let p = web(round);
        check(&s, &p);
        let target = match round % 4 {
            0 | 1 => "n1".to_string(),
            2 => "n7".to_string(),
            _ => format!("n{}", round % 130),
        };
        s.assume(Arc::new(p), &target);
    }
    let own = pod(
        "own",
        "10m",
        "1Mi",
        0,
        "  topologySpreadConstraints:\n  - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}\n  - {maxSkew: 2, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}\n",
    );
    check(&s, &own);
}

/// NodeResourcesFit's and BalancedAllocation's batch scores, remembered per slot across
/// cycles ([`super::score_memo`]), equal their per-node scores while pods of a few request
/// shapes (more than the memo tells apart, now and then) land on nodes, are forgotten, and
/// nodes are resized, removed and added.
#[test]
fn memoized_resource_scores_equal_per_node_scores() {
    use crate::framework::{CycleState, Plugin};
    use crate::plugins::balanced_allocation::BalancedAllocation;
    use crate::plugins::node_resources_fit::NodeResourcesFit;

    let mut s = Snapshot::new();
    for i in 0..40 {
        s.upsert_node(node(
            &format!("n{i}"),
            &format!("{}", 4 + i % 3),
            "16Gi",
            "",
        ));
    }
    s.refresh();
    let plugins: [&dyn Plugin; 2] = [&NodeResourcesFit, &BalancedAllocation];
    let check = |s: &Snapshot, p: &PodInfo| {
        let state = CycleState::default();
        for plugin in plugins {
            // Twice: the second read comes from the memo.
            for _ in 0..2 {
                let mut batch = Vec::new();
                plugin.score_nodes(&state, p, s, s.ordered(), &mut batch);
                let one: Vec<i64> = s
                    .ordered()
                    .iter()
                    .map(|slot| plugin.score(&state, p, s.node(*slot), s))
                    .collect();
                assert_eq!(batch, one, "{} for {}", plugin.name(), p.name);
            }
        }
    };
    let mut rng = SimRng::fork(3, "memo");
    let mut placed: Vec<String> = Vec::new();
    for round in 0..400 {
        // Mostly three shapes; every fifth pod a new one: 83 in all, past the memo's 64 pairs.
        let shape = if round % 5 == 4 { round } else { round % 3 };
        let p = pod(
            &format!("p{round}"),
            &format!("{}m", 50 + 70 * shape),
            &format!("{}Mi", 64 + 32 * (shape % 7)),
            0,
            "",
        );
        check(&s, &p);
        let target = format!("n{}", rng.below(40));
        placed.push(p.key());
        s.assume(Arc::new(p), &target);
        match round % 25 {
            5 => {
                let k = placed.remove(rng.below(placed.len() as u64) as usize);
                s.forget(&k);
            }
            11 => s.upsert_node(node(&format!("n{}", rng.below(40)), "9", "20Gi", "")),
            17 => {
                let n = format!("n{}", rng.below(40));
                s.remove_node(&n);
                s.refresh();
                check(&s, &pod("between", "100m", "64Mi", 0, ""));
                s.upsert_node(node(&n, "3", "8Gi", ""));
            }
            _ => {}
        }
        s.refresh();
    }
}

/// The cache's count of flagged nodes says "none" exactly when no slot's facts carry the
/// flag (filters and scores skip their pass then), through cordons, taints and removals.
#[test]
fn flag_counts_follow_the_facts() {
    use crate::framework::node_facts::{PREFER_NO_SCHEDULE_TAINT, TAINTED, UNSCHEDULABLE};

    let check = |s: &Snapshot| {
        for flag in [UNSCHEDULABLE, TAINTED, PREFER_NO_SCHEDULE_TAINT] {
            let scan = s.facts().iter().any(|f| f.has(flag));
            assert_eq!(s.any_flagged(flag), scan, "flag {flag}");
        }
    };
    let mut s = four_nodes();
    check(&s);
    assert!(s.any_flagged(TAINTED) && !s.any_flagged(UNSCHEDULABLE));
    let cordoned =
        "spec:\n  unschedulable: true\n  taints:\n  - {key: a, effect: PreferNoSchedule}\n";
    s.upsert_node(node("kubesim-worker", "4", "8Gi", cordoned));
    check(&s);
    assert!(s.any_flagged(UNSCHEDULABLE) && s.any_flagged(PREFER_NO_SCHEDULE_TAINT));
    s.upsert_node(node("kubesim-worker", "4", "8Gi", ""));
    check(&s);
    assert!(!s.any_flagged(UNSCHEDULABLE) && !s.any_flagged(PREFER_NO_SCHEDULE_TAINT));
    s.upsert_node(node("kubesim-worker4", "4", "8Gi", cordoned));
    s.remove_node("kubesim-worker4");
    check(&s);
    s.remove_node("kubesim-control-plane");
    s.upsert_node(node("kubesim-control-plane", "4", "8Gi", ""));
    check(&s);
}
