//! kube-apiserver in the cluster: ready after bootstrap on every control-plane node, objects
//! stored in etcd (and readable with etcdctl as JSON), two writers racing (one 409), a watch
//! from a revision the watch cache no longer holds (410, then a relist), and kubectl's client
//! failing over when its apiserver's node crashes.

use std::sync::Arc;

use api::{Kind, Object};
use apiserver::{ApiReply, ApiRequest, EventType, GetOptions, ListOptions, UserInfo, Verb};
use cluster::{Cluster, KubectlClient, Topology, etcdctl};
use sim::{Duration, Fault};

fn ready(control_planes: u32, seed: u64) -> Cluster {
    let mut c = Cluster::build(Topology::new(control_planes, 1).with_seed(seed)).unwrap();
    let leader = c.run_until_ready(Duration::from_secs(30)).unwrap();
    assert!(
        leader.is_some(),
        "seed {seed}: control plane not ready in 30 s"
    );
    c
}

fn configmap(name: &str, value: &str) -> Arc<Object> {
    let obj: Object = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"value": value}
    }))
    .unwrap();
    Arc::new(obj)
}

fn req(verb: Verb) -> ApiRequest {
    ApiRequest::new(0, UserInfo::admin(), Kind::ConfigMap, verb).in_namespace("default")
}

fn call(c: &mut Cluster, r: ApiRequest) -> ApiReply {
    c.api_request(&UserInfo::admin(), r, Duration::from_secs(60))
        .expect("an answer")
        .expect("success")
}

