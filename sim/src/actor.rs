//! The actor contract: a component is a state machine the engine drives one event at a time.
//!
//! Every handler gets a [`Ctx`] through which it sends, sets timers, touches its host's disk
//! and draws randomness; it never blocks and never sees the wall clock. An actor is built by a
//! factory registered with it, which runs again (with the host's surviving disk) when the host
//! restarts after a crash.

use crate::ctx::Ctx;
use crate::ids::{ActorId, StreamId};
use crate::message::Message;
use crate::stream::StreamClose;
use std::any::Any;

/// A simulated process. Only `on_message` is required; the other handlers default to no-ops.
///
/// `Actor<M>: Any`, so the engine can hand back the concrete type for inspection
/// ([`crate::Sim::actor`]).
pub trait Actor<M: Message>: Any {
    /// Runs once when the actor is added, and again after each restart of its host.
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        let _ = ctx;
    }

    /// A datagram arrived (`from` is [`ActorId::EXTERNAL`] for injected messages).
    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, from: ActorId, msg: M);

    /// A timer set with [`Ctx::set_timer`] fired; `tag` is the value given then.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) {
        let _ = (ctx, tag);
    }

    /// A message arrived on a stream; the first one on a stream the actor did not open is how
    /// it learns of the stream.
    fn on_stream_message(&mut self, ctx: &mut Ctx<'_, M>, stream: StreamId, from: ActorId, msg: M) {
        let _ = (ctx, stream, from, msg);
    }

    /// The stream ended: the peer closed it, or it broke. It cannot be used any more.
    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, M>, stream: StreamId, why: StreamClose) {
        let _ = (ctx, stream, why);
    }

    /// An fsync started with [`Ctx::fsync`] completed: the writes made before it are durable.
    fn on_fsync(&mut self, ctx: &mut Ctx<'_, M>, token: u64) {
        let _ = (ctx, token);
    }
}

/// Builds (and after a crash rebuilds) an actor from its host's disk.
pub type Factory<M> = Box<dyn FnMut(&crate::disk::Disk) -> Box<dyn Actor<M>>>;
