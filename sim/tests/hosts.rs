//! Host faults: crash and restart with the disk, disk loss, pause, clock skew and drift.

mod common;

use common::{Recorder, rec, recorders, send};
use sim::{Actor, ActorId, Ctx, Duration, Fault, HostState, Sim, SimConfig, Time};

/// Appends every number it receives to its log on disk, synced only when told to; recovers
/// what survived from the disk when rebuilt.
struct Journal {
    recovered: Vec<u64>,
    acked: Vec<u64>,
}

const SYNC: u64 = u64::MAX;
const ASYNC_SYNC: u64 = u64::MAX - 1;

impl Journal {
    fn from_disk(d: &sim::Disk) -> Journal {
        let recovered = d
            .scan_prefix("j/")
            .filter_map(|(_, v)| v.downcast_ref::<u64>().copied())
            .collect();
        Journal {
            recovered,
            acked: Vec::new(),
        }
    }
}

impl Actor<u64> for Journal {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: ActorId, n: u64) {
        match n {
            SYNC => ctx.disk().sync(),
            ASYNC_SYNC => ctx.fsync(7),
            n => ctx.disk().put(sim::index_key("j", n), n),
        }
    }
    fn on_fsync(&mut self, ctx: &mut Ctx<'_, u64>, token: u64) {
        // Persist, then acknowledge: everything written before the fsync is now durable.
        self.acked.push(token);
        let n = ctx.disk().scan_prefix("j/").count() as u64;
        ctx.log(format!("durable entries: {n}"));
    }
}

fn journal_sim() -> (Sim<u64>, sim::HostId, ActorId) {
    let mut sim = Sim::new(SimConfig::with_seed(1));
    let h = sim.add_host("db").unwrap();
    let j = sim.add_actor(h, "journal", Journal::from_disk).unwrap();
    (sim, h, j)
}

#[test]
fn a_crash_loses_unsynced_writes_keeps_synced_ones_and_the_restart_recovers() {
    let (mut sim, h, j) = journal_sim();
    for m in [1, 2, SYNC, 3] {
        sim.send_external(j, m);
    }
    sim.run_for(Duration::from_millis(1)).unwrap();
    assert_eq!(sim.disk(h).unwrap().len(), 3);
    sim.apply_fault(Fault::Crash(h)).unwrap();
    assert_eq!(sim.host_state(h), Some(HostState::Crashed));
    assert!(sim.actor::<Journal>(j).is_none(), "volatile state is gone");
    sim.apply_fault(Fault::Restart(h)).unwrap();
    sim.run_for(Duration::ZERO).unwrap();
    assert_eq!(sim.actor::<Journal>(j).unwrap().recovered, [1, 2]);
}

#[test]
fn an_async_fsync_is_durable_only_once_it_completes() {
    let (mut sim, h, j) = journal_sim();
    sim.send_external(j, 1);
    sim.send_external(j, ASYNC_SYNC);
    sim.send_external(j, 2);
    sim.run_for(Duration::from_millis(1)).unwrap(); // fsync takes 2 ms by default
    assert!(sim.actor::<Journal>(j).unwrap().acked.is_empty());
    sim.run_for(Duration::from_millis(2)).unwrap();
    assert_eq!(sim.actor::<Journal>(j).unwrap().acked, [7]);
    assert_eq!(
        sim.logs(j).map(|l| l.text).collect::<Vec<_>>(),
        ["durable entries: 2"]
    );
    sim.apply_fault(Fault::Crash(h)).unwrap();
    sim.apply_fault(Fault::Restart(h)).unwrap();
    assert_eq!(
        sim.actor::<Journal>(j).unwrap().recovered,
        [1],
        "2 was written after the fsync began"
    );

    // A crash before completion loses the writes and the acknowledgement.
    sim.send_external(j, 5);
    sim.send_external(j, ASYNC_SYNC);
    sim.run_for(Duration::from_millis(1)).unwrap();
    sim.apply_fault(Fault::Crash(h)).unwrap();
    sim.run_for(Duration::from_millis(5)).unwrap();
    sim.apply_fault(Fault::Restart(h)).unwrap();
    sim.run_for(Duration::from_millis(5)).unwrap();
    let jn = sim.actor::<Journal>(j).unwrap();
    assert_eq!(jn.recovered, [1]);
    assert!(jn.acked.is_empty());
}

