//! The text layout of `kubectl describe`: Go's `text/tabwriter` as `tabbedString` sets it up
//! (`describe.go`: minwidth 0, padding 2, pad with spaces, no flags) behind the `PrefixWriter`
//! that indents by two spaces per level.
//!
//! Follows Go's `text/tabwriter` (`format`): a cell is text ended by a tab; the text after a
//! line's last tab is not a cell and is never padded. A column is a block of consecutive
//! lines that all have a cell in it, as wide as its widest cell plus the padding; a line with
//! fewer cells ends the block, so `Name:`/`Namespace:` align with each other but not with a
//! table further down that is separated by a line without tabs. `flush` formats what was
//! written so far on its own (kubectl flushes before the Events table).

const PADDING: usize = 2;

/// `describe.PrefixWriter` over a tabwriter.
#[derive(Debug, Default)]
pub struct PrefixWriter {
    pending: String,
    out: String,
}

impl PrefixWriter {
    pub fn new() -> PrefixWriter {
        PrefixWriter::default()
    }

    /// `Write(level, ...)`: `text` after two spaces per level.
    pub fn write(&mut self, level: usize, text: &str) {
        for _ in 0..level {
            self.pending.push_str("  ");
        }
        self.pending.push_str(text);
    }

    /// `WriteLine(...)`: `text` and a newline, not indented.
    pub fn write_line(&mut self, text: &str) {
        self.pending.push_str(text);
        self.pending.push('\n');
    }

    /// Formats everything written since the last flush.
    pub fn flush(&mut self) {
        let text = std::mem::take(&mut self.pending);
        self.out.push_str(&format_cells(&text));
    }

    pub fn finish(mut self) -> String {
        self.flush();
        self.out
    }
}

/// Lays out `text` as Go's tabwriter does with describe's settings.
pub fn format_cells(text: &str) -> String {
    let body = text.strip_suffix('\n');
    let ends_with_newline = body.is_some();
    let body = body.unwrap_or(text);
    if body.is_empty() && !ends_with_newline {
        return String::new();
    }
    let lines: Vec<Vec<&str>> = body.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut widths = Vec::new();
    format_block(&lines, &mut widths, 0, lines.len(), &mut out);
    if !ends_with_newline {
        out.pop();
    }
    out
}

/// Go's `Writer.format`: the lines `line0..line1`, whose columns left of `widths.len()` are
/// already sized.
fn format_block(
    lines: &[Vec<&str>],
    widths: &mut Vec<usize>,
    line0: usize,
    line1: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut start = line0;
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, widths, start, this, out);
        start = this;
        let mut width = 0;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].chars().count() + PADDING);
            this += 1;
        }
        widths.push(width);
        format_block(lines, widths, start, this, out);
        widths.pop();
        start = this;
    }
    write_lines(lines, widths, start, line1, out);
}

fn write_lines(
    lines: &[Vec<&str>],
    widths: &[usize],
    line0: usize,
    line1: usize,
    out: &mut String,
) {
    for line in &lines[line0..line1] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() {
                let pad = widths[j].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_cells_align_and_a_line_without_tabs_ends_the_block() {
        let text = "Name:\tweb\nNamespace:\tdefault\nContainers:\n  c:\n    Image:\tnginx\n    Port:\t<none>\n";
        assert_eq!(
            format_cells(text),
            "Name:       web\nNamespace:  default\nContainers:\n  c:\n    Image:  nginx\n    Port:   <none>\n"
        );
    }

    #[test]
    fn nested_columns_are_sized_per_block() {
        let text = "Events:\n  Type\tReason\tAge\n  ----\t------\t---\n  Normal\tScheduled\t5s\n";
        assert_eq!(
            format_cells(text),
            "Events:\n  Type    Reason     Age\n  ----    ------     ---\n  Normal  Scheduled  5s\n"
        );
    }

    #[test]
    fn continuation_lines_start_with_an_empty_cell() {
        let mut w = PrefixWriter::new();
        w.write(0, "Labels:\tapp=web\n");
        w.write(0, "\tpod-template-hash=abc\n");
        w.write(0, "Annotations:\t<none>\n");
        assert_eq!(
            w.finish(),
            "Labels:       app=web\n              pod-template-hash=abc\nAnnotations:  <none>\n"
        );
    }
}
