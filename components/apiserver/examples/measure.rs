//! The apiserver's figures (run in release; a benchmark, not a test):
//! `cargo run --release -p apiserver --example measure [-- RUNS]`
//!
//! One kube-apiserver actor over one simulated etcd member ([`apiserver::testkit`]), driven by
//! a scripted client on its own host; every request goes through the simulated network, the
//! apiserver (admission, validation, RBAC, the watch cache) and etcd (Raft, MVCC). Each run
//! builds a fresh control plane and measures, on this thread's CPU clock (the machine may be
//! shared):
//! - requests served per CPU second with 10,000 pods stored: creates (while filling it), then
//!   cached and quorum gets, guarded updates (bind), lists of 10,000, and a mix of 40% get,
//!   10% list by label (10 pods), 25% create, 25% update;
//! - memory per stored pod: bytes live on the heap (counted by this example's allocator)
//!   after storing 10,000 pods minus before, divided by 10,000: etcd's MVCC values, the
//!   watch cache and its event window, the apiserver's indexes;
//! - watch fan-out: 1,000 watchers of every pod, 1,000 updates: deliveries (events sent by the
//!   apiserver and received through the simulated streams) per CPU second.
//!
//! The table gives the median of RUNS runs (5 by default).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use apiserver::KubeApiServer;
use apiserver::protocol::*;
use apiserver::testkit::{Probe, TestMsg, run_until_ready, start_control_plane};
use sim::{ActorId, Duration, Sim, SimConfig};

/// The system allocator, counting live heap bytes.
struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const PODS: usize = 10_000;
const WATCHERS: u64 = 1_000;
const UPDATES: usize = 1_000;
const MIX: usize = 10_000;

fn pod(name: &str, app: usize) -> api::SharedObject {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web-{app}}}}}\nspec:\n  containers: [{{name: web, image: nginx:1.27}}]\n"
    );
    Arc::new(
        api::manifest::parse(&yaml)
            .expect("manifest")
            .remove(0)
            .object,
    )
}

/// One measurement run's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    creates: f64,
    cached_gets: f64,
    quorum_gets: f64,
    binds: f64,
    lists: f64,
    mix: f64,
    bytes_per_pod: f64,
    deliveries_per_sec: f64,
    deliveries: u64,
}

struct Bench {
    sim: Sim<TestMsg>,
    server: ActorId,
    client: ActorId,
    next: u64,
}

impl Bench {
    fn new(seed: u64) -> Bench {
        let mut sim = Sim::<TestMsg>::new(SimConfig::with_seed(seed));
        let cp = start_control_plane(&mut sim, 1, 1, |_| {}).expect("control plane");
        assert!(
            run_until_ready(&mut sim, &cp, Duration::from_secs(30)).expect("start"),
            "the apiserver becomes ready"
        );
        let server = cp.apiservers[0];
        let host = sim.add_host("client").expect("host");
        let client = sim
            .add_actor(host, "client", move |_| Probe::new(server))
            .expect("client");
        Bench {
            sim,
            server,
            client,
            next: 0,
        }
    }

    fn answers(&self) -> usize {
        self.sim
            .actor::<Probe>(self.client)
            .expect("client")
            .responses
            .len()
    }

    /// Sends `n` requests at once and runs until every answer came; requests per CPU second.
    fn batch(&mut self, n: usize, make: impl Fn(u64, usize) -> ApiRequest) -> f64 {
        self.sim
            .invoke::<Probe, _>(self.client, |c, _| c.responses.clear())
            .expect("invoke");
        let reqs: Vec<ApiRequest> = (0..n)
            .map(|i| {
                self.next += 1;
                make(self.next, i)
            })
            .collect();
        let t = cpu_now();
        self.sim
            .invoke::<Probe, _>(self.client, |c, ctx| {
                for r in reqs {
                    c.send(ctx, r);
                }
            })
            .expect("invoke");
        while self.answers() < n {
            self.sim.run_for(Duration::from_millis(100)).expect("run");
        }
        let secs = cpu_now() - t;
        let errors: Vec<String> = self
            .sim
            .actor::<Probe>(self.client)
            .expect("client")
            .responses
            .values()
            .filter_map(|r| r.result.as_ref().err().map(|e| e.message.clone()))
            .take(3)
            .collect();
        assert!(errors.is_empty(), "every request succeeds: {errors:?}");
        n as f64 / secs
    }

    fn watch_events_sent(&self) -> u64 {
        self.sim
            .actor::<KubeApiServer<TestMsg>>(self.server)
            .expect("server")
            .stats()
            .watch_events_sent
    }
}

