//! `render_html`: one self-contained HTML file for a [`Timeline`] — inline CSS and script, no
//! network, no external fonts. Rust writes the data as JSON into the page (downsampled to
//! what a screen can show); the page's script draws the timeline on canvases and builds the
//! transcript, so a 100-node, one-hour run stays a few megabytes and opens in well under 2 s.
//!
//! The script reports how it went in `#render-status`: `data-state="ok"` with the number of
//! lanes drawn and the milliseconds since navigation, or `data-state="error"` with the
//! message of any exception (a test reads it with a headless browser's `--dump-dom`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::objects::POD_STATES;
use super::recorder::{DEPLOYMENT_CHART, DESIRED_SUFFIX, SERVICE_CHART, TRAFFIC_LINES};
use super::timeline::{HostBand, Nanos, Timeline};

const PAGE: &str = include_str!("page.html");

/// Points per series line beyond which it is downsampled.
pub const MAX_SERIES_POINTS: usize = 1500;
/// Time buckets a downsampled line keeps (each its min, max and last value).
const SERIES_BUCKETS: usize = 500;
/// Columns of the pods-per-node strips.
pub const POD_COLUMNS: usize = 600;
/// A step's output beyond this many bytes is cut in the page (the timeline keeps all of it).
pub const MAX_STEP_OUTPUT: usize = 64 * 1024;

const STATES: [HostBand; 4] = [
    HostBand::Up,
    HostBand::Partitioned,
    HostBand::Paused,
    HostBand::Crashed,
];
/// A node's Ready condition values, as indexes in the page.
const READY: [&str; 3] = ["True", "False", "Unknown"];
/// Line colours, in order of first use within a chart.
const PALETTE: [&str; 8] = [
    "#2a62c9", "#2e8b57", "#8e44ad", "#e67e22", "#16a085", "#c2185b", "#7f8c8d", "#b7950b",
];

#[derive(Serialize)]
struct Page<'a> {
    meta: MetaView<'a>,
    states: Vec<&'static str>,
    ready: [&'static str; 3],
    hosts: Vec<HostView<'a>>,
    etcd: Vec<(f64, f64, Option<&'a str>, u64)>,
    leases: Vec<LeaseView<'a>>,
    faults: Vec<FaultView<'a>>,
    pods: PodsView<'a>,
    charts: Vec<ChartView<'a>>,
    steps: Vec<StepView<'a>>,
}

#[derive(Serialize)]
struct MetaView<'a> {
    scenario: &'a str,
    description: &'a str,
    seed: u64,
    verdict: &'a str,
    failures: &'a [String],
    duration_ms: f64,
    events: u64,
    trace_hash: String,
}

#[derive(Serialize)]
struct HostView<'a> {
    n: &'a str,
    r: &'a str,
    e: bool,
    /// `from, to, state index` triples.
    iv: Vec<f64>,
    /// The Node's Ready condition: `from, to, index in READY` triples (none before it
    /// registered).
    rd: Vec<f64>,
}

#[derive(Serialize)]
struct LeaseView<'a> {
    n: &'a str,
    s: Vec<(f64, f64, Option<&'a str>)>,
}

#[derive(Serialize)]
struct FaultView<'a> {
    t: f64,
    l: &'a str,
    h: &'a [String],
}

#[derive(Serialize)]
struct PodsView<'a> {
    phases: Vec<&'a str>,
    /// Start time of each column.
    t: Vec<f64>,
    nodes: Vec<PodNodeView<'a>>,
}

#[derive(Serialize)]
struct PodNodeView<'a> {
    n: &'a str,
    /// `column, count per phase...` records, one where the counts change.
    v: Vec<u32>,
    /// The most pods on the node at any one moment (its strip's scale).
    m: u32,
}

#[derive(Serialize)]
struct ChartView<'a> {
    title: &'a str,
    lines: Vec<LineView<'a>>,
}

#[derive(Serialize)]
struct LineView<'a> {
    n: &'a str,
    /// Colour.
    c: &'static str,
    /// Drawn dashed (a Deployment's desired replicas).
    d: bool,
    /// `time, value` pairs.
    p: Vec<f64>,
}

#[derive(Serialize)]
struct StepView<'a> {
    t: f64,
    e: f64,
    c: &'a str,
    o: String,
}

/// Milliseconds, rounded to the microsecond (what the page shows and all it needs).
fn ms(ns: Nanos) -> f64 {
    (ns / 1_000) as f64 / 1_000.0
}

