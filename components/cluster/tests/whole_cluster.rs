//! The whole cluster end to end, with no scenario runner: a Deployment applied through the
//! apiserver becomes a ReplicaSet (controller-manager), its pods are bound (scheduler) and
//! started by the kubelets (runtime), an EndpointSlice publishes them, and every node's
//! kube-proxy routes Service traffic to them.

mod common;

use std::sync::Arc;

use apiserver::{ApiReply, ApiRequest, ListOptions, UserInfo, Verb};
use cluster::{Cluster, ComponentOptions, Topology};
use proxy::TrafficSpec;
use sim::Duration;

const NGINX: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  selector:
    app: nginx
  ports:
  - port: 80
"#;

fn create_all(c: &mut Cluster, yaml: &str) {
    for (i, doc) in api::manifest::parse(yaml)
        .expect("manifest")
        .into_iter()
        .enumerate()
    {
        let o = Arc::new(doc.object);
        let req = ApiRequest::new(
            1000 + i as u64,
            UserInfo::admin(),
            o.kind(),
            Verb::Create(o),
        )
        .in_namespace("default");
        let reply = c
            .api_request(&UserInfo::admin(), req, Duration::from_secs(10))
            .expect("answered");
        assert!(reply.is_ok(), "create: {reply:?}");
    }
}

fn pods(c: &mut Cluster) -> Vec<api::SharedObject> {
    let req = ApiRequest::new(
        2000,
        UserInfo::admin(),
        api::Kind::Pod,
        Verb::List(ListOptions::default()),
    )
    .in_namespace("default");
    match c.api_request(&UserInfo::admin(), req, Duration::from_secs(10)) {
        Ok(Ok(ApiReply::List(l))) => l.items.clone(),
        other => panic!("list pods: {other:?}"),
    }
}

fn phase(o: &api::SharedObject) -> (String, String, String) {
    let api::Object::Pod(p) = &**o else {
        panic!("not a pod")
    };
    let status = p.status.clone().unwrap_or_default();
    (
        p.metadata.name.clone().unwrap_or_default(),
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default(),
        status.phase.unwrap_or_default(),
    )
}

#[test]
fn a_deployment_runs_and_serves_traffic_on_the_whole_cluster() {
    let topology = Topology::new(1, 2)
        .with_seed(5)
        .with_components(ComponentOptions::default());
    let mut c = common::settled(topology, Duration::from_secs(20));
    create_all(&mut c, NGINX);
    c.sim_mut()
        .run_for(Duration::from_secs(30))
        .expect("no finding");

    let running: Vec<_> = pods(&mut c).iter().map(phase).collect();
    assert_eq!(running.len(), 3, "{running:?}");
    for (name, node, phase) in &running {
        assert!(name.starts_with("nginx-deployment-"), "{name}");
        assert!(
            node.starts_with("kubesim-worker"),
            "{name} on {node}: workers only (control-plane taint)"
        );
        assert_eq!(phase, "Running", "{name}");
    }

    for agent in c.node_agents().to_vec() {
        c.sim_mut()
            .invoke::<proxy::KubeProxy<cluster::ClusterMsg>, _>(agent.proxy, |p, ctx| {
                p.start_traffic(ctx, TrafficSpec::new("nginx", 20.0))
            })
            .expect("no finding");
    }
    c.sim_mut()
        .run_for(Duration::from_secs(10))
        .expect("no finding");
    let mut answered = 0;
    let mut failed = 0;
    for agent in c.node_agents() {
        if let Some(t) = agent.traffic.totals().get("default/nginx") {
            answered += t.ok;
            failed += t.refused + t.rejected + t.timed_out + t.server_errors + t.unresolved;
        }
    }
    assert!(
        answered > 400,
        "about 20 rps x 3 nodes x 10 s answered, got {answered}"
    );
    assert_eq!(failed, 0);
}
