//! Timers, determinism, independent random streams, findings, BUGGIFY and the JSON trace.

mod common;

use common::{Gossip, Recorder, rec, recorders};
use sim::{
    Actor, ActorId, BuggifyConfig, Ctx, Duration, Fault, FindingKind, Jitter, LinkConfig,
    Quiescence, Sim, SimConfig, Time, TimerId,
};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Re-arms its timer on every message, like a lease renewed on every heartbeat.
struct Lease {
    timer: Option<TimerId>,
    expired: u32,
}

impl Actor<u64> for Lease {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: ActorId, _msg: u64) {
        if let Some(t) = self.timer.take() {
            assert!(ctx.cancel_timer(t));
            assert!(!ctx.cancel_timer(t), "a second cancel is a no-op");
        }
        self.timer = Some(ctx.set_timer(Duration::from_secs(10), 1));
    }
    fn on_timer(&mut self, _ctx: &mut Ctx<'_, u64>, _tag: u64) {
        self.expired += 1;
        self.timer = None;
    }
}

#[test]
fn cancelled_timers_never_fire_and_rearming_keeps_one_pending() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(1));
    let h = sim.add_host("h").unwrap();
    let l = sim
        .add_actor(h, "lease", |_| Lease {
            timer: None,
            expired: 0,
        })
        .unwrap();
    for _ in 0..1000 {
        sim.send_external(l, 0);
        sim.run_for(Duration::from_secs(1)).unwrap();
    }
    assert_eq!(sim.actor::<Lease>(l).unwrap().expired, 0);
    assert_eq!(sim.timers_pending(), 1);
    sim.run_for(Duration::from_secs(10)).unwrap();
    assert_eq!(sim.actor::<Lease>(l).unwrap().expired, 1);
    assert_eq!(sim.timers_pending(), 0);
    // Cancelled entries were skipped, not counted: 1000 starts+messages, 1 timer.
    assert_eq!(sim.events_processed(), 1 + 1000 + 1);
    assert_eq!(sim.run_until_quiescent(10).unwrap(), Quiescence::Quiet);
}

fn gossip_run(seed: u64, trace: Option<Box<dyn Write>>) -> (u64, u64) {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(seed));
    if let Some(w) = trace {
        sim.set_trace_writer(w);
    }
    sim.set_network(LinkConfig {
        jitter: Jitter::Exponential(Duration::from_millis(2)),
        loss: 0.05,
        ..LinkConfig::default()
    });
    let hosts: Vec<_> = (0..5)
        .map(|i| sim.add_host(&format!("n{i}")).unwrap())
        .collect();
    let ids: Vec<ActorId> = (0..5).map(ActorId).collect();
    for h in &hosts {
        let peers = ids.clone();
        sim.add_actor(*h, "gossip", move |_| Gossip {
            peers: peers.clone(),
            sum: 0,
        })
        .unwrap();
    }
    sim.schedule_faults([
        (
            Time::from_millis(300),
            Fault::Partition(vec![hosts[0]], vec![hosts[1], hosts[2]]),
        ),
        (Time::from_millis(500), Fault::Crash(hosts[3])),
        (Time::from_millis(700), Fault::Heal),
        (Time::from_millis(800), Fault::Restart(hosts[3])),
    ])
    .unwrap();
    sim.run_until(Time::from_secs(2)).unwrap();
    sim.finish_trace().unwrap();
    (sim.trace_hash(), sim.events_processed())
}

#[test]
fn same_seed_same_hash_different_seed_different_hash() {
    let a = gossip_run(7, None);
    let b = gossip_run(7, None);
    let c = gossip_run(8, None);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert!(a.1 > 1000, "a real workload: {} events", a.1);
}

#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_json_trace_has_one_line_per_event_and_does_not_change_the_hash() {
    let buf = Shared::default();
    let traced = gossip_run(7, Some(Box::new(buf.clone())));
    assert_eq!(traced, gossip_run(7, None));
    let text = String::from_utf8(buf.0.borrow().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() as u64 >= traced.1);
    assert_eq!(lines[0]["kind"], "start");
    assert_eq!(lines[0]["dst"], "n0/gossip");
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "fault" && l["label"] == "Crash(n3)")
    );
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "msg" && l["t"].as_str().unwrap().starts_with("00:00:0"))
    );
}

/// Draws five numbers at start.
#[derive(Default)]
struct Drawer {
    draws: Vec<u64>,
}

impl Actor<u64> for Drawer {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
        self.draws = (0..5).map(|_| ctx.rng().next_u64()).collect();
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64>, _from: ActorId, _msg: u64) {}
}

#[test]
fn adding_an_actor_does_not_change_another_actors_draws() {
    let draws = |extra: bool| {
        let mut sim = Sim::<u64>::new(SimConfig::with_seed(99));
        let h = sim.add_host("h").unwrap();
        if extra {
            let h2 = sim.add_host("other").unwrap();
            sim.add_actor(h2, "first", |_| Drawer::default()).unwrap();
            sim.add_actor(h, "before", |_| Drawer::default()).unwrap();
        }
        let d = sim.add_actor(h, "drawer", |_| Drawer::default()).unwrap();
        sim.run_for(Duration::ZERO).unwrap();
        sim.actor::<Drawer>(d).unwrap().draws.clone()
    };
    assert_eq!(draws(false), draws(true));
    assert_eq!(
        sim::SimRng::fork(99, "h/drawer").next_u64(),
        draws(false)[0]
    );
}

struct Bomb;

impl Actor<u64> for Bomb {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: ActorId, msg: u64) {
        match msg {
            0 => panic!("boom at {}", ctx.now()),
            1 => ctx.violation("two leaders in term 3"),
            _ => {}
        }
    }
}

