//! The DefaultTolerationSeconds admission plugin (F14): every pod tolerates
//! `node.kubernetes.io/not-ready:NoExecute` and `node.kubernetes.io/unreachable:NoExecute` for
//! 300 s unless it already tolerates them, as
//! `plugin/pkg/admission/defaulttolerationseconds/admission.go`.

use k8s_openapi::api::core::v1::{PodSpec, Toleration};

pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

fn tolerates(tolerations: &[Toleration], key: &str) -> bool {
    tolerations.iter().any(|t| {
        let t_key = t.key.as_deref().unwrap_or("");
        let effect = t.effect.as_deref().unwrap_or("");
        (t_key == key || t_key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
    })
}

pub fn add_default_tolerations(spec: &mut PodSpec) {
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for key in [NOT_READY_TAINT, UNREACHABLE_TAINT] {
        if !tolerates(tolerations, key) {
            tolerations.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(DEFAULT_TOLERATION_SECONDS),
                value: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_only_what_is_missing() {
        let mut spec = PodSpec::default();
        add_default_tolerations(&mut spec);
        let keys: Vec<_> = spec
            .tolerations
            .as_ref()
            .unwrap()
            .iter()
            .map(|t| t.key.clone().unwrap())
            .collect();
        assert_eq!(keys, vec![NOT_READY_TAINT, UNREACHABLE_TAINT]);
        add_default_tolerations(&mut spec);
        assert_eq!(spec.tolerations.as_ref().unwrap().len(), 2, "idempotent");

        // A DaemonSet-style toleration of everything NoExecute covers both.
        let mut ds = PodSpec {
            tolerations: Some(vec![Toleration {
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        add_default_tolerations(&mut ds);
        assert_eq!(ds.tolerations.unwrap().len(), 1);
    }
}
