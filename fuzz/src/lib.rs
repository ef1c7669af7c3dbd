//! Failure-schedule strategies (proptest), their rendering as scenario steps, the campaign
//! loop that draws and shrinks them, and invariant-verdict plumbing.
//!
//! - [`schedule`]: [`Schedule`] (episodes of one fault and its repair, inside a window, then a
//!   heal-everything barrier and a settle period) and [`schedule_strategy`].
//! - [`render`]: a schedule as `Sleep(..)`/`Fault(..)` steps in the scenario language.
//! - [`campaign`]: per-run seeds, proptest's deterministic runner, [`run_case`] (check, then
//!   shrink a failure).
//! - [`invariants`]: [`Verdicts`], what a run's invariants said.
//!
//! The `kubesim fuzz` command (root package, `src/fuzz.rs`) splices schedules into a scenario
//! and runs it; this crate knows nothing of scenarios' other steps.

pub mod campaign;
pub mod invariants;
pub mod render;
pub mod schedule;

pub use campaign::{Case, run_case, run_seed, test_runner};
pub use invariants::{InvariantVerdict, Verdicts};
pub use schedule::{
    Episode, EpisodeKind, FaultSpec, KindSet, Onset, Schedule, ScheduleBounds, Target, TimedFault,
    schedule_strategy,
};