/// The report page for `timeline`.
pub fn render_html(timeline: &Timeline) -> String {
    let page = page(timeline);
    // serde_json cannot fail on these plain structs; an empty object keeps the page loading.
    let json = serde_json::to_string(&page).unwrap_or_else(|_| String::from("{}"));
    // `<` escaped keeps `</script>` and `<!--` in a step's output from ending the data block.
    let json = json.replace('<', "\\u003c");
    let title = format!(
        "kubesim report: {} (seed {})",
        timeline.meta.scenario, timeline.meta.seed
    );
    PAGE.replacen("__KUBESIM_TITLE__", &escape_html(&title), 1)
        .replacen("__KUBESIM_DATA__", &json, 1)
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(t: &Timeline) -> Page<'_> {
    let end = t.meta.duration;
    Page {
        meta: MetaView {
            scenario: &t.meta.scenario,
            description: &t.meta.description,
            seed: t.meta.seed,
            verdict: &t.meta.verdict,
            failures: &t.meta.failures,
            duration_ms: ms(end),
            events: t.meta.events,
            trace_hash: format!("{:016x}", t.meta.trace_hash),
        },
        states: STATES.iter().map(|s| s.as_str()).collect(),
        ready: READY,
        hosts: t
            .hosts
            .iter()
            .map(|h| HostView {
                n: &h.name,
                r: &h.role,
                e: h.etcd,
                iv: h
                    .intervals
                    .iter()
                    .flat_map(|i| {
                        let state = STATES.iter().position(|s| *s == i.state).unwrap_or(0);
                        [ms(i.from), ms(i.to), state as f64]
                    })
                    .collect(),
                rd: h
                    .ready
                    .iter()
                    .filter_map(|i| {
                        let state = i.state.as_deref()?;
                        let k = READY.iter().position(|r| *r == state).unwrap_or(2);
                        Some([ms(i.from), ms(i.to), k as f64])
                    })
                    .flatten()
                    .collect(),
            })
            .collect(),
        etcd: t
            .etcd
            .iter()
            .map(|s| {
                let (who, term) = s
                    .leader
                    .as_ref()
                    .map_or((None, 0), |(n, term)| (Some(n.as_str()), *term));
                (ms(s.from), ms(s.to), who, term)
            })
            .collect(),
        leases: t
            .leases
            .iter()
            .map(|l| LeaseView {
                n: &l.name,
                s: l.spans
                    .iter()
                    .map(|s| (ms(s.from), ms(s.to), s.state.as_deref()))
                    .collect(),
            })
            .collect(),
        faults: t
            .faults
            .iter()
            .map(|f| FaultView {
                t: ms(f.at),
                l: &f.label,
                h: &f.hosts,
            })
            .collect(),
        pods: pods(t, end),
        charts: charts(t, end),
        steps: t
            .steps
            .iter()
            .map(|s| StepView {
                t: ms(s.at),
                e: ms(s.end),
                c: &s.command,
                o: cut(&s.output, MAX_STEP_OUTPUT),
            })
            .collect(),
    }
}

fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut at = limit;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    format!(
        "{}\n… ({} more bytes in the run's output)",
        &text[..at],
        text.len() - at
    )
}

fn charts(t: &Timeline, end: Nanos) -> Vec<ChartView<'_>> {
    let mut order: Vec<&str> = Vec::new();
    let mut lines: BTreeMap<&str, Vec<LineView<'_>>> = BTreeMap::new();
    for s in &t.series {
        if !lines.contains_key(s.chart.as_str()) {
            order.push(&s.chart);
        }
        let chart = lines.entry(s.chart.as_str()).or_default();
        let (c, d) = line_style(&s.chart, &s.name, chart);
        chart.push(LineView {
            n: &s.name,
            c,
            d,
            p: downsample(&s.points, end, MAX_SERIES_POINTS, SERIES_BUCKETS)
                .into_iter()
                .flat_map(|(at, v)| [ms(at), v])
                .collect(),
        });
    }
    // Deployments first, then the Services' traffic, then anything else, each in order of
    // first appearance.
    let rank = |title: &str| {
        if title == DEPLOYMENT_CHART {
            0
        } else if title.starts_with(SERVICE_CHART) {
            1
        } else {
            2
        }
    };
    order.sort_by_key(|title| rank(title));
    order
        .into_iter()
        .map(|title| ChartView {
            title,
            lines: lines.remove(title).unwrap_or_default(),
        })
        .collect()
}

