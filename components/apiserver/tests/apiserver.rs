//! The apiserver on a real simulation: etcd members, the apiserver actor, a scripted client.

mod common;

use std::sync::Arc;

use api::{Kind, Object};
use apiserver::protocol::*;
use common::{Cluster, get, manifest};
use sim::Duration;

const POD: &str = "
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx:1.27}]
";

fn pod_named(name: &str, app: &str) -> api::SharedObject {
    manifest(
        &POD.replace("web-1", name)
            .replace("app: web", &format!("app: {app}")),
    )
}

fn node_of(o: &Object) -> Option<&str> {
    o.as_pod()
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.node_name.as_deref())
}

#[test]
fn bootstrap_objects_are_present() {
    let mut c = Cluster::new(1, 1, |_| {});
    let names: Vec<String> = c
        .list(Kind::Namespace, "", ListOptions::default())
        .items
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
    let svc = c.object(Kind::Service, get(), "default", "kubernetes");
    let Object::Service(s) = svc.as_ref() else {
        panic!("service")
    };
    assert_eq!(
        s.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()),
        Some("10.96.0.1")
    );
    let roles = c.list(Kind::ClusterRole, "", ListOptions::default());
    for want in [
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:kube-scheduler",
        "system:node",
    ] {
        assert!(roles.items.iter().any(|r| r.name() == want), "{want}");
    }
    assert!(
        c.object(Kind::PriorityClass, get(), "", "system-node-critical")
            .name()
            == "system-node-critical"
    );
}

#[test]
fn create_get_update_conflict_delete() {
    let mut c = Cluster::new(1, 1, |_| {});
    let created = c.object(
        Kind::Pod,
        Verb::Create(pod_named("web-1", "web")),
        "default",
        "",
    );
    assert_eq!(created.uid().len(), 36);
    assert_eq!(created.generation(), 1);
    assert!(created.metadata().creation_timestamp.is_some());
    let rv: i64 = created.resource_version().parse().expect("numeric rv");
    assert!(rv > 0);
    let Object::Pod(p) = created.as_ref() else {
        panic!("pod")
    };
    let spec = p.spec.as_ref().expect("spec");
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"), "defaulted");
    assert_eq!(spec.service_account_name.as_deref(), Some("default"));
    assert_eq!(spec.priority, Some(0));
    assert_eq!(
        spec.tolerations.as_ref().map(Vec::len),
        Some(2),
        "DefaultTolerationSeconds"
    );
    assert_eq!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending")
    );

    let again = c.call(
        Kind::Pod,
        Verb::Create(pod_named("web-1", "web")),
        "default",
        "",
    );
    let e = again.expect_err("duplicate");
    assert_eq!(
        (e.code, e.message.as_str()),
        (409, "pods \"web-1\" already exists")
    );

    let got = c.object(Kind::Pod, get(), "default", "web-1");
    assert_eq!(got.uid(), created.uid());
    let missing = c
        .call(Kind::Pod, get(), "default", "nope")
        .expect_err("missing");
    assert_eq!(
        (missing.code, missing.message.as_str()),
        (404, "pods \"nope\" not found")
    );

    // Two writers from the same version: the second gets F4's conflict.
    let mut a = Object::clone(&got);
    a.metadata_mut()
        .labels
        .get_or_insert_with(Default::default)
        .insert("tier".into(), "a".into());
    let mut b = Object::clone(&got);
    b.metadata_mut()
        .labels
        .get_or_insert_with(Default::default)
        .insert("tier".into(), "b".into());
    let first = c.object(Kind::Pod, Verb::Update(Arc::new(a)), "default", "web-1");
    assert_eq!(first.labels().get("tier").map(String::as_str), Some("a"));
    assert_eq!(first.generation(), 1, "labels are not spec");
    let e = c
        .call(Kind::Pod, Verb::Update(Arc::new(b)), "default", "web-1")
        .expect_err("stale");
    assert_eq!(e.code, 409);
    assert_eq!(
        e.kubectl_message(),
        "Error from server (Conflict): Operation cannot be fulfilled on pods \"web-1\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // An unscheduled pod is deleted at once.
    let d = c
        .call(
            Kind::Pod,
            Verb::Delete(DeleteOptions::default()),
            "default",
            "web-1",
        )
        .expect("delete");
    assert!(matches!(d, ApiReply::Deleted { gone: true, .. }));
    assert!(
        c.call(Kind::Pod, get(), "default", "web-1")
            .expect_err("gone")
            .code
            == 404
    );
}

