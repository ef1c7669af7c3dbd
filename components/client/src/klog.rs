//! klog-style component logs: what `kubectl logs -n kube-system kube-scheduler-…` prints.
//!
//! Components log structured lines, as Kubernetes' components do since structured logging
//! (`klog.InfoS(msg, "key", value, …)`, k8s.io/klog/v2 `klogr` text format): a quoted
//! message, then `key="value"` pairs. The line is kept in the engine's per-actor log
//! ([`sim::Ctx::log`], stamped with the host's clock, kept across crashes) as
//! `<severity><file:line>] <message> <pairs>`; [`render`] adds klog's header
//! (`Lmmdd hh:mm:ss.uuuuuu threadid file:line] …`) from the host's clock when it is printed.
//!
//! Simplified: the thread id is always 1 (a simulated process has one); the file:line is the
//! upstream source file that logs the message, its line left out where unknown.

use api::k8s_openapi::jiff::Timestamp;
use sim::{Ctx, LogLine};

/// klog's severities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    fn letter(self) -> char {
        match self {
            Severity::Info => 'I',
            Severity::Warning => 'W',
            Severity::Error => 'E',
        }
    }
}

/// `klog.InfoS(msg, pairs…)` logged from the upstream source `file` (`"schedule_one.go:286"`).
pub fn info<M: sim::Message>(ctx: &mut Ctx<'_, M>, file: &str, msg: &str, pairs: &[(&str, &str)]) {
    log(ctx, Severity::Info, file, msg, pairs);
}

/// `klog.Infof(format, args…)`: the formatted text as it is, unquoted and without pairs.
pub fn infof<M: sim::Message>(ctx: &mut Ctx<'_, M>, file: &str, text: &str) {
    let mut s = String::with_capacity(4 + file.len() + text.len());
    s.push(Severity::Info.letter());
    s.push_str(file);
    s.push_str("] ");
    s.push_str(text);
    ctx.log(s);
}

/// `klog.ErrorS(err, msg, pairs…)`: the error goes first among the pairs, as klog puts it.
pub fn error<M: sim::Message>(
    ctx: &mut Ctx<'_, M>,
    file: &str,
    err: &str,
    msg: &str,
    pairs: &[(&str, &str)],
) {
    let mut all = Vec::with_capacity(pairs.len() + 1);
    all.push(("err", err));
    all.extend_from_slice(pairs);
    log(ctx, Severity::Error, file, msg, &all);
}

/// A line at any severity.
pub fn log<M: sim::Message>(
    ctx: &mut Ctx<'_, M>,
    severity: Severity,
    file: &str,
    msg: &str,
    pairs: &[(&str, &str)],
) {
    ctx.log(line(severity, file, msg, pairs));
}

/// The stored form of a structured line (without klog's time header).
pub fn line(severity: Severity, file: &str, msg: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = String::with_capacity(32 + msg.len() + pairs.len() * 24);
    s.push(severity.letter());
    s.push_str(file);
    s.push_str("] ");
    quote_into(&mut s, msg);
    for (k, v) in pairs {
        s.push(' ');
        s.push_str(k);
        s.push('=');
        quote_into(&mut s, v);
    }
    s
}

/// klog's text format for one logged line: `I1125 12:00:03.120000       1 file.go:286] …`.
/// `epoch_secs` is the wall-clock second virtual time zero stands for. A line logged without
/// this module (plain `ctx.log`) is printed as an info line from `kubesim`.
pub fn render(logged: &LogLine, epoch_secs: i64) -> String {
    let (severity, rest) = match logged.text.chars().next() {
        Some(c @ ('I' | 'W' | 'E' | 'F')) if logged.text.contains("] ") => {
            (c, &logged.text[c.len_utf8()..])
        }
        _ => ('I', ""),
    };
    let nanos = logged.local.as_nanos();
    let secs = epoch_secs + (nanos / 1_000_000_000) as i64;
    let micros = (nanos % 1_000_000_000) / 1_000;
    let stamp = Timestamp::from_second(secs)
        .map(|t| t.strftime("%m%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| "0101 00:00:00".to_string());
    if rest.is_empty() {
        format!(
            "{severity}{stamp}.{micros:06}       1 kubesim] {}",
            logged.text
        )
    } else {
        format!("{severity}{stamp}.{micros:06}       1 {rest}")
    }
}

/// Go's `%q`-like quoting as klog's text logger writes values.
fn quote_into(s: &mut String, v: &str) {
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::Time;

    fn logged(text: String, nanos: u64) -> LogLine {
        LogLine {
            local: Time::from_nanos(nanos),
            at: Time::from_nanos(nanos),
            text,
            boot: 0,
            run: 0,
        }
    }

    #[test]
    fn a_structured_line_renders_as_klog_prints_it() {
        let text = line(
            Severity::Info,
            "schedule_one.go:286",
            "Successfully bound pod to node",
            &[("pod", "default/nginx-1"), ("node", "kubesim-worker")],
        );
        // 2026-01-01T00:00:03.120 virtual.
        let out = render(&logged(text, 3_120_000_000), api::WALL_EPOCH_SECS);
        assert_eq!(
            out,
            "I0101 00:00:03.120000       1 schedule_one.go:286] \"Successfully bound pod to node\" pod=\"default/nginx-1\" node=\"kubesim-worker\""
        );
    }

    #[test]
    fn errors_lead_with_err_and_quotes_are_escaped() {
        let text = line(
            Severity::Error,
            "reflector.go:158",
            "Failed to watch",
            &[("err", "the \"x\" is gone")],
        );
        let out = render(&logged(text, 0), api::WALL_EPOCH_SECS);
        assert!(out.starts_with("E0101 00:00:00.000000       1 reflector.go:158] "));
        assert!(out.ends_with(r#""Failed to watch" err="the \"x\" is gone""#));
    }

    #[test]
    fn a_plain_line_is_an_info_line_from_kubesim() {
        let out = render(
            &logged("leaderelection lost".into(), 1_000),
            api::WALL_EPOCH_SECS,
        );
        assert_eq!(
            out,
            "I0101 00:00:00.000001       1 kubesim] leaderelection lost"
        );
    }
}
