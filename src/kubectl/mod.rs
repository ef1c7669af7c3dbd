//! kubectl as scenario steps use it: parsing a command line into a typed command, and the
//! printers that turn API objects and errors into exactly what kubectl prints.
//!
//! Pure functions only: the runner sends the requests a command implies to the apiserver and
//! hands the replies to the printers:
//!
//! 1. [`command::parse`] turns `get pods -o wide -n kube-system` into a [`KubectlCommand`]
//!    (or kubectl's own error, a [`KubectlError`] whose `Display` is what kubectl prints);
//! 2. the runner lists/gets the resources the command names ([`command::Target`]: a resolved
//!    [`api::KindInfo`], an optional name, the namespace and selectors);
//! 3. [`print::print_get`] prints the objects; a [`api::status::StatusError`] prints through
//!    `KubectlError::Server`.
//!
//! Follows `staging/src/k8s.io/kubectl` and the table convertors in
//! `pkg/printers/internalversion/printers.go`.

pub mod age;
pub mod columns;
pub mod command;
pub mod describe;
pub mod error;
pub mod jsonpath;
pub mod outcome;
pub mod print;
pub mod rollout;
pub mod service;
pub mod table;
pub mod watch;
pub mod yaml;

pub use command::{KubectlCommand, parse};
pub use error::KubectlError;
