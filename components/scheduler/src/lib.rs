//! kubesim's kube-scheduler: the scheduling framework with Kubernetes' default plugins and
//! weights, the scheduling queue, preemption, and an explanation of every decision.
//!
//! | module | upstream (`pkg/scheduler/...`) |
//! |---|---|
//! | [`framework`] | `framework/` (extension points, CycleState, NodeInfo, FitError), `schedule_one.go`, `backend/cache` |
//! | [`plugins`] | `framework/plugins/*`: NodeResourcesFit, NodeResourcesBalancedAllocation, NodeName, NodeUnschedulable, NodePorts, TaintToleration, NodeAffinity, InterPodAffinity, PodTopologySpread, ImageLocality, DefaultPreemption |
//! | [`queue`] | `backend/queue` (activeQ, backoffQ, unschedulable pods, gates) |
//! | [`events`] | the Scheduled / FailedScheduling / Preempted events |
//! | [`explain`] | (kube-scheduler-simulator's view) per node: filter verdict, scores per plugin |
//! | [`actor`] | `scheduler.go`, `eventhandlers.go`, `cmd/kube-scheduler` leader election |
//!
//! The framework is pure code: [`framework::schedule::Algorithm::schedule`] takes a pod, the
//! cache ([`framework::Snapshot`]), the nominated pods and an RNG, and returns a placement or
//! a failure (with preemption's verdict) plus the [`framework::schedule::Decision`] that
//! [`explain::explain`] prints. `examples/bench.rs` drives it alone.
//!
//! # Wiring the actor into a cluster
//! - Config: [`SchedulerConfig::new`]`(apiserver_actor_ids, host_name)`; defaults are
//!   kube-scheduler's (`default-scheduler`, `--leader-elect=true` on the Lease
//!   `kube-system/kube-scheduler`, adaptive percentageOfNodesToScore, user
//!   `system:kube-scheduler`, which the bootstrap RBAC allows to bind, delete pods, patch
//!   pods/status, write events and leases).
//! - Envelope: [`KubeScheduler`] implements `sim::Actor<M>` for every `M: ApiEnvelope`; it
//!   has no messages of its own (it talks to the apiserver over streams only).
//! - Host: one per control-plane host, named `kube-scheduler`, e.g.
//!   `sim.add_actor(cp_host, "kube-scheduler", move |_| KubeScheduler::new(cfg.clone()))`
//!   (the factory runs again after a host restart: the cache is rebuilt from the informers,
//!   as a restarted process does). Several replicas elect one leader.
//! - Reading it: `sim.actor::<KubeScheduler>(id)` gives `explain("ns/name")` (a `Display`
//!   table), `decision(..)`, `decided_pods()`, `stats`, `is_leader()`; its log
//!   (`sim.logs(id)`, `client::klog` lines) has what kube-scheduler logs at its default
//!   verbosity: leader election (`leaderelection.go`), "Unable to schedule pod; no fit;
//!   waiting" (`schedule_one.go`), binding errors; not the V(2) "Successfully bound pod".
//! - Test-only: `SchedulerConfig::planted_bug_ignore_assumed_pods` (see its doc).
//!
//! FailedScheduling keeps Kubernetes' real text, which ends "pod.." (FitError appends "." to
//! preemption's message, itself ending in "."); FIDELITY F28 quotes it with one period.

pub mod actor;
pub mod events;
pub mod explain;
pub mod framework;
pub mod plugins;
pub mod queue;

pub use actor::{KubeScheduler, SchedulerConfig, SchedulerStats};
