//! `ApiClient` on a real `Sim` against scripted fake apiservers (test doubles): a hung replica
//! makes reads move to the next one after the attempt timeout, while writes fail instead.

mod fake_apiserver;

use std::sync::Arc;

use api::k8s_openapi::api::core::v1::ConfigMap;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use api::{Kind, Object};
use apiserver::{ApiMessage, ApiReply, GetOptions, UserInfo, Verb};
use client::api_client::{
    ApiClient, ApiClientConfig, ClientError, ClientEvent, is_api_client_timer,
};
use fake_apiserver::FakeApiserver;
use sim::{Actor, ActorId, Ctx, Duration, Sim, SimConfig, StreamClose, StreamId, Time};

struct Caller {
    client: ApiClient,
    answers: Vec<(Time, u64, Result<String, ClientError>)>,
}

impl Caller {
    fn take(&mut self, ctx: &mut Ctx<'_, ApiMessage>, events: Vec<ClientEvent>) {
        for ev in events {
            if let ClientEvent::Response { id, result } = ev {
                let r = result.map(|r| match r {
                    ApiReply::Object(o) => o.name().to_string(),
                    other => format!("{other:?}"),
                });
                self.answers.push((ctx.sim_time(), id, r));
            }
        }
    }
}

impl Actor<ApiMessage> for Caller {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, ApiMessage>, _from: ActorId, _msg: ApiMessage) {}
    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _from: ActorId,
        msg: ApiMessage,
    ) {
        let ev = self.client.on_message(ctx, stream, msg);
        self.take(ctx, ev);
    }
    fn on_stream_closed(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _why: StreamClose,
    ) {
        let ev = self.client.on_stream_closed(ctx, stream);
        self.take(ctx, ev);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, ApiMessage>, tag: u64) {
        if is_api_client_timer(tag) {
            let ev = self.client.on_timer(ctx, tag);
            self.take(ctx, ev);
        }
    }
}

fn cm(name: &str) -> Object {
    Object::from(ConfigMap {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    })
}

#[test]
fn reads_retry_on_the_next_replica_and_writes_do_not() {
    let mut sim = Sim::<ApiMessage>::new(SimConfig::with_seed(5));
    let mut servers = Vec::new();
    for i in 0..2 {
        let h = sim.add_host(&format!("cp{i}")).unwrap();
        servers.push(
            sim.add_actor(h, "kube-apiserver", |_| FakeApiserver::default())
                .unwrap(),
        );
    }
    for s in &servers {
        sim.invoke(*s, |f: &mut FakeApiserver, ctx| {
            f.put(ctx, cm("settings"));
        })
        .unwrap();
    }
    sim.actor_mut::<FakeApiserver>(servers[0]).unwrap().mute = true;
    let h = sim.add_host("worker").unwrap();
    let eps = servers.clone();
    let caller = sim
        .add_actor(h, "caller", move |_| Caller {
            client: ApiClient::new(ApiClientConfig::new(eps.clone(), UserInfo::admin())),
            answers: Vec::new(),
        })
        .unwrap();
    sim.run_for(Duration::from_millis(10)).unwrap();

    // A write to the hung replica: it times out once and is not retried.
    let write = sim
        .invoke(caller, |c: &mut Caller, ctx| {
            c.client.request(
                ctx,
                Kind::ConfigMap,
                "default",
                "",
                Verb::Create(Arc::new(cm("new"))),
            )
        })
        .unwrap()
        .unwrap();
    sim.run_for(Duration::from_secs(20)).unwrap();
    // The client moved to replica 1 after that timeout.
    let c = sim.actor::<Caller>(caller).unwrap();
    assert_eq!(c.answers.len(), 1);
    assert_eq!(c.answers[0].1, write);
    assert_eq!(c.answers[0].2, Err(ClientError::Timeout { attempts: 1 }));
    assert_eq!(
        c.answers[0].0,
        Time::from_millis(10).saturating_add(Duration::from_secs(15))
    );
    assert_eq!(c.client.endpoint(), Some(servers[1]));
    assert!(
        sim.actor::<FakeApiserver>(servers[1])
            .unwrap()
            .get(Kind::ConfigMap, "default", "new")
            .is_none()
    );

    // A read: sent to replica 1 now, answered at once.
    let read = sim
        .invoke(caller, |c: &mut Caller, ctx| {
            c.client.request(
                ctx,
                Kind::ConfigMap,
                "default",
                "settings",
                Verb::Get(GetOptions::default()),
            )
        })
        .unwrap()
        .unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    let c = sim.actor::<Caller>(caller).unwrap();
    assert_eq!(c.answers[1].1, read);
    assert_eq!(c.answers[1].2, Ok("settings".to_string()));

    // Replica 1 hangs too and replica 0 recovers: the read times out on 1 and is answered by 0.
    sim.actor_mut::<FakeApiserver>(servers[1]).unwrap().mute = true;
    sim.actor_mut::<FakeApiserver>(servers[0]).unwrap().mute = false;
    let t0 = sim.now();
    let read = sim
        .invoke(caller, |c: &mut Caller, ctx| {
            c.client.request(
                ctx,
                Kind::ConfigMap,
                "default",
                "settings",
                Verb::Get(GetOptions::default()),
            )
        })
        .unwrap()
        .unwrap();
    sim.run_for(Duration::from_secs(20)).unwrap();
    let c = sim.actor::<Caller>(caller).unwrap();
    let (at, id, result) = &c.answers[2];
    assert_eq!((*id, result.clone()), (read, Ok("settings".to_string())));
    let waited = at.saturating_since(t0);
    assert!(
        waited >= Duration::from_secs(15) && waited < Duration::from_secs(16),
        "answered after {waited}"
    );
    assert_eq!(c.client.endpoint(), Some(servers[0]));
}

