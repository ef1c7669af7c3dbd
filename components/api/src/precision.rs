//! Timestamps at the precision the API keeps them.
//!
//! A `Time` is stored and served in whole seconds and a `MicroTime` in microseconds
//! (apimachinery's `Time` marshals RFC 3339 without a fraction and its protobuf form drops
//! the nanoseconds; `MicroTime` marshals `RFC3339Micro`), so a client never reads back finer
//! digits than those, whatever it sent. kubesim's apiservers hand the typed object a write
//! decoded to the readers of that write instead of decoding the stored bytes again (see the
//! apiserver's storage docs), which is only exact when the object already is at these
//! precisions. Components build their timestamps at them (`apiserver::objects::api_time`,
//! `client::lease_lock::micro_time`); JSON from users and patches is brought to them when
//! it is decoded ([`crate::strict::decode`]).

use serde_json::Value;

use crate::object::{Object, decode_kind_untracked};

/// Whether any string in `value` is an RFC 3339 instant with a fraction of a second: the only
/// input from which a decoded object can hold a timestamp finer than the API keeps it.
/// (A `MicroTime` as kubesim writes it has a fraction too, so this also holds for objects
/// that are already exact; the re-decode is then a no-op, and rare: no component patches a
/// kind that has `MicroTime`s.)
pub fn has_fraction(value: &Value) -> bool {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if is_fractional_instant(s) => return true,
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    false
}

/// `object` as the API serves it back: `Time`s truncated to the second and `MicroTime`s to
/// the microsecond, by a round trip through the JSON form, which k8s-openapi writes at
/// exactly those precisions.
pub fn at_api_precision(object: Object) -> Result<Object, serde_json::Error> {
    let json = serde_json::to_value(&object)?;
    decode_kind_untracked(object.kind(), &json, &mut Vec::new())
}

/// `YYYY-MM-DDTHH:MM:SS.` followed by a digit (the date-time separator may be `T`, `t` or a
/// space, as RFC 3339 allows and jiff accepts).
fn is_fractional_instant(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    b.len() > 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && b[20].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_instants_with_a_fraction_are_found() {
        for s in [
            "2026-01-01T00:00:00.5Z",
            "2026-01-01t00:00:00.123456789+02:00",
            "2026-01-01 00:00:00.000001Z",
        ] {
            assert!(has_fraction(&json!({"a": [{"b": s}]})), "{s}");
        }
        for s in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01X00:00:00.5Z",
            "12:00:00.5",
            "version 2026-01-01T00:00:00.5Z",
        ] {
            assert!(!has_fraction(&json!({"a": [{"b": s}]})), "{s}");
        }
        assert!(!has_fraction(&json!({"a": [1, null, true, {"b": {}}]})));
    }

    #[test]
    fn times_truncate_to_seconds_and_micro_times_to_microseconds() {
        let lease = crate::strict::decode(&json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "n", "namespace": "kube-node-lease",
                         "creationTimestamp": "2026-01-01T00:00:07.9Z"},
            "spec": {"renewTime": "2026-01-01T00:00:09.1234567Z",
                     "acquireTime": "2026-01-01T02:00:09.000001+02:00"},
        }))
        .expect("a valid Lease");
        let json = serde_json::to_value(&lease).expect("encodes");
        assert_eq!(
            json["metadata"]["creationTimestamp"],
            "2026-01-01T00:00:07Z"
        );
        assert_eq!(json["spec"]["renewTime"], "2026-01-01T00:00:09.123456Z");
        assert_eq!(json["spec"]["acquireTime"], "2026-01-01T00:00:09.000001Z");
        // Decoding what was served gives the same typed object: readers sharing the writer's
        // object see what readers decoding the stored bytes see.
        assert_eq!(crate::strict::decode(&json).expect("decodes"), lease);
    }

    #[test]
    fn an_exact_object_is_unchanged() {
        let pod = crate::strict::decode(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:07Z"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        }))
        .expect("a valid Pod");
        assert_eq!(at_api_precision(pod.clone()).expect("round trip"), pod);
    }
}
