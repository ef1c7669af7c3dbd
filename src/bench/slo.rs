//! `bench cluster --slo`: the figures of Kubernetes' two latency SLOs (FIDELITY F41) for one
//! run, and their tables:
//! - pod startup latency, as ClusterLoader2's `PodStartupLatency` reports it (50th, 90th and
//!   99th percentiles of each stage), against p99 ≤ 5 s;
//! - API call latency of mutating calls on single objects, per resource and verb, as its
//!   `APIResponsivenessPrometheus` reads it from `apiserver_request_duration_seconds`, against
//!   p99 ≤ 1 s.

use std::collections::BTreeMap;
use std::io::Write;

use cluster::api_latency::{API_CALL_SLO, resource_name};
use cluster::apiserver::request_latency::{CallKey, LatencyHistogram};
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

/// `4.2 ms`, `850 ms`, `1.23 s`.
fn latency(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

/// One row per size that has figures: pods seen, each stage's p50 / p90 / p99 (medians over
/// the size's runs) and whether the median p99 of pod startup meets the SLO.
pub fn startup_table(out: &mut dyn Write, rows: &[(u32, Vec<&StartupFigures>)]) {
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

/// One (resource, verb)'s calls in one run: how many, and the p50 / p90 / p99 in ms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiCallFigures {
    /// `pods`, `pods/binding`, `deployments.apps`...
    pub resource: String,
    pub verb: String,
    pub calls: u64,
    pub ms: [f64; 3],
}

/// The figures of every (resource, verb) that had calls.
pub fn api_call_figures(histograms: &BTreeMap<CallKey, LatencyHistogram>) -> Vec<ApiCallFigures> {
    histograms
        .iter()
        .filter_map(|(key, h)| {
            let q = |p: u32| h.quantile(f64::from(p) / 100.0).map(|s| s * 1e3);
            let ms = [q(PERCENTILES[0])?, q(PERCENTILES[1])?, q(PERCENTILES[2])?];
            Some(ApiCallFigures {
                resource: resource_name(key),
                verb: key.2.to_string(),
                calls: h.count(),
                ms,
            })
        })
        .collect()
}

/// One row per size and (resource, verb): calls and p50 / p90 / p99 (medians over the size's
/// runs), and whether the p99 meets the SLO.
pub fn api_call_table(out: &mut dyn Write, rows: &[(u32, Vec<&[ApiCallFigures]>)]) {
    if rows
        .iter()
        .all(|(_, runs)| runs.iter().all(|r| r.is_empty()))
    {
        return;
    }
    let _ = writeln!(
        out,
        "\nAPI call latency of mutating calls on single objects, from \
         apiserver_request_duration_seconds (upstream's buckets, read as histogram_quantile \
         reads them), summed over the apiservers, p50 / p90 / p99, medians over runs; SLO: \
         p99 <= {} s per resource and verb",
        API_CALL_SLO.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| nodes | resource | verb | calls | latency | SLO |\n|---:|:---|:---|---:|---:|:---|"
    );
    for (nodes, runs) in rows {
        let mut by: BTreeMap<(&str, &str), Vec<&ApiCallFigures>> = BTreeMap::new();
        for f in runs.iter().flat_map(|r| r.iter()) {
            by.entry((f.resource.as_str(), f.verb.as_str()))
                .or_default()
                .push(f);
        }
        for ((resource, verb), figures) in by {
            let m = |i: usize| median(&figures.iter().map(|f| f.ms[i]).collect::<Vec<_>>());
            let calls = median(&figures.iter().map(|f| f.calls as f64).collect::<Vec<_>>())
                .unwrap_or_default() as u64;
            let p99 = m(2).unwrap_or_default();
            let verdict = if p99 <= API_CALL_SLO.as_secs_f64() * 1e3 {
                "met"
            } else {
                "missed"
            };
            let cell = (0..PERCENTILES.len())
                .map(|i| m(i).map_or_else(|| "?".to_string(), latency))
                .collect::<Vec<_>>()
                .join(" / ");
            let _ = writeln!(
                out,
                "| {} | {resource} | {verb} | {} | {cell} | {verdict} |",
                thousands(u64::from(*nodes)),
                thousands(calls),
            );
        }
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
        startup_table(&mut out, &[(100, vec![&f])]);
        let text = String::from_utf8(out).expect("utf-8");
        let row = text.lines().last().expect("a row");
        assert_eq!(
            row,
            "| 100 | 4 | 6.0 ms / 8.0 ms / 8.0 ms | 1.00 s / 1.20 s / 1.20 s | 1.01 s / 6.00 s / 6.00 s | missed |"
        );
    }

    #[test]
    fn api_calls_are_named_as_the_apiserver_names_resources() {
        use api::Kind;
        use cluster::apiserver::Subresource;
        let mut h = LatencyHistogram::default();
        for _ in 0..100 {
            h.observe(Duration::from_millis(300));
        }
        let mut all = BTreeMap::new();
        all.insert((Kind::Pod, Some(Subresource::Binding), "create"), h.clone());
        all.insert((Kind::Deployment, None, "update"), h);
        let f = api_call_figures(&all);
        let mut names: Vec<_> = f
            .iter()
            .map(|f| (f.resource.as_str(), f.verb.as_str()))
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [("deployments.apps", "update"), ("pods/binding", "create")]
        );
        assert!(f.iter().all(|f| f.calls == 100));
        let mut out = Vec::new();
        api_call_table(&mut out, &[(10, vec![f.as_slice()])]);
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.contains("| 10 | pods/binding | create | 100 | 300 ms / 380 ms / 398 ms | met |"),
            "{text}"
        );
    }

    #[test]
    fn no_figures_no_table() {
        let mut out = Vec::new();
        startup_table(&mut out, &[(100, Vec::new())]);
        assert!(out.is_empty());
    }
}
