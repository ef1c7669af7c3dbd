//! The kubelet's Events (`kubectl describe pod`, `kubectl get events`): Pulling, Pulled,
//! Created, Started, Killing, BackOff, Failed, Unhealthy, with the kubelet's texts.
//!
//! Follows client-go `tools/record` (`makeEvent`: name `<pod>.<hex nanos>`, `source.component:
//! kubelet`, `source.host: <node>`; the `EventCorrelator`'s aggregation: the same reason and
//! message for the same object again bumps `count` and `lastTimestamp` on the existing Event
//! with a PATCH instead of creating one) and the messages of `pkg/kubelet/events` and
//! `kuberuntime`. Simplifications: no spam filter token bucket (aggregation alone bounds the
//! writes of a crash loop to one per back-off); the aggregation memory holds 4,096 keys and
//! is cleared when full.

use std::collections::BTreeMap;

use api::k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use api::{Object, SharedObject};
use apiserver::objects::api_time;
use sim::Time;
use std::sync::Arc;

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";
const MAX_KEYS: usize = 4_096;

/// What to send for one recorded event.
#[derive(Clone, Debug)]
pub enum EventWrite {
    Create(SharedObject),
    /// Bump an existing Event: `(namespace, name, merge patch)`.
    Patch(String, String, serde_json::Value),
}

#[derive(Debug, Default)]
pub struct Recorder {
    seq: u64,
    seen: BTreeMap<(String, String, String), (String, i32)>,
}

impl Recorder {
    /// Records `reason`/`message` about `pod` (its `field_path` names a container, as
    /// `spec.containers{nginx}`).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        node: &str,
        pod: &Pod,
        uid: &str,
        field_path: Option<String>,
        type_: &str,
        reason: &str,
        message: String,
        now: Time,
    ) -> EventWrite {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let key = (uid.to_string(), reason.to_string(), message.clone());
        let t = api_time(now);
        if let Some((event_name, count)) = self.seen.get_mut(&key) {
            *count += 1;
            let patch = serde_json::json!({
                "count": *count,
                "lastTimestamp": serde_json::to_value(&t).unwrap_or_default(),
            });
            return EventWrite::Patch(namespace, event_name.clone(), patch);
        }
        if self.seen.len() >= MAX_KEYS {
            self.seen.clear();
        }
        self.seq += 1;
        let nanos = (t.0.as_second() as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(now.as_nanos() % 1_000_000_000)
            .saturating_add(self.seq);
        let event_name = format!("{name}.{nanos:x}");
        self.seen.insert(key, (event_name.clone(), 1));
        EventWrite::Create(Arc::new(Object::from(Event {
            metadata: ObjectMeta {
                name: Some(event_name),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(name),
                namespace: Some(namespace),
                uid: Some(uid.to_string()).filter(|u| !u.is_empty()),
                field_path,
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(type_.into()),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(node.into()),
            }),
            first_timestamp: Some(t.clone()),
            last_timestamp: Some(t),
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(node.into()),
            ..Default::default()
        })))
    }
}
