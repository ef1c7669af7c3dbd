//! AGE and "ago" columns: kubectl's `duration.HumanDuration` and `translateTimestampSince`.
//!
//! Follows `staging/src/k8s.io/apimachinery/pkg/util/duration/duration.go` and
//! `pkg/printers/internalversion/printers.go`. Times are whole seconds (API timestamps have
//! second precision), so sub-second rounding never arises.

use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// kubectl's `HumanDuration` of `secs` seconds: `45s`, `5m12s`, `3h2m`, `2d3h`, `2y10d`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".to_string();
    }
    if secs < 0 {
        return "0s".to_string();
    }
    if secs < 60 * 2 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `translateTimestampSince`: the age of `t` at `now_secs` (Unix seconds), `<unknown>` when
/// the timestamp is unset.
pub fn since(t: Option<&Time>, now_secs: i64) -> String {
    match t {
        Some(t) => human_duration(now_secs - t.0.as_second()),
        None => "<unknown>".to_string(),
    }
}