#[test]
fn generation_and_status_subresource() {
    let mut c = Cluster::new(1, 1, |_| {});
    let d = manifest(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
    );
    let created = c.object(Kind::Deployment, Verb::Create(d), "default", "");
    assert_eq!(created.generation(), 1);
    let mut scaled = Object::clone(&created);
    let Object::Deployment(dep) = &mut scaled else {
        panic!("deployment")
    };
    dep.spec.replicas = Some(3);
    dep.status = Some(k8s_openapi::api::apps::v1::DeploymentStatus {
        replicas: Some(99),
        ..Default::default()
    });
    let updated = c.object(
        Kind::Deployment,
        Verb::Update(Arc::new(scaled)),
        "default",
        "web",
    );
    let Object::Deployment(u) = updated.as_ref() else {
        panic!("deployment")
    };
    assert_eq!(updated.generation(), 2);
    assert_eq!(
        u.status.as_ref().and_then(|s| s.replicas),
        None,
        "status is not written through the main resource"
    );

    let mut st = Object::clone(&updated);
    let Object::Deployment(s) = &mut st else {
        panic!("deployment")
    };
    s.status = Some(k8s_openapi::api::apps::v1::DeploymentStatus {
        replicas: Some(3),
        ..Default::default()
    });
    s.spec.replicas = Some(7);
    let req = ApiRequest::new(
        c.next_id(),
        UserInfo::admin(),
        Kind::Deployment,
        Verb::Update(Arc::new(st)),
    )
    .in_namespace("default")
    .named("web")
    .subresource(Subresource::Status);
    let id = req.id;
    c.send_request(req);
    let Ok(ApiReply::Object(after)) = c.await_response(id) else {
        panic!("status update")
    };
    let Object::Deployment(a) = after.as_ref() else {
        panic!("deployment")
    };
    assert_eq!(a.spec.replicas, Some(3), "spec untouched by /status");
    assert_eq!(a.status.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(after.generation(), 2);

    let bad = manifest(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: -1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
    );
    let e = c
        .call(Kind::Deployment, Verb::Create(bad), "default", "")
        .expect_err("invalid");
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        "Deployment.apps \"bad\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
}

#[test]
fn graceful_deletion_binding_and_finalizers() {
    let mut c = Cluster::new(1, 1, |_| {});
    c.object(
        Kind::Pod,
        Verb::Create(pod_named("p", "web")),
        "default",
        "",
    );
    let bound = c.call(
        Kind::Pod,
        Verb::Bind {
            node_name: "w1".into(),
        },
        "default",
        "p",
    );
    assert!(bound.is_ok(), "{bound:?}");
    let e = c
        .call(
            Kind::Pod,
            Verb::Bind {
                node_name: "w2".into(),
            },
            "default",
            "p",
        )
        .expect_err("bound twice");
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on pods/binding \"p\": pod p is already assigned to node \"w1\""
    );
    let d = c
        .call(
            Kind::Pod,
            Verb::Delete(DeleteOptions::default()),
            "default",
            "p",
        )
        .expect("delete");
    let ApiReply::Deleted {
        object,
        gone: false,
    } = d
    else {
        panic!("graceful: {d:?}")
    };
    assert_eq!(object.metadata().deletion_grace_period_seconds, Some(30));
    assert!(object.is_terminating());
    assert_eq!(node_of(&object), Some("w1"));
    // The kubelet confirms with grace 0.
    let opts = DeleteOptions {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    let d = c
        .call(Kind::Pod, Verb::Delete(opts), "default", "p")
        .expect("delete");
    assert!(matches!(d, ApiReply::Deleted { gone: true, .. }));

    // Finalizers hold an object until they are removed.
    let cm = manifest(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, finalizers: [example.com/hold]}\n",
    );
    c.object(Kind::ConfigMap, Verb::Create(cm), "default", "");
    let d = c
        .call(
            Kind::ConfigMap,
            Verb::Delete(DeleteOptions::default()),
            "default",
            "cfg",
        )
        .expect("delete");
    assert!(matches!(d, ApiReply::Deleted { gone: false, .. }));
    let held = c.object(Kind::ConfigMap, get(), "default", "cfg");
    assert!(held.is_terminating());
    let mut release = Object::clone(&held);
    release.metadata_mut().finalizers = None;
    let r = c.call(
        Kind::ConfigMap,
        Verb::Update(Arc::new(release)),
        "default",
        "cfg",
    );
    assert!(
        matches!(r, Ok(ApiReply::Deleted { gone: true, .. })),
        "{r:?}"
    );
    assert!(
        c.call(Kind::ConfigMap, get(), "default", "cfg")
            .expect_err("gone")
            .code
            == 404
    );

    // Foreground propagation records the finalizer for the garbage collector.
    let cm = manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}\n");
    c.object(Kind::ConfigMap, Verb::Create(cm), "default", "");
    let opts = DeleteOptions {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..Default::default()
    };
    let d = c
        .call(Kind::ConfigMap, Verb::Delete(opts), "default", "owner")
        .expect("delete");
    let ApiReply::Deleted {
        object,
        gone: false,
    } = d
    else {
        panic!("foreground: {d:?}")
    };
    assert_eq!(object.finalizers(), ["foregroundDeletion"]);
}

