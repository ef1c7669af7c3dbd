//! The run report's data: what the recorder makes of a real run, that the recorded run is the
//! runner's run (same output, same trace hash), and the page's data handling.

mod common;

use std::path::Path;

use common::root;
use kubesim::report::{self, HostBand, Recorder};
use kubesim::runner::{self, RunOptions};
use kubesim::scenario;
use sim::Time;

fn load(name: &str) -> scenario::Loaded {
    scenario::load(&root().join("scenarios").join(name)).expect("scenario loads")
}

/// The etcd tour: a partition of a worker, a leader crash and rejoin.
fn etcd_tour() -> scenario::Loaded {
    scenario::load_str(
        kubesim::tour::ETCD_TOUR,
        Path::new("scenarios/etcd-tour.ron"),
    )
    .expect("tour loads")
}

fn runner_output(loaded: &scenario::Loaded) -> (runner::RunOutcome, String) {
    let mut out = Vec::new();
    let outcome = runner::run(loaded, &RunOptions::default(), &mut out).expect("runs");
    (outcome, String::from_utf8(out).expect("utf-8"))
}

/// Recording watches the runner; it must not change what the run does or prints.
#[test]
fn a_recorded_run_is_the_runners_run() {
    for file in common::scenario_files() {
        let loaded = scenario::load(&file).expect("scenario loads");
        let name = file.display();
        let (outcome, printed) = runner_output(&loaded);
        let recorded = report::run_recorded(&loaded, None, None).expect("records");
        assert_eq!(recorded.outcome, outcome, "{name}");
        assert_eq!(recorded.transcript, printed, "{name}");
        // Every step the runner reached has its block of the transcript, in order.
        let steps = &recorded.timeline.steps;
        if outcome.verdict == runner::Verdict::Pass {
            assert_eq!(steps.len(), loaded.scenario.steps.len() + 1, "{name}");
        }
        for (record, step) in steps.iter().skip(1).zip(&loaded.scenario.steps) {
            assert_eq!(record.command, runner::step_header(step), "{name}");
        }
        assert!(steps.windows(2).all(|w| w[0].at <= w[1].at), "{name}");
    }
}

#[test]
fn the_narrated_tour_records_what_the_cli_prints() {
    let loaded = etcd_tour();
    let mut out = Vec::new();
    let mut narrator = kubesim::tour::EtcdTourNarrator::new();
    let outcome = runner::run_narrated(
        &loaded,
        &RunOptions::default(),
        &mut out,
        Some(&mut narrator),
    )
    .expect("runs");
    let mut narrator = kubesim::tour::EtcdTourNarrator::new();
    let recorded = report::run_recorded(&loaded, None, Some(&mut narrator)).expect("records");
    assert_eq!(recorded.outcome, outcome);
    assert_eq!(recorded.transcript, String::from_utf8(out).unwrap());
}

