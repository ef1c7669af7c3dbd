//! The garbage collector: deletes objects whose owners are gone, and carries out the
//! Foreground and Orphan deletion policies.
//!
//! Follows `pkg/controller/garbagecollector/garbagecollector.go` (`attemptToDeleteItem`,
//! `processDeletingDependentsItem`, `orphanDependents`) for F8:
//! - an object whose owner references are all dangling (the owner is absent, or has another
//!   uid) is deleted, with Foreground propagation when it carries `foregroundDeletion`
//!   itself or a blocking owner is being deleted in the foreground, else Background; an object
//!   with a live owner and dangling references gets those references removed;
//! - an owner being deleted with the `orphan` finalizer has its reference removed from every
//!   dependent, then the finalizer removed;
//! - an owner being deleted with `foregroundDeletion` has its dependents deleted (in the
//!   foreground themselves), and loses the finalizer once none is left.
//!
//! Simplifications: there is no dependency graph over every resource (kubesim serves a fixed
//! set of kinds, and the GC watches those that own or are owned: Deployments, ReplicaSets,
//! Pods, Services, EndpointSlices, DaemonSets, StatefulSets, Jobs); "absent" is judged from
//! the owner kind's informer once it has synced past the dependent's resourceVersion (a
//! revision-ordered read instead of upstream's live GET); dependents are found through an
//! owner-uid index.

use std::collections::BTreeSet;

use api::{Kind, Object, SharedObject};
use apiserver::{DeleteOptions, Preconditions, PropagationPolicy};
use client::{Action, Notification};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::json;

use crate::controller::{Controller, Cx, ReconcileError, Write};

/// Informer index: every owner uid of an object.
pub const OWNER_UID_INDEX: &str = "ownerUID";
pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

pub const GC_KINDS: &[Kind] = &[
    Kind::Deployment,
    Kind::ReplicaSet,
    Kind::Pod,
    Kind::Service,
    Kind::EndpointSlice,
    Kind::DaemonSet,
    Kind::StatefulSet,
    Kind::Job,
];

pub fn index_by_owner_uid(o: &Object) -> Vec<String> {
    o.owner_references().iter().map(|r| r.uid.clone()).collect()
}

/// The owner references left on a dependent, as the patch sets them: with none left the
/// field is removed (`null`), as upstream's `$patch: delete` of the last element leaves an
/// empty list that the API omits, never `ownerReferences: []`.
fn refs_value(refs: Vec<OwnerReference>) -> serde_json::Value {
    if refs.is_empty() {
        serde_json::Value::Null
    } else {
        json!(refs)
    }
}

#[derive(Default)]
pub struct GarbageCollector;

/// `Kind|namespace|name`.
fn key(o: &Object) -> String {
    format!("{}|{}|{}", o.info().name, o.namespace(), o.name())
}

fn kind_named(name: &str) -> Option<Kind> {
    GC_KINDS.iter().copied().find(|k| k.info().name == name)
}

fn dependents(cx: &Cx<'_>, owner: &Object) -> Vec<SharedObject> {
    let mut out = Vec::new();
    for k in GC_KINDS {
        if let Some(c) = cx.cache(*k)
            && let Ok(it) = c.by_index(OWNER_UID_INDEX, owner.uid())
        {
            out.extend(it.cloned());
        }
    }
    out
}

fn rv(o: &Object) -> i64 {
    o.resource_version().parse().unwrap_or(i64::MAX)
}

enum OwnerState {
    Solid,
    Dangling,
    /// Exists, being deleted in the foreground, and the reference blocks.
    Waiting,
    /// The cache cannot tell yet.
    Unknown,
}

fn owner_state(cx: &Cx<'_>, dependent: &Object, r: &OwnerReference) -> OwnerState {
    let Some(kind) = kind_named(&r.kind) else {
        // A kind the GC does not watch: never collected on its account.
        return OwnerState::Solid;
    };
    let ns = if kind.info().namespaced {
        dependent.namespace()
    } else {
        ""
    };
    match cx.get(kind, ns, &r.name) {
        Some(o) if o.uid() == r.uid => {
            if o.is_terminating()
                && o.finalizers().iter().any(|f| f == FOREGROUND_FINALIZER)
                && r.block_owner_deletion == Some(true)
            {
                OwnerState::Waiting
            } else {
                OwnerState::Solid
            }
        }
        _ => {
            let synced = cx
                .caches
                .get(kind)
                .and_then(|i| i.last_synced_resource_version().parse::<i64>().ok())
                .unwrap_or(0);
            if synced >= rv(dependent) {
                OwnerState::Dangling
            } else {
                OwnerState::Unknown
            }
        }
    }
}

fn delete(o: &Object, policy: PropagationPolicy, key: &str) -> Write {
    Write::delete_with(
        o,
        DeleteOptions {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions {
                uid: Some(o.uid().to_string()),
                resource_version: None,
            }),
            ..Default::default()
        },
        key,
    )
}

fn without_finalizer(o: &Object, f: &str) -> Object {
    let mut c = Object::clone(o);
    let m = c.metadata_mut();
    if let Some(list) = m.finalizers.as_mut() {
        list.retain(|x| x != f);
    }
    c
}