#[test]
fn selectors_patch_and_namespaces() {
    let mut c = Cluster::new(1, 1, |_| {});
    for (n, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
        c.object(Kind::Pod, Verb::Create(pod_named(n, app)), "default", "");
    }
    c.call(
        Kind::Pod,
        Verb::Bind {
            node_name: "w1".into(),
        },
        "default",
        "a",
    )
    .expect("bind");
    let web = c.list(
        Kind::Pod,
        "default",
        ListOptions {
            label_selector: "app=web".into(),
            ..Default::default()
        },
    );
    assert_eq!(
        web.items.iter().map(|o| o.name()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let unscheduled = c.list(
        Kind::Pod,
        "",
        ListOptions {
            field_selector: "spec.nodeName=".into(),
            ..Default::default()
        },
    );
    assert_eq!(
        unscheduled
            .items
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>(),
        ["b", "c"]
    );
    let on_w1 = c.list(
        Kind::Pod,
        "",
        ListOptions {
            field_selector: "spec.nodeName=w1".into(),
            ..Default::default()
        },
    );
    assert_eq!(on_w1.items.len(), 1);
    let page = c.list(
        Kind::Pod,
        "default",
        ListOptions {
            limit: 2,
            ..Default::default()
        },
    );
    assert_eq!((page.items.len(), page.remaining_item_count), (2, Some(1)));
    let rest = c.list(
        Kind::Pod,
        "default",
        ListOptions {
            limit: 2,
            continue_token: page.continue_token,
            ..Default::default()
        },
    );
    assert_eq!(
        rest.items.iter().map(|o| o.name()).collect::<Vec<_>>(),
        ["c"]
    );
    let e = c.call(
        Kind::Pod,
        Verb::List(ListOptions {
            label_selector: "app in (".into(),
            ..Default::default()
        }),
        "default",
        "",
    );
    assert_eq!(e.expect_err("bad selector").code, 400);

    let patch = serde_json::json!({"metadata": {"labels": {"app": null, "patched": "yes"}}});
    let p = c.call(
        Kind::Pod,
        Verb::Patch {
            patch_type: PatchType::Merge,
            patch: Arc::new(patch),
        },
        "default",
        "c",
    );
    let Ok(ApiReply::Object(p)) = p else {
        panic!("patch: {p:?}")
    };
    assert_eq!(p.labels().len(), 1);

    let e = c
        .call(Kind::Pod, Verb::Create(pod_named("x", "web")), "nope", "")
        .expect_err("no namespace");
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "namespaces \"nope\" not found")
    );
    let ns = manifest("apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n");
    c.object(Kind::Namespace, Verb::Create(ns), "", "");
    c.object(Kind::Pod, Verb::Create(pod_named("x", "web")), "dev", "");
    let d = c
        .call(
            Kind::Namespace,
            Verb::Delete(DeleteOptions::default()),
            "",
            "dev",
        )
        .expect("delete ns");
    assert!(
        matches!(d, ApiReply::Deleted { gone: false, .. }),
        "namespace waits for its finalizer"
    );
    let e = c
        .call(Kind::Pod, Verb::Create(pod_named("y", "web")), "dev", "")
        .expect_err("terminating");
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "pods \"y\" is forbidden: unable to create new content in namespace dev because it is being terminated"
    );
    let e = c
        .call(
            Kind::Namespace,
            Verb::Delete(DeleteOptions::default()),
            "",
            "kube-system",
        )
        .expect_err("immortal");
    assert_eq!(
        e.message,
        "namespaces \"kube-system\" is forbidden: this namespace may not be deleted"
    );
}

