//! `kubectl get --watch`: the table, then one line per change, streamed as each change
//! arrives, until `--request-timeout`.
//!
//! As kubectl does (`staging/src/k8s.io/kubectl/pkg/cmd/get/get.go`, `watch`): one resource
//! type only; a list (or a `get` of one named object) first, printed; then a real watch
//! through the apiserver (`watch` verb, same selectors, from the list's resourceVersion; for a
//! named object a `metadata.name` field selector from resourceVersion "0", whose first
//! synthetic ADDED event is not printed). Every event prints the object's row (DELETED prints
//! its last state). The watch stops when `--request-timeout` has passed since the command
//! started (the HTTP client's timeout cuts the stream; kubectl then exits 0 without a word), or
//! when the server ends it.
//!
//! The simulation runs while the watch is open, event by event, so each row is printed at
//! the virtual time its change reached kubectl. The transcript shows that time: every line a
//! watch prints starts with the virtual clock (`[00:01:07] `, as the step headers), the first
//! listing's lines with the time the command started. kubectl itself prints only the rows.
//!
//! Bounds: without `--request-timeout` (or with `0`, kubectl's "no timeout") the watch would
//! run until the apiserver ends it (30 to 60 minutes); here it stops after
//! [`UNBOUNDED_WATCH`] of virtual time, so that the scenario's next step runs. At most
//! [`MAX_LINES`] event lines are printed.

use api::Object;
use cluster::apiserver::{ApiReply, ApiRequest, EventType, ListOptions, Verb as ApiVerb};

use super::{OutputFormat, Selection, Session, unexpected};
use crate::kubectl::KubectlError;
use crate::kubectl::watch::WatchPrinter;
use crate::runner::clock_stamp;
use crate::units::Duration;

/// What the cluster lacks for `get --watch`; `None` once it runs.
pub(super) const NEEDS: Option<&str> = None;

/// How long a watch runs without `--request-timeout`.
pub const UNBOUNDED_WATCH: sim::Duration = sim::Duration::from_secs(60);
/// Event lines one watch prints at most (then it stops as if timed out).
pub const MAX_LINES: usize = 10_000;

impl Session<'_> {
    pub(super) fn watch(
        &mut self,
        selection: &Selection,
        output: &OutputFormat,
        no_headers: bool,
        timeout: Option<Duration>,
    ) {
        let start = self.cluster.sim().now();
        let limit = match timeout {
            Some(t) if t.as_nanos() > 0 => sim::Duration::from_nanos(t.as_nanos()),
            _ => UNBOUNDED_WATCH,
        };
        let deadline = start + limit;
        let Some(target) = selection.targets.first() else {
            return self.fail(KubectlError::Usage(
                "Required resource not specified.".into(),
            ));
        };
        if selection
            .targets
            .iter()
            .any(|t| t.kind.kind != target.kind.kind)
        {
            return self.fail(KubectlError::Usage(
                "you may only specify a single resource type".into(),
            ));
        }
        if selection.targets.len() > 1 {
            return self.fail(KubectlError::Usage(
                "watch is only supported on individual resources and resource collections - more than 1 resource was found".into(),
            ));
        }
        let kind = target.kind;
        let ns = if selection.all_namespaces {
            String::new()
        } else {
            self.ns_for(kind)
        };
        let mut field_selector = selection.field_selector.clone().unwrap_or_default();
        // The first listing, and where the watch starts.
        let (objects, resource_version) = match &target.name {
            Some(name) => match self.get_object(kind, &ns, name, false) {
                Ok(o) => {
                    let by_name = format!("metadata.name={name}");
                    field_selector = if field_selector.is_empty() {
                        by_name
                    } else {
                        format!("{field_selector},{by_name}")
                    };
                    (vec![o], "0".to_string())
                }
                Err(e) => return self.fail(e),
            },
            None => {
                let opts = ListOptions {
                    label_selector: selection.label_selector.clone().unwrap_or_default(),
                    field_selector: field_selector.clone(),
                    ..ListOptions::default()
                };
                match self.call(kind.kind, &ns, "", ApiVerb::List(opts)) {
                    Ok(ApiReply::List(l)) => (l.items, l.resource_version.to_string()),
                    Ok(_) => return self.fail(unexpected()),
                    Err(e) => return self.fail(e),
                }
            }
        };
        let mut skip_first = target.name.is_some();
        let mut printer =
            WatchPrinter::new(kind, output.clone(), no_headers, selection.all_namespaces);
        let first: Vec<&Object> = objects.iter().map(|o| o.as_ref()).collect();
        let text = printer.print(&first, self.now_secs());
        self.stamped(&text);

        let opts = ListOptions {
            label_selector: selection.label_selector.clone().unwrap_or_default(),
            field_selector,
            resource_version,
            ..ListOptions::default()
        };
        let request = ApiRequest::new(0, self.user.clone(), kind.kind, ApiVerb::Watch(opts))
            .in_namespace(&ns);
        let handle = match self.cluster.open_watch(&self.user.clone(), request) {
            Ok(h) => h,
            Err(e) => return self.fail(KubectlError::Unreachable(e.to_string())),
        };
        let mut lines = 0usize;
        while self.cluster.sim().now() < deadline && lines < MAX_LINES {
            let progress = match self.cluster.watch_step(handle, deadline) {
                Ok(p) => p,
                Err(e) => {
                    self.fail(KubectlError::Unreachable(e.to_string()));
                    break;
                }
            };
            if let Some(e) = progress.refused {
                self.fail(client_error(e));
                break;
            }
            for event in &progress.events {
                match event.event_type {
                    EventType::Bookmark => continue,
                    EventType::Error => {
                        if let Some(status) = &event.error {
                            self.fail(KubectlError::Server(status.clone()));
                        }
                        continue;
                    }
                    EventType::Added | EventType::Modified | EventType::Deleted => {}
                }
                let Some(obj) = &event.object else { continue };
                if skip_first {
                    skip_first = false;
                    continue;
                }
                let text = printer.print(&[obj.as_ref()], self.now_secs());
                self.stamped(&text);
                lines += 1;
            }
            if progress.ended {
                break;
            }
        }
        let _ = self.cluster.close_watch(handle);
    }

    /// Appends `text` with the virtual time in front of every line.
    fn stamped(&mut self, text: &str) {
        let stamp = clock_stamp(self.cluster.sim().now());
        for line in text.lines() {
            self.out.push_str(&stamp);
            self.out.push(' ');
            self.out.push_str(line);
            self.out.push('\n');
        }
    }
}

fn client_error(e: cluster::client::ClientError) -> KubectlError {
    match e {
        cluster::client::ClientError::Status(s) => KubectlError::Server(s),
        other => KubectlError::Unreachable(other.to_string()),
    }
}
