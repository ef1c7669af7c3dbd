//! The ConfigMaps and Secrets a pod needs before its containers can start: volume sources
//! (a missing one keeps the pod in ContainerCreating with `FailedMount` events) and env
//! sources (a missing one is the container's `CreateContainerConfigError`).
//!
//! Follows `pkg/volume/configmap` and `secret` (`configmap "x" not found` unless the source
//! is `optional`) and `pkg/kubelet/kubelet_pods.go` `makeEnvironmentVariables` (`couldn't find
//! key K in ConfigMap NS/NAME`). Simplifications: the kubelet GETs each object once per check
//! (no watch-based cache), projected volumes are not checked, key lists of volumes (`items`)
//! are not checked.

use std::collections::BTreeMap;

use api::k8s_openapi::api::core::v1::Pod;
use api::{Kind, Object, SharedObject};

/// One reference to a ConfigMap or Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    pub kind: Kind,
    pub name: String,
    pub optional: bool,
    /// The volume that mounts it, or else the container whose env uses it.
    pub volume: Option<String>,
    pub container: Option<String>,
    /// The key an env var reads.
    pub key: Option<String>,
}

/// What a GET found.
#[derive(Clone, Debug)]
pub enum Found {
    Object(SharedObject),
    Missing,
    /// The GET failed otherwise (timeout, apiserver down).
    Unknown,
}

/// Every reference in the pod's volumes and its containers' env.
pub fn refs(pod: &Pod) -> Vec<Ref> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map {
            out.push(Ref {
                kind: Kind::ConfigMap,
                name: cm.name.clone(),
                optional: cm.optional.unwrap_or(false),
                volume: Some(v.name.clone()),
                container: None,
                key: None,
            });
        }
        if let Some(s) = &v.secret {
            out.push(Ref {
                kind: Kind::Secret,
                name: s.secret_name.clone().unwrap_or_default(),
                optional: s.optional.unwrap_or(false),
                volume: Some(v.name.clone()),
                container: None,
                key: None,
            });
        }
    }
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        for e in c.env.iter().flatten() {
            let Some(from) = &e.value_from else { continue };
            if let Some(r) = &from.config_map_key_ref {
                out.push(Ref {
                    kind: Kind::ConfigMap,
                    name: r.name.clone(),
                    optional: r.optional.unwrap_or(false),
                    volume: None,
                    container: Some(c.name.clone()),
                    key: Some(r.key.clone()),
                });
            }
            if let Some(r) = &from.secret_key_ref {
                out.push(Ref {
                    kind: Kind::Secret,
                    name: r.name.clone(),
                    optional: r.optional.unwrap_or(false),
                    volume: None,
                    container: Some(c.name.clone()),
                    key: Some(r.key.clone()),
                });
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(r) = &e.config_map_ref {
                out.push(Ref {
                    kind: Kind::ConfigMap,
                    name: r.name.clone(),
                    optional: r.optional.unwrap_or(false),
                    volume: None,
                    container: Some(c.name.clone()),
                    key: None,
                });
            }
            if let Some(r) = &e.secret_ref {
                out.push(Ref {
                    kind: Kind::Secret,
                    name: r.name.clone(),
                    optional: r.optional.unwrap_or(false),
                    volume: None,
                    container: Some(c.name.clone()),
                    key: None,
                });
            }
        }
    }
    out
}

fn has_key(obj: &Object, key: &str) -> bool {
    match obj {
        Object::ConfigMap(cm) => {
            cm.data.as_ref().is_some_and(|d| d.contains_key(key))
                || cm.binary_data.as_ref().is_some_and(|d| d.contains_key(key))
        }
        Object::Secret(s) => {
            s.data.as_ref().is_some_and(|d| d.contains_key(key))
                || s.string_data.as_ref().is_some_and(|d| d.contains_key(key))
        }
        _ => false,
    }
}

/// What is missing: `(volume name → message, container name → message)`.
pub fn evaluate(
    pod: &Pod,
    found: &BTreeMap<(Kind, String), Found>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
    let mut volumes = BTreeMap::new();
    let mut env = BTreeMap::new();
    for r in refs(pod) {
        let lower = if r.kind == Kind::ConfigMap {
            "configmap"
        } else {
            "secret"
        };
        let problem = match found.get(&(r.kind, r.name.clone())) {
            Some(Found::Object(o)) => match &r.key {
                Some(k) if !has_key(o, k) && !r.optional => Some(format!(
                    "couldn't find key {k} in {} {namespace}/{}",
                    if r.kind == Kind::ConfigMap {
                        "ConfigMap"
                    } else {
                        "Secret"
                    },
                    r.name
                )),
                _ => None,
            },
            Some(Found::Missing) | None if !r.optional => {
                Some(format!("{lower} \"{}\" not found", r.name))
            }
            Some(Found::Unknown) if !r.optional => Some(format!(
                "failed to sync {lower} cache: timed out waiting for the condition"
            )),
            _ => None,
        };
        let Some(problem) = problem else { continue };
        if let Some(v) = r.volume {
            volumes.entry(v).or_insert(problem);
        } else if let Some(c) = r.container {
            env.entry(c).or_insert(problem);
        }
    }
    (volumes, env)
}
