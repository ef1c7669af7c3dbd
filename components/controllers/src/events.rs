//! Events the controllers record (`kubectl get events`, `describe`): core/v1 Events with
//! Kubernetes' reasons and message texts.
//!
//! Follows client-go `tools/record/event.go` (`makeEvent`: name `<object>.<unix nanos in
//! hex>`, count 1, first and last timestamp now, `source.component` and `reportingComponent`
//! the controller's recorder name, e.g. `deployment-controller`) and each controller's `Eventf`
//! calls for the texts. Simplification: no aggregation or spam filtering
//! (`EventCorrelator`); each call writes one Event.

use api::Object;
use apiserver::objects::api_time;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use sim::Time;

use crate::controller::{Purpose, Write};

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// A reference to `obj` as an Event's `involvedObject`.
pub fn reference(obj: &Object) -> ObjectReference {
    let info = obj.info();
    ObjectReference {
        api_version: Some(info.api_version.to_string()),
        kind: Some(info.name.to_string()),
        name: Some(obj.name().to_string()),
        namespace: Some(obj.namespace().to_string()).filter(|n| !n.is_empty()),
        uid: Some(obj.uid().to_string()).filter(|u| !u.is_empty()),
        resource_version: Some(obj.resource_version().to_string()).filter(|r| !r.is_empty()),
        field_path: None,
    }
}

/// The Event for `obj` (written to the object's namespace, `default` for cluster-scoped
/// objects, as the recorder does).
pub fn event(
    obj: &Object,
    type_: &str,
    reason: &str,
    message: String,
    component: &str,
    now: Time,
    seq: u64,
) -> Object {
    let namespace = if obj.namespace().is_empty() {
        "default".to_string()
    } else {
        obj.namespace().to_string()
    };
    let t = api_time(now);
    // Nanoseconds alone may repeat within one instant; the per-process sequence keeps names
    // unique, as distinct wall-clock nanos do upstream.
    let nanos = (t.0.as_second() as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.as_nanos() % 1_000_000_000)
        .saturating_add(seq);
    Object::from(Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{nanos:x}", obj.name())),
            namespace: Some(namespace),
            ..Default::default()
        },
        involved_object: reference(obj),
        reason: Some(reason.to_string()),
        message: Some(message),
        type_: Some(type_.to_string()),
        source: Some(EventSource {
            component: Some(component.to_string()),
            host: None,
        }),
        first_timestamp: Some(t.clone()),
        last_timestamp: Some(t.clone()),
        event_time: None::<MicroTime>,
        count: Some(1),
        reporting_component: Some(component.to_string()),
        // The recorder's `source.host`, which kube-controller-manager leaves empty; the
        // field has no `omitempty`, so it is served as "".
        reporting_instance: Some(String::new()),
        ..Default::default()
    })
}

/// Records an Event through the manager's writes.
#[derive(Debug, Default)]
pub struct Recorder {
    seq: u64,
}

impl Recorder {
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        writes: &mut Vec<Write>,
        obj: &Object,
        type_: &str,
        reason: &str,
        message: String,
        component: &str,
        now: Time,
    ) {
        self.seq += 1;
        let ev = event(obj, type_, reason, message, component, now, self.seq);
        writes.push(Write::create(ev, "").purpose(Purpose::Event));
    }
}
