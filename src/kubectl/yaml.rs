//! YAML as kubectl prints it: `sigs.k8s.io/yaml` turns the object's JSON into YAML with
//! go-yaml v2, so keys are sorted, sequences sit at their parent key's indentation, and a
//! string is double-quoted when it would read back as something else (empty, `true`, a number,
//! a timestamp such as `creationTimestamp`) or starts with a YAML indicator; multi-line strings
//! use the literal block style.
//!
//! Follows `gopkg.in/yaml.v2` (`encode.go` `stringv`, `resolve.go`). Simplification: the
//! quoting rules cover what Kubernetes objects hold; exotic scalars (YAML 1.1 sexagesimal
//! numbers, `.inf`) are quoted conservatively rather than exactly as go-yaml would.

use serde_json::Value;

/// Renders `v` (a JSON object, as kubectl holds objects) as YAML ending in a newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => seq(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for (i, k) in keys.into_iter().enumerate() {
        // The first key of a map inside a sequence follows the "- " already written.
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str(&string(k, indent));
        out.push(':');
        value(&m[k], indent, out);
    }
}

fn seq(a: &[Value], indent: usize, out: &mut String) {
    for item in a {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => map(m, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                seq(inner, indent + 2, out);
            }
            other => {
                out.push_str(&scalar(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// The value after `key:`.
fn value(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, indent + 2));
            out.push('\n');
        }
    }
}

fn scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, indent),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn string(s: &str, indent: usize) -> String {
    if s.contains('\n') && !s.contains(['\t', '\r']) && !s.starts_with(' ') {
        let chomp = if s.ends_with('\n') { "|" } else { "|-" };
        let mut out = chomp.to_string();
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.extend(std::iter::repeat_n(' ', indent));
                out.push_str(line);
            }
        }
        return out;
    }
    if needs_quotes(s) {
        return quoted(s);
    }
    s.to_string()
}

fn needs_quotes(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y",
        "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", "<<", "=",
    ];
    if RESERVED.contains(&s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    // `-c` reads back as a string; `- x` and a lone `-` would not. Numbers are checked below.
    let plain_dash = first == '-' && s.len() > 1 && !s.starts_with("- ");
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !plain_dash {
        return true;
    }
    if s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
    {
        return true;
    }
    if s.chars().any(|c| c.is_control()) {
        return true;
    }
    looks_numeric(s) || looks_timestamp(s)
}

fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    let t = t.replace('_', "");
    t.parse::<f64>().is_ok()
        || t.strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
        || t.strip_prefix("0b")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c == '0' || c == '1'))
        || [".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"].contains(&t.as_str())
}

/// `2026-01-01`, `2026-01-01T00:00:00Z` and the like: go-yaml v2 resolves them to timestamps.
fn looks_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || matches!(b[10], b'T' | b't' | b' '))
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
