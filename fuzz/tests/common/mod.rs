//! A fuzz harness over the whole cluster without the scenario runner, for the planted-bug
//! tests: build a small kind-like cluster with the cluster's invariants installed, create a
//! workload through the apiserver, play a generated schedule on the engine, then demand
//! liveness (`Cluster::converged`) within a bounded settle time. `Err` names what broke: an
//! engine finding (the cluster invariants, Raft safety, a panic) or liveness.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use cluster::apiserver::{ApiRequest, UserInfo, Verb};
use cluster::{Cluster, ComponentOptions, Topology};
use fuzz::{Case, FaultSpec, Schedule, ScheduleBounds, Target, run_case, run_seed};
use sim::Duration;

/// What a campaign runs.
pub struct Setup {
    pub control_planes: u32,
    pub workers: u32,
    /// Each node's capacity (`cpu`, `memory`, `pods`).
    pub capacity: &'static [(&'static str, &'static str)],
    /// Created through the apiserver once the nodes have registered.
    pub workload: &'static str,
    /// Plants the bug under test.
    pub plant: fn(Topology) -> Topology,
    /// Time after the settle period for the cluster to converge.
    pub liveness: Duration,
}

fn host(cluster: &Cluster, t: &Target) -> Result<Option<sim::HostId>, String> {
    match t {
        Target::Node(n) => cluster
            .host(n)
            .map(Some)
            .ok_or_else(|| format!("no node {n}")),
        // No leader right now: nothing to fault, as the runner treats it.
        Target::Leader(c) => Ok(cluster.resolve_leader(c).ok()),
    }
}

fn hosts(cluster: &Cluster, ts: &[Target]) -> Result<Vec<sim::HostId>, String> {
    Ok(ts
        .iter()
        .map(|t| host(cluster, t))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect())
}

/// The engine's fault for a schedule's fault (`None`: its target did not resolve).
pub fn engine_fault(cluster: &Cluster, f: &FaultSpec) -> Result<Option<sim::Fault>, String> {
    let one = |t: &Target| host(cluster, t);
    Ok(match f {
        FaultSpec::Partition(a, b) => Some(sim::Fault::Partition(
            hosts(cluster, a)?,
            hosts(cluster, b)?,
        )),
        FaultSpec::OneWay { from, to } => Some(sim::Fault::OneWay {
            from: hosts(cluster, from)?,
            to: hosts(cluster, to)?,
        }),
        FaultSpec::Heal => Some(sim::Fault::Heal),
        FaultSpec::Loss(p) => Some(sim::Fault::Loss { host: None, p: *p }),
        FaultSpec::LossAt(t, p) => one(t)?.map(|h| sim::Fault::Loss {
            host: Some(h),
            p: *p,
        }),
        FaultSpec::LatencyAt(t, d) => one(t)?.map(|h| sim::Fault::Latency {
            host: Some(h),
            d: *d,
        }),
        FaultSpec::Crash(t) => one(t)?.map(sim::Fault::Crash),
        FaultSpec::Restart(t) => one(t)?.map(sim::Fault::Restart),
        FaultSpec::Pause(t, d) => one(t)?.map(|h| sim::Fault::Pause(h, *d)),
        FaultSpec::Skew(t, ns) => one(t)?.map(|h| sim::Fault::Skew(h, *ns)),
        FaultSpec::DiskLoss(t) => one(t)?.map(sim::Fault::DiskLoss),
    })
}

fn create_all(cluster: &mut Cluster, yaml: &str) -> Result<(), String> {
    let docs = api::manifest::parse(yaml).map_err(|e| e.to_string())?;
    for (i, doc) in docs.into_iter().enumerate() {
        let o = Arc::new(doc.object);
        let req = ApiRequest::new(
            1000 + i as u64,
            UserInfo::admin(),
            o.kind(),
            Verb::Create(o),
        )
        .in_namespace("default");
        match cluster.api_request(&UserInfo::admin(), req, Duration::from_secs(10)) {
            Ok(Ok(_)) => {}
            other => return Err(format!("creating the workload: {other:?}")),
        }
    }
    Ok(())
}

