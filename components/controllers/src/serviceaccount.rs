//! The ServiceAccount controller: every active namespace has a ServiceAccount `default`
//! (F21).
//!
//! Follows `pkg/controller/serviceaccount/serviceaccounts_controller.go`: namespaces are the
//! keys; a namespace that is not terminating and lacks one of the managed accounts gets it
//! created; deleting the account brings it back. AlreadyExists is success.

use api::{Kind, Object};
use client::{Action, Notification};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::controller::{Controller, Cx, ReconcileError, Write};

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

#[derive(Default)]
pub struct ServiceAccountController;

fn terminating(ns: &Object) -> bool {
    ns.is_terminating()
        || matches!(ns, Object::Namespace(n) if n.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating"))
}

impl Controller for ServiceAccountController {
    fn name(&self) -> &'static str {
        "serviceaccount"
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Namespace, Kind::ServiceAccount]
    }

    fn on_notification(&mut self, kind: Kind, n: &Notification, _cx: &mut Cx<'_>) -> Vec<String> {
        match (kind, n) {
            (Kind::Namespace, Notification::Add(_) | Notification::Update { .. }) => {
                vec![n.object().name().to_string()]
            }
            (Kind::ServiceAccount, Notification::Delete(sa))
                if sa.name() == DEFAULT_SERVICE_ACCOUNT =>
            {
                vec![sa.namespace().to_string()]
            }
            _ => Vec::new(),
        }
    }

    fn reconcile(&mut self, key: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let Some(ns) = cx.get(Kind::Namespace, "", key) else {
            return Ok(Action::AwaitChange);
        };
        if terminating(&ns) {
            return Ok(Action::AwaitChange);
        }
        if cx
            .get(Kind::ServiceAccount, key, DEFAULT_SERVICE_ACCOUNT)
            .is_none()
        {
            let sa = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(DEFAULT_SERVICE_ACCOUNT.into()),
                    namespace: Some(key.to_string()),
                    ..Default::default()
                },
                ..Default::default()
            };
            cx.writes.push(Write::create(Object::from(sa), key));
        }
        Ok(Action::AwaitChange)
    }

    fn reset(&mut self) {}
}