#[test]
fn rbac_denies_with_kubernetes_messages() {
    let mut c = Cluster::new(1, 1, |_| {});
    let alice = UserInfo::user("alice");
    let e = c
        .call_as(
            alice.clone(),
            Kind::Pod,
            Verb::List(ListOptions::default()),
            "default",
            "",
        )
        .expect_err("denied");
    assert_eq!(
        e.kubectl_message(),
        "Error from server (Forbidden): pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    let e = c
        .call_as(alice.clone(), Kind::Node, get(), "", "n1")
        .expect_err("denied");
    assert_eq!(
        e.message,
        "nodes \"n1\" is forbidden: User \"alice\" cannot get resource \"nodes\" in API group \"\" at the cluster scope"
    );
    let rb = manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: alice-view, namespace: default}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]\n",
    );
    c.object(Kind::RoleBinding, Verb::Create(rb), "default", "");
    assert!(
        c.call_as(
            alice.clone(),
            Kind::Pod,
            Verb::List(ListOptions::default()),
            "default",
            ""
        )
        .is_ok()
    );
    let e = c
        .call_as(
            alice,
            Kind::Pod,
            Verb::Create(pod_named("p", "web")),
            "default",
            "",
        )
        .expect_err("view only");
    assert_eq!(e.code, 403);
    let kubelet = UserInfo::node("w1");
    assert!(
        c.call_as(
            kubelet,
            Kind::Pod,
            Verb::List(ListOptions::default()),
            "",
            ""
        )
        .is_ok()
    );
}

/// The apiserver remembers RBAC decisions (authz_cache.rs); a remembered decision must not
/// outlive the binding that made it, whether the binding changes through this apiserver's own
/// watch or while this apiserver was cut off from etcd (it relists when its etcd watch is lost).
#[test]
fn rbac_decisions_follow_bindings_across_apiservers_and_relists() {
    let mut c = Cluster::new(1, 2, |cfg| {
        cfg.compaction_interval = Duration::from_secs(30)
    });
    c.run(Duration::from_secs(2));
    let alice = UserInfo::user("alice");
    let list_pods = |c: &mut Cluster| {
        c.call_as(
            alice.clone(),
            Kind::Pod,
            Verb::List(ListOptions::default()),
            "default",
            "",
        )
        .map(|_| ())
        .map_err(|e| e.code)
    };
    // Twice: the second answer is the remembered one.
    assert_eq!(list_pods(&mut c), Err(403));
    assert_eq!(list_pods(&mut c), Err(403));

    // Apiserver 0 loses etcd; the binding is made through apiserver 1, and etcd's history is
    // compacted past it while apiserver 0 cannot watch.
    let etcd = c.sim.host_id("etcd-1").expect("host");
    let cp0 = c.sim.host_id("control-plane-0").expect("host");
    c.sim
        .apply_fault(sim::Fault::Partition(vec![cp0], vec![etcd]))
        .expect("partition");
    c.use_server(1);
    let rb = manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: alice-view, namespace: default}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]\n",
    );
    c.object(Kind::RoleBinding, Verb::Create(rb), "default", "");
    assert_eq!(list_pods(&mut c), Ok(()), "apiserver 1 saw the binding");
    for i in 0..5 {
        let cm = manifest(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"
        ));
        c.object(Kind::ConfigMap, Verb::Create(cm), "default", "");
    }
    c.run(Duration::from_secs(90));
    assert!(c.server(1).stats().compactions >= 1);

    c.sim.apply_fault(sim::Fault::Heal).expect("heal");
    c.run(Duration::from_secs(30));
    c.use_server(0);
    assert!(
        c.server(0).stats().relists >= 1,
        "apiserver 0 relisted: {:?}",
        c.server(0).stats()
    );
    assert_eq!(list_pods(&mut c), Ok(()), "the remembered denial is gone");

    // Deleting the binding takes the permission away again, on both apiservers.
    c.call(
        Kind::RoleBinding,
        Verb::Delete(Default::default()),
        "default",
        "alice-view",
    )
    .expect("deleted");
    c.run(Duration::from_millis(500));
    assert_eq!(list_pods(&mut c), Err(403));
    c.use_server(1);
    assert_eq!(list_pods(&mut c), Err(403));
}

