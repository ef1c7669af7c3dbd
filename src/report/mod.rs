//! Run reports: a [`Timeline`] of what a run did (hosts up/crashed/paused/partitioned, etcd's
//! leader and term, leader-election Lease holders, every fault, pods per node by phase,
//! Deployment ready replicas, Service request and error rates, and the step transcript),
//! built during the run by a [`Recorder`], and drawn by [`render_html`] as one
//! self-contained HTML file (`kubesim run FILE --report run.html`).
//!
//! # What the runner calls (src/runner.rs)
//! Four calls, all cheap; the report is exact to the runner's 10 ms poll:
//! 1. After `build(loaded, seed)`:
//!    `let mut rec = Recorder::for_cluster(file_name, &scenario.description, seed, &cluster);`
//! 2. Right after each successful `sim_mut().apply_fault(f)` (in `Runner::fault`):
//!    `rec.on_fault(cluster.sim().now(), &f);` — marks the fault and updates host bands
//!    (partitions are known only from here).
//! 3. After `run_until_ready`, in `Runner::sleep`'s poll loop after each
//!    `run_until(slice_end)`, and after every step: `rec.sample(cluster.sim().now(), &cluster);`
//!    Once the cluster exposes the objects an apiserver holds (see below), also
//!    `rec.observe_objects(now, objects)` at the same places (every second is enough): pods
//!    per node by phase, Deployment ready replicas, leader-election Lease holders.
//!    Components that land later add their values at the same places with
//!    `rec.pods(t, node, phase, n)`, `rec.deployment_ready(t, name, ready)`,
//!    `rec.service_traffic(t, service, requests_per_s, errors_per_s)`,
//!    `rec.lease(t, "kube-system/kube-scheduler", holder)` or the generic
//!    `rec.series("chart/line", t, value)`.
//! 4. After each step (and once for the `kind create cluster` header), with the step's start
//!    time, its header (`runner::step_header`) and what it printed under it:
//!    `rec.on_step(started_at, &header, &output);` — then, at the end,
//!    `let html = render_html(&rec.finish(&outcome));` written to the `--report` path.
//!
//! Missing in the cluster today: a way to read the objects an apiserver holds without sending
//! it a request (a request would advance the clock and change the run). `KubeApiServer` only
//! counts them (`cached(kind)`); an accessor such as
//! `Cluster::cached_objects(&self) -> impl Iterator<Item = &api::Object>`, read from a ready
//! apiserver's watch cache, is all [`Recorder::observe_objects`] needs.
//!
//! Until then, [`run_recorded`] gets the same timeline from outside: it runs the scenario
//! with the real runner (`runner::run_narrated`: same output, verdict and trace hash) and
//! records from the runner's public hooks — the [`crate::runner::Narrator`] calls (the
//! cluster at the start; before/after etcd views, resolved fault targets and leader changes
//! per executed step) and the printed text, split at the step headers.
//! docs/report-example.html was made that way from the narrated built-in tour
//! (`cargo test --release --test report_timeline -- --ignored write_the_docs_example`).

mod drive;
mod html;
mod recorder;
mod timeline;

pub use drive::{Recorded, run_recorded, run_recorded_with};
pub use html::{MAX_SERIES_POINTS, MAX_STEP_OUTPUT, POD_COLUMNS, downsample, render_html};
pub use recorder::{DEPLOYMENT_CHART, EngineState, Recorder, SERVICE_CHART, UNSCHEDULED};
pub use timeline::{
    FaultMark, HostBand, HostLane, Interval, LeaderSpan, LeaseLane, Nanos, NodePods, RunMeta,
    Series, StepRecord, Timeline,
};
