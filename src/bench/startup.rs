//! `bench cluster --pod-startup`: the pod startup latency figures of one run, as ClusterLoader2's
//! `PodStartupLatency` reports them (50th, 90th and 99th percentiles of each stage), and their
//! table, held against the SLO (FIDELITY F41: p99 ≤ 5 s).

use std::io::Write;

use cluster::pod_startup::{POD_STARTUP_SLO, PodStartupLatencies, percentile};
use serde::{Deserialize, Serialize};
use sim::Duration;

use super::measure::{median, thousands};

/// Percentiles reported for each stage.
const PERCENTILES: [u32; 3] = [50, 90, 99];

/// One stage's percentiles, in milliseconds; `None` when no pod reached the stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub ms: Option<[f64; 3]>,
}

impl Stage {
    fn of(sorted: &[Duration]) -> Stage {
        let p = |q| percentile(sorted, q).map(|d| d.as_secs_f64() * 1e3);
        Stage {
            ms: match (p(PERCENTILES[0]), p(PERCENTILES[1]), p(PERCENTILES[2])) {
                (Some(a), Some(b), Some(c)) => Some([a, b, c]),
                _ => None,
            },
        }
    }
}

/// What one run's probe measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StartupFigures {
    /// Pods whose creation the probe saw.
    pub created: u64,
    /// Of them, pods seen Running.
    pub running: u64,
    pub create_to_schedule: Stage,
    pub schedule_to_run: Stage,
    pub pod_startup: Stage,
}

impl From<&PodStartupLatencies> for StartupFigures {
    fn from(l: &PodStartupLatencies) -> Self {
        StartupFigures {
            created: l.created as u64,
            running: l.pod_startup.len() as u64,
            create_to_schedule: Stage::of(&l.create_to_schedule),
            schedule_to_run: Stage::of(&l.schedule_to_run),
            pod_startup: Stage::of(&l.pod_startup),
        }
    }
}

/// The medians over runs of each percentile of a stage, `p50 / p90 / p99` in ms or s.
fn cell(runs: &[&StartupFigures], stage: impl Fn(&StartupFigures) -> Stage) -> String {
    let medians: Vec<Option<f64>> = (0..PERCENTILES.len())
        .map(|i| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| stage(r).ms.map(|m| m[i]))
                .collect();
            median(&v)
        })
        .collect();
    medians
        .iter()
        .map(|m| m.map_or_else(|| "?".to_string(), latency))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// `850 ms`, `1.23 s`.
fn latency(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

/// One row per size that has figures: pods seen, each stage's p50 / p90 / p99 (medians over
/// the size's runs) and whether the median p99 of pod startup meets the SLO.
pub fn table(out: &mut dyn Write, rows: &[(u32, Vec<&StartupFigures>)]) {
    if rows.iter().all(|(_, runs)| runs.is_empty()) {
        return;
    }
    let _ = writeln!(
        out,
        "\nPod startup latency, as ClusterLoader2's PodStartupLatency takes it (a watch of the \
         bench's pods; from each pod's ADDED event to it bound, and to it Running), p50 / p90 / \
         p99, medians over runs; SLO: p99 of pod startup <= {} s",
        POD_STARTUP_SLO.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| nodes | pods seen | create to schedule | schedule to run | pod startup | SLO |\n|---:|---:|---:|---:|---:|:---|"
    );
    for (nodes, runs) in rows.iter().filter(|(_, r)| !r.is_empty()) {
        let seen = median(&runs.iter().map(|r| r.created as f64).collect::<Vec<_>>())
            .unwrap_or_default() as u64;
        let p99: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.pod_startup.ms.map(|m| m[2]))
            .collect();
        let verdict = match median(&p99) {
            Some(ms) if ms <= POD_STARTUP_SLO.as_secs_f64() * 1e3 => "met",
            Some(_) => "missed",
            None => "no pod Running",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {verdict} |",
            thousands(u64::from(*nodes)),
            thousands(seen),
            cell(runs, |r| r.create_to_schedule),
            cell(runs, |r| r.schedule_to_run),
            cell(runs, |r| r.pod_startup),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_gives_each_stage_and_the_verdict() {
        let l = PodStartupLatencies {
            created: 4,
            create_to_schedule: [5, 6, 7, 8].map(Duration::from_millis).to_vec(),
            schedule_to_run: [900, 1000, 1100, 1200].map(Duration::from_millis).to_vec(),
            pod_startup: [905, 1006, 1107, 6000].map(Duration::from_millis).to_vec(),
        };
        let f = StartupFigures::from(&l);
        assert_eq!(f.running, 4);
        assert_eq!(f.pod_startup.ms, Some([1006.0, 6000.0, 6000.0]));
        let mut out = Vec::new();
        table(&mut out, &[(100, vec![&f])]);
        let text = String::from_utf8(out).expect("utf-8");
        let row = text.lines().last().expect("a row");
        assert_eq!(
            row,
            "| 100 | 4 | 6 ms / 8 ms / 8 ms | 1.00 s / 1.20 s / 1.20 s | 1.01 s / 6.00 s / 6.00 s | missed |"
        );
    }

    #[test]
    fn no_figures_no_table() {
        let mut out = Vec::new();
        table(&mut out, &[(100, Vec::new())]);
        assert!(out.is_empty());
    }
}
