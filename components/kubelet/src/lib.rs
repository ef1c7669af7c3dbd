//! The kubelet (being built: see issue 6).
