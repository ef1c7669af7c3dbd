//! A Lease serialized by hand, with its timestamps formatted without jiff's `strftime`.
//!
//! Every node renews its Lease every 10 s, so the apiserver encodes a Lease more often than
//! any other object, and k8s-openapi formats each `Time` and `MicroTime` through jiff's
//! format-string interpreter, which cost more than the rest of the Lease's encoding. These
//! writers emit the same fields, in the same order, with the same strings as k8s-openapi's
//! `Serialize` (the tests compare them); [`crate::Object`]'s `Serialize` uses them for Leases.
//! A timestamp outside the years 1970–9999 is left to k8s-openapi.

use k8s_openapi::Resource;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use sim::time::civil_from_days;

/// A Lease as k8s-openapi writes it.
pub(crate) struct LeaseWire<'a>(pub &'a Lease);

impl Serialize for LeaseWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self.0;
        let mut st = s.serialize_struct(Lease::KIND, 3 + usize::from(l.spec.is_some()))?;
        st.serialize_field("apiVersion", Lease::API_VERSION)?;
        st.serialize_field("kind", Lease::KIND)?;
        st.serialize_field("metadata", &MetaWire(&l.metadata))?;
        if let Some(spec) = &l.spec {
            st.serialize_field("spec", &SpecWire(spec))?;
        }
        st.end()
    }
}

struct SpecWire<'a>(&'a LeaseSpec);

impl Serialize for SpecWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self.0;
        let n = [
            l.acquire_time.is_some(),
            l.holder_identity.is_some(),
            l.lease_duration_seconds.is_some(),
            l.lease_transitions.is_some(),
            l.preferred_holder.is_some(),
            l.renew_time.is_some(),
            l.strategy.is_some(),
        ]
        .into_iter()
        .filter(|&b| b)
        .count();
        let mut st = s.serialize_struct("LeaseSpec", n)?;
        if let Some(v) = &l.acquire_time {
            st.serialize_field("acquireTime", &MicroTimeWire(v))?;
        }
        if let Some(v) = &l.holder_identity {
            st.serialize_field("holderIdentity", v)?;
        }
        if let Some(v) = &l.lease_duration_seconds {
            st.serialize_field("leaseDurationSeconds", v)?;
        }
        if let Some(v) = &l.lease_transitions {
            st.serialize_field("leaseTransitions", v)?;
        }
        if let Some(v) = &l.preferred_holder {
            st.serialize_field("preferredHolder", v)?;
        }
        if let Some(v) = &l.renew_time {
            st.serialize_field("renewTime", &MicroTimeWire(v))?;
        }
        if let Some(v) = &l.strategy {
            st.serialize_field("strategy", v)?;
        }
        st.end()
    }
}

struct MetaWire<'a>(&'a ObjectMeta);

impl Serialize for MetaWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let n = [
            m.annotations.is_some(),
            m.creation_timestamp.is_some(),
            m.deletion_grace_period_seconds.is_some(),
            m.deletion_timestamp.is_some(),
            m.finalizers.is_some(),
            m.generate_name.is_some(),
            m.generation.is_some(),
            m.labels.is_some(),
            m.managed_fields.is_some(),
            m.name.is_some(),
            m.namespace.is_some(),
            m.owner_references.is_some(),
            m.resource_version.is_some(),
            m.self_link.is_some(),
            m.uid.is_some(),
        ]
        .into_iter()
        .filter(|&b| b)
        .count();
        let mut st = s.serialize_struct("ObjectMeta", n)?;
        if let Some(v) = &m.annotations {
            st.serialize_field("annotations", v)?;
        }
        if let Some(v) = &m.creation_timestamp {
            st.serialize_field("creationTimestamp", &TimeWire(v))?;
        }
        if let Some(v) = &m.deletion_grace_period_seconds {
            st.serialize_field("deletionGracePeriodSeconds", v)?;
        }
        if let Some(v) = &m.deletion_timestamp {
            st.serialize_field("deletionTimestamp", &TimeWire(v))?;
        }
        if let Some(v) = &m.finalizers {
            st.serialize_field("finalizers", v)?;
        }
        if let Some(v) = &m.generate_name {
            st.serialize_field("generateName", v)?;
        }
        if let Some(v) = &m.generation {
            st.serialize_field("generation", v)?;
        }
        if let Some(v) = &m.labels {
            st.serialize_field("labels", v)?;
        }
        if let Some(v) = &m.managed_fields {
            st.serialize_field("managedFields", v)?;
        }
        if let Some(v) = &m.name {
            st.serialize_field("name", v)?;
        }
        if let Some(v) = &m.namespace {
            st.serialize_field("namespace", v)?;
        }
        if let Some(v) = &m.owner_references {
            st.serialize_field("ownerReferences", v)?;
        }
        if let Some(v) = &m.resource_version {
            st.serialize_field("resourceVersion", v)?;
        }
        if let Some(v) = &m.self_link {
            st.serialize_field("selfLink", v)?;
        }
        if let Some(v) = &m.uid {
            st.serialize_field("uid", v)?;
        }
        st.end()
    }
}

