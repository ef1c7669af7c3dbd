//! Scripted interaction tests in the style of etcd-io/raft's `testdata/*.txt`: a small network
//! of members where each test delivers, drops and partitions messages explicitly, plus a
//! proptest that drives random faults and checks the safety invariants after every step.

mod network;
mod random_faults;
mod scenarios;
