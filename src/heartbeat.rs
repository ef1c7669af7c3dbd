//! Node-agent heartbeats: the one piece of cluster behaviour the runner puts on the engine
//! before the Kubernetes components exist.
//!
//! Every node runs a `node-agent` that sends a heartbeat datagram to a `heartbeat-monitor` on
//! the first control-plane node every 10 s, and the monitor records when it last heard each
//! node. This is not the kubelet and not the node lifecycle controller: it only makes the
//! engine's faults visible (a crashed, paused or partitioned node falls silent, a healed one
//! is heard again). The period mirrors the kubelet's node-lease renewal (10 s, FIDELITY F11)
//! and "silent" mirrors the lease duration (40 s), so the picture matches what Kubernetes
//! would conclude, without claiming to be it.

use std::collections::BTreeMap;

use sim::{Actor, ActorId, Ctx, Duration, HostId, Message, Time, TraceHasher};

/// How often each node-agent sends a heartbeat.
pub const HEARTBEAT_PERIOD: Duration = Duration::from_secs(10);
/// How long without a heartbeat before the monitor calls a node silent.
pub const SILENT_AFTER: Duration = Duration::from_secs(40);

pub const AGENT_ACTOR: &str = "node-agent";
pub const MONITOR_ACTOR: &str = "heartbeat-monitor";

const TICK: u64 = 1;

/// Messages of the runner's own actors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeMessage {
    /// A node-agent's heartbeat, numbered from 1 since the agent (re)started.
    Heartbeat { seq: u64 },
}

impl Message for NodeMessage {
    fn trace_digest(&self, h: &mut TraceHasher) {
        match self {
            NodeMessage::Heartbeat { seq } => {
                h.write_u64(1);
                h.write_u64(*seq);
            }
        }
    }

    fn trace_label(&self) -> String {
        match self {
            NodeMessage::Heartbeat { seq } => format!("heartbeat {seq}"),
        }
    }

    fn wire_size(&self) -> u64 {
        64
    }
}

/// Sends a heartbeat to the monitor every period; restarts from seq 1 after a crash.
pub struct NodeAgent {
    monitor: ActorId,
    seq: u64,
}

impl NodeAgent {
    pub fn new(monitor: ActorId) -> Self {
        NodeAgent { monitor, seq: 0 }
    }
}

impl Actor<NodeMessage> for NodeAgent {
    fn on_start(&mut self, ctx: &mut Ctx<'_, NodeMessage>) {
        self.beat(ctx);
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, NodeMessage>, _from: ActorId, _msg: NodeMessage) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, NodeMessage>, tag: u64) {
        if tag == TICK {
            self.beat(ctx);
        }
    }
}

impl NodeAgent {
    fn beat(&mut self, ctx: &mut Ctx<'_, NodeMessage>) {
        self.seq += 1;
        ctx.send(self.monitor, NodeMessage::Heartbeat { seq: self.seq });
        ctx.set_timer(HEARTBEAT_PERIOD, TICK);
    }
}

/// Remembers when each node was last heard, by true virtual time of delivery.
#[derive(Default)]
pub struct HeartbeatMonitor {
    last_heard: BTreeMap<HostId, Time>,
}

impl HeartbeatMonitor {
    pub fn last_heard(&self, host: HostId) -> Option<Time> {
        self.last_heard.get(&host).copied()
    }
}

impl Actor<NodeMessage> for HeartbeatMonitor {
    fn on_message(&mut self, ctx: &mut Ctx<'_, NodeMessage>, from: ActorId, msg: NodeMessage) {
        let NodeMessage::Heartbeat { .. } = msg;
        if let Some(host) = ctx.host_of(from) {
            self.last_heard.insert(host, ctx.sim_time());
        }
    }
}
