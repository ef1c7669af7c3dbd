//! The node's packet path for a new connection to a Service: what the kernel does with the
//! rules kube-proxy programmed. iptables mode walks the `KUBE-SVC-` chain (ClientIP affinity's
//! `recent` lists first, then the `statistic` rules in order, the last one always matching);
//! IPVS mode asks the virtual server's round-robin scheduler (with `persistent` templates
//! for affinity).
//!
//! Follows `net/netfilter/xt_statistic.c` (`(prandom_u32() & 0x7FFFFFFF) < probability`),
//! `net/netfilter/xt_recent.c` (`--rcheck --seconds --reap`: an entry younger than the
//! timeout matches; `--set` refreshes it; 200 entries per list, the oldest evicted) and
//! `net/netfilter/ipvs/ip_vs_rr.c` (the next destination after the last one used).
//!
//! Simplifications: one decision per request (no conntrack: a request is a new connection);
//! IPVS weights are all 1 and destinations that left are simply skipped.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use net::Endpoint;
use sim::{Duration, SimRng, Time};

use crate::probability;
use crate::rules::{ProxyMode, ServiceRules};
use crate::service_port::ServicePortName;

/// `xt_recent`'s `ip_list_tot`: entries per list.
pub const RECENT_LIST_MAX: usize = 200;

/// What happens to a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// DNAT to this endpoint.
    Forward(Endpoint),
    /// The Service port has no endpoints: ICMP port unreachable (`REJECT`, or IPVS with no
    /// destination).
    Reject,
}

/// Kernel state that outlives one rule sync: `recent` lists and IPVS scheduler positions.
#[derive(Clone, Debug, Default)]
pub struct Dataplane {
    /// `recent` list name (a `KUBE-SEP-` chain) → source address → last seen.
    recent: BTreeMap<String, BTreeMap<Ipv4Addr, Time>>,
    /// IPVS: the last destination each virtual server used.
    rr_last: BTreeMap<ServicePortName, Endpoint>,
    /// IPVS persistence templates: (virtual server, client) → (destination, last used).
    persistent: BTreeMap<(ServicePortName, Ipv4Addr), (Endpoint, Time)>,
}

impl Dataplane {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes a new connection from `client` to Service port `rules`.
    pub fn route(
        &mut self,
        mode: ProxyMode,
        rules: &ServiceRules,
        client: Ipv4Addr,
        now: Time,
        rng: &mut SimRng,
    ) -> Verdict {
        if rules.endpoints.is_empty() {
            return Verdict::Reject;
        }
        match mode {
            ProxyMode::Iptables => self.route_iptables(rules, client, now, rng),
            ProxyMode::Ipvs => self.route_ipvs(rules, client, now),
        }
    }

    fn route_iptables(
        &mut self,
        rules: &ServiceRules,
        client: Ipv4Addr,
        now: Time,
        rng: &mut SimRng,
    ) -> Verdict {
        let affinity = rules
            .info
            .affinity_seconds
            .map(|s| Duration::from_secs(u64::from(s)));
        let mut chosen = None;
        if let Some(timeout) = affinity {
            for ep in &rules.endpoints {
                let Some(list) = self.recent.get_mut(&ep.chain) else {
                    continue;
                };
                // --rcheck --seconds T --reap: a stale entry is dropped, a fresh one matches.
                match list.get(&client) {
                    Some(seen) if now.saturating_since(*seen) <= timeout => {
                        chosen = Some(ep);
                        break;
                    }
                    Some(_) => {
                        list.remove(&client);
                    }
                    None => {}
                }
            }
        }
        let chosen = chosen.or_else(|| {
            rules.endpoints.iter().find(|ep| match ep.threshold {
                Some(k) => probability::matches(rng.next_u32(), k),
                None => true,
            })
        });
        let Some(ep) = chosen else {
            return Verdict::Reject;
        };
        if affinity.is_some() {
            let list = self.recent.entry(ep.chain.clone()).or_default();
            list.insert(client, now);
            if list.len() > RECENT_LIST_MAX
                && let Some(oldest) = list.iter().min_by_key(|(_, t)| **t).map(|(ip, _)| *ip)
            {
                list.remove(&oldest);
            }
        }
        Verdict::Forward(ep.endpoint)
    }

    fn route_ipvs(&mut self, rules: &ServiceRules, client: Ipv4Addr, now: Time) -> Verdict {
        let name = &rules.info.name;
        let present = |e: &Endpoint| rules.endpoints.iter().any(|r| r.endpoint == *e);
        if let Some(seconds) = rules.info.affinity_seconds {
            let timeout = Duration::from_secs(u64::from(seconds));
            let key = (name.clone(), client);
            if let Some((ep, seen)) = self.persistent.get(&key).copied()
                && now.saturating_since(seen) <= timeout
                && present(&ep)
            {
                self.persistent.insert(key, (ep, now));
                return Verdict::Forward(ep);
            }
        }
        let n = rules.endpoints.len();
        let start = self
            .rr_last
            .get(name)
            .and_then(|last| rules.endpoints.iter().position(|r| r.endpoint == *last))
            .map_or(0, |i| (i + 1) % n);
        let ep = rules.endpoints[start].endpoint;
        self.rr_last.insert(name.clone(), ep);
        if rules.info.affinity_seconds.is_some() {
            self.persistent.insert((name.clone(), client), (ep, now));
        }
        Verdict::Forward(ep)
    }

