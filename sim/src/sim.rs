//! The simulation: hosts and actors on one virtual clock, driven one event at a time.
//!
//! `Sim<M>` owns the [`World`] (queue, hosts, network, streams, trace) and the actors'
//! behaviours, kept apart so a handler can mutate the world while its own state is borrowed.
//! [`Sim::step`] pops the earliest event, checks that its target still exists (host up, same
//! incarnation, link not cut; held while the host is paused or clogged), folds it into the
//! trace hash, and calls the handler inside `catch_unwind`: a panic becomes a [`Finding`].

use crate::actor::{Actor, Factory};
use crate::config::{SimConfig, SimError};
use crate::ctx::Ctx;
use crate::disk::Disk;
use crate::fault::Fault;
use crate::finding::{Finding, FindingKind};
use crate::host::{Clock, Host, HostState, HostStatus};
use crate::ids::{ActorId, HostId, StreamId};
use crate::message::Message;
use crate::network::{HostNet, LinkConfig, NetStats};
use crate::rng::SimRng;
use crate::stream::{Health, StreamClose};
use crate::time::{Duration, Time};
use crate::trace::TraceKind;
use crate::world::{ActorMeta, Event, ExternalMessage, LogLine, World};
use std::any::Any;
use std::collections::BTreeMap;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// An invariant checked after events: `Err(description)` stops the run.
pub type Invariant<M> = Box<dyn FnMut(&Sim<M>) -> Result<(), String>>;

/// Invariants with their own bit in the masks below; any beyond are checked after every event.
const WATCHED_INVARIANTS: usize = 64;

/// The registered invariants and which of them an event makes due (see [`Sim::add_invariant_on`]).
struct Invariants<M: Message> {
    checks: Vec<(String, Invariant<M>)>,
    /// Per actor index: the invariants that read that actor's state.
    watchers: Vec<u64>,
    /// The invariants checked after every event.
    every_event: u64,
    /// The invariants due at the end of the current event.
    due: u64,
}

impl<M: Message> Invariants<M> {
    fn new() -> Self {
        Invariants {
            checks: Vec::new(),
            watchers: Vec::new(),
            every_event: 0,
            due: 0,
        }
    }

    /// Something outside the actors' handlers changed the simulation (a fault, a host's pause
    /// ending, the embedding code reaching in): every invariant is due after the next event.
    #[inline]
    fn all_due(&mut self) {
        self.due = u64::MAX;
    }

    /// Actor `a`'s handler is about to run.
    #[inline]
    fn touched(&mut self, a: ActorId) {
        if let Some(bits) = self.watchers.get(a.index()) {
            self.due |= *bits;
        }
    }
}

/// How [`Sim::run_until_quiescent`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quiescence {
    /// The queue is empty: nothing will ever happen again without outside input.
    Quiet,
    /// The event budget ran out first (periodic timers never go quiet).
    LimitReached,
}

/// A deterministic simulation over the message type `M`.
pub struct Sim<M: Message> {
    world: World<M>,
    behaviours: Vec<Option<Box<dyn Actor<M>>>>,
    factories: Vec<Factory<M>>,
    faults: Vec<Fault>,
    invariants: Invariants<M>,
    finding: Option<Finding>,
}

/// Where a delivery waits instead of running now (see `Sim::holder`).
#[derive(Clone, Copy)]
enum Hold {
    Paused(HostId),
    Clogged(HostId),
}

/// What was being handled, described only when a finding needs it.
#[derive(Clone, Copy)]
struct Doing {
    kind: TraceKind,
    from: ActorId,
    extra: u64,
}

impl<M: Message> Sim<M> {
    /// An empty simulation at time zero.
    pub fn new(config: SimConfig) -> Sim<M> {
        Sim {
            world: World::new(config),
            behaviours: Vec::new(),
            factories: Vec::new(),
            faults: Vec::new(),
            invariants: Invariants::new(),
            finding: None,
        }
    }

    /// The settings the simulation was built with.
    pub fn config(&self) -> &SimConfig {
        &self.world.config
    }

    /// The root seed.
    pub fn seed(&self) -> u64 {
        self.world.config.seed
    }

    // ---- building ----

    /// Adds a running host with an empty disk.
    pub fn add_host(&mut self, name: &str) -> Result<HostId, SimError> {
        if self.world.host_names.contains_key(name) {
            return Err(SimError::DuplicateHost(name.to_owned()));
        }
        let id = HostId(u32::try_from(self.world.hosts.len()).unwrap_or(u32::MAX));
        self.world.hosts.push(Host::new(name.to_owned()));
        self.world.status.push(HostStatus::new());
        self.world.host_names.insert(name.to_owned(), id);
        self.world.net.add_host();
        Ok(id)
    }

