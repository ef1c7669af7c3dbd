//! The simulated network: per-link latency, loss and duplication, per-host impairments, and
//! partitions.
//!
//! A datagram's fate is drawn when it is sent, from the network's own random stream: lost, or
//! delivered after `latency + jitter` (plus each end's extra latency and the sender's
//! serialisation delay when it has a bandwidth limit), and possibly once more as a duplicate.
//! Jitter wider than the gap between two sends reorders them, as UDP (or Raft over several
//! connections) may. Partitions are one-way cuts `from -> to`; a symmetric partition is both
//! directions. A datagram is dropped if its link is cut when it is sent or when it arrives.
//! Messages between actors of the same host use the loopback: fixed latency, never lost or cut.
//!
//! Simplification: no congestion, no per-link queues; bandwidth is a per-host egress limit.

use crate::ids::HostId;
use crate::rng::SimRng;
use crate::time::{Duration, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Extra delay added to a link's base latency, drawn per message.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Jitter {
    /// Always exactly the base latency.
    None,
    /// Uniform in `[0, max)`.
    Uniform(Duration),
    /// Exponential with this mean (long tail).
    Exponential(Duration),
}

/// How one link (or the whole network by default) behaves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkConfig {
    /// One-way base latency.
    pub latency: Duration,
    /// Drawn on top of `latency` for each message.
    pub jitter: Jitter,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a delivered datagram is delivered twice (the copy with its own latency).
    pub duplicate: f64,
}

impl Default for LinkConfig {
    /// A data-centre LAN: 250 µs plus up to 250 µs of jitter, no loss, no duplication.
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_micros(250),
            jitter: Jitter::Uniform(Duration::from_micros(250)),
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// Impairments of one host's network interface, applied to traffic to and from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostNet {
    /// Added to every message to or from the host.
    pub extra_latency: Duration,
    /// Probability that a message to or from the host is lost (on top of the link's loss).
    pub loss: f64,
    /// Egress limit in bytes per second (messages report their size via `Message::wire_size`).
    pub bandwidth_bytes_per_sec: Option<u64>,
}

/// Counters of what happened to datagrams and stream messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetStats {
    /// Datagrams handed to the network.
    pub sent: u64,
    /// Datagrams delivered to a handler.
    pub delivered: u64,
    /// Datagrams lost on send (loss draw, partition, destination down).
    pub lost: u64,
    /// Datagrams dropped on arrival (partition, destination crashed meanwhile).
    pub dropped: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Messages delivered on streams.
    pub stream_delivered: u64,
}

/// What the network decided for one datagram.
pub(crate) enum Fate {
    Lost,
    Deliver {
        after: Duration,
        duplicate_after: Option<Duration>,
    },
}

pub(crate) struct Network {
    pub(crate) default: LinkConfig,
    pub(crate) loopback_latency: Duration,
    links: BTreeMap<(HostId, HostId), LinkConfig>,
    hosts: Vec<HostNet>,
    /// Whether any host has impairments: if not, a send skips reading both ends' records.
    any_host_impaired: bool,
    egress_busy_until: Vec<Time>,
    clogged: Vec<bool>,
    /// One-way cuts: traffic from any host of `.0` to any host of `.1` is dropped. A list of
    /// group pairs rather than host pairs, so cutting 500 hosts from 4,500 costs two bitmaps.
    cuts: Vec<(HostSet, HostSet)>,
    pub(crate) rng: SimRng,
    pub(crate) stats: NetStats,
}

impl Network {
    pub(crate) fn new(default: LinkConfig, loopback_latency: Duration, rng: SimRng) -> Network {
        Network {
            default,
            loopback_latency,
            links: BTreeMap::new(),
            hosts: Vec::new(),
            any_host_impaired: false,
            egress_busy_until: Vec::new(),
            clogged: Vec::new(),
            cuts: Vec::new(),
            rng,
            stats: NetStats::default(),
        }
    }

    pub(crate) fn add_host(&mut self) {
        self.hosts.push(HostNet::default());
        self.egress_busy_until.push(Time::ZERO);
        self.clogged.push(false);
    }

    pub(crate) fn host(&self, h: HostId) -> &HostNet {
        &self.hosts[h.index()]
    }

    /// Changes one host's impairments.
    pub(crate) fn update_host(&mut self, h: HostId, f: impl FnOnce(&mut HostNet)) {
        f(&mut self.hosts[h.index()]);
        self.any_host_impaired = self.hosts.iter().any(|n| *n != HostNet::default());
    }

