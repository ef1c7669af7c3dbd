//! kube-scheduler (being built: see issue 11).
