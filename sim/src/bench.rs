//! The engine's benchmark workloads, shared by `benches/engine.rs` and `kubesim bench engine`.
//!
//! The engine reads no wall clock, so the caller passes a stopwatch (`clock()` returns seconds
//! since any fixed origin); each figure is the median of several runs because the machine may
//! be shared. Workloads: ping-pong between pairs of actors, each on its own host, optionally
//! with timers (a timeout re-armed on every message with `reset_timer`, plus a 10 ms tick) and a
//! partition schedule (a random tenth of the hosts cut off for 25 ms every 50 ms).

use crate::actor::Actor;
use crate::config::SimConfig;
use crate::ctx::Ctx;
use crate::fault::Fault;
use crate::ids::{ActorId, HostId, TimerId};
use crate::sim::Sim;
use crate::time::{Duration, Time};

/// One benchmark configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Number of actors (one per host, paired up).
    pub actors: usize,
    /// Re-arm a timeout on every message and tick every 10 ms.
    pub timers: bool,
    /// Apply a partition schedule (implies the tick, which restarts dropped rallies).
    pub partitions: bool,
}

impl Workload {
    /// A short name for tables.
    pub fn name(&self) -> String {
        let extra = match (self.timers, self.partitions) {
            (_, true) => ", timers + partitions",
            (true, false) => ", timers",
            (false, false) => "",
        };
        format!("ping-pong, {} actors{extra}", self.actors)
    }
}

/// The figures of one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// What ran.
    pub workload: Workload,
    /// Events handled per run.
    pub events: u64,
    /// Median seconds per run, by the caller's clock.
    pub seconds: f64,
    /// `events / seconds` of the median run.
    pub events_per_sec: f64,
    /// Virtual time the run covered.
    pub virtual_time: Duration,
}

const TICK: u64 = 1;
const TIMEOUT: u64 = 2;

struct Player {
    peer: ActorId,
    serves: bool,
    timers: bool,
    timeout: Option<TimerId>,
    heard_since_tick: bool,
}

impl Actor<u64> for Player {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
        if self.serves {
            ctx.send(self.peer, 0);
        }
        if self.timers {
            ctx.set_timer(Duration::from_millis(10), TICK);
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, from: ActorId, n: u64) {
        ctx.send(from, n.wrapping_add(1));
        self.heard_since_tick = true;
        if self.timers {
            self.timeout = Some(ctx.reset_timer(self.timeout, Duration::from_secs(1), TIMEOUT));
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, tag: u64) {
        if tag == TICK {
            if self.serves && !self.heard_since_tick {
                ctx.send(self.peer, 0);
            }
            self.heard_since_tick = false;
            ctx.set_timer(Duration::from_millis(10), TICK);
        }
    }
}

/// Builds the simulation of a workload, started (every `on_start` ran).
pub fn build(w: Workload, seed: u64) -> Sim<u64> {
    let mut sim = Sim::new(SimConfig::with_seed(seed));
    let n = w.actors.max(2) & !1;
    let hosts: Vec<HostId> = (0..n)
        .filter_map(|i| sim.add_host(&format!("node{i}")).ok())
        .collect();
    let half = n / 2;
    let timers = w.timers || w.partitions;
    for (i, h) in hosts.iter().enumerate() {
        let peer = ActorId(((i + half) % n) as u32);
        let serves = i < half;
        let made = sim.add_actor(*h, "player", move |_| Player {
            peer,
            serves,
            timers,
            timeout: None,
            heard_since_tick: false,
        });
        debug_assert!(made.is_ok());
    }
    if w.partitions {
        let mut rng = sim.fork_rng("faults");
        let mut schedule = Vec::new();
        for k in 0..200u64 {
            let mut shuffled = hosts.clone();
            rng.shuffle(&mut shuffled);
            let (cut, rest) = shuffled.split_at(n.div_ceil(10));
            let at = Time::from_millis(50 * k + 20);
            schedule.push((at, Fault::Partition(cut.to_vec(), rest.to_vec())));
            schedule.push((at + Duration::from_millis(25), Fault::Heal));
        }
        let scheduled = sim.schedule_faults(schedule);
        debug_assert!(scheduled.is_ok());
    }
    let started = sim.run_for(Duration::ZERO);
    debug_assert!(started.is_ok());
    sim
}

/// Runs `w` for `events` events, `runs` times, and reports the median run.
pub fn measure(
    w: Workload,
    events: u64,
    runs: usize,
    clock: &mut dyn FnMut() -> f64,
) -> Measurement {
    let mut samples: Vec<(f64, u64, Duration)> = Vec::new();
    for run in 0..runs.max(1) {
        let mut sim = build(w, run as u64 + 1);
        let before = sim.events_processed();
        let t0 = clock();
        let outcome = sim.run_until_quiescent(events);
        let secs = clock() - t0;
        debug_assert!(outcome.is_ok());
        samples.push((
            secs,
            sim.events_processed() - before,
            sim.now().since_start(),
        ));
    }
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (seconds, events, virtual_time) = samples[samples.len() / 2];
    Measurement {
        workload: w,
        events,
        seconds,
        events_per_sec: events as f64 / seconds.max(1e-9),
        virtual_time,
    }
}

/// Seconds the calling thread has run on a CPU (Linux `/proc/thread-self/schedstat`), or
/// `None` elsewhere. A better stopwatch than wall time on a shared machine: time spent waiting
/// for a core is not the engine's.
pub fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// The resident set size of this process in bytes (Linux `/proc/self/status` VmRSS).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// An actor that does nothing: what an idle component costs the engine.
struct Idle;

impl Actor<u64> for Idle {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64>, _from: ActorId, _msg: u64) {}
}

/// Bytes of resident memory per idle actor: RSS growth while adding `n` idle actors (100 per
/// host) and starting them (then releasing the queue's burst capacity), divided by `n`. `None`
/// where VmRSS is unavailable.
pub fn idle_actor_bytes(n: usize) -> Option<u64> {
    let mut sim: Sim<u64> = Sim::new(SimConfig::with_seed(1));
    let before = rss_bytes()?;
    let mut host = None;
    for i in 0..n {
        if i % 100 == 0 {
            host = sim.add_host(&format!("host{}", i / 100)).ok();
        }
        let added = host.map(|h| sim.add_actor(h, &format!("idle{}", i % 100), |_| Idle));
        debug_assert!(added.is_some_and(|a| a.is_ok()));
    }
    let started = sim.run_until_quiescent(n as u64 + 1);
    debug_assert!(started.is_ok());
    sim.shrink_to_fit();
    let after = rss_bytes()?;
    let per = after.saturating_sub(before) / n.max(1) as u64;
    drop(sim);
    Some(per)
}

/// The standard table: 2, 64 and 5,000 actors, with and without timers, and with partitions.
pub fn standard_workloads() -> Vec<Workload> {
    let mut v = Vec::new();
    for actors in [2, 64, 5000] {
        v.push(Workload {
            actors,
            timers: false,
            partitions: false,
        });
        v.push(Workload {
            actors,
            timers: true,
            partitions: false,
        });
    }
    v.push(Workload {
        actors: 5000,
        timers: true,
        partitions: true,
    });
    v
}

/// A Markdown table of measurements.
pub fn table(ms: &[Measurement]) -> String {
    let mut out = String::from(
        "| workload | events | virtual time | seconds (median) | events/s |\n|---|---:|---:|---:|---:|\n",
    );
    for m in ms {
        out.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.2} M |\n",
            m.workload.name(),
            m.events,
            m.virtual_time,
            m.seconds,
            m.events_per_sec / 1e6
        ));
    }
    out
}