impl Controller for GarbageCollector {
    fn name(&self) -> &'static str {
        "garbage-collector"
    }

    fn kinds(&self) -> &'static [Kind] {
        GC_KINDS
    }

    fn on_notification(&mut self, _kind: Kind, n: &Notification, cx: &mut Cx<'_>) -> Vec<String> {
        let o = n.object();
        let mut keys = BTreeSet::new();
        if !o.owner_references().is_empty() {
            keys.insert(key(o));
        }
        match n {
            Notification::Delete(_) => {
                // Its dependents may now be dangling; its owners may be waiting for it.
                keys.remove(&key(o));
                for d in dependents(cx, o) {
                    keys.insert(key(&d));
                }
                for r in o.owner_references() {
                    if let Some(k) = kind_named(&r.kind) {
                        let ns = if k.info().namespaced {
                            o.namespace()
                        } else {
                            ""
                        };
                        keys.insert(format!("{}|{ns}|{}", r.kind, r.name));
                    }
                }
            }
            _ => {
                if o.is_terminating()
                    && o.finalizers()
                        .iter()
                        .any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER)
                {
                    keys.insert(key(o));
                }
            }
        }
        keys.into_iter().collect()
    }

    fn reconcile(&mut self, k: &str, cx: &mut Cx<'_>) -> Result<Action, ReconcileError> {
        let mut parts = k.splitn(3, '|');
        let (Some(kind), Some(ns), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ReconcileError::BadKey(k.to_string()));
        };
        let Some(kind) = kind_named(kind) else {
            return Ok(Action::AwaitChange);
        };
        let Some(o) = cx.get(kind, ns, name) else {
            return Ok(Action::AwaitChange);
        };
        // The owner side: orphan or foreground deletion in progress.
        if o.is_terminating() {
            let deps = dependents(cx, &o);
            if o.finalizers().iter().any(|f| f == ORPHAN_FINALIZER) {
                for d in &deps {
                    let refs: Vec<OwnerReference> = d
                        .owner_references()
                        .iter()
                        .filter(|r| r.uid != o.uid())
                        .cloned()
                        .collect();
                    cx.writes.push(Write::patch(
                        d.kind(),
                        d.namespace(),
                        d.name(),
                        json!({"metadata": {"ownerReferences": refs_value(refs), "uid": d.uid()}}),
                        k,
                    ));
                }
                if deps.is_empty() {
                    cx.writes
                        .push(Write::update(without_finalizer(&o, ORPHAN_FINALIZER), k));
                }
                return Ok(Action::AwaitChange);
            }
            if o.finalizers().iter().any(|f| f == FOREGROUND_FINALIZER) {
                let blocking: Vec<&SharedObject> = deps
                    .iter()
                    .filter(|d| {
                        d.owner_references()
                            .iter()
                            .any(|r| r.uid == o.uid() && r.block_owner_deletion == Some(true))
                    })
                    .collect();
                for d in &deps {
                    if !d.is_terminating() {
                        cx.writes.push(delete(d, PropagationPolicy::Foreground, k));
                    }
                }
                if blocking.is_empty() {
                    cx.writes.push(Write::update(
                        without_finalizer(&o, FOREGROUND_FINALIZER),
                        k,
                    ));
                }
                return Ok(Action::AwaitChange);
            }
        }
        // The dependent side.
        if o.owner_references().is_empty() || o.is_terminating() {
            return Ok(Action::AwaitChange);
        }
        let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for r in o.owner_references() {
            match owner_state(cx, &o, r) {
                OwnerState::Solid => solid.push(r.clone()),
                OwnerState::Dangling => dangling.push(r.clone()),
                OwnerState::Waiting => waiting.push(r.clone()),
                // Look again once the owner's cache has caught up.
                OwnerState::Unknown => {
                    return Ok(Action::RequeueAfter(sim::Duration::from_secs(1)));
                }
            }
        }
        if !solid.is_empty() {
            if !dangling.is_empty() || !waiting.is_empty() {
                let gone: BTreeSet<&str> = dangling
                    .iter()
                    .chain(waiting.iter())
                    .map(|r| r.uid.as_str())
                    .collect();
                let refs: Vec<OwnerReference> = o
                    .owner_references()
                    .iter()
                    .filter(|r| !gone.contains(r.uid.as_str()))
                    .cloned()
                    .collect();
                cx.writes.push(Write::patch(
                    o.kind(),
                    o.namespace(),
                    o.name(),
                    json!({"metadata": {"ownerReferences": refs_value(refs), "uid": o.uid()}}),
                    k,
                ));
            }
            return Ok(Action::AwaitChange);
        }
        let has_dependents = !dependents(cx, &o).is_empty();
        let policy = if !waiting.is_empty() && has_dependents {
            PropagationPolicy::Foreground
        } else if o.finalizers().iter().any(|f| f == ORPHAN_FINALIZER) {
            PropagationPolicy::Orphan
        } else if o.finalizers().iter().any(|f| f == FOREGROUND_FINALIZER) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        cx.writes.push(delete(&o, policy, k));
        Ok(Action::AwaitChange)
    }

    fn reset(&mut self) {}
}
