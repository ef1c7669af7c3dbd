//! `EtcdClient`: the client logic an actor embeds to talk to an etcd cluster (the apiserver,
//! test clients): member endpoints, leader discovery, retries on another member, and watches
//! that resume from the last revision seen when their member fails.
//!
//! Follows etcd's `client/v3` behaviour where it matters here: one connection to one member
//! at a time (the balancer pins an endpoint and moves on failure); a request that times out or
//! meets "not leader" is retried on another member (the retry interceptor); a watch whose
//! member crashed, was cut off, or cancelled it for lack of a leader is re-created on another
//! member from the revision after the last event delivered (`watchGrpcStream` resume), and a
//! compacted start revision ends it with the compact revision so the caller relists.
//! A retried write may be applied twice if the first attempt was committed after all, as with
//! clientv3; Kubernetes' writes are Txns guarded by a mod-revision compare, so a duplicate
//! fails its compare instead of applying twice.
//!
//! Timers: the embedding actor must route timers whose tag `is_client_timer` to `on_timer`.
//! Bounds: every request ends (answer, or failure after `max_attempts` attempts of at most
//! `attempt_timeout` each); the caller bounds how many it keeps in flight.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::{ActorId, Ctx, Duration, StreamId};

use crate::mvcc::{Bytes, Event, PutRequest, RangeRequest, WatchRequest, WriteRequest};
use crate::server::{
    EtcdEnvelope, EtcdError, EtcdMessage, RequestBody, ResponseBody, ResponseHeader, WatchCancel,
};

/// The client's timer tag (its deadline sweep).
pub const CLIENT_TIMER_BASE: u64 = 0xE7CD_0000_0000_0000;
/// How often pending requests are checked against their deadlines.
const SWEEP_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// (member id, actor) of every member.
    pub endpoints: Vec<(u64, ActorId)>,
    /// How long one attempt may take before the client tries another member. A little above
    /// the server's 7 s request timeout, so a server's own timeout answer arrives first.
    pub attempt_timeout: Duration,
    /// Attempts per request across members.
    pub max_attempts: u32,
}

