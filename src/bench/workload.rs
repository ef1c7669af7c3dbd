//! The whole-cluster workload of `bench cluster` and `bench steady`: a kind-like cluster of one
//! control-plane node and N workers with every node agent on (containerd, kubelet with its
//! Lease and status updates, kube-proxy), then Deployments totalling P replicas of the pause
//! image, at most [`MAX_REPLICAS_PER_DEPLOYMENT`] each, and one ClusterIP Service per
//! Deployment, created by the admin through the apiserver as soon as it is ready; then the
//! simulation runs until every pod is Running and every Service's EndpointSlices list all its
//! pods as ready.
//!
//! What is left out, and why: kind's kube-system addons (CoreDNS, the kube-proxy and kindnet
//! DaemonSets, local-path-provisioner) are off unless `--addons` is given, so the figures are
//! the workload's; the kube-proxy *actor* runs on every node either way (it programs the
//! rules), only its DaemonSet's pods are missing. The pause image is preloaded on kind's
//! nodes, so no pod waits for a pull (as ClusterLoader2's density test uses pause too).
//!
//! kube-controller-manager runs with `--kube-api-qps 100 --kube-api-burst 100` unless told
//! otherwise (`Shape::kcm_api_rate`): what upstream's scalability jobs give it at every size,
//! 100 nodes as 5,000 (kubernetes/test-infra, `sig-scalability-presets.yaml`,
//! `preset-e2e-scalability-common` and the kubemark preset), rather than its defaults of 20
//! and 30, at which a Deployment of 1,000 pods takes 50 s of virtual time to create.
//!
//! Convergence is read from etcd's applied state (`Cluster::stored_objects`), which never
//! changes the run; it is polled every 2% of the virtual time elapsed (at least 100 ms, at
//! most 5 s), so the virtual time to converge is exact to within that step.
//!
//! Pod startup latency (`--slo`) is measured as ClusterLoader2 measures it, by a
//! watch of the bench's pods from outside the nodes ([`cluster::pod_startup`]), installed once
//! the control plane is up and before the first Deployment. That watch is traffic of its own,
//! so a run with it is a different run (another trace hash) from one without.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;

use api::{Kind, Object};
use cluster::apiserver::{ApiRequest, UserInfo, Verb};
use cluster::pod_startup::{PodSelector, PodStartupLatencies};
use cluster::{Cluster, ComponentOptions, Topology};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use sim::{ActorId, Duration};
use store::mvcc::Bytes;

use super::measure::{Wall, cpu_seconds};
use crate::cli::BenchClusterFlags;

/// A Deployment is at most this large; bigger totals are split (ClusterLoader2's density
/// test also spreads pods over many controllers).
pub const MAX_REPLICAS_PER_DEPLOYMENT: u64 = 1000;
/// The image every pod runs: preloaded on kind nodes, ready once started.
const IMAGE: &str = "registry.k8s.io/pause:3.10";
/// The label key of the bench's workloads.
const LABEL: &str = "kubesim-bench";
/// Virtual time allowed for etcd and the apiserver to come up before the workload.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// How much virtual time the control plane's start runs between two looks at the budget.
const READY_STEP: Duration = Duration::from_secs(1);

/// What to build.
#[derive(Clone, Debug)]
pub struct Shape {
    pub workers: u32,
    pub pods: u64,
    pub seed: u64,
    pub cluster_cidr: Option<net::ClusterCidr>,
    pub addons: bool,
    /// kube-controller-manager's `--kube-api-qps` and `--kube-api-burst`.
    pub kcm_api_rate: (u32, u32),
    /// Watch the bench's pods with a [`cluster::pod_startup`] probe.
    pub pod_startup: bool,
}

impl Shape {
    pub fn new(
        flags: &BenchClusterFlags,
        workers: u32,
        pods: u64,
        cluster_cidr: Option<net::ClusterCidr>,
    ) -> Shape {
        Shape {
            workers,
            pods,
            seed: flags.seed,
            cluster_cidr,
            addons: flags.addons,
            kcm_api_rate: (flags.kcm_api_qps, flags.kcm_api_burst),
            pod_startup: false,
        }
    }
}

/// How far the workload has come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub running: u64,
    pub services_ready: u64,
}

/// A built cluster with the workload applied.
pub struct Workload {
    pub cluster: Cluster,
    /// Replicas per Service name.
    expected: BTreeMap<String, u64>,
    pub pods: u64,
    /// The setup ran out of wall budget before every object was created.
    pub cut_short: bool,
    bar: ProgressBar,
    /// What the convergence check took from each pod and EndpointSlice it read.
    seen: Seen,
    /// The pod startup probe, when the shape asks for one.
    probe: Option<ActorId>,
}

