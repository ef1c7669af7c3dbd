//! Validation with Kubernetes' messages: field errors, names and labels, object metadata, and
//! the per-kind rules the apiserver applies after defaulting. [`validate`] returns the field
//! errors; [`validate_object`] turns them into the 422 [`StatusError`] the apiserver answers.

pub mod field;
pub mod meta;
pub mod names;
pub mod pod;
pub mod service;
pub mod workloads;

pub use field::{BadValue, ErrorList, ErrorType, FieldError, aggregate};

use crate::object::Object;
use crate::status::StatusError;

/// Every field error in `object` (metadata first, then the kind's spec rules).
pub fn validate(object: &Object) -> ErrorList {
    let mut errs = meta::validate_object_meta(object.metadata(), object.info());
    match object {
        Object::Pod(p) => match &p.spec {
            Some(spec) => errs.extend(pod::validate_pod_spec(spec, "spec")),
            None => errs.push(FieldError::required("spec.containers", "")),
        },
        Object::Deployment(d) => errs.extend(workloads::validate_deployment(d)),
        Object::ReplicaSet(r) => errs.extend(workloads::validate_replica_set(r)),
        Object::DaemonSet(d) => errs.extend(workloads::validate_daemon_set(d)),
        Object::StatefulSet(s) => errs.extend(workloads::validate_stateful_set(s)),
        Object::Job(j) => errs.extend(workloads::validate_job(j)),
        Object::Service(s) => errs.extend(service::validate_service(s)),
        Object::ConfigMap(c) => {
            errs.extend(service::validate_data_keys(
                c.data.iter().flat_map(|d| d.keys()),
                "data",
            ));
            errs.extend(service::validate_data_keys(
                c.binary_data.iter().flat_map(|d| d.keys()),
                "binaryData",
            ));
        }
        Object::Secret(s) => {
            errs.extend(service::validate_data_keys(
                s.data.iter().flat_map(|d| d.keys()),
                "data",
            ));
        }
        _ => {}
    }
    errs
}

/// `Ok` when valid, else the apiserver's 422 (`Deployment.apps "web" is invalid: ...`).
pub fn validate_object(object: &Object) -> Result<(), StatusError> {
    let errs = validate(object);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(StatusError::invalid(object.info(), object.name(), &errs))
    }
}