fn object(reply: ApiReply) -> Arc<Object> {
    match reply {
        ApiReply::Object(o) => o,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_control_plane_runs_a_bootstrapped_apiserver() {
    let c = ready(3, 1);
    assert_eq!(c.apiservers().len(), 3);
    let names: Vec<&str> = c.apiservers().iter().map(|a| a.node.as_str()).collect();
    assert_eq!(
        names,
        [
            "kubesim-control-plane",
            "kubesim-control-plane2",
            "kubesim-control-plane3"
        ]
    );
    assert!(c.apiservers_ready());
}

#[test]
fn objects_live_in_etcd_and_etcdctl_prints_them_as_json() {
    let mut c = ready(1, 2);
    let created = object(call(
        &mut c,
        req(Verb::Create(configmap("settings", "fast"))),
    ));
    assert_eq!(created.name(), "settings");
    let out = etcdctl::run(&mut c, "get /registry/configmaps/default/settings");
    assert_eq!(out.status, 0, "{}", out.text);
    let mut lines = out.text.lines();
    assert_eq!(lines.next(), Some("/registry/configmaps/default/settings"));
    let stored: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(stored["data"]["value"], "fast");
    assert_eq!(stored["metadata"]["uid"], created.uid());
    // The resourceVersion is the key's revision, never stored in the value.
    assert!(stored["metadata"].get("resourceVersion").is_none());
    // What etcdctl puts is kept as given, next to the apiserver's objects.
    assert_eq!(etcdctl::run(&mut c, "put /hello world").text, "OK\n");
    assert_eq!(etcdctl::run(&mut c, "get /hello").text, "/hello\nworld\n");
}

#[test]
fn two_writers_racing_one_gets_409_conflict() {
    let mut c = ready(1, 3);
    let read = object(call(&mut c, req(Verb::Create(configmap("race", "0")))));
    let alice = c
        .kubectl_actor(&UserInfo::user_in("one", &["system:masters"]))
        .unwrap();
    let bob = c
        .kubectl_actor(&UserInfo::user_in("two", &["system:masters"]))
        .unwrap();
    // Both computed their update from the same read (same resourceVersion).
    let mut ids = Vec::new();
    for (who, value) in [(alice, "1"), (bob, "2")] {
        let mut mine = Object::clone(&read);
        if let Object::ConfigMap(cm) = &mut mine {
            cm.data = Some([("value".to_string(), value.to_string())].into());
        }
        let r = req(Verb::Update(Arc::new(mine))).named("race");
        let id = c
            .sim_mut()
            .invoke::<KubectlClient, _>(who, |k, ctx| k.send(ctx, r))
            .unwrap()
            .unwrap()
            .unwrap();
        ids.push((who, id));
    }
    c.sim_mut().run_for(Duration::from_secs(5)).unwrap();
    let answers: Vec<_> = ids
        .into_iter()
        .map(|(who, id)| {
            c.sim_mut()
                .actor_mut::<KubectlClient>(who)
                .and_then(|k| k.take_answer(id))
                .expect("answered")
        })
        .collect();
    let wins = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(wins, 1, "{answers:?}");
    let lost = answers
        .iter()
        .find_map(|a| a.as_ref().err())
        .and_then(|e| e.status())
        .expect("a Status error");
    assert_eq!(lost.code, 409);
    assert_eq!(
        lost.message,
        "Operation cannot be fulfilled on configmaps \"race\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[test]
fn a_watch_from_a_revision_the_cache_dropped_gets_410_and_a_relist_recovers() {
    let mut c = ready(1, 4);
    let first = object(call(&mut c, req(Verb::Create(configmap("churn", "0")))));
    let old_rv = first.resource_version().to_string();
    // Enough changes that the watch cache's window (at least 100 events, 75 s) moves past
    // the first revision, and the compactor (every 5 min) compacts etcd behind them.
    for i in 1..=151 {
        if i == 151 {
            // The window drops old events as new ones come in.
            c.sim_mut().run_for(Duration::from_secs(6 * 60)).unwrap();
        }
        let mut cur = Object::clone(&object(call(
            &mut c,
            req(Verb::Get(GetOptions::default())).named("churn"),
        )));
        if let Object::ConfigMap(cm) = &mut cur {
            cm.data = Some([("value".to_string(), i.to_string())].into());
        }
        call(&mut c, req(Verb::Update(Arc::new(cur))).named("churn"));
    }
    let watch = ListOptions {
        resource_version: old_rv.clone(),
        ..ListOptions::default()
    };
    let admin = c.kubectl_actor(&UserInfo::admin()).unwrap();
    let r = req(Verb::Watch(watch));
    let id = c
        .sim_mut()
        .invoke::<KubectlClient, _>(admin, |k, ctx| k.send(ctx, r))
        .unwrap()
        .unwrap()
        .unwrap();
    c.sim_mut().run_for(Duration::from_secs(2)).unwrap();
    let (events, ended) = c
        .sim_mut()
        .actor_mut::<KubectlClient>(admin)
        .unwrap()
        .take_watch_events(id);
    assert!(ended, "the server ends the watch after its ERROR event");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, EventType::Error);
    let status = events[0].error.clone().expect("a Status");
    assert_eq!(status.code, 410);
    assert!(
        status
            .message
            .starts_with(&format!("too old resource version: {old_rv} (")),
        "{}",
        status.message
    );
    // The reflector's answer: list again, then watch from the list's resourceVersion.
    let ApiReply::List(list) = call(&mut c, req(Verb::List(ListOptions::default()))) else {
        panic!("a list");
    };
    assert!(list.resource_version.parse::<i64>().unwrap() > old_rv.parse::<i64>().unwrap());
    let value = list
        .items
        .iter()
        .find(|o| o.name() == "churn")
        .map(|o| serde_json::to_value(&**o).unwrap()["data"]["value"].clone());
    assert_eq!(value, Some(serde_json::json!("151")));
}

#[test]
fn kubectl_fails_over_when_its_apiservers_node_crashes() {
    let mut c = ready(3, 5);
    call(&mut c, req(Verb::Create(configmap("kept", "yes"))));
    let first = c.apiservers()[0].host;
    c.sim_mut().apply_fault(Fault::Crash(first)).unwrap();
    let reply = call(&mut c, req(Verb::Get(GetOptions::default())).named("kept"));
    assert_eq!(object(reply).name(), "kept");
    let admin = c.kubectl_actor(&UserInfo::admin()).unwrap();
    let now_using = c
        .sim()
        .actor::<KubectlClient>(admin)
        .and_then(|k| k.endpoint())
        .unwrap();
    assert_ne!(now_using, c.apiservers()[0].actor);
    // Writes go through too.
    call(&mut c, req(Verb::Create(configmap("after", "yes"))));
}
