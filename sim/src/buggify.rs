//! BUGGIFY: fault points written into component code, FoundationDB style.
//!
//! `ctx.buggify("raft.drop_append")` is true only when the run has BUGGIFY on, the point is
//! active in this run, and a draw succeeds. Whether a point is active is decided per run from
//! the seed and the point's name alone (no draw), so adding a point does not change which others
//! are active; the firing draws come from the run's own `"buggify"` stream. FoundationDB's
//! defaults are used: a point is active in 25% of runs and fires 25% of the times it is reached
//! (flow/Buggify: `P_BUGGIFIED_SECTION_ACTIVATED`, `P_BUGGIFIED_SECTION_FIRES`).

use crate::rng::{SimRng, stable_hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether BUGGIFY is on and how often points activate and fire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuggifyConfig {
    /// Off by default: component code then runs its normal path.
    pub enabled: bool,
    /// Probability that a given point is active in a run.
    pub activation: f64,
    /// Probability that an active point fires each time it is reached.
    pub fire: f64,
}

impl Default for BuggifyConfig {
    fn default() -> Self {
        BuggifyConfig {
            enabled: false,
            activation: 0.25,
            fire: 0.25,
        }
    }
}

pub(crate) struct Buggify {
    config: BuggifyConfig,
    seed: u64,
    rng: SimRng,
    /// How often each point fired, for the run's report.
    pub(crate) fired: BTreeMap<&'static str, u64>,
}

impl Buggify {
    pub(crate) fn new(config: BuggifyConfig, seed: u64) -> Buggify {
        Buggify {
            config,
            seed,
            rng: SimRng::fork(seed, "buggify"),
            fired: BTreeMap::new(),
        }
    }

    /// Whether `point` is active in this run (independent of the other points).
    pub(crate) fn is_active(&self, point: &str) -> bool {
        if !self.config.enabled {
            return false;
        }
        let h = stable_hash(point) ^ self.seed.rotate_left(17);
        let mixed = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 11) as f64 * (1.0 / (1u64 << 53) as f64) < self.config.activation
    }

    pub(crate) fn check(&mut self, point: &'static str) -> bool {
        if !self.is_active(point) || !self.rng.chance(self.config.fire) {
            return false;
        }
        *self.fired.entry(point).or_insert(0) += 1;
        true
    }
}