impl ClientConfig {
    pub fn new(endpoints: Vec<(u64, ActorId)>) -> Self {
        let max_attempts = (endpoints.len() as u32).max(1) + 1;
        ClientConfig {
            endpoints,
            attempt_timeout: Duration::from_millis(7500),
            max_attempts,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ClientEvent<V> {
    Response {
        id: u64,
        header: Option<ResponseHeader>,
        result: Result<ResponseBody<V>, EtcdError>,
        /// How many times the request was sent; above 1, an earlier attempt may also have
        /// taken effect (a history checker must allow for it).
        attempts: u32,
    },
    WatchEvents {
        watch_id: u64,
        events: Vec<Arc<Event<V>>>,
    },
    /// The watch ended for good (compacted, or cancelled on request).
    WatchCanceled { watch_id: u64, reason: WatchCancel },
}

struct Pending<V> {
    body: RequestBody<V>,
    attempts: u32,
    endpoint: usize,
    stream: StreamId,
    deadline_ns: u64,
}

struct ClientWatch {
    request: WatchRequest,
    stream: Option<StreamId>,
    /// Resume point: the revision after the last event delivered (0: not known yet).
    next_revision: i64,
    /// Until the member acknowledges the watch: when to give up on it and try another
    /// member (a create sent to a member that crashed or is cut off is never answered; gRPC
    /// would fail the connection, here the attempt timeout does).
    unacknowledged_until_ns: Option<u64>,
    /// The id this attempt's create used on the wire: a fresh one per attempt, so a late
    /// answer to an abandoned attempt (or events of a member-side watch it created after all)
    /// cannot pass for the current one, even on the same stream.
    wire_id: u64,
}

pub struct EtcdClient<V> {
    cfg: ClientConfig,
    current: usize,
    streams: BTreeMap<StreamId, usize>,
    next_id: u64,
    pending: BTreeMap<u64, Pending<V>>,
    watches: BTreeMap<u64, ClientWatch>,
    /// Wire id of each watch's current attempt -> the watch's id.
    watch_of_wire: BTreeMap<u64, u64>,
    leader: Option<u64>,
    sweep_armed: bool,
}

pub fn is_client_timer(tag: u64) -> bool {
    tag == CLIENT_TIMER_BASE
}

impl<V: Clone + std::fmt::Debug + 'static> EtcdClient<V> {
    pub fn new(cfg: ClientConfig) -> Self {
        EtcdClient {
            cfg,
            current: 0,
            streams: BTreeMap::new(),
            next_id: 0,
            pending: BTreeMap::new(),
            watches: BTreeMap::new(),
            watch_of_wire: BTreeMap::new(),
            leader: None,
            sweep_armed: false,
        }
    }

    /// The member the client believes leads, if any.
    pub fn leader(&self) -> Option<u64> {
        self.leader
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn current_endpoint(&self) -> u64 {
        self.cfg.endpoints.get(self.current).map_or(0, |e| e.0)
    }

    fn stream_to<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>, endpoint: usize) -> StreamId {
        if let Some((s, _)) = self
            .streams
            .iter()
            .find(|(s, e)| **e == endpoint && ctx.stream_is_open(**s))
        {
            return *s;
        }
        let actor = self.cfg.endpoints[endpoint].1;
        let s = ctx.open_stream(actor);
        self.streams.insert(s, endpoint);
        s
    }

    fn rotate(&mut self, away_from: usize) {
        if self.current == away_from && !self.cfg.endpoints.is_empty() {
            self.current = (away_from + 1) % self.cfg.endpoints.len();
        }
    }

    fn endpoint_of_member(&self, member: u64) -> Option<usize> {
        self.cfg.endpoints.iter().position(|e| e.0 == member)
    }

    /// Send a request; its answer comes back as `ClientEvent::Response` with this id.
    pub fn request<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        body: RequestBody<V>,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let endpoint = self.choose_endpoint(&body);
        self.send_attempt(ctx, id, body, endpoint, 0);
        id
    }

    pub fn put<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>, key: Bytes, value: V) -> u64 {
        self.request(
            ctx,
            RequestBody::Write(Arc::new(WriteRequest::Put(PutRequest {
                key,
                value,
                lease: 0,
                prev_kv: false,
            }))),
        )
    }