#[test]
fn disk_loss_wipes_synced_data() {
    let (mut sim, h, j) = journal_sim();
    sim.send_external(j, 1);
    sim.send_external(j, SYNC);
    sim.run_for(Duration::from_millis(1)).unwrap();
    sim.apply_fault(Fault::Crash(h)).unwrap();
    sim.apply_fault(Fault::DiskLoss(h)).unwrap();
    sim.apply_fault(Fault::Restart(h)).unwrap();
    assert!(sim.actor::<Journal>(j).unwrap().recovered.is_empty());
    assert!(sim.disk(h).unwrap().is_empty());
}

#[test]
fn a_crash_drops_pending_timers_and_in_flight_messages_and_restart_starts_again() {
    let (mut sim, h, a) = recorders(1, 2);
    sim.invoke::<Recorder, _>(a[1], |_, ctx| ctx.set_timer(Duration::from_secs(1), 9))
        .unwrap();
    send(&mut sim, a[0], a[1], 1);
    sim.apply_fault(Fault::Crash(h[1])).unwrap();
    sim.apply_fault(Fault::Restart(h[1])).unwrap();
    sim.run_for(Duration::from_secs(2)).unwrap();
    let r = rec(&sim, a[1]);
    assert_eq!(r.started, 1, "a fresh instance, started once");
    assert!(r.got.is_empty() && r.timers.is_empty());
    assert_eq!(sim.timers_pending(), 0);
}

#[test]
fn a_pause_holds_timers_and_messages_and_delivers_them_in_order_at_the_end() {
    let (mut sim, h, a) = recorders(1, 2);
    sim.invoke::<Recorder, _>(a[1], |_, ctx| {
        ctx.set_timer(Duration::from_millis(100), 1);
        ctx.set_timer(Duration::from_millis(200), 2);
    })
    .unwrap();
    sim.schedule_fault(
        Time::from_millis(50),
        Fault::Pause(h[1], Duration::from_secs(1)),
    )
    .unwrap();
    sim.run_until(Time::from_millis(150)).unwrap();
    send(&mut sim, a[0], a[1], 3);
    sim.run_until(Time::from_millis(900)).unwrap();
    assert!(matches!(
        sim.host_state(h[1]),
        Some(HostState::Paused { .. })
    ));
    assert!(rec(&sim, a[1]).timers.is_empty() && rec(&sim, a[1]).got.is_empty());
    sim.run_until(Time::from_secs(2)).unwrap();
    let r = rec(&sim, a[1]);
    let end = Time::from_millis(1050);
    assert_eq!(r.timers, [(end, 1), (end, 2)]);
    assert_eq!(r.got.len(), 1);
    assert_eq!(r.got[0].0, end);
    assert_eq!(sim.host_state(h[1]), Some(HostState::Up));
}

/// Reads its clock on every message and sets a timer.
#[derive(Default)]
struct ClockReader {
    readings: Vec<Time>,
    fired_at: Vec<Time>,
}

impl Actor<u64> for ClockReader {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: ActorId, delay_secs: u64) {
        self.readings.push(ctx.now());
        if delay_secs > 0 {
            ctx.set_timer(Duration::from_secs(delay_secs), 0);
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, _tag: u64) {
        self.fired_at.push(ctx.sim_time());
    }
}

