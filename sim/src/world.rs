//! The engine's state apart from the actors' behaviours: clock, queue, hosts, network,
//! streams, timers, trace. Handlers reach it through [`crate::Ctx`]; the methods here are the
//! operations both handlers and the outside world perform (send, set a timer, open a stream).

use crate::buggify::Buggify;
use crate::config::SimConfig;
use crate::host::{Host, HostStatus};
use crate::ids::{ActorId, HostId, StreamId, TimerId};
use crate::log_store::ActorLog;
use crate::message::Message;
use crate::network::{Fate, Network};
use crate::queue::Queue;
use crate::rng::SimRng;
use crate::stream::{Health, Stream, StreamClose, StreamError};
use crate::time::{Duration, Time};
use crate::timer::Timers;
use crate::trace::{Trace, TraceKind, TraceLine};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Something scheduled on the queue.
pub(crate) enum Event<M> {
    Start {
        actor: ActorId,
        inc: u32,
    },
    Message {
        src: ActorId,
        dst: ActorId,
        inc: u32,
        msg: M,
    },
    External {
        dst: ActorId,
        inc: u32,
        msg: M,
    },
    Timer {
        actor: ActorId,
        inc: u32,
        id: TimerId,
    },
    /// `msg: None` is the FIN of a graceful close.
    StreamData {
        stream: StreamId,
        dir: u8,
        seq: u64,
        msg: Option<M>,
    },
    StreamClosed {
        stream: StreamId,
        actor: ActorId,
        inc: u32,
        why: StreamClose,
    },
    StreamCheck {
        stream: StreamId,
        epoch: u32,
    },
    Fsync {
        actor: ActorId,
        inc: u32,
        mark: u64,
        token: u64,
    },
    Fault {
        index: u32,
    },
    PauseEnd {
        host: HostId,
        generation: u32,
    },
}

pub(crate) struct ActorMeta {
    pub(crate) host: HostId,
    pub(crate) name: Box<str>,
    /// Forked on first use: an actor that never draws costs no generator.
    pub(crate) rng: Option<Box<SimRng>>,
}

/// One line an actor logged, with both clocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The host's clock when the line was logged (what klog would print).
    pub local: Time,
    /// True virtual time.
    pub at: Time,
    /// The text.
    pub text: String,
    /// The host's boot the line was logged in: 0 until its first crash, then one more per
    /// restart (what tells one run of a process from the next, as a new container would).
    #[serde(default)]
    pub boot: u32,
    /// The process's run within the boot: 0 at boot, one more each time the actor said its
    /// process ended and its container started it again ([`crate::Ctx::process_restarted`]).
    #[serde(default)]
    pub run: u32,
}

/// A message an actor sent to [`ActorId::EXTERNAL`], waiting for the outside world.
#[derive(Clone, Debug)]
pub struct ExternalMessage<M> {
    /// True virtual time it was sent.
    pub at: Time,
    /// The sender.
    pub from: ActorId,
    /// The message.
    pub msg: M,
}

pub(crate) struct World<M> {
    pub(crate) now: Time,
    pub(crate) queue: Queue<Event<M>>,
    pub(crate) hosts: Vec<Host<Event<M>>>,
    /// Parallel to `hosts`: what each delivery checks.
    pub(crate) status: Vec<HostStatus>,
    /// Parallel to `actors`: each actor's host, dense for the same reason.
    pub(crate) actor_host: Vec<HostId>,
    pub(crate) host_names: BTreeMap<String, HostId>,
    pub(crate) actors: Vec<ActorMeta>,
    pub(crate) timers: Timers,
    pub(crate) net: Network,
    pub(crate) streams: BTreeMap<StreamId, Stream<M>>,
    pub(crate) next_stream: u64,
    pub(crate) trace: Trace,
    pub(crate) buggify: Buggify,
    pub(crate) config: SimConfig,
    pub(crate) events: u64,
    pub(crate) violation: Option<String>,
    pub(crate) external: VecDeque<ExternalMessage<M>>,
    pub(crate) external_dropped: u64,
    pub(crate) logs: BTreeMap<ActorId, ActorLog>,
    /// Actors whose process restarted in place, and in which run it is now (see
    /// [`LogLine::run`]); reset when the host boots again.
    pub(crate) process_runs: BTreeMap<ActorId, u32>,
}

