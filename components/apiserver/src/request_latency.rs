//! `apiserver_request_duration_seconds` for mutating calls: the histogram kube-apiserver keeps
//! per (resource, subresource, verb), with upstream's buckets, from which the API call latency
//! SLO is judged (FIDELITY F41: p99 of mutating calls on single objects ≤ 1 s, per resource
//! and verb; `staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go`).
//!
//! A call's duration runs from the request's arrival at this apiserver to its answer being
//! sent, queueing while the server is not ready included; requests the server itself makes
//! (bootstrap, Event expiry) are not calls. Quantiles are read the way ClusterLoader2 reads
//! them from Prometheus (`histogram_quantile`: linear within the bucket that holds the rank),
//! so they carry the buckets' resolution, as upstream's figures do.
//!
//! Simplification: one histogram per apiserver process for the whole run (a restarted
//! apiserver starts from zero, as its `/metrics` does); ClusterLoader2 takes the quantile over
//! the test's duration too, but Prometheus' `rate` windows are not modelled.

use std::collections::BTreeMap;

use api::Kind;
use sim::{Duration, Time};

use crate::protocol::Subresource;
use crate::server::ReplyTo;

/// Upstream's bucket upper bounds, in seconds; a last bucket (`+Inf`) takes the rest.
pub const BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// What a histogram is kept for: resource, subresource and verb (`create` for bindings and
/// evictions, as their REST handlers are POSTs).
pub type CallKey = (Kind, Option<Subresource>, &'static str);

/// One histogram: a count per bucket (not cumulative), and the sum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u64; BUCKETS.len() + 1],
    sum: Duration,
}

impl LatencyHistogram {
    pub fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS.partition_point(|&b| b < s);
        self.counts[i] += 1;
        self.sum = self.sum.saturating_add(d);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn sum(&self) -> Duration {
        self.sum
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.sum = self.sum.saturating_add(other.sum);
    }

    /// Prometheus' `histogram_quantile(q)` over this histogram, in seconds: the bucket where
    /// the rank `q × count` falls, interpolated linearly between its bounds (the first bucket
    /// starts at 0); a rank in `+Inf` gives the highest finite bound. `None` for no calls.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            let upto = below + c;
            if (upto as f64) >= rank && c > 0 {
                let Some(&upper) = BUCKETS.get(i) else {
                    return Some(BUCKETS[BUCKETS.len() - 1]);
                };
                let lower = if i == 0 { 0.0 } else { BUCKETS[i - 1] };
                let within = (rank - below as f64) / c as f64;
                return Some(lower + (upper - lower) * within);
            }
            below = upto;
        }
        Some(BUCKETS[BUCKETS.len() - 1])
    }
}

/// The histograms of one apiserver, and the calls in flight.
#[derive(Clone, Debug, Default)]
pub struct RequestLatencies {
    histograms: BTreeMap<CallKey, LatencyHistogram>,
    /// By where the answer goes and the request id: arrival and what to file it under.
    in_flight: BTreeMap<(ReplyTo, u64), (Time, CallKey)>,
}

impl RequestLatencies {
    pub fn start(&mut self, reply: ReplyTo, id: u64, now: Time, key: CallKey) {
        if reply != ReplyTo::Nobody {
            self.in_flight.insert((reply, id), (now, key));
        }
    }

    /// The answer to `id` is being sent.
    pub fn finish(&mut self, reply: ReplyTo, id: u64, now: Time) {
        if self.in_flight.is_empty() {
            return;
        }
        if let Some((at, key)) = self.in_flight.remove(&(reply, id)) {
            self.histograms
                .entry(key)
                .or_default()
                .observe(now.saturating_since(at));
        }
    }

    pub fn histograms(&self) -> &BTreeMap<CallKey, LatencyHistogram> {
        &self.histograms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn observations_fall_in_upstreams_buckets() {
        let mut h = LatencyHistogram::default();
        for d in [ms(1), ms(5), ms(6), ms(1000), ms(70_000)] {
            h.observe(d);
        }
        assert_eq!(h.count(), 5);
        // 1 ms and 5 ms are <= 0.005 (Prometheus' `le` is inclusive).
        assert_eq!(h.counts[0], 2);
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[8], 1, "1 s is in le=1.0");
        assert_eq!(h.counts[BUCKETS.len()], 1, "70 s is in +Inf");
        assert_eq!(h.sum(), ms(71_012));
    }

    #[test]
    fn quantiles_interpolate_as_histogram_quantile_does() {
        let mut h = LatencyHistogram::default();
        for _ in 0..100 {
            h.observe(ms(2));
        }
        // All in [0, 0.005]: the median is halfway, p99 at 99%.
        assert!((h.quantile(0.5).unwrap() - 0.0025).abs() < 1e-12);
        assert!((h.quantile(0.99).unwrap() - 0.00495).abs() < 1e-12);
        for _ in 0..100 {
            h.observe(ms(300));
        }
        // 200 calls: rank 198 is the 98th of the 100 in (0.2, 0.4].
        assert!((h.quantile(0.99).unwrap() - 0.396).abs() < 1e-12);
        h.observe(ms(100_000));
        assert_eq!(h.quantile(1.0), Some(60.0), "+Inf reads as the last bound");
        assert_eq!(LatencyHistogram::default().quantile(0.99), None);
    }

    #[test]
    fn a_call_is_timed_from_arrival_to_answer() {
        let mut l = RequestLatencies::default();
        let t0 = Time::ZERO;
        let key = (Kind::Pod, None, "create");
        let to = ReplyTo::Datagram(sim::ActorId(3));
        l.start(to, 7, t0, key);
        l.start(ReplyTo::Nobody, 8, t0, key);
        l.finish(to, 9, t0 + ms(1));
        l.finish(to, 7, t0 + ms(30));
        l.finish(to, 7, t0 + ms(40));
        let h = &l.histograms()[&key];
        assert_eq!(h.count(), 1, "one answer, once");
        assert_eq!(h.sum(), ms(30));
    }
}