/// A line's colour and dash: a Deployment's desired replicas dashed in its ready line's
/// colour; a Service's answered requests green and each kind of failure its own warm colour;
/// other lines from the palette in order.
fn line_style(chart: &str, name: &str, earlier: &[LineView<'_>]) -> (&'static str, bool) {
    if chart.starts_with(SERVICE_CHART) {
        let colour = match TRAFFIC_LINES.iter().position(|l| *l == name) {
            Some(0) => "#2e8b57",
            Some(1) => "#d9534f",
            Some(2) => "#e67e22",
            Some(3) => "#8e44ad",
            Some(4) => "#7f8c8d",
            Some(_) => "#b03a2e",
            None => PALETTE[earlier.len() % PALETTE.len()],
        };
        return (colour, false);
    }
    if let Some(base) = name.strip_suffix(DESIRED_SUFFIX)
        && let Some(line) = earlier.iter().find(|l| l.n == base)
    {
        return (line.c, true);
    }
    let solid = earlier.iter().filter(|l| !l.d).count();
    (PALETTE[solid % PALETTE.len()], false)
}

/// A step function with at most about `3 * buckets` points: within each time bucket, the
/// points holding the bucket's lowest and highest values and its last one, in time order,
/// so spikes and dips survive and the value held into the next bucket is right.
pub fn downsample(
    points: &[(Nanos, f64)],
    end: Nanos,
    limit: usize,
    buckets: usize,
) -> Vec<(Nanos, f64)> {
    if points.len() <= limit || buckets == 0 {
        return points.to_vec();
    }
    let start = points[0].0;
    let span = end.max(points[points.len() - 1].0).saturating_sub(start) + 1;
    let width = span.div_ceil(buckets as u64).max(1);
    let mut out = Vec::with_capacity(buckets * 3);
    let mut i = 0;
    while i < points.len() {
        let bucket = (points[i].0 - start) / width;
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < points.len() && (points[j].0 - start) / width == bucket {
            if points[j].1 < points[lo].1 {
                lo = j;
            }
            if points[j].1 > points[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let mut keep = [i, lo, hi, j - 1];
        keep.sort_unstable();
        let mut last = None;
        for k in keep {
            if last != Some(k) {
                out.push(points[k]);
                last = Some(k);
            }
        }
        i = j;
    }
    out
}

/// The largest sum of the phases' counts at any instant (the columns' per-phase maxima can
/// add up to more where a pod changes phase within a column).
fn most_at_once(phases: &[(String, Vec<(Nanos, f64)>)]) -> u32 {
    let mut changes: Vec<(Nanos, usize, f64)> = phases
        .iter()
        .enumerate()
        .flat_map(|(q, (_, points))| points.iter().map(move |&(at, v)| (at, q, v)))
        .collect();
    changes.sort_by_key(|&(at, q, _)| (at, q));
    let mut now = vec![0.0f64; phases.len()];
    let mut most = 0.0f64;
    let mut k = 0;
    while k < changes.len() {
        let at = changes[k].0;
        while k < changes.len() && changes[k].0 == at {
            now[changes[k].1] = changes[k].2.max(0.0);
            k += 1;
        }
        most = most.max(now.iter().sum());
    }
    most.min(f64::from(u32::MAX)) as u32
}

fn pods(t: &Timeline, end: Nanos) -> PodsView<'_> {
    let mut present: Vec<&str> = Vec::new();
    for node in &t.pods {
        for (phase, _) in &node.phases {
            if !present.contains(&phase.as_str()) {
                present.push(phase);
            }
        }
    }
    let rank = |p: &str| {
        POD_STATES
            .iter()
            .position(|q| *q == p)
            .unwrap_or(POD_STATES.len())
    };
    present.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    if present.is_empty() {
        return PodsView {
            phases: present,
            t: Vec::new(),
            nodes: Vec::new(),
        };
    }
    let columns = POD_COLUMNS;
    let width = (end / columns as u64).max(1);
    // Strips in the node lanes' order (control planes first), other hosts after.
    let rank_of = |name: &str| t.hosts.iter().position(|h| h.name == name);
    let mut ordered: Vec<&super::timeline::NodePods> = t.pods.iter().collect();
    ordered.sort_by_key(|n| (rank_of(&n.node).unwrap_or(usize::MAX), n.node.as_str()));
    let nodes = ordered
        .into_iter()
        .map(|node| {
            // Per phase, the most pods held at any moment of each column.
            let mut grid = vec![vec![0u32; present.len()]; columns];
            for (phase, points) in &node.phases {
                let Some(q) = present.iter().position(|p| *p == phase.as_str()) else {
                    continue;
                };
                for (k, &(at, value)) in points.iter().enumerate() {
                    let until = points.get(k + 1).map_or(end, |p| p.0);
                    let first = usize::try_from(at / width)
                        .unwrap_or(usize::MAX)
                        .min(columns - 1);
                    let last = usize::try_from(until.saturating_sub(1).max(at) / width)
                        .unwrap_or(usize::MAX)
                        .min(columns - 1);
                    let count = value.max(0.0).min(f64::from(u32::MAX)) as u32;
                    for cell in &mut grid[first..=last] {
                        cell[q] = cell[q].max(count);
                    }
                }
            }
            let mut v = Vec::new();
            let mut prev: Option<&Vec<u32>> = None;
            for (c, cell) in grid.iter().enumerate() {
                if prev != Some(cell) {
                    v.push(c as u32);
                    v.extend_from_slice(cell);
                    prev = Some(cell);
                }
            }
            PodNodeView {
                n: &node.node,
                v,
                m: most_at_once(&node.phases),
            }
        })
        .collect();
    PodsView {
        phases: present,
        t: (0..columns).map(|c| ms(c as u64 * width)).collect(),
        nodes,
    }
}