impl<M: Message> World<M> {
    pub(crate) fn new(config: SimConfig) -> World<M> {
        let seed = config.seed;
        World {
            now: Time::ZERO,
            queue: Queue::new(),
            hosts: Vec::new(),
            status: Vec::new(),
            actor_host: Vec::new(),
            host_names: BTreeMap::new(),
            actors: Vec::new(),
            timers: Timers::default(),
            net: Network::new(
                config.network,
                config.loopback_latency,
                SimRng::fork(seed, "network"),
            ),
            streams: BTreeMap::new(),
            next_stream: 0,
            trace: Trace::new(),
            buggify: Buggify::new(config.buggify, seed),
            config,
            events: 0,
            violation: None,
            external: VecDeque::new(),
            external_dropped: 0,
            logs: BTreeMap::new(),
            process_runs: BTreeMap::new(),
        }
    }

    /// `host/actor`, or `external`.
    /// When the next event or timer is due.
    pub(crate) fn next_time(&mut self) -> Option<Time> {
        self.timers.normalize();
        match (self.queue.peek_key(), self.timers.peek()) {
            (Some((a, _)), Some((b, _))) => Some(a.min(b)),
            (a, b) => a.or(b).map(|(t, _)| t),
        }
    }

    /// [`World::next_time`] for `&self` callers.
    pub(crate) fn peek_next_time(&self) -> Option<Time> {
        match (self.queue.peek_time(), self.timers.peek()) {
            (Some(a), Some((b, _))) => Some(a.min(b)),
            (a, b) => a.or(b.map(|(t, _)| t)),
        }
    }

    /// Removes the next event, timers and queued events merged by `(time, sequence)`.
    #[inline]
    pub(crate) fn pop_next(&mut self) -> Option<(Time, Event<M>)> {
        self.timers.normalize();
        // Without pending timers, skip the peek: the common case in large idle clusters.
        let timer_first = match self.timers.peek() {
            None => false,
            Some(t) => self.queue.peek_key().is_none_or(|q| t < q),
        };
        if timer_first {
            let at = self.timers.peek().map(|(t, _)| t)?;
            let due = self.timers.pop()?;
            return Some((
                at,
                Event::Timer {
                    actor: due.actor,
                    inc: due.inc,
                    id: due.id,
                },
            ));
        }
        self.queue.pop()
    }

    pub(crate) fn full_name(&self, a: ActorId) -> String {
        match self.actors.get(a.index()) {
            Some(m) => format!("{}/{}", self.hosts[m.host.index()].name, m.name),
            None => a.to_string(),
        }
    }

    #[inline]
    pub(crate) fn host_of(&self, a: ActorId) -> Option<HostId> {
        self.actor_host.get(a.index()).copied()
    }

    /// Folds one event into the trace hash and, when a writer is set, writes its line.
    #[inline]
    pub(crate) fn record(
        &mut self,
        kind: TraceKind,
        src: ActorId,
        dst: ActorId,
        extra: u64,
        msg: Option<&M>,
    ) {
        let h = &mut self.trace.hasher;
        h.write_u64(kind.code());
        h.write_u64(self.now.as_nanos());
        h.write_u32(src.0);
        h.write_u32(dst.0);
        h.write_u64(extra);
        if let Some(m) = msg {
            m.trace_digest(h);
        }
        if self.trace.writer.is_some() {
            let label = match msg {
                Some(m) => m.trace_label(),
                None => extra.to_string(),
            };
            self.write_trace_line(kind, src, dst, &label);
        }
    }

