//! `kubectl expose TYPE NAME` and `kubectl create service TYPE NAME`: the Service kubectl
//! generates ([`crate::kubectl::service`]) sent as a create, and what kubectl prints
//! (`service/NAME exposed`, `service/NAME created`, or its error).
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/expose/expose.go` (`RunExpose`: the object
//! fetched, `canBeExposed`, the Service created in the command's namespace; its errors are
//! printed as they come) and `pkg/cmd/create/create_service.go` (`Run`: a failed create is
//! `failed to create <Type> service: <server message>`).

use std::sync::Arc;

use api::SharedObject;
use cluster::apiserver::{ApiReply, Verb as ApiVerb};
use serde_json::Value;

use super::{KubectlError, Session, Target, unexpected};
use crate::kubectl::outcome::{Outcome, outcome_line};
use crate::kubectl::print::to_value;
use crate::kubectl::service::{self, CreateServiceOptions, ExposeOptions};

impl Session<'_> {
    pub(super) fn expose(&mut self, targets: &[Target], options: &ExposeOptions) {
        for Target { kind, name } in targets {
            let name = name.clone().unwrap_or_default();
            let ns = self.ns_for(kind);
            let object = match self.get_object(kind, &ns, &name, false) {
                Ok(o) => o,
                Err(e) => {
                    self.fail(e);
                    continue;
                }
            };
            if let Err(e) = service::can_be_exposed(kind.name, kind.group) {
                self.fail(KubectlError::Usage(e));
                continue;
            }
            let namespace = self.ns().to_string();
            let generated = service::expose(&to_value(&object), &namespace, options);
            match generated {
                Ok(svc) => match self.create_service_value(svc) {
                    Ok(created) => self.out.push_str(&outcome_line(&created, Outcome::Exposed)),
                    Err(e) => self.fail(e),
                },
                Err(e) => self.fail(KubectlError::Usage(e)),
            }
        }
    }

    pub(super) fn create_service(&mut self, options: &CreateServiceOptions) {
        let namespace = self.ns().to_string();
        let svc = match service::create(options, &namespace) {
            Ok(s) => s,
            Err(e) => return self.fail(KubectlError::Usage(e)),
        };
        match self.create_service_value(svc) {
            Ok(created) => self.out.push_str(&outcome_line(&created, Outcome::Created)),
            Err(KubectlError::Server(s)) => self.fail(KubectlError::Usage(format!(
                "failed to create {} service: {}",
                options.service_type.as_str(),
                s.message
            ))),
            Err(e) => self.fail(e),
        }
    }

    /// Creates the generated Service.
    fn create_service_value(&mut self, svc: Value) -> Result<SharedObject, KubectlError> {
        let obj: api::Object =
            serde_json::from_value(svc).map_err(|e| KubectlError::Usage(e.to_string()))?;
        let ns = obj.namespace().to_string();
        match self.call(obj.kind(), &ns, "", ApiVerb::Create(Arc::new(obj)))? {
            ApiReply::Object(o) => Ok(o),
            _ => Err(unexpected()),
        }
    }
}
