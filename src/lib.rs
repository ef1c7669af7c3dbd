//! kubesim's root package: the scenario language, its checker and runner, and the CLI.
//!
//! Simulation logic lives in `sim` (the engine) and `components/*` (Kubernetes); this crate
//! reads what the user wrote and drives them.

pub mod bench;
pub mod check;
pub mod cli;
pub mod etcdctl;
pub mod exec;
pub mod explain;
pub mod fuzz;
pub mod kubectl;
pub mod manifest;
pub mod observe;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod tour;
pub mod units;