struct TimeWire<'a>(&'a Time);

impl Serialize for TimeWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; UTC_MAX_LEN];
        match format_utc(self.0.0, false, &mut buf) {
            Some(text) => s.serialize_newtype_struct("Time", text),
            None => self.0.serialize(s),
        }
    }
}

struct MicroTimeWire<'a>(&'a MicroTime);

impl Serialize for MicroTimeWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; UTC_MAX_LEN];
        match format_utc(self.0.0, true, &mut buf) {
            Some(text) => s.serialize_newtype_struct("MicroTime", text),
            None => self.0.serialize(s),
        }
    }
}

/// `2026-01-01T00:00:00.000000Z`.
const UTC_MAX_LEN: usize = 27;
/// 10000-01-01T00:00:00Z: the first second whose year has five digits.
const YEAR_10000: i64 = 253_402_300_800;

/// `ts` in UTC as k8s-openapi writes a `Time` (`%Y-%m-%dT%H:%M:%SZ`) or, with `micros`, a
/// `MicroTime` (`%Y-%m-%dT%H:%M:%S%.6fZ`, the fraction truncated); `None` before 1970 or after
/// 9999.
fn format_utc(ts: Timestamp, micros: bool, buf: &mut [u8; UTC_MAX_LEN]) -> Option<&str> {
    let secs = ts.as_second();
    let nanos = ts.subsec_nanosecond();
    if !(0..YEAR_10000).contains(&secs) || nanos < 0 {
        return None;
    }
    let (year, month, day) = civil_from_days(secs / 86_400);
    let in_day = secs % 86_400;
    let mut at = 0;
    let mut put = |n: i64, width: usize, after: Option<u8>| {
        let mut n = n;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        at += width;
        if let Some(c) = after {
            buf[at] = c;
            at += 1;
        }
    };
    put(year, 4, Some(b'-'));
    put(month, 2, Some(b'-'));
    put(day, 2, Some(b'T'));
    put(in_day / 3600, 2, Some(b':'));
    put(in_day / 60 % 60, 2, Some(b':'));
    if micros {
        put(in_day % 60, 2, Some(b'.'));
        put(i64::from(nanos) / 1000, 6, Some(b'Z'));
    } else {
        put(in_day % 60, 2, Some(b'Z'));
    }
    std::str::from_utf8(&buf[..at]).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, OwnerReference};
    use k8s_openapi::jiff::fmt::strtime;

    use super::*;

    fn ts(secs: i64, nanos: i32) -> Timestamp {
        Timestamp::new(secs, nanos).expect("in range")
    }

    #[test]
    fn timestamps_format_as_jiff_does() {
        let nanos = [
            0,
            1,
            999,
            1_000,
            1_001,
            123_456_789,
            500_000_000,
            999_999_999,
        ];
        // Every day boundary and leap-year rule in the range, and odd seconds in between.
        // jiff's last instant is late on 9999-12-30 (it leaves room for any UTC offset).
        let last = Timestamp::MAX.as_second();
        let mut secs: Vec<i64> = vec![0, 59, 86_399, 86_400, 951_782_400, 4_107_542_400];
        secs.extend([last - 1, 1_767_225_600, 1_767_225_600 + 10 * 86_400 + 3_723]);
        let mut s = 0i64;
        while s < last {
            secs.push(s);
            s += 7_919_993;
        }
        let mut buf = [0u8; UTC_MAX_LEN];
        for &sec in &secs {
            for &n in &nanos {
                let t = ts(sec, n);
                let want = strtime::format("%Y-%m-%dT%H:%M:%SZ", t).expect("formats");
                assert_eq!(format_utc(t, false, &mut buf), Some(&*want), "{t}");
                let want = strtime::format("%Y-%m-%dT%H:%M:%S%.6fZ", t).expect("formats");
                assert_eq!(format_utc(t, true, &mut buf), Some(&*want), "{t}");
            }
        }
        assert_eq!(format_utc(ts(-1, 0), false, &mut buf), None);
        assert_eq!(format_utc(ts(0, -1), true, &mut buf), None);
    }

    fn same_as_k8s_openapi(lease: &Lease) {
        let want = serde_json::to_string(lease).expect("encodes");
        let got = serde_json::to_string(&LeaseWire(lease)).expect("encodes");
        assert_eq!(got, want);
        let object = crate::Object::from(lease.clone());
        assert_eq!(serde_json::to_string(&object).expect("encodes"), want);
        // The stored form: MessagePack writes each map's length from `serialize_struct`'s
        // field count, which JSON ignores.
        let want = rmp_serde::to_vec_named(lease).expect("encodes");
        assert_eq!(
            rmp_serde::to_vec_named(&LeaseWire(lease)).expect("encodes"),
            want
        );
        assert_eq!(rmp_serde::to_vec_named(&object).expect("encodes"), want);
    }

    #[test]
    fn leases_serialize_as_k8s_openapi_does() {
        same_as_k8s_openapi(&Lease::default());
        let t = ts(1_767_225_600 + 12_345, 678_901_234);
        let full = Lease {
            metadata: ObjectMeta {
                annotations: Some(BTreeMap::from([("a".into(), "b".into())])),
                creation_timestamp: Some(Time(t)),
                deletion_grace_period_seconds: Some(30),
                deletion_timestamp: Some(Time(ts(-5, 0))),
                finalizers: Some(vec!["f".into()]),
                generate_name: Some("g-".into()),
                generation: Some(2),
                labels: Some(BTreeMap::from([("l".into(), "v".into())])),
                managed_fields: Some(vec![ManagedFieldsEntry {
                    manager: Some("m".into()),
                    time: Some(Time(t)),
                    ..Default::default()
                }]),
                name: Some("kubesim-worker".into()),
                namespace: Some("kube-node-lease".into()),
                owner_references: Some(vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Node".into(),
                    name: "kubesim-worker".into(),
                    uid: "u".into(),
                    ..Default::default()
                }]),
                resource_version: Some("42".into()),
                self_link: Some("/x".into()),
                uid: Some("uid".into()),
            },
            spec: Some(LeaseSpec {
                acquire_time: Some(MicroTime(ts(1_767_225_600, 0))),
                holder_identity: Some("kubesim-worker".into()),
                lease_duration_seconds: Some(40),
                lease_transitions: Some(1),
                preferred_holder: Some("p".into()),
                renew_time: Some(MicroTime(t)),
                strategy: Some("OldestEmulationVersion".into()),
            }),
        };
        same_as_k8s_openapi(&full);
        let mut bare = full.clone();
        bare.metadata = ObjectMeta {
            name: Some("n".into()),
            ..Default::default()
        };
        bare.spec = Some(LeaseSpec {
            renew_time: Some(MicroTime(t)),
            ..Default::default()
        });
        same_as_k8s_openapi(&bare);
    }
}