    pub fn get<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        key: Bytes,
        serializable: bool,
    ) -> u64 {
        let request = RangeRequest {
            key,
            ..RangeRequest::default()
        };
        self.request(
            ctx,
            RequestBody::Range {
                request,
                serializable,
            },
        )
    }

    fn choose_endpoint(&self, body: &RequestBody<V>) -> usize {
        let wants_leader = matches!(
            body,
            RequestBody::Write(_) | RequestBody::LeaseKeepAlive { .. }
        );
        match self.leader.and_then(|l| self.endpoint_of_member(l)) {
            Some(e) if wants_leader => e,
            _ => self.current,
        }
    }

    fn send_attempt<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        id: u64,
        body: RequestBody<V>,
        endpoint: usize,
        attempts: u32,
    ) {
        if self.cfg.endpoints.is_empty() {
            return;
        }
        let stream = self.stream_to(ctx, endpoint);
        let _ = ctx.stream_send(
            stream,
            M::wrap(EtcdMessage::Request {
                id,
                body: body.clone(),
            }),
        );
        let deadline_ns = ctx.now().as_nanos() + self.cfg.attempt_timeout.as_nanos();
        self.pending.insert(
            id,
            Pending {
                body,
                attempts: attempts + 1,
                endpoint,
                stream,
                deadline_ns,
            },
        );
        self.arm_sweep(ctx);
    }

    /// One timer sweeps every deadline, armed only while requests are pending: a timer per
    /// request would fill the engine's queue with cancelled timers under load.
    fn arm_sweep<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>) {
        let waiting = !self.pending.is_empty()
            || self
                .watches
                .values()
                .any(|w| w.unacknowledged_until_ns.is_some());
        if self.sweep_armed || !waiting {
            return;
        }
        self.sweep_armed = true;
        ctx.set_timer(SWEEP_INTERVAL, CLIENT_TIMER_BASE);
    }

    /// Retry elsewhere, or give up with `err` after the last attempt.
    fn retry_or_fail<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        id: u64,
        next: Option<usize>,
        err: EtcdError,
    ) -> Option<ClientEvent<V>> {
        let p = self.pending.remove(&id)?;
        if p.attempts >= self.cfg.max_attempts {
            return Some(ClientEvent::Response {
                id,
                header: None,
                result: Err(err),
                attempts: p.attempts,
            });
        }
        self.rotate(p.endpoint);
        let endpoint = next.unwrap_or(self.current);
        self.send_attempt(ctx, id, p.body, endpoint, p.attempts);
        None
    }

    pub fn on_timer<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        tag: u64,
    ) -> Vec<ClientEvent<V>> {
        if tag != CLIENT_TIMER_BASE {
            return Vec::new();
        }
        self.sweep_armed = false;
        let now = ctx.now().as_nanos();
        let late: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline_ns <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        let unacknowledged: Vec<(u64, Option<StreamId>)> = self
            .watches
            .iter()
            .filter(|(_, w)| w.unacknowledged_until_ns.is_some_and(|t| t <= now))
            .map(|(id, w)| (*id, w.stream))
            .collect();
        for (id, stream) in unacknowledged {
            if let Some(endpoint) = stream.and_then(|s| self.streams.get(&s).copied()) {
                self.rotate(endpoint);
            }
            self.resume_watch(ctx, id);
        }
        for id in late {
            // The member did not answer: it may be down or cut off, so it is no leader to
            // count on.
            let endpoint = self.pending.get(&id).map(|p| p.endpoint);
            if endpoint.is_some()
                && self.leader.and_then(|l| self.endpoint_of_member(l)) == endpoint
            {
                self.leader = None;
            }
            out.extend(self.retry_or_fail(ctx, id, None, EtcdError::DeadlineExceeded));
        }
        self.arm_sweep(ctx);
        out
    }

    pub fn on_stream_message<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        msg: EtcdMessage<V>,
    ) -> Vec<ClientEvent<V>> {
        match msg {
            EtcdMessage::Response { id, header, result } => {
                if let Ok(ResponseBody::Status(s)) = &result {
                    self.leader = s.leader;
                }
                match result {
                    Err(EtcdError::NotLeader { leader }) => {
                        self.leader = leader;
                        let next = leader.and_then(|l| self.endpoint_of_member(l));
                        self.retry_or_fail(ctx, id, next, EtcdError::NotLeader { leader })
                            .into_iter()
                            .collect()
                    }
                    Err(EtcdError::Timeout)
                    | Err(EtcdError::NoLeader)
                    | Err(EtcdError::TooManyRequests) => {
                        let err = result.err().unwrap_or(EtcdError::Timeout);
                        self.retry_or_fail(ctx, id, None, err).into_iter().collect()
                    }
                    result => {
                        let Some(p) = self.pending.remove(&id) else {
                            return Vec::new();
                        };
                        // Only the leader answers keep-alives: the member that did leads.
                        if matches!(result, Ok(ResponseBody::LeaseKeepAlive { .. })) {
                            self.leader =
                                self.streams.get(&stream).map(|e| self.cfg.endpoints[*e].0);
                        }
                        vec![ClientEvent::Response {
                            id,
                            header: Some(header),
                            result,
                            attempts: p.attempts,
                        }]
                    }
                }
            }
            EtcdMessage::WatchResponse {
                watch_id: wire_id,
                header,
                events,
                canceled,
            } => {
                let Some(&watch_id) = self.watch_of_wire.get(&wire_id) else {
                    return Vec::new();
                };
                let Some(w) = self.watches.get_mut(&watch_id) else {
                    return Vec::new();
                };
                if w.stream != Some(stream) {
                    return Vec::new();
                }
                w.unacknowledged_until_ns = None;
                if w.next_revision == 0 {
                    w.next_revision = header.revision + 1;
                }
                if let Some(last) = events.last() {
                    w.next_revision = last.kv.mod_revision + 1;
                }
                let mut out = Vec::new();
                if !events.is_empty() {
                    out.push(ClientEvent::WatchEvents { watch_id, events });
                }
                match canceled {
                    None => {}
                    Some(WatchCancel::NoLeader) => {
                        // The member ended this attempt itself: nothing to cancel there.
                        w.stream = None;
                        let endpoint = self.streams.get(&stream).copied().unwrap_or(self.current);
                        self.rotate(endpoint);
                        self.resume_watch(ctx, watch_id);
                    }
                    Some(reason) => {
                        self.watches.remove(&watch_id);
                        self.watch_of_wire.remove(&wire_id);
                        out.push(ClientEvent::WatchCanceled { watch_id, reason });
                    }
                }
                out
            }
            _ => Vec::new(),
        }
    }

    /// The stream to a member ended: retry its requests and resume its watches elsewhere.
    pub fn on_stream_closed<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
    ) -> Vec<ClientEvent<V>> {
        let Some(endpoint) = self.streams.remove(&stream) else {
            return Vec::new();
        };
        self.rotate(endpoint);
        if self.leader.and_then(|l| self.endpoint_of_member(l)) == Some(endpoint) {
            self.leader = None;
        }
        let ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.stream == stream)
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.retry_or_fail(ctx, id, None, EtcdError::DeadlineExceeded));
        }
        let watches: Vec<u64> = self
            .watches
            .iter()
            .filter(|(_, w)| w.stream == Some(stream))
            .map(|(id, _)| *id)
            .collect();
        for id in watches {
            self.resume_watch(ctx, id);
        }
        out
    }

    /// Watch `request`; events arrive as `ClientEvent::WatchEvents` with the returned id.
    pub fn watch<M: EtcdEnvelope<V>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        request: WatchRequest,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let next_revision = request.start_revision;
        self.watches.insert(
            id,
            ClientWatch {
                request,
                stream: None,
                next_revision,
                unacknowledged_until_ns: None,
                wire_id: 0,
            },
        );
        self.resume_watch(ctx, id);
        id
    }

    pub fn cancel_watch<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>, watch_id: u64) {
        if let Some(w) = self.watches.remove(&watch_id) {
            self.watch_of_wire.remove(&w.wire_id);
            if let Some(s) = w.stream {
                let watch_id = w.wire_id;
                let _ = ctx.stream_send(s, M::wrap(EtcdMessage::WatchCancel { watch_id }));
            }
        }
    }

    fn resume_watch<M: EtcdEnvelope<V>>(&mut self, ctx: &mut Ctx<'_, M>, watch_id: u64) {
        if self.cfg.endpoints.is_empty() {
            return;
        }
        let endpoint = self.current;
        let stream = self.stream_to(ctx, endpoint);
        self.next_id += 1;
        let wire_id = self.next_id;
        let Some(w) = self.watches.get_mut(&watch_id) else {
            return;
        };
        // An attempt still open on a live stream is cancelled there (a create that was only
        // slow would otherwise leave the member watching for nobody).
        let old = (w.wire_id, w.stream.filter(|s| ctx.stream_is_open(*s)));
        self.watch_of_wire.remove(&old.0);
        self.watch_of_wire.insert(wire_id, watch_id);
        w.wire_id = wire_id;
        let mut request = w.request.clone();
        request.start_revision = w.next_revision;
        w.stream = Some(stream);
        w.unacknowledged_until_ns =
            Some(ctx.now().as_nanos() + self.cfg.attempt_timeout.as_nanos());
        if let (old_wire, Some(old_stream)) = old
            && old_wire != 0
        {
            let cancel = EtcdMessage::WatchCancel { watch_id: old_wire };
            let _ = ctx.stream_send(old_stream, M::wrap(cancel));
        }
        let _ = ctx.stream_send(
            stream,
            M::wrap(EtcdMessage::WatchCreate {
                watch_id: wire_id,
                request,
            }),
        );
        self.arm_sweep(ctx);
    }
}
