//! Validation with Kubernetes' messages: field errors, names and labels, per-kind rules.

pub mod field;
pub mod names;

pub use field::{BadValue, ErrorList, ErrorType, FieldError, aggregate};
