//! The container runtime (being built: see issue 6).
