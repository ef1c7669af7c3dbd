//! Failure-schedule strategies (proptest), invariant checkers and the fuzz driver.
