//! kubesim's engine: virtual time, one event queue, seeded randomness, hosts, actors, a
//! simulated network and disk, faults as data, and a hashed trace. It knows nothing about
//! Kubernetes.
//!
//! A simulation is `Sim<M>` over one message enum `M` ([`Message`]). Actors ([`Actor`]) live on
//! hosts and react to messages, timers, stream events and fsync completions through a [`Ctx`].
//! One thread, no async, no polling: an idle actor costs memory only.
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
