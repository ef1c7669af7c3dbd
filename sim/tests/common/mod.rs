//! Toy actors shared by the engine's tests.
#![allow(dead_code)]

use sim::{Actor, ActorId, Ctx, Duration, HostId, Sim, SimConfig, StreamClose, StreamId, Time};

/// Records everything that happens to it, stamped with true virtual time.
#[derive(Default)]
pub struct Recorder {
    pub started: u32,
    pub got: Vec<(Time, ActorId, u64)>,
    pub timers: Vec<(Time, u64)>,
    pub stream_msgs: Vec<(Time, StreamId, ActorId, u64)>,
    pub closed: Vec<(Time, StreamId, StreamClose)>,
    pub fsyncs: Vec<(Time, u64)>,
}

impl Actor<u64> for Recorder {
    fn on_start(&mut self, _ctx: &mut Ctx<'_, u64>) {
        self.started += 1;
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, from: ActorId, msg: u64) {
        self.got.push((ctx.sim_time(), from, msg));
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, tag: u64) {
        self.timers.push((ctx.sim_time(), tag));
    }
    fn on_stream_message(&mut self, ctx: &mut Ctx<'_, u64>, s: StreamId, from: ActorId, msg: u64) {
        self.stream_msgs.push((ctx.sim_time(), s, from, msg));
    }
    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, u64>, s: StreamId, why: StreamClose) {
        self.closed.push((ctx.sim_time(), s, why));
    }
    fn on_fsync(&mut self, ctx: &mut Ctx<'_, u64>, token: u64) {
        self.fsyncs.push((ctx.sim_time(), token));
    }
}

impl Recorder {
    pub fn values(&self) -> Vec<u64> {
        self.got.iter().map(|(_, _, v)| *v).collect()
    }
    pub fn stream_values(&self) -> Vec<u64> {
        self.stream_msgs.iter().map(|(_, _, _, v)| *v).collect()
    }
}

/// A simulation with `n` hosts named `h0..`, one `Recorder` named `r` on each.
pub fn recorders(seed: u64, n: usize) -> (Sim<u64>, Vec<HostId>, Vec<ActorId>) {
    let mut sim = Sim::new(SimConfig::with_seed(seed));
    let mut hosts = Vec::new();
    let mut actors = Vec::new();
    for i in 0..n {
        let h = sim.add_host(&format!("h{i}")).expect("unique host");
        hosts.push(h);
        actors.push(
            sim.add_actor(h, "r", |_| Recorder::default())
                .expect("unique actor"),
        );
    }
    sim.run_for(Duration::ZERO).expect("start");
    (sim, hosts, actors)
}

/// Makes `from` send `msg` to `to` now, through the network.
pub fn send(sim: &mut Sim<u64>, from: ActorId, to: ActorId, msg: u64) {
    sim.invoke::<Recorder, _>(from, |_, ctx| ctx.send(to, msg))
        .expect("no finding")
        .expect("recorder");
}

pub fn rec(sim: &Sim<u64>, a: ActorId) -> &Recorder {
    sim.actor::<Recorder>(a).expect("a live recorder")
}

/// Gossips random numbers to random peers and keeps their sum: a workload whose every step
/// draws from the seeded streams.
pub struct Gossip {
    pub peers: Vec<ActorId>,
    pub sum: u64,
}

impl Actor<u64> for Gossip {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
        let ms = ctx.rng().range(1, 10);
        ctx.set_timer(Duration::from_millis(ms), 0);
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64>, _from: ActorId, n: u64) {
        self.sum = self.sum.wrapping_add(n);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, _tag: u64) {
        let to = *ctx.rng().choose(&self.peers).unwrap();
        let n = ctx.rng().next_u64() % 1000;
        ctx.send(to, n);
        let ms = ctx.rng().range(1, 10);
        ctx.set_timer(Duration::from_millis(ms), 0);
    }
}
