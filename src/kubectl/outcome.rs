//! The one-line reports kubectl prints after a mutation: `deployment.apps/web created`,
//! `pod "web" deleted`, `node/kubesim-worker cordoned`, `deployment.apps/web condition met`.
//!
//! Follows the `PrintFlags.WithTypeSetter(...).Complete("%s <operation>")` calls of each
//! command in `staging/src/k8s.io/kubectl/pkg/cmd/*` (name printer: `kind.group/name
//! operation`) and `delete.go` (`<kind>.<group> "<name>" deleted`). Simplification: delete prints
//! the long-standing form without the namespace suffix some recent kubectl releases add.

use api::Object;

use super::print::resource_name;

/// What a mutating command did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Exposed,
    Configured,
    Unchanged,
    Deleted,
    Scaled,
    Labeled,
    Annotated,
    Tainted,
    Untainted,
    Cordoned,
    AlreadyCordoned,
    Uncordoned,
    AlreadyUncordoned,
    Drained,
    Evicted,
    ImageUpdated,
    Restarted,
    RolledBack,
    Paused,
    Resumed,
    ConditionMet,
}

impl Outcome {
    pub fn verb(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Exposed => "exposed",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Deleted => "deleted",
            Outcome::Scaled => "scaled",
            Outcome::Labeled => "labeled",
            Outcome::Annotated => "annotated",
            Outcome::Tainted => "tainted",
            Outcome::Untainted => "untainted",
            Outcome::Cordoned => "cordoned",
            Outcome::AlreadyCordoned => "already cordoned",
            Outcome::Uncordoned => "uncordoned",
            Outcome::AlreadyUncordoned => "already uncordoned",
            Outcome::Drained => "drained",
            Outcome::Evicted => "evicted",
            Outcome::ImageUpdated => "image updated",
            Outcome::Restarted => "restarted",
            Outcome::RolledBack => "rolled back",
            Outcome::Paused => "paused",
            Outcome::Resumed => "resumed",
            Outcome::ConditionMet => "condition met",
        }
    }
}

/// The line kubectl prints (with its newline). `-o name` prints just the resource name.
pub fn outcome_line(obj: &Object, outcome: Outcome) -> String {
    if outcome == Outcome::Deleted {
        // `kind.group "name" deleted`: the name printer's short form, singular kind.
        let info = obj.info();
        let kind = info.name.to_ascii_lowercase();
        return if info.group.is_empty() {
            format!("{kind} \"{}\" deleted\n", obj.name())
        } else {
            format!("{kind}.{} \"{}\" deleted\n", info.group, obj.name())
        };
    }
    format!("{} {}\n", resource_name(obj), outcome.verb())
}

/// drain's line before each eviction: `evicting pod default/web-1`.
pub fn evicting_line(pod: &Object) -> String {
    format!("evicting pod {}/{}\n", pod.namespace(), pod.name())
}
