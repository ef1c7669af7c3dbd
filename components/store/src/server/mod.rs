//! The etcd server on the engine: `EtcdMember` (one member as an actor), the messages it
//! exchanges, its data directory on the simulated disk, and the Raft safety invariant every
//! simulation run installs.

pub mod harness;
pub mod member;
pub mod message;
pub mod safety;
pub mod storage;
pub mod zap;

#[cfg(test)]
mod tests;

pub use member::{EtcdConfig, EtcdMember};
pub use message::*;
pub use safety::install_safety_invariant;
