//! A history as JSON lines, one operation a line, so that other checkers (Porcupine with a
//! key-value model, Jepsen's Elle or Knossos after a small translation) can judge it too:
//!
//! ```text
//! {"client":1,"op":"put","key":"a","input":{"value":"x"},"output":{"revision":2},"call":10,"return":20}
//! {"client":2,"op":"get","key":"a","input":null,"output":{"value":"x","mod_revision":2,"revision":2},"call":15,"return":30}
//! {"client":3,"op":"txn","key":"a","input":{"compare":{"target":"mod_revision","op":"=","value":2},"then":{"put":"y"}},"output":null,"call":40,"return":null}
//! ```
//!
//! `"output": null` with `"return": null` is an indeterminate operation (returned at infinity).
//! Revisions are omitted when unknown. Compare ops are etcd's `=`, `!=`, `>`, `<`; a value
//! compare carries a string, the others an integer; `then` is `{"put": VALUE}` or
//! `{"delete": null}`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;

use super::history::{
    ClientId, Compare, CompareOp, CompareTarget, Completion, History, HistoryError, Input,
    Operation, Output, Response, TimeNs, TxnWrite,
};

/// Why a JSON-lines history could not be read.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("line {line}: not a history record: {source}")]
    Json {
        line: usize,
        source: serde_json::Error,
    },
    #[error("line {line}: {message}")]
    Field { line: usize, message: String },
    #[error("line {line}: {source}")]
    History { line: usize, source: HistoryError },
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    client: ClientId,
    op: String,
    key: String,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    output: Value,
    call: TimeNs,
    #[serde(rename = "return", default)]
    ret: Option<TimeNs>,
}

fn compare_op_text(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Equal => "=",
        CompareOp::NotEqual => "!=",
        CompareOp::Greater => ">",
        CompareOp::Less => "<",
    }
}

fn input_json(input: &Input) -> Value {
    match input {
        Input::Get | Input::Delete => Value::Null,
        Input::Put { value } => json!({ "value": value }),
        Input::Txn { compare, then } => {
            let (target, operand) = match &compare.target {
                CompareTarget::Version(v) => ("version", json!(v)),
                CompareTarget::ModRevision(r) => ("mod_revision", json!(r)),
                CompareTarget::Value(s) => ("value", json!(s)),
            };
            let then = match then {
                TxnWrite::Put { value } => json!({ "put": value }),
                TxnWrite::Delete => json!({ "delete": null }),
            };
            json!({
                "compare": { "target": target, "op": compare_op_text(compare.op), "value": operand },
                "then": then,
            })
        }
    }
}

fn output_json(response: &Response) -> Value {
    let mut fields = serde_json::Map::new();
    match &response.output {
        Output::Get {
            value,
            mod_revision,
        } => {
            fields.insert("value".into(), json!(value));
            if let Some(rev) = mod_revision {
                fields.insert("mod_revision".into(), json!(rev));
            }
        }
        Output::Put => {}
        Output::Delete { deleted } => {
            fields.insert("deleted".into(), json!(deleted));
        }
        Output::Txn { succeeded } => {
            fields.insert("succeeded".into(), json!(succeeded));
        }
    }
    if let Some(rev) = response.revision {
        fields.insert("revision".into(), json!(rev));
    }
    Value::Object(fields)
}

/// The history as JSON lines, each ending in a newline, in history order.
pub fn to_json_lines(history: &History) -> String {
    let mut out = String::new();
    for op in history.ops() {
        let (output, ret) = match &op.completion {
            Completion::Returned { time, response } => (output_json(response), Some(*time)),
            Completion::Indeterminate => (Value::Null, None),
        };
        let line = Line {
            client: op.client,
            op: op.kind_name().to_string(),
            key: op.key.clone(),
            input: input_json(&op.input),
            output,
            call: op.call,
            ret,
        };
        // A Line holds only strings, integers and JSON values: serializing cannot fail.
        out.push_str(&serde_json::to_string(&line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Reads a history written by [`to_json_lines`]; blank lines are skipped.
pub fn from_json_lines(text: &str) -> Result<History, ImportError> {
    let mut history = History::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let record: Line =
            serde_json::from_str(raw).map_err(|source| ImportError::Json { line, source })?;
        let field = |message: String| ImportError::Field { line, message };
        let op = parse_operation(record).map_err(field)?;
        history
            .push(op)
            .map_err(|source| ImportError::History { line, source })?;
    }
    Ok(history)
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("expected a string \"{name}\" in {v}"))
}

fn int_field(v: &Value, name: &str) -> Result<Option<i64>, String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("expected an integer \"{name}\", found {n}")),
    }
}