#[test]
fn a_panicking_actor_yields_a_finding_and_the_run_stops() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(5));
    let h = sim.add_host("node").unwrap();
    let b = sim.add_actor(h, "bomb", |_| Bomb).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    sim.send_external(b, 0);
    sim.send_external(b, 2);
    let f = sim.run_for(Duration::from_secs(1)).unwrap_err();
    assert_eq!(f.kind, FindingKind::Panic);
    assert_eq!(f.actor.as_deref(), Some("node/bomb"));
    assert_eq!(f.time, Time::from_secs(1));
    assert_eq!(f.message, "boom at 00:00:01.000");
    assert_eq!(f.event, "external from external");
    assert_eq!(f.seed, 5);
    assert_eq!(sim.step().unwrap_err(), f, "the run stays stopped");
    assert_eq!(sim.events_pending(), 1);
}

#[test]
fn a_recorded_violation_or_a_failed_invariant_yields_a_finding() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(5));
    let h = sim.add_host("node").unwrap();
    let b = sim.add_actor(h, "bomb", |_| Bomb).unwrap();
    sim.send_external(b, 1);
    let f = sim.run_for(Duration::from_secs(1)).unwrap_err();
    assert_eq!(
        (f.kind, f.message.as_str()),
        (FindingKind::Violation, "two leaders in term 3")
    );

    let (mut sim, _, a) = recorders(1, 2);
    let watched = a[1];
    sim.add_invariant("at most 2 messages", move |s| {
        let n = s.actor::<Recorder>(watched).map_or(0, |r| r.got.len());
        if n <= 2 {
            Ok(())
        } else {
            Err(format!("{n} messages"))
        }
    });
    for i in 0..5 {
        sim.send_external(watched, i);
    }
    let f = sim.run_for(Duration::from_secs(1)).unwrap_err();
    assert_eq!(f.message, "at most 2 messages: 3 messages");
    assert_eq!(rec(&sim, watched).got.len(), 3);
}

/// Counts how often a BUGGIFY point fires.
#[derive(Default)]
struct Buggy {
    fired: u32,
}

impl Actor<u64> for Buggy {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: ActorId, _msg: u64) {
        if ctx.buggify("test.point") {
            self.fired += 1;
        }
    }
}

#[test]
fn buggify_fires_only_when_on_and_active_for_the_seed() {
    let fired = |seed: u64, enabled: bool| {
        let config = SimConfig {
            seed,
            buggify: BuggifyConfig {
                enabled,
                ..BuggifyConfig::default()
            },
            ..SimConfig::default()
        };
        let mut sim = Sim::<u64>::new(config);
        let h = sim.add_host("h").unwrap();
        let a = sim.add_actor(h, "buggy", |_| Buggy::default()).unwrap();
        for _ in 0..400 {
            sim.send_external(a, 0);
        }
        sim.run_for(Duration::ZERO).unwrap();
        (
            sim.buggify_active("test.point"),
            sim.actor::<Buggy>(a).unwrap().fired,
        )
    };
    let runs: Vec<(bool, u32)> = (0..40).map(|seed| fired(seed, true)).collect();
    let active = runs.iter().filter(|(a, _)| *a).count();
    assert!(
        (3..=20).contains(&active),
        "about a quarter of runs activate the point: {active}"
    );
    for (is_active, n) in &runs {
        if *is_active {
            assert!(
                (60..=140).contains(n),
                "fires about a quarter of the time: {n}"
            );
        } else {
            assert_eq!(*n, 0);
        }
    }
    assert!((0..40).all(|seed| fired(seed, false) == (false, 0)));
}

/// Pushes its timeout back on every message with `reset_timer`.
struct Renewing {
    timer: Option<TimerId>,
    expired_at: Vec<Time>,
}

impl Actor<u64> for Renewing {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: ActorId, _msg: u64) {
        self.timer = Some(ctx.reset_timer(self.timer, Duration::from_secs(10), 1));
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, _tag: u64) {
        self.expired_at.push(ctx.sim_time());
        assert!(!ctx.timer_pending(self.timer.unwrap()));
    }
}

#[test]
fn reset_timer_pushes_back_a_pending_timer_and_sets_a_new_one_after_it_fired() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(1));
    let h = sim.add_host("h").unwrap();
    let r = sim
        .add_actor(h, "r", |_| Renewing {
            timer: None,
            expired_at: Vec::new(),
        })
        .unwrap();
    for _ in 0..5 {
        sim.send_external(r, 0);
        sim.run_for(Duration::from_secs(4)).unwrap();
    }
    assert!(sim.actor::<Renewing>(r).unwrap().expired_at.is_empty());
    assert_eq!(sim.timers_pending(), 1);
    sim.run_until(Time::from_secs(40)).unwrap();
    assert_eq!(
        sim.actor::<Renewing>(r).unwrap().expired_at,
        [Time::from_secs(26)]
    );
    sim.send_external(r, 0);
    sim.run_until(Time::from_secs(60)).unwrap();
    assert_eq!(
        sim.actor::<Renewing>(r).unwrap().expired_at,
        [Time::from_secs(26), Time::from_secs(50)]
    );
}

/// The hash of a fixed workload is part of the engine's contract: the same in debug and release
/// and on every machine (`cargo test -p sim --release --test runs` checks the other profile).
/// If a deliberate change to event order or to the hash moves it, update the constant and say
/// so in the commit: every recorded trace hash changes with it.
#[test]
fn the_trace_hash_of_a_fixed_workload_is_stable() {
    let (hash, events) = gossip_run(7, None);
    assert_eq!(
        (format!("{hash:016x}"), events),
        (String::from("3863175b0e702706"), 3675)
    );
}