    /// Adds an actor to a host. `factory` builds it now (and after every restart of the host)
    /// from the host's disk; its `on_start` runs at the current time, as an event.
    pub fn add_actor<A, F>(
        &mut self,
        host: HostId,
        name: &str,
        mut factory: F,
    ) -> Result<ActorId, SimError>
    where
        A: Actor<M>,
        F: FnMut(&Disk) -> A + 'static,
    {
        let h = self
            .world
            .hosts
            .get(host.index())
            .ok_or(SimError::UnknownHost(host))?;
        if h.actor_names.contains_key(name) {
            return Err(SimError::DuplicateActor {
                host: h.name.clone(),
                actor: name.to_owned(),
            });
        }
        let id = ActorId(u32::try_from(self.world.actors.len()).unwrap_or(u32::MAX));
        let mut boxed: Factory<M> =
            Box::new(move |d: &Disk| Box::new(factory(d)) as Box<dyn Actor<M>>);
        let st = self.world.status[host.index()];
        let behaviour = if st.up { Some(boxed(&h.disk)) } else { None };
        let (up, inc) = (st.up, st.incarnation);
        self.world.actor_host.push(host);
        self.world.actors.push(ActorMeta {
            host,
            name: name.into(),
            rng: None,
        });
        let h = &mut self.world.hosts[host.index()];
        h.actors.push(id);
        h.actor_names.insert(name.into(), id);
        self.behaviours.push(behaviour);
        self.factories.push(boxed);
        self.invariants.all_due();
        if up {
            self.world
                .queue
                .push(self.world.now, Event::Start { actor: id, inc });
        }
        Ok(id)
    }

    // ---- looking ----

    /// How many actors were added; the next one gets `ActorId(actor_count())`.
    pub fn actor_count(&self) -> usize {
        self.world.actors.len()
    }

    /// True virtual time.
    pub fn now(&self) -> Time {
        self.world.now
    }

    /// What a host's clock reads now.
    pub fn local_now(&self, host: HostId) -> Option<Time> {
        self.world
            .hosts
            .get(host.index())
            .map(|h| h.clock.local(self.world.now))
    }

    /// A host's clock settings.
    pub fn clock(&self, host: HostId) -> Option<&Clock> {
        self.world.hosts.get(host.index()).map(|h| &h.clock)
    }

