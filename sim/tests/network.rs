//! Datagrams under partitions, loss, duplication, latency, clogging and bandwidth limits.

mod common;

use common::{rec, recorders, send};
use sim::{Duration, Fault, HostNet, Jitter, LinkConfig, Time};

#[test]
fn a_partition_stops_delivery_and_heal_resumes_it() {
    let (mut sim, h, a) = recorders(1, 3);
    sim.apply_fault(Fault::Partition(vec![h[0]], vec![h[1], h[2]]))
        .unwrap();
    send(&mut sim, a[0], a[1], 1);
    send(&mut sim, a[1], a[0], 2);
    send(&mut sim, a[1], a[2], 3); // same side: unaffected
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(rec(&sim, a[1]).got.is_empty());
    assert!(rec(&sim, a[0]).got.is_empty());
    assert_eq!(rec(&sim, a[2]).values(), [3]);
    sim.apply_fault(Fault::Heal).unwrap();
    send(&mut sim, a[0], a[1], 4);
    send(&mut sim, a[1], a[0], 5);
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(rec(&sim, a[1]).values(), [4]);
    assert_eq!(rec(&sim, a[0]).values(), [5]);
    assert_eq!(sim.net_stats().lost, 2);
}

#[test]
fn a_message_in_flight_when_the_partition_starts_is_dropped() {
    let (mut sim, h, a) = recorders(1, 2);
    send(&mut sim, a[0], a[1], 1);
    sim.apply_fault(Fault::Partition(vec![h[0]], vec![h[1]]))
        .unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(rec(&sim, a[1]).got.is_empty());
    assert_eq!(sim.net_stats().dropped, 1);
}

#[test]
fn a_one_way_partition_cuts_one_direction_only() {
    let (mut sim, h, a) = recorders(1, 2);
    sim.apply_fault(Fault::OneWay {
        from: vec![h[0]],
        to: vec![h[1]],
    })
    .unwrap();
    assert!(sim.is_partitioned(h[0], h[1]));
    assert!(!sim.is_partitioned(h[1], h[0]));
    send(&mut sim, a[0], a[1], 1);
    send(&mut sim, a[1], a[0], 2);
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(rec(&sim, a[1]).got.is_empty());
    assert_eq!(rec(&sim, a[0]).values(), [2]);
}

#[test]
fn loss_drops_the_expected_fraction() {
    let (mut sim, _, a) = recorders(42, 2);
    sim.apply_fault(Fault::Loss { host: None, p: 0.2 }).unwrap();
    for i in 0..10_000 {
        send(&mut sim, a[0], a[1], i);
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    let got = rec(&sim, a[1]).got.len();
    // 8,000 expected; a binomial's standard deviation here is 40, so ±200 is five sigmas.
    assert!((7_800..=8_200).contains(&got), "{got}");
    assert_eq!(sim.net_stats().lost as usize, 10_000 - got);
}

#[test]
fn loss_on_one_host_affects_only_its_traffic() {
    let (mut sim, h, a) = recorders(42, 3);
    sim.apply_fault(Fault::Loss {
        host: Some(h[2]),
        p: 1.0,
    })
    .unwrap();
    for i in 0..100 {
        send(&mut sim, a[0], a[1], i);
        send(&mut sim, a[0], a[2], i);
        send(&mut sim, a[2], a[1], i);
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(rec(&sim, a[1]).got.len(), 100);
    assert!(rec(&sim, a[2]).got.is_empty());
}

#[test]
fn latency_and_jitter_bound_delivery_times_and_reorder() {
    let (mut sim, h, a) = recorders(5, 2);
    let link = LinkConfig {
        latency: Duration::from_millis(10),
        jitter: Jitter::Uniform(Duration::from_millis(5)),
        loss: 0.0,
        duplicate: 0.0,
    };
    sim.set_network(link);
    sim.apply_fault(Fault::Latency {
        host: Some(h[1]),
        d: Duration::from_millis(100),
    })
    .unwrap();
    let start = sim.now();
    for i in 0..200 {
        send(&mut sim, a[0], a[1], i);
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    let r = rec(&sim, a[1]);
    assert_eq!(r.got.len(), 200);
    for (t, _, _) in &r.got {
        let d = *t - start;
        assert!(
            d >= Duration::from_millis(110) && d < Duration::from_millis(115),
            "{d}"
        );
    }
    let values = r.values();
    assert!(
        values.windows(2).any(|w| w[0] > w[1]),
        "jitter wider than the send gap reorders"
    );
}

#[test]
fn duplication_delivers_some_messages_twice() {
    let (mut sim, _, a) = recorders(9, 2);
    sim.apply_fault(Fault::Duplicate(0.5)).unwrap();
    for i in 0..1000 {
        send(&mut sim, a[0], a[1], i);
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    let got = rec(&sim, a[1]).got.len();
    assert!((1400..=1600).contains(&got), "{got}");
    assert_eq!(sim.net_stats().duplicated as usize, got - 1000);
}

#[test]
fn clogging_holds_traffic_and_unclog_releases_it_in_order() {
    let (mut sim, h, a) = recorders(1, 2);
    sim.set_network(LinkConfig {
        jitter: Jitter::None,
        ..LinkConfig::default()
    });
    sim.apply_fault(Fault::Clog(h[1])).unwrap();
    for i in 0..5 {
        send(&mut sim, a[0], a[1], i);
    }
    sim.run_for(Duration::from_secs(10)).unwrap();
    assert!(rec(&sim, a[1]).got.is_empty());
    sim.apply_fault(Fault::Unclog(h[1])).unwrap();
    sim.run_for(Duration::ZERO).unwrap();
    let r = rec(&sim, a[1]);
    assert_eq!(r.values(), [0, 1, 2, 3, 4]);
    assert!(r.got.iter().all(|(t, _, _)| *t == Time::from_secs(10)));
}

#[test]
fn bandwidth_serialises_a_hosts_egress() {
    let (mut sim, h, a) = recorders(1, 2);
    sim.set_network(LinkConfig {
        jitter: Jitter::None,
        latency: Duration::ZERO,
        ..LinkConfig::default()
    });
    sim.set_host_net(
        h[0],
        HostNet {
            bandwidth_bytes_per_sec: Some(8_000),
            ..HostNet::default()
        },
    )
    .unwrap();
    for i in 0..3 {
        send(&mut sim, a[0], a[1], i); // 8 bytes each: 1 ms on the wire
    }
    sim.run_for(Duration::from_secs(1)).unwrap();
    let times: Vec<Time> = rec(&sim, a[1]).got.iter().map(|(t, _, _)| *t).collect();
    assert_eq!(
        times,
        [
            Time::from_millis(1),
            Time::from_millis(2),
            Time::from_millis(3)
        ]
    );
}

#[test]
fn messages_to_a_crashed_host_are_lost_and_external_messages_reach_actors() {
    let (mut sim, h, a) = recorders(1, 2);
    sim.apply_fault(Fault::Crash(h[1])).unwrap();
    send(&mut sim, a[0], a[1], 1);
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(sim.net_stats().lost, 1);
    sim.send_external(a[0], 77);
    sim.run_for(Duration::ZERO).unwrap();
    assert_eq!(
        rec(&sim, a[0]).got,
        [(sim.now(), sim::ActorId::EXTERNAL, 77)]
    );
    sim.invoke::<common::Recorder, _>(a[0], |_, ctx| ctx.send(sim::ActorId::EXTERNAL, 5))
        .unwrap();
    let out = sim.take_external();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].from, out[0].msg), (a[0], 5));
}
