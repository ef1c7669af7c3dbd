//! The scenario language: reading a `.ron` file into typed steps, with every error located.
//!
//! [`load`] reads a file, parses it with ron into [`Scenario`], then [`validate`] checks what
//! ron cannot: node names against the topology, kubectl and etcdctl verbs, manifests named by
//! `-f` and inline `Apply` YAML, and value ranges. Every error is a [`Diagnostic`] naming
//! `file:line:col`; positions come from [`source`], a light reader of the same text.

pub mod commands;
pub mod de;
pub mod error;
pub mod model;
pub mod source;
pub mod topology;
pub mod validate;

pub use error::{Diagnostic, ScenarioError};
pub use model::*;
pub use source::Pos;
pub use topology::{NodeRole, Topology, TopologyNode};

use std::path::{Path, PathBuf};

use ron::extensions::Extensions;

use crate::manifest::Manifest;
use source::{Node, NodeKind};

/// A scenario that parsed and validated, with what the runner needs to report positions.
#[derive(Debug)]
pub struct Loaded {
    /// The scenario file as the user named it.
    pub path: PathBuf,
    pub scenario: Scenario,
    pub topology: Topology,
    /// Where each step starts in the file.
    pub step_positions: Vec<Pos>,
    /// The manifests each step applies (by `-f` or inline), already read and decoded.
    pub step_manifests: Vec<Vec<Manifest>>,
}

/// ron's options for scenario files: `implicit_some` lets optional fields be written bare
/// (`etcd_members: 3`), `unwrap_variant_newtypes` lets `Expect(kubectl: …, equals: …)` be
/// written without a second pair of parentheses.
fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME)
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// Reads, parses and validates a scenario file. Manifest paths are relative to its folder.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path)
}

/// Parses and validates scenario text as if read from `path`.
pub fn load_str(text: &str, path: &Path) -> Result<Loaded, ScenarioError> {
    let tree = source::parse(text);
    let scenario = ron_options()
        .from_str::<Scenario>(text)
        .map_err(|err| ScenarioError::Invalid(vec![ron_diagnostic(&err, tree.as_ref(), path)]))?;
    // ron accepted it, so the light reader should have too; a fallback keeps positions defined.
    let tree = tree.unwrap_or(Node {
        start: Pos::START,
        end: Pos::START,
        kind: NodeKind::Scalar(String::new()),
    });
    validate::validate(scenario, &tree, path)
}

/// Turns ron's error into a located, readable one. Syntax errors keep ron's position; errors
/// about a value are moved to the start of the value they are about.
fn ron_diagnostic(err: &ron::error::SpannedError, tree: Option<&Node>, path: &Path) -> Diagnostic {
    use ron::error::Error as E;
    let ron_pos = Pos {
        line: err.span.start.line,
        col: err.span.start.col,
    };
    let list = |names: &[&str]| names.join(", ");
    let (message, relocate) = match &err.code {
        E::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => {
            let what = match outer.as_deref() {
                Some("Step") => "step".to_string(),
                Some("Fault") => "fault".to_string(),
                Some(other) => format!("variant of {other}"),
                None => "variant".to_string(),
            };
            (
                format!(
                    "unknown {what} `{found}`, expected one of: {}",
                    list(expected)
                ),
                false,
            )
        }
        E::NoSuchStructField {
            expected,
            found,
            outer,
        } => (
            format!(
                "unknown field `{found}`{}, expected one of: {}",
                outer
                    .as_ref()
                    .map(|o| format!(" in {o}"))
                    .unwrap_or_default(),
                list(expected)
            ),
            false,
        ),
        E::MissingStructField { field, outer } => (
            format!(
                "missing field `{field}`{}",
                outer
                    .as_ref()
                    .map(|o| format!(" in {o}"))
                    .unwrap_or_default()
            ),
            true,
        ),
        E::DuplicateStructField { field, outer } => (
            format!(
                "field `{field}` is given twice{}",
                outer
                    .as_ref()
                    .map(|o| format!(" in {o}"))
                    .unwrap_or_default()
            ),
            false,
        ),
        E::Message(message) => (message.clone(), true),
        E::ExpectedString | E::ExpectedStringEnd => {
            ("expected a string in quotes".to_string(), true)
        }
        E::ExpectedInteger
        | E::ExpectedFloat
        | E::ExpectedBoolean
        | E::ExpectedArray
        | E::ExpectedMap
        | E::ExpectedStructLike
        | E::ExpectedNamedStructLike(_)
        | E::ExpectedUnit
        | E::InvalidValueForType { .. } => (uncapitalize(&err.code.to_string()), true),
        other => (uncapitalize(&other.to_string()), false),
    };
    let pos = match tree {
        Some(tree) if relocate => value_at(tree, ron_pos),
        _ => ron_pos,
    };
    Diagnostic {
        file: path.to_path_buf(),
        pos,
        message,
    }
}

fn uncapitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The start of the value ron's cursor was at: the innermost value containing it, or, when the
/// cursor sits between a field name and its value, that value.
fn value_at(tree: &Node, pos: Pos) -> Pos {
    let node = tree.innermost(pos);
    if let Some(items) = node.items() {
        for item in items {
            if let Some((_, field_pos)) = &item.field
                && *field_pos <= pos
                && pos < item.value.start
            {
                return item.value.start;
            }
        }
    }
    node.start
}