    pub(crate) fn write_trace_line(
        &mut self,
        kind: TraceKind,
        src: ActorId,
        dst: ActorId,
        label: &str,
    ) {
        let (src, dst) = (self.full_name(src), self.full_name(dst));
        let line = TraceLine {
            time: self.now,
            kind,
            src: &src,
            dst: &dst,
            label,
        };
        self.trace.write_line(&line);
    }

    /// Sends a datagram from `src` (on `src_host`) to `dst` through the network.
    pub(crate) fn send(&mut self, src: ActorId, src_host: Option<HostId>, dst: ActorId, msg: M) {
        if dst == ActorId::EXTERNAL {
            if self.external.len() >= self.config.external_inbox_limit {
                self.external.pop_front();
                self.external_dropped += 1;
            }
            self.external.push_back(ExternalMessage {
                at: self.now,
                from: src,
                msg,
            });
            return;
        }
        let Some(dst_host) = self.host_of(dst) else {
            self.net.stats.lost += 1;
            return;
        };
        self.net.stats.sent += 1;
        let st = self.status[dst_host.index()];
        let (up, inc) = (st.up, st.incarnation);
        let src_host = src_host.unwrap_or(dst_host);
        if !up || self.net.is_blocked(src_host, dst_host) {
            self.lost(src, dst, &msg);
            return;
        }
        match self
            .net
            .draw(self.now, src_host, dst_host, msg.wire_size(), true)
        {
            Fate::Lost => self.lost(src, dst, &msg),
            Fate::Deliver {
                after,
                duplicate_after,
            } => {
                if let Some(d) = duplicate_after {
                    self.net.stats.duplicated += 1;
                    self.queue.push(
                        self.now + d,
                        Event::Message {
                            src,
                            dst,
                            inc,
                            msg: msg.clone(),
                        },
                    );
                }
                self.queue
                    .push(self.now + after, Event::Message { src, dst, inc, msg });
            }
        }
    }

    fn lost(&mut self, src: ActorId, dst: ActorId, msg: &M) {
        self.net.stats.lost += 1;
        self.record(TraceKind::Lost, src, dst, 0, Some(msg));
    }

    pub(crate) fn set_timer(
        &mut self,
        actor: ActorId,
        host: HostId,
        delay: Duration,
        tag: u64,
    ) -> TimerId {
        let st = self.status[host.index()];
        let delay = if st.drifts {
            self.hosts[host.index()].clock.true_delay(delay)
        } else {
            delay
        };
        let at = self.now + delay;
        let inc = st.incarnation;
        let seq = self.queue.take_seq();
        self.timers.insert(at, seq, actor, inc, tag)
    }

    /// Moves `id` if it is pending, else sets a new timer (cancelling one a pause holds).
    pub(crate) fn reset_timer(
        &mut self,
        actor: ActorId,
        host: HostId,
        id: Option<TimerId>,
        delay: Duration,
        tag: u64,
    ) -> TimerId {
        if let Some(id) = id {
            let st = self.status[host.index()];
            let d = if st.drifts {
                self.hosts[host.index()].clock.true_delay(delay)
            } else {
                delay
            };
            let seq = self.queue.take_seq();
            if self.timers.reschedule(id, self.now + d, seq, tag) {
                return id;
            }
            self.timers.take(id);
        }
        self.set_timer(actor, host, delay, tag)
    }

    pub(crate) fn actor_rng(&mut self, actor: ActorId) -> &mut SimRng {
        let seed = self.config.seed;
        let hosts = &self.hosts;
        let meta = &mut self.actors[actor.index()];
        let (host, name) = (meta.host, &meta.name);
        meta.rng.get_or_insert_with(|| {
            let key = format!("{}/{}", hosts[host.index()].name, name);
            Box::new(SimRng::fork(seed, &key))
        })
    }

    pub(crate) fn log(&mut self, actor: ActorId, host: HostId, text: &str) {
        let limit = self.config.log_lines_per_actor;
        if limit == 0 {
            return;
        }
        let local = self.hosts[host.index()].clock.local(self.now);
        let boot = self.status[host.index()].incarnation;
        let run = self.process_run(actor);
        self.logs
            .entry(actor)
            .or_default()
            .push(limit, local, self.now, (boot, run), text);
    }

