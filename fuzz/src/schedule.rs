//! Failure schedules as data, and the proptest strategy that generates them.
//!
//! A [`Schedule`] is a list of [`Episode`]s; an episode is one fault together with what ends
//! it (a crash and its restart, a partition and its heal, a skew and its reset). Every episode
//! starts and ends inside the schedule's window, and [`Schedule::timeline`] closes the window
//! with a heal-everything barrier, so after the window the cluster runs fault-free and liveness
//! can be demanded ("after faults heal, the cluster converges within a bounded virtual time",
//! DESIGN.md "Tests"). TigerBeetle's VOPR works the same way: a fault phase, then a liveness
//! phase with everything repaired.
//!
//! Shrinking is proptest's: the episode list shrinks by dropping episodes (fewer faults), each
//! start toward zero (earlier), each length toward its minimum (shorter), each node choice
//! toward the first node.
//!
//! Simplifications: `DiskLoss` is only drawn for nodes without an etcd member, because a member
//! that loses its disk and rejoins under the same ID may vote twice in a term, which real etcd
//! forbids operationally (the member must be removed and re-added), not by its protocol; a
//! leader target (`Crash(Leader("etcd"))`) is restarted by restarting every node at the end of
//! its episode, since which host it resolved to is only known at run time.

use proptest::prelude::*;
use sim::Duration;

/// A host a fault acts on: a node by its kind name, or a component's leader resolved when the
/// fault is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Node(String),
    /// `etcd`, `kube-controller-manager` or `kube-scheduler`.
    Leader(String),
}

/// One fault as the scenario language writes it (`Fault(...)`), over named nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultSpec {
    Partition(Vec<Target>, Vec<Target>),
    OneWay {
        from: Vec<Target>,
        to: Vec<Target>,
    },
    Heal,
    /// Network-wide loss probability.
    Loss(f64),
    LossAt(Target, f64),
    /// Extra latency on every link of one node.
    LatencyAt(Target, Duration),
    Crash(Target),
    Restart(Target),
    Pause(Target, Duration),
    /// Clock offset in nanoseconds (may be negative).
    Skew(Target, i64),
    DiskLoss(Target),
}

/// A fault at an offset of virtual time from the start of the schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedFault {
    pub at: Duration,
    pub fault: FaultSpec,
}

/// The kind of an episode: what is broken while it lasts.
#[derive(Clone, Debug, PartialEq)]
pub enum EpisodeKind {
    /// Symmetric partition; the nodes whose bit is set in the mask form one side.
    Partition {
        side_mask: u64,
    },
    /// One-way cut from the masked nodes to the others.
    OneWay {
        side_mask: u64,
    },
    Crash {
        node: usize,
    },
    /// Crash the masked nodes at the same instant (a rack's power loss), restart them at the
    /// end.
    PowerLoss {
        mask: u64,
    },
    /// Crash whatever `component`'s leader is when the episode starts.
    CrashLeader {
        component: String,
    },
    Pause {
        node: usize,
    },
    Skew {
        node: usize,
        offset_ms: i64,
    },
    Loss {
        p: f64,
    },
    LossAt {
        node: usize,
        p: f64,
    },
    LatencyAt {
        node: usize,
        latency_ms: u64,
    },
    /// Crash, wipe the disk, restart at the end (only nodes without an etcd member).
    DiskLoss {
        node: usize,
    },
}

/// One fault and its repair: starts at `start`, repaired at `start + length`.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    pub start: Duration,
    pub length: Duration,
    pub kind: EpisodeKind,
}

/// What a generated schedule may contain.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleBounds {
    /// Every node's kind name, in topology order.
    pub nodes: Vec<String>,
    /// Indices into `nodes` of nodes that run an etcd member (excluded from `DiskLoss`).
    pub etcd_nodes: Vec<usize>,
    /// Components whose leader may be targeted (`"etcd"`); empty when the runner cannot
    /// resolve leaders.
    pub leader_targets: Vec<String>,
    /// At most this many episodes (each is one to three faults plus its repair).
    pub max_episodes: usize,
    /// Every episode starts and ends within this window.
    pub window: Duration,
    pub min_length: Duration,
    pub max_length: Duration,
    /// Fault-free time after the window before the run's verdict is taken.
    pub settle: Duration,
    /// Which kinds may be drawn.
    pub kinds: KindSet,
}

/// Episode kinds a campaign draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindSet {
    pub partitions: bool,
    pub crashes: bool,
    pub pauses: bool,
    pub skew: bool,
    pub loss: bool,
    pub latency: bool,
    pub disk_loss: bool,
}

