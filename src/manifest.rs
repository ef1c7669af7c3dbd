//! Manifests a scenario applies — files named by `kubectl apply|create -f` and inline `Apply`
//! YAML — read and decoded before anything runs, so that a bad manifest is bad input (exit 2)
//! rather than a failure in the middle of a run.
//!
//! Decoding is the object model's (`api::manifest`: multi-document YAML or JSON, `kind: List`,
//! strict unknown-field checks with kubectl's messages); this module finds the files the way
//! kubectl's resource builder does (`staging/src/k8s.io/cli-runtime/pkg/resource/visitor.go`:
//! a directory contributes its `.yaml`, `.yml` and `.json` files, recursively with `-R`) and
//! turns the object model's positions into `line:col` for the caller.

use std::path::{Path, PathBuf};

pub use api::manifest::ManifestObject;

/// Files in one directory tree that one `-f` may read; more is not a scenario's manifest set.
const FILES_PER_FLAG_MAX: usize = 1000;
/// Directory depth followed with `-R`.
const DIRECTORY_DEPTH_MAX: usize = 16;

/// Where a manifest's text came from.
#[derive(Clone, Debug, PartialEq)]
pub enum ManifestOrigin {
    /// A file, by its path joined to the scenario's folder.
    File(PathBuf),
    /// An `Apply("…")` string in the scenario.
    Inline,
}

/// The objects of one manifest text.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub origin: ManifestOrigin,
    pub objects: Vec<ManifestObject>,
}

/// A manifest that could not be decoded: where in its text, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestProblem {
    /// 1-based line and column within the manifest text.
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Decodes manifest text into objects, strictly, as the apiserver would accept them.
///
/// This is the seam between the scenario language and the object model: everything that
/// makes a manifest valid or not lives in `api::manifest`.
pub fn validate_manifest(text: &str) -> Result<Vec<ManifestObject>, ManifestProblem> {
    api::manifest::parse(text).map_err(|err| {
        let position = err.position();
        ManifestProblem {
            line: position.line.max(1),
            col: position.column.unwrap_or(1).max(1),
            message: err.to_string(),
        }
    })
}

/// The files one `-f` value names, relative to `base` (the scenario's folder).
pub fn files_named(base: &Path, value: &str, recursive: bool) -> Result<Vec<PathBuf>, String> {
    let path = base.join(value);
    let metadata = std::fs::metadata(&path).map_err(|err| {
        format!(
            "manifest {value:?} not found: {} ({err}); paths are relative to the scenario file's folder",
            path.display()
        )
    })?;
    if !metadata.is_dir() {
        return Ok(vec![path]);
    }
    let mut files = Vec::new();
    collect_dir(&path, recursive, 0, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "directory {} has no .yaml, .yml or .json manifest",
            path.display()
        ));
    }
    Ok(files)
}

fn collect_dir(
    dir: &Path,
    recursive: bool,
    depth: usize,
    out: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|err| format!("cannot read {}: {err}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|err| format!("cannot read {}: {err}", dir.display()))?
            .path();
        if path.is_dir() {
            if recursive && depth < DIRECTORY_DEPTH_MAX {
                collect_dir(&path, recursive, depth + 1, out)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
        if out.len() > FILES_PER_FLAG_MAX {
            return Err(format!(
                "{} holds more than {FILES_PER_FLAG_MAX} manifests",
                dir.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_nginx_deployment_and_locates_errors() {
        let objects = validate_manifest(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
        )
        .unwrap();
        assert_eq!(objects.len(), 1);
        let problem =
            validate_manifest("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n").unwrap_err();
        assert!(problem.line >= 3, "{problem:?}");
        let problem = validate_manifest(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containerz: []}\n",
        )
        .unwrap_err();
        assert!(
            problem
                .message
                .contains("unknown field \"spec.containerz\""),
            "{problem:?}"
        );
    }
}