/// What the convergence check keeps of each pod and EndpointSlice, by key, with the revision
/// it read: a look decodes only the objects written since the last look (decoding all 3,000
/// pods of a 100-worker run at each look, every 2% of the run, would cost seconds).
#[derive(Default)]
struct Seen {
    /// Running in the default namespace with the bench's label.
    pods: BTreeMap<Bytes, (i64, bool)>,
    /// The slice's Service and how many endpoints it lists as ready.
    slices: BTreeMap<Bytes, (i64, Option<(String, u64)>)>,
}

/// `seen` brought up to `values`: entries whose revision is unchanged are kept, the others are
/// decoded and summarised by `facts`, deleted keys dropped.
fn refresh<T>(
    seen: &mut BTreeMap<Bytes, (i64, T)>,
    values: Vec<cluster::StoredObject>,
    facts: impl Fn(&Object) -> T,
    none: impl Fn() -> T,
) {
    let mut old = std::mem::take(seen);
    for v in values {
        let entry = match old.remove(&v.key) {
            Some(e) if e.0 == v.mod_revision => e,
            _ => {
                let f = v.encoded.decode().map_or_else(|_| none(), |o| facts(&o));
                (v.mod_revision, f)
            }
        };
        seen.insert(v.key, entry);
    }
}

fn running(o: &Object) -> bool {
    match o {
        Object::Pod(p) => {
            o.namespace() == "default"
                && o.labels().contains_key(LABEL)
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        }
        _ => false,
    }
}

fn ready_endpoints(o: &Object) -> Option<(String, u64)> {
    let Object::EndpointSlice(s) = o else {
        return None;
    };
    let service = o.labels().get("kubernetes.io/service-name")?;
    let n = s
        .endpoints
        .iter()
        .flatten()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
        .count() as u64;
    Some((service.clone(), n))
}

/// Why the workload could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("cannot build the cluster: {0}")]
    Build(#[from] cluster::ClusterError),
    #[error("the control plane was not ready within {READY_LIMIT}")]
    NotReady,
    #[error("the simulation stopped: {0}")]
    Finding(String),
    #[error("creating {what}: {why}")]
    Create { what: String, why: String },
}

fn manifests(name: &str, replicas: u64) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: default, labels: {{{LABEL}: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{{LABEL}: {name}}}}}
  template:
    metadata: {{labels: {{{LABEL}: {name}}}}}
    spec:
      containers:
      - name: pause
        image: {IMAGE}
        ports: [{{containerPort: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: default}}
spec:
  selector: {{{LABEL}: {name}}}
  ports: [{{port: 80, targetPort: 80}}]
"
    )
}

/// `pods` split into Deployments of at most [`MAX_REPLICAS_PER_DEPLOYMENT`], as even as can be.
pub fn split(pods: u64) -> Vec<u64> {
    let n = pods.div_ceil(MAX_REPLICAS_PER_DEPLOYMENT).max(1);
    (0..n).map(|i| pods / n + u64::from(i < pods % n)).collect()
}

fn progress_bar(pods: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(pods), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:30} {pos}/{len} pods Running  virtual {msg}  wall {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar
}