impl KindSet {
    pub const ALL: KindSet = KindSet {
        partitions: true,
        crashes: true,
        pauses: true,
        skew: true,
        loss: true,
        latency: true,
        disk_loss: true,
    };
    pub const CRASHES: KindSet = KindSet {
        partitions: false,
        crashes: true,
        pauses: false,
        skew: false,
        loss: false,
        latency: false,
        disk_loss: false,
    };
}

impl ScheduleBounds {
    /// Defaults for a campaign over `nodes`: up to 4 episodes of 1–30 s within 2 minutes, then
    /// a 60 s settle.
    pub fn new(nodes: Vec<String>, etcd_nodes: Vec<usize>) -> ScheduleBounds {
        ScheduleBounds {
            nodes,
            etcd_nodes,
            leader_targets: Vec::new(),
            max_episodes: 4,
            window: Duration::from_secs(120),
            min_length: Duration::from_secs(1),
            max_length: Duration::from_secs(30),
            settle: Duration::from_secs(60),
            kinds: KindSet::ALL,
        }
    }
}

/// A generated failure schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub nodes: Vec<String>,
    pub episodes: Vec<Episode>,
    pub window: Duration,
    pub settle: Duration,
}

fn node(nodes: &[String], i: usize) -> Target {
    Target::Node(nodes[i % nodes.len()].clone())
}

/// Splits `nodes` by a bit mask; a mask that selects no node or every node cuts off the first.
fn sides(nodes: &[String], mask: u64) -> (Vec<Target>, Vec<Target>) {
    let n = nodes.len().min(64);
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (i, name) in nodes.iter().take(n).enumerate() {
        if mask >> i & 1 == 1 {
            a.push(Target::Node(name.clone()));
        } else {
            b.push(Target::Node(name.clone()));
        }
    }
    if a.is_empty() || b.is_empty() {
        let all: Vec<Target> = a.into_iter().chain(b).collect();
        let (first, rest) = all.split_at(1.min(all.len()));
        return (first.to_vec(), rest.to_vec());
    }
    (a, b)
}

/// The nodes whose bit is set (all of them may be); mask 0 selects the first node.
fn masked(nodes: &[String], mask: u64) -> Vec<Target> {
    let picked: Vec<Target> = nodes
        .iter()
        .take(64)
        .enumerate()
        .filter(|(i, _)| mask >> i & 1 == 1)
        .map(|(_, n)| Target::Node(n.clone()))
        .collect();
    if picked.is_empty() {
        nodes
            .first()
            .map(|n| Target::Node(n.clone()))
            .into_iter()
            .collect()
    } else {
        picked
    }
}

impl Episode {
    /// The faults that start and repair this episode, at offsets from the schedule's start.
    pub fn faults(&self, nodes: &[String]) -> Vec<TimedFault> {
        let end = self.start.saturating_add(self.length);
        let (onset, repairs) = self.parts(nodes);
        let at = |at: Duration| move |fault| TimedFault { at, fault };
        onset
            .into_iter()
            .map(at(self.start))
            .chain(repairs.into_iter().map(at(end)))
            .collect()
    }

