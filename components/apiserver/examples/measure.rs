//! Hand measurements of the apiserver (run in release; not a test):
//! `cargo run --release -p apiserver --example measure`
//!
//! Prints requests served per wall second at 10,000 pods, resident memory per stored pod
//! (etcd's MVCC store and the watch cache together), and the cost of fanning watch events out
//! to 1,000 watchers.

// Wall-clock time is what this example measures; the simulation itself never reads it.

use std::collections::BTreeMap;
use std::sync::Arc;

use apiserver::protocol::*;
use apiserver::{ApiServerConfig, KubeApiServer, StoredValue};
use sim::{Actor, ActorId, Ctx, Duration, Message, Sim, SimConfig, StreamId, TraceHasher};
use store::server::{EtcdConfig, EtcdEnvelope, EtcdMember, EtcdMessage};

#[derive(Clone, Debug)]
pub enum Msg {
    Etcd(EtcdMessage<StoredValue>),
    Api(ApiMessage),
}

impl Message for Msg {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            Msg::Etcd(m) => m.trace_digest(h),
            Msg::Api(m) => m.trace_digest(h),
        }
    }
}

impl EtcdEnvelope<StoredValue> for Msg {
    fn wrap(m: EtcdMessage<StoredValue>) -> Self {
        Msg::Etcd(m)
    }
    fn unwrap_etcd(self) -> Result<EtcdMessage<StoredValue>, Self> {
        match self {
            Msg::Etcd(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl ApiEnvelope for Msg {
    fn wrap_api(m: ApiMessage) -> Self {
        Msg::Api(m)
    }
    fn unwrap_api(self) -> Result<ApiMessage, Self> {
        match self {
            Msg::Api(m) => Ok(m),
            other => Err(other),
        }
    }
}

/// Sends what the test gives it on one stream and records every answer.
pub struct TestClient {
    pub server: ActorId,
    pub stream: Option<StreamId>,
    pub responses: BTreeMap<u64, Arc<ApiResponse>>,
    pub events: BTreeMap<u64, Vec<Arc<WatchEvent>>>,
    pub ended: BTreeMap<u64, WatchEndReason>,
}

impl TestClient {
    pub fn send(&mut self, ctx: &mut Ctx<'_, Msg>, req: ApiRequest) {
        let s = match self.stream {
            Some(s) if ctx.stream_is_open(s) => s,
            _ => {
                let s = ctx.open_stream(self.server);
                self.stream = Some(s);
                s
            }
        };
        let _ = ctx.stream_send(s, Msg::Api(ApiMessage::Request(Arc::new(req))));
    }

    pub fn cancel(&mut self, ctx: &mut Ctx<'_, Msg>, id: u64) {
        if let Some(s) = self.stream {
            let _ = ctx.stream_send(s, Msg::Api(ApiMessage::CancelWatch { id }));
        }
    }
}

impl Actor<Msg> for TestClient {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, Msg>, _from: ActorId, _msg: Msg) {}

    fn on_stream_message(
        &mut self,
        _ctx: &mut Ctx<'_, Msg>,
        _s: StreamId,
        _from: ActorId,
        msg: Msg,
    ) {
        match msg {
            Msg::Api(ApiMessage::Response(r)) => {
                self.responses.insert(r.id, r);
            }
            Msg::Api(ApiMessage::WatchEvent { id, event }) => {
                self.events.entry(id).or_default().push(event)
            }
            Msg::Api(ApiMessage::WatchEnd { id, reason }) => {
                self.ended.insert(id, reason);
            }
            _ => {}
        }
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn pod(name: &str) -> api::SharedObject {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web}}}}\nspec:\n  containers: [{{name: web, image: nginx:1.27}}]\n"
    );
    Arc::new(
        api::manifest::parse(&yaml)
            .expect("manifest")
            .remove(0)
            .object,
    )
}

struct Bench {
    sim: Sim<Msg>,
    client: ActorId,
    next: u64,
}

impl Bench {
    fn send_all(&mut self, reqs: Vec<ApiRequest>) {
        self.sim
            .invoke::<TestClient, _>(self.client, |c, ctx| {
                for r in reqs {
                    c.send(ctx, r);
                }
            })
            .expect("invoke");
    }

    fn wait_responses(&mut self, n: usize) {
        while self
            .sim
            .actor::<TestClient>(self.client)
            .expect("client")
            .responses
            .len()
            < n
        {
            self.sim.run_for(Duration::from_millis(100)).expect("run");
        }
    }

    fn batch(&mut self, n: usize, make: impl Fn(u64, usize) -> ApiRequest) -> f64 {
        self.sim
            .invoke::<TestClient, _>(self.client, |c, _| c.responses.clear())
            .expect("invoke");
        let reqs: Vec<ApiRequest> = (0..n)
            .map(|i| {
                self.next += 1;
                make(self.next, i)
            })
            .collect();
        let t = cpu_now();
        self.send_all(reqs);
        self.wait_responses(n);
        let secs = cpu_now() - t;
        let errors = self
            .sim
            .actor::<TestClient>(self.client)
            .expect("client")
            .responses
            .values()
            .filter(|r| r.result.is_err())
            .count();
        assert_eq!(errors, 0, "every request succeeds");
        n as f64 / secs
    }
}

