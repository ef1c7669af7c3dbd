//! kubesim's engine: virtual time, one event queue, seeded randomness, hosts, actors, a
//! simulated network and disk, faults as data, and a hashed trace. It knows nothing about
//! Kubernetes.
//!
//! A simulation is `Sim<M>` over one message enum `M` ([`Message`]). Actors ([`Actor`]) live on
//! hosts and react to messages, timers, stream events and fsync completions through a [`Ctx`].
//! One thread, no async, no polling: an idle actor costs memory only.
//!
//! # A tour of the API
//! - **Build**: `Sim::<M>::new(SimConfig::with_seed(7))`, then `add_host("kubesim-worker2")` and
//!   `add_actor(host, "kubelet", |disk| Kubelet::recover(disk))`: the factory runs now and again
//!   after every restart of the host, with the host's surviving [`Disk`]. Names are unique
//!   (per host for actors); look them up with `host_id(name)` and `actor_id(host, name)`.
//! - **Handlers** ([`Actor`]): `on_start`, `on_message(ctx, from, msg)`, `on_timer(ctx, tag)`,
//!   `on_stream_message`, `on_stream_closed`, `on_fsync(ctx, token)`.
//! - **In a handler** ([`Ctx`]): `now()` (the host's skewed clock), `send(to, msg)` (a
//!   datagram), `set_timer(delay, tag)` / `reset_timer(id, delay, tag)` / `cancel_timer(id)`,
//!   `rng()` (the actor's own stream), `disk()` + `fsync(token)` (persist, then acknowledge in
//!   `on_fsync`), `open_stream(to)` / `stream_send(s, msg)` / `close_stream(s)`,
//!   `buggify("point")`, `log(line)`, `violation(what)`, `lookup(host, actor)`.
//! - **From outside** (the scenario runner): `send_external(to, msg)` delivers now from
//!   [`ActorId::EXTERNAL`]; replies an actor sends to `EXTERNAL` are collected by
//!   `take_external()`; `invoke::<T, _>(id, |actor, ctx| ...)` runs code as that actor;
//!   `actor::<T>(id)` inspects its state; `logs(id)` reads its log.
//! - **Faults** ([`Fault`], plain data): `apply_fault(f)` now, `schedule_fault(at, f)` or
//!   `schedule_faults(vec)` later. Network defaults: [`LinkConfig`] via `set_network`, per link
//!   `set_link`, per host `set_host_net` ([`HostNet`]).
//! - **Run**: `step()`, `run_until(t)`, `run_for(d)`, `run_until_quiescent(max_events)`; each
//!   returns `Err(Finding)` once an actor panicked or a violation was recorded
//!   (`ctx.violation`, `sim.record_violation`, `sim.add_invariant`).
//! - **Trace**: `trace_hash()`, `events_processed()`, `now()`; `set_trace_writer(w)` writes one
//!   JSON line per event (`--trace FILE.jsonl`), `finish_trace()` flushes it.
//!
//! ```
//! use sim::{Actor, ActorId, Ctx, Duration, Sim, SimConfig};
//!
//! struct Echo;
//! impl Actor<u64> for Echo {
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, from: ActorId, n: u64) {
//!         if n > 0 { ctx.send(from, n - 1); }
//!     }
//! }
//!
//! let mut sim = Sim::<u64>::new(SimConfig::with_seed(1));
//! let h1 = sim.add_host("a").unwrap();
//! let h2 = sim.add_host("b").unwrap();
//! let a = sim.add_actor(h1, "echo", |_| Echo).unwrap();
//! let b = sim.add_actor(h2, "echo", |_| Echo).unwrap();
//! sim.send_as(a, b, 10);
//! sim.run_for(Duration::from_secs(1)).unwrap();
//! assert_eq!(sim.net_stats().delivered, 11); // 10, 9, ..., 0
//! ```

mod actor;
pub mod bench;
pub mod buggify;
mod config;
mod ctx;
pub mod disk;
pub mod fault;
mod finding;
pub mod host;
mod ids;
mod log_store;
mod message;
pub mod network;
mod queue;
pub mod rng;
mod sim;
pub mod stream;
pub mod time;
mod timer;
pub mod trace;
mod world;

pub use actor::{Actor, Factory};
pub use buggify::BuggifyConfig;
pub use config::{SimConfig, SimError};
pub use ctx::Ctx;
pub use disk::{Disk, DiskValue, index_key};
pub use fault::Fault;
pub use finding::{Finding, FindingKind};
pub use host::{Clock, HostState};
pub use ids::{ActorId, HostId, StreamId, TimerId};
pub use message::Message;
pub use network::{HostNet, Jitter, LinkConfig, NetStats};
pub use rng::SimRng;
pub use sim::{Invariant, Quiescence, Sim};
pub use stream::{StreamClose, StreamError};
pub use time::{Duration, Time};
pub use trace::{TraceHasher, TraceKind};
pub use world::{ExternalMessage, LogLine};
