//! Run reports in a real browser: headless Chromium (Debian's `chromium-headless-shell`, which
//! .ci/run installs) loads the page, and the page's own status element says whether its
//! script drew the timeline or caught an error; a screenshot is taken of each.
//!
//! A missing browser fails these tests (it is part of the CI machine's setup), naming the
//! package to install. `KUBESIM_BROWSER` overrides which binary runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{root, scratch_dir};
use kubesim::report::{self, EngineState, Recorder, Timeline};
use sim::{Fault, Time};

const CANDIDATES: [&str; 4] = [
    "chromium-headless-shell",
    "chromium",
    "chromium-browser",
    "google-chrome",
];

fn browser() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBESIM_BROWSER") {
        return PathBuf::from(path);
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for name in CANDIDATES {
        for dir in &dirs {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "no headless browser found (looked for {CANDIDATES:?} on PATH): install it with \
         `apt-get install -y --no-install-recommends chromium-headless-shell` (.ci/run does), \
         or set KUBESIM_BROWSER to a Chromium binary"
    );
}

fn chromium(args: &[&str], page: &Path) -> std::process::Output {
    chromium_at(args, page, "")
}

/// Opens `page` with a URL fragment (`#step-3`).
fn chromium_at(args: &[&str], page: &Path, fragment: &str) -> std::process::Output {
    // A profile of its own per page (tests run in parallel), outside the repository.
    let stem = page
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let profile =
        std::env::temp_dir().join(format!("kubesim-chromium-{}-{stem}", std::process::id()));
    let out = Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .args(
            (!args.iter().any(|a| a.starts_with("--window-size=")))
                .then_some("--window-size=1400,1000"),
        )
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("the browser starts");
    assert!(
        out.status.success(),
        "the browser failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The page's `#render-status` after its script ran: state, and its attributes.
struct Status {
    state: String,
    text: String,
    lanes: usize,
    ms: Option<u64>,
    /// After the first frame (layout and paint included), when the browser got that far
    /// before dumping the DOM.
    painted_ms: Option<u64>,
    /// The `#render-status` tag itself, for its other `data-*` attributes.
    tag: String,
}

impl Status {
    /// A numeric `data-*` attribute of the status (`lease-lanes`, `drawn-pods`, ...).
    fn count(&self, name: &str) -> usize {
        attr(&self.tag, &format!("data-{name}"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no data-{name} in {}", self.tag))
    }
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

fn load(page: &Path) -> Status {
    load_at(page, "").0
}

/// The status and the whole DOM after the script ran, the page opened at `fragment`.
fn load_at(page: &Path, fragment: &str) -> (Status, String) {
    load_with(&["--dump-dom"], page, fragment)
}

fn load_with(args: &[&str], page: &Path, fragment: &str) -> (Status, String) {
    let out = chromium_at(args, page, fragment);
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let at = dom
        .find("id=\"render-status\"")
        .unwrap_or_else(|| panic!("no #render-status in the DOM of {}", page.display()));
    let open = dom[..at].rfind('<').unwrap();
    let close = at + dom[at..].find('>').unwrap();
    let tag = &dom[open..=close];
    let end = close + dom[close..].find("</div>").unwrap();
    let status = Status {
        state: attr(tag, "data-state").unwrap_or_default(),
        text: dom[close + 1..end].to_string(),
        lanes: attr(tag, "data-lanes").map_or(0, |n| n.parse().unwrap()),
        ms: attr(tag, "data-ms").and_then(|n| n.parse().ok()),
        painted_ms: attr(tag, "data-painted-ms").and_then(|n| n.parse().ok()),
        tag: tag.to_string(),
    };
    (status, dom)
}

fn screenshot(page: &Path) -> PathBuf {
    screenshot_sized(page, "1400,1000")
}

fn screenshot_sized(page: &Path, size: &str) -> PathBuf {
    let png = page.with_extension("png");
    chromium(
        &[
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={size}"),
        ],
        page,
    );
    let bytes = std::fs::read(&png).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(bytes.len() > 10_000, "a drawn page, not a blank one");
    png
}

fn write_page(dir: &Path, name: &str, timeline: &Timeline) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, report::render_html(timeline)).unwrap();
    path
}

fn tour_timeline() -> Timeline {
    let loaded = kubesim::scenario::load_str(
        kubesim::tour::ETCD_TOUR,
        Path::new("scenarios/etcd-tour.ron"),
    )
    .unwrap();
    let mut narrator = kubesim::tour::EtcdTourNarrator::new();
    report::run_recorded(&loaded, None, Some(&mut narrator))
        .unwrap()
        .timeline
}

#[test]
fn the_tour_report_draws_its_timeline() {
    let dir = scratch_dir("report-tour");
    let timeline = tour_timeline();
    let page = write_page(&dir, "tour.html", &timeline);
    // Opened at a step's anchor, as a link from elsewhere would: that step is selected.
    let (status, dom) = load_at(&page, "#step-5");
    assert_eq!(status.state, "ok", "{}", status.text);
    assert!(
        dom.contains(r#"<section class="step sel" id="step-5">"#),
        "step 5 is highlighted"
    );
    assert_eq!(dom.matches(r#"class="step sel""#).count(), 1);
    // 5 node lanes, the etcd lane, the two leader-election Leases, faults, steps, a pods
    // strip per node with pods, and a chart per kind of series.
    let pod_lanes = timeline.pods.len();
    let charts: std::collections::BTreeSet<&str> =
        timeline.series.iter().map(|s| s.chart.as_str()).collect();
    assert!(pod_lanes >= 3, "the control planes' static pods");
    assert_eq!(status.count("lease-lanes"), 2, "{}", status.tag);
    assert_eq!(status.count("pod-lanes"), pod_lanes, "{}", status.tag);
    assert_eq!(status.count("charts"), charts.len(), "{}", status.tag);
    assert_eq!(
        status.lanes,
        5 + 1 + 2 + 2 + pod_lanes + charts.len(),
        "{}",
        status.text
    );
    assert!(status.count("drawn-leases") >= 2, "{}", status.tag);
    assert!(status.count("drawn-pods") >= pod_lanes, "{}", status.tag);
    assert!(status.text.contains(&format!(
        "{} faults, {} steps",
        timeline.faults.len(),
        timeline.steps.len()
    )));
    screenshot(&page);
}

/// The DESIGN example: every kind of lane is drawn, on a window tall enough to show them all
/// without scrolling (the canvas draws only what is visible).
#[test]
fn the_worker_loss_report_draws_every_kind_of_lane() {
    let dir = scratch_dir("report-worker-loss");
    let loaded =
        kubesim::scenario::load(&root().join("scenarios/nginx-survives-worker-loss.ron")).unwrap();
    let timeline = report::run_recorded(&loaded, None, None).unwrap().timeline;
    let page = write_page(&dir, "worker-loss.html", &timeline);
    let (status, _) = load_with(&["--dump-dom", "--window-size=1400,2600"], &page, "");
    assert_eq!(status.state, "ok", "{}", status.text);
    assert_eq!(status.count("lease-lanes"), 2, "{}", status.tag);
    assert_eq!(status.count("pod-lanes"), 4, "{}", status.tag);
    // The Deployments' chart and the Service's.
    assert_eq!(status.count("charts"), 2, "{}", status.tag);
    // Shapes drawn: both Leases held, every node up (worker2 then crashed) and Ready (then
    // not), pods on every node, the etcd leader, the crash and the restart, and the lines:
    // the Deployment's ready and desired counts, requests answered, timed out and rejected.
    assert_eq!(status.count("drawn-leases"), 2, "{}", status.tag);
    assert!(status.count("drawn-hosts") >= 5, "{}", status.tag);
    assert!(status.count("drawn-ready") >= 5, "{}", status.tag);
    assert!(status.count("drawn-pods") >= 4, "{}", status.tag);
    assert!(status.count("drawn-etcd") >= 1, "{}", status.tag);
    assert_eq!(status.count("drawn-faults"), 2, "{}", status.tag);
    assert!(status.count("drawn-chart-lines") >= 2 + 3, "{}", status.tag);
    screenshot_sized(&page, "1400,1500");
}

#[test]
fn the_example_in_docs_loads_without_errors() {
    let page = root().join("docs/report-example.html");
    assert!(
        page.is_file(),
        "docs/report-example.html is kept in the repository"
    );
    let status = load(&page);
    assert_eq!(status.state, "ok", "{}", status.text);
    assert!(status.lanes >= 8);
}

#[test]
fn a_script_error_is_caught_and_shown() {
    let dir = scratch_dir("report-broken");
    let mut r = Recorder::new("broken", "", 1);
    r.add_host("kubesim-worker", "worker", false);
    let html = report::render_html(&r.finish_at(Time::from_secs(1), "pass"));
    // A data block the script cannot draw: the page must say so, not look fine.
    let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let broken = format!("{}{{\"meta\":null}}{}", &html[..start], &html[end..]);
    let page = dir.join("broken.html");
    std::fs::write(&page, broken).unwrap();
    let status = load(&page);
    assert_eq!(status.state, "error");
    assert!(status.text.contains("report error"), "{}", status.text);
}

/// A 100-node, one-hour run with what a busy cluster records: host faults every few minutes,
/// node Ready conditions, leader changes, two Leases, pods on every node changing every ~10 s, Deployments and
/// Services sampled every second, 240 steps with output.
fn big_timeline() -> Timeline {
    let nodes = 100u32;
    let hour = 3_600u64;
    let mut r = Recorder::new("synthetic-100-nodes-1h", "report load test", 42);
    let names: Vec<String> = (0..nodes)
        .map(|i| match i {
            0 => "kubesim-control-plane".to_string(),
            1 | 2 => format!("kubesim-control-plane{}", i + 1),
            3 => "kubesim-worker".to_string(),
            _ => format!("kubesim-worker{}", i - 2),
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        r.add_host(name, if i < 3 { "control-plane" } else { "worker" }, i < 3);
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut term = 2;
    // Recoveries due later, applied in time order (the recorder's clock only moves forward).
    let mut due: Vec<(u64, String)> = Vec::new();
    let mut due_leader: Option<(u64, String, u64)> = None;
    for s in 0..hour {
        let t = Time::from_secs(s);
        due.retain(|(at, name)| {
            if *at == s {
                r.host_state(t, name, EngineState::Up);
                r.node_ready(t, name, Some("True"));
            }
            *at != s
        });
        if s == 10 {
            for name in &names {
                r.node_ready(t, name, Some("True"));
            }
        }
        if let Some((at, leader, term)) = due_leader.take() {
            if at == s {
                r.etcd_leader(t, Some((leader, term)));
            } else {
                due_leader = Some((at, leader, term));
            }
        }
        if s % 90 == 45 {
            let victim = &names[rand(u64::from(nodes)) as usize];
            match rand(3) {
                0 => {
                    r.on_fault_label(t, &format!("Crash({victim})"), &[victim]);
                    r.host_state(t, victim, EngineState::Crashed);
                    r.node_ready(t, victim, Some("Unknown"));
                    due.push((s + 40, victim.clone()));
                }
                1 => {
                    r.on_fault_label(t, &format!("Pause({victim}, 20s)"), &[victim]);
                    r.host_state(t, victim, EngineState::Paused);
                    due.push((s + 20, victim.clone()));
                }
                _ => {
                    r.on_fault(t, &Fault::Heal);
                    r.partitioned(t, victim, true);
                }
            }
        }
        if s.is_multiple_of(300) {
            term += 1;
            let leader = &names[(s / 300 % 3) as usize];
            r.etcd_leader(t, None);
            due_leader = Some((s + 1, leader.clone(), term));
            r.lease(t, "kube-system/kube-controller-manager", Some(leader));
            r.lease(
                t,
                "kube-system/kube-scheduler",
                Some(&names[((s / 300 + 1) % 3) as usize]),
            );
        }
        for d in 0..10 {
            r.deployment_ready(t, &format!("app-{d}"), 8 + rand(3) as u32);
        }
        for svc in 0..5 {
            let rps = 200.0 + rand(50) as f64;
            r.service_traffic(
                t,
                &format!("svc-{svc}"),
                rps,
                (rand(100) < 3) as u8 as f64 * 4.0,
            );
        }
        for (i, name) in names.iter().enumerate() {
            if (s + i as u64).is_multiple_of(10) {
                r.pods(t, name, "Running", 20 + rand(10) as u32);
                r.pods(t, name, "Pending", rand(3) as u32);
                r.pods(t, name, "Failed", (rand(20) == 0) as u32);
                r.pods(t, name, "Terminating", (rand(10) == 0) as u32);
                r.pods(t, name, "Running (not ready)", (rand(8) == 0) as u32);
            }
        }
        if s.is_multiple_of(15) {
            let output: String = (0..20)
                .map(|l| format!("pod-{s}-{l}   1/1     Running   0          {s}s\n"))
                .collect();
            r.on_step(t, "$ kubectl get pods -o wide", &output);
        }
    }
    r.finish_at(Time::from_secs(hour), "pass")
}

#[test]
fn a_100_node_hour_long_report_opens_quickly() {
    let dir = scratch_dir("report-big");
    let timeline = big_timeline();
    assert_eq!(timeline.hosts.len(), 100);
    let html = report::render_html(&timeline);
    // Downsampled: what goes to the browser is bounded by the screen, not by the run.
    assert!(html.len() < 6 << 20, "{} bytes", html.len());
    let page = dir.join("big.html");
    std::fs::write(&page, &html).unwrap();
    let status = load(&page);
    assert_eq!(status.state, "ok", "{}", status.text);
    // 100 node lanes, etcd, 2 Leases, faults, steps, 100 pod strips, 2 charts.
    assert_eq!(status.lanes, 100 + 1 + 2 + 2 + 100 + 2, "{}", status.text);
    // A figure, not an assertion (no timed tests): `cargo test --release --test report_browser
    // -- --nocapture a_100_node` prints it.
    eprintln!(
        "100-node 1-hour report: {} bytes; timeline drawn {} ms after navigation, first frame \
         painted at {}",
        html.len(),
        status.ms.unwrap_or(0),
        status.painted_ms.map_or_else(
            || "(not reached before the DOM dump)".to_string(),
            |ms| format!("{ms} ms")
        )
    );
}
