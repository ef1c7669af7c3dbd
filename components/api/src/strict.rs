//! Strict decoding: a JSON value becomes a typed [`Object`] only if every field in it is known.
//!
//! k8s-openapi's types silently skip unknown fields; the apiserver with `fieldValidation=Strict`
//! (kubectl's default since v1.27) rejects them. The typed decode runs under `serde_ignored`,
//! which reports each skipped field; paths are printed as Kubernetes prints them
//! (`spec.template.spec.containers[0].imagePullPolcy`), and the error says
//! `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown
//! field "spec.replica"` as `staging/src/k8s.io/apimachinery/pkg/runtime/serializer/json` and
//! `staging/src/k8s.io/apiserver/pkg/endpoints/handlers` do. Type errors keep serde's wording
//! (Go's says `json: cannot unmarshal string into Go struct field ...`) but name the same path.

use serde_json::Value;

use crate::kinds::{self, KindInfo};
use crate::object::{Object, decode_kind, decode_kind_untracked};
use crate::precision;

/// Why a JSON value is not an object kubesim can serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("Object 'Kind' is missing in '{json}'")]
    MissingKind { json: String },
    #[error("Object 'apiVersion' is missing in '{json}'")]
    MissingApiVersion { json: String },
    #[error("no matches for kind \"{kind}\" in version \"{api_version}\"")]
    NoMatch { kind: String, api_version: String },
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
        .fields.iter().map(|f| format!("unknown field \"{f}\"")).collect::<Vec<_>>().join(", "))]
    UnknownFields {
        kind: &'static str,
        version: &'static str,
        fields: Vec<String>,
    },
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: {message}")]
    Invalid {
        kind: &'static str,
        version: &'static str,
        message: String,
    },
    #[error("expected a JSON object (a map with apiVersion and kind), got {0}")]
    NotAnObject(&'static str),
}

/// Strictly decodes one object: `apiVersion` and `kind` pick the type, every field must be
/// known to it.
/// Timestamps come out at the precision the API keeps them ([`crate::precision`]).
pub fn decode(value: &Value) -> Result<Object, DecodeError> {
    let info = kind_of(value)?;
    let object = decode_as(info, value)?;
    if !precision::has_fraction(value) {
        return Ok(object);
    }
    precision::at_api_precision(object).map_err(|e| DecodeError::Invalid {
        kind: info.name,
        version: info.version,
        message: e.to_string(),
    })
}

/// What `apiVersion`/`kind` in `value` name, with Kubernetes' errors when they are missing or
/// unknown.
pub fn kind_of(value: &Value) -> Result<&'static KindInfo, DecodeError> {
    let Value::Object(map) = value else {
        return Err(DecodeError::NotAnObject(json_type(value)));
    };
    let text = |k: &str| map.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let Some(kind) = text("kind") else {
        return Err(DecodeError::MissingKind {
            json: value.to_string(),
        });
    };
    let Some(api_version) = text("apiVersion") else {
        return Err(DecodeError::MissingApiVersion {
            json: value.to_string(),
        });
    };
    kinds::kind_for(api_version, kind).ok_or_else(|| DecodeError::NoMatch {
        kind: kind.to_string(),
        api_version: api_version.to_string(),
    })
}

fn decode_as(info: &'static KindInfo, value: &Value) -> Result<Object, DecodeError> {
    let mut unknown = Vec::new();
    let object = match decode_kind_untracked(info.kind, value, &mut unknown) {
        Ok(object) => object,
        // Only a type error needs the path, and tracking it costs an allocation per field
        // (a third of the decode): decode again to say where.
        Err(_) => {
            unknown.clear();
            decode_kind(info.kind, value, &mut unknown).map_err(|e| DecodeError::Invalid {
                kind: info.name,
                version: info.version,
                message: type_error_message(&e),
            })?
        }
    };
    if unknown.is_empty() {
        Ok(object)
    } else {
        Err(DecodeError::UnknownFields {
            kind: info.name,
            version: info.version,
            fields: unknown,
        })
    }
}

/// `value` decoded as `T` when every field in it is known to `T` and has the right type,
/// else `None` (without saying why: for a caller with a slower path that does).
pub fn decode_known<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    let mut unknown = false;
    let decoded = decode_reporting(value, |_| unknown = true).ok()?;
    (!unknown).then_some(decoded)
}

/// `value` decoded as `T`, calling `on_ignored` with the path of each field `T` does not know.
pub(crate) fn decode_reporting<T: serde::de::DeserializeOwned>(
    value: &Value,
    mut on_ignored: impl FnMut(serde_ignored::Path<'_>),
) -> Result<T, serde_json::Error> {
    T::deserialize(serde_ignored::Deserializer::new(value, &mut on_ignored))
}

fn type_error_message(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let mut path = String::new();
    for segment in e.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => push_key(&mut path, key),
            serde_path_to_error::Segment::Enum { variant } => push_key(&mut path, variant),
            serde_path_to_error::Segment::Unknown => push_key(&mut path, "?"),
        }
    }
    if path.is_empty() {
        e.inner().to_string()
    } else {
        format!("error decoding {path}: {}", e.inner())
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// Kubernetes' form of a field path: keys joined by dots, list indices in brackets.
pub(crate) fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    let mut out = String::new();
    write_path(path, &mut out);
    out
}

fn write_path(path: &serde_ignored::Path<'_>, out: &mut String) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, index } => {
            write_path(parent, out);
            out.push_str(&format!("[{index}]"));
        }
        Path::Map { parent, key } => {
            write_path(parent, out);
            push_key(out, key);
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => write_path(parent, out),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_fields_decode() {
        let obj = decode(&json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
        }))
        .unwrap();
        assert_eq!(obj.name(), "web");
        assert_eq!(obj.kind(), crate::Kind::Deployment);
    }

    #[test]
    fn unknown_fields_are_named_with_their_full_path() {
        let cases = [
            (
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replica": 3}}),
                "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replica\"",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [], "affinity": {"nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preferance": {}}]}}}}),
                "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preferance\"",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"nme": "x", "labls": {}},
                       "spec": {"containers": [{"name": "a", "image": "b", "imagePullPolcy": "Always"}]}}),
                "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"metadata.labls\", unknown field \"metadata.nme\", unknown field \"spec.containers[0].imagePullPolcy\"",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(decode(&value).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn kind_and_version_errors() {
        let cases = [
            (
                json!({"apiVersion": "apps/v1", "kind": "Deploymen"}),
                "no matches for kind \"Deploymen\" in version \"apps/v1\"",
            ),
            (
                json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment"}),
                "no matches for kind \"Deployment\" in version \"extensions/v1beta1\"",
            ),
            (
                json!({"apiVersion": "apps/v1", "metadata": {"name": "x"}}),
                "Object 'Kind' is missing in '{\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"x\"}}'",
            ),
            (
                json!({"kind": "Pod"}),
                "Object 'apiVersion' is missing in '{\"kind\":\"Pod\"}'",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(decode(&value).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = decode(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": "3"}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("Deployment in version \"v1\" cannot be handled as a Deployment: error decoding spec.replicas: invalid type: string \"3\""),
            "{err}"
        );
    }
}
