//! One cluster's memo of Service rules, shared by every node's kube-proxy.
//!
//! A Service's rules ([`ServiceRules`] per port) are a pure function of the Service object and
//! its EndpointSlices: nothing in them depends on the node (see the simplifications in
//! [`crate::service_port`]: no `Local` traffic policies, no topology hints). Upstream every
//! node computes them for itself, in parallel on its own CPU; a simulation of the whole cluster
//! would compute the same rules once per node on one thread, which made kube-proxy the term
//! that grows with nodes × endpoint changes (36% of the CPU of a 300-node run whose 3,000 pods
//! converge, against none of it at 100 nodes' share of the same work). Here the first node to
//! sync a given (Service, slices) computes the rules and the others reuse them, and every
//! node's table holds the same `Arc`s rather than its own copy of each endpoint rule.
//!
//! Inputs are recognised by identity: the informers of all nodes hold the very `Arc` the
//! apiserver's watch fanned out, so the same revision is the same pointer. An entry keeps its
//! inputs alive, so a pointer it compares against cannot be freed and reused for another
//! object; a node whose inputs are different allocations (after a relist, say) only misses
//! and computes. What a node programs is therefore exactly what it would have computed alone.
//! The memo keeps the last [`KEPT_PER_SERVICE`] input sets of each Service, enough for nodes
//! whose syncs (paced by minSyncPeriod, 1 s) see a Service a few revisions apart.
//!
//! It also remembers, per update, whether the update changes what rules are made of
//! ([`RuleMemo::inputs_differ`]): every node's informer receives the same (old, new) pair of
//! each EndpointSlice update, one node after another, and comparing a slice's hundred
//! endpoints once serves them all. And it holds the cluster's [`SharedKeys`]: the nodes'
//! caches of Services and EndpointSlices, and their sets of changed Services, name objects
//! with the same key allocations.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use api::SharedObject;
use client::indexer::SharedKeys;

use crate::rules::ServiceRules;

/// Input sets remembered per Service.
pub const KEPT_PER_SERVICE: usize = 4;

/// Updates whose judgement is remembered (the latest ones).
pub const JUDGED_KEPT: usize = 8;

/// The rules of one Service's ports, as every node that saw the same inputs programs them.
pub type SharedServiceRules = Arc<[Arc<ServiceRules>]>;

/// Cheap to clone: clones share the memo (give every kube-proxy of a cluster the same one).
#[derive(Clone, Debug, Default)]
pub struct RuleMemo(Rc<RefCell<MemoState>>);

#[derive(Debug, Default)]
struct MemoState {
    by_service: BTreeMap<String, VecDeque<Entry>>,
    hits: u64,
    misses: u64,
    /// The latest updates judged, newest first. Holding both objects keeps their pointers
    /// from being reused by others while they are compared against.
    judged: VecDeque<Judged>,
    keys: SharedKeys,
}

#[derive(Debug)]
struct Judged {
    old: SharedObject,
    new: SharedObject,
    differ: bool,
}

#[derive(Debug)]
struct Entry {
    service: Option<SharedObject>,
    slices: Vec<SharedObject>,
    rules: SharedServiceRules,
}

