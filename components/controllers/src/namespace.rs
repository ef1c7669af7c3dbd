//! The Namespace controller: deletes a terminating namespace's contents, then lets the
//! namespace go by removing its `kubernetes` finalizer.
//!
//! Follows `pkg/controller/namespace/deletion/namespaced_resources_deleter.go`: for a
//! namespace in phase Terminating, every namespaced resource is deleted with
//! deletecollection; once the caches hold nothing more in it, the `kubernetes` entry of
//! `spec.finalizers` is removed and the apiserver deletes the namespace. Simplifications: the
//! finalizer is removed with an update of the namespace (kubesim's apiserver has no
//! `/finalize` subresource); only the kinds this controller watches are checked for
//! remaining content (the others are deleted but not waited for); no NamespaceDeletion*
//! status conditions.

use api::{Kind, Object};
use apiserver::{ApiRequest, DeleteOptions, ListOptions, UserInfo, Verb};
use client::{Action, Notification};
use sim::Duration;

use crate::controller::{Controller, Cx, Purpose, ReconcileError, Write};

pub const FINALIZER: &str = "kubernetes";

/// Namespaced kinds whose contents are deleted (Events last, as upstream leaves them).
const CONTENT: &[Kind] = &[
    Kind::Deployment,
    Kind::ReplicaSet,
    Kind::DaemonSet,
    Kind::StatefulSet,
    Kind::Job,
    Kind::Pod,
    Kind::Service,
    Kind::Endpoints,
    Kind::EndpointSlice,
    Kind::ConfigMap,
    Kind::Secret,
    Kind::ServiceAccount,
    Kind::Role,
    Kind::RoleBinding,
    Kind::PodDisruptionBudget,
    Kind::Lease,
    Kind::Event,
];

/// What is watched to know the namespace is empty.
const WATCHED: &[Kind] = &[
    Kind::Namespace,
    Kind::Deployment,
    Kind::ReplicaSet,
    Kind::Pod,
    Kind::Service,
    Kind::ServiceAccount,
];

#[derive(Default)]
pub struct NamespaceController;

impl Controller for NamespaceController {
    fn name(&self) -> &'static str {
        "namespace"
    }

    fn kinds(&self) -> &'static [Kind] {
        WATCHED
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, _cx: &mut Cx<'_>) -> Vec<String> {
        let o = n.object();
        match kind {
            Kind::Namespace if o.is_terminating() => vec![o.name().to_string()],
            Kind::Namespace => Vec::new(),
            _ => match n {
                Notification::Delete(_) => vec![o.namespace().to_string()],
                _ => Vec::new(),
            },
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let Some(ns) = cx.get(Kind::Namespace, "", key) else {
            return Ok(Action::AwaitChange);
        };
        let Object::Namespace(n) = ns.as_ref() else {
            return Ok(Action::AwaitChange);
        };
        if !ns.is_terminating() {
            return Ok(Action::AwaitChange);
        }
        let remaining: usize = WATCHED
            .iter()
            .filter(|k| **k != Kind::Namespace)
            .filter_map(|k| cx.cache(*k))
            .map(|c| {
                c.lister()
                    .list_namespaced(key, &api::selector::Selector::everything())
                    .len()
            })
            .sum();
        if remaining > 0 {
            for kind in CONTENT {
                let req = ApiRequest::new(
                    0,
                    UserInfo::admin(),
                    *kind,
                    Verb::DeleteCollection {
                        list: ListOptions::default(),
                        delete: DeleteOptions::default(),
                    },
                )
                .in_namespace(key);
                cx.writes.push(Write {
                    request: req,
                    owner: key.to_string(),
                    purpose: Purpose::Plain,
                });
            }
            // Graceful pod deletion takes time; look again.
            return Ok(Action::RequeueAfter(Duration::from_secs(5)));
        }
        let has = n
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
        if has {
            let mut done = n.clone();
            if let Some(f) = done.spec.as_mut().and_then(|s| s.finalizers.as_mut()) {
                f.retain(|x| x != FINALIZER);
            }
            cx.writes.push(Write::update(Object::from(done), key));
        }
        Ok(Action::AwaitChange)
    }

    fn reset(&mut self) {}
}