impl Setup {
    pub fn node_names(&self) -> Vec<String> {
        Topology::new(self.control_planes, self.workers)
            .nodes()
            .map(|ns| ns.into_iter().map(|n| n.name).collect())
            .unwrap_or_default()
    }

    /// Runs one schedule; `Err` says which invariant or liveness check failed.
    pub fn check(&self, schedule: &Schedule, seed: u64, planted: bool) -> Result<(), String> {
        let capacity: BTreeMap<String, String> = self
            .capacity
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let options = ComponentOptions {
            capacity: Some(capacity),
            ..ComponentOptions::default()
        };
        let mut topology = Topology::new(self.control_planes, self.workers)
            .with_seed(seed)
            .with_components(options);
        if planted {
            topology = (self.plant)(topology);
        }
        let mut c = Cluster::build(topology).map_err(|e| e.to_string())?;
        c.install_invariants();
        let engine = |f: sim::Finding| format!("invariant: {f}");
        if c.run_until_ready(Duration::from_secs(30))
            .map_err(engine)?
            .is_none()
        {
            return Err("the control plane was not ready".into());
        }
        // Nodes register and report their allocatable, as `kind create cluster` waits.
        c.sim_mut()
            .run_for(Duration::from_secs(15))
            .map_err(engine)?;
        create_all(&mut c, self.workload)?;
        let start = c.sim().now();
        for f in schedule.timeline() {
            c.sim_mut().run_until(start + f.at).map_err(engine)?;
            if let Some(fault) = engine_fault(&c, &f.fault)? {
                c.sim_mut().apply_fault(fault).map_err(|e| e.to_string())?;
            }
        }
        c.sim_mut()
            .run_until(start + schedule.span())
            .map_err(engine)?;
        // Liveness: converged within the bound, polled every second.
        let deadline = c.sim().now() + self.liveness;
        loop {
            let why = match c.converged(Duration::from_secs(60)) {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if c.sim().now() >= deadline {
                return Err(format!("liveness: not converged: {why}"));
            }
            let next = (c.sim().now() + Duration::from_secs(1)).min(deadline);
            c.sim_mut().run_until(next).map_err(engine)?;
        }
    }

    /// The first failing case of `runs` runs rooted at `campaign_seed`, if any.
    pub fn campaign(
        &self,
        bounds: &ScheduleBounds,
        campaign_seed: u64,
        runs: u64,
        max_shrink_runs: u32,
        planted: bool,
    ) -> Option<(u64, Case)> {
        let strategy = fuzz::schedule_strategy(bounds);
        (0..runs).find_map(|i| {
            let seed = run_seed(campaign_seed, i);
            let case = run_case(&strategy, seed, max_shrink_runs, |s| {
                self.check(s, seed, planted)
            });
            case.failed().then_some((seed, case))
        })
    }
}

/// Asserts what a planted-bug test promises: the campaign finds the bug, shrinks it to at
/// most 5 episodes, the minimal schedule fails again with the bug and passes without it.
pub fn assert_found_and_shrunk(setup: &Setup, found: Option<(u64, Case)>, runs: u64) {
    let Some((seed, case)) = found else {
        panic!("{runs} runs did not find the planted bug");
    };
    let Case::Failed {
        original,
        minimal,
        failure,
        shrink_runs,
        ..
    } = case
    else {
        unreachable!("campaign returns failed cases only")
    };
    eprintln!(
        "seed {seed}: {} episodes shrunk to {} in {shrink_runs} runs: {failure}\n{}",
        original.fault_count(),
        minimal.fault_count(),
        fuzz::render::onset_steps(&minimal.onsets(), minimal.span()).join(",\n")
    );
    assert!(minimal.fault_count() <= 5, "{minimal:?}");
    assert!(minimal.fault_count() <= original.fault_count());
    assert!(
        setup.check(&minimal, seed, true).is_err(),
        "the reproducer replays"
    );
    assert_eq!(
        setup.check(&minimal, seed, false),
        Ok(()),
        "the same schedule passes without the bug"
    );
}
