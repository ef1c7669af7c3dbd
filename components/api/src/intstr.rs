//! IntOrString amounts ("25%" or 2) scaled against a total, as
//! `staging/src/k8s.io/apimachinery/pkg/util/intstr/intstr.go` (GetScaledValueFromIntOrPercent),
//! and the Deployment controller's fenceposts (F16, `pkg/controller/deployment/util`
//! ResolveFenceposts: surge rounds up, unavailable rounds down, never both 0).

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for IntOrString: invalid value \"{0}\": must be an integer or a percentage")]
pub struct IntOrPercentError(pub String);

/// An integer as is; a percentage of `total`, rounded up or down.
pub fn scaled_value(
    value: &IntOrString,
    total: i32,
    round_up: bool,
) -> Result<i32, IntOrPercentError> {
    match value {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let percent: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| IntOrPercentError(s.clone()))?;
            let product = percent * i64::from(total);
            let scaled = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            Ok(scaled.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        }
    }
}

/// (maxSurge, maxUnavailable) as pod counts for `desired` replicas.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), IntOrPercentError> {
    let zero = IntOrString::Int(0);
    let surge = scaled_value(max_surge.unwrap_or(&zero), desired, true)?;
    let mut unavailable = scaled_value(max_unavailable.unwrap_or(&zero), desired, false)?;
    if surge == 0 && unavailable == 0 {
        // Without this a rollout could never make progress.
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenceposts() {
        let p = |s: &str| IntOrString::String(s.into());
        let cases = [
            (p("25%"), p("25%"), 3, (1, 0)),
            (p("25%"), p("25%"), 4, (1, 1)),
            (p("25%"), p("25%"), 10, (3, 2)),
            (IntOrString::Int(0), IntOrString::Int(0), 5, (0, 1)),
            (IntOrString::Int(2), p("50%"), 5, (2, 2)),
            (p("0%"), p("0%"), 0, (0, 1)),
        ];
        for (surge, unavailable, desired, want) in cases {
            assert_eq!(
                resolve_fenceposts(Some(&surge), Some(&unavailable), desired).unwrap(),
                want
            );
        }
        assert!(scaled_value(&p("x%"), 10, true).is_err());
    }
}
