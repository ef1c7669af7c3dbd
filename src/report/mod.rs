//! Run reports: a [`Timeline`] of what a run did (hosts up/crashed/paused/partitioned and
//! their Node's Ready condition, etcd's leader and term, leader-election Lease holders, every
//! fault, pods per node by state, Deployment ready and desired replicas, Service requests and
//! failures per second, and the step transcript), built during the run by a [`Recorder`], and
//! drawn by [`render_html`] as one self-contained HTML file (`kubesim run FILE --report
//! run.html`; `kubesim fuzz` writes one next to each reproducer).
//!
//! # How a run is recorded
//! [`run_recorded`] runs the scenario with the real runner (`runner::run_narrated`: same
//! output, verdict and trace hash) and records from the runner's public hooks, all read-only:
//! - [`crate::runner::Narrator::start`]: the cluster's nodes become lanes; every node's
//!   kube-proxy traffic counters are kept (shared counters, read once at the end);
//! - [`crate::runner::Narrator::observe`], which the runner calls at every 10 ms poll of a
//!   `Sleep` and at the end of every step: at each step's end and at most once per
//!   [`OBJECT_SAMPLE_PERIOD`] (1 s of virtual time) otherwise, the engine's host states, etcd's leader, and the Pods, Deployments, Leases and Nodes
//!   etcd holds (`Cluster::stored_objects`, components/cluster/src/inspect.rs) go to
//!   [`Recorder::sample`] and [`Recorder::observe_objects`]; the series keep changes only;
//! - [`crate::runner::Narrator::after_step`]: before/after etcd views, resolved fault targets
//!   and the leader changes seen at the 10 ms poll;
//! - the printed text, split at the step headers, for the transcript;
//! - at the end, each Service's per-second counters ([`Recorder::service_per_second`]).
//!
//! So the timeline is exact to 10 ms for etcd leaders and faults, to 1 s for objects while a
//! `Sleep` runs, and to the second for traffic. Time spent inside other steps (a
//! `kubectl wait`, an etcdctl command waiting out a crashed member) is sampled at the step's
//! end only: the runner's kubectl and etcdctl sessions do not call the narrator.
//!
//! Other callers can drive a [`Recorder`] directly (`for_cluster`, `on_fault`, `sample`,
//! `observe_objects`, `on_step`, `finish`) or fill its generic series (`pods`,
//! `deployment_ready`, `service_traffic`, `lease`, `node_ready`, `series`), as the synthetic
//! 100-node test does. docs/report-example.html is the narrated etcd tour
//! (`kubesim run --tour etcd --report docs/report-example.html`).

mod drive;
mod html;
pub mod objects;
mod recorder;
mod timeline;

pub use drive::{OBJECT_SAMPLE_PERIOD, Recorded, run_recorded, run_recorded_with};
pub use html::{MAX_SERIES_POINTS, MAX_STEP_OUTPUT, POD_COLUMNS, downsample, render_html};
pub use recorder::{
    DEPLOYMENT_CHART, DESIRED_SUFFIX, EngineState, Recorder, SERVICE_CHART, TRAFFIC_LINES,
    UNSCHEDULED,
};
pub use timeline::{
    FaultMark, HostBand, HostLane, Interval, LeaderSpan, LeaseLane, Nanos, NodePods, RunMeta,
    Series, StepRecord, Timeline,
};
