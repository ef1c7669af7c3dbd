//! Findings: what stops a run because the system under test misbehaved.
//!
//! A panic inside an actor's handler is caught by the engine and becomes a finding (the harness
//! itself keeps running), as does a violation recorded by a component (`ctx.violation`), by an
//! invariant registered with [`crate::Sim::add_invariant`], or by the embedding code.

use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of misbehaviour was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FindingKind {
    /// An actor's handler panicked.
    Panic,
    /// An invariant was violated.
    Violation,
}

/// A misbehaviour that stopped the run, with enough context to replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Panic or violation.
    pub kind: FindingKind,
    /// True virtual time of the event being handled.
    pub time: Time,
    /// `host/actor` that was running, when one was.
    pub actor: Option<String>,
    /// The event being handled (`msg hello from a/b`, `timer 3`, `fault Crash(...)`).
    pub event: String,
    /// The panic message or the violation's description.
    pub message: String,
    /// The run's seed, to replay it.
    pub seed: u64,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FindingKind::Panic => "panic",
            FindingKind::Violation => "violation",
        };
        write!(f, "{what} at {}", self.time)?;
        if let Some(a) = &self.actor {
            write!(f, " in {a}")?;
        }
        write!(
            f,
            " while handling {}: {} (seed {})",
            self.event, self.message, self.seed
        )
    }
}

impl std::error::Error for Finding {}
