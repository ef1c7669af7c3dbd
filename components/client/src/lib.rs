//! kubesim's client library: what client-go is to Kubernetes. The pieces every controller,
//! the scheduler, kubelets and kube-proxy share.
//!
//! | module | client-go counterpart |
//! |---|---|
//! | [`api_client`] | the REST transport: requests by id, timeouts, reads retried on another apiserver |
//! | [`informer`] | `Reflector` + `SharedIndexInformer`: list, watch, 410 relist, backoff, resync |
//! | [`informer_factory`] | `SharedInformerFactory`: one informer per resource per process |
//! | [`indexer`] | `cache.Indexer` and listers (namespace, `spec.nodeName`, controller uid) |
//! | [`rate_limiter`], [`workqueue`] | `util/workqueue`: rate-limited, delaying, deduplicating queue |
//! | [`controller`] | the end of `processNextWorkItem`, with kube-rs's `Action` |
//! | [`leader_election`] | `tools/leaderelection` as a pure state machine |
//! | [`lease_lock`] | `resourcelock.LeaseLock`: the elector wired to a Lease through the apiserver |
//! | [`wakeup`] | one re-armable timer per component |
//! | [`klog`] | k8s.io/klog/v2: structured component log lines, rendered with klog's header |
//! | [`exit`] | `klog.FlushAndExit`: a component ending its process, restarted by its kubelet |
//!
//! # Why no actors of its own
//! Everything here is a plain struct the owning actor keeps in its state and feeds from its own
//! `on_message` / `on_timer` / stream callbacks, passing `&mut Ctx` in. A controller's
//! informers, queue and reconcile loop then run in one actor, so "a key is never processed by
//! two workers at once" and "the cache is at least as new as the event that queued the key"
//! hold without messaging between actors; a crash of the host loses all of it together, as a
//! crash of kube-controller-manager does; and no extra hop adds latency to every event.
//!
//! # Wiring a controller (informer → queue → reconcile)
//! The actor owns one [`api_client::ApiClient`], an [`informer_factory::InformerFactory`] (or
//! plain [`informer::Informer`]s), one [`workqueue::WorkQueue`] per controller, and optionally a
//! [`lease_lock::LeaseLock`]. Then:
//! 1. `on_start`: `factory.informer_for(Kind::Pod, || Indexer::with_namespace_index()...)`,
//!    `factory.start(ctx, &mut client)`, `lock.start(ctx, &mut client)`.
//! 2. `on_stream_message`: `msg.unwrap_api()`, then `client.on_message(ctx, stream, msg)`; give
//!    every returned [`api_client::ClientEvent`] to `factory.on_client_event` (and
//!    `lock.on_client_event`, and the controller's own pending writes by id). Notifications
//!    become keys: `queue.add(n.key())` (or an owner's key, for child objects).
//! 3. `on_stream_closed`: `client.on_stream_closed(ctx, stream)`, then as in 2.
//! 4. `on_timer`: tags with [`api_client::is_api_client_timer`] go to the client; the factory's,
//!    the lock's and the queue's own tags to them.
//! 5. Work (only when `factory.has_synced()`, and while leading): `queue.advance(ctx.now())`;
//!    `while let Some(key) = queue.get()` (bounded per callback): read the listers, issue writes
//!    through the client, then [`controller::finish`] with the reconcile's
//!    `Result<Action, _>`; arm a timer for `queue.next_ready_at()` ([`wakeup::Wakeup`]).
//!
//! `tests/sim_client.rs` is a complete, small example of this wiring.

pub mod api_client;
pub mod controller;
pub mod exit;
pub mod indexer;
pub mod informer;
pub mod informer_factory;
pub mod klog;
pub mod leader_election;
pub mod lease_lock;
pub mod rate_limiter;
pub mod wakeup;
pub mod workqueue;

pub use api_client::{ApiClient, ApiClientConfig, ClientError, ClientEvent};
pub use controller::Action;
pub use indexer::{Indexer, Lister, key_of, object_key, split_key};
pub use informer::{Informer, InformerConfig, Notification};
pub use informer_factory::InformerFactory;
pub use leader_election::{ElectionConfig, LeaderElector};
pub use lease_lock::LeaseLock;
pub use rate_limiter::{DefaultControllerRateLimiter, RateLimiter};
pub use workqueue::{QueueFull, WorkQueue};
