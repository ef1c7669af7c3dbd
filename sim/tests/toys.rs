//! Whole little systems on the engine: ping-pong and a replicated counter.

mod common;

use sim::{Actor, ActorId, Ctx, Duration, Fault, Message, Sim, SimConfig, TraceHasher};

struct Pinger {
    peer: Option<ActorId>,
    rounds_left: u64,
    pongs: u64,
}

impl Actor<u64> for Pinger {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
        if let Some(p) = self.peer {
            ctx.send(p, self.rounds_left);
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, from: ActorId, n: u64) {
        self.pongs += 1;
        if n > 0 {
            ctx.send(from, n - 1);
        }
    }
}

#[test]
fn ping_pong_alternates_until_the_count_runs_out() {
    let mut sim = Sim::<u64>::new(SimConfig::with_seed(3));
    let (a, b) = (sim.add_host("a").unwrap(), sim.add_host("b").unwrap());
    let pong = sim
        .add_actor(b, "pong", |_| Pinger {
            peer: None,
            rounds_left: 0,
            pongs: 0,
        })
        .unwrap();
    let ping = sim
        .add_actor(a, "ping", move |_| Pinger {
            peer: Some(pong),
            rounds_left: 9,
            pongs: 0,
        })
        .unwrap();
    assert_eq!(
        sim.run_until_quiescent(1000).unwrap(),
        sim::Quiescence::Quiet
    );
    // ping sends 9; pong receives 9,7,5,3,1 and ping receives 8,6,4,2,0.
    assert_eq!(sim.actor::<Pinger>(pong).unwrap().pongs, 5);
    assert_eq!(sim.actor::<Pinger>(ping).unwrap().pongs, 5);
    // Ten one-way trips of 250..500 us each.
    let t = sim.now();
    assert!(
        t >= sim::Time::from_nanos(2_500_000) && t < sim::Time::from_nanos(5_000_000),
        "{t}"
    );
}

/// Messages of the counter: a client's increment, the leader's replication, a follower's ack.
#[derive(Clone, Debug, PartialEq)]
enum Counter {
    Incr,
    Replicate { seq: u64 },
    Ack { seq: u64 },
}

impl Message for Counter {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            Counter::Incr => h.write_u64(0),
            Counter::Replicate { seq } => {
                h.write_u64(1);
                h.write_u64(*seq)
            }
            Counter::Ack { seq } => {
                h.write_u64(2);
                h.write_u64(*seq)
            }
        }
    }
}

const RESEND: u64 = 1;

/// The leader assigns sequence numbers and resends until every follower acked, so followers
/// converge through loss; followers persist the value before acking.
struct Leader {
    followers: Vec<ActorId>,
    value: u64,
    acked: Vec<u64>,
}

impl Actor<Counter> for Leader {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Counter>) {
        ctx.set_timer(Duration::from_millis(10), RESEND);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Counter>, from: ActorId, msg: Counter) {
        match msg {
            Counter::Incr => {
                self.value += 1;
                for f in self.followers.clone() {
                    ctx.send(f, Counter::Replicate { seq: self.value });
                }
            }
            Counter::Ack { seq } => {
                if let Some(i) = self.followers.iter().position(|f| *f == from) {
                    self.acked[i] = self.acked[i].max(seq);
                }
            }
            Counter::Replicate { .. } => ctx.violation("leader got a replicate"),
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Counter>, _tag: u64) {
        for (i, f) in self.followers.clone().into_iter().enumerate() {
            if self.acked[i] < self.value {
                ctx.send(f, Counter::Replicate { seq: self.value });
            }
        }
        ctx.set_timer(Duration::from_millis(10), RESEND);
    }
}

struct Follower {
    value: u64,
}

impl Actor<Counter> for Follower {
    fn on_message(&mut self, ctx: &mut Ctx<'_, Counter>, from: ActorId, msg: Counter) {
        if let Counter::Replicate { seq } = msg {
            if seq > self.value {
                self.value = seq;
                ctx.disk().put("value", seq);
                ctx.disk().sync();
            }
            ctx.send(from, Counter::Ack { seq: self.value });
        }
    }
}

#[test]
fn replicated_counter_converges_through_loss_and_a_crash() {
    let mut sim = Sim::<Counter>::new(SimConfig::with_seed(11));
    let hosts: Vec<_> = (0..4)
        .map(|i| sim.add_host(&format!("n{i}")).unwrap())
        .collect();
    let followers: Vec<ActorId> = hosts[1..]
        .iter()
        .map(|h| {
            sim.add_actor(*h, "follower", |d| Follower {
                value: d.get::<u64>("value").copied().unwrap_or(0),
            })
            .unwrap()
        })
        .collect();
    let fs = followers.clone();
    let leader = sim
        .add_actor(hosts[0], "leader", move |_| Leader {
            followers: fs.clone(),
            value: 0,
            acked: vec![0; 3],
        })
        .unwrap();
    sim.apply_fault(Fault::Loss { host: None, p: 0.3 }).unwrap();
    for _ in 0..20 {
        sim.send_external(leader, Counter::Incr);
        sim.run_for(Duration::from_millis(3)).unwrap();
    }
    sim.apply_fault(Fault::Crash(hosts[2])).unwrap();
    sim.run_for(Duration::from_millis(50)).unwrap();
    sim.apply_fault(Fault::Restart(hosts[2])).unwrap();
    sim.apply_fault(Fault::Loss { host: None, p: 0.0 }).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(sim.actor::<Leader>(leader).unwrap().value, 20);
    for f in followers {
        assert_eq!(
            sim.actor::<Follower>(f).unwrap().value,
            20,
            "{}",
            sim.actor_full_name(f)
        );
    }
    assert!(sim.net_stats().lost > 0);
}