#[test]
fn the_leader_loss_timeline_shows_the_crash_and_the_new_term() {
    let loaded = load("etcd-leader-loss.ron");
    let recorded = report::run_recorded(&loaded, None, None).expect("records");
    let t = &recorded.timeline;
    assert_eq!(t.meta.scenario, "etcd-leader-loss.ron");
    assert_eq!(t.meta.seed, 7);
    assert_eq!(t.meta.verdict, "pass");
    assert_eq!(t.meta.duration, recorded.outcome.virtual_time.as_nanos());
    // The cluster's header, then one record per step.
    assert_eq!(t.steps.len(), loaded.scenario.steps.len() + 1);
    assert!(t.steps[0].command.starts_with("# kind create cluster"));
    assert_eq!(t.steps[1].command, "$ etcdctl endpoint status -w table");
    assert!(t.steps[1].output.contains("| IS LEADER |"));
    for pair in t.steps.windows(2) {
        assert!(pair[0].at <= pair[1].at && pair[0].end == pair[1].at);
    }
    // The fault: one crash, of the node that led, at the fault step's time.
    assert_eq!(t.faults.len(), 1);
    let fault = &t.faults[0];
    assert_eq!(fault.at, t.steps[3].at);
    let crashed = &fault.hosts[0];
    assert_eq!(fault.label, format!("Crash({crashed})"));
    let first_leader = t
        .etcd
        .iter()
        .find_map(|s| s.leader.clone())
        .expect("a leader");
    assert_eq!(&first_leader.0, crashed, "the leader's node crashed");
    // Its lane: up until the crash, crashed to the end; the others up all along.
    let lane = t.hosts.iter().find(|h| &h.name == crashed).unwrap();
    assert_eq!(lane.intervals.len(), 2);
    assert_eq!(
        (lane.intervals[0].state, lane.intervals[0].to),
        (HostBand::Up, fault.at)
    );
    assert_eq!(
        (lane.intervals[1].state, lane.intervals[1].to),
        (HostBand::Crashed, t.meta.duration)
    );
    for other in t.hosts.iter().filter(|h| &h.name != crashed) {
        assert_eq!(other.intervals.len(), 1, "{}", other.name);
        assert_eq!(other.intervals[0].state, HostBand::Up);
    }
    // etcd: no leader while electing, then the first leader, then a new one in a higher term.
    let leaders: Vec<_> = t.etcd.iter().filter_map(|s| s.leader.clone()).collect();
    assert_eq!(leaders.len(), 2, "{:?}", t.etcd);
    assert_ne!(leaders[1].0, leaders[0].0);
    assert!(leaders[1].1 > leaders[0].1);
    assert!(t.etcd.windows(2).all(|w| w[0].to == w[1].from));
    assert_eq!(t.etcd.last().unwrap().to, t.meta.duration);
}

#[test]
fn the_tour_timeline_has_the_partition_and_the_rejoin() {
    let recorded = report::run_recorded(&etcd_tour(), None, None).expect("records");
    let t = &recorded.timeline;
    let worker = t.hosts.iter().find(|h| h.name == "kubesim-worker").unwrap();
    let bands: Vec<HostBand> = worker.intervals.iter().map(|i| i.state).collect();
    assert_eq!(
        bands,
        [HostBand::Up, HostBand::Partitioned, HostBand::Up],
        "{worker:?}"
    );
    // The four nodes on the majority side lost only the worker: not partitioned.
    let worker2 = t
        .hosts
        .iter()
        .find(|h| h.name == "kubesim-worker2")
        .unwrap();
    assert_eq!(worker2.intervals.len(), 1, "{worker2:?}");
    let heal = t.faults.iter().find(|f| f.label == "Heal").unwrap();
    assert_eq!(worker.intervals[1].to, heal.at);
    // The crashed leader came back with RestartAll.
    let restart = t
        .faults
        .iter()
        .find(|f| f.label.starts_with("Restart("))
        .unwrap();
    let lane = t.hosts.iter().find(|h| h.name == restart.hosts[0]).unwrap();
    let bands: Vec<(HostBand, u64)> = lane.intervals.iter().map(|i| (i.state, i.from)).collect();
    assert_eq!(bands[1].0, HostBand::Crashed);
    assert_eq!(bands[2], (HostBand::Up, restart.at));
}

