//! What `kubectl get --watch` prints: the objects of the first listing, then one entry per
//! watch event, in the `-o` format of the command.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/get/get.go` (`watch`) and the printers in
//! `staging/src/k8s.io/cli-runtime/pkg/printers`:
//! - tables (default, `-o wide`, `custom-columns`) go through one tabwriter for the whole
//!   command with `RememberWidths` (`printers.GetNewTabWriter`): each event is flushed on its
//!   own, but a column never gets narrower than it has been, so rows stay aligned with the
//!   header until a wider cell widens that column for the rows after it;
//! - headers are printed once, with the first rows (an empty first listing prints nothing:
//!   the table printer prints no headers for a table without rows);
//! - `-o yaml` separates documents with `---`, `-o json` prints each object, `-o name` prints
//!   `kind/name`, `jsonpath` runs the template on each object.
//!
//! A DELETED event prints the object's last state, as kubectl does (it does not mark it).

use api::{KindInfo, Object};
use serde_json::Value;

use super::columns;
use super::jsonpath::{JsonPath, value_text};
use super::print::{OutputFormat, as_served, resource_name, to_json, to_yaml};

const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// The printer of one `get --watch` command. It keeps what kubectl's printer keeps between
/// events: the remembered column widths, whether headers were printed, how many documents.
#[derive(Debug, Clone)]
pub struct WatchPrinter {
    kind: &'static KindInfo,
    output: OutputFormat,
    no_headers: bool,
    /// `-A`: a NAMESPACE column first.
    all_namespaces: bool,
    widths: Vec<usize>,
    headers_printed: bool,
    documents: usize,
}

impl WatchPrinter {
    pub fn new(
        kind: &'static KindInfo,
        output: OutputFormat,
        no_headers: bool,
        all_namespaces: bool,
    ) -> WatchPrinter {
        WatchPrinter {
            kind,
            output,
            no_headers,
            all_namespaces,
            widths: Vec::new(),
            headers_printed: false,
            documents: 0,
        }
    }

    /// What one flush of the printer writes for `objects` (the first listing, or one
    /// event's object), with ages as of `now_secs`.
    pub fn print(&mut self, objects: &[&Object], now_secs: i64) -> String {
        if objects.is_empty() {
            return String::new();
        }
        match self.output.clone() {
            OutputFormat::Table | OutputFormat::Wide => {
                let rows = objects.iter().map(|o| self.row(o, now_secs)).collect();
                let headers = self.headers();
                self.flush_table(headers, rows)
            }
            OutputFormat::CustomColumns(cols) => {
                let headers = cols.iter().map(|(h, _)| h.clone()).collect();
                let rows = objects
                    .iter()
                    .map(|o| custom_cells(o, &cols))
                    .collect::<Vec<_>>();
                self.flush_table(headers, rows)
            }
            OutputFormat::Name => objects.iter().map(|o| resource_name(o) + "\n").collect(),
            OutputFormat::Json => objects.iter().map(|o| to_json(&as_served(o))).collect(),
            OutputFormat::Yaml => {
                let mut out = String::new();
                for o in objects {
                    self.documents += 1;
                    if self.documents > 1 {
                        out.push_str("---\n");
                    }
                    out.push_str(&to_yaml(&as_served(o)));
                }
                out
            }
            OutputFormat::JsonPath(t) => match JsonPath::parse(&t) {
                Ok(jp) => objects.iter().map(|o| jp.execute(&as_served(o))).collect(),
                Err(e) => format!("error: {e}\n"),
            },
        }
    }

    fn headers(&self) -> Vec<String> {
        let wide = self.output == OutputFormat::Wide;
        let mut h: Vec<String> = columns::headers(self.kind.kind, wide)
            .into_iter()
            .map(str::to_string)
            .collect();
        if self.all_namespaces && self.kind.namespaced {
            h.insert(0, "NAMESPACE".into());
        }
        h
    }

    fn row(&self, obj: &Object, now_secs: i64) -> Vec<String> {
        let wide = self.output == OutputFormat::Wide;
        let mut cells = columns::row(obj, obj.name(), wide, now_secs);
        if self.all_namespaces && self.kind.namespaced {
            cells.insert(0, obj.namespace().to_string());
        }
        cells
    }

    /// One tabwriter flush: header (the first time, unless `--no-headers`) and rows, each
    /// column as wide as the widest cell seen so far plus padding; the last cell of a line is
    /// not a column and is not padded.
    fn flush_table(&mut self, headers: Vec<String>, rows: Vec<Vec<String>>) -> String {
        let mut lines: Vec<Vec<String>> = Vec::with_capacity(rows.len() + 1);
        if !self.no_headers && !self.headers_printed {
            lines.push(headers);
            self.headers_printed = true;
        }
        lines.extend(rows);
        for line in &lines {
            let columns = line.len().saturating_sub(1);
            if self.widths.len() < columns {
                self.widths.resize(columns, MIN_WIDTH);
            }
            for (i, cell) in line.iter().take(columns).enumerate() {
                self.widths[i] = self.widths[i].max(cell.chars().count() + PADDING);
            }
        }
        let mut out = String::new();
        for line in &lines {
            for (i, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if i + 1 < line.len() {
                    let pad = self.widths[i] - cell.chars().count();
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push('\n');
        }
        out
    }
}

fn custom_cells(obj: &Object, cols: &[(String, String)]) -> Vec<String> {
    let v: Value = as_served(obj);
    cols.iter()
        .map(|(_, p)| {
            let braced = if p.starts_with('{') {
                p.clone()
            } else {
                format!("{{{p}}}")
            };
            let vals: Vec<String> = JsonPath::parse(&braced)
                .map(|jp| jp.values(&v).into_iter().map(value_text).collect())
                .unwrap_or_default();
            if vals.is_empty() {
                "<none>".into()
            } else {
                vals.join(",")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::kinds::resolve_resource;

    fn pod(name: &str, phase: &str) -> Object {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": phase}
        }))
        .unwrap()
    }

    #[test]
    fn rows_keep_the_widest_column_seen_and_headers_print_once() {
        let kind = resolve_resource("pods").unwrap();
        let mut p = WatchPrinter::new(kind, OutputFormat::Table, false, false);
        let a = pod("web-1", "Running");
        let first = p.print(&[&a], api::WALL_EPOCH_SECS + 5);
        assert_eq!(
            first,
            "NAME    READY   STATUS    RESTARTS   AGE\n\
             web-1   0/1     Running   0          5s\n"
        );
        let b = pod("web-long-name-2", "Pending");
        let next = p.print(&[&b], api::WALL_EPOCH_SECS + 7);
        assert_eq!(next, "web-long-name-2   0/1     Pending   0          7s\n");
        // The NAME column stays as wide as the longest name printed so far.
        let again = p.print(&[&a], api::WALL_EPOCH_SECS + 8);
        assert_eq!(again, "web-1             0/1     Running   0          8s\n");
    }

    #[test]
    fn empty_listing_prints_nothing_and_yaml_documents_are_separated() {
        let kind = resolve_resource("pods").unwrap();
        let mut p = WatchPrinter::new(kind, OutputFormat::Yaml, false, false);
        assert_eq!(p.print(&[], 0), "");
        let a = pod("a", "Pending");
        let one = p.print(&[&a], 0);
        assert!(!one.starts_with("---"));
        let two = p.print(&[&a], 0);
        assert!(two.starts_with("---\napiVersion: v1\n"));
    }
}
