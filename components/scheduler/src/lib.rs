//! kubesim's kube-scheduler.
pub mod explain;
pub mod framework;
pub mod plugins;
pub mod queue;
