//! `kubectl describe`: finds the objects as kubectl's builder does, reads what each describer
//! needs from the apiserver ([`crate::kubectl::describe::needs`]: events by `involvedObject`
//! field selector, a controller's pods, a node's pods and Lease, ...) and prints
//! [`crate::kubectl::describe::describe`].
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/describe/describe.go`: several objects are
//! separated by `\n\n` (two blank lines, as the first output ends with a newline) and then
//! show no events (kubectl turns events off when more than one object is described, unless
//! `--show-events` is given, which kubesim does not parse); `describe TYPE NAME` where NAME is
//! not an object describes every object whose name starts with NAME (`DescribeMatchingResources`,
//! events off, each followed by a blank line) and prints the NotFound error when none does;
//! no match at all prints `No resources found in NS namespace.`.

use api::{Object, SharedObject};
use cluster::apiserver::{ApiReply, ListOptions, Verb as ApiVerb};

use super::{Selection, Session, Target};
use crate::kubectl::KubectlError;
use crate::kubectl::describe::{self, Related};

/// What the cluster lacks for `describe`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = None;

impl Session<'_> {
    pub(super) fn describe(&mut self, selection: &Selection) {
        // `describe TYPE NAME` (not TYPE/NAME) falls back to a name prefix when NAME is not found.
        let prefix_form = selection.targets.len() == 1 && selection.targets[0].name.is_some();
        let mut found: Vec<SharedObject> = Vec::new();
        let mut not_found = None;
        for Target { kind, name } in &selection.targets {
            let ns = if selection.all_namespaces {
                String::new()
            } else {
                self.ns_for(kind)
            };
            match name {
                Some(name) => match self.get_object(kind, &ns, name, false) {
                    Ok(o) => found.push(o),
                    Err(KubectlError::Server(e)) if e.code == 404 && prefix_form => {
                        not_found = Some(KubectlError::Server(e));
                    }
                    Err(e) => self.fail(e),
                },
                None => match self.list(kind, &ns, selection) {
                    Ok(items) => found.extend(items),
                    Err(e) => self.fail(e),
                },
            }
        }
        if let Some(err) = not_found {
            return self.describe_by_prefix(selection, err);
        }
        let show_events = found.len() == 1 && !self.failed;
        let mut first = true;
        for obj in &found {
            let Some(text) = self.describe_one(obj, show_events) else {
                continue;
            };
            if !first {
                self.out.push_str("\n\n");
            }
            first = false;
            self.out.push_str(&text);
        }
        if found.is_empty() && !self.failed {
            let namespaced = selection.targets.iter().all(|t| t.kind.namespaced);
            if selection.all_namespaces || !namespaced {
                self.out.push_str("No resources found\n");
            } else {
                let ns = self.ns().to_string();
                self.out
                    .push_str(&format!("No resources found in {ns} namespace.\n"));
            }
        }
    }

    /// `DescribeMatchingResources`: every object of the type whose name starts with the
    /// given name, or the original NotFound error.
    fn describe_by_prefix(&mut self, selection: &Selection, not_found: KubectlError) {
        let Target { kind, name } = &selection.targets[0];
        let prefix = name.clone().unwrap_or_default();
        let ns = self.ns_for(kind);
        let all = Selection {
            targets: vec![Target { kind, name: None }],
            ..Selection::default()
        };
        let items = match self.list(kind, &ns, &all) {
            Ok(items) => items,
            Err(e) => return self.fail(e),
        };
        let matching: Vec<SharedObject> = items
            .into_iter()
            .filter(|o| o.name().starts_with(&prefix))
            .collect();
        if matching.is_empty() {
            return self.fail(not_found);
        }
        for obj in &matching {
            if let Some(text) = self.describe_one(obj, false) {
                self.out.push_str(&text);
                self.out.push('\n');
            }
        }
    }

    /// Reads what the describer of `obj` needs and prints it; `None` after printing an error.
    fn describe_one(&mut self, obj: &Object, show_events: bool) -> Option<String> {
        let needs = describe::needs(obj, show_events);
        let mut related = Related {
            lease: Ok(None),
            ..Related::default()
        };
        if show_events {
            let mut events = Vec::new();
            for (ns, selector) in &needs.events {
                // kubectl ignores a failed event search (the description has no Events).
                if let Ok(mut list) = self.list_kind(api::Kind::Event, ns, "", selector) {
                    events.append(&mut list);
                }
            }
            related.events = Some(events);
        }
        let ns = obj.namespace().to_string();
        if let Some(sel) = &needs.pods_by_selector {
            related.pods = self.list_kind(api::Kind::Pod, &ns, sel, "").ok();
        }
        if let Some(fields) = &needs.pods_on_node {
            match self.list_kind(api::Kind::Pod, "", "", fields) {
                Ok(p) => related.pods = Some(p),
                // Without the right to list pods kubectl says so in place of the table.
                Err(KubectlError::Server(e)) if e.code == 403 => related.pods = None,
                Err(e) => {
                    self.fail(e);
                    return None;
                }
            }
        }
        if let Some(sel) = &needs.replica_sets {
            related.replica_sets = self
                .list_kind(api::Kind::ReplicaSet, &ns, sel, "")
                .unwrap_or_default();
        }
        if let Some(sel) = &needs.endpoint_slices {
            related.endpoint_slices = self
                .list_kind(api::Kind::EndpointSlice, &ns, sel, "")
                .unwrap_or_default();
        }
        if let Some(node) = &needs.node_lease {
            let lease_kind = api::Kind::Lease.info();
            related.lease = match self.get_object(lease_kind, "kube-node-lease", node, false) {
                Ok(l) => Ok(Some(l)),
                Err(KubectlError::Server(e)) => Err(e.message.clone()),
                Err(e) => Err(e.to_string()),
            };
        }
        match describe::describe(obj, &related, self.now_secs()) {
            Ok(text) => Some(text),
            Err(e) => {
                self.fail(KubectlError::Usage(e.to_string()));
                None
            }
        }
    }

    fn list_kind(
        &mut self,
        kind: api::Kind,
        namespace: &str,
        label_selector: &str,
        field_selector: &str,
    ) -> Result<Vec<SharedObject>, KubectlError> {
        let opts = ListOptions {
            label_selector: label_selector.to_string(),
            field_selector: field_selector.to_string(),
            ..ListOptions::default()
        };
        match self.call(kind, namespace, "", ApiVerb::List(opts))? {
            ApiReply::List(l) => Ok(l.items),
            _ => Err(super::unexpected()),
        }
    }
}
