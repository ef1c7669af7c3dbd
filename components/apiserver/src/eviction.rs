//! The `pods/eviction` subresource (policy/v1 `Eviction`): what `kubectl drain` posts for each
//! pod it moves off a node.
//!
//! Follows `pkg/registry/core/pod/storage/eviction.go` (`EvictionREST.Create`): only pods have
//! the subresource; the request is authorized as `create` on `pods/eviction`; an admitted
//! eviction deletes the pod with the eviction's `deleteOptions` (graceful deletion, so the
//! kubelet stops the containers and confirms), and the answer is the delete's.
//!
//! Simplification: PodDisruptionBudgets are not consulted. Upstream decrements the matching
//! budget's `status.disruptionsAllowed` (computed by kube-controller-manager's disruption
//! controller) and answers 429 `Cannot evict pod as it would violate the pod's disruption
//! budget.` when it is 0; kubesim's controller-manager has no disruption controller yet, so
//! every eviction of an existing pod is admitted.

use api::{Kind, Object};

use crate::protocol::{DeleteOptions, StatusError, StatusReason};

/// The delete an eviction of `target` turns into, or the error the apiserver answers.
pub fn admit(
    kind: Kind,
    target: &Object,
    options: &DeleteOptions,
) -> Result<DeleteOptions, StatusError> {
    if kind != Kind::Pod || !matches!(target, Object::Pod(_)) {
        // The subresource is registered for pods only; any other path is unknown.
        return Err(StatusError {
            code: 404,
            reason: StatusReason::NotFound,
            message: "the server could not find the requested resource".into(),
            details: None,
        });
    }
    Ok(options.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, api_version: &str) -> Object {
        serde_json::from_value(serde_json::json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": "x", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }))
        .expect("valid object")
    }

    #[test]
    fn pods_are_evicted_with_the_eviction_delete_options() {
        let opts = DeleteOptions {
            grace_period_seconds: Some(5),
            ..DeleteOptions::default()
        };
        let pod = object("Pod", "v1");
        assert_eq!(admit(Kind::Pod, &pod, &opts), Ok(opts));
    }

    /// Through a real apiserver: a bound pod evicted with a grace period is marked for
    /// deletion (the kubelet would confirm), an unbound one goes at once, a missing one is 404.
    #[test]
    fn the_apiserver_deletes_evicted_pods() {
        use std::sync::Arc;

        use sim::{Duration, Sim, SimConfig};

        use crate::protocol::{ApiReply, ApiRequest, GetOptions, UserInfo, Verb};
        use crate::testkit::{Probe, TestMsg, call, run_until_ready, start_control_plane};

        let mut sim = Sim::<TestMsg>::new(SimConfig::with_seed(3));
        let cp = start_control_plane(&mut sim, 1, 1, |_| {}).expect("control plane");
        assert!(run_until_ready(&mut sim, &cp, Duration::from_secs(10)).expect("runs"));
        let host = sim.add_host("terminal").expect("host");
        let server = cp.apiservers[0];
        let probe = sim
            .add_actor(host, "probe", move |_| Probe::new(server))
            .expect("probe");
        let limit = Duration::from_secs(5);
        let mut next_id = 0;
        let mut send = |sim: &mut Sim<TestMsg>, verb: Verb, name: &str| {
            next_id += 1;
            let req = ApiRequest::new(next_id, UserInfo::admin(), Kind::Pod, verb)
                .in_namespace("default")
                .named(name);
            call(sim, probe, req, limit)
                .expect("runs")
                .expect("answered")
        };
        for (name, node) in [("bound", Some("node-1")), ("unbound", None)] {
            let mut pod = object("Pod", "v1");
            pod.metadata_mut().name = Some(name.into());
            if let Object::Pod(p) = &mut pod {
                p.spec.as_mut().expect("spec").node_name = node.map(str::to_string);
            }
            assert!(send(&mut sim, Verb::Create(Arc::new(pod)), "").is_ok());
        }
        let opts = DeleteOptions {
            grace_period_seconds: Some(7),
            ..DeleteOptions::default()
        };
        match send(&mut sim, Verb::Evict(opts.clone()), "bound") {
            Ok(ApiReply::Deleted { object, gone }) => {
                assert!(!gone, "a bound pod waits for its kubelet");
                assert_eq!(object.metadata().deletion_grace_period_seconds, Some(7));
            }
            other => panic!("eviction of a bound pod: {other:?}"),
        }
        assert!(matches!(
            send(&mut sim, Verb::Evict(opts.clone()), "unbound"),
            Ok(ApiReply::Deleted { gone: true, .. })
        ));
        let get = send(&mut sim, Verb::Get(GetOptions::default()), "unbound");
        assert_eq!(get.map(|_| ()).unwrap_err().code, 404);
        let missing = send(&mut sim, Verb::Evict(opts), "nobody");
        assert_eq!(missing.map(|_| ()).unwrap_err().code, 404);
    }

    #[test]
    fn other_kinds_have_no_eviction_subresource() {
        let cm: Object = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}
        }))
        .expect("valid object");
        let err = admit(Kind::ConfigMap, &cm, &DeleteOptions::default()).unwrap_err();
        assert_eq!(err.code, 404);
    }
}