    /// The run of `actor`'s process within its host's boot ([`LogLine::run`]).
    pub(crate) fn process_run(&self, actor: ActorId) -> u32 {
        if self.process_runs.is_empty() {
            return 0;
        }
        self.process_runs.get(&actor).copied().unwrap_or(0)
    }

    pub(crate) fn fsync(&mut self, actor: ActorId, host: HostId, token: u64) {
        let h = &self.hosts[host.index()];
        let mark = h.disk.sync_mark();
        let at = self.now + self.config.fsync_latency;
        self.queue.push(
            at,
            Event::Fsync {
                actor,
                inc: self.status[host.index()].incarnation,
                mark,
                token,
            },
        );
    }

    // ---- streams ----

    pub(crate) fn open_stream(&mut self, me: ActorId, to: ActorId) -> StreamId {
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        let (Some(h0), Some(h1)) = (self.host_of(me), self.host_of(to)) else {
            // Connecting to nobody: the connect times out like one to a dead host.
            return id;
        };
        let incs = [
            self.status[h0.index()].incarnation,
            self.status[h1.index()].incarnation,
        ];
        let mut s = Stream::new([me, to], [h0, h1], incs);
        if !self.status[h1.index()].up {
            s.health = Health::PeerDown { dead: 1 };
            self.queue.push(
                self.now + self.config.stream_break_timeout,
                Event::StreamCheck {
                    stream: id,
                    epoch: 0,
                },
            );
        } else if self.net.is_cut(h0, h1) {
            s.cut_since = Some(self.now);
            self.queue.push(
                self.now + self.config.stream_break_timeout,
                Event::StreamCheck {
                    stream: id,
                    epoch: 0,
                },
            );
        }
        self.streams.insert(id, s);
        id
    }

    pub(crate) fn stream_send(
        &mut self,
        me: ActorId,
        id: StreamId,
        msg: Option<M>,
    ) -> Result<(), StreamError> {
        let s = self.streams.get_mut(&id).ok_or(StreamError::Closed)?;
        let end = s.end_of(me).ok_or(StreamError::NotAnEnd)?;
        if !s.open[end] {
            return Err(StreamError::Closed);
        }
        if let Health::PeerDown { .. } = s.health {
            // Like bytes written into a dead connection's socket buffer: accepted, never read.
            return Ok(());
        }
        let seq = s.next_seq[end];
        s.next_seq[end] += 1;
        if s.cut_since.is_some() {
            s.hold(end, seq, msg);
            return Ok(());
        }
        // The stream found above, not looked up again: every request and reply passes here.
        transmit_on(
            &mut self.net,
            &mut self.queue,
            self.now,
            s,
            id,
            end,
            seq,
            msg,
        );
        Ok(())
    }

    /// Puts one stream message on the wire, never overtaking an earlier one in its direction.
    fn transmit(&mut self, id: StreamId, dir: usize, seq: u64, msg: Option<M>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        transmit_on(
            &mut self.net,
            &mut self.queue,
            self.now,
            s,
            id,
            dir,
            seq,
            msg,
        );
    }

    pub(crate) fn close_stream(&mut self, me: ActorId, id: StreamId) -> Result<(), StreamError> {
        let s = self.streams.get(&id).ok_or(StreamError::Closed)?;
        let end = s.end_of(me).ok_or(StreamError::NotAnEnd)?;
        if !s.open[end] {
            return Err(StreamError::Closed);
        }
        let peer_open = s.open[1 - end] && s.health == Health::Connected;
        if peer_open {
            self.stream_send(me, id, None)?;
        }
        if let Some(s) = self.streams.get_mut(&id) {
            s.open[end] = false;
            if !peer_open {
                self.streams.remove(&id);
            }
        }
        Ok(())
    }