    pub(crate) fn set_link(&mut self, from: HostId, to: HostId, cfg: Option<LinkConfig>) {
        match cfg {
            Some(c) => self.links.insert((from, to), c),
            None => self.links.remove(&(from, to)),
        };
    }

    /// Whether traffic `from -> to` is cut by a partition.
    #[inline]
    pub(crate) fn is_blocked(&self, from: HostId, to: HostId) -> bool {
        !self.cuts.is_empty()
            && from != to
            && self
                .cuts
                .iter()
                .any(|(f, t)| f.contains(from) && t.contains(to))
    }

    /// Whether a connection between `a` and `b` is stalled: TCP needs both directions.
    pub(crate) fn is_cut(&self, a: HostId, b: HostId) -> bool {
        self.is_blocked(a, b) || self.is_blocked(b, a)
    }

    /// Cuts traffic from every host of `from` to every host of `to`.
    pub(crate) fn block(&mut self, from: &[HostId], to: &[HostId]) {
        if from.is_empty() || to.is_empty() {
            return;
        }
        let n = self.hosts.len();
        let cut = (HostSet::of(n, from), HostSet::of(n, to));
        if !self.cuts.contains(&cut) {
            self.cuts.push(cut);
        }
    }

    pub(crate) fn heal(&mut self) {
        self.cuts.clear();
    }

    pub(crate) fn set_clogged(&mut self, h: HostId, clogged: bool) {
        self.clogged[h.index()] = clogged;
    }

    #[inline]
    pub(crate) fn is_clogged(&self, h: HostId) -> bool {
        self.clogged[h.index()]
    }

    /// Draws the fate of one datagram (`lossy`) or stream message (not `lossy`: only latency).
    #[inline]
    pub(crate) fn draw(
        &mut self,
        now: Time,
        from: HostId,
        to: HostId,
        size: u64,
        lossy: bool,
    ) -> Fate {
        if from == to {
            return Fate::Deliver {
                after: self.loopback_latency,
                duplicate_after: None,
            };
        }
        let link = if self.links.is_empty() {
            self.default
        } else {
            self.links.get(&(from, to)).copied().unwrap_or(self.default)
        };
        let (src, dst) = if self.any_host_impaired {
            (self.hosts[from.index()], self.hosts[to.index()])
        } else {
            (HostNet::default(), HostNet::default())
        };
        if lossy
            && (self.rng.chance(link.loss)
                || self.rng.chance(src.loss)
                || self.rng.chance(dst.loss))
        {
            return Fate::Lost;
        }
        let mut after = self.latency(&link) + src.extra_latency + dst.extra_latency;
        if let Some(bw) = src.bandwidth_bytes_per_sec.filter(|bw| *bw > 0) {
            let send_ns = u64::try_from(u128::from(size) * 1_000_000_000 / u128::from(bw))
                .unwrap_or(u64::MAX);
            let busy = &mut self.egress_busy_until[from.index()];
            let start = (*busy).max(now);
            *busy = start + Duration::from_nanos(send_ns);
            after = after + (*busy - now);
        }
        let duplicate_after = if lossy && self.rng.chance(link.duplicate) {
            Some(self.latency(&link) + src.extra_latency + dst.extra_latency)
        } else {
            None
        };
        Fate::Deliver {
            after,
            duplicate_after,
        }
    }

    fn latency(&mut self, link: &LinkConfig) -> Duration {
        let extra = match link.jitter {
            Jitter::None => 0,
            Jitter::Uniform(max) => self.rng.below(max.as_nanos()),
            Jitter::Exponential(mean) => {
                let x = self.rng.exponential(mean.as_nanos() as f64);
                // Bounded so that one unlucky draw cannot park a message for ever.
                x.min(mean.as_nanos() as f64 * 50.0) as u64
            }
        };
        link.latency + Duration::from_nanos(extra)
    }
}

/// A set of hosts as a bitmap.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HostSet(Vec<u64>);

impl HostSet {
    fn of(host_count: usize, hosts: &[HostId]) -> HostSet {
        let mut words = vec![0u64; host_count.div_ceil(64)];
        for h in hosts {
            if let Some(w) = words.get_mut(h.index() / 64) {
                *w |= 1 << (h.index() % 64);
            }
        }
        HostSet(words)
    }

    #[inline]
    fn contains(&self, h: HostId) -> bool {
        self.0
            .get(h.index() / 64)
            .is_some_and(|w| w & (1 << (h.index() % 64)) != 0)
    }
}
