//! kube-system as on a fresh kind cluster: kubeadm's CoreDNS and kube-proxy addons and kind's
//! kindnet and local-path-provisioner, created through the apiserver at bootstrap, become
//! running pods.

mod common;

use apiserver::{ApiReply, ApiRequest, ListOptions, UserInfo, Verb};
use cluster::{Cluster, ComponentOptions, Topology};
use sim::Duration;

fn list(c: &mut Cluster, kind: api::Kind, namespace: &str) -> Vec<api::SharedObject> {
    let req = ApiRequest::new(
        1,
        UserInfo::admin(),
        kind,
        Verb::List(ListOptions::default()),
    )
    .in_namespace(namespace);
    match c.api_request(&UserInfo::admin(), req, Duration::from_secs(10)) {
        Ok(Ok(ApiReply::List(l))) => l.items.clone(),
        other => panic!("list {kind:?}: {other:?}"),
    }
}

fn names(objects: &[api::SharedObject]) -> Vec<String> {
    objects.iter().map(|o| o.name().to_string()).collect()
}

/// (name, node, phase, pod IP) of each pod.
fn pod_rows(objects: &[api::SharedObject]) -> Vec<(String, String, String, String)> {
    objects
        .iter()
        .filter_map(|o| o.as_pod())
        .map(|p| {
            let status = p.status.clone().unwrap_or_default();
            (
                p.metadata.name.clone().unwrap_or_default(),
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default(),
                status.phase.unwrap_or_default(),
                status.pod_ip.unwrap_or_default(),
            )
        })
        .collect()
}

fn kind_cluster() -> Cluster {
    let options = ComponentOptions {
        kube_system_addons: true,
        ..ComponentOptions::default()
    };
    let topology = Topology::new(1, 2).with_seed(3).with_components(options);
    common::settled(topology, Duration::from_secs(30))
}

#[test]
fn kube_system_has_kinds_addons() {
    let mut c = kind_cluster();
    assert_eq!(
        names(&list(&mut c, api::Kind::DaemonSet, "kube-system")),
        ["kindnet", "kube-proxy"]
    );
    assert_eq!(
        names(&list(&mut c, api::Kind::Deployment, "kube-system")),
        ["coredns"]
    );
    assert_eq!(
        names(&list(&mut c, api::Kind::Deployment, "local-path-storage")),
        ["local-path-provisioner"]
    );
    let svc = list(&mut c, api::Kind::Service, "kube-system");
    let dns = svc
        .iter()
        .find(|s| s.name() == "kube-dns")
        .expect("kube-dns");
    let api::Object::Service(dns) = dns.as_ref() else {
        panic!("service")
    };
    let spec = dns.spec.as_ref().expect("spec");
    assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.10"));
    let ports: Vec<(i32, String)> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| (p.port, p.protocol.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        ports,
        [(53, "UDP".into()), (53, "TCP".into()), (9153, "TCP".into())]
    );

    let pods = pod_rows(&list(&mut c, api::Kind::Pod, "kube-system"));
    let coredns: Vec<_> = pods
        .iter()
        .filter(|p| p.0.starts_with("coredns-"))
        .collect();
    assert_eq!(coredns.len(), 2, "{pods:?}");
    for (name, _, phase, ip) in &coredns {
        assert_eq!(phase, "Running", "{name}");
        assert!(ip.starts_with("10.244."), "{name} has a pod IP: {ip}");
    }
    // The DaemonSets' pods: one per node, on the node's own address (hostNetwork).
    for prefix in ["kube-proxy-", "kindnet-"] {
        let mut daemons: Vec<(String, String)> = pods
            .iter()
            .filter(|p| p.0.starts_with(prefix))
            .map(|p| {
                assert_eq!(p.2, "Running", "{p:?}");
                (p.1.clone(), p.3.clone())
            })
            .collect();
        daemons.sort();
        assert_eq!(
            daemons,
            [
                ("kubesim-control-plane".into(), "172.18.0.2".into()),
                ("kubesim-worker".into(), "172.18.0.3".into()),
                ("kubesim-worker2".into(), "172.18.0.4".into()),
            ],
            "{prefix}"
        );
    }
    let provisioner = pod_rows(&list(&mut c, api::Kind::Pod, "local-path-storage"));
    assert_eq!(provisioner.len(), 1, "{provisioner:?}");
    assert_eq!(provisioner[0].2, "Running");
}