    /// The stream broke: forget it and tell each live end that still holds it.
    pub(crate) fn break_stream(&mut self, id: StreamId) {
        let Some(s) = self.streams.remove(&id) else {
            return;
        };
        for end in 0..2 {
            let st = self.status[s.hosts[end].index()];
            if s.open[end] && st.up && st.incarnation == s.incarnations[end] {
                let ev = Event::StreamClosed {
                    stream: id,
                    actor: s.ends[end],
                    inc: s.incarnations[end],
                    why: StreamClose::Broken,
                };
                self.queue.push(self.now, ev);
            }
        }
    }

    /// After the partitions changed: stall newly cut streams, release newly healed ones.
    pub(crate) fn refresh_stream_cuts(&mut self) {
        let ids: Vec<StreamId> = self.streams.keys().copied().collect();
        let timeout = self.config.stream_break_timeout;
        for id in ids {
            let Some(s) = self.streams.get_mut(&id) else {
                continue;
            };
            if s.health != Health::Connected {
                continue;
            }
            let cut = self.net.is_cut(s.hosts[0], s.hosts[1]);
            match (cut, s.cut_since) {
                (true, None) => {
                    s.cut_since = Some(self.now);
                    s.epoch = s.epoch.wrapping_add(1);
                    let epoch = s.epoch;
                    self.queue
                        .push(self.now + timeout, Event::StreamCheck { stream: id, epoch });
                }
                (false, Some(_)) => {
                    s.cut_since = None;
                    s.epoch = s.epoch.wrapping_add(1);
                    let held = [
                        std::mem::take(&mut s.held[0]),
                        std::mem::take(&mut s.held[1]),
                    ];
                    for (dir, q) in held.into_iter().enumerate() {
                        for (seq, msg) in q {
                            self.transmit(id, dir, seq, msg);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// `host` crashed: its ends are gone; the live peers learn of it after the timeout or at
    /// the host's restart.
    pub(crate) fn crash_streams(&mut self, host: HostId) {
        let ids: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, s)| s.hosts.contains(&host))
            .map(|(id, _)| *id)
            .collect();
        let timeout = self.config.stream_break_timeout;
        for id in ids {
            let Some(s) = self.streams.get_mut(&id) else {
                continue;
            };
            let survivors: Vec<usize> = (0..2)
                .filter(|e| s.hosts[*e] != host && s.open[*e])
                .collect();
            let already_down = matches!(s.health, Health::PeerDown { .. });
            if survivors.is_empty() || already_down {
                self.streams.remove(&id);
                continue;
            }
            let dead = 1 - survivors[0];
            s.health = Health::PeerDown { dead };
            s.open[dead] = false;
            s.held = [VecDeque::new(), VecDeque::new()];
            s.epoch = s.epoch.wrapping_add(1);
            let epoch = s.epoch;
            self.queue
                .push(self.now + timeout, Event::StreamCheck { stream: id, epoch });
        }
    }

    /// `host` restarted: connections to it are reset at once.
    pub(crate) fn restart_streams(&mut self, host: HostId) {
        let ids: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, s)| matches!(s.health, Health::PeerDown { dead } if s.hosts[dead] == host))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.break_stream(id);
        }
    }
}

/// [`World::transmit`] on a stream already at hand.
#[allow(clippy::too_many_arguments)]
fn transmit_on<M: Message>(
    net: &mut Network,
    queue: &mut Queue<Event<M>>,
    now: Time,
    s: &mut Stream<M>,
    id: StreamId,
    dir: usize,
    seq: u64,
    msg: Option<M>,
) {
    let (from, to) = (s.hosts[dir], s.hosts[1 - dir]);
    let size = msg.as_ref().map_or(0, |m| m.wire_size());
    let after = match net.draw(now, from, to, size, false) {
        Fate::Deliver { after, .. } => after,
        Fate::Lost => Duration::ZERO,
    };
    let at = (now + after).max(s.last_arrival[dir]);
    s.last_arrival[dir] = at;
    queue.push(
        at,
        Event::StreamData {
            stream: id,
            dir: dir as u8,
            seq,
            msg,
        },
    );
}
