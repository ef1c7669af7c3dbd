//! kubesim's client library: what client-go is to Kubernetes. The pieces every controller,
//! the scheduler, kubelets and kube-proxy share.
//!
//! - [`rate_limiter`], [`workqueue`]: deduplicating, rate-limited work queues of keys.
//! - [`indexer`]: the informer cache with secondary indices, and listers over it.
//! - [`leader_election`]: client-go's Lease-based leader election as a pure state machine.
//!
//! Everything here is a plain struct the owning actor keeps in its state and feeds from its own
//! `on_message` / `on_timer` / stream callbacks, passing virtual time in (or `&mut Ctx` where
//! it must send). There are no actors of its own: a controller's informers, queue and
//! reconcile loop then run in one actor, so "an item is never processed by two workers at
//! once" and "the cache is at least as new as the event that queued the key" hold without any
//! messaging between actors, and a crash of the host loses all of it together, as a crash of
//! kube-controller-manager does.

pub mod api_client;
pub mod controller;
pub mod indexer;
pub mod informer;
pub mod leader_election;
pub mod lease_lock;
pub mod rate_limiter;
pub mod wakeup;
pub mod workqueue;

pub use indexer::{Indexer, Lister, key_of, object_key, split_key};
pub use rate_limiter::{DefaultControllerRateLimiter, RateLimiter};
pub use workqueue::{QueueFull, WorkQueue};