fn main() {
    let mut sim = Sim::<Msg>::new(SimConfig::with_seed(1));
    let eh = sim.add_host("etcd-1").expect("host");
    let peers: BTreeMap<u64, ActorId> = [(1, ActorId(0))].into();
    let member = sim
        .add_actor(
            eh,
            "etcd",
            EtcdMember::<StoredValue>::factory(EtcdConfig::new(1, peers)),
        )
        .expect("etcd");
    let ah = sim.add_host("control-plane").expect("host");
    let server = sim
        .add_actor(ah, "kube-apiserver", move |_| {
            KubeApiServer::<Msg>::new(ApiServerConfig::new(vec![(1, member)]))
        })
        .expect("apiserver");
    let ch = sim.add_host("client").expect("host");
    let client = sim
        .add_actor(ch, "client", move |_| TestClient {
            server,
            stream: None,
            responses: BTreeMap::new(),
            events: BTreeMap::new(),
            ended: BTreeMap::new(),
        })
        .expect("client");
    sim.run_for(Duration::from_secs(5)).expect("start");
    let mut b = Bench {
        sim,
        client,
        next: 0,
    };
    let admin = UserInfo::admin();

    let rss0 = rss_bytes();
    let n = 10_000;
    let creates = b.batch(n, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Create(pod(&format!("web-{i}"))),
        )
        .in_namespace("default")
    });
    b.sim.run_for(Duration::from_secs(2)).expect("settle");
    let rss1 = rss_bytes();
    println!("creates: {creates:.0} requests/s (10,000 pods)");
    println!(
        "memory: {} bytes RSS per stored pod (etcd MVCC + watch cache + window)",
        (rss1.saturating_sub(rss0)) / n as u64
    );

    let cached_gets = b.batch(n, |id, i| {
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
    println!("get (rv=0, from cache): {cached_gets:.0} requests/s");
    let quorum_gets = b.batch(n, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Get(GetOptions::default()),
        )
        .in_namespace("default")
        .named(format!("web-{i}"))
    });
    println!("get (quorum read from etcd): {quorum_gets:.0} requests/s");
    let binds = b.batch(n, |id, i| {
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
    println!("bind (guarded update): {binds:.0} requests/s");
    let lists = b.batch(20, |id, _| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::List(ListOptions::default()),
        )
        .in_namespace("default")
    });
    println!("list of 10,000 pods (consistent, from cache): {lists:.1} requests/s");

    // Fan-out: 1,000 watchers of every pod, then 1,000 label updates.
    let watchers = 1_000;
    let reqs: Vec<ApiRequest> = (0..watchers)
        .map(|i| {
            ApiRequest::new(
                1_000_000 + i,
                admin.clone(),
                api::Kind::Pod,
                Verb::Watch(ListOptions {
                    resource_version: b
                        .sim
                        .actor::<KubeApiServer<Msg>>(server)
                        .expect("server")
                        .resource_version()
                        .to_string(),
                    ..Default::default()
                }),
            )
        })
        .collect();
    b.send_all(reqs);
    b.sim.run_for(Duration::from_secs(1)).expect("watch start");
    let before = b
        .sim
        .actor::<KubeApiServer<Msg>>(server)
        .expect("server")
        .stats()
        .watch_events_sent;
    let updates = 1_000;
    let patch = Arc::new(serde_json::json!({"metadata": {"labels": {"touched": "yes"}}}));
    let t = cpu_now();
    b.batch(updates, |id, i| {
        ApiRequest::new(
            id,
            admin.clone(),
            api::Kind::Pod,
            Verb::Patch {
                patch_type: PatchType::Merge,
                patch: patch.clone(),
            },
        )
        .in_namespace("default")
        .named(format!("web-{i}"))
    });
    b.sim.run_for(Duration::from_secs(1)).expect("deliver");
    let secs = cpu_now() - t;
    let sent = b
        .sim
        .actor::<KubeApiServer<Msg>>(server)
        .expect("server")
        .stats()
        .watch_events_sent
        - before;
    let received: usize = b
        .sim
        .actor::<TestClient>(client)
        .expect("client")
        .events
        .values()
        .map(Vec::len)
        .sum();
    println!(
        "fan-out: {updates} updates x {watchers} watchers = {sent} deliveries sent, {received} received, in {secs:.2} s wall ({:.0} ns per delivery, end to end through the simulated stream)",
        secs * 1e9 / sent.max(1) as f64
    );
}

/// On-CPU seconds of this (the simulation's) thread: the machine may be shared.
fn cpu_now() -> f64 {
    sim::bench::thread_cpu_seconds().expect("on-CPU time needs Linux's /proc/thread-self/schedstat")
}
