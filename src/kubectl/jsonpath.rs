//! kubectl's JSONPath templates (`-o jsonpath=…`, `custom-columns`): text with `{…}` actions
//! holding `.field`, `['key']`, `[n]`, `[*]`, `..field`, filters `[?(@.a=="x")]`,
//! `{range …}…{end}` and string literals such as `{"\n"}`.
//!
//! Follows `staging/src/k8s.io/client-go/util/jsonpath` as `kubectl get` uses it: missing keys
//! print nothing (`--allow-missing-template-keys` defaults to true), several results are joined
//! by a space, maps and lists print as JSON. Filters compare with `==`, `!=`, `<`, `<=`, `>`,
//! `>=` (numbers by value, strings in byte order), as client-go's `evalFilter` does.
//! Simplifications: no slices `[a:b]`, no unions `[a,b]`, and numbers print as serde_json
//! writes them.

use serde_json::Value;

/// A template that does not parse; the message is what kubectl says after
/// `error: error parsing jsonpath <template>, `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing jsonpath {template}, {message}")]
pub struct JsonPathError {
    pub template: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Recursive(String),
    Index(i64),
    All,
    Filter {
        path: Vec<Step>,
        op: FilterOp,
        literal: Value,
    },
}

/// A filter's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl FilterOp {
    /// Whether `value OP literal` holds; ordering compares numbers with numbers and strings
    /// with strings, anything else never matches.
    fn holds(self, value: &Value, literal: &Value) -> bool {
        use std::cmp::Ordering;
        let order = match (value, literal) {
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        };
        match self {
            FilterOp::Eq => value == literal,
            FilterOp::Ne => value != literal,
            FilterOp::Lt => order == Some(Ordering::Less),
            FilterOp::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
            FilterOp::Gt => order == Some(Ordering::Greater),
            FilterOp::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Path(Vec<Step>),
    Range(Vec<Step>, Vec<Node>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    nodes: Vec<Node>,
}

/// Nesting of `{range}` is bounded so that a hostile template cannot recurse without end.
const MAX_RANGE_DEPTH: usize = 16;

impl JsonPath {
    pub fn parse(template: &str) -> Result<JsonPath, JsonPathError> {
        let err = |message: String| JsonPathError {
            template: template.to_string(),
            message,
        };
        let mut stack: Vec<(Vec<Step>, Vec<Node>)> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                nodes.push(Node::Text(rest.to_string()));
                break;
            };
            if open > 0 {
                nodes.push(Node::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = find_close(after).ok_or_else(|| err("unclosed action".into()))?;
            let action = after[..close].trim();
            rest = &after[close + 1..];
            if action == "end" {
                let (path, outer) = stack
                    .pop()
                    .ok_or_else(|| err("not in range, nothing to end".into()))?;
                let body = std::mem::replace(&mut nodes, outer);
                nodes.push(Node::Range(path, body));
            } else if let Some(path) = action.strip_prefix("range ") {
                if stack.len() >= MAX_RANGE_DEPTH {
                    return Err(err("range nested too deeply".into()));
                }
                let steps = parse_path(path.trim()).map_err(err)?;
                stack.push((steps, std::mem::take(&mut nodes)));
            } else if action.starts_with('"') {
                nodes.push(Node::Text(parse_string(action).map_err(err)?));
            } else if action.is_empty() {
                continue;
            } else {
                nodes.push(Node::Path(parse_path(action).map_err(err)?));
            }
        }
        if !stack.is_empty() {
            return Err(err("unclosed range".into()));
        }
        Ok(JsonPath { nodes })
    }

    /// Evaluates against `data`, as kubectl prints it.
    pub fn execute(&self, data: &Value) -> String {
        let mut out = String::new();
        exec(&self.nodes, data, &mut out);
        out
    }

    /// The values the template's first path selects (what `custom-columns` shows).
    pub fn values<'a>(&self, data: &'a Value) -> Vec<&'a Value> {
        match self.nodes.iter().find(|n| matches!(n, Node::Path(_))) {
            Some(Node::Path(steps)) => select(steps, data),
            _ => Vec::new(),
        }
    }
}

