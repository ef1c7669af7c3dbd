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

/// What both controllers must publish for the Service `web`, read from the pods themselves:
/// every selected pod with an IP, as (ip, ready, terminating).
fn desired(h: &mut Harness) -> Vec<(String, bool, bool)> {
    let mut out: Vec<(String, bool, bool)> = h
        .list_selected(Kind::Pod, "default", "app=web")
        .iter()
        .filter_map(|o| {
            let pod = o.as_pod()?;
            let ip = pod.status.as_ref()?.pod_ip.clone()?;
            let terminating = o.is_terminating();
            Some((ip, common::crate_ready(pod) && !terminating, terminating))
        })
        .collect();
    out.sort();
    out
}

/// The slices' endpoints as (ip, ready, terminating), checking on the way that no slice
/// holds more than 100 and no address is published twice.
fn published(h: &mut Harness) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    for s in slices(h) {
        let eps = s.endpoints.unwrap_or_default();
        assert!(eps.len() <= 100, "a slice of {} endpoints", eps.len());
        for e in eps {
            let c = e.conditions.unwrap();
            out.push((
                e.addresses[0].clone(),
                c.ready.unwrap(),
                c.terminating.unwrap(),
            ));
        }
    }
    out.sort();
    let mut ips: Vec<&String> = out.iter().map(|e| &e.0).collect();
    ips.dedup();
    assert_eq!(ips.len(), out.len(), "an address in two slices");
    out
}

/// The legacy Endpoints object's (ready, not ready) addresses, sorted.
fn endpoints_addresses(h: &mut Harness) -> (Vec<String>, Vec<String>) {
    let Some(ep) = h.get(Kind::Endpoints, "default", "web") else {
        return (Vec::new(), Vec::new());
    };
    let Object::Endpoints(ep) = ep.as_ref() else {
        unreachable!()
    };
    let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
    for s in ep.subsets.iter().flatten() {
        ready.extend(s.addresses.iter().flatten().map(|a| a.ip.clone()));
        not_ready.extend(s.not_ready_addresses.iter().flatten().map(|a| a.ip.clone()));
    }
    ready.sort();
    not_ready.sort();
    (ready, not_ready)
}

/// The controllers update their per-Service state from pod events instead of rebuilding it
/// per sync; after every round of churn (pods added, force-deleted, gracefully deleted,
/// readiness flipped, relabelled out of the selector) what they publish must equal what a
/// full reconcile computes from the pods.
#[test]
fn churn_keeps_slices_and_endpoints_equal_to_the_pods() {
    let mut h = harness(23);
    h.apply(SVC);
    let mut next = 0usize;
    let mut add = |h: &mut Harness, n: usize, ready: bool| {
        for _ in 0..n {
            let name = format!("p{next:03}");
            h.apply(&pod(&name));
            let ip = format!("10.244.{}.{}", 1 + next / 200, 2 + next % 200);
            h.set_pod("default", &name, "kubesim-worker", &ip, ready);
            next += 1;
        }
    };
    add(&mut h, 230, true);
    h.run(Duration::from_secs(3));
    for round in 0..4 {
        let names: Vec<String> = h
            .list_selected(Kind::Pod, "default", "app=web")
            .iter()
            .filter(|o| !o.is_terminating())
            .map(|o| o.name().to_string())
            .collect();
        for (i, name) in names.iter().enumerate() {
            match (i + round) % 9 {
                0 => {
                    let force = DeleteOptions {
                        grace_period_seconds: Some(0),
                        ..Default::default()
                    };
                    h.delete(Kind::Pod, "default", name, force).unwrap();
                }
                1 if i % 2 == 0 => {
                    h.delete(Kind::Pod, "default", name, DeleteOptions::default())
                        .unwrap();
                }
                2 => {
                    let obj = h.get(Kind::Pod, "default", name).unwrap();
                    let pod = obj.as_pod().unwrap();
                    let ip = pod.status.as_ref().unwrap().pod_ip.clone().unwrap();
                    let ready = common::crate_ready(pod);
                    h.set_pod("default", name, "kubesim-worker", &ip, !ready);
                }
                3 if i % 4 == 0 => {
                    let patch = serde_json::json!({"metadata": {"labels": {"app": "other"}}});
                    h.patch(Kind::Pod, "default", name, patch).unwrap();
                }
                _ => {}
            }
        }
        add(&mut h, 40, round % 2 == 0);
        h.run(Duration::from_secs(3));
        let want = desired(&mut h);
        assert!(want.len() > 150, "round {round}: {} pods", want.len());
        assert_eq!(published(&mut h), want, "slices after round {round}");
        let ready: Vec<String> = want.iter().filter(|e| e.1).map(|e| e.0.clone()).collect();
        let not_ready: Vec<String> = want
            .iter()
            .filter(|e| !e.1 && !e.2)
            .map(|e| e.0.clone())
            .collect();
        assert_eq!(
            endpoints_addresses(&mut h),
            (ready, not_ready),
            "Endpoints after round {round}"
        );
    }
}
