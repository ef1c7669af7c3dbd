//! Simulated clients on one node and what they saw: a generator per Service started by the
//! scenario's `Traffic(service:, rps:)`, requests in flight with their deadline, and the
//! outcome counters (totals and per second of virtual time) and latencies per Service.
//!
//! Arrivals are a Poisson process by default (exponential gaps drawn from the kube-proxy
//! actor's own random stream, as independent clients arrive) or evenly spaced. Each request
//! is a new connection from one of the node's `clients` source addresses (taken from the top
//! of the node's /24, so they are stable per client for ClientIP affinity), resolved through
//! the node's current rules. A request with no answer within the client timeout (1 s by
//! default, like `curl --max-time 1`) counts as timed out; a late answer is ignored.
//!
//! Bounds: at most [`MAX_IN_FLIGHT`] requests wait for an answer per node (past that a new
//! request counts as timed out at once: the client cannot open more connections); per-second
//! counters keep [`MAX_SECONDS`] seconds; a generator sends at most [`MAX_RPS`]; latencies keep the first [`MAX_LATENCY_SAMPLES`]
//! answered requests per Service.

use std::collections::BTreeMap;

use sim::{Duration, SimRng, Time};

/// Requests waiting for an answer, per node.
pub const MAX_IN_FLIGHT: usize = 65_536;
/// Seconds of per-second counters kept per Service.
pub const MAX_SECONDS: usize = 86_400;
/// Latency samples kept per Service.
pub const MAX_LATENCY_SAMPLES: usize = 200_000;
/// Generators per node.
pub const MAX_GENERATORS: usize = 64;
/// Requests per second one generator sends at most (a higher `rps` is clamped).
pub const MAX_RPS: f64 = 100_000.0;

/// How requests arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Arrivals {
    /// Exponential gaps with mean `1 / rps`.
    #[default]
    Poisson,
    /// Exactly `1 / rps` apart.
    Even,
}

/// What the scenario asked for on this node.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficSpec {
    pub namespace: String,
    pub service: String,
    /// Requests per second from this node (0 stops the generator).
    pub rps: f64,
    pub arrivals: Arrivals,
    /// Connect to this node's NodePort of the Service instead of its cluster IP (an
    /// external client sending to this node): `KUBE-NODEPORTS` routes it.
    pub node_port: Option<u16>,
}

impl TrafficSpec {
    /// `service` is `name` (namespace `default`) or `namespace/name`.
    pub fn new(service: &str, rps: f64) -> Self {
        let (namespace, service) = service.split_once('/').unwrap_or(("default", service));
        TrafficSpec {
            namespace: namespace.to_string(),
            service: service.to_string(),
            rps,
            arrivals: Arrivals::Poisson,
            node_port: None,
        }
    }

    /// `namespace/name`: the key of the counters.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.service)
    }

    /// The gap before the next request.
    pub fn gap(&self, rng: &mut SimRng) -> Duration {
        if self.rps.is_nan() || self.rps <= 0.0 {
            return Duration::MAX;
        }
        let mean = 1e9 / self.rps.min(MAX_RPS);
        let nanos = match self.arrivals {
            Arrivals::Poisson => rng.exponential(mean),
            Arrivals::Even => mean,
        };
        // At least 1 ns so a huge rate cannot stall virtual time.
        Duration::from_nanos((nanos.round() as u64).max(1))
    }
}

/// How requests ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficCounts {
    /// Requests started.
    pub sent: u64,
    /// Answered with a status below 500.
    pub ok: u64,
    /// Answered with a 5xx.
    pub server_errors: u64,
    /// Connection refused: nothing listens at the pod address.
    pub refused: u64,
    /// Rejected by the node's rules: the Service has no endpoints.
    pub rejected: u64,
    /// No answer within the client timeout (pod's node down or cut off, request lost).
    pub timed_out: u64,
    /// The node's rules know no such Service (not created yet, or not synced to this node):
    /// the client's name lookup fails.
    pub unresolved: u64,
}

impl TrafficCounts {
    /// Requests that ended, one way or another.
    pub fn finished(&self) -> u64 {
        self.ok + self.failed()
    }

    pub fn failed(&self) -> u64 {
        self.server_errors + self.refused + self.rejected + self.timed_out + self.unresolved
    }

