//! EndpointSlice and Endpoints controllers against a real apiserver: slices per Service with
//! conditions, named target ports, zones, terminating pods, and 100 endpoints per slice.

mod common;

use api::{Kind, Object};
use apiserver::DeleteOptions;
use common::Harness;
use controllers::ControllerName;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use sim::Duration;

const SVC: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, labels: {team: a}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"#;

fn pod(name: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: web}}}}
spec: {{containers: [{{name: c, image: "nginx:1.25", ports: [{{name: http, containerPort: 8080}}]}}]}}
"#
    )
}

fn slices(h: &mut Harness) -> Vec<EndpointSlice> {
    h.list_selected(
        Kind::EndpointSlice,
        "default",
        "kubernetes.io/service-name=web",
    )
    .iter()
    .filter_map(|o| match o.as_ref() {
        Object::EndpointSlice(s) => Some(s.as_ref().clone()),
        _ => None,
    })
    .collect()
}

fn harness(seed: u64) -> Harness {
    let mut h = Harness::new(
        seed,
        1,
        &[ControllerName::EndpointSlice, ControllerName::Endpoints],
    );
    h.until_leading();
    h.apply(
        r#"
apiVersion: v1
kind: Node
metadata: {name: kubesim-worker, labels: {topology.kubernetes.io/zone: zone-a}}
"#,
    );
    h
}

#[test]
fn slices_follow_pods_with_conditions_ports_and_zones() {
    let mut h = harness(21);
    let svc = h.apply(SVC);
    h.run(Duration::from_secs(1));
    let s = slices(&mut h);
    assert_eq!(
        s.len(),
        1,
        "a placeholder slice for a Service without endpoints"
    );
    assert!(s[0].endpoints.as_deref().unwrap_or(&[]).is_empty());

    for n in ["a", "b", "c"] {
        h.apply(&pod(n));
    }
    h.set_pod("default", "a", "kubesim-worker", "10.244.1.2", true);
    h.set_pod("default", "b", "kubesim-worker", "10.244.1.3", true);
    h.set_pod("default", "c", "kubesim-worker", "10.244.1.4", false);
    h.run(Duration::from_secs(2));
    let s = slices(&mut h);
    assert_eq!(s.len(), 1);
    let slice = &s[0];
    let labels = slice.metadata.labels.clone().unwrap();
    assert_eq!(
        labels["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(labels["team"], "a");
    assert!(slice.metadata.name.as_deref().unwrap().starts_with("web-"));
    let owner = &slice.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("Service", svc.uid())
    );
    assert_eq!(slice.address_type, "IPv4");
    let port = &slice.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.port, port.protocol.as_deref()),
        (Some("http"), Some(8080), Some("TCP"))
    );
    let mut eps: Vec<(String, bool, bool, bool, String, String)> = slice
        .endpoints
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| {
            let c = e.conditions.unwrap();
            (
                e.addresses[0].clone(),
                c.ready.unwrap(),
                c.serving.unwrap(),
                c.terminating.unwrap(),
                e.node_name.unwrap(),
                e.zone.unwrap_or_default(),
            )
        })
        .collect();
    eps.sort();
    let w = |ip: &str, r: bool| {
        (
            ip.to_string(),
            r,
            r,
            false,
            "kubesim-worker".to_string(),
            "zone-a".to_string(),
        )
    };
    assert_eq!(
        eps,
        vec![
            w("10.244.1.2", true),
            w("10.244.1.3", true),
            w("10.244.1.4", false)
        ]
    );

    // The legacy Endpoints object.
    let ep = h.get(Kind::Endpoints, "default", "web").unwrap();
    let Object::Endpoints(ep) = ep.as_ref() else {
        unreachable!()
    };
    let subset = &ep.subsets.as_ref().unwrap()[0];
    let ips = |v: &Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>| {
        v.as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|a| a.ip.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ips(&subset.addresses), ["10.244.1.2", "10.244.1.3"]);
    assert_eq!(ips(&subset.not_ready_addresses), ["10.244.1.4"]);
    assert_eq!(subset.ports.as_ref().unwrap()[0].port, 8080);

    // A terminating pod stays in the slice as terminating (serving while ready) and leaves
    // the Endpoints object.
    h.delete(Kind::Pod, "default", "a", DeleteOptions::default())
        .unwrap();
    h.run(Duration::from_secs(2));
    let s = slices(&mut h);
    let a = s[0]
        .endpoints
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.addresses[0] == "10.244.1.2")
        .unwrap()
        .conditions
        .clone()
        .unwrap();
    assert_eq!(
        (a.ready, a.serving, a.terminating),
        (Some(false), Some(true), Some(true))
    );
    let ep = h.get(Kind::Endpoints, "default", "web").unwrap();
    let Object::Endpoints(ep) = ep.as_ref() else {
        unreachable!()
    };
    assert_eq!(
        ips(&ep.subsets.as_ref().unwrap()[0].addresses),
        ["10.244.1.3"]
    );
}

#[test]
fn two_hundred_fifty_pods_make_three_slices() {
    let mut h = harness(22);
    h.apply(SVC);
    for i in 0..250 {
        let name = format!("p{i:03}");
        h.apply(&pod(&name));
        h.set_pod(
            "default",
            &name,
            "kubesim-worker",
            &format!("10.244.{}.{}", 1 + i / 200, 2 + i % 200),
            true,
        );
    }
    h.run(Duration::from_secs(3));
    let mut sizes: Vec<usize> = slices(&mut h)
        .iter()
        .map(|s| s.endpoints.as_ref().map_or(0, Vec::len))
        .collect();
    sizes.sort();
    assert_eq!(sizes, [50, 100, 100]);
}
