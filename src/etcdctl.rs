//! The `Etcdctl(...)` scenario step: etcdctl's own command line run against the simulated
//! etcd, printing what etcdctl prints (`endpoint status -w table`, `member list`,
//! `get /registry/pods --prefix --keys-only`, ...).
//!
//! The command language, the requests and the printers live in `cluster::etcdctl` (they
//! need the cluster's members and its virtual clock); this module is the runner's entry
//! point. To wire it: `pub mod etcdctl;` in `src/lib.rs` and `cluster = { workspace = true }`
//! in the root package's `[dependencies]`.
//!
//! A step takes the virtual time the cluster needs to answer: an answering member costs a
//! network round trip (plus a Raft round for writes and linearizable reads); an endpoint that
//! is down or partitioned away costs etcdctl's `--command-timeout` (5 s).

pub use cluster::etcdctl::{DEFAULT_COMMAND_TIMEOUT, ETCD_VERSION, EtcdctlOutput};

/// Runs one `Etcdctl("...")` step. Print `text` under the step's header line
/// (`[00:00:03] $ etcdctl endpoint status -w table`); a non-zero `status` is etcdctl's exit
/// code (1: a request failed, 4: unsupported output format, 128: bad arguments). Like a failed
/// kubectl step, it does not stop the run; `Expect`/`Always` and the invariants decide the
/// verdict. If an invariant broke while the step ran, the engine holds the finding and the
/// runner's next `sim_mut().run_*` call returns it.
pub fn run_step(cluster: &mut cluster::Cluster, line: &str) -> EtcdctlOutput {
    cluster::etcdctl::run(cluster, line)
}
