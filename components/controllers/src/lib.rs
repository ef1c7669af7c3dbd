//! kube-controller-manager (being built: see issue 5).
