//! Identifiers handed out by the engine: hosts, actors, timers and streams.
//!
//! They are small `Copy` indices, stable for the life of a simulation (a restarted actor keeps
//! its [`ActorId`]), so components can keep them in their state and in messages.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A simulated machine (a kind node, for kubesim). Index into the engine's host table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostId(pub u32);

/// An actor (one component process) on a host. Survives the host's crash and restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorId(pub u32);

impl ActorId {
    /// The sender of messages injected from outside the simulation
    /// ([`crate::Sim::send_external`]): the scenario runner playing kubectl.
    pub const EXTERNAL: ActorId = ActorId(u32::MAX);
}

impl HostId {
    /// Position in the host table (hosts are numbered from 0 in creation order).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl ActorId {
    /// Position in the actor table (actors are numbered from 0 in creation order).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// A pending timer, returned by [`crate::Ctx::set_timer`] so it can be cancelled.
///
/// A slot in the engine's timer table plus the slot's generation when the timer was set:
/// firing or cancelling bumps the generation, so a stale id is harmless (see `timer.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// A connection stream between two actors (see [`crate::stream`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(pub u64);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host#{}", self.0)
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == ActorId::EXTERNAL {
            f.write_str("external")
        } else {
            write!(f, "actor#{}", self.0)
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream#{}", self.0)
    }
}