    /// The faults that start this episode and those that repair it `length` later (none when
    /// the fault ends by itself, as a `Pause` does).
    pub fn parts(&self, nodes: &[String]) -> (Vec<FaultSpec>, Vec<FaultSpec>) {
        match &self.kind {
            EpisodeKind::Partition { side_mask } => {
                let (a, b) = sides(nodes, *side_mask);
                (vec![FaultSpec::Partition(a, b)], vec![FaultSpec::Heal])
            }
            EpisodeKind::OneWay { side_mask } => {
                let (from, to) = sides(nodes, *side_mask);
                (vec![FaultSpec::OneWay { from, to }], vec![FaultSpec::Heal])
            }
            EpisodeKind::Crash { node: i } => (
                vec![FaultSpec::Crash(node(nodes, *i))],
                vec![FaultSpec::Restart(node(nodes, *i))],
            ),
            EpisodeKind::PowerLoss { mask } => {
                let down = masked(nodes, *mask);
                let crashes = down.iter().cloned().map(FaultSpec::Crash).collect();
                let restarts = down.into_iter().map(FaultSpec::Restart).collect();
                (crashes, restarts)
            }
            EpisodeKind::CrashLeader { component } => (
                vec![FaultSpec::Crash(Target::Leader(component.clone()))],
                nodes
                    .iter()
                    .map(|n| FaultSpec::Restart(Target::Node(n.clone())))
                    .collect(),
            ),
            EpisodeKind::Pause { node: i } => (
                vec![FaultSpec::Pause(node(nodes, *i), self.length)],
                Vec::new(),
            ),
            EpisodeKind::Skew { node: i, offset_ms } => (
                vec![FaultSpec::Skew(node(nodes, *i), offset_ms * 1_000_000)],
                vec![FaultSpec::Skew(node(nodes, *i), 0)],
            ),
            EpisodeKind::Loss { p } => (vec![FaultSpec::Loss(*p)], vec![FaultSpec::Loss(0.0)]),
            EpisodeKind::LossAt { node: i, p } => (
                vec![FaultSpec::LossAt(node(nodes, *i), *p)],
                vec![FaultSpec::LossAt(node(nodes, *i), 0.0)],
            ),
            EpisodeKind::LatencyAt {
                node: i,
                latency_ms,
            } => (
                vec![FaultSpec::LatencyAt(
                    node(nodes, *i),
                    Duration::from_millis(*latency_ms),
                )],
                vec![FaultSpec::LatencyAt(node(nodes, *i), Duration::ZERO)],
            ),
            EpisodeKind::DiskLoss { node: i } => (
                vec![
                    FaultSpec::Crash(node(nodes, *i)),
                    FaultSpec::DiskLoss(node(nodes, *i)),
                ],
                vec![FaultSpec::Restart(node(nodes, *i))],
            ),
        }
    }
}

/// An episode as a scenario writes it: its faults at `at`, and its repairs `after` later on
/// the virtual clock, whatever the steps in between take (`After`).
#[derive(Clone, Debug, PartialEq)]
pub struct Onset {
    pub at: Duration,
    pub faults: Vec<FaultSpec>,
    pub after: Duration,
    pub repairs: Vec<FaultSpec>,
}

impl Schedule {
    /// Every fault in time order (ties keep episode order), ending with the heal-everything
    /// barrier at the end of the window: `Heal`, `Loss(0)`, and per node `Restart`,
    /// `Skew(+0s)`, `LossAt(0)`, `LatencyAt(0s)` (no-ops where nothing is broken).
    pub fn timeline(&self) -> Vec<TimedFault> {
        let mut faults: Vec<TimedFault> = self
            .episodes
            .iter()
            .flat_map(|e| e.faults(&self.nodes))
            .collect();
        faults.sort_by_key(|f| f.at);
        faults.extend(self.heal_all());
        faults
    }

    /// Every episode as an [`Onset`] in start order (ties keep episode order), then the
    /// heal-everything barrier at the end of the window (an onset with no repairs of its own).
    pub fn onsets(&self) -> Vec<Onset> {
        let mut onsets: Vec<Onset> = self
            .episodes
            .iter()
            .map(|e| {
                let (faults, repairs) = e.parts(&self.nodes);
                Onset {
                    at: e.start,
                    faults,
                    after: e.length,
                    repairs,
                }
            })
            .collect();
        onsets.sort_by_key(|o| o.at);
        let barrier = self.heal_all();
        if !barrier.is_empty() {
            onsets.push(Onset {
                at: self.window,
                faults: barrier.into_iter().map(|f| f.fault).collect(),
                after: Duration::ZERO,
                repairs: Vec::new(),
            });
        }
        onsets
    }

    /// The barrier that repairs everything at the end of the window. Only the repairs of what
    /// the schedule broke are listed, so an empty schedule has an empty barrier.
    pub fn heal_all(&self) -> Vec<TimedFault> {
        let at = self.window;
        let mut out = Vec::new();
        let has = |f: &dyn Fn(&EpisodeKind) -> bool| self.episodes.iter().any(|e| f(&e.kind));
        let mut push = |fault| out.push(TimedFault { at, fault });
        if has(&|k| {
            matches!(
                k,
                EpisodeKind::Partition { .. } | EpisodeKind::OneWay { .. }
            )
        }) {
            push(FaultSpec::Heal);
        }
        if has(&|k| matches!(k, EpisodeKind::Loss { .. })) {
            push(FaultSpec::Loss(0.0));
        }
        let restarts = has(&|k| {
            matches!(
                k,
                EpisodeKind::Crash { .. }
                    | EpisodeKind::PowerLoss { .. }
                    | EpisodeKind::CrashLeader { .. }
                    | EpisodeKind::DiskLoss { .. }
            )
        });
        if restarts {
            for n in &self.nodes {
                push(FaultSpec::Restart(Target::Node(n.clone())));
            }
        }
        out
    }

