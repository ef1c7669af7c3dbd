//! A simulation's settings and the errors of building one.

use crate::buggify::BuggifyConfig;
use crate::ids::{ActorId, HostId};
use crate::network::LinkConfig;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// Everything that shapes a run besides the actors and the fault schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// The root seed every random stream is forked from.
    pub seed: u64,
    /// How every link behaves unless overridden.
    pub network: LinkConfig,
    /// Latency between two actors of the same host (never lost or partitioned).
    pub loopback_latency: Duration,
    /// How long a stream survives a partition or a crashed peer before it breaks.
    pub stream_break_timeout: Duration,
    /// How long an asynchronous fsync takes ([`crate::Ctx::fsync`]).
    pub fsync_latency: Duration,
    /// BUGGIFY fault points.
    pub buggify: BuggifyConfig,
    /// Log lines kept per actor (older ones are dropped), for `kubectl logs`.
    pub log_lines_per_actor: usize,
    /// Messages kept for the outside world ([`crate::Sim::take_external`]); older ones dropped.
    pub external_inbox_limit: usize,
}

impl SimConfig {
    /// Defaults with the given seed.
    pub fn with_seed(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            ..SimConfig::default()
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            network: LinkConfig::default(),
            loopback_latency: Duration::from_micros(10),
            stream_break_timeout: Duration::from_secs(45),
            // A datacenter SSD's fsync; etcd recommends p99 WAL fsync under 10 ms.
            fsync_latency: Duration::from_millis(2),
            buggify: BuggifyConfig::default(),
            log_lines_per_actor: 1000,
            external_inbox_limit: 100_000,
        }
    }
}

/// Why building or addressing part of a simulation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Host names must be unique.
    #[error("a host named {0:?} already exists")]
    DuplicateHost(String),
    /// Actor names must be unique per host.
    #[error("host {host:?} already has an actor named {actor:?}")]
    DuplicateActor {
        /// The host's name.
        host: String,
        /// The actor's name.
        actor: String,
    },
    /// The host id was not handed out by this simulation.
    #[error("no host with id {0}")]
    UnknownHost(HostId),
    /// The actor id was not handed out by this simulation.
    #[error("no actor with id {0}")]
    UnknownActor(ActorId),
}
