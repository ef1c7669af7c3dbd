//! `EtcdctlClient`: the actor through which the outside world (a scenario's `Etcdctl` step, a
//! test) talks to etcd members, one request at a time, to the member it names — as etcdctl
//! does: `endpoint status` asks each endpoint for its own status, and a put sent to a member
//! cut off from the majority waits for a leader until the caller's deadline.
//!
//! It keeps one connection stream per member, opened on first use and reopened after it
//! breaks. It never retries: the deadline belongs to the caller (etcdctl's
//! `--command-timeout`), which runs the simulation until the answer or the deadline.
//! Bounds: at most [`MAX_IN_FLIGHT`] requests wait at once; an abandoned request's late answer
//! is dropped.

use std::collections::BTreeMap;

use sim::{Actor, ActorId, Ctx, StreamClose, StreamId};
use store::server::{
    EtcdEnvelope, EtcdError, EtcdMessage, RequestBody, ResponseBody, ResponseHeader,
};

use crate::message::{ClusterMsg, EtcdValue};

/// Requests waiting for an answer at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// A member's answer to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdAnswer {
    pub header: ResponseHeader,
    pub result: Result<ResponseBody<EtcdValue>, EtcdError>,
}

#[derive(Default)]
pub struct EtcdctlClient {
    streams: BTreeMap<ActorId, StreamId>,
    waiting: BTreeMap<u64, StreamId>,
    answers: BTreeMap<u64, EtcdAnswer>,
    next_id: u64,
}

impl EtcdctlClient {
    pub fn new() -> Self {
        EtcdctlClient::default()
    }

    /// Sends `body` to `member`; `None` when [`MAX_IN_FLIGHT`] requests already wait.
    pub fn send(
        &mut self,
        ctx: &mut Ctx<'_, ClusterMsg>,
        member: ActorId,
        body: RequestBody<EtcdValue>,
    ) -> Option<u64> {
        if self.waiting.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let stream = match self.streams.get(&member) {
            Some(s) if ctx.stream_is_open(*s) => *s,
            _ => {
                let s = ctx.open_stream(member);
                self.streams.insert(member, s);
                s
            }
        };
        self.next_id += 1;
        let id = self.next_id;
        let msg = ClusterMsg::wrap(EtcdMessage::Request { id, body });
        // A stream just checked or opened accepts the message; if it broke in between, the
        // request waits for the caller's deadline, as a request on a dead connection does.
        let _ = ctx.stream_send(stream, msg);
        self.waiting.insert(id, stream);
        Some(id)
    }

    /// The answer to request `id`, once it arrived (taken: asked again, `None`).
    pub fn take_answer(&mut self, id: u64) -> Option<EtcdAnswer> {
        self.answers.remove(&id)
    }

    pub fn has_answers(&self) -> bool {
        !self.answers.is_empty()
    }

    /// The caller gave up on `id`: forget it, and drop its answer if it comes.
    pub fn abandon(&mut self, id: u64) {
        self.waiting.remove(&id);
        self.answers.remove(&id);
    }
}

impl Actor<ClusterMsg> for EtcdctlClient {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, ClusterMsg>, _from: ActorId, _msg: ClusterMsg) {}

    fn on_stream_message(
        &mut self,
        _ctx: &mut Ctx<'_, ClusterMsg>,
        _stream: StreamId,
        _from: ActorId,
        msg: ClusterMsg,
    ) {
        let Ok(EtcdMessage::Response { id, header, result }) = msg.unwrap_etcd() else {
            return;
        };
        if self.waiting.remove(&id).is_some() {
            self.answers.insert(id, EtcdAnswer { header, result });
        }
    }

    fn on_stream_closed(
        &mut self,
        _ctx: &mut Ctx<'_, ClusterMsg>,
        stream: StreamId,
        _why: StreamClose,
    ) {
        // Requests on it keep waiting for their deadline (the connection's failure is not an
        // answer); the next request to that member opens a new stream.
        self.streams.retain(|_, s| *s != stream);
    }
}