#[test]
fn watch_from_resource_version_and_node_index() {
    let mut c = Cluster::new(1, 1, |_| {});
    let first = c.object(
        Kind::Pod,
        Verb::Create(pod_named("a", "web")),
        "default",
        "",
    );
    let rv = first.resource_version().to_string();
    // A kubelet's watch: only pods bound to w1.
    let kubelet = c.send(
        UserInfo::node("w1"),
        Kind::Pod,
        Verb::Watch(ListOptions {
            field_selector: "spec.nodeName=w1".into(),
            ..Default::default()
        }),
        "",
        "",
    );
    let all = c.send(
        UserInfo::admin(),
        Kind::Pod,
        Verb::Watch(ListOptions {
            resource_version: rv,
            ..Default::default()
        }),
        "",
        "",
    );
    c.run(Duration::from_millis(200));
    c.object(
        Kind::Pod,
        Verb::Create(pod_named("b", "web")),
        "default",
        "",
    );
    c.call(
        Kind::Pod,
        Verb::Bind {
            node_name: "w1".into(),
        },
        "default",
        "b",
    )
    .expect("bind");
    c.call(
        Kind::Pod,
        Verb::Bind {
            node_name: "w2".into(),
        },
        "default",
        "a",
    )
    .expect("bind");
    c.run(Duration::from_millis(200));
    let seen: Vec<(EventType, String)> = c
        .events(all)
        .iter()
        .map(|e| {
            (
                e.event_type,
                e.object.as_ref().map_or("", |o| o.name()).to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (EventType::Added, "b".into()),
            (EventType::Modified, "b".into()),
            (EventType::Modified, "a".into())
        ],
        "events after the rv only"
    );
    let k: Vec<(EventType, String)> = c
        .events(kubelet)
        .iter()
        .map(|e| {
            (
                e.event_type,
                e.object.as_ref().map_or("", |o| o.name()).to_string(),
            )
        })
        .collect();
    assert_eq!(
        k,
        [(EventType::Added, "b".into())],
        "b entered the selection when bound to w1"
    );
    // The shared event: the MODIFIED of b is one Arc for every plain watcher.
    let mut rvs: Vec<i64> = c.events(all).iter().map(|e| e.resource_version).collect();
    rvs.dedup();
    assert_eq!(rvs.len(), 3, "gap-free, increasing");
    c.sim
        .invoke::<common::TestClient, _>(c.client, |cl, ctx| cl.cancel(ctx, all))
        .expect("invoke");
    c.run(Duration::from_millis(200));
    assert_eq!(c.client().ended.get(&all), Some(&WatchEndReason::Cancelled));
}

#[test]
fn watch_too_old_gets_410_after_window_and_compaction() {
    let mut c = Cluster::new(1, 1, |cfg| {
        cfg.window.min_events = 2;
        cfg.window.max_events = 4;
        cfg.window.fresh_for = Duration::from_secs(1);
    });
    let first = c.object(
        Kind::ConfigMap,
        Verb::Create(manifest(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c0}\n",
        )),
        "default",
        "",
    );
    let old = first.resource_version().to_string();
    for i in 1..10 {
        let cm = manifest(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"
        ));
        c.object(Kind::ConfigMap, Verb::Create(cm), "default", "");
    }
    c.run(Duration::from_secs(2));
    let w = c.send(
        UserInfo::admin(),
        Kind::ConfigMap,
        Verb::Watch(ListOptions {
            resource_version: old.clone(),
            ..Default::default()
        }),
        "",
        "",
    );
    c.run(Duration::from_millis(300));
    let ev = c.events(w);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].event_type, EventType::Error);
    let e = ev[0].error.as_ref().expect("status");
    assert_eq!(e.code, 410);
    assert!(
        e.message
            .starts_with(&format!("too old resource version: {old} (")),
        "{}",
        e.message
    );
    assert_eq!(c.client().ended.get(&w), Some(&WatchEndReason::Error));

    // F6: after 5 minutes the apiserver compacts etcd (at the revision seen an interval earlier).
    c.run(Duration::from_secs(11 * 60));
    assert!(
        c.server(0).stats().compactions >= 1,
        "{:?}",
        c.server(0).stats()
    );
    let list = c.list(Kind::ConfigMap, "default", ListOptions::default());
    assert_eq!(list.items.len(), 10);
}