    /// Failed / finished (0 when nothing finished): what `Expect(traffic_errors:)` judges.
    pub fn error_fraction(&self) -> f64 {
        let done = self.finished();
        if done == 0 {
            0.0
        } else {
            self.failed() as f64 / done as f64
        }
    }

    pub fn add(&mut self, o: &TrafficCounts) {
        self.sent += o.sent;
        self.ok += o.ok;
        self.server_errors += o.server_errors;
        self.refused += o.refused;
        self.rejected += o.rejected;
        self.timed_out += o.timed_out;
        self.unresolved += o.unresolved;
    }
}

/// How one request ended, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Ok,
    ServerError,
    Refused,
    Rejected,
    TimedOut,
    Unresolved,
}

/// One Service's counters on this node.
#[derive(Clone, Debug, Default)]
pub struct ServiceTraffic {
    pub totals: TrafficCounts,
    /// Second of virtual time the request started in → counts.
    pub per_second: BTreeMap<u64, TrafficCounts>,
    /// Round-trip times of answered requests.
    pub latencies: Vec<Duration>,
}

impl ServiceTraffic {
    fn bucket(&mut self, started: Time) -> Option<&mut TrafficCounts> {
        let s = started.as_secs();
        if self.per_second.len() >= MAX_SECONDS && !self.per_second.contains_key(&s) {
            return None;
        }
        Some(self.per_second.entry(s).or_default())
    }

    pub fn record_sent(&mut self, started: Time) {
        self.totals.sent += 1;
        if let Some(b) = self.bucket(started) {
            b.sent += 1;
        }
    }

    pub fn record(&mut self, started: Time, ending: Ending, latency: Option<Duration>) {
        fn bump(c: &mut TrafficCounts, e: Ending) {
            match e {
                Ending::Ok => c.ok += 1,
                Ending::ServerError => c.server_errors += 1,
                Ending::Refused => c.refused += 1,
                Ending::Rejected => c.rejected += 1,
                Ending::TimedOut => c.timed_out += 1,
                Ending::Unresolved => c.unresolved += 1,
            }
        }
        bump(&mut self.totals, ending);
        if let Some(b) = self.bucket(started) {
            bump(b, ending);
        }
        if let Some(l) = latency
            && self.latencies.len() < MAX_LATENCY_SAMPLES
        {
            self.latencies.push(l);
        }
    }

    /// The `q`-quantile (0..=1) of answered requests' round trips (nearest rank).
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut v = self.latencies.clone();
        v.sort_unstable();
        let rank = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

/// A request waiting for its answer.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub service: String,
    pub started: Time,
    pub deadline: Time,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_quantiles() {
        let mut s = ServiceTraffic::default();
        for i in 0..10u64 {
            let t = Time::from_millis(i * 300);
            s.record_sent(t);
            let ending = if i == 3 { Ending::Refused } else { Ending::Ok };
            s.record(t, ending, Some(Duration::from_millis(i + 1)));
        }
        assert_eq!(s.totals.sent, 10);
        assert_eq!(s.totals.failed(), 1);
        assert!((s.totals.error_fraction() - 0.1).abs() < 1e-12);
        assert_eq!(s.per_second[&0].sent, 4);
        assert_eq!(s.per_second[&0].refused, 1);
        assert_eq!(s.latency_quantile(0.5), Some(Duration::from_millis(5)));
        assert_eq!(s.latency_quantile(0.99), Some(Duration::from_millis(10)));
        let spec = TrafficSpec::new("team/web", 10.0);
        assert_eq!(spec.key(), "team/web");
        assert_eq!(TrafficSpec::new("web", 1.0).key(), "default/web");
    }

    #[test]
    fn even_arrivals_are_exact_and_poisson_ones_average_out() {
        let mut rng = SimRng::fork(1, "t");
        let mut even = TrafficSpec::new("web", 50.0);
        even.arrivals = Arrivals::Even;
        assert_eq!(even.gap(&mut rng), Duration::from_millis(20));
        let poisson = TrafficSpec::new("web", 50.0);
        let total: u64 = (0..10_000).map(|_| poisson.gap(&mut rng).as_nanos()).sum();
        let mean_ms = total as f64 / 10_000.0 / 1e6;
        assert!((19.0..21.0).contains(&mean_ms), "{mean_ms}");
        assert_eq!(TrafficSpec::new("web", 0.0).gap(&mut rng), Duration::MAX);
    }
}
