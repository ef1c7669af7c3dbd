//! kube-proxy (being built).

pub mod chain_name;
pub mod iptables;
pub mod ipvs;
pub mod probability;
pub mod rules;
pub mod service_port;
pub mod testdata;
