//! How etcdctl prints: tablewriter's boxed tables (olekukonko/tablewriter as etcdctl 3.5
//! configures it: headers upper-cased and centred, cells right-aligned, `+---+` borders),
//! go-humanize's SI byte sizes, Go's duration strings, and Go's JSON encoding of bytes
//! (base64).

/// A table as etcdctl's table printer renders it (`etcdctl/ctlv3/command/printer_table.go`).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let border: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .chain(std::iter::once("+\n".to_owned()))
        .collect();
    let mut out = border.clone();
    out.push('|');
    for (h, w) in header.iter().zip(&widths) {
        // tablewriter's Pad: the smaller half of the gap goes left.
        let gap = w - h.chars().count();
        let left = gap / 2;
        out.push_str(&format!(
            " {}{}{} |",
            " ".repeat(left),
            h,
            " ".repeat(gap - left)
        ));
    }
    out.push('\n');
    out.push_str(&border);
    for row in rows {
        out.push('|');
        for (cell, w) in row.iter().zip(&widths) {
            out.push_str(&format!(" {cell:>w$} |"));
        }
        out.push('\n');
    }
    // tablewriter closes the table even when it has no rows (two rules in a row).
    out.push_str(&border);
    out
}

/// go-humanize `Bytes`: SI units, one decimal below 10, none above (`20 kB`, `1.2 MB`).
pub fn humanize_bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 10 {
        return format!("{n} B");
    }
    let mut e = 0usize;
    let mut scale = 1f64;
    while e + 1 < UNITS.len() && (n as f64) >= scale * 1000.0 {
        scale *= 1000.0;
        e += 1;
    }
    let val = ((n as f64) / scale * 10.0 + 0.5).floor() / 10.0;
    // Go's %.0f and Rust's {:.0} both round the exact binary value half to even.
    if val < 10.0 {
        format!("{val:.1} {}", UNITS[e])
    } else {
        format!("{val:.0} {}", UNITS[e])
    }
}

/// Go's `time.Duration.String()` for durations below an hour (`1.234567ms`, `2.5s`).
pub fn go_duration(nanos: u64) -> String {
    fn trim(int: u64, frac: u64, digits: usize, unit: &str) -> String {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{int}{unit}")
        } else {
            format!("{int}.{frac}{unit}")
        }
    }
    match nanos {
        0 => "0s".to_owned(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => trim(n / 1_000, n % 1_000, 3, "µs"),
        n if n < 1_000_000_000 => trim(n / 1_000_000, n % 1_000_000, 6, "ms"),
        n if n < 60_000_000_000 => trim(n / 1_000_000_000, n % 1_000_000_000, 9, "s"),
        n => {
            let secs = n / 1_000_000_000;
            let rest = trim(secs % 60, n % 1_000_000_000, 9, "s");
            format!("{}m{rest}", secs / 60)
        }
    }
}

/// Standard base64 with padding, as Go's encoding/json writes `[]byte`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanized_sizes_match_go_humanize() {
        let cases = [
            (0, "0 B"),
            (9, "9 B"),
            (10, "10 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (20480, "20 kB"),
            (24576, "25 kB"),
            (1_240_000, "1.2 MB"),
            (1_250_000, "1.3 MB"),
            (3_500_000_000, "3.5 GB"),
        ];
        for (n, want) in cases {
            assert_eq!(humanize_bytes(n), want, "{n}");
        }
    }

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(1_234_567), "1.234567ms");
        assert_eq!(go_duration(2_000_000), "2ms");
        assert_eq!(go_duration(2_500_000_000), "2.5s");
        assert_eq!(go_duration(750), "750ns");
        assert_eq!(go_duration(61_000_000_000), "1m1s");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn tables_centre_headers_and_right_align_cells() {
        let t = table(
            &["ID", "Status", "Name"],
            &[vec![
                "8e9e05c52164694d".into(),
                "started".into(),
                "default".into(),
            ]],
        );
        assert_eq!(
            t,
            "+------------------+---------+---------+\n\
             |        ID        | STATUS  |  NAME   |\n\
             +------------------+---------+---------+\n\
             | 8e9e05c52164694d | started | default |\n\
             +------------------+---------+---------+\n"
        );
    }
}