    /// No affinity entry and no scheduler position is held.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty() && self.rr_last.is_empty() && self.persistent.is_empty()
    }

    /// Forgets state of Service ports that are no longer programmed (the kernel drops a
    /// virtual server's scheduler state and kube-proxy deletes stale chains and lists).
    pub fn retain(
        &mut self,
        keep: impl Fn(&ServicePortName) -> bool,
        chains: impl Fn(&str) -> bool,
    ) {
        self.rr_last.retain(|k, _| keep(k));
        self.persistent.retain(|(k, _), _| keep(k));
        self.recent.retain(|c, _| chains(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleTable;
    use crate::testdata::{service, slice};

    fn three(mode: ProxyMode, affinity: Option<i32>) -> RuleTable {
        let svc = service("default", "web", "10.96.0.50", &[("", 80, None)], affinity);
        let s = slice(
            "default",
            "web-1",
            "web",
            &[("", 80)],
            &[
                ("10.244.1.2", true, false),
                ("10.244.1.3", true, false),
                ("10.244.2.4", true, false),
            ],
        );
        RuleTable::build(mode, [&svc], [&s])
    }

    #[test]
    fn iptables_spreads_uniformly_by_the_probability_chain() {
        let t = three(ProxyMode::Iptables, None);
        let rules = t.service("default", "web").unwrap();
        let mut dp = Dataplane::new();
        let mut rng = SimRng::fork(3, "t");
        let mut hits: BTreeMap<String, u32> = BTreeMap::new();
        let client = Ipv4Addr::new(10, 244, 0, 9);
        for _ in 0..30_000 {
            let Verdict::Forward(ep) =
                dp.route(ProxyMode::Iptables, rules, client, Time::ZERO, &mut rng)
            else {
                panic!("rejected");
            };
            *hits.entry(ep.to_string()).or_default() += 1;
        }
        assert_eq!(hits.len(), 3);
        for (ep, n) in hits {
            // 10,000 expected each; 5 standard deviations is about ±410.
            assert!((9_500..=10_500).contains(&n), "{ep}: {n}");
        }
    }

    #[test]
    fn ipvs_round_robin_is_exact_and_affinity_pins_a_client() {
        let t = three(ProxyMode::Ipvs, None);
        let rules = t.service("default", "web").unwrap();
        let mut dp = Dataplane::new();
        let mut rng = SimRng::fork(3, "t");
        let client = Ipv4Addr::new(10, 244, 0, 9);
        let order: Vec<String> = (0..6)
            .map(
                |_| match dp.route(ProxyMode::Ipvs, rules, client, Time::ZERO, &mut rng) {
                    Verdict::Forward(ep) => ep.to_string(),
                    Verdict::Reject => "reject".into(),
                },
            )
            .collect();
        assert_eq!(
            order,
            [
                "10.244.1.2:80",
                "10.244.1.3:80",
                "10.244.2.4:80",
                "10.244.1.2:80",
                "10.244.1.3:80",
                "10.244.2.4:80"
            ]
        );
        for mode in [ProxyMode::Iptables, ProxyMode::Ipvs] {
            let t = three(mode, Some(10));
            let rules = t.service("default", "web").unwrap();
            let mut dp = Dataplane::new();
            let first = dp.route(mode, rules, client, Time::ZERO, &mut rng);
            for s in 1..=10 {
                let now = Time::from_secs(s);
                assert_eq!(
                    dp.route(mode, rules, client, now, &mut rng),
                    first,
                    "{mode:?} at {s}s"
                );
            }
            // After the timeout without traffic the client may land anywhere: over many new
            // clients at least two endpoints are used.
            let mut seen = std::collections::BTreeSet::new();
            for c in 0..20u8 {
                let other = Ipv4Addr::new(10, 244, 3, c);
                if let Verdict::Forward(ep) =
                    dp.route(mode, rules, other, Time::from_secs(30), &mut rng)
                {
                    seen.insert(ep);
                }
            }
            assert!(seen.len() >= 2, "{mode:?}: {seen:?}");
        }
    }

    #[test]
    fn no_endpoints_is_a_reject() {
        let svc = service("default", "web", "10.96.0.50", &[("", 80, None)], None);
        let t = RuleTable::build(ProxyMode::Iptables, [&svc], []);
        let mut rng = SimRng::fork(3, "t");
        let v = Dataplane::new().route(
            ProxyMode::Iptables,
            t.service("default", "web").unwrap(),
            Ipv4Addr::LOCALHOST,
            Time::ZERO,
            &mut rng,
        );
        assert_eq!(v, Verdict::Reject);
    }
}