impl Entry {
    fn is_for(&self, service: Option<&SharedObject>, slices: &[SharedObject]) -> bool {
        let same_service = match (&self.service, service) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_service
            && self.slices.len() == slices.len()
            && self
                .slices
                .iter()
                .zip(slices)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

impl RuleMemo {
    /// The rules of Service `key` (`namespace/name`) for these inputs: remembered, or made by
    /// `compute` (given the Service's latest remembered rules, whose chain names it may
    /// reuse) and remembered.
    pub fn rules(
        &self,
        key: &str,
        service: Option<&SharedObject>,
        slices: &[SharedObject],
        compute: impl FnOnce(Option<&SharedServiceRules>) -> Vec<ServiceRules>,
    ) -> SharedServiceRules {
        let mut state = self.0.borrow_mut();
        if let Some(e) = state
            .by_service
            .get(key)
            .and_then(|entries| entries.iter().find(|e| e.is_for(service, slices)))
        {
            let rules = e.rules.clone();
            state.hits += 1;
            return rules;
        }
        state.misses += 1;
        // The latest rules of the Service lend their chain names (hashing is the cost).
        let latest = state.by_service.get(key).and_then(|e| e.front());
        let rules: SharedServiceRules = compute(latest.map(|e| &e.rules))
            .into_iter()
            .map(Arc::new)
            .collect();
        if service.is_none() && slices.is_empty() {
            // A Service gone with its slices: nothing to remember it by.
            state.by_service.remove(key);
            return rules;
        }
        let entries = state.by_service.entry(key.to_string()).or_default();
        if entries.len() == KEPT_PER_SERVICE {
            entries.pop_back();
        }
        entries.push_front(Entry {
            service: service.cloned(),
            slices: slices.to_vec(),
            rules: rules.clone(),
        });
        rules
    }

    /// Whether the update from `old` to `new` changes what rules are made of: remembered for
    /// this very pair of objects, or judged by `judge` and remembered.
    pub fn inputs_differ(
        &self,
        old: &SharedObject,
        new: &SharedObject,
        judge: impl FnOnce() -> bool,
    ) -> bool {
        let mut state = self.0.borrow_mut();
        if let Some(j) = state
            .judged
            .iter()
            .find(|j| Arc::ptr_eq(&j.new, new) && Arc::ptr_eq(&j.old, old))
        {
            return j.differ;
        }
        let differ = judge();
        if state.judged.len() == JUDGED_KEPT {
            state.judged.pop_back();
        }
        state.judged.push_front(Judged {
            old: old.clone(),
            new: new.clone(),
            differ,
        });
        differ
    }

    /// The keys the nodes' caches share.
    pub fn keys(&self) -> SharedKeys {
        self.0.borrow().keys.clone()
    }

    /// (rule sets reused, rule sets computed) so far.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        let s = self.0.borrow();
        (s.hits, s.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{ProxyMode, RuleTable, service_rules};
    use crate::testdata::{service, slice};
    use api::Object;

    fn objects(ips: &[&str]) -> (SharedObject, SharedObject) {
        let svc = service("default", "web", "10.96.0.50", &[("", 80, None)], None);
        let eps: Vec<(&str, bool, bool)> = ips.iter().map(|ip| (*ip, true, false)).collect();
        let s = slice("default", "web-1", "web", &[("", 8080)], &eps);
        (Arc::new(Object::from(svc)), Arc::new(Object::from(s)))
    }

    fn compute(svc: &SharedObject, s: &SharedObject) -> Vec<ServiceRules> {
        let (Object::Service(svc), Object::EndpointSlice(s)) = (svc.as_ref(), s.as_ref()) else {
            unreachable!()
        };
        service_rules(Some(svc), [s.as_ref()], |_| None)
    }

    #[test]
    fn the_same_revision_is_computed_once_and_equals_a_node_computing_alone() {
        let memo = RuleMemo::default();
        let (svc, s) = objects(&["10.244.1.2", "10.244.2.3"]);
        let first = memo.rules("default/web", Some(&svc), std::slice::from_ref(&s), |_| {
            compute(&svc, &s)
        });
        let again = memo.rules("default/web", Some(&svc), std::slice::from_ref(&s), |_| {
            panic!("a remembered input set is not recomputed")
        });
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(memo.hits_and_misses(), (1, 1));

        // Two nodes' tables programmed through the memo equal a table built alone.
        let mut a = RuleTable::empty(ProxyMode::Iptables);
        let mut b = RuleTable::empty(ProxyMode::Iptables);
        assert!(a.replace_service("default", "web", &first));
        assert!(b.replace_service("default", "web", &again));
        assert!(
            !b.replace_service("default", "web", &again),
            "nothing changed"
        );
        let (Object::Service(sv), Object::EndpointSlice(sl)) = (svc.as_ref(), s.as_ref()) else {
            unreachable!()
        };
        let alone = RuleTable::build(ProxyMode::Iptables, [sv.as_ref()], [sl.as_ref()]);
        assert_eq!(a, alone);
        assert_eq!(b, alone);
    }

    #[test]
    fn an_update_is_judged_once_for_every_node_that_receives_it() {
        let memo = RuleMemo::default();
        let (_, old) = objects(&["10.244.1.2"]);
        let (_, new) = objects(&["10.244.1.3"]);
        assert!(memo.inputs_differ(&old, &new, || true));
        assert!(memo.inputs_differ(&old, &new, || panic!("judged once")));
        // Another pair, even of equal objects, is judged again.
        let copy = Arc::new(Object::clone(&new));
        assert!(!memo.inputs_differ(&old, &copy, || false));
        for _ in 0..JUDGED_KEPT {
            let (_, s) = objects(&["10.244.3.1"]);
            memo.inputs_differ(&old, &s, || true);
        }
        let mut judged = false;
        memo.inputs_differ(&old, &new, || {
            judged = true;
            true
        });
        assert!(judged, "only the last {JUDGED_KEPT} updates are kept");
    }

    #[test]
    fn an_equal_object_in_another_allocation_is_computed_again_and_old_sets_age_out() {
        let memo = RuleMemo::default();
        let (svc, s) = objects(&["10.244.1.2"]);
        memo.rules("default/web", Some(&svc), std::slice::from_ref(&s), |_| {
            compute(&svc, &s)
        });
        let copy = Arc::new(Object::clone(&s));
        let mut computed = false;
        memo.rules(
            "default/web",
            Some(&svc),
            std::slice::from_ref(&copy),
            |_| {
                computed = true;
                compute(&svc, &copy)
            },
        );
        assert!(computed, "inputs are recognised by identity only");
        for i in 0..KEPT_PER_SERVICE {
            let (_, s) = objects(&[&format!("10.244.3.{i}")]);
            memo.rules("default/web", Some(&svc), std::slice::from_ref(&s), |_| {
                compute(&svc, &s)
            });
        }
        let mut computed = false;
        memo.rules("default/web", Some(&svc), std::slice::from_ref(&s), |_| {
            computed = true;
            compute(&svc, &s)
        });
        assert!(
            computed,
            "only the last {KEPT_PER_SERVICE} input sets are kept"
        );
    }
}
