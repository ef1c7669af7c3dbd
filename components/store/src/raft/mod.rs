//! Raft consensus as a pure state machine, after etcd-io/raft: inputs are `step`, `tick`,
//! `propose` and `read_index`; outputs come back as a `Ready` (persist, then send, then apply).
//! No I/O, no clock: the caller (the `EtcdMember` actor, or a test network) does both.
//!
//! Membership is static (1, 3 or 5 voters fixed at creation). See `core` for the rules kept
//! from etcd and `safety` for the invariants every run checks.

pub mod config;
pub mod core;
pub mod log;
pub mod message;
pub mod node;
pub mod progress;
pub mod quorum;
pub mod read_only;
pub mod rng;
pub mod safety;

#[cfg(test)]
mod tests;

pub use config::{Config, ConfigError};
pub use core::{ProposeError, Role, StepError};
pub use message::{Entry, HardState, Message, MessageType, NodeId, ReadState, Snapshot};
pub use node::{Persisted, RawNode, Ready, SoftState, Status};
pub use safety::{RaftSafetyMonitor, SafetyViolation};