#[test]
fn sampling_a_cluster_records_its_hosts_and_etcd_leaders() {
    let mut cluster = cluster::Cluster::build(cluster::Topology::new(3, 1).with_seed(5)).unwrap();
    let mut r = Recorder::for_cluster("direct", "", 5, &cluster);
    let poll = sim::Duration::from_millis(10);
    let run_for = |cluster: &mut cluster::Cluster, r: &mut Recorder, d: sim::Duration| {
        let end = cluster.sim().now() + d;
        while cluster.sim().now() < end {
            let next = (cluster.sim().now() + poll).min(end);
            cluster.sim_mut().run_until(next).unwrap();
            r.sample(cluster.sim().now(), cluster);
        }
    };
    run_for(&mut cluster, &mut r, sim::Duration::from_secs(3));
    let leader = cluster.resolve_leader("etcd").unwrap();
    let worker = cluster.host("kubesim-worker").unwrap();
    let crash_at = cluster.sim().now();
    for fault in [
        sim::Fault::Crash(leader),
        sim::Fault::Pause(worker, sim::Duration::from_secs(1)),
    ] {
        cluster.sim_mut().apply_fault(fault.clone()).unwrap();
        r.on_fault(cluster.sim().now(), &fault);
    }
    run_for(&mut cluster, &mut r, sim::Duration::from_secs(3));
    let end = cluster.sim().now();
    let t = r.finish_at(end, "pass");
    let name = cluster.sim().host_name(leader).unwrap().to_string();
    assert_eq!(t.hosts.len(), 4);
    assert_eq!(
        t.faults
            .iter()
            .map(|f| f.label.as_str())
            .collect::<Vec<_>>(),
        [
            format!("Crash({name})"),
            "Pause(kubesim-worker, 1s)".to_string()
        ]
    );
    let lane = |n: &str| {
        t.hosts
            .iter()
            .find(|h| h.name == n)
            .unwrap()
            .intervals
            .iter()
            .map(|i| (i.from, i.to, i.state))
            .collect::<Vec<_>>()
    };
    let at = crash_at.as_nanos();
    assert_eq!(
        lane(&name),
        [
            (0, at, HostBand::Up),
            (at, end.as_nanos(), HostBand::Crashed)
        ]
    );
    // The pause ends on its own; the sample 10 ms later only confirms it.
    let worker_lane = lane("kubesim-worker");
    assert_eq!(worker_lane[1], (at, at + 1_000_000_000, HostBand::Paused));
    assert_eq!(worker_lane[2].2, HostBand::Up);
    let leaders: Vec<_> = t.etcd.iter().filter_map(|s| s.leader.clone()).collect();
    assert_eq!(leaders.len(), 2, "{:?}", t.etcd);
    assert_eq!(leaders[0].0, name);
    assert!(leaders[1].1 > leaders[0].1);
}

#[test]
fn recorder_keeps_changes_only_and_closes_at_the_end() {
    let mut r = Recorder::new("synthetic", "", 1);
    r.add_host("a", "worker", false);
    for ms in 0..1000 {
        r.series(
            "Deployment ready replicas/web",
            Time::from_millis(ms),
            (ms / 100) as f64,
        );
        r.pods(Time::from_millis(ms), "a", "Running", 3);
    }
    r.host_state(Time::from_secs(2), "a", report::EngineState::Paused);
    r.host_state(Time::from_secs(3), "a", report::EngineState::Up);
    r.partitioned(Time::from_secs(3), "a", true);
    r.lease(
        Time::from_secs(1),
        "kube-system/kube-scheduler",
        Some("cp1"),
    );
    r.lease(Time::from_secs(4), "kube-system/kube-scheduler", None);
    r.deployment_ready(Time::from_secs(4), "web", 3);
    let t = r.finish_at(Time::from_secs(5), "pass");
    assert_eq!(t.series.len(), 1);
    assert_eq!(t.series[0].chart, "Deployment ready replicas");
    assert_eq!(t.series[0].name, "web");
    assert_eq!(t.series[0].points.len(), 10 + 1);
    assert_eq!(t.pods[0].phases[0].1, vec![(0, 3.0)]);
    let states: Vec<_> = t.hosts[0]
        .intervals
        .iter()
        .map(|i| (i.from / 1_000_000_000, i.to / 1_000_000_000, i.state))
        .collect();
    assert_eq!(
        states,
        [
            (0, 2, HostBand::Up),
            (2, 3, HostBand::Paused),
            (3, 5, HostBand::Partitioned)
        ]
    );
    let holders: Vec<_> = t.leases[0].spans.iter().map(|s| s.state.clone()).collect();
    assert_eq!(holders, [None, Some("cp1".to_string()), None]);
}

