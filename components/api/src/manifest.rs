//! Manifests: YAML (multi-document, `---` separated, empty documents skipped) or JSON text
//! into [`Object`]s, strictly decoded (see [`crate::strict`]).
//!
//! Follows kubectl's resource builder (`staging/src/k8s.io/cli-runtime/pkg/resource`): a
//! document of `kind: List` contributes its `items`; a document that is empty or only comments
//! contributes nothing. Errors say which document and where: YAML syntax errors carry the line
//! and column in the file, decoding errors the document's first line.

use serde::Deserialize;
use serde_json::Value;

use crate::object::Object;
use crate::strict::{self, DecodeError};

/// One object read from a manifest, with where it started.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestObject {
    /// 0-based index of the YAML document in the file.
    pub document: usize,
    /// 1-based line of the document's first line in the file.
    pub line: usize,
    pub object: Object,
}

/// Where in a manifest an error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0-based document index.
    pub document: usize,
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Malformed YAML; `message` is the parser's (libyaml's) description.
    #[error("error converting YAML to JSON: yaml: line {}, column {}: {message}", .position.line, .position.column.unwrap_or(0))]
    Yaml { position: Position, message: String },
    #[error("error parsing JSON: line {}, column {}: {message}", .position.line, .position.column.unwrap_or(0))]
    Json { position: Position, message: String },
    /// Well-formed, but not an object kubesim serves. `name`/`namespace` are the document's
    /// `metadata` ones (empty when absent), for kubectl's message.
    #[error("{error}")]
    Decode {
        position: Position,
        error: Box<DecodeError>,
        name: String,
        namespace: String,
    },
}

impl ManifestError {
    pub fn position(&self) -> Position {
        match self {
            ManifestError::Yaml { position, .. }
            | ManifestError::Json { position, .. }
            | ManifestError::Decode { position, .. } => *position,
        }
    }

    /// What `kubectl apply -f <source>` prints for this error (without the trailing newline):
    /// client-side errors as `error: ...`, strict-decoding ones as the apiserver's 400.
    pub fn kubectl_message(&self, source: &str) -> String {
        match self {
            ManifestError::Yaml { message, position } => format!(
                "error: error parsing {source}: error converting YAML to JSON: yaml: line {}: {message}",
                position.line
            ),
            ManifestError::Json { message, .. } => {
                format!("error: error parsing {source}: {message}")
            }
            ManifestError::Decode {
                error,
                name,
                namespace,
                ..
            } => match error.as_ref() {
                DecodeError::NoMatch { .. } => format!(
                    "error: resource mapping not found for name: \"{name}\" namespace: \"{namespace}\" from \"{source}\": {error}\nensure CRDs are installed first"
                ),
                DecodeError::MissingKind { .. }
                | DecodeError::MissingApiVersion { .. }
                | DecodeError::NotAnObject(_) => {
                    format!("error: unable to decode \"{source}\": {error}")
                }
                DecodeError::UnknownFields { .. } | DecodeError::Invalid { .. } => {
                    crate::status::StatusError::bad_request(error.to_string())
                        .with_source("creating", source)
                        .kubectl_message()
                }
            },
        }
    }
}

/// A bound on `kind: List` nesting so that hostile input cannot recurse without end.
const LIST_DEPTH_MAX: usize = 8;

/// Parses YAML or JSON text (JSON when the first non-blank character is `{`).
pub fn parse(text: &str) -> Result<Vec<ManifestObject>, ManifestError> {
    if text.trim_start().starts_with('{') {
        parse_json(text)
    } else {
        parse_yaml(text)
    }
}

/// Parses a JSON object (or a `kind: List` of them).
pub fn parse_json(text: &str) -> Result<Vec<ManifestObject>, ManifestError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ManifestError::Json {
        position: Position {
            document: 0,
            line: e.line(),
            column: Some(e.column()),
        },
        message: strip_location(&e.to_string()),
    })?;
    let mut out = Vec::new();
    let position = Position {
        document: 0,
        line: 1,
        column: None,
    };
    push_value(value, position, 0, &mut out)?;
    Ok(out)
}

/// Parses a multi-document YAML stream.
pub fn parse_yaml(text: &str) -> Result<Vec<ManifestObject>, ManifestError> {
    let starts = document_start_lines(text);
    let mut out = Vec::new();
    for (document, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let line = starts.get(document).copied().unwrap_or(1);
        let value = Value::deserialize(de).map_err(|e| {
            let location = e.location();
            ManifestError::Yaml {
                position: Position {
                    document,
                    line: location.as_ref().map_or(line, |l| l.line()),
                    column: location.map(|l| l.column()),
                },
                message: strip_location(&e.to_string()),
            }
        })?;
        let position = Position {
            document,
            line,
            column: None,
        };
        push_value(value, position, 0, &mut out)?;
    }
    Ok(out)
}

/// Parses text that must hold exactly the objects in it, no position information needed.
pub fn parse_objects(text: &str) -> Result<Vec<Object>, ManifestError> {
    Ok(parse(text)?.into_iter().map(|m| m.object).collect())
}

fn push_value(
    value: Value,
    position: Position,
    depth: usize,
    out: &mut Vec<ManifestObject>,
) -> Result<(), ManifestError> {
    let meta = |key: &str| {
        value
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, namespace) = (meta("name"), meta("namespace"));
    let decode_error = |error| ManifestError::Decode {
        position,
        error: Box::new(error),
        name: name.clone(),
        namespace: namespace.clone(),
    };
    if value.is_null() {
        return Ok(());
    }
    if is_list(&value) && depth < LIST_DEPTH_MAX {
        let Value::Object(mut map) = value else {
            return Ok(());
        };
        match map.remove("items") {
            Some(Value::Array(items)) => {
                for item in items {
                    push_value(item, position, depth + 1, out)?;
                }
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                return Err(decode_error(DecodeError::Invalid {
                    kind: "List",
                    version: "v1",
                    message: format!("items: expected a list, got {other}"),
                }));
            }
        }
        return Ok(());
    }
    let object = strict::decode(&value).map_err(decode_error)?;
    out.push(ManifestObject {
        document: position.document,
        line: position.line,
        object,
    });
    Ok(())
}

fn is_list(value: &Value) -> bool {
    value.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k == "List" || k.ends_with("List"))
}

/// 1-based line where each YAML document starts: line 1, then the line after each `---`
/// separator (which is where the document's content begins).
fn document_start_lines(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut opened = false;
    for (i, line) in text.lines().enumerate() {
        let is_separator = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if is_separator {
            // Content begins on the line after the separator; a leading `---` opens the first
            // document instead of ending one.
            starts.push(i + 2);
            opened = true;
        } else if !opened && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            starts.push(i + 1);
            opened = true;
        }
    }
    starts
}

/// serde's messages end in " at line L column C"; the position is reported separately.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
