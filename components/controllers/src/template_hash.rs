//! The `pod-template-hash` a Deployment gives its ReplicaSets.
//!
//! Follows `pkg/controller/controller_utils.go` (`ComputeHash`): FNV-32a over the pod
//! template, then the collision count as 4 little-endian bytes when set, and the decimal
//! digits of the sum mapped through `rand.SafeEncodeString`
//! (`staging/src/k8s.io/apimachinery/pkg/util/rand`: each byte indexes
//! "bcdfghjklmnpqrstvwxz2456789" modulo 27, so no vowels and no look-alike digits).
//!
//! Deliberate difference: upstream hashes the Go struct as `spew` prints it
//! (`hashutil.DeepHashObject`); kubesim hashes the template's JSON encoding, so the names have
//! Kubernetes' shape and stability (same template, same name) but not its exact values.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// FNV-1a, 32 bits.
pub fn fnv32a(data: &[u8], mut h: u32) -> u32 {
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

pub const FNV32_OFFSET: u32 = 0x811c_9dc5;

/// `rand.SafeEncodeString`.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// The hash of a template (without its own `pod-template-hash` label).
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut t = template.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    let json = serde_json::to_vec(&t).unwrap_or_default();
    let mut h = fnv32a(&json, FNV32_OFFSET);
    if let Some(c) = collision_count {
        h = fnv32a(&(c as u32).to_le_bytes(), h);
    }
    safe_encode(&h.to_string())
}

/// `EqualIgnoreHash`: templates equal once the hash label is removed from both.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    // Only the metadata is copied to strip the label: the pod specs compare as they are.
    // (Destructured so that a field added to the type is not missed here.)
    let PodTemplateSpec {
        metadata: _,
        spec: _,
    } = a;
    let strip = |m: &Option<ObjectMeta>| {
        let mut m = m.clone();
        if let Some(m) = m.as_mut()
            && let Some(l) = m.labels.as_mut()
        {
            l.remove(POD_TEMPLATE_HASH_LABEL);
            if l.is_empty() {
                m.labels = None;
            }
        }
        m
    };
    a.spec == b.spec && strip(&a.metadata) == strip(&b.metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn fnv_and_encoding_match_go() {
        // hash/fnv New32a: "" -> 0x811c9dc5, "a" -> 0xe40c292c.
        assert_eq!(fnv32a(b"", FNV32_OFFSET), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a", FNV32_OFFSET), 0xe40c_292c);
        // '0' is byte 48 -> 48 % 27 = 21 -> '4'; '9' is 57 -> 3 -> 'f'.
        assert_eq!(safe_encode("09"), "4f");
    }

    #[test]
    fn hash_is_stable_and_ignores_its_own_label() {
        let mut t = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            spec: None,
        };
        let h = compute_hash(&t, None);
        assert!(!h.is_empty() && h.len() <= 10);
        assert!(h.bytes().all(|b| ALPHANUMS.contains(&b)));
        let mut labelled = t.clone();
        labelled
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(POD_TEMPLATE_HASH_LABEL.into(), h.clone());
        assert_eq!(compute_hash(&labelled, None), h);
        assert!(equal_ignore_hash(&t, &labelled));
        assert_ne!(compute_hash(&t, Some(1)), h);
        t.metadata.as_mut().unwrap().labels = None;
        assert_ne!(compute_hash(&t, None), h);
    }
}
