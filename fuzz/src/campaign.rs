//! Runs one case of a campaign: derive the run's seed, draw a schedule from proptest's
//! deterministic `TestRunner`, check it, and on failure shrink it the way proptest does
//! (simplify after a failure, complicate after a pass), re-running the check each step.
//!
//! The run's seed is both the proptest RNG's seed and the simulation's seed, so one number
//! replays the whole case. Shrinking is bounded by `max_shrink_runs`.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::schedule::Schedule;

/// The seed of run `index` of a campaign rooted at `campaign_seed` (SplitMix64, so nearby
/// indices give unrelated seeds and shards never overlap).
pub fn run_seed(campaign_seed: u64, index: u64) -> u64 {
    let mut z =
        campaign_seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// proptest's runner with a ChaCha RNG seeded from `seed` alone: the same seed draws the same
/// schedule on every machine.
pub fn test_runner(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&run_seed(seed, i as u64).to_le_bytes());
    }
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq)]
pub enum Case {
    Passed {
        schedule: Schedule,
    },
    Failed {
        /// The schedule as drawn, and why it failed.
        original: Schedule,
        original_failure: String,
        /// The smallest failing schedule shrinking reached, and why it failed.
        minimal: Schedule,
        failure: String,
        /// Checks run while shrinking.
        shrink_runs: u32,
    },
}

impl Case {
    pub fn failed(&self) -> bool {
        matches!(self, Case::Failed { .. })
    }
}

/// Draws the schedule for `seed`, checks it with `check` (`Err` = a violation, with why), and
/// shrinks a failing one with at most `max_shrink_runs` further checks.
pub fn run_case<S, F>(strategy: &S, seed: u64, max_shrink_runs: u32, mut check: F) -> Case
where
    S: Strategy<Value = Schedule>,
    F: FnMut(&Schedule) -> Result<(), String>,
{
    let mut runner = test_runner(seed);
    let mut tree = match strategy.new_tree(&mut runner) {
        Ok(tree) => tree,
        // Our strategies never reject (no filters); an empty schedule is the honest fallback.
        Err(_) => {
            return Case::Passed {
                schedule: Schedule {
                    nodes: Vec::new(),
                    episodes: Vec::new(),
                    window: sim::Duration::ZERO,
                    settle: sim::Duration::ZERO,
                },
            };
        }
    };
    let original = tree.current();
    let original_failure = match check(&original) {
        Ok(()) => return Case::Passed { schedule: original },
        Err(why) => why,
    };
    let mut minimal = original.clone();
    let mut failure = original_failure.clone();
    let mut shrink_runs = 0;
    if tree.simplify() {
        while shrink_runs < max_shrink_runs {
            shrink_runs += 1;
            let candidate = tree.current();
            match check(&candidate) {
                Err(why) => {
                    minimal = candidate;
                    failure = why;
                    if !tree.simplify() {
                        break;
                    }
                }
                Ok(()) => {
                    if !tree.complicate() {
                        break;
                    }
                }
            }
        }
    }
    Case::Failed {
        original,
        original_failure,
        minimal,
        failure,
        shrink_runs,
    }
}
