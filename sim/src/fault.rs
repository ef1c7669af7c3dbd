//! Faults as plain data, so a scenario can write them and a fuzzer can generate and shrink a
//! schedule `Vec<(Time, Fault)>` of them.
//!
//! Hosts are named by [`HostId`]; resolving node names (and targets such as "the etcd leader")
//! is the scenario runner's job. The engine applies a fault with [`crate::Sim::apply_fault`] or
//! at a scheduled time with [`crate::Sim::schedule_fault`].

use crate::ids::HostId;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// One fault. Applying it is idempotent unless stated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Cut every link between the two groups, both directions (adds to existing cuts).
    Partition(Vec<HostId>, Vec<HostId>),
    /// Cut every link from each of `from` to each of `to`, that direction only.
    OneWay {
        /// Senders whose traffic is cut.
        from: Vec<HostId>,
        /// Receivers that stop hearing from them.
        to: Vec<HostId>,
    },
    /// Remove every partition (not loss, latency or clogging).
    Heal,
    /// Loss probability network-wide (`host: None`, replaces the default link's loss) or for
    /// traffic to and from one host (`Some`).
    Loss {
        /// The host, or the whole network.
        host: Option<HostId>,
        /// Probability in `[0, 1]`.
        p: f64,
    },
    /// Base latency network-wide (`host: None`, replaces the default link's base latency) or an
    /// extra latency on traffic to and from one host (`Some`).
    Latency {
        /// The host, or the whole network.
        host: Option<HostId>,
        /// The latency.
        d: Duration,
    },
    /// Duplication probability of the default link.
    Duplicate(f64),
    /// Egress bandwidth limit of a host in bytes per second (`None` removes it).
    Bandwidth(HostId, Option<u64>),
    /// Hold all traffic to and from a host (delivered, in order, on `Unclog`).
    Clog(HostId),
    /// Release a clogged host's traffic.
    Unclog(HostId),
    /// The host dies: volatile state, pending timers and in-flight messages to it are lost,
    /// unsynced disk writes are lost. No-op on a crashed host.
    Crash(HostId),
    /// A crashed host boots: every actor is rebuilt by its factory from the disk and started.
    /// No-op on a running host.
    Restart(HostId),
    /// A GC-like stall: nothing on the host runs for this long; events due meanwhile are held
    /// and delivered in order when it ends. A second pause extends the first. No-op on a
    /// crashed host; a crash ends the pause.
    Pause(HostId, Duration),
    /// Set the host's clock to read true time plus this many nanoseconds (may be negative).
    Skew(HostId, i64),
    /// Set the host's clock drift in parts per million (positive runs fast).
    Drift(HostId, i64),
    /// Wipe the host's disk, durable writes included (a replaced disk).
    DiskLoss(HostId),
}

impl Fault {
    /// The hosts the fault names (for validation and reports).
    pub fn hosts(&self) -> Vec<HostId> {
        match self {
            Fault::Partition(a, b) => a.iter().chain(b).copied().collect(),
            Fault::OneWay { from, to } => from.iter().chain(to).copied().collect(),
            Fault::Heal | Fault::Duplicate(_) => Vec::new(),
            Fault::Loss { host, .. } | Fault::Latency { host, .. } => {
                host.iter().copied().collect()
            }
            Fault::Bandwidth(h, _)
            | Fault::Clog(h)
            | Fault::Unclog(h)
            | Fault::Crash(h)
            | Fault::Restart(h)
            | Fault::Pause(h, _)
            | Fault::Skew(h, _)
            | Fault::Drift(h, _)
            | Fault::DiskLoss(h) => vec![*h],
        }
    }

    /// The fault as a person reads it, hosts by name: `Partition([a, b], [c])`, `Crash(c)`.
    pub fn describe(&self, name: impl Fn(HostId) -> String) -> String {
        let list = |hs: &[HostId]| hs.iter().map(|h| name(*h)).collect::<Vec<_>>().join(", ");
        let scope = |h: &Option<HostId>| h.map_or_else(|| String::from("network"), &name);
        match self {
            Fault::Partition(a, b) => format!("Partition([{}], [{}])", list(a), list(b)),
            Fault::OneWay { from, to } => {
                format!("OneWay(from: [{}], to: [{}])", list(from), list(to))
            }
            Fault::Heal => String::from("Heal"),
            Fault::Loss { host, p } => format!("Loss({}, {p})", scope(host)),
            Fault::Latency { host, d } => format!("Latency({}, {d})", scope(host)),
            Fault::Duplicate(p) => format!("Duplicate({p})"),
            Fault::Bandwidth(h, bw) => match bw {
                Some(b) => format!("Bandwidth({}, {b} B/s)", name(*h)),
                None => format!("Bandwidth({}, unlimited)", name(*h)),
            },
            Fault::Clog(h) => format!("Clog({})", name(*h)),
            Fault::Unclog(h) => format!("Unclog({})", name(*h)),
            Fault::Crash(h) => format!("Crash({})", name(*h)),
            Fault::Restart(h) => format!("Restart({})", name(*h)),
            Fault::Pause(h, d) => format!("Pause({}, {d})", name(*h)),
            Fault::Skew(h, ns) => format!("Skew({}, {ns}ns)", name(*h)),
            Fault::Drift(h, ppm) => format!("Drift({}, {ppm}ppm)", name(*h)),
            Fault::DiskLoss(h) => format!("DiskLoss({})", name(*h)),
        }
    }

    /// A stable code per variant, folded into the trace hash.
    pub(crate) fn code(&self) -> u64 {
        match self {
            Fault::Partition(..) => 1,
            Fault::OneWay { .. } => 2,
            Fault::Heal => 3,
            Fault::Loss { .. } => 4,
            Fault::Latency { .. } => 5,
            Fault::Duplicate(_) => 6,
            Fault::Bandwidth(..) => 7,
            Fault::Clog(_) => 8,
            Fault::Unclog(_) => 9,
            Fault::Crash(_) => 10,
            Fault::Restart(_) => 11,
            Fault::Pause(..) => 12,
            Fault::Skew(..) => 13,
            Fault::Drift(..) => 14,
            Fault::DiskLoss(_) => 15,
        }
    }
}