#[test]
fn objects_give_pods_per_node_deployments_and_lease_holders() {
    use api::k8s_openapi::api::{apps::v1 as apps, coordination::v1 as coord, core::v1 as core};
    use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let meta = |ns: &str, name: &str| ObjectMeta {
        namespace: Some(ns.to_string()),
        name: Some(name.to_string()),
        ..ObjectMeta::default()
    };
    // A Running pod here is ready; `ready` below makes one that is not.
    let pod = |name: &str, node: Option<&str>, phase: Option<&str>| {
        api::Object::from(core::Pod {
            metadata: meta("default", name),
            spec: Some(core::PodSpec {
                node_name: node.map(str::to_string),
                ..core::PodSpec::default()
            }),
            status: Some(core::PodStatus {
                phase: phase.map(str::to_string),
                conditions: Some(vec![core::PodCondition {
                    type_: "Ready".to_string(),
                    status: "True".to_string(),
                    ..core::PodCondition::default()
                }]),
                ..core::PodStatus::default()
            }),
        })
    };
    let unready = |name: &str, node: &str| match pod(name, Some(node), Some("Running")) {
        api::Object::Pod(mut p) => {
            p.status.as_mut().unwrap().conditions = None;
            api::Object::from(p)
        }
        _ => unreachable!(),
    };
    let deployment = |ready: Option<i32>| {
        api::Object::from(apps::Deployment {
            metadata: meta("default", "web"),
            status: Some(apps::DeploymentStatus {
                ready_replicas: ready,
                ..apps::DeploymentStatus::default()
            }),
            ..apps::Deployment::default()
        })
    };
    let lease = |ns: &str, name: &str, holder: &str| {
        api::Object::from(coord::Lease {
            metadata: meta(ns, name),
            spec: Some(coord::LeaseSpec {
                holder_identity: Some(holder.to_string()),
                ..coord::LeaseSpec::default()
            }),
        })
    };
    let mut r = Recorder::new("objects", "", 1);
    let first = [
        pod("a", Some("kubesim-worker"), Some("Running")),
        pod("b", Some("kubesim-worker"), Some("Running")),
        pod("c", Some("kubesim-worker2"), None),
        pod("d", None, None),
        deployment(None),
        lease("kube-system", "kube-scheduler", "kubesim-control-plane_1"),
        lease("kube-node-lease", "kubesim-worker", "kubesim-worker"),
    ];
    r.observe_objects(Time::from_secs(1), &first);
    let second = [
        pod("a", Some("kubesim-worker"), Some("Running")),
        pod("c", Some("kubesim-worker2"), Some("Running")),
        unready("e", "kubesim-worker2"),
        deployment(Some(2)),
        lease("kube-system", "kube-scheduler", "kubesim-control-plane2_7"),
    ];
    r.observe_objects(Time::from_secs(2), &second);
    let t = r.finish_at(Time::from_secs(3), "pass");
    let phases = |node: &str| {
        t.pods
            .iter()
            .find(|n| n.node == node)
            .map(|n| n.phases.clone())
            .unwrap_or_default()
    };
    let s = |v: u64| v * 1_000_000_000;
    assert_eq!(
        phases("kubesim-worker"),
        [("Running".to_string(), vec![(s(1), 2.0), (s(2), 1.0)])]
    );
    assert_eq!(
        phases("kubesim-worker2"),
        [
            ("Pending".to_string(), vec![(s(1), 1.0), (s(2), 0.0)]),
            ("Running".to_string(), vec![(s(2), 1.0)]),
            ("Running (not ready)".to_string(), vec![(s(2), 1.0)])
        ]
    );
    assert_eq!(
        phases(report::UNSCHEDULED),
        [("Pending".to_string(), vec![(s(1), 1.0), (s(2), 0.0)])]
    );
    // Ready replicas, and the desired count next to them (spec.replicas defaults to 1).
    assert_eq!(t.series.len(), 2);
    assert_eq!(t.series[0].chart, report::DEPLOYMENT_CHART);
    assert_eq!(t.series[0].name, "default/web");
    assert_eq!(t.series[0].points, [(s(1), 0.0), (s(2), 2.0)]);
    assert_eq!(t.series[1].name, "default/web (desired)");
    assert_eq!(t.series[1].points, [(s(1), 1.0)]);
    assert_eq!(t.leases.len(), 1, "node heartbeats are not leader election");
    assert_eq!(t.leases[0].name, "kube-system/kube-scheduler");
    let holders: Vec<_> = t.leases[0]
        .spans
        .iter()
        .map(|i| (i.from, i.state.clone()))
        .collect();
    assert_eq!(
        holders,
        [
            (0, None),
            (s(1), Some("kubesim-control-plane_1".to_string())),
            (s(2), Some("kubesim-control-plane2_7".to_string()))
        ]
    );
}

