//! The contract between the engine and the user's message type.
//!
//! The engine is generic over one message enum `M` per simulation (kubesim's is the union of
//! every component's messages). Large payloads should be `Arc`s inside `M`: the engine clones a
//! message only to duplicate it on the network.

use crate::trace::TraceHasher;

/// A message type the engine can carry and trace.
pub trait Message: Clone + 'static {
    /// Folds a canonical digest of the message into the trace hash. It must depend only on the
    /// message's content (never on addresses or a randomly seeded hasher). Hashing a variant tag
    /// and the few fields that identify the message is enough; it runs for every delivery.
    fn trace_digest(&self, h: &mut TraceHasher);

    /// A short human-readable label for JSON trace lines and findings (built only when needed).
    fn trace_label(&self) -> String {
        String::from("message")
    }

    /// Size on the wire in bytes, used only when a bandwidth limit is configured.
    fn wire_size(&self) -> u64 {
        0
    }
}

impl Message for u64 {
    fn trace_digest(&self, h: &mut TraceHasher) {
        h.write_u64(*self);
    }
    fn trace_label(&self) -> String {
        self.to_string()
    }
    fn wire_size(&self) -> u64 {
        8
    }
}

impl Message for String {
    fn trace_digest(&self, h: &mut TraceHasher) {
        h.write_str(self);
    }
    fn trace_label(&self) -> String {
        self.clone()
    }
    fn wire_size(&self) -> u64 {
        self.len() as u64
    }
}