fn bool_field(v: &Value, name: &str) -> Result<bool, String> {
    v.get(name)
        .and_then(Value::as_bool)
        .ok_or_else(|| format!("expected a boolean \"{name}\" in {v}"))
}

fn parse_input(op: &str, input: &Value) -> Result<Input, String> {
    Ok(match op {
        "get" => Input::Get,
        "delete" => Input::Delete,
        "put" => Input::Put {
            value: str_field(input, "value")?.to_string(),
        },
        "txn" => {
            let compare = input
                .get("compare")
                .ok_or_else(|| format!("expected \"compare\" in {input}"))?;
            let operand = compare.get("value").unwrap_or(&Value::Null);
            let int_operand = || {
                operand
                    .as_i64()
                    .ok_or_else(|| format!("expected an integer compare value, found {operand}"))
            };
            let target = match str_field(compare, "target")? {
                "version" => CompareTarget::Version(int_operand()?),
                "mod_revision" => CompareTarget::ModRevision(int_operand()?),
                "value" => CompareTarget::Value(str_field(compare, "value")?.to_string()),
                other => {
                    return Err(format!(
                        "expected compare target version, mod_revision or value, found {other:?}"
                    ));
                }
            };
            let op = match str_field(compare, "op")? {
                "=" => CompareOp::Equal,
                "!=" => CompareOp::NotEqual,
                ">" => CompareOp::Greater,
                "<" => CompareOp::Less,
                other => {
                    return Err(format!(
                        "expected compare op =, !=, > or <, found {other:?}"
                    ));
                }
            };
            let then = input
                .get("then")
                .ok_or_else(|| format!("expected \"then\" in {input}"))?;
            let then = if then.get("delete").is_some() {
                TxnWrite::Delete
            } else {
                TxnWrite::Put {
                    value: str_field(then, "put")?.to_string(),
                }
            };
            Input::Txn {
                compare: Compare { target, op },
                then,
            }
        }
        other => {
            return Err(format!(
                "expected op get, put, delete or txn, found {other:?}"
            ));
        }
    })
}

fn parse_output(input: &Input, output: &Value) -> Result<Response, String> {
    let out = match input {
        Input::Get => Output::Get {
            value: match output.get("value") {
                None | Some(Value::Null) => None,
                Some(_) => Some(str_field(output, "value")?.to_string()),
            },
            mod_revision: int_field(output, "mod_revision")?,
        },
        Input::Put { .. } => Output::Put,
        Input::Delete => Output::Delete {
            deleted: bool_field(output, "deleted")?,
        },
        Input::Txn { .. } => Output::Txn {
            succeeded: bool_field(output, "succeeded")?,
        },
    };
    Ok(Response {
        output: out,
        revision: int_field(output, "revision")?,
    })
}

fn parse_operation(line: Line) -> Result<Operation, String> {
    let input = parse_input(&line.op, &line.input)?;
    let completion = match (line.ret, &line.output) {
        (None, Value::Null) => Completion::Indeterminate,
        (Some(time), output @ Value::Object(_)) => Completion::Returned {
            time,
            response: parse_output(&input, output)?,
        },
        (None, _) => return Err("an operation without a return must have output null".into()),
        (Some(_), other) => {
            return Err(format!(
                "expected an output object for a returned operation, found {other}"
            ));
        }
    };
    Ok(Operation {
        client: line.client,
        key: line.key,
        input,
        call: line.call,
        completion,
    })
}
