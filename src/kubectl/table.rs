//! A printed table: kubectl's `text/tabwriter` settings from
//! `staging/src/k8s.io/cli-runtime/pkg/printers/tabwriter.go` (minwidth 6, padding 3, pad
//! with spaces). The last column is not padded, as kubectl ends each row without a tab.

/// Header and rows of cells, all rows as wide as the header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Renders header and rows, each line ending in `\n`; `with_header: false` is
    /// `--no-headers` and the rows of a watch after the first.
    pub fn render(&self, with_header: bool) -> String {
        let mut lines: Vec<&[String]> = Vec::with_capacity(self.rows.len() + 1);
        if with_header {
            lines.push(&self.headers);
        }
        lines.extend(self.rows.iter().map(Vec::as_slice));
        let columns = lines.iter().map(|l| l.len()).max().unwrap_or(0);
        let mut widths = vec![MIN_WIDTH; columns];
        for line in &lines {
            for (i, cell) in line.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count() + PADDING);
            }
        }
        let mut out = String::new();
        for line in lines {
            for (i, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if i + 1 < line.len() {
                    let pad = widths[i] - cell.chars().count();
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push('\n');
        }
        out
    }
}
