//! What kubectl prints when it fails: its own usage errors (`error: …`) and the apiserver's
//! errors, which [`api::status::StatusError::kubectl_message`] already formats as kubectl does.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/util/helpers.go` (`CheckErr`, `StandardErrorMessage`).

use api::status::StatusError;

use super::jsonpath::JsonPathError;

/// A failed kubectl command. `Display` is the text kubectl prints (without the final newline).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KubectlError {
    /// kubectl's own complaint about the command line: `error: <message>`.
    #[error("error: {0}")]
    Usage(String),
    /// A usage error that kubectl follows with `See 'kubectl <verb> -h' for help and examples`.
    #[error("error: {message}\nSee 'kubectl {command} -h' for help and examples")]
    UsageWithHelp { message: String, command: String },
    /// pflag's complaint, followed by cobra's hint.
    #[error("error: {message}\nSee 'kubectl {command} --help' for usage.")]
    Flag { message: String, command: String },
    #[error("error: the server doesn't have a resource type \"{0}\"")]
    UnknownResource(String),
    #[error("error: {0}")]
    JsonPath(#[from] JsonPathError),
    /// No answer from any apiserver (kubectl's `Unable to connect to the server: …`).
    #[error("Unable to connect to the server: {0}")]
    Unreachable(String),
    /// `kubectl wait` ran out of time: `error: timed out waiting for the condition on …`.
    #[error("error: timed out waiting for the condition on {0}")]
    WaitTimeout(String),
    /// An error the apiserver returned.
    #[error("{}", .0.kubectl_message())]
    Server(StatusError),
}

impl From<StatusError> for KubectlError {
    fn from(e: StatusError) -> Self {
        KubectlError::Server(e)
    }
}

impl From<api::kinds::UnknownResource> for KubectlError {
    fn from(e: api::kinds::UnknownResource) -> Self {
        KubectlError::UnknownResource(e.0)
    }
}
