//! `KubectlClient`: the actor through which a scenario's kubectl talks to kube-apiserver, from
//! the terminal host. One actor per identity (`kubernetes-admin`, and each `--as=USER`), each
//! with client-go's transport ([`client::ApiClient`]): requests go to one apiserver at a time,
//! a read that times out or whose connection breaks is retried on the next apiserver, as
//! kubectl behind a load-balanced control-plane endpoint reconnects elsewhere.
//!
//! Simplification: kubectl impersonates with `Impersonate-User` headers on the admin's
//! credentials (and the apiserver checks the admin may impersonate); here the request simply
//! carries the impersonated user, which is what authorization then sees either way.
//!
//! Bounds: at most [`MAX_IN_FLIGHT`] requests wait at once; answers the caller abandoned are
//! dropped when they arrive.

use std::collections::BTreeMap;

use std::sync::Arc;

use apiserver::{ApiEnvelope, ApiReply, ApiRequest, UserInfo, WatchEvent};
use client::api_client::is_api_client_timer;
use client::{ApiClient, ApiClientConfig, ClientError, ClientEvent};
use sim::{Actor, ActorId, Ctx, StreamClose, StreamId};

use crate::message::ClusterMsg;

/// Requests waiting for an answer at once.
pub const MAX_IN_FLIGHT: usize = 64;
/// Events kept per watch until the caller takes them; later ones are dropped (the caller
/// treats a full buffer as a watch to restart, as kubectl's watch would be too slow).
pub const MAX_WATCH_EVENTS: usize = 10_000;

pub struct KubectlClient {
    client: ApiClient,
    waiting: BTreeMap<u64, ()>,
    answers: BTreeMap<u64, Result<ApiReply, ClientError>>,
    /// Events of the watches in progress, and whether each has ended.
    watch_events: BTreeMap<u64, (Vec<Arc<WatchEvent>>, bool)>,
}

impl KubectlClient {
    pub fn new(apiservers: Vec<ActorId>, user: UserInfo) -> Self {
        KubectlClient {
            client: ApiClient::new(ApiClientConfig::new(apiservers, user)),
            waiting: BTreeMap::new(),
            answers: BTreeMap::new(),
            watch_events: BTreeMap::new(),
        }
    }

    /// Sends `request` (its id and user are the client's); `None` when [`MAX_IN_FLIGHT`]
    /// requests already wait.
    pub fn send(&mut self, ctx: &mut Ctx<'_, ClusterMsg>, request: ApiRequest) -> Option<u64> {
        if self.waiting.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let id = self.client.send(ctx, request);
        self.waiting.insert(id, ());
        Some(id)
    }

    /// The answer to request `id`, once it arrived (taken: asked again, `None`).
    pub fn take_answer(&mut self, id: u64) -> Option<Result<ApiReply, ClientError>> {
        self.answers.remove(&id)
    }

    /// The events of watch `id` so far (taken), and whether the watch has ended.
    pub fn take_watch_events(&mut self, id: u64) -> (Vec<Arc<WatchEvent>>, bool) {
        match self.watch_events.get_mut(&id) {
            Some((events, ended)) => (std::mem::take(events), *ended),
            None => (Vec::new(), false),
        }
    }

    /// The caller gave up on `id`.
    pub fn abandon(&mut self, ctx: &mut Ctx<'_, ClusterMsg>, id: u64) {
        self.waiting.remove(&id);
        self.answers.remove(&id);
        self.watch_events.remove(&id);
        self.client.cancel_watch(ctx, id);
    }

    /// The apiserver requests currently go to.
    pub fn endpoint(&self) -> Option<ActorId> {
        self.client.endpoint()
    }

    fn record(&mut self, events: Vec<ClientEvent>) {
        for event in events {
            match event {
                ClientEvent::Response { id, result } => {
                    if self.waiting.remove(&id).is_some() {
                        self.answers.insert(id, result);
                    }
                }
                ClientEvent::WatchEvent { id, event } => {
                    if self.waiting.contains_key(&id) {
                        let (events, _) = self.watch_events.entry(id).or_default();
                        if events.len() < MAX_WATCH_EVENTS {
                            events.push(event);
                        }
                    }
                }
                ClientEvent::WatchEnded { id, .. } => {
                    if self.waiting.contains_key(&id) {
                        self.watch_events.entry(id).or_default().1 = true;
                    }
                }
            }
        }
    }
}

impl Actor<ClusterMsg> for KubectlClient {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, ClusterMsg>, _from: ActorId, _msg: ClusterMsg) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ClusterMsg>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.record(events);
        }
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, ClusterMsg>,
        stream: StreamId,
        _from: ActorId,
        msg: ClusterMsg,
    ) {
        if let Ok(m) = msg.unwrap_api() {
            let events = self.client.on_message(ctx, stream, m);
            self.record(events);
        }
    }

    fn on_stream_closed(
        &mut self,
        ctx: &mut Ctx<'_, ClusterMsg>,
        stream: StreamId,
        _why: StreamClose,
    ) {
        let events = self.client.on_stream_closed(ctx, stream);
        self.record(events);
    }
}
