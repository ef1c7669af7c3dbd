//! The Kubernetes object model: API types, manifests, selectors, quantities, defaults, validation.
//!
//! Types are k8s-openapi's (feature `latest`); [`Object`] wraps the built-in kinds kubesim
//! serves, [`kinds`] says what discovery says about them, [`manifest`] decodes YAML/JSON with
//! strict field checking, and the remaining modules hold the semantics the apiserver,
//! controllers, scheduler and kubelet share.

pub mod affinity;
pub mod defaults;
pub mod fields;
pub mod intstr;
pub mod kinds;
pub mod manifest;
pub mod object;
pub mod precision;
pub mod qos;
pub mod quantity;
pub mod resources;
pub mod selector;
pub mod status;
pub mod strict;
pub mod taints;
pub mod validation;
mod wire;

pub use k8s_openapi;

/// The wall-clock instant virtual time zero stands for: 2026-01-01T00:00:00Z. Every timestamp
/// a component writes (creationTimestamp, conditions, Lease renewTime, events) is this plus
/// its host's clock; one constant so they all agree. Nothing compares it with a real clock.
pub const WALL_EPOCH_SECS: i64 = 1_767_225_600;
pub use kinds::{Kind, KindInfo};
pub use object::{Object, SharedObject};
