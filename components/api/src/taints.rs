//! Taints and tolerations, as `staging/src/k8s.io/api/core/v1/toleration.go` (ToleratesTaint:
//! an empty effect or key matches all, operator Exists ignores the value, empty operator means
//! Equal) and `component-helpers/scheduling/corev1` (FindMatchingUntoleratedTaint).
//! Simplification: the alpha Gt/Lt toleration operators are not supported (they tolerate
//! nothing, as an unknown operator does upstream).

use std::fmt;

use k8s_openapi::api::core::v1::{Taint, Toleration};

pub const NO_SCHEDULE: &str = "NoSchedule";
pub const PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";
pub const NO_EXECUTE: &str = "NoExecute";

pub fn tolerates_taint(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        "Exists" => true,
        _ => false,
    }
}

pub fn tolerations_tolerate_taint(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates_taint(t, taint))
}

/// The first taint with one of `effects` that no toleration tolerates (what TaintToleration's
/// filter reports).
pub fn find_untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    effects: &[&str],
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| effects.contains(&t.effect.as_str()))
        .find(|t| !tolerations_tolerate_taint(tolerations, t))
}

/// How long a pod may stay on a node with these NoExecute taints, as the taint eviction
/// controller's getMinTolerationTime: `None` if some taint is not tolerated (evict now),
/// `Some(None)` if tolerated for ever, else the shortest tolerationSeconds (negatives as 0).
pub fn min_toleration_seconds(taints: &[Taint], tolerations: &[Toleration]) -> Option<Option<i64>> {
    let mut min: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == NO_EXECUTE) {
        let matching: Vec<&Toleration> = tolerations
            .iter()
            .filter(|t| tolerates_taint(t, taint))
            .collect();
        if matching.is_empty() {
            return None;
        }
        for t in matching {
            if let Some(s) = t.toleration_seconds {
                let s = s.max(0);
                min = Some(min.map_or(s, |m| m.min(s)));
            }
        }
    }
    Some(min)
}

/// `key=value:effect`, or `key:effect` without a value, as kubectl prints taints.
pub struct TaintDisplay<'a>(pub &'a Taint);

impl fmt::Display for TaintDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        match t.value.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => write!(f, "{}={v}:{}", t.key, t.effect),
            None => write!(f, "{}:{}", t.key, t.effect),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.into()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn tol(key: &str, op: &str, value: &str, effect: &str, seconds: Option<i64>) -> Toleration {
        let s = |v: &str| (!v.is_empty()).then(|| v.to_string());
        Toleration {
            key: s(key),
            operator: s(op),
            value: s(value),
            effect: s(effect),
            toleration_seconds: seconds,
        }
    }

    #[test]
    fn toleration_semantics() {
        let cp = taint("node-role.kubernetes.io/control-plane", "", NO_SCHEDULE);
        let gpu = taint("gpu", "true", NO_SCHEDULE);
        let cases = [
            (
                tol(
                    "node-role.kubernetes.io/control-plane",
                    "Exists",
                    "",
                    NO_SCHEDULE,
                    None,
                ),
                &cp,
                true,
            ),
            (
                tol(
                    "node-role.kubernetes.io/control-plane",
                    "Exists",
                    "",
                    "",
                    None,
                ),
                &cp,
                true,
            ),
            (
                tol(
                    "node-role.kubernetes.io/control-plane",
                    "Exists",
                    "",
                    NO_EXECUTE,
                    None,
                ),
                &cp,
                false,
            ),
            (tol("", "Exists", "", "", None), &cp, true),
            (tol("gpu", "Equal", "true", NO_SCHEDULE, None), &gpu, true),
            (tol("gpu", "", "true", "", None), &gpu, true),
            (tol("gpu", "Equal", "false", NO_SCHEDULE, None), &gpu, false),
            (tol("gpu", "Equal", "", NO_SCHEDULE, None), &gpu, false),
            (tol("other", "Exists", "", "", None), &gpu, false),
            (tol("gpu", "Gt", "1", "", None), &gpu, false),
        ];
        for (t, taint, want) in cases {
            assert_eq!(
                tolerates_taint(&t, taint),
                want,
                "{t:?} vs {}",
                TaintDisplay(taint)
            );
        }
    }

    #[test]
    fn untolerated_and_eviction_time() {
        let taints = [
            taint("node.kubernetes.io/unreachable", "", NO_EXECUTE),
            taint("soft", "", PREFER_NO_SCHEDULE),
        ];
        assert_eq!(
            find_untolerated_taint(&taints, &[], &[NO_SCHEDULE, NO_EXECUTE])
                .map(|t| t.key.as_str()),
            Some("node.kubernetes.io/unreachable")
        );
        let defaults = [
            tol(
                "node.kubernetes.io/not-ready",
                "Exists",
                "",
                NO_EXECUTE,
                Some(300),
            ),
            tol(
                "node.kubernetes.io/unreachable",
                "Exists",
                "",
                NO_EXECUTE,
                Some(300),
            ),
        ];
        assert_eq!(
            find_untolerated_taint(&taints, &defaults, &[NO_SCHEDULE, NO_EXECUTE]),
            None
        );
        assert_eq!(min_toleration_seconds(&taints, &defaults), Some(Some(300)));
        assert_eq!(min_toleration_seconds(&taints, &[]), None);
        let forever = [tol("", "Exists", "", NO_EXECUTE, None)];
        assert_eq!(min_toleration_seconds(&taints, &forever), Some(None));
        assert_eq!(
            TaintDisplay(&taint("gpu", "true", NO_SCHEDULE)).to_string(),
            "gpu=true:NoSchedule"
        );
        assert_eq!(
            TaintDisplay(&taints[0]).to_string(),
            "node.kubernetes.io/unreachable:NoExecute"
        );
    }
}