impl Workload {
    /// Builds the cluster, waits for the control plane, creates the Deployments and Services.
    /// Past `wall_budget` seconds of wall time (counted on `wall`) the setup stops where it
    /// is, between two steps of the control plane's start or two creates, and the workload
    /// comes back cut short: it then never counts as converged, and
    /// [`Workload::run_to_convergence`] returns at once (a large cluster can spend its whole
    /// budget here, and a child that overran it was killed by the parent instead of
    /// reporting how far it came).
    pub fn start(
        shape: &Shape,
        quiet: bool,
        wall: &Wall,
        wall_budget: f64,
    ) -> Result<Workload, WorkloadError> {
        let options = ComponentOptions {
            kube_system_addons: shape.addons,
            ..ComponentOptions::default()
        };
        let mut topology = Topology::new(1, shape.workers)
            .with_seed(shape.seed)
            .with_components(options)
            .with_controller_manager_api_rate(Some(shape.kcm_api_rate));
        if let Some(cidr) = shape.cluster_cidr {
            topology = topology.with_cluster_cidr(cidr);
        }
        let cluster = Cluster::build(topology)?;
        let mut workload = Workload {
            cluster,
            expected: BTreeMap::new(),
            pods: shape.pods,
            cut_short: false,
            bar: progress_bar(shape.pods, quiet),
            seen: Seen::default(),
            probe: None,
        };
        let over = || wall.seconds() > wall_budget;
        // The control plane's start, a virtual second at a time so that the budget is
        // looked at in between.
        let start = workload.cluster.sim().now();
        loop {
            if over() {
                workload.cut_short = true;
                return Ok(workload);
            }
            let waited = workload.cluster.sim().now().saturating_since(start);
            if waited >= READY_LIMIT {
                return Err(WorkloadError::NotReady);
            }
            let step = READY_STEP.min(READY_LIMIT.saturating_sub(waited));
            match workload.cluster.run_until_ready(step) {
                Ok(Some(_)) => break,
                Ok(None) => {}
                Err(f) => return Err(WorkloadError::Finding(format!("{f:?}"))),
            }
        }
        if shape.pod_startup {
            let selector = PodSelector {
                namespace: "default".into(),
                label_selector: LABEL.into(),
                ..PodSelector::default()
            };
            workload.probe = Some(
                workload
                    .cluster
                    .install_pod_startup_probe(selector)
                    .map_err(|e| WorkloadError::Finding(e.to_string()))?,
            );
        }
        let admin = UserInfo::admin();
        for (i, replicas) in split(shape.pods).into_iter().enumerate() {
            if over() {
                workload.cut_short = true;
                return Ok(workload);
            }
            let name = format!("bench-{i}");
            let objects =
                api::manifest::parse_objects(&manifests(&name, replicas)).map_err(|e| {
                    WorkloadError::Create {
                        what: name.clone(),
                        why: e.to_string(),
                    }
                })?;
            for object in objects {
                let what = format!("{:?} {name}", object.kind());
                let request = ApiRequest::new(
                    0,
                    admin.clone(),
                    object.kind(),
                    Verb::Create(Arc::new(object)),
                )
                .in_namespace("default");
                match workload
                    .cluster
                    .api_request(&admin, request, Duration::from_secs(30))
                {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        return Err(WorkloadError::Create {
                            what,
                            why: format!("{e:?}"),
                        });
                    }
                    Err(e) => {
                        return Err(WorkloadError::Create {
                            what,
                            why: e.to_string(),
                        });
                    }
                }
            }
            workload.expected.insert(name, replicas);
        }
        Ok(workload)
    }

    pub fn services(&self) -> u64 {
        self.expected.len() as u64
    }

    /// Pods Running and Services whose EndpointSlices list every replica as ready, read from
    /// etcd's state (looking changes nothing; only objects written since the last look are
    /// decoded).
    pub fn progress(&mut self) -> Progress {
        let pods = self.cluster.stored_values(Kind::Pod);
        refresh(&mut self.seen.pods, pods, running, || false);
        let slices = self.cluster.stored_values(Kind::EndpointSlice);
        refresh(&mut self.seen.slices, slices, ready_endpoints, || None);
        let running = self.seen.pods.values().filter(|(_, r)| *r).count() as u64;
        let mut ready: BTreeMap<&str, u64> = BTreeMap::new();
        for (service, n) in self.seen.slices.values().filter_map(|(_, f)| f.as_ref()) {
            *ready.entry(service.as_str()).or_default() += n;
        }
        let services_ready = self
            .expected
            .iter()
            .filter(|(name, want)| ready.get(name.as_str()) == Some(*want))
            .count() as u64;
        Progress {
            running,
            services_ready,
        }
    }

    pub fn converged(&self, p: Progress) -> bool {
        !self.cut_short && p.running == self.pods && p.services_ready == self.services()
    }

    /// Runs until the workload has converged or `wall_budget` seconds of wall time (counted
    /// on `wall`) have passed; the last progress, and whether it converged.
    pub fn run_to_convergence(
        &mut self,
        wall: &Wall,
        wall_budget: f64,
    ) -> Result<(Progress, bool), WorkloadError> {
        loop {
            let p = self.progress();
            self.show(p);
            if self.converged(p) {
                return Ok((p, true));
            }
            if self.cut_short || wall.seconds() > wall_budget {
                return Ok((p, false));
            }
            let now = self.cluster.sim().now();
            let step = Duration::from_nanos(now.as_nanos() / 50)
                .clamp(Duration::from_millis(100), Duration::from_secs(5));
            self.cluster
                .sim_mut()
                .run_until(now.saturating_add(step))
                .map_err(|f| WorkloadError::Finding(format!("{f:?}")))?;
        }
    }

    /// Updates the progress bar.
    pub fn show(&self, p: Progress) {
        self.bar.set_position(p.running);
        self.bar.set_message(format!(
            "{:.1}s  endpoints {}/{}",
            self.cluster.sim().now().since_start().as_secs_f64(),
            p.services_ready,
            self.services()
        ));
    }

    /// What the pod startup probe measured, if there is one.
    pub fn pod_startup(&self) -> Option<PodStartupLatencies> {
        self.probe
            .and_then(|p| self.cluster.pod_startup_latencies(p))
    }

    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }
}

/// Counters at a point of a run, to difference.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    pub virtual_seconds: f64,
    pub events: u64,
    pub cpu_seconds: f64,
}

impl Mark {
    pub fn of(cluster: &Cluster) -> Mark {
        Mark {
            virtual_seconds: cluster.sim().now().since_start().as_secs_f64(),
            events: cluster.sim().events_processed(),
            cpu_seconds: cpu_seconds().unwrap_or(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_split_into_deployments_of_at_most_a_thousand() {
        assert_eq!(split(10), [10]);
        assert_eq!(split(3000), [1000, 1000, 1000]);
        assert_eq!(split(2500), [834, 833, 833]);
        assert_eq!(split(150_000).len(), 150);
        assert_eq!(split(150_000).iter().sum::<u64>(), 150_000);
    }
}
