//! containerd's own log lines, as `journalctl -u containerd` shows them on a kind node:
//! logrus's text format, `time="2026-01-01T00:00:03.123456789Z" level=info msg="…"`.
//!
//! Follows containerd 2.x's CRI plugin (`internal/cri/server/*.go`): it logs each CRI call
//! when it starts (`RunPodSandbox for &PodSandboxMetadata{…}`, `StartContainer for "<id>"`)
//! and when it returns (`… returns sandbox id "<id>"`, `… returns successfully`), image pulls
//! (`PullImage "<ref>"`), stops with their timeout and signal, and container exits
//! (`received exit event`). A line is kept in the engine's per-actor log without its time
//! ([`sim::Ctx::log`] stamps the host's clock); [`render`] puts it back when it is printed.
//! Simplified: the exit event omits the pid and exit time fields.

use api::k8s_openapi::jiff::Timestamp;
use sim::{Ctx, Time};

/// The prefix every stored line starts with (what [`is_logrus`] recognises).
const PREFIX: &str = "level=";

/// An info line.
pub fn info<M: sim::Message>(ctx: &mut Ctx<'_, M>, msg: &str) {
    ctx.log(line("info", msg, None));
}

/// An error line with the error, as containerd logs a failed call.
pub fn error<M: sim::Message>(ctx: &mut Ctx<'_, M>, msg: &str, err: &str) {
    ctx.log(line("error", msg, Some(err)));
}

/// The stored form of a line: logrus's text without `time`.
pub fn line(level: &str, msg: &str, err: Option<&str>) -> String {
    let mut s = format!("{PREFIX}{level} msg={}", quote(msg));
    if let Some(e) = err {
        s.push_str(" error=");
        s.push_str(&quote(e));
    }
    s
}

/// Whether a logged line is one of containerd's.
pub fn is_logrus(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// The line as printed: `time` from the host's clock (`local`) and `epoch_secs`, the wall
/// second virtual time zero stands for, with nanoseconds as containerd writes them.
pub fn render(text: &str, local: Time, epoch_secs: i64) -> String {
    let nanos = local.as_nanos();
    let secs = epoch_secs + (nanos / 1_000_000_000) as i64;
    let stamp = Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_string());
    format!("time=\"{stamp}.{:09}Z\" {text}", nanos % 1_000_000_000)
}

/// Go's `%q` as logrus quotes a value.
fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
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
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_renders_as_journalctl_shows_it() {
        let text = line(
            "info",
            "StartContainer for \"abc\" returns successfully",
            None,
        );
        assert!(is_logrus(&text));
        assert_eq!(
            render(&text, Time::from_nanos(3_120_000_001), api::WALL_EPOCH_SECS),
            r#"time="2026-01-01T00:00:03.120000001Z" level=info msg="StartContainer for \"abc\" returns successfully""#
        );
        let err = line(
            "error",
            "PullImage \"nginx:1.161\" failed",
            Some("not found"),
        );
        assert_eq!(
            err,
            r#"level=error msg="PullImage \"nginx:1.161\" failed" error="not found""#
        );
    }
}