#[test]
fn throttled_writes_wait_for_their_token_in_order_and_none_is_dropped() {
    use apiserver::ApiRequest;
    use client::rate_limiter::BucketRateLimiter;

    let mut sim = Sim::<ApiMessage>::new(SimConfig::with_seed(5));
    let h = sim.add_host("cp0").unwrap();
    let server = sim
        .add_actor(h, "kube-apiserver", |_| FakeApiserver::default())
        .unwrap();
    let h = sim.add_host("worker").unwrap();
    let caller = sim
        .add_actor(h, "caller", move |_| Caller {
            client: ApiClient::new(ApiClientConfig::new(vec![server], UserInfo::admin())),
            answers: Vec::new(),
        })
        .unwrap();
    sim.run_for(Duration::from_millis(10)).unwrap();
    // kube-controller-manager's defaults: 20 qps, burst 30. 40 creates at once: 30 go out at
    // once, the other 10 one every 50 ms.
    let mut bucket = BucketRateLimiter::new(20, 30);
    let t0 = sim.now();
    let ids = sim
        .invoke(caller, move |c: &mut Caller, ctx| {
            let ids: Vec<u64> = (0..40)
                .map(|i| {
                    let req = ApiRequest::new(
                        0,
                        UserInfo::admin(),
                        Kind::ConfigMap,
                        Verb::Create(Arc::new(cm(&format!("cm-{i:02}")))),
                    )
                    .in_namespace("default");
                    c.client.send_throttled(ctx, req, &mut bucket)
                })
                .collect();
            assert_eq!(c.client.throttled(), 10);
            ids
        })
        .unwrap()
        .unwrap();
    sim.run_for(Duration::from_secs(2)).unwrap();
    let c = sim.actor::<Caller>(caller).unwrap();
    assert_eq!(c.client.throttled(), 0);
    let answered: Vec<u64> = c.answers.iter().map(|a| a.1).collect();
    assert_eq!(answered, ids, "every request answered, in the order sent");
    let names: Vec<String> = c.answers.iter().map(|a| a.2.clone().unwrap()).collect();
    assert_eq!(names[39], "cm-39");
    // The network adds well under a millisecond each way.
    let within = |at: Time, sent_after: Duration| {
        let d = at.saturating_since(t0);
        d >= sent_after && d < sent_after.saturating_add(Duration::from_millis(2))
    };
    for (i, a) in c.answers.iter().enumerate() {
        let sent_after = Duration::from_millis(50 * (i as u64).saturating_sub(29));
        assert!(within(a.0, sent_after), "request {i} answered at {}", a.0);
    }
}
