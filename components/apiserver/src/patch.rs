//! PATCH: applying a JSON merge patch, a strategic merge patch or a JSON patch to an object's
//! JSON form, then decoding the result strictly.
//!
//! Follows RFC 7386 (merge patch: objects merge recursively, `null` deletes, anything else
//! replaces), `staging/src/k8s.io/apimachinery/pkg/util/strategicpatch` for the lists
//! Kubernetes merges by key (`patchMergeKey` tags in `staging/src/k8s.io/api/core/v1/types.go`)
//! and RFC 6902 (add, remove, replace, test, move, copy with JSON pointers). Simplifications of
//! strategic merge: the merge keys are known by field name only (containers, initContainers,
//! volumes, env by `name`; ports by `containerPort`; volumeMounts by `mountPath`; conditions
//! by `type`; imagePullSecrets by `name`), and no `$patch`/`$retainKeys` directives except
//! `$patch: delete` on a list element.

use api::Object;
use serde_json::{Map, Value};

use crate::protocol::{PatchType, StatusError};
use crate::status_patch;

/// Nesting bound, so that a hostile patch cannot recurse without end.
const DEPTH_MAX: usize = 64;

/// `cur` with `patch` applied, decoded strictly: a kubelet's merge patch of a pod's or a node's
/// status straight onto the typed object ([`status_patch`]), anything else through JSON (also a
/// patch with a timestamp finer than the API keeps, which the strict decode truncates).
pub fn patched(cur: &Object, patch: &Value, patch_type: PatchType) -> Result<Object, StatusError> {
    if patch_type == PatchType::Merge
        && !api::precision::has_fraction(patch)
        && let Some(obj) = status_patch::merged(cur, patch)
    {
        return Ok(obj);
    }
    patched_as_json(cur, patch, patch_type)
}

/// [`patched`] through the object's JSON form: every patch type and shape, and the errors.
pub fn patched_as_json(
    cur: &Object,
    patch: &Value,
    patch_type: PatchType,
) -> Result<Object, StatusError> {
    let doc = serde_json::to_value(cur).map_err(|e| StatusError::internal(&e.to_string()))?;
    let patched = apply(doc, patch, patch_type)?;
    api::strict::decode(&patched).map_err(|e| StatusError::bad_request(e.to_string()))
}

// The target is taken by value: a merge patch replaces a few fields of a large document
// (a Node's status every 5 minutes), which is then modified in place instead of copied.
pub fn apply(target: Value, patch: &Value, patch_type: PatchType) -> Result<Value, StatusError> {
    match patch_type {
        PatchType::Merge => merge(target, patch, false, 0),
        PatchType::StrategicMerge => merge(target, patch, true, 0),
        PatchType::Json => json_patch(target, patch),
    }
}

fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "conditions" => "type",
        _ => return None,
    })
}

