//! Connection streams: ordered and reliable while connected, held by a short partition,
//! broken by a long one or by a crash.

mod common;

use common::{Recorder, rec, recorders};
use sim::{
    ActorId, Duration, Fault, Jitter, LinkConfig, Sim, StreamClose, StreamError, StreamId, Time,
};

fn open(sim: &mut Sim<u64>, from: ActorId, to: ActorId) -> StreamId {
    sim.invoke::<Recorder, _>(from, |_, ctx| ctx.open_stream(to))
        .unwrap()
        .unwrap()
}

fn stream_send(sim: &mut Sim<u64>, from: ActorId, s: StreamId, v: u64) -> Result<(), StreamError> {
    sim.invoke::<Recorder, _>(from, |_, ctx| ctx.stream_send(s, v))
        .unwrap()
        .unwrap()
}

fn wide_jitter(sim: &mut Sim<u64>) {
    sim.set_network(LinkConfig {
        latency: Duration::from_millis(1),
        jitter: Jitter::Uniform(Duration::from_millis(50)),
        ..LinkConfig::default()
    });
}

#[test]
fn stream_messages_arrive_in_order_despite_jitter() {
    let (mut sim, _, a) = recorders(3, 2);
    wide_jitter(&mut sim);
    let s = open(&mut sim, a[0], a[1]);
    for i in 0..100 {
        stream_send(&mut sim, a[0], s, i).unwrap();
        sim.run_for(Duration::from_micros(100)).unwrap();
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(
        rec(&sim, a[1]).stream_values(),
        (0..100).collect::<Vec<_>>()
    );
    // And the reply direction works on the same stream.
    stream_send(&mut sim, a[1], s, 1000).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(
        rec(&sim, a[0]).stream_msgs,
        [(rec(&sim, a[0]).stream_msgs[0].0, s, a[1], 1000)]
    );
}

#[test]
fn a_short_partition_holds_the_stream_and_heal_resumes_it_in_order() {
    let (mut sim, h, a) = recorders(3, 2);
    wide_jitter(&mut sim);
    let s = open(&mut sim, a[0], a[1]);
    for i in 0..5 {
        stream_send(&mut sim, a[0], s, i).unwrap();
    }
    // Some are in flight when the cut begins; more are sent during it.
    sim.run_for(Duration::from_millis(20)).unwrap();
    sim.apply_fault(Fault::Partition(vec![h[0]], vec![h[1]]))
        .unwrap();
    for i in 5..10 {
        stream_send(&mut sim, a[0], s, i).unwrap();
    }
    sim.run_for(Duration::from_secs(30)).unwrap();
    let before_heal = rec(&sim, a[1]).stream_values();
    assert!(before_heal.len() < 10);
    sim.apply_fault(Fault::Heal).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(rec(&sim, a[1]).stream_values(), (0..10).collect::<Vec<_>>());
    assert!(rec(&sim, a[0]).closed.is_empty() && rec(&sim, a[1]).closed.is_empty());
    assert!(sim.stream_exists(s));
}

#[test]
fn a_partition_longer_than_the_timeout_breaks_the_stream_at_both_ends() {
    let (mut sim, h, a) = recorders(3, 2);
    let s = open(&mut sim, a[0], a[1]);
    stream_send(&mut sim, a[0], s, 1).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    sim.apply_fault(Fault::OneWay {
        from: vec![h[1]],
        to: vec![h[0]],
    })
    .unwrap();
    sim.run_for(Duration::from_secs(44)).unwrap();
    assert!(rec(&sim, a[0]).closed.is_empty());
    sim.run_for(Duration::from_secs(2)).unwrap();
    let at = Time::from_secs(46);
    assert_eq!(rec(&sim, a[0]).closed, [(at, s, StreamClose::Broken)]);
    assert_eq!(rec(&sim, a[1]).closed, [(at, s, StreamClose::Broken)]);
    assert_eq!(stream_send(&mut sim, a[0], s, 2), Err(StreamError::Closed));
    assert!(!sim.stream_exists(s));
}

#[test]
fn a_crash_breaks_the_stream_at_the_timeout_or_at_restart() {
    let (mut sim, h, a) = recorders(3, 3);
    let s1 = open(&mut sim, a[0], a[1]);
    let s2 = open(&mut sim, a[0], a[2]);
    stream_send(&mut sim, a[0], s1, 1).unwrap();
    stream_send(&mut sim, a[0], s2, 1).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    sim.apply_fault(Fault::Crash(h[1])).unwrap();
    sim.apply_fault(Fault::Crash(h[2])).unwrap();
    sim.run_for(Duration::from_secs(10)).unwrap();
    sim.apply_fault(Fault::Restart(h[2])).unwrap(); // reset at once
    sim.run_for(Duration::from_secs(40)).unwrap();
    let closed = &rec(&sim, a[0]).closed;
    assert_eq!(closed[0], (Time::from_secs(11), s2, StreamClose::Broken));
    assert_eq!(closed[1], (Time::from_secs(46), s1, StreamClose::Broken));
    assert!(
        rec(&sim, a[2]).closed.is_empty(),
        "the restarted host has no streams to close"
    );
    assert_eq!(sim.streams_open(), 0);
}

#[test]
fn a_graceful_close_arrives_after_the_data() {
    let (mut sim, _, a) = recorders(3, 2);
    wide_jitter(&mut sim);
    let s = open(&mut sim, a[0], a[1]);
    for i in 0..3 {
        stream_send(&mut sim, a[0], s, i).unwrap();
    }
    sim.invoke::<Recorder, _>(a[0], |_, ctx| ctx.close_stream(s))
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(stream_send(&mut sim, a[0], s, 9), Err(StreamError::Closed));
    sim.run_for(Duration::from_secs(1)).unwrap();
    let r = rec(&sim, a[1]);
    assert_eq!(r.stream_values(), [0, 1, 2]);
    assert_eq!(r.closed.len(), 1);
    assert_eq!(r.closed[0].2, StreamClose::ClosedByPeer);
    assert!(r.closed[0].0 >= r.stream_msgs[2].0);
    assert!(rec(&sim, a[0]).closed.is_empty());
    assert_eq!(sim.streams_open(), 0);
}

#[test]
fn only_the_two_ends_may_use_a_stream() {
    let (mut sim, _, a) = recorders(3, 3);
    let s = open(&mut sim, a[0], a[1]);
    assert_eq!(
        stream_send(&mut sim, a[2], s, 1),
        Err(StreamError::NotAnEnd)
    );
}

#[test]
fn a_stream_opened_to_a_crashed_host_breaks_after_the_timeout() {
    let (mut sim, h, a) = recorders(3, 2);
    sim.apply_fault(Fault::Crash(h[1])).unwrap();
    let s = open(&mut sim, a[0], a[1]);
    stream_send(&mut sim, a[0], s, 1).unwrap(); // accepted, like bytes into a socket buffer
    sim.run_for(Duration::from_secs(60)).unwrap();
    assert_eq!(
        rec(&sim, a[0]).closed,
        [(Time::from_secs(45), s, StreamClose::Broken)]
    );
}

#[test]
fn actors_find_each_other_by_name() {
    let (mut sim, _, a) = recorders(3, 2);
    let found = sim
        .invoke::<Recorder, _>(a[0], |_, ctx| {
            (ctx.lookup("h1", "r"), ctx.lookup("h1", "nobody"))
        })
        .unwrap()
        .unwrap();
    assert_eq!(found, (Some(a[1]), None));
    assert_eq!(sim.actor_id(sim.host_id("h1").unwrap(), "r"), Some(a[1]));
    assert_eq!(sim.actor_full_name(a[1]), "h1/r");
}