fn series<'t>(t: &'t report::Timeline, chart: &str, name: &str) -> &'t report::Series {
    t.series
        .iter()
        .find(|s| s.chart == chart && s.name == name)
        .unwrap_or_else(|| panic!("no series {chart}/{name} in {:?}", series_names(t)))
}

fn series_names(t: &report::Timeline) -> Vec<String> {
    t.series
        .iter()
        .map(|s| format!("{}/{}", s.chart, s.name))
        .collect()
}

/// The value a step function holds at `at`.
fn value_at(points: &[(u64, f64)], at: u64) -> f64 {
    points
        .iter()
        .take_while(|p| p.0 <= at)
        .last()
        .map_or(0.0, |p| p.1)
}

/// The DESIGN example, recorded: the lanes the issue asks for show what the transcript says.
#[test]
fn the_worker_loss_report_has_leases_pods_deployments_and_traffic() {
    let loaded = load("nginx-survives-worker-loss.ron");
    let recorded = report::run_recorded(&loaded, None, None).expect("records");
    let t = &recorded.timeline;
    let crash = t
        .faults
        .iter()
        .find(|f| f.label == "Crash(kubesim-worker2)")
        .expect("the crash")
        .at;
    let end = t.meta.duration;
    let s = |v: u64| v * 1_000_000_000;
    // Leader election: one control plane, so it holds both Leases all along once acquired.
    let lanes: Vec<&str> = t.leases.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        lanes,
        [
            "kube-system/kube-controller-manager",
            "kube-system/kube-scheduler"
        ]
    );
    for lane in &t.leases {
        let held = lane.spans.last().unwrap();
        assert!(
            held.state
                .as_deref()
                .is_some_and(|h| h.starts_with("kubesim-control-plane_")),
            "{lane:?}"
        );
        assert_eq!(held.to, end);
        assert!(held.from < s(15), "{lane:?}");
    }
    // The node's Ready condition: True before the crash, not True from the node monitor's
    // grace period on (F12: 50 s, checked every 5 s), while the engine says crashed.
    let worker2 = t
        .hosts
        .iter()
        .find(|h| h.name == "kubesim-worker2")
        .unwrap();
    let ready_at = |at: u64| {
        worker2
            .ready
            .iter()
            .find(|i| i.from <= at && at < i.to)
            .and_then(|i| i.state.clone())
    };
    assert_eq!(
        ready_at(crash - 1).as_deref(),
        Some("True"),
        "{:?}",
        worker2.ready
    );
    assert_eq!(ready_at(crash + s(40)).as_deref(), Some("True"));
    assert_eq!(ready_at(crash + s(60)).as_deref(), Some("Unknown"));
    // Pods per node: worker2's nginx pod runs, is marked not ready after the grace period,
    // and is Terminating (it cannot be confirmed on a dead node) after the 300 s toleration.
    let states = |node: &str, at: u64| -> Vec<(String, f64)> {
        t.pods
            .iter()
            .find(|n| n.node == node)
            .map(|n| {
                n.phases
                    .iter()
                    .map(|(p, pts)| (p.clone(), value_at(pts, at)))
                    .filter(|(_, v)| *v > 0.0)
                    .collect()
            })
            .unwrap_or_default()
    };
    let running_before = states("kubesim-worker2", crash - 1);
    assert!(
        running_before
            .iter()
            .any(|(p, n)| p == "Running" && *n >= 1.0),
        "{running_before:?}"
    );
    let later = states("kubesim-worker2", crash + s(120));
    assert!(
        later.iter().any(|(p, _)| p == "Running (not ready)"),
        "{later:?}"
    );
    assert!(!later.iter().any(|(p, _)| p == "Running"), "{later:?}");
    let at_end = states("kubesim-worker2", end - 1);
    assert!(at_end.iter().any(|(p, _)| p == "Terminating"), "{at_end:?}");
    // The Deployment: 3 ready before the crash, 2 while the pod is not ready, 3 at the end
    // (the replacement), against 3 desired all along.
    let ready = series(t, report::DEPLOYMENT_CHART, "default/nginx-deployment");
    assert_eq!(
        value_at(&ready.points, crash - 1),
        3.0,
        "{:?}",
        ready.points
    );
    assert_eq!(value_at(&ready.points, crash + s(120)), 2.0);
    assert_eq!(value_at(&ready.points, end), 3.0);
    let desired = series(
        t,
        report::DEPLOYMENT_CHART,
        "default/nginx-deployment (desired)",
    );
    assert_eq!(value_at(&desired.points, end), 3.0);
    // Traffic: 50 requests/s answered before the crash; timeouts after it (clients still
    // routed to the dead pod until its endpoint goes), none at the start.
    let chart = format!("{}: default/nginx", report::SERVICE_CHART);
    // Clients on three live nodes (worker2's stopped with it) at 50/4 requests/s each.
    let answered = series(t, &chart, "answered");
    let most = answered.points.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!((30.0..=60.0).contains(&most), "{:?}", answered.points);
    assert!(value_at(&answered.points, end - s(10)) > 25.0);
    // Requests routed to the dead pod time out from the crash until its endpoint is removed
    // (the node monitor's 50 s grace period, then the EndpointSlice and proxy syncs), and
    // never again.
    let timeouts = series(t, &chart, "timed out");
    assert!(
        value_at(&timeouts.points, crash + s(30)) > 0.0,
        "{:?}",
        timeouts.points
    );
    let (last_at, last) = *timeouts.points.last().unwrap();
    assert_eq!(last, 0.0);
    assert!(
        (crash + s(50)..=crash + s(75)).contains(&last_at),
        "{:?}",
        timeouts.points
    );
    // The counters agree with what `Expect(traffic_errors)` judged: the run fails at ~5.6%.
    assert_eq!(t.meta.verdict, "fail");
}