#[test]
fn three_member_etcd_and_two_apiservers_share_bootstrap() {
    let mut c = Cluster::new(3, 2, |_| {});
    c.run(Duration::from_secs(2));
    assert!(c.server(1).is_ready());
    let namespaces = c.list(Kind::Namespace, "", ListOptions::default());
    assert_eq!(
        namespaces.items.len(),
        4,
        "bootstrap is create-if-absent across replicas"
    );
    c.object(
        Kind::Pod,
        Verb::Create(pod_named("p", "web")),
        "default",
        "",
    );
    c.run(Duration::from_millis(500));
    assert_eq!(
        c.server(1).cached(Kind::Pod),
        1,
        "the other apiserver's cache saw it through its etcd watch"
    );
    let svc = manifest(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
    );
    let s = c.object(Kind::Service, Verb::Create(svc), "default", "");
    let Object::Service(s) = s.as_ref() else {
        panic!("service")
    };
    let ip = s
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .expect("allocated");
    assert!(ip.starts_with("10.96.") && ip != "10.96.0.1", "{ip}");
}

/// A delete reaches watchers as DELETED with the last state of the object, both at once
/// (grace 0) and when a graceful deletion finishes (the kubelet's final delete).
#[test]
fn watchers_see_deletions() {
    let mut c = Cluster::new(1, 1, |_| {});
    let w = c.send(
        UserInfo::admin(),
        Kind::Pod,
        Verb::Watch(ListOptions::default()),
        "default",
        "",
    );
    c.run(Duration::from_millis(200));
    for name in ["a", "b"] {
        c.object(
            Kind::Pod,
            Verb::Create(pod_named(name, "web")),
            "default",
            "",
        );
    }
    c.call(
        Kind::Pod,
        Verb::Bind {
            node_name: "w1".into(),
        },
        "default",
        "b",
    )
    .expect("bind");
    // "a" is unscheduled: deleted at once.
    c.call(
        Kind::Pod,
        Verb::Delete(DeleteOptions::default()),
        "default",
        "a",
    )
    .expect("delete a");
    // "b" is bound: graceful first, then the final delete with grace 0.
    c.call(
        Kind::Pod,
        Verb::Delete(DeleteOptions::default()),
        "default",
        "b",
    )
    .expect("graceful delete b");
    let last = DeleteOptions {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    c.call(Kind::Pod, Verb::Delete(last), "default", "b")
        .expect("final delete b");
    c.run(Duration::from_millis(300));
    let seen: Vec<(EventType, String)> = c
        .events(w)
        .iter()
        .map(|e| {
            let name = e.object.as_ref().map(|o| o.name().to_string());
            (e.event_type, name.unwrap_or_default())
        })
        .collect();
    let deleted: Vec<&str> = seen
        .iter()
        .filter(|(t, _)| *t == EventType::Deleted)
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(deleted, ["a", "b"], "{seen:?}");
}