fn find_close(s: &str) -> Option<usize> {
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_str => escaped = true,
            '"' => in_str = !in_str,
            '}' if !in_str => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_string(s: &str) -> Result<String, String> {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| format!("unterminated string {s}"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => return Err("unterminated escape".into()),
        }
    }
    Ok(out)
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let p = path.strip_prefix('$').unwrap_or(path);
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let recursive = b.get(i + 1) == Some(&b'.');
                i += if recursive { 2 } else { 1 };
                let start = i;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                let name = &p[start..i];
                if recursive {
                    steps.push(Step::Recursive(name.to_string()));
                } else if name == "*" {
                    steps.push(Step::All);
                } else if !name.is_empty() {
                    steps.push(Step::Field(name.to_string()));
                }
            }
            b'[' => {
                let end = matching_bracket(&p[i..]).ok_or("unterminated array")? + i;
                let inner = p[i + 1..end].trim();
                steps.push(parse_bracket(inner)?);
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                return Err(format!("unrecognized identifier {}", &p[start..i]));
            }
        }
    }
    Ok(steps)
}

fn matching_bracket(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::All);
    }
    if let Some(q) = inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
    {
        return Ok(Step::Field(q.to_string()));
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')')) {
        let ops = [
            ("!=", FilterOp::Ne),
            ("==", FilterOp::Eq),
            ("<=", FilterOp::Le),
            (">=", FilterOp::Ge),
            ("<", FilterOp::Lt),
            (">", FilterOp::Gt),
        ];
        let Some((lhs, rhs, op)) = ops
            .iter()
            .find_map(|(text, op)| f.split_once(text).map(|(l, r)| (l, r, *op)))
        else {
            return Err(format!("unsupported filter {f}"));
        };
        let lhs = lhs.trim();
        let path = lhs
            .strip_prefix('@')
            .ok_or_else(|| format!("filter must start with @: {lhs}"))?;
        let rhs = rhs.trim();
        let literal = if let Some(s) = rhs
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .or_else(|| rhs.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        {
            Value::String(s.to_string())
        } else {
            serde_json::from_str(rhs).map_err(|_| format!("unrecognized literal {rhs}"))?
        };
        return Ok(Step::Filter {
            path: parse_path(path)?,
            op,
            literal,
        });
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| format!("unrecognized index {inner}"))
}

fn select<'a>(steps: &[Step], data: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![data];
    for step in steps {
        let mut next = Vec::new();
        for v in current {
            apply(step, v, &mut next);
        }
        current = next;
    }
    current
}

fn apply<'a>(step: &Step, v: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => {
            if let Some(x) = v.get(name.as_str()) {
                out.push(x);
            }
        }
        Step::Index(i) => {
            if let Value::Array(a) = v {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if let Some(x) = usize::try_from(idx).ok().and_then(|i| a.get(i)) {
                    out.push(x);
                }
            }
        }
        Step::All => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(m) => out.extend(m.values()),
            _ => {}
        },
        Step::Recursive(name) => recurse(name, v, out),
        Step::Filter { path, op, literal } => {
            if let Value::Array(a) = v {
                for item in a {
                    let found = select(path, item);
                    let hit = match op {
                        FilterOp::Eq => found.contains(&literal),
                        FilterOp::Ne => !found.contains(&literal),
                        _ => found.iter().any(|x| op.holds(x, literal)),
                    };
                    if hit {
                        out.push(item);
                    }
                }
            }
        }
    }
}

fn recurse<'a>(name: &str, v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(name) {
                out.push(x);
            }
            for x in m.values() {
                recurse(name, x, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                recurse(name, x, out);
            }
        }
        _ => {}
    }
}

/// How one JSONPath result prints: strings bare, other scalars as JSON, maps and lists as JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn exec(nodes: &[Node], data: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Path(steps) => {
                let texts: Vec<String> = select(steps, data).into_iter().map(value_text).collect();
                out.push_str(&texts.join(" "));
            }
            Node::Range(steps, body) => {
                for item in select(steps, data) {
                    match item {
                        Value::Array(a) => {
                            for x in a {
                                exec(body, x, out);
                            }
                        }
                        other => exec(body, other, out),
                    }
                }
            }
        }
    }
}
