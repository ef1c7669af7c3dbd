//! `ApiClient`: the typed request helper an actor embeds to talk to kube-apiserver (a
//! clientset's transport): one connection stream at a time to one apiserver replica, requests
//! matched to responses by id, a timeout per attempt, and idempotent reads retried on another
//! replica (HA).
//!
//! Follows client-go `rest/request.go` where it matters here: GETs (get, list) are retried
//! after a connection failure, writes are not (a write whose answer was lost may have been
//! applied; the caller's level-based reconcile looks again), and a watch is never retried by
//! the transport — it ends, and the reflector decides what to do. The stream stays pinned to
//! one replica until it breaks or an attempt on it times out, then the next replica is used,
//! as a client behind a load balancer reconnects elsewhere.
//!
//! Simplifications: client-go has no per-request timeout by default (callers use contexts);
//! here every get/list/write attempt has `attempt_timeout` (15 s) so a silent replica is
//! abandoned. Watches have no timeout here; the server ends them (`timeoutSeconds`) and a dead
//! replica breaks the stream (45 s, the HTTP/2 health check).
//!
//! Client-side rate limiting (client-go `util/flowcontrol`, `rest.Config.QPS`/`Burst`):
//! [`ApiClient::send_throttled`] takes a token from a caller-owned
//! [`BucketRateLimiter`] and, when the bucket is empty, holds the request in the client until
//! its token is due (on the host's virtual clock), as `Request.tryThrottle` blocks the calling
//! goroutine. Requests wait; none is dropped. Watches are never throttled upstream
//! (`Request.Watch` skips the limiter), so callers send them with [`ApiClient::send`]. The
//! bucket is the caller's so that one process can give each of its clientsets its own
//! (kube-controller-manager builds one client, with one bucket, per controller).
//!
//! Timers: the owning actor must route every timer whose tag satisfies [`is_api_client_timer`]
//! to [`ApiClient::on_timer`].

use std::collections::BTreeMap;
use std::sync::Arc;

use apiserver::{
    ApiEnvelope, ApiMessage, ApiReply, ApiRequest, StatusError, StatusReason, UserInfo, Verb,
    WatchEndReason, WatchEvent,
};
use sim::{ActorId, Ctx, Duration, StreamId, TimerId};
use thiserror::Error;

use crate::rate_limiter::BucketRateLimiter;

/// Timer tags at and above this (with these high bits) belong to the client; the low 48 bits
/// are a request id.
pub const API_CLIENT_TIMER_BASE: u64 = 0xA91C_0000_0000_0000;
const TAG_MASK: u64 = 0xFFFF_0000_0000_0000;
const ID_MASK: u64 = !TAG_MASK;
/// Set in a timer tag's id bits when the timer releases a throttled request (request ids never
/// come near 2^47).
const THROTTLE_FLAG: u64 = 1 << 47;

pub fn is_api_client_timer(tag: u64) -> bool {
    tag & TAG_MASK == API_CLIENT_TIMER_BASE
}

/// Why a request got no answer from the server.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ClientError {
    /// The server answered with a Status error.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// No answer within the attempt timeout, on every attempt allowed.
    #[error("request timed out after {attempts} attempt(s)")]
    Timeout { attempts: u32 },
    /// The connection broke before the answer (a write is not retried: it may have applied).
    #[error("connection to the apiserver was lost")]
    ConnectionLost,
    /// No apiserver endpoint is configured.
    #[error("no apiserver endpoint configured")]
    NoEndpoint,
}

impl ClientError {
    pub fn status(&self) -> Option<&StatusError> {
        match self {
            ClientError::Status(s) => Some(s),
            _ => None,
        }
    }
    /// 404.
    pub fn is_not_found(&self) -> bool {
        self.status().is_some_and(|s| s.code == 404)
    }
    /// 409 Conflict (not AlreadyExists): an optimistic-concurrency loss.
    pub fn is_conflict(&self) -> bool {
        self.status()
            .is_some_and(|s| s.code == 409 && s.reason == StatusReason::Conflict)
    }
    /// 410 (`IsGone` or `IsResourceExpired`): the client must relist.
    pub fn is_gone(&self) -> bool {
        self.status().is_some_and(is_gone)
    }
}

