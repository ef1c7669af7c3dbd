//! kube-proxy (being built: see issue 6).