/// `Crash(Leader("kube-controller-manager"))` on three control planes: the Lease stays with
/// the crashed holder until it expires (15 s after its last renewal), then another replica
/// takes it.
#[test]
fn a_controller_manager_leader_crash_hands_the_lease_over() {
    let text = r#"Scenario(
        cluster: (control_planes: 3, workers: 0),
        steps: [
            Sleep("10s"),
            Fault(Crash(Leader("kube-controller-manager"))),
            Sleep("30s"),
        ],
    )"#;
    let loaded = scenario::load_str(text, Path::new("lease-handover.ron")).expect("loads");
    let recorded = report::run_recorded(&loaded, None, None).expect("records");
    let t = &recorded.timeline;
    let crash = &t.faults[0];
    let crashed = &crash.hosts[0];
    let lane = t
        .leases
        .iter()
        .find(|l| l.name == "kube-system/kube-controller-manager")
        .expect("the Lease lane");
    let holders: Vec<(u64, Option<String>)> = lane
        .spans
        .iter()
        .map(|i| {
            let node = i
                .state
                .as_deref()
                .map(|h| h.split('_').next().unwrap().to_string());
            (i.from, node)
        })
        .collect();
    let held_by = |node: &str| {
        holders
            .iter()
            .filter(|h| h.1.as_deref() == Some(node))
            .count()
    };
    // Held by the crashed node before the crash, and still for a while after it.
    let before = holders.iter().rev().find(|h| h.0 <= crash.at).unwrap();
    assert_eq!(before.1.as_deref(), Some(crashed.as_str()), "{holders:?}");
    let (last_from, last) = holders.last().unwrap().clone();
    let successor = last.expect("someone holds it at the end");
    assert_ne!(&successor, crashed, "{holders:?}");
    assert_eq!(held_by(&successor), 1);
    // Taken over within the lease duration (15 s) and a retry period (2 s) or so, not before
    // the old lease could have expired.
    let s = |v: u64| v * 1_000_000_000;
    assert!(last_from > crash.at + s(3), "{holders:?}");
    assert!(last_from <= crash.at + s(20), "{holders:?}");
}

