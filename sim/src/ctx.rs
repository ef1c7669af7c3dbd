//! What a handler may do: the context the engine passes to every actor callback.
//!
//! Everything goes through here so that the engine sees every effect: sends, timers, disk,
//! randomness, logs. `now()` is the host's own clock (skewed and drifting); the true virtual
//! time is available for oracles and metrics only ([`Ctx::sim_time`]).

use crate::disk::Disk;
use crate::ids::{ActorId, HostId, StreamId, TimerId};
use crate::message::Message;
use crate::rng::SimRng;
use crate::stream::StreamError;
use crate::time::{Duration, Time};
use crate::world::World;

/// The handle a handler uses to act on the simulation.
pub struct Ctx<'a, M: Message> {
    pub(crate) world: &'a mut World<M>,
    pub(crate) me: ActorId,
    pub(crate) host: HostId,
}

impl<'a, M: Message> Ctx<'a, M> {
    /// This actor.
    pub fn me(&self) -> ActorId {
        self.me
    }

    /// The host this actor runs on.
    pub fn host(&self) -> HostId {
        self.host
    }

    /// The host's clock: true virtual time plus the host's skew and drift.
    pub fn now(&self) -> Time {
        self.world.hosts[self.host.index()]
            .clock
            .local(self.world.now)
    }

    /// True virtual time. Components must use [`Ctx::now`]; this is for oracles and metrics.
    pub fn sim_time(&self) -> Time {
        self.world.now
    }

    /// Sends a datagram: it may be delayed, reordered, duplicated or lost, per the network.
    /// Sending to [`ActorId::EXTERNAL`] queues it for the outside world (`Sim::take_external`).
    pub fn send(&mut self, to: ActorId, msg: M) {
        self.world.send(self.me, Some(self.host), to, msg);
    }

    /// Fires `on_timer(tag)` after `delay` of this host's clock.
    pub fn set_timer(&mut self, delay: Duration, tag: u64) -> TimerId {
        self.world.set_timer(self.me, self.host, delay, tag)
    }

    /// Re-arms a timer: moves `id` to fire `delay` from now (with `tag`) if it is still
    /// pending, else sets a new one. The cheap way to push back a lease or election timeout on
    /// every heartbeat: `self.t = Some(ctx.reset_timer(self.t, d, TAG))`.
    pub fn reset_timer(&mut self, id: Option<TimerId>, delay: Duration, tag: u64) -> TimerId {
        self.world.reset_timer(self.me, self.host, id, delay, tag)
    }

    /// Cancels a pending timer; false if it already fired or was cancelled.
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.world.timers.take(id).is_some()
    }

    /// Whether a timer is still pending.
    pub fn timer_pending(&self, id: TimerId) -> bool {
        self.world.timers.is_pending(id)
    }

    /// This actor's own random stream (forked from the seed by `host/actor`).
    pub fn rng(&mut self) -> &mut SimRng {
        self.world.actor_rng(self.me)
    }

    /// This host's disk. Writes are pending until [`Disk::sync`] or [`Ctx::fsync`] completes.
    pub fn disk(&mut self) -> &mut Disk {
        &mut self.world.hosts[self.host.index()].disk
    }

    /// Starts an fsync of every write made so far on this host's disk; `on_fsync(token)` runs
    /// when it completes (after the configured fsync latency). A crash before then loses them.
    pub fn fsync(&mut self, token: u64) {
        self.world.fsync(self.me, self.host, token);
    }

    /// Opens a connection stream to `to` (see [`crate::stream`]).
    pub fn open_stream(&mut self, to: ActorId) -> StreamId {
        self.world.open_stream(self.me, to)
    }

    /// Sends `msg` on a stream: in order, exactly once while connected.
    pub fn stream_send(&mut self, stream: StreamId, msg: M) -> Result<(), StreamError> {
        self.world.stream_send(self.me, stream, Some(msg))
    }

    /// Closes this end; the peer gets `on_stream_closed(ClosedByPeer)` after the data in flight.
    pub fn close_stream(&mut self, stream: StreamId) -> Result<(), StreamError> {
        self.world.close_stream(self.me, stream)
    }

    /// Whether the stream is open at this end.
    pub fn stream_is_open(&self, stream: StreamId) -> bool {
        self.world
            .streams
            .get(&stream)
            .is_some_and(|s| s.end_of(self.me).is_some_and(|e| s.open[e]))
    }

    /// A BUGGIFY fault point: true only in runs with BUGGIFY on, where this point is active,
    /// and then with a small probability.
    pub fn buggify(&mut self, point: &'static str) -> bool {
        self.world.buggify.check(point)
    }

    /// Appends a line to this actor's log (stamped with the host's clock), kept across crashes.
    pub fn log(&mut self, line: impl Into<String>) {
        self.world.log(self.me, self.host, &line.into());
    }

    /// Says this actor's process ended and its container runs it again on the same boot (a
    /// component that exits on purpose, restarted by its kubelet): the lines logged from here
    /// on are the new run's ([`crate::LogLine::run`]), as a new container's log would be.
    pub fn process_restarted(&mut self) {
        let run = self.world.process_run(self.me).saturating_add(1);
        self.world.process_runs.insert(self.me, run);
    }

    /// Records an invariant violation: the run stops with a finding after this handler returns.
    pub fn violation(&mut self, what: impl Into<String>) {
        if self.world.violation.is_none() {
            self.world.violation = Some(what.into());
        }
    }

    /// The actor named `actor` on the host named `host`.
    pub fn lookup(&self, host: &str, actor: &str) -> Option<ActorId> {
        let h = self.world.host_names.get(host)?;
        self.world.hosts[h.index()].actor_names.get(actor).copied()
    }

    /// The host of an actor.
    pub fn host_of(&self, actor: ActorId) -> Option<HostId> {
        self.world.host_of(actor)
    }

    /// A host's name.
    pub fn host_name(&self, host: HostId) -> &str {
        self.world
            .hosts
            .get(host.index())
            .map_or("", |h| h.name.as_str())
    }

    /// An actor's name (without its host).
    pub fn actor_name(&self, actor: ActorId) -> &str {
        self.world
            .actors
            .get(actor.index())
            .map_or("external", |m| &m.name)
    }

    /// Whether JSON trace lines are being written (so a component may skip building details).
    pub fn tracing(&self) -> bool {
        self.world.trace.writer.is_some()
    }
}
