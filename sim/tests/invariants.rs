//! Invariants checked only after the events that can break them (`Sim::add_invariant_on`)
//! find the same violations, at the same event, as invariants checked after every event.

mod common;

use common::Gossip;
use sim::{ActorId, Duration, Fault, Finding, HostId, HostState, Sim, SimConfig, Time};
use std::cell::Cell;
use std::rc::Rc;

/// Six gossipers, one per host; the faults crash, restart and pause the watched one's host.
fn gossip(seed: u64) -> (Sim<u64>, Vec<HostId>, Vec<ActorId>) {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(seed));
    let hosts: Vec<HostId> = (0..6)
        .map(|i| sim.add_host(&format!("h{i}")).unwrap())
        .collect();
    let ids: Vec<ActorId> = (0..6).map(|i| ActorId(i as u32)).collect();
    let actors: Vec<ActorId> = hosts
        .iter()
        .map(|h| {
            let peers = ids.clone();
            sim.add_actor(*h, "gossip", move |_| Gossip {
                peers: peers.clone(),
                sum: 0,
            })
            .unwrap()
        })
        .collect();
    assert_eq!(actors, ids);
    let at = |ms| Time::ZERO + Duration::from_millis(ms);
    sim.schedule_faults([
        (at(300), Fault::Crash(hosts[2])),
        (at(700), Fault::Restart(hosts[2])),
        (at(900), Fault::Pause(hosts[2], Duration::from_millis(150))),
    ])
    .unwrap();
    (sim, hosts, actors)
}

/// What an invariant reads: the watched actor's sum, and whether its host runs.
fn watched_state(sim: &Sim<u64>, host: HostId, actor: ActorId) -> (Option<u64>, bool) {
    let sum = sim.actor::<Gossip>(actor).map(|g| g.sum);
    (sum, sim.host_state(host) == Some(HostState::Up))
}

/// Runs the gossip with `check` over actor 2 (after every event, or only after the events that
/// can break it); the finding, the events handled by then, and how many checks ran.
fn run(
    seed: u64,
    on_actor: bool,
    check: fn((Option<u64>, bool)) -> Result<(), String>,
) -> (Option<Finding>, u64, u64) {
    let (mut sim, hosts, actors) = gossip(seed);
    let checks = Rc::new(Cell::new(0u64));
    let counted = Rc::clone(&checks);
    let (host, actor) = (hosts[2], actors[2]);
    let invariant = move |s: &Sim<u64>| {
        counted.set(counted.get() + 1);
        check(watched_state(s, host, actor))
    };
    if on_actor {
        sim.add_invariant_on("watched", &[actor], invariant);
    } else {
        sim.add_invariant("watched", invariant);
    }
    let finding = sim.run_for(Duration::from_secs(2)).err();
    (finding, sim.events_processed(), checks.get())
}

#[test]
fn a_violation_by_the_watched_actor_is_found_at_the_same_event() {
    // The sum passes a bound in some message to actor 2: found in that event either way.
    let bound = |(sum, _): (Option<u64>, bool)| match sum {
        Some(s) if s > 20_000 => Err(format!("sum {s}")),
        _ => Ok(()),
    };
    for seed in 1..=5 {
        let every = run(seed, false, bound);
        let on = run(seed, true, bound);
        assert!(every.0.is_some(), "seed {seed}: the bound is reached");
        assert_eq!((&every.0, every.1), (&on.0, on.1), "seed {seed}");
        assert!(
            on.2 < every.2 / 3,
            "seed {seed}: {} vs {} checks",
            on.2,
            every.2
        );
    }
}

#[test]
fn a_violation_by_a_fault_is_found_at_the_next_event() {
    // The crash at 300 ms changes the host's state outside any handler of actor 2; the
    // pause at 900 ms too, and its end at 1,050 ms is an engine event.
    let up_after_crash = |(sum, up): (Option<u64>, bool)| match (sum, up) {
        (None, _) => Err("crashed".to_string()),
        _ => Ok(()),
    };
    let paused = |(sum, up): (Option<u64>, bool)| match (sum, up) {
        (Some(s), false) if s > 0 => Err("paused".to_string()),
        _ => Ok(()),
    };
    for check in [up_after_crash, paused] {
        for seed in 1..=3 {
            let every = run(seed, false, check);
            let on = run(seed, true, check);
            assert!(every.0.is_some(), "seed {seed}: the fault is seen");
            assert_eq!((&every.0, every.1), (&on.0, on.1), "seed {seed}");
        }
    }
}

#[test]
fn an_invariant_that_holds_is_checked_only_after_the_events_that_could_break_it() {
    let never = |_: (Option<u64>, bool)| Ok(());
    let every = run(7, false, never);
    let on = run(7, true, never);
    assert_eq!((every.0, on.0), (None, None));
    assert_eq!(every.1, on.1);
    assert!(every.2 >= every.1, "after every event");
    assert!(on.2 < every.2 / 3, "{} vs {} checks", on.2, every.2);
}