/// 410 Gone or Expired: the resourceVersion asked for has been compacted away.
pub fn is_gone(status: &StatusError) -> bool {
    status.code == 410
}

/// Why a watch ended, from the client's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchStop {
    /// The server ended it.
    Server(WatchEndReason),
    /// The stream broke (replica dead or cut off).
    Broken,
}

/// What the client hands back to its owner.
#[derive(Clone, Debug)]
pub enum ClientEvent {
    Response {
        id: u64,
        result: Result<ApiReply, ClientError>,
    },
    WatchEvent {
        id: u64,
        event: Arc<WatchEvent>,
    },
    WatchEnded {
        id: u64,
        stop: WatchStop,
    },
}

impl ClientEvent {
    /// The request id the event belongs to.
    pub fn id(&self) -> u64 {
        match self {
            ClientEvent::Response { id, .. }
            | ClientEvent::WatchEvent { id, .. }
            | ClientEvent::WatchEnded { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ApiClientConfig {
    /// The apiserver replicas, in the order they are tried.
    pub endpoints: Vec<ActorId>,
    /// Who the requests are from.
    pub user: UserInfo,
    pub attempt_timeout: Duration,
    /// Attempts for an idempotent read across replicas.
    pub max_read_attempts: u32,
}

impl ApiClientConfig {
    pub fn new(endpoints: Vec<ActorId>, user: UserInfo) -> Self {
        let max_read_attempts = u32::try_from(endpoints.len()).unwrap_or(u32::MAX).max(1) + 1;
        ApiClientConfig {
            endpoints,
            user,
            attempt_timeout: Duration::from_secs(15),
            max_read_attempts,
        }
    }
}

#[derive(Debug)]
struct Pending {
    request: Arc<ApiRequest>,
    stream: StreamId,
    attempts: u32,
    timer: Option<TimerId>,
}

/// The client state an actor keeps.
#[derive(Debug)]
pub struct ApiClient {
    cfg: ApiClientConfig,
    current: usize,
    stream: Option<StreamId>,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    /// `cfg.user`, shared by every request.
    user: Arc<UserInfo>,
    /// Watches by request id, and the stream each runs on.
    watches: BTreeMap<u64, StreamId>,
    /// Requests waiting for their rate-limiter token, and the timer that releases each.
    throttled: BTreeMap<u64, (Arc<ApiRequest>, TimerId)>,
}

impl ApiClient {
    pub fn new(cfg: ApiClientConfig) -> Self {
        ApiClient {
            user: Arc::new(cfg.user.clone()),
            cfg,
            current: 0,
            stream: None,
            next_id: 1,
            pending: BTreeMap::new(),
            watches: BTreeMap::new(),
            throttled: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &ApiClientConfig {
        &self.cfg
    }

    /// The replica requests currently go to.
    pub fn endpoint(&self) -> Option<ActorId> {
        self.cfg.endpoints.get(self.current).copied()
    }

    /// Requests awaiting an answer (watches not counted).
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Sends `verb` on `kind` (in `namespace`, on `name`; either may be empty); returns the id
    /// its answer will carry. A watch answers with watch events.
    pub fn request<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        kind: api::Kind,
        namespace: &str,
        name: &str,
        verb: Verb,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let request = ApiRequest::new(id, self.user.clone(), kind, verb)
            .in_namespace(namespace)
            .named(name);
        self.submit(ctx, Arc::new(request), 1);
        id
    }

    /// Like [`ApiClient::request`] with a fully built request (subresources); its `id` is
    /// replaced by a fresh one, returned.
    pub fn send<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, mut request: ApiRequest) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        request.id = id;
        request.user = self.user.clone();
        self.submit(ctx, Arc::new(request), 1);
        id
    }

    /// Like [`ApiClient::send`], after taking a token from `limiter`: when the bucket is
    /// empty the request waits in the client until its token is due, then goes out. The id is
    /// returned at once; the answer comes as for any request.
    pub fn send_throttled<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        mut request: ApiRequest,
        limiter: &mut BucketRateLimiter,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        request.id = id;
        request.user = self.user.clone();
        let wait = limiter.reserve(ctx.now());
        if wait == Duration::ZERO {
            self.submit(ctx, Arc::new(request), 1);
        } else {
            let timer = ctx.set_timer(wait, API_CLIENT_TIMER_BASE | THROTTLE_FLAG | (id & ID_MASK));
            self.throttled.insert(id, (Arc::new(request), timer));
        }
        id
    }

    /// Requests waiting for a rate-limiter token.
    pub fn throttled(&self) -> usize {
        self.throttled.len()
    }

    /// Forgets every request still waiting for a token (the process that made them is gone);
    /// they are never sent and never answered.
    pub fn drop_throttled<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        for (_, (_, timer)) in std::mem::take(&mut self.throttled) {
            ctx.cancel_timer(timer);
        }
    }

    /// Stops a watch (the server is told; no further events are reported for it).
    pub fn cancel_watch<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, id: u64) {
        if let Some(stream) = self.watches.remove(&id) {
            let _ = ctx.stream_send(stream, M::wrap_api(ApiMessage::CancelWatch { id }));
        }
        if let Some(p) = self.pending.remove(&id)
            && let Some(t) = p.timer
        {
            ctx.cancel_timer(t);
        }
    }

