//! One shared informer per resource for a whole process: client-go's
//! `SharedInformerFactory` (`informers/factory.go`). Every controller in kube-controller-manager
//! asks the factory for the pod informer and gets the same one, so the process lists and
//! watches pods once, however many controllers handle pod events.
//!
//! The factory routes client events and timers to the informer they belong to and says which
//! resource the resulting notifications are about; the owner fans them out to its controllers'
//! handlers ([`crate::informer::dispatch`]).
//!
//! Simplification: one informer per kind across all namespaces with no selectors (what the
//! controller manager uses); components that watch a subset (a kubelet's own pods) build an
//! [`Informer`] with a field selector directly.

use std::collections::BTreeMap;

use api::Kind;
use apiserver::ApiEnvelope;
use sim::{Ctx, Duration};

use crate::api_client::{ApiClient, ClientEvent};
use crate::indexer::Indexer;
use crate::informer::{Informer, InformerConfig, Notification};

#[derive(Debug)]
pub struct InformerFactory {
    informers: BTreeMap<Kind, Informer>,
    timer_base: u64,
    default_resync: Duration,
}

impl InformerFactory {
    /// Timer tags `timer_base + kind index` are the factory's; the owner routes them to
    /// [`InformerFactory::on_timer`].
    pub fn new(timer_base: u64, default_resync: Duration) -> Self {
        InformerFactory {
            informers: BTreeMap::new(),
            timer_base,
            default_resync,
        }
    }

    /// The shared informer for `kind`, created on first use with `indexer` (later callers'
    /// indexers are ignored: register every index before the first use, as client-go
    /// requires indexers to be added before the informer starts).
    pub fn informer_for(&mut self, kind: Kind, indexer: impl FnOnce() -> Indexer) -> &mut Informer {
        let tag = self.timer_base + kind as u64;
        let resync = self.default_resync;
        self.informers.entry(kind).or_insert_with(|| {
            let mut cfg = InformerConfig::new(kind, tag);
            cfg.resync_period = resync;
            Informer::new(cfg, indexer())
        })
    }

    pub fn get(&self, kind: Kind) -> Option<&Informer> {
        self.informers.get(&kind)
    }

    /// Starts every informer not yet running.
    pub fn start<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, client: &mut ApiClient) {
        for inf in self.informers.values_mut() {
            inf.start(ctx, client);
        }
    }

    /// Every cached object as an Add, per kind: what informers built afresh would deliver
    /// with their first list (a process that restarts keeps nothing else).
    pub fn replay(&self) -> Vec<(Kind, Vec<Notification>)> {
        self.informers
            .iter()
            .filter(|(_, inf)| inf.has_synced())
            .map(|(kind, inf)| {
                let adds = inf.indexer().iter().cloned().map(Notification::Add);
                (*kind, adds.collect())
            })
            .collect()
    }

    /// Every informer has its first list in the cache (`WaitForCacheSync`).
    pub fn has_synced(&self) -> bool {
        self.informers.values().all(Informer::has_synced)
    }

    pub fn owns_timer(&self, tag: u64) -> bool {
        self.informers.values().any(|i| i.owns_timer(tag))
    }

    pub fn on_timer<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        tag: u64,
    ) -> Option<(Kind, Vec<Notification>)> {
        let (kind, inf) = self.informers.iter_mut().find(|(_, i)| i.owns_timer(tag))?;
        Some((*kind, inf.on_timer(ctx, client)))
    }

    /// Offers a client event to every informer; the one that owns it answers.
    pub fn on_client_event<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        event: &ClientEvent,
    ) -> Option<(Kind, Vec<Notification>)> {
        for (kind, inf) in self.informers.iter_mut() {
            if let Some(ns) = inf.on_client_event(ctx, client, event) {
                return Some((*kind, ns));
            }
        }
        None
    }
}