    /// Episodes in the schedule (each one fault and its repair).
    pub fn fault_count(&self) -> usize {
        self.episodes.len()
    }

    /// Virtual time the schedule covers, settle period included.
    pub fn span(&self) -> Duration {
        self.window.saturating_add(self.settle)
    }
}

fn kind_strategy(b: &ScheduleBounds) -> BoxedStrategy<EpisodeKind> {
    let n = b.nodes.len().max(1);
    let mask_max = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    let mut kinds: Vec<BoxedStrategy<EpisodeKind>> = Vec::new();
    let k = b.kinds;
    if k.crashes {
        kinds.push((0..n).prop_map(|node| EpisodeKind::Crash { node }).boxed());
        if n > 1 {
            kinds.push(
                (0..=mask_max)
                    .prop_map(|mask| EpisodeKind::PowerLoss { mask })
                    .boxed(),
            );
        }
        for c in &b.leader_targets {
            kinds.push(
                Just(EpisodeKind::CrashLeader {
                    component: c.clone(),
                })
                .boxed(),
            );
        }
    }
    if k.partitions && n > 1 {
        kinds.push(
            (0..=mask_max)
                .prop_map(|side_mask| EpisodeKind::Partition { side_mask })
                .boxed(),
        );
        kinds.push(
            (0..=mask_max)
                .prop_map(|side_mask| EpisodeKind::OneWay { side_mask })
                .boxed(),
        );
    }
    if k.pauses {
        kinds.push((0..n).prop_map(|node| EpisodeKind::Pause { node }).boxed());
    }
    if k.skew {
        kinds.push(
            (0..n, -30_000i64..=30_000)
                .prop_map(|(node, offset_ms)| EpisodeKind::Skew { node, offset_ms })
                .boxed(),
        );
    }
    if k.loss {
        kinds.push(
            (1u32..=50)
                .prop_map(|pc| EpisodeKind::Loss {
                    p: f64::from(pc) / 100.0,
                })
                .boxed(),
        );
        kinds.push(
            (0..n, 1u32..=100)
                .prop_map(|(node, pc)| EpisodeKind::LossAt {
                    node,
                    p: f64::from(pc) / 100.0,
                })
                .boxed(),
        );
    }
    if k.latency {
        kinds.push(
            (0..n, 1u64..=2_000)
                .prop_map(|(node, latency_ms)| EpisodeKind::LatencyAt { node, latency_ms })
                .boxed(),
        );
    }
    let disk_nodes: Vec<usize> = (0..b.nodes.len())
        .filter(|i| !b.etcd_nodes.contains(i))
        .collect();
    if k.disk_loss && !disk_nodes.is_empty() {
        kinds.push(
            proptest::sample::select(disk_nodes)
                .prop_map(|node| EpisodeKind::DiskLoss { node })
                .boxed(),
        );
    }
    if kinds.is_empty() {
        kinds.push((0..n).prop_map(|node| EpisodeKind::Crash { node }).boxed());
    }
    proptest::strategy::Union::new(kinds).boxed()
}

/// The strategy for schedules within `bounds`. Lengths are whole milliseconds so that every
/// schedule prints exactly in the scenario language's duration syntax.
pub fn schedule_strategy(bounds: &ScheduleBounds) -> impl Strategy<Value = Schedule> + use<> {
    let window_ms = bounds.window.as_millis().max(1);
    let min_ms = bounds.min_length.as_millis().max(1).min(window_ms);
    let max_ms = bounds.max_length.as_millis().clamp(min_ms, window_ms);
    let episode = (0..window_ms, min_ms..=max_ms, kind_strategy(bounds)).prop_map(
        move |(start_ms, length_ms, kind)| {
            // Keep the repair inside the window.
            let length_ms = length_ms.min(window_ms - start_ms).max(1);
            Episode {
                start: Duration::from_millis(start_ms),
                length: Duration::from_millis(length_ms),
                kind,
            }
        },
    );
    let nodes = bounds.nodes.clone();
    let window = bounds.window;
    let settle = bounds.settle;
    // Without nodes there is nothing to fault: only the empty schedule.
    let max_episodes = if nodes.is_empty() {
        0
    } else {
        bounds.max_episodes
    };
    proptest::collection::vec(episode, 0..=max_episodes).prop_map(move |episodes| Schedule {
        nodes: nodes.clone(),
        episodes,
        window,
        settle,
    })
}