fn merge(
    target: Value,
    patch: &Value,
    strategic: bool,
    depth: usize,
) -> Result<Value, StatusError> {
    if depth > DEPTH_MAX {
        return Err(StatusError::bad_request("patch nesting is too deep"));
    }
    let Value::Object(p) = patch else {
        return Ok(patch.clone());
    };
    let mut out = match target {
        Value::Object(t) => t,
        _ => Map::new(),
    };
    for (k, v) in p {
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let key = strategic.then(|| merge_key(k)).flatten();
        let merged = match (out.get_mut(k), v, key) {
            (Some(Value::Array(old)), Value::Array(new), Some(key)) => {
                merge_list(std::mem::take(old), new, key, depth)?
            }
            (Some(old), Value::Object(_), _) => {
                merge(std::mem::take(old), v, strategic, depth + 1)?
            }
            (None, Value::Object(_), _) => merge(Value::Null, v, strategic, depth + 1)?,
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Ok(Value::Object(out))
}

fn merge_list(
    old: Vec<Value>,
    new: &[Value],
    key: &str,
    depth: usize,
) -> Result<Value, StatusError> {
    let mut out = old;
    for item in new {
        let id = item.get(key);
        let pos = id.and_then(|id| out.iter().position(|o| o.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (Some(i), false) => out[i] = merge(std::mem::take(&mut out[i]), item, true, depth + 1)?,
            (None, true) => {}
            (None, false) => out.push(item.clone()),
        }
    }
    Ok(Value::Array(out))
}

fn bad(msg: impl Into<String>) -> StatusError {
    StatusError::bad_request(msg)
}

fn pointer_parts(path: &str) -> Result<Vec<String>, StatusError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(bad(format!("invalid JSON pointer {path:?}")));
    };
    Ok(rest
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parent_mut<'a>(doc: &'a mut Value, parts: &[String]) -> Result<&'a mut Value, StatusError> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(p),
            Value::Array(a) => p.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| bad(format!("doc is missing path: /{}", parts.join("/"))))?;
    }
    Ok(cur)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), StatusError> {
    let parts = pointer_parts(path)?;
    let Some((last, parents)) = parts.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse()
                    .map_err(|_| bad(format!("invalid index {last}")))?
            };
            if i > a.len() {
                return Err(bad(format!("unable to access invalid index: {i}")));
            }
            a.insert(i, value);
        }
        _ => return Err(bad(format!("doc is missing path: {path}"))),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, StatusError> {
    let parts = pointer_parts(path)?;
    let Some((last, parents)) = parts.split_last() else {
        return Err(bad("cannot remove the whole document"));
    };
    let missing = || bad(format!("doc is missing key: {path}"));
    match parent_mut(doc, parents)? {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= a.len() {
                return Err(missing());
            }
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

fn json_patch(target: Value, patch: &Value) -> Result<Value, StatusError> {
    let Value::Array(ops) = patch else {
        return Err(bad("json patch must be a list of operations"));
    };
    let mut doc = target;
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("operation is missing path"))?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| bad(format!("operation {name} is missing value")))
        };
        match name {
            "add" => add(&mut doc, path, value()?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                remove(&mut doc, path)?;
                add(&mut doc, path, value()?)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(bad(format!("testing value {path} failed")));
                }
            }
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("operation is missing from"))?;
                let v = if name == "move" {
                    remove(&mut doc, from)?
                } else {
                    doc.pointer(from)
                        .cloned()
                        .ok_or_else(|| bad(format!("doc is missing path: {from}")))?
                };
                add(&mut doc, path, v)?;
            }
            other => return Err(bad(format!("Unexpected kind: {other}"))),
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches() {
        let doc = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]}});
        let merged = apply(
            doc.clone(),
            &json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
            PatchType::Merge,
        )
        .unwrap();
        assert_eq!(merged["metadata"]["labels"], json!({"b": "2", "c": "3"}));
        let p = json!({"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}});
        let merged = apply(doc.clone(), &p, PatchType::Merge).unwrap();
        assert_eq!(
            merged["spec"]["containers"].as_array().map(Vec::len),
            Some(1),
            "merge patch replaces lists"
        );
        let strategic = apply(doc.clone(), &p, PatchType::StrategicMerge).unwrap();
        assert_eq!(strategic["spec"]["containers"][0]["image"], "nginx:2");
        assert_eq!(strategic["spec"]["containers"][1]["name"], "side");
        let jp = json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "x"},
            {"op": "add", "path": "/metadata/labels/d", "value": "4"}, {"op": "remove", "path": "/metadata/labels/a"}]);
        let patched = apply(doc.clone(), &jp, PatchType::Json).unwrap();
        assert_eq!(patched["spec"]["containers"][0]["image"], "x");
        assert_eq!(patched["metadata"]["labels"], json!({"b": "2", "d": "4"}));
        assert!(
            apply(
                doc,
                &json!([{"op": "remove", "path": "/nope"}]),
                PatchType::Json
            )
            .is_err()
        );
    }
}