#[test]
fn skew_shifts_one_hosts_clock_only() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(1));
    let (h0, h1) = (sim.add_host("a").unwrap(), sim.add_host("b").unwrap());
    let c0 = sim.add_actor(h0, "c", |_| ClockReader::default()).unwrap();
    let c1 = sim.add_actor(h1, "c", |_| ClockReader::default()).unwrap();
    sim.run_until(Time::from_secs(10)).unwrap();
    sim.apply_fault(Fault::Skew(h1, 5_000_000_000)).unwrap();
    sim.send_external(c0, 1);
    sim.send_external(c1, 1);
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(
        sim.actor::<ClockReader>(c0).unwrap().readings,
        [Time::from_secs(10)]
    );
    assert_eq!(
        sim.actor::<ClockReader>(c1).unwrap().readings,
        [Time::from_secs(15)]
    );
    // Skew moves the reading, not the rate: the timer still takes one second of true time.
    assert_eq!(
        sim.actor::<ClockReader>(c1).unwrap().fired_at,
        [Time::from_secs(11)]
    );
    assert_eq!(sim.local_now(h1), Some(Time::from_secs(20)));
}

#[test]
fn a_fast_clock_fires_timers_early_in_true_time() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(1));
    let h = sim.add_host("fast").unwrap();
    let c = sim.add_actor(h, "c", |_| ClockReader::default()).unwrap();
    sim.apply_fault(Fault::Drift(h, 250_000)).unwrap(); // 25% fast
    sim.send_external(c, 10);
    sim.run_for(Duration::from_secs(20)).unwrap();
    let r = sim.actor::<ClockReader>(c).unwrap();
    assert_eq!(r.fired_at, [Time::from_secs(8)]);
    assert_eq!(sim.local_now(h), Some(Time::from_secs(25)));
}

#[test]
fn a_factory_that_panics_while_recovering_yields_a_finding() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(1));
    let h = sim.add_host("db").unwrap();
    sim.add_actor(h, "fragile", |d: &sim::Disk| {
        assert!(!d.contains("poison"), "cannot recover from a poisoned disk");
        Recorder::default()
    })
    .unwrap();
    sim.disk_mut(h).unwrap().put("poison", 1u64);
    sim.disk_mut(h).unwrap().sync();
    sim.schedule_faults([
        (Time::from_secs(1), Fault::Crash(h)),
        (Time::from_secs(2), Fault::Restart(h)),
    ])
    .unwrap();
    let f = sim.run_for(Duration::from_secs(3)).unwrap_err();
    assert_eq!(f.kind, sim::FindingKind::Panic);
    assert_eq!(f.actor.as_deref(), Some("db/fragile"));
    assert_eq!(f.time, Time::from_secs(2));
    assert_eq!(f.message, "cannot recover from a poisoned disk");
}

/// Logs every number it receives; 0 also ends its process, which starts again in place.
struct Exiter;

impl Actor<u64> for Exiter {
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: ActorId, n: u64) {
        ctx.log(format!("line {n}"));
        if n == 0 {
            ctx.process_restarted();
        }
    }
}

#[test]
fn a_process_restarted_in_place_starts_a_new_run_of_its_log_until_the_next_boot() {
    let mut sim = Sim::new(SimConfig::with_seed(1));
    let h = sim.add_host("cp").unwrap();
    let a = sim.add_actor(h, "kube-scheduler", |_| Exiter).unwrap();
    let deliver = |sim: &mut Sim<u64>, n: u64| {
        sim.send_external(a, n);
        sim.run_for(Duration::from_millis(1)).unwrap();
    };
    deliver(&mut sim, 1);
    deliver(&mut sim, 0);
    deliver(&mut sim, 2);
    assert_eq!(sim.process_run(a), 1);
    sim.apply_fault(Fault::Crash(h)).unwrap();
    sim.apply_fault(Fault::Restart(h)).unwrap();
    assert_eq!(
        sim.process_run(a),
        0,
        "a new boot starts the first run again"
    );
    deliver(&mut sim, 3);
    let runs: Vec<(String, u32, u32)> = sim.logs(a).map(|l| (l.text, l.boot, l.run)).collect();
    assert_eq!(
        runs,
        [
            ("line 1".to_string(), 0, 0),
            ("line 0".to_string(), 0, 0),
            ("line 2".to_string(), 0, 1),
            ("line 3".to_string(), 1, 0),
        ]
    );
}