    /// The host with this name.
    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.world.host_names.get(name).copied()
    }

    /// A host's name.
    pub fn host_name(&self, host: HostId) -> Option<&str> {
        self.world.hosts.get(host.index()).map(|h| h.name.as_str())
    }

    /// Every host, in creation order.
    pub fn hosts(&self) -> impl Iterator<Item = HostId> + '_ {
        (0..self.world.hosts.len()).map(|i| HostId(i as u32))
    }

    /// Whether a host is up, crashed or paused.
    pub fn host_state(&self, host: HostId) -> Option<HostState> {
        let st = *self.world.status.get(host.index())?;
        self.world.hosts.get(host.index()).map(|h| h.state(st))
    }

    /// The actors of a host, in creation order.
    pub fn actors_on(&self, host: HostId) -> &[ActorId] {
        self.world
            .hosts
            .get(host.index())
            .map_or(&[], |h| h.actors.as_slice())
    }

    /// The actor named `name` on `host`.
    pub fn actor_id(&self, host: HostId, name: &str) -> Option<ActorId> {
        self.world
            .hosts
            .get(host.index())?
            .actor_names
            .get(name)
            .copied()
    }

    /// An actor's name (without its host).
    pub fn actor_name(&self, actor: ActorId) -> Option<&str> {
        self.world.actors.get(actor.index()).map(|m| &*m.name)
    }

    /// `host/actor`.
    pub fn actor_full_name(&self, actor: ActorId) -> String {
        self.world.full_name(actor)
    }

    /// An actor's host.
    pub fn actor_host(&self, actor: ActorId) -> Option<HostId> {
        self.world.host_of(actor)
    }

    /// The actor's state, if it is a `T` and its host is up.
    pub fn actor<T: Actor<M>>(&self, actor: ActorId) -> Option<&T> {
        let b: &dyn Actor<M> = self.behaviours.get(actor.index())?.as_deref()?;
        (b as &dyn Any).downcast_ref::<T>()
    }

    /// The actor's state, mutably (for tests; changes are not traced).
    pub fn actor_mut<T: Actor<M>>(&mut self, actor: ActorId) -> Option<&mut T> {
        self.invariants.all_due();
        let b: &mut dyn Actor<M> = self.behaviours.get_mut(actor.index())?.as_deref_mut()?;
        (b as &mut dyn Any).downcast_mut::<T>()
    }

    /// A host's disk.
    pub fn disk(&self, host: HostId) -> Option<&Disk> {
        self.world.hosts.get(host.index()).map(|h| &h.disk)
    }

    /// A host's disk, mutably (to seed files before a run).
    pub fn disk_mut(&mut self, host: HostId) -> Option<&mut Disk> {
        self.invariants.all_due();
        self.world.hosts.get_mut(host.index()).map(|h| &mut h.disk)
    }

    /// How many times a host has crashed: the boot its actors run in now (0 before any
    /// crash). [`LogLine::boot`] is this number at the time of the line.
    pub fn host_boot(&self, host: HostId) -> Option<u32> {
        self.world.status.get(host.index()).map(|s| s.incarnation)
    }

    /// The run of an actor's process within its host's boot: 0 until the actor says its
    /// process restarted in place ([`crate::Ctx::process_restarted`]); [`LogLine::run`] is
    /// this number at the time of the line.
    pub fn process_run(&self, actor: ActorId) -> u32 {
        self.world.process_run(actor)
    }

    /// The lines an actor logged (at most `log_lines_per_actor`, oldest first).
    pub fn logs(&self, actor: ActorId) -> impl Iterator<Item = LogLine> + '_ {
        self.world
            .logs
            .get(&actor)
            .map(|l| l.lines())
            .unwrap_or_default()
            .into_iter()
    }

    /// The running trace hash.
    pub fn trace_hash(&self) -> u64 {
        self.world.trace.hasher.finish()
    }

    /// Events handled so far (deliveries, drops, timers fired, faults; not cancelled timers).
    pub fn events_processed(&self) -> u64 {
        self.world.events
    }

    /// Events waiting in the queue (cancelled timers included until they pop).
    pub fn events_pending(&self) -> usize {
        self.world.queue.len() + self.world.timers.len()
    }

    /// Releases the spare capacity the event queue and timer heap kept after a burst (for
    /// memory reports; the engine keeps capacity otherwise, to avoid reallocating).
    pub fn shrink_to_fit(&mut self) {
        self.world.queue.shrink_to_fit();
        self.world.timers.shrink_to_fit();
    }

    /// When the next event is due, if any.
    pub fn next_event_time(&self) -> Option<Time> {
        self.world.peek_next_time()
    }

    /// Network counters.
    pub fn net_stats(&self) -> NetStats {
        self.world.net.stats
    }

    /// Timers set and not yet fired or cancelled.
    pub fn timers_pending(&self) -> usize {
        self.world.timers.pending
    }

    /// Streams currently open.
    pub fn streams_open(&self) -> usize {
        self.world.streams.len()
    }

    /// Whether a stream still exists.
    pub fn stream_exists(&self, stream: StreamId) -> bool {
        self.world.streams.contains_key(&stream)
    }

    /// How often each BUGGIFY point fired.
    pub fn buggify_fired(&self) -> &BTreeMap<&'static str, u64> {
        &self.world.buggify.fired
    }

    /// Whether a BUGGIFY point is active in this run.
    pub fn buggify_active(&self, point: &str) -> bool {
        self.world.buggify.is_active(point)
    }

    /// An independent random stream for the embedding code (e.g. `"faults"` for a fault
    /// generator), forked from the seed by `key`.
    pub fn fork_rng(&self, key: &str) -> SimRng {
        SimRng::fork(self.world.config.seed, key)
    }

    /// The finding that stopped the run, if any.
    pub fn finding(&self) -> Option<&Finding> {
        self.finding.as_ref()
    }

    // ---- acting from outside ----

    /// Delivers `msg` to `to` at the current time, from [`ActorId::EXTERNAL`] (the scenario
    /// runner playing kubectl). Held if the host is paused, dropped if it is down.
    pub fn send_external(&mut self, to: ActorId, msg: M) {
        let Some(h) = self.world.host_of(to) else {
            return;
        };
        let inc = self.world.status[h.index()].incarnation;
        self.world
            .queue
            .push(self.world.now, Event::External { dst: to, inc, msg });
    }

    /// Sends `msg` through the network as if `from` had sent it.
    pub fn send_as(&mut self, from: ActorId, to: ActorId, msg: M) {
        let host = self.world.host_of(from);
        self.world.send(from, host, to, msg);
    }

    /// Takes the messages actors sent to [`ActorId::EXTERNAL`], oldest first.
    pub fn take_external(&mut self) -> Vec<ExternalMessage<M>> {
        self.world.external.drain(..).collect()
    }

    /// Runs `f` on actor `T` with a context at the current time, as if it were a handler (its
    /// sends and timers take effect; a panic becomes a finding). `Ok(None)` if the actor is not
    /// a `T` or its host is down. It runs even while the host is paused: it is the outside
    /// world reaching in, not an event of the host.
    pub fn invoke<T: Actor<M>, R>(
        &mut self,
        actor: ActorId,
        f: impl FnOnce(&mut T, &mut Ctx<'_, M>) -> R,
    ) -> Result<Option<R>, Finding> {
        if let Some(found) = &self.finding {
            return Err(found.clone());
        }
        self.invariants.all_due();
        let Some(host) = self.world.host_of(actor) else {
            return Ok(None);
        };
        let Some(b) = self
            .behaviours
            .get_mut(actor.index())
            .and_then(|b| b.as_deref_mut())
        else {
            return Ok(None);
        };
        let Some(t) = (b as &mut dyn Any).downcast_mut::<T>() else {
            return Ok(None);
        };
        let mut ctx = Ctx {
            world: &mut self.world,
            me: actor,
            host,
        };
        let r = catch_unwind(AssertUnwindSafe(|| f(t, &mut ctx)));
        self.world.timers.normalize();
        let doing = Doing {
            kind: TraceKind::External,
            from: ActorId::EXTERNAL,
            extra: 0,
        };
        match r {
            Ok(v) => {
                self.check_violation(actor, doing);
                match &self.finding {
                    Some(found) => Err(found.clone()),
                    None => Ok(Some(v)),
                }
            }
            Err(payload) => {
                self.panicked(actor, doing, payload.as_ref());
                Err(self.finding.clone().unwrap_or_else(|| {
                    self.finding_now(FindingKind::Panic, None, doing, String::new())
                }))
            }
        }
    }

    /// Records a violation found by the embedding code (e.g. an invariant checked between
    /// steps): the run stops with this finding.
    pub fn record_violation(&mut self, what: impl Into<String>) {
        if self.finding.is_none() {
            let doing = Doing {
                kind: TraceKind::External,
                from: ActorId::EXTERNAL,
                extra: 0,
            };
            self.finding = Some(self.finding_now(FindingKind::Violation, None, doing, what.into()));
        }
    }

    /// Adds an invariant checked after every event (keep it cheap).
    pub fn add_invariant(
        &mut self,
        name: &str,
        check: impl FnMut(&Sim<M>) -> Result<(), String> + 'static,
    ) {
        self.push_invariant(name, None, Box::new(check));
    }

    /// Adds an invariant that reads only the state of `actors` (and hosts' states, and the
    /// clock when they act): it is checked after every event in which one of them handled
    /// something, after every fault and end of a pause, and after the first event that follows
    /// the embedding code reaching in (`invoke`, `actor_mut`, `disk_mut`, `add_actor`), and
    /// after the first event once added. Between those its inputs do not change, so a check
    /// that held would hold again: it finds the same violations, at the same events, as
    /// [`Sim::add_invariant`], at the cost of the events that can break it.
    pub fn add_invariant_on(
        &mut self,
        name: &str,
        actors: &[ActorId],
        check: impl FnMut(&Sim<M>) -> Result<(), String> + 'static,
    ) {
        self.push_invariant(name, Some(actors), Box::new(check));
    }

    fn push_invariant(&mut self, name: &str, actors: Option<&[ActorId]>, check: Invariant<M>) {
        let inv = &mut self.invariants;
        let index = inv.checks.len();
        inv.checks.push((name.to_owned(), check));
        let bit = if index < WATCHED_INVARIANTS {
            1u64 << index
        } else {
            // No bit of its own: after every event, like every invariant past the 64th.
            inv.every_event = u64::MAX;
            return;
        };
        match actors {
            None => inv.every_event |= bit,
            Some(actors) => {
                for a in actors {
                    if inv.watchers.len() <= a.index() {
                        inv.watchers.resize(a.index() + 1, 0);
                    }
                    inv.watchers[a.index()] |= bit;
                }
            }
        }
        inv.due |= bit;
    }

    /// Writes one JSON line per traced event from now on (`--trace FILE.jsonl`).
    pub fn set_trace_writer(&mut self, writer: Box<dyn Write>) {
        self.world.trace.writer = Some(writer);
    }

    /// Flushes and removes the trace writer; returns the first write error, if one happened.
    pub fn finish_trace(&mut self) -> Result<(), String> {
        if let Some(mut w) = self.world.trace.writer.take()
            && let Err(e) = w.flush()
        {
            return Err(e.to_string());
        }
        match self.world.trace.write_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    // ---- network settings ----

    /// Replaces the default link behaviour.
    pub fn set_network(&mut self, link: LinkConfig) {
        self.world.net.default = link;
    }

    /// The default link behaviour.
    pub fn network(&self) -> LinkConfig {
        self.world.net.default
    }

    /// Overrides the link `from -> to` (`None` returns it to the default).
    pub fn set_link(&mut self, from: HostId, to: HostId, link: Option<LinkConfig>) {
        self.world.net.set_link(from, to, link);
    }

    /// Sets a host's interface impairments.
    pub fn set_host_net(&mut self, host: HostId, net: HostNet) -> Result<(), SimError> {
        self.check_host(host)?;
        self.world.net.update_host(host, |n| *n = net);
        Ok(())
    }

    /// A host's interface impairments.
    pub fn host_net(&self, host: HostId) -> Option<HostNet> {
        self.world
            .hosts
            .get(host.index())
            .map(|_| *self.world.net.host(host))
    }

    /// Whether traffic `from -> to` is currently cut by a partition.
    pub fn is_partitioned(&self, from: HostId, to: HostId) -> bool {
        self.world.net.is_blocked(from, to)
    }

    // ---- faults ----

    /// Applies `fault` at `at` (at once if `at` is not in the future).
    pub fn schedule_fault(&mut self, at: Time, fault: Fault) -> Result<(), SimError> {
        for h in fault.hosts() {
            self.check_host(h)?;
        }
        let index = u32::try_from(self.faults.len()).unwrap_or(u32::MAX);
        self.faults.push(fault);
        self.world
            .queue
            .push(at.max(self.world.now), Event::Fault { index });
        Ok(())
    }

    /// Schedules every `(time, fault)` of a schedule.
    pub fn schedule_faults(
        &mut self,
        schedule: impl IntoIterator<Item = (Time, Fault)>,
    ) -> Result<(), SimError> {
        for (at, f) in schedule {
            self.schedule_fault(at, f)?;
        }
        Ok(())
    }

    /// Applies a fault now (traced like a scheduled one).
    pub fn apply_fault(&mut self, fault: Fault) -> Result<(), SimError> {
        for h in fault.hosts() {
            self.check_host(h)?;
        }
        self.world.events += 1;
        self.apply(&fault);
        Ok(())
    }

    fn check_host(&self, h: HostId) -> Result<(), SimError> {
        if h.index() < self.world.hosts.len() {
            Ok(())
        } else {
            Err(SimError::UnknownHost(h))
        }
    }

    fn apply(&mut self, fault: &Fault) {
        self.invariants.all_due();
        let w = &mut self.world;
        w.trace.hasher.write_u64(TraceKind::Fault.code());
        w.trace.hasher.write_u64(w.now.as_nanos());
        w.trace.hasher.write_u64(fault.code());
        for h in fault.hosts() {
            w.trace.hasher.write_u32(h.0);
        }
        if w.trace.writer.is_some() {
            let hosts = &w.hosts;
            let label = fault.describe(|h| {
                hosts
                    .get(h.index())
                    .map_or_else(|| h.to_string(), |x| x.name.clone())
            });
            w.write_trace_line(
                TraceKind::Fault,
                ActorId::EXTERNAL,
                ActorId::EXTERNAL,
                &label,
            );
        }
        match fault {
            Fault::Partition(a, b) => {
                w.net.block(a, b);
                w.net.block(b, a);
                w.refresh_stream_cuts();
            }
            Fault::OneWay { from, to } => {
                w.net.block(from, to);
                w.refresh_stream_cuts();
            }
            Fault::Heal => {
                w.net.heal();
                w.refresh_stream_cuts();
            }
            Fault::Loss { host: None, p } => w.net.default.loss = p.clamp(0.0, 1.0),
            Fault::Loss { host: Some(h), p } => {
                w.net.update_host(*h, |n| n.loss = p.clamp(0.0, 1.0))
            }
            Fault::Latency { host: None, d } => w.net.default.latency = *d,
            Fault::Latency { host: Some(h), d } => w.net.update_host(*h, |n| n.extra_latency = *d),
            Fault::Duplicate(p) => w.net.default.duplicate = p.clamp(0.0, 1.0),
            Fault::Bandwidth(h, bw) => w.net.update_host(*h, |n| n.bandwidth_bytes_per_sec = *bw),
            Fault::Clog(h) => w.net.set_clogged(*h, true),
            Fault::Unclog(h) => {
                w.net.set_clogged(*h, false);
                let held = std::mem::take(&mut w.hosts[h.index()].clogged_events);
                for ev in held {
                    w.queue.push(w.now, ev);
                }
            }
            Fault::Crash(h) => self.crash(*h),
            Fault::Restart(h) => self.restart(*h),
            Fault::Pause(h, d) => {
                let now = w.now;
                let host = &mut w.hosts[h.index()];
                let st = &mut w.status[h.index()];
                if st.up {
                    let until = (now + *d).max(host.paused_until.unwrap_or(Time::ZERO));
                    host.paused_until = Some(until);
                    st.paused = true;
                    host.pause_generation = host.pause_generation.wrapping_add(1);
                    let generation = host.pause_generation;
                    w.queue.push(
                        until,
                        Event::PauseEnd {
                            host: *h,
                            generation,
                        },
                    );
                }
            }
            Fault::Skew(h, ns) => {
                let now = w.now;
                w.hosts[h.index()].clock.set_offset(now, *ns);
            }
            Fault::Drift(h, ppm) => {
                let now = w.now;
                w.hosts[h.index()].clock.set_drift(now, *ppm);
                w.status[h.index()].drifts = w.hosts[h.index()].clock.drift_ppm() != 0;
            }
            Fault::DiskLoss(h) => w.hosts[h.index()].disk.wipe(),
        }
    }

    fn crash(&mut self, h: HostId) {
        let w = &mut self.world;
        let host = &mut w.hosts[h.index()];
        let st = &mut w.status[h.index()];
        if !st.up {
            return;
        }
        st.up = false;
        st.incarnation = st.incarnation.wrapping_add(1);
        st.paused = false;
        host.paused_until = None;
        host.pause_generation = host.pause_generation.wrapping_add(1);
        for ev in std::mem::take(&mut host.paused_events) {
            if let Event::Timer { id, .. } = ev {
                w.timers.take(id);
            }
        }
        host.disk.crash();
        for a in &host.actors {
            self.behaviours[a.index()] = None;
            w.process_runs.remove(a);
        }
        w.crash_streams(h);
    }

    fn restart(&mut self, h: HostId) {
        let w = &mut self.world;
        let host = &mut w.hosts[h.index()];
        let st = &mut w.status[h.index()];
        if st.up {
            return;
        }
        st.up = true;
        let inc = st.incarnation;
        let mut panicked = None;
        for a in &host.actors {
            // Recovery code reads whatever the crash left on disk: a panic there is a finding.
            let factory = &mut self.factories[a.index()];
            let disk = &host.disk;
            match catch_unwind(AssertUnwindSafe(|| factory(disk))) {
                Ok(b) => {
                    self.behaviours[a.index()] = Some(b);
                    w.queue.push(w.now, Event::Start { actor: *a, inc });
                }
                Err(payload) => {
                    panicked = Some((*a, payload));
                    break;
                }
            }
        }
        w.restart_streams(h);
        if let Some((a, payload)) = panicked {
            let doing = Doing {
                kind: TraceKind::Start,
                from: ActorId::EXTERNAL,
                extra: 0,
            };
            self.panicked(a, doing, payload.as_ref());
        }
    }

    // ---- running ----

    /// Handles the next event. `Ok(false)` when the queue is empty; `Err` once a finding
    /// stopped the run (and on every call after that).
    pub fn step(&mut self) -> Result<bool, Finding> {
        if let Some(f) = &self.finding {
            return Err(f.clone());
        }
        let Some((at, event)) = self.world.pop_next() else {
            return Ok(false);
        };
        debug_assert!(at >= self.world.now, "the queue never goes back in time");
        self.world.now = at;
        self.dispatch(event);
        // Keep `next_event_time` exact between steps (handlers may have pushed timers back).
        self.world.timers.normalize();
        let due = self.invariants.due | self.invariants.every_event;
        if due != 0 && self.finding.is_none() {
            self.invariants.due = 0;
            self.check_invariants(due);
        }
        match &self.finding {
            Some(f) => Err(f.clone()),
            None => Ok(true),
        }
    }

    /// Handles every event due up to and including `deadline`, then sets the clock to it.
    pub fn run_until(&mut self, deadline: Time) -> Result<(), Finding> {
        while self.world.next_time().is_some_and(|t| t <= deadline) {
            self.step()?;
        }
        if let Some(f) = &self.finding {
            return Err(f.clone());
        }
        self.world.now = self.world.now.max(deadline);
        Ok(())
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) -> Result<(), Finding> {
        self.run_until(self.world.now + d)
    }

    /// Runs until the queue is empty or `max_events` events were handled.
    pub fn run_until_quiescent(&mut self, max_events: u64) -> Result<Quiescence, Finding> {
        for _ in 0..max_events {
            if !self.step()? {
                return Ok(Quiescence::Quiet);
            }
        }
        if self.world.next_time().is_none() {
            Ok(Quiescence::Quiet)
        } else {
            Ok(Quiescence::LimitReached)
        }
    }

    fn dispatch(&mut self, event: Event<M>) {
        match event {
            Event::Start { actor, inc } => {
                let Some(host) = self.live(actor, inc) else {
                    return;
                };
                if self
                    .hold_if_paused(host, Event::Start { actor, inc })
                    .is_none()
                {
                    return;
                }
                self.world.events += 1;
                self.world
                    .record(TraceKind::Start, ActorId::EXTERNAL, actor, 0, None);
                let doing = Doing {
                    kind: TraceKind::Start,
                    from: ActorId::EXTERNAL,
                    extra: 0,
                };
                self.call(actor, host, doing, |a, ctx| a.on_start(ctx));
            }
            Event::Message { src, dst, inc, msg } => {
                let w = &mut self.world;
                let Some(host) = live(w, dst, inc) else {
                    w.events += 1;
                    w.net.stats.dropped += 1;
                    w.record(TraceKind::Drop, src, dst, 0, Some(&msg));
                    return;
                };
                let src_host = w.host_of(src).unwrap_or(host);
                if w.net.is_blocked(src_host, host) {
                    w.events += 1;
                    w.net.stats.dropped += 1;
                    w.record(TraceKind::Drop, src, dst, 0, Some(&msg));
                    return;
                }
                // Decide before rebuilding the event: a held message is the rare case, and
                // moving the whole event in and out of a hold costs a copy of it each way.
                if let Some(holder) = self.holder(src_host, host) {
                    self.hold(holder, Event::Message { src, dst, inc, msg });
                    return;
                }
                let w = &mut self.world;
                w.events += 1;
                w.net.stats.delivered += 1;
                w.record(TraceKind::Message, src, dst, 0, Some(&msg));
                let doing = Doing {
                    kind: TraceKind::Message,
                    from: src,
                    extra: 0,
                };
                self.call(dst, host, doing, |a, ctx| a.on_message(ctx, src, msg));
            }
            Event::External { dst, inc, msg } => {
                let Some(host) = self.live(dst, inc) else {
                    return;
                };
                if self.world.status[host.index()].paused {
                    self.hold(Hold::Paused(host), Event::External { dst, inc, msg });
                    return;
                }
                self.world.events += 1;
                self.world
                    .record(TraceKind::External, ActorId::EXTERNAL, dst, 0, Some(&msg));
                let doing = Doing {
                    kind: TraceKind::External,
                    from: ActorId::EXTERNAL,
                    extra: 0,
                };
                self.call(dst, host, doing, |a, ctx| {
                    a.on_message(ctx, ActorId::EXTERNAL, msg)
                });
            }
            Event::Timer { actor, inc, id } => {
                let Some(host) = self.live(actor, inc) else {
                    self.world.timers.take(id);
                    return;
                };
                if !self.world.timers.is_pending(id) {
                    return;
                }
                if self
                    .hold_if_paused(host, Event::Timer { actor, inc, id })
                    .is_none()
                {
                    return;
                }
                let Some(tag) = self.world.timers.take(id) else {
                    return;
                };
                self.world.events += 1;
                self.world.record(TraceKind::Timer, actor, actor, tag, None);
                let doing = Doing {
                    kind: TraceKind::Timer,
                    from: actor,
                    extra: tag,
                };
                self.call(actor, host, doing, |a, ctx| a.on_timer(ctx, tag));
            }
            Event::StreamData {
                stream,
                dir,
                seq,
                msg,
            } => self.deliver_stream(stream, dir, seq, msg),
            Event::StreamClosed {
                stream,
                actor,
                inc,
                why,
            } => {
                let Some(host) = self.live(actor, inc) else {
                    return;
                };
                if self
                    .hold_if_paused(
                        host,
                        Event::StreamClosed {
                            stream,
                            actor,
                            inc,
                            why,
                        },
                    )
                    .is_none()
                {
                    return;
                }
                self.world.events += 1;
                self.world.record(
                    TraceKind::StreamClosed,
                    ActorId::EXTERNAL,
                    actor,
                    stream.0,
                    None,
                );
                let doing = Doing {
                    kind: TraceKind::StreamClosed,
                    from: ActorId::EXTERNAL,
                    extra: stream.0,
                };
                self.call(actor, host, doing, |a, ctx| {
                    a.on_stream_closed(ctx, stream, why)
                });
            }
            Event::StreamCheck { stream, epoch } => {
                let w = &mut self.world;
                let due = w.streams.get(&stream).is_some_and(|s| {
                    s.epoch == epoch
                        && (s.cut_since.is_some() || matches!(s.health, Health::PeerDown { .. }))
                });
                if due {
                    w.break_stream(stream);
                }
            }
            Event::Fsync {
                actor,
                inc,
                mark,
                token,
            } => {
                let Some(host) = self.live(actor, inc) else {
                    return;
                };
                if self
                    .hold_if_paused(
                        host,
                        Event::Fsync {
                            actor,
                            inc,
                            mark,
                            token,
                        },
                    )
                    .is_none()
                {
                    return;
                }
                let w = &mut self.world;
                w.hosts[host.index()].disk.sync_upto(mark);
                w.events += 1;
                w.record(TraceKind::Fsync, actor, actor, token, None);
                let doing = Doing {
                    kind: TraceKind::Fsync,
                    from: actor,
                    extra: token,
                };
                self.call(actor, host, doing, |a, ctx| a.on_fsync(ctx, token));
            }
            Event::Fault { index } => {
                let Some(fault) = self.faults.get(index as usize).cloned() else {
                    return;
                };
                self.world.events += 1;
                self.apply(&fault);
            }
            Event::PauseEnd { host, generation } => {
                let w = &mut self.world;
                let h = &mut w.hosts[host.index()];
                if h.pause_generation != generation || h.paused_until.is_none() {
                    return;
                }
                h.paused_until = None;
                w.status[host.index()].paused = false;
                self.invariants.all_due();
                let held = std::mem::take(&mut h.paused_events);
                for ev in held {
                    w.queue.push(w.now, ev);
                }
            }
        }
    }

    fn deliver_stream(&mut self, stream: StreamId, dir: u8, seq: u64, msg: Option<M>) {
        let w = &mut self.world;
        let Some(s) = w.streams.get_mut(&stream) else {
            return;
        };
        let d = usize::from(dir);
        let recv = 1 - d;
        if s.health != Health::Connected || !s.open[recv] {
            return;
        }
        if s.cut_since.is_some() {
            s.hold(d, seq, msg);
            return;
        }
        let (from, to, host, src_host) = (s.ends[d], s.ends[recv], s.hosts[recv], s.hosts[d]);
        if let Some(holder) = self.holder(src_host, host) {
            let event = Event::StreamData {
                stream,
                dir,
                seq,
                msg,
            };
            self.hold(holder, event);
            return;
        }
        let w = &mut self.world;
        w.events += 1;
        match msg {
            Some(m) => {
                w.net.stats.stream_delivered += 1;
                w.record(TraceKind::StreamMessage, from, to, stream.0, Some(&m));
                let doing = Doing {
                    kind: TraceKind::StreamMessage,
                    from,
                    extra: stream.0,
                };
                self.call(to, host, doing, |a, ctx| {
                    a.on_stream_message(ctx, stream, from, m)
                });
            }
            None => {
                if let Some(s) = w.streams.get_mut(&stream) {
                    s.open[recv] = false;
                    if !s.open[d] {
                        w.streams.remove(&stream);
                    }
                }
                w.record(TraceKind::StreamClosed, from, to, stream.0, None);
                let doing = Doing {
                    kind: TraceKind::StreamClosed,
                    from,
                    extra: stream.0,
                };
                self.call(to, host, doing, |a, ctx| {
                    a.on_stream_closed(ctx, stream, StreamClose::ClosedByPeer)
                });
            }
        }
    }

    /// The actor's host if it is up and still the incarnation the event was meant for.
    #[inline]
    fn live(&self, actor: ActorId, inc: u32) -> Option<HostId> {
        live(&self.world, actor, inc)
    }

    #[inline]
    fn hold_if_paused(&mut self, host: HostId, event: Event<M>) -> Option<Event<M>> {
        if !self.world.status[host.index()].paused {
            return Some(event);
        }
        self.world.hosts[host.index()].paused_events.push(event);
        None
    }

    /// Which host must hold a delivery from `src` to `dst`: `dst` while it is paused (until
    /// the pause ends), else whichever end is clogged (until it is unclogged), else none.
    #[inline]
    fn holder(&self, src: HostId, dst: HostId) -> Option<Hold> {
        let net = &self.world.net;
        if self.world.status[dst.index()].paused {
            Some(Hold::Paused(dst))
        } else if net.is_clogged(dst) {
            Some(Hold::Clogged(dst))
        } else if net.is_clogged(src) {
            Some(Hold::Clogged(src))
        } else {
            None
        }
    }

    fn hold(&mut self, holder: Hold, event: Event<M>) {
        match holder {
            Hold::Paused(h) => self.world.hosts[h.index()].paused_events.push(event),
            Hold::Clogged(h) => self.world.hosts[h.index()].clogged_events.push(event),
        }
    }

    #[inline]
    fn call(
        &mut self,
        actor: ActorId,
        host: HostId,
        doing: Doing,
        f: impl FnOnce(&mut dyn Actor<M>, &mut Ctx<'_, M>),
    ) {
        let Some(b) = self.behaviours[actor.index()].as_deref_mut() else {
            return;
        };
        self.invariants.touched(actor);
        let mut ctx = Ctx {
            world: &mut self.world,
            me: actor,
            host,
        };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(b, &mut ctx))) {
            self.panicked(actor, doing, payload.as_ref());
            return;
        }
        if self.world.violation.is_some() {
            self.check_violation(actor, doing);
        }
    }

    fn panicked(&mut self, actor: ActorId, doing: Doing, payload: &(dyn Any + Send)) {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            String::from("panic with a non-string payload")
        };
        self.world.violation = None;
        self.finding = Some(self.finding_now(FindingKind::Panic, Some(actor), doing, message));
    }

    fn check_violation(&mut self, actor: ActorId, doing: Doing) {
        if let Some(what) = self.world.violation.take()
            && self.finding.is_none()
        {
            self.finding = Some(self.finding_now(FindingKind::Violation, Some(actor), doing, what));
        }
    }

    /// Runs the invariants whose bit is set in `due` (all past the 64th), in the order added.
    fn check_invariants(&mut self, due: u64) {
        let mut checks = std::mem::take(&mut self.invariants.checks);
        for (i, (name, check)) in checks.iter_mut().enumerate() {
            if i < WATCHED_INVARIANTS && due & (1u64 << i) == 0 {
                continue;
            }
            if let Err(what) = check(self) {
                let doing = Doing {
                    kind: TraceKind::External,
                    from: ActorId::EXTERNAL,
                    extra: 0,
                };
                self.finding = Some(self.finding_now(
                    FindingKind::Violation,
                    None,
                    doing,
                    format!("{name}: {what}"),
                ));
                break;
            }
        }
        self.invariants.checks = checks;
    }

    fn finding_now(
        &self,
        kind: FindingKind,
        actor: Option<ActorId>,
        doing: Doing,
        message: String,
    ) -> Finding {
        let event = match doing.kind {
            TraceKind::Timer => format!("timer {}", doing.extra),
            TraceKind::Fsync => format!("fsync {}", doing.extra),
            TraceKind::StreamMessage | TraceKind::StreamClosed => {
                format!(
                    "{} {} from {}",
                    doing.kind.name(),
                    doing.extra,
                    self.world.full_name(doing.from)
                )
            }
            k => format!("{} from {}", k.name(), self.world.full_name(doing.from)),
        };
        Finding {
            kind,
            time: self.world.now,
            actor: actor.map(|a| self.world.full_name(a)),
            event,
            message,
            seed: self.world.config.seed,
        }
    }
}

#[inline]
fn live<M>(w: &World<M>, actor: ActorId, inc: u32) -> Option<HostId> {
    let host = *w.actor_host.get(actor.index())?;
    let st = w.status[host.index()];
    (st.up && st.incarnation == inc).then_some(host)
}
