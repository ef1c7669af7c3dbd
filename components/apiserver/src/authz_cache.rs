//! RBAC decisions remembered until a Role, ClusterRole or binding changes.
//!
//! A decision is a pure function of the request's attributes and the RBAC objects in the watch
//! cache, and the same few requests come again and again (each kubelet renews its Lease every
//! 10 s as the same user on the same object), while deciding walks every ClusterRoleBinding
//! and the rules of the roles they bind. Upstream's authorizer has no such cache (its listers
//! are in-memory too); it is here only because one process plays every apiserver request.
//! Forgotten whenever an RBAC object changes (or the cache relists), and bounded.

use api::Kind;

use crate::protocol::{Subresource, UserInfo};
use crate::rbac::Attributes;

/// Slots of the table, a power of two: a run at rest uses a few hundred decisions.
const SLOTS: usize = 4096;

#[derive(Debug, PartialEq, Eq)]
struct Key {
    user: UserInfo,
    verb: String,
    kind: Kind,
    subresource: Option<Subresource>,
    namespace: String,
    name: String,
}

impl Key {
    fn is(&self, a: &Attributes<'_>) -> bool {
        self.kind == a.kind
            && self.subresource == a.subresource
            && self.verb == a.verb
            && self.name == a.name
            && self.namespace == a.namespace
            && self.user == *a.user
    }
}

/// Decisions by a hash of their attributes, in one of two neighbouring slots (two probes at
/// most; a decision whose two slots are taken replaces the one in the first). An entry is
/// used only when its attributes are equal, so a collision costs a recomputation, never a
/// wrong answer.
#[derive(Debug, Default)]
pub struct AuthzCache {
    /// Empty until the first decision (the server takes the cache out and puts it back on
    /// every request), then `SLOTS` long.
    slots: Vec<Option<Box<Entry>>>,
    len: usize,
}

#[derive(Debug)]
struct Entry {
    hash: u64,
    key: Key,
    allowed: bool,
}

/// The slot of a hash: its high bits (the word hash ends with a multiplication, which leaves
/// the low bits depending on the low bits of the input only).
fn slot_of(h: u64) -> usize {
    (h >> (64 - SLOTS.trailing_zeros())) as usize
}

fn hash_of(a: &Attributes<'_>) -> u64 {
    // The engine's fixed word hash (SipHash, `DefaultHasher`, was a third of a cached
    // decision): the same attributes hash alike in every run.
    let mut h = sim::TraceHasher::new();
    h.write_str(&a.user.name);
    h.write_u64(a.user.groups.len() as u64);
    for g in &a.user.groups {
        h.write_str(g);
    }
    h.write_str(a.verb);
    h.write_u64(a.kind as u64);
    h.write_str(a.subresource.map_or("", Subresource::as_str));
    h.write_str(a.namespace);
    h.write_str(a.name);
    h.finish()
}

impl AuthzCache {
    /// The decision for `a`, computed by `decide` unless remembered.
    pub fn decide(&mut self, a: &Attributes<'_>, decide: impl FnOnce() -> bool) -> bool {
        let h = hash_of(a);
        let home = slot_of(h);
        // Two slots per hash, so that two busy decisions on one slot do not evict each other.
        for i in [home, home ^ 1] {
            if let Some(Some(e)) = self.slots.get(i)
                && e.hash == h
                && e.key.is(a)
            {
                return e.allowed;
            }
        }
        let allowed = decide();
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let key = Key {
            user: a.user.clone(),
            verb: a.verb.to_string(),
            kind: a.kind,
            subresource: a.subresource,
            namespace: a.namespace.to_string(),
            name: a.name.to_string(),
        };
        let i = if self.slots[home].is_some() && self.slots[home ^ 1].is_none() {
            home ^ 1
        } else {
            home
        };
        let slot = &mut self.slots[i];
        if slot.is_none() {
            self.len += 1;
        }
        *slot = Some(Box::new(Entry {
            hash: h,
            key,
            allowed,
        }));
        allowed
    }

    /// Forget every decision if a change of `kind` can change one.
    pub fn changed(&mut self, kind: Kind) {
        if matches!(
            kind,
            Kind::Role | Kind::ClusterRole | Kind::RoleBinding | Kind::ClusterRoleBinding
        ) {
            self.clear();
        }
    }

    pub fn clear(&mut self) {
        self.slots = Vec::new();
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(user: &'a UserInfo, name: &'a str) -> Attributes<'a> {
        Attributes {
            user,
            verb: "update",
            kind: Kind::Lease,
            subresource: None,
            namespace: "kube-node-lease",
            name,
        }
    }

    #[test]
    fn remembers_until_rbac_changes() {
        let user = UserInfo::node("worker");
        let mut c = AuthzCache::default();
        let mut asked = 0;
        for _ in 0..3 {
            assert!(c.decide(&attrs(&user, "worker"), || {
                asked += 1;
                true
            }));
        }
        assert_eq!(asked, 1);
        // Another object is another decision.
        assert!(!c.decide(&attrs(&user, "other"), || false));
        assert_eq!(c.len(), 2);
        c.changed(Kind::Pod);
        assert_eq!(c.len(), 2);
        c.changed(Kind::ClusterRoleBinding);
        assert!(c.is_empty());
        assert!(!c.decide(&attrs(&user, "worker"), || false));
    }
}