#[test]
fn downsampling_keeps_extremes_and_the_last_value() {
    let points: Vec<(u64, f64)> = (0..100_000u64)
        .map(|i| (i * 1_000, if i == 51_234 { 99.0 } else { (i % 7) as f64 }))
        .collect();
    let small = report::downsample(&points, 100_000_000, 1500, 500);
    assert!(small.len() <= 500 * 4, "{}", small.len());
    assert!(small.len() > 500);
    assert!(small.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(small.iter().any(|p| p.1 == 99.0), "the spike survives");
    assert_eq!(small.last(), points.last());
    let few = &points[..100];
    assert_eq!(report::downsample(few, 100_000_000, 1500, 500), few);
}

#[test]
fn step_output_cannot_end_the_data_block() {
    let mut r = Recorder::new("x</title><script>alert(1)</script>", "", 3);
    r.on_step(
        Time::ZERO,
        "$ etcdctl get </script>",
        "</script><!-- ]]> & \u{2028}",
    );
    let html = report::render_html(&r.finish_at(Time::from_secs(1), "pass"));
    assert_eq!(html.matches("</script>").count(), 2, "only the page's own");
    assert!(html.contains("kubesim report: x&lt;/title&gt;&lt;script&gt;"));
    assert!(!html.contains("<!-- ]]>"));
}

/// Refreshes docs/report-example.html from the narrated tour:
/// `cargo test --release --test report_timeline -- --ignored write_the_docs_example`.
#[test]
#[ignore = "writes docs/report-example.html; run it to refresh the example"]
fn write_the_docs_example() {
    let mut narrator = kubesim::tour::EtcdTourNarrator::new();
    let recorded = report::run_recorded(&etcd_tour(), None, Some(&mut narrator)).expect("records");
    let html = report::render_html(&recorded.timeline);
    std::fs::write(root().join("docs/report-example.html"), html).expect("writes the example");
}

#[test]
fn the_page_needs_no_network() {
    let mut r = Recorder::new("offline", "", 1);
    r.add_host("kubesim-worker", "worker", false);
    let html = report::render_html(&r.finish_at(Time::from_secs(1), "pass"));
    for needle in [
        "http:",
        "https:",
        "src=",
        "url(",
        "@import",
        "@font-face",
        "<link",
    ] {
        assert!(!html.contains(needle), "the page refers to {needle}");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
}

/// An `After` fault is drawn when it lands, not when its step ran: the control plane's lane is
/// crashed for exactly the 20 s between the crash and the restart, though the step that wrote
/// the restart ran at the crash's instant.
#[test]
fn an_after_fault_is_drawn_when_it_lands() {
    let loaded = load("repair-lands-on-the-clock.ron");
    let recorded = report::run_recorded(&loaded, None, None).expect("records");
    let t = &recorded.timeline;
    let labels: Vec<&str> = t.faults.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Crash(kubesim-control-plane)",
            "Restart(kubesim-control-plane)"
        ]
    );
    assert_eq!(t.faults[1].at - t.faults[0].at, 20_000_000_000);
    let lane = t
        .hosts
        .iter()
        .find(|h| h.name == "kubesim-control-plane")
        .unwrap();
    let crashed = lane
        .intervals
        .iter()
        .find(|i| i.state == HostBand::Crashed)
        .expect("a crashed interval");
    assert_eq!((crashed.from, crashed.to), (t.faults[0].at, t.faults[1].at));
}
