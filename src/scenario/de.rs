//! How scenario values are read from RON where derive alone would not give the written forms:
//! unit strings, node targets that are either `"kubesim-worker2"` or `Leader("etcd")`, and
//! `Expect`/`Always` conditions whose fields decide their kind.

use serde::{Deserialize, Deserializer, de};

use super::model::{Check, LeaderOf, Matcher, Percentile, ProxyMode, Sli, Target};
use crate::units::{Duration, SignedDuration};
use api::quantity::Quantity;

fn from_unit_str<'de, D, T, E>(
    deserializer: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: std::fmt::Display,
{
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(de::Error::custom)
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_unit_str(deserializer, Duration::parse)
    }
}

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_unit_str(deserializer, SignedDuration::parse)
    }
}

/// A quantity in Kubernetes' syntax, parsed by the object model (`api::quantity`) so that a
/// scenario accepts exactly what a manifest does.
pub(crate) fn quantity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Quantity, D::Error> {
    from_unit_str(deserializer, parse_quantity)
}

/// An optional quantity (`size: "20Mi"`, written bare thanks to ron's implicit_some).
pub(crate) fn optional_quantity<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Quantity>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| parse_quantity(&text).map_err(de::Error::custom))
        .transpose()
}

fn parse_quantity(text: &str) -> Result<Quantity, String> {
    Quantity::parse(text).map_err(|err| {
        format!(
            "expected a quantity like \"500m\", \"2Gi\", \"1.5\", \"1e3\" (number and suffix n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei), found {text:?}: {err}"
        )
    })
}

impl<'de> Deserialize<'de> for ProxyMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "iptables" => Ok(ProxyMode::Iptables),
            "ipvs" => Ok(ProxyMode::Ipvs),
            other => Err(de::Error::custom(format!(
                "unknown proxy_mode {other:?}, expected one of: \"iptables\", \"ipvs\""
            ))),
        }
    }
}

/// A string is a node name; `Leader("…")` names a role. ron keeps the variant name only for
/// serde's buffered content, which is what an untagged enum deserializes through.
#[derive(Deserialize)]
#[serde(untagged)]
enum TargetRepr {
    Node(String),
    Role(RoleRepr),
}

#[derive(Deserialize)]
enum RoleRepr {
    Leader(String),
}

pub(crate) const TARGET_EXPECTED: &str = "expected a node name like \"kubesim-worker2\" or Leader(\"etcd\" | \"kube-controller-manager\" | \"kube-scheduler\")";

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match TargetRepr::deserialize(deserializer) {
            Ok(TargetRepr::Node(name)) => Ok(Target::Node(name)),
            Ok(TargetRepr::Role(RoleRepr::Leader(role))) => LeaderOf::parse(&role)
                .map(Target::Leader)
                .ok_or_else(|| {
                    de::Error::custom(format!(
                        "unknown leader {role:?}, expected one of: \"etcd\", \"kube-controller-manager\", \"kube-scheduler\""
                    ))
                }),
            Err(_) => Err(de::Error::custom(TARGET_EXPECTED)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFields {
    kubectl: Option<String>,
    equals: Option<String>,
    contains: Option<String>,
    traffic_errors: Option<String>,
    pod_startup: Option<String>,
    api_calls: Option<String>,
    at_most: Option<Bound>,
}

/// `at_most:` is a fraction for traffic errors and a duration for latencies.
#[derive(Deserialize)]
#[serde(untagged)]
enum Bound {
    Fraction(f64),
    Text(String),
}

pub(crate) const CHECK_EXPECTED: &str = "expected (kubectl: \"...\", equals: \"...\"), (kubectl: \"...\", contains: \"...\"), (traffic_errors: \"SERVICE\", at_most: FRACTION), (pod_startup: \"p99\", at_most: \"5s\") or (api_calls: \"p99\", at_most: \"1s\")";

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = CheckFields::deserialize(deserializer)?;
        match fields {
            CheckFields {
                kubectl: Some(command),
                equals,
                contains,
                traffic_errors: None,
                pod_startup: None,
                api_calls: None,
                at_most: None,
            } => match (equals, contains) {
                (Some(text), None) => Ok(Check::Kubectl {
                    command,
                    matcher: Matcher::Equals(text),
                }),
                (None, Some(text)) => Ok(Check::Kubectl {
                    command,
                    matcher: Matcher::Contains(text),
                }),
                _ => Err(de::Error::custom(format!(
                    "a kubectl check needs exactly one of equals: or contains:; {CHECK_EXPECTED}"
                ))),
            },
            CheckFields {
                kubectl: None,
                equals: None,
                contains: None,
                traffic_errors: Some(service),
                pod_startup: None,
                api_calls: None,
                at_most,
            } => match at_most {
                Some(Bound::Fraction(at_most)) => Ok(Check::TrafficErrors { service, at_most }),
                _ => Err(de::Error::custom(
                    "traffic_errors needs at_most: a fraction of requests, 0 to 1, like 0.05",
                )),
            },
            CheckFields {
                kubectl: None,
                equals: None,
                contains: None,
                traffic_errors: None,
                pod_startup,
                api_calls,
                at_most,
            } if pod_startup.is_some() != api_calls.is_some() => {
                let (of, percentile) = match (pod_startup, api_calls) {
                    (Some(p), _) => (Sli::PodStartup, p),
                    (_, Some(p)) => (Sli::ApiCalls, p),
                    _ => unreachable!("exactly one is set"),
                };
                let percentile = Percentile::parse(&percentile).ok_or_else(|| {
                    de::Error::custom(format!(
                        "{}: expected {}, found {percentile:?}",
                        of.field(),
                        Percentile::EXPECTED
                    ))
                })?;
                let at_most = match at_most {
                    Some(Bound::Text(text)) => Duration::parse(&text).map_err(de::Error::custom)?,
                    _ => {
                        return Err(de::Error::custom(format!(
                            "{} needs at_most: a duration like \"5s\" or \"500ms\"",
                            of.field()
                        )));
                    }
                };
                Ok(Check::Latency {
                    of,
                    percentile,
                    at_most,
                })
            }
            _ => Err(de::Error::custom(CHECK_EXPECTED)),
        }
    }
}