    fn connection<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) -> Option<StreamId> {
        if let Some(s) = self.stream
            && ctx.stream_is_open(s)
        {
            return Some(s);
        }
        let to = *self.cfg.endpoints.get(self.current)?;
        let s = ctx.open_stream(to);
        self.stream = Some(s);
        Some(s)
    }

    fn submit<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        request: Arc<ApiRequest>,
        attempts: u32,
    ) {
        let id = request.id;
        let Some(stream) = self.connection(ctx) else {
            // Reported at once through a zero-delay timer, so the caller sees one path for
            // every failure.
            let timer = ctx.set_timer(Duration::ZERO, API_CLIENT_TIMER_BASE | (id & ID_MASK));
            self.pending.insert(
                id,
                Pending {
                    request,
                    stream: StreamId(u64::MAX),
                    attempts,
                    timer: Some(timer),
                },
            );
            return;
        };
        let is_watch = matches!(request.verb, Verb::Watch(_));
        let _ = ctx.stream_send(stream, M::wrap_api(ApiMessage::Request(request.clone())));
        if is_watch {
            self.watches.insert(id, stream);
            return;
        }
        let timer = ctx.set_timer(
            self.cfg.attempt_timeout,
            API_CLIENT_TIMER_BASE | (id & ID_MASK),
        );
        self.pending.insert(
            id,
            Pending {
                request,
                stream,
                attempts,
                timer: Some(timer),
            },
        );
    }

    fn is_read(request: &ApiRequest) -> bool {
        matches!(request.verb, Verb::Get(_) | Verb::List(_))
    }

    /// Moves to the next replica (after a failure on the current one).
    fn rotate(&mut self, failed: StreamId) {
        if self.stream == Some(failed) || self.stream.is_none() {
            self.stream = None;
            if !self.cfg.endpoints.is_empty() {
                self.current = (self.current + 1) % self.cfg.endpoints.len();
            }
        }
    }

    /// Retries a read elsewhere or reports the failure.
    fn fail_attempt<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        p: Pending,
        error: ClientError,
        out: &mut Vec<ClientEvent>,
    ) {
        let id = p.request.id;
        if self.cfg.endpoints.is_empty() {
            out.push(ClientEvent::Response {
                id,
                result: Err(ClientError::NoEndpoint),
            });
            return;
        }
        if Self::is_read(&p.request) && p.attempts < self.cfg.max_read_attempts {
            self.submit(ctx, p.request, p.attempts + 1);
            return;
        }
        let error = match error {
            ClientError::Timeout { .. } => ClientError::Timeout {
                attempts: p.attempts,
            },
            e => e,
        };
        out.push(ClientEvent::Response {
            id,
            result: Err(error),
        });
    }

    /// A timer the client set fired.
    pub fn on_timer<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) -> Vec<ClientEvent> {
        let mut out = Vec::new();
        let id = tag & ID_MASK;
        if id & THROTTLE_FLAG != 0 {
            if let Some((request, _)) = self.throttled.remove(&(id & !THROTTLE_FLAG)) {
                self.submit(ctx, request, 1);
            }
            return out;
        }
        let Some(p) = self.pending.remove(&id) else {
            return out;
        };
        let abandoned = p.stream;
        self.rotate(abandoned);
        self.fail_attempt(ctx, p, ClientError::Timeout { attempts: 0 }, &mut out);
        // The abandoned connection is closed once nothing runs on it (watches keep it).
        if self.stream != Some(abandoned)
            && !self.watches.values().any(|s| *s == abandoned)
            && !self.pending.values().any(|q| q.stream == abandoned)
            && ctx.stream_is_open(abandoned)
        {
            let _ = ctx.close_stream(abandoned);
        }
        out
    }

    /// An API message arrived on `stream`. Messages that are not answers to this client's
    /// requests are ignored (empty result).
    pub fn on_message<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        msg: ApiMessage,
    ) -> Vec<ClientEvent> {
        let mut out = Vec::new();
        match msg {
            ApiMessage::Response(r) => {
                if let Some(p) = self.pending.remove(&r.id) {
                    if let Some(t) = p.timer {
                        ctx.cancel_timer(t);
                    }
                    out.push(ClientEvent::Response {
                        id: r.id,
                        result: r.result.clone().map_err(ClientError::from),
                    });
                } else if self.watches.get(&r.id) == Some(&stream) {
                    // A watch refused before it started (400, 403, 410).
                    self.watches.remove(&r.id);
                    out.push(ClientEvent::Response {
                        id: r.id,
                        result: r.result.clone().map_err(ClientError::from),
                    });
                }
            }
            ApiMessage::WatchEvent { id, event } => {
                if self.watches.get(&id) == Some(&stream) {
                    out.push(ClientEvent::WatchEvent { id, event });
                }
            }
            ApiMessage::WatchEnd { id, reason } => {
                if self.watches.get(&id) == Some(&stream) {
                    self.watches.remove(&id);
                    out.push(ClientEvent::WatchEnded {
                        id,
                        stop: WatchStop::Server(reason),
                    });
                }
            }
            ApiMessage::Request(_) | ApiMessage::CancelWatch { .. } => {}
        }
        out
    }

    /// A stream closed or broke: its watches end, its reads move to another replica, its
    /// writes fail.
    pub fn on_stream_closed<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
    ) -> Vec<ClientEvent> {
        let mut out = Vec::new();
        if self.stream != Some(stream)
            && !self.watches.values().any(|s| *s == stream)
            && !self.pending.values().any(|p| p.stream == stream)
        {
            return out;
        }
        self.rotate(stream);
        let ended: Vec<u64> = self
            .watches
            .iter()
            .filter(|(_, s)| **s == stream)
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            self.watches.remove(&id);
            out.push(ClientEvent::WatchEnded {
                id,
                stop: WatchStop::Broken,
            });
        }
        let lost: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.stream == stream)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            if let Some(p) = self.pending.remove(&id) {
                if let Some(t) = p.timer {
                    ctx.cancel_timer(t);
                }
                self.fail_attempt(ctx, p, ClientError::ConnectionLost, &mut out);
            }
        }
        out
    }
}
