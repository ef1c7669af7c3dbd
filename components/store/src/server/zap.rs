//! etcd's own log lines: zap's JSON encoder, as `kubectl logs -n kube-system etcd-…` prints
//! them (`{"level":"info","ts":"2026-01-01T00:00:03.120Z","caller":"etcdserver/server.go",
//! "msg":"…", fields…}`).
//!
//! Follows etcd 3.5's logger (`client/pkg/logutil/zap.go`: JSON encoding, ISO 8601 `ts` in
//! UTC, `caller` as `package/file.go:line`, the message under `msg`, then the structured
//! fields in the order logged). A line is kept in the engine's per-actor log without its time
//! ([`sim::Ctx::log`] stamps the host's clock); [`render`] puts `ts` back in when it is
//! printed. Simplified: `caller` names the upstream file without its line number, which moves
//! between etcd releases.

use serde_json::Value;
use sim::time::civil_from_days;
use sim::{Ctx, Time};

/// The level names zap writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// The prefix every stored zap line starts with (what [`render`] recognises).
const PREFIX: &str = "{\"level\":\"";

/// Logs one line: `caller` is the upstream file (`"etcdserver/server.go"`), `fields` the
/// structured fields in order.
pub fn log<M: sim::Message>(
    ctx: &mut Ctx<'_, M>,
    level: Level,
    caller: &str,
    msg: &str,
    fields: &[(&str, Value)],
) {
    ctx.log(line(level, caller, msg, fields));
}

/// The stored form of a line: zap's JSON without `ts`.
pub fn line(level: Level, caller: &str, msg: &str, fields: &[(&str, Value)]) -> String {
    let mut s = String::with_capacity(64 + msg.len());
    s.push_str(PREFIX);
    s.push_str(level.as_str());
    s.push_str("\",\"caller\":");
    s.push_str(&Value::from(caller).to_string());
    s.push_str(",\"msg\":");
    s.push_str(&Value::from(msg).to_string());
    for (k, v) in fields {
        s.push(',');
        s.push_str(&Value::from(*k).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// Whether a logged line is one of this module's.
pub fn is_zap(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// The printed line: `ts` (the host's clock at logging, `epoch_secs` being virtual time zero
/// in Unix seconds) put after `level`, as zap orders its keys. A line that is not zap's is
/// returned as it is.
pub fn render(text: &str, local: Time, epoch_secs: i64) -> String {
    if !is_zap(text) {
        return text.to_string();
    }
    let Some(comma) = text.find(',') else {
        return text.to_string();
    };
    let (head, rest) = text.split_at(comma + 1);
    format!(
        "{head}\"ts\":\"{}\",{rest}",
        iso8601_millis(local, epoch_secs)
    )
}

/// `2026-01-01T00:00:03.120Z`.
fn iso8601_millis(local: Time, epoch_secs: i64) -> String {
    let nanos = local.as_nanos();
    let secs = epoch_secs + (nanos / 1_000_000_000) as i64;
    let millis = (nanos % 1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A member id as etcd prints it (lower-case hex, no padding).
pub fn member_id(id: u64) -> Value {
    Value::from(format!("{id:x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const EPOCH: i64 = 1_767_225_600;

    #[test]
    fn a_line_renders_as_zap_prints_it() {
        let text = line(
            Level::Info,
            "etcdserver/server.go",
            "starting etcd server",
            &[
                ("local-member-id", member_id(0xaec3)),
                ("n", Value::from(3)),
            ],
        );
        assert!(is_zap(&text));
        let out = render(&text, Time::from_nanos(3_120_500_000), EPOCH);
        assert_eq!(
            out,
            r#"{"level":"info","ts":"2026-01-01T00:00:03.120Z","caller":"etcdserver/server.go","msg":"starting etcd server","local-member-id":"aec3","n":3}"#
        );
    }

    #[test]
    fn dates_cross_months() {
        assert_eq!(
            iso8601_millis(Time::from_nanos(86_400 * 31 * 1_000_000_000), EPOCH),
            "2026-02-01T00:00:00.000Z"
        );
        assert_eq!(render("plain", Time::ZERO, EPOCH), "plain");
    }
}