fn run(seed: u64) -> Figures {
    let admin = UserInfo::admin();
    let mut f = Figures::default();
    let mut b = Bench::new(seed);
    b.sim.run_for(Duration::from_secs(1)).expect("settle");
    let live0 = LIVE_BYTES.load(Ordering::Relaxed);
    f.creates = b.batch(PODS, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Create(pod(&format!("web-{i}"), i % 1000)),
        )
        .in_namespace("default")
    });
    // Clear the answers (they hold the created pods) before counting what the server keeps.
    b.sim
        .invoke::<Probe, _>(b.client, |c, _| c.responses.clear())
        .expect("invoke");
    b.sim.run_for(Duration::from_secs(2)).expect("settle");
    let live1 = LIVE_BYTES.load(Ordering::Relaxed);
    f.bytes_per_pod = (live1 - live0) as f64 / PODS as f64;

    f.cached_gets = b.batch(PODS, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Get(GetOptions {
                resource_version: "0".into(),
            }),
        )
        .in_namespace("default")
        .named(format!("web-{i}"))
    });
    f.quorum_gets = b.batch(PODS, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Get(GetOptions::default()),
        )
        .in_namespace("default")
        .named(format!("web-{i}"))
    });
    f.binds = b.batch(PODS, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Bind {
                node_name: format!("node-{}", i % 100),
            },
        )
        .in_namespace("default")
        .named(format!("web-{i}"))
    });
    f.lists = b.batch(20, |id, _| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::List(ListOptions::default()),
        )
        .in_namespace("default")
    });
    let label = Arc::new(serde_json::json!({"metadata": {"labels": {"mixed": "yes"}}}));
    f.mix = b.batch(MIX, |id, i| {
        let req =
            |verb| ApiRequest::new(id, admin.clone(), api::Kind::Pod, verb).in_namespace("default");
        match i % 20 {
            0..=7 => req(Verb::Get(GetOptions {
                resource_version: "0".into(),
            }))
            .named(format!("web-{}", (i * 7) % PODS)),
            8 | 9 => req(Verb::List(ListOptions {
                label_selector: format!("app=web-{}", i % 1000),
                ..ListOptions::default()
            })),
            10..=14 => req(Verb::Create(pod(&format!("mix-{i}"), i % 1000))),
            _ => req(Verb::Patch {
                patch_type: PatchType::Merge,
                patch: label.clone(),
            })
            .named(format!("web-{}", (i * 13) % PODS)),
        }
    });

    // Fan-out: watchers of every pod from the current revision, then label updates.
    let rv = b
        .sim
        .actor::<KubeApiServer<TestMsg>>(b.server)
        .expect("server")
        .resource_version()
        .to_string();
    let watches: Vec<ApiRequest> = (0..WATCHERS)
        .map(|i| {
            ApiRequest::new(
                10_000_000 + i,
                admin.clone(),
                api::Kind::Pod,
                Verb::Watch(ListOptions {
                    resource_version: rv.clone(),
                    ..ListOptions::default()
                }),
            )
        })
        .collect();
    b.sim
        .invoke::<Probe, _>(b.client, |c, ctx| {
            for r in watches {
                c.send(ctx, r);
            }
        })
        .expect("invoke");
    b.sim.run_for(Duration::from_secs(1)).expect("watch start");
    let sent_before = b.watch_events_sent();
    let touched = Arc::new(serde_json::json!({"metadata": {"labels": {"touched": "yes"}}}));
    let t = cpu_now();
    b.batch(UPDATES, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Patch {
                patch_type: PatchType::Merge,
                patch: touched.clone(),
            },
        )
        .in_namespace("default")
        .named(format!("web-{i}"))
    });
    b.sim.run_for(Duration::from_secs(2)).expect("deliver");
    let secs = cpu_now() - t;
    let sent = b.watch_events_sent() - sent_before;
    let received: u64 = b
        .sim
        .actor::<Probe>(b.client)
        .expect("client")
        .events
        .values()
        .map(|v| v.len() as u64)
        .sum();
    assert_eq!(
        received, sent,
        "every delivery sent reaches its watcher (no watcher fell behind)"
    );
    f.deliveries = sent;
    f.deliveries_per_sec = sent as f64 / secs;
    f
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runs: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5)
        .max(1);
    let all: Vec<Figures> = (1..=runs).map(run).collect();
    let m = |pick: fn(&Figures) -> f64| median(all.iter().map(pick).collect());
    println!(
        "kube-apiserver over simulated etcd, {PODS} pods stored, median of {runs} runs (per CPU second of the simulation thread)"
    );
    println!("| figure | median | unit |");
    println!("|---|---:|---|");
    let rows: [(&str, f64, &str); 9] = [
        (
            "create (filling to 10,000 pods)",
            m(|f| f.creates),
            "requests/s",
        ),
        (
            "get, resourceVersion=0 (watch cache)",
            m(|f| f.cached_gets),
            "requests/s",
        ),
        (
            "get, quorum read (etcd)",
            m(|f| f.quorum_gets),
            "requests/s",
        ),
        ("update (bind, guarded)", m(|f| f.binds), "requests/s"),
        ("list of 10,000 pods (cache)", m(|f| f.lists), "requests/s"),
        (
            "mix: 40% get, 10% list by label, 25% create, 25% update",
            m(|f| f.mix),
            "requests/s",
        ),
        (
            "heap per stored pod (etcd MVCC + watch cache + indexes)",
            m(|f| f.bytes_per_pod),
            "bytes",
        ),
        (
            "watch fan-out, 1,000 watchers x 1,000 updates",
            m(|f| f.deliveries_per_sec),
            "events delivered/s",
        ),
        ("  deliveries per run", m(|f| f.deliveries as f64), "events"),
    ];
    for (name, value, unit) in rows {
        println!("| {name} | {value:.0} | {unit} |");
    }
}

/// On-CPU seconds of this (the simulation's) thread.
fn cpu_now() -> f64 {
    sim::bench::thread_cpu_seconds().expect("on-CPU time needs Linux's /proc/thread-self/schedstat")
}
