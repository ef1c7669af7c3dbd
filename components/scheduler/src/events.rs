//! The scheduler's events about pods (F28): `Scheduled` ("Successfully assigned NS/POD to
//! NODE"), `FailedScheduling` (the FitError message), `Preempted` on a victim ("Preempted by
//! pod UID on node NODE").
//!
//! Follows `pkg/scheduler/schedule_one.go` (the texts) and client-go's event recorder for the
//! object shape: core/v1 Events named `POD.<hex nanoseconds>`, source and reportingComponent
//! `default-scheduler`; a repeat of the same (object, type, reason, message) is folded into the
//! first event by raising `count` and `lastTimestamp` (the EventCorrelator's aggregation), so
//! `kubectl get events` shows `(x3 over 40s)`-style counts.
//! Simplification: kube-scheduler writes events.k8s.io/v1 Events, which the apiserver also
//! serves as core/v1; kubesim writes core/v1 directly (what `kubectl get events` reads).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use api::Object;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sim::Time;

use crate::framework::PodInfo;

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";
/// Repeats remembered for folding (oldest forgotten first).
pub const MAX_REMEMBERED: usize = 4096;

/// What to write for one event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventWrite {
    Create(Arc<Object>),
    /// Merge patch of the event with this name in this namespace.
    Bump {
        namespace: String,
        name: String,
        patch: serde_json::Value,
    },
}

/// The recorder with its memory of recent events.
#[derive(Debug)]
pub struct Recorder {
    component: String,
    instance: String,
    seen: BTreeMap<(String, String, String, String), (String, i32)>,
    order: VecDeque<(String, String, String, String)>,
}

pub fn scheduled_message(pod: &PodInfo, node: &str) -> String {
    format!(
        "Successfully assigned {}/{} to {node}",
        pod.namespace, pod.name
    )
}

pub fn preempted_message(preemptor_uid: &str, node: &str) -> String {
    format!("Preempted by pod {preemptor_uid} on node {node}")
}

impl Recorder {
    pub fn new(component: &str, instance: &str) -> Recorder {
        Recorder {
            component: component.into(),
            instance: instance.into(),
            seen: BTreeMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The write for an event about `pod` at virtual time `now`.
    pub fn record(
        &mut self,
        pod: &PodInfo,
        type_: &str,
        reason: &str,
        message: &str,
        now: Time,
    ) -> EventWrite {
        let key = (
            pod.uid.clone(),
            type_.to_string(),
            reason.to_string(),
            message.to_string(),
        );
        let stamp = apiserver::objects::api_time(now);
        if let Some((name, count)) = self.seen.get_mut(&key) {
            *count += 1;
            return EventWrite::Bump {
                namespace: pod.namespace.clone(),
                name: name.clone(),
                patch: serde_json::json!({
                    "count": *count,
                    "lastTimestamp": serde_json::to_value(&stamp).unwrap_or_default(),
                }),
            };
        }
        let name = format!("{}.{:x}", pod.name, now.as_nanos());
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(pod.namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.name.clone()),
                namespace: Some(pod.namespace.clone()),
                uid: Some(pod.uid.clone()),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(type_.into()),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: None,
            }),
            first_timestamp: Some(stamp.clone()),
            last_timestamp: Some(stamp),
            count: Some(1),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        if self.order.len() >= MAX_REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(key.clone(), (name, 1));
        self.order.push_back(key);
        EventWrite::Create(Arc::new(Object::from(event)))
    }
}
