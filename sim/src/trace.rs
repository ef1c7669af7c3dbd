//! The trace: a running 64-bit hash of every event the engine handles, and optionally one JSON
//! line per event.
//!
//! The hash is fixed and documented so that the same (scenario, seed) prints the same hash in
//! debug and release, on any machine: starting from `0xcbf29ce484222325`, every 64-bit word `w`
//! is folded in as `h = (h.rotl(5) ^ w) * 0x517cc1b727220a95 (mod 2^64)` (the word step of
//! rustc's FxHasher). Byte strings are folded as their length, then 8-byte little-endian chunks,
//! the last one zero-padded. Each event contributes, in order: its kind code
//! ([`TraceKind::code`]), the true virtual time in ns, the source id, the destination id
//! (`u32::MAX` for "none/external"), then whatever the message's
//! [`Message::trace_digest`](crate::Message::trace_digest) writes.

use crate::time::Time;
use std::io::Write;

/// The engine's fixed hasher (see the module docs for the exact algorithm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHasher {
    h: u64,
}

const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const MULT: u64 = 0x517c_c1b7_2722_0a95;

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher { h: SEED }
    }
}

impl TraceHasher {
    /// A hasher in its initial state.
    pub fn new() -> TraceHasher {
        TraceHasher::default()
    }
    /// Folds in one 64-bit word.
    #[inline]
    pub fn write_u64(&mut self, w: u64) {
        self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(MULT);
    }
    /// Folds in a `u32` as one word.
    #[inline]
    pub fn write_u32(&mut self, w: u32) {
        self.write_u64(u64::from(w));
    }
    /// Folds in a signed integer as one word (two's complement).
    #[inline]
    pub fn write_i64(&mut self, w: i64) {
        self.write_u64(w as u64);
    }
    /// Folds in a bool as one word (0 or 1).
    #[inline]
    pub fn write_bool(&mut self, b: bool) {
        self.write_u64(u64::from(b));
    }
    /// Folds in bytes: the length, then 8-byte little-endian chunks, the last zero-padded.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.write_u64(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    /// Folds in a string as its UTF-8 bytes.
    pub fn write_str(&mut self, s: &str) {
        self.write_bytes(s.as_bytes());
    }
    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.h
    }
}

/// What kind of event a trace record is. The codes are part of the hash: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TraceKind {
    /// An actor's `on_start` ran (first start or after a restart).
    Start,
    /// A datagram was delivered.
    Message,
    /// A timer fired.
    Timer,
    /// A message on a stream was delivered.
    StreamMessage,
    /// A stream end was told its stream closed.
    StreamClosed,
    /// An fsync completed.
    Fsync,
    /// A fault was applied.
    Fault,
    /// A message was dropped on delivery (partition, crash, stale incarnation).
    Drop,
    /// A message was lost on send (loss probability, partition, host down).
    Lost,
    /// A message injected from outside was delivered.
    External,
}

impl TraceKind {
    /// The fixed code folded into the hash.
    pub const fn code(self) -> u64 {
        match self {
            TraceKind::Start => 1,
            TraceKind::Message => 2,
            TraceKind::Timer => 3,
            TraceKind::StreamMessage => 4,
            TraceKind::StreamClosed => 5,
            TraceKind::Fsync => 6,
            TraceKind::Fault => 7,
            TraceKind::Drop => 8,
            TraceKind::Lost => 9,
            TraceKind::External => 10,
        }
    }
    /// The name written in JSON lines.
    pub const fn name(self) -> &'static str {
        match self {
            TraceKind::Start => "start",
            TraceKind::Message => "msg",
            TraceKind::Timer => "timer",
            TraceKind::StreamMessage => "stream_msg",
            TraceKind::StreamClosed => "stream_closed",
            TraceKind::Fsync => "fsync",
            TraceKind::Fault => "fault",
            TraceKind::Drop => "drop",
            TraceKind::Lost => "lost",
            TraceKind::External => "external",
        }
    }
}

/// The running hash plus an optional JSON-lines sink.
pub(crate) struct Trace {
    pub(crate) hasher: TraceHasher,
    pub(crate) writer: Option<Box<dyn Write>>,
    pub(crate) write_error: Option<String>,
}

/// One JSON line, written only when a writer is set (so labels are only built then).
pub(crate) struct TraceLine<'a> {
    pub(crate) time: Time,
    pub(crate) kind: TraceKind,
    pub(crate) src: &'a str,
    pub(crate) dst: &'a str,
    pub(crate) label: &'a str,
}

impl Trace {
    pub(crate) fn new() -> Trace {
        Trace {
            hasher: TraceHasher::new(),
            writer: None,
            write_error: None,
        }
    }

    /// Writes one line; the first I/O error stops the writer and is kept for the caller.
    pub(crate) fn write_line(&mut self, line: &TraceLine<'_>) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let json = serde_json::json!({
            "ns": line.time.as_nanos(),
            "t": line.time.to_string(),
            "kind": line.kind.name(),
            "src": line.src,
            "dst": line.dst,
            "label": line.label,
        });
        if let Err(e) = writeln!(w, "{json}") {
            self.write_error = Some(e.to_string());
            self.writer = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fixed() {
        let mut h = TraceHasher::new();
        assert_eq!(h.finish(), 0xcbf2_9ce4_8422_2325);
        h.write_u64(1);
        let expect = (0xcbf2_9ce4_8422_2325u64.rotate_left(5) ^ 1).wrapping_mul(MULT);
        assert_eq!(h.finish(), expect);
    }

    #[test]
    fn bytes_are_length_prefixed() {
        let mut a = TraceHasher::new();
        a.write_str("ab");
        a.write_str("c");
        let mut b = TraceHasher::new();
        b.write_str("a");
        b.write_str("bc");
        assert_ne!(a.finish(), b.finish());
    }
}
