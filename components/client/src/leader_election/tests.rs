//! Scripted runs of candidates against an in-memory Lease with optimistic concurrency.

use super::*;

/// The Lease as the apiserver keeps it: a record and a resourceVersion.
#[derive(Default)]
struct FakeLease {
    current: Option<(LeaderElectionRecord, u64)>,
    rv: u64,
    /// When set, every request fails (the apiserver is unreachable).
    down: bool,
}

impl FakeLease {
    fn handle(&mut self, req: &LeaseRequest) -> LeaseReply {
        if self.down {
            return LeaseReply::Failed;
        }
        match req {
            LeaseRequest::Get => match &self.current {
                Some((record, rv)) => LeaseReply::Found {
                    record: record.clone(),
                    resource_version: rv.to_string(),
                },
                None => LeaseReply::NotFound,
            },
            LeaseRequest::Create(record) => {
                if self.current.is_some() {
                    return LeaseReply::Failed; // 409 AlreadyExists
                }
                self.rv += 1;
                self.current = Some((record.clone(), self.rv));
                LeaseReply::Written {
                    resource_version: self.rv.to_string(),
                }
            }
            LeaseRequest::Update {
                record,
                resource_version,
            } => match &self.current {
                Some((_, rv)) if rv.to_string() == *resource_version => {
                    self.rv += 1;
                    self.current = Some((record.clone(), self.rv));
                    LeaseReply::Written {
                        resource_version: self.rv.to_string(),
                    }
                }
                _ => LeaseReply::Failed, // 409 Conflict
            },
        }
    }
}

struct Candidate {
    el: LeaderElector,
    rng: SimRng,
    /// Local clock = true time + skew (ns).
    skew_ns: i64,
    up: bool,
    log: Vec<(u64, ElectionEvent)>,
}

impl Candidate {
    fn new(name: &str, skew_ns: i64) -> Self {
        Candidate {
            el: LeaderElector::new(ElectionConfig::new(name)),
            rng: SimRng::fork(7, name),
            skew_ns,
            up: true,
            log: Vec::new(),
        }
    }
    fn local(&self, t: Time) -> Time {
        t.offset_by(self.skew_ns)
    }
    fn started_at(&self) -> Option<u64> {
        self.log
            .iter()
            .find(|(_, e)| *e == ElectionEvent::StartedLeading)
            .map(|(t, _)| *t)
    }
    fn stopped_at(&self) -> Option<u64> {
        self.log
            .iter()
            .find(|(_, e)| *e == ElectionEvent::StoppedLeading)
            .map(|(t, _)| *t)
    }
}

/// Feeds events back: requests are answered at once by the fake Lease.
fn drain(c: &mut Candidate, lease: &mut FakeLease, now: Time, mut events: Vec<ElectionEvent>) {
    for _ in 0..100 {
        let mut next = Vec::new();
        for e in events {
            if let ElectionEvent::Send { id, request } = &e {
                let reply = lease.handle(request);
                let local = c.local(now);
                next.extend(c.el.on_reply(local, *id, reply, &mut c.rng));
            }
            c.log.push((now.as_millis(), e));
        }
        if next.is_empty() {
            return;
        }
        events = next;
    }
    panic!("request loop did not settle");
}

/// Runs candidates in 100 ms steps of true time until `end`; `script` may change the world.
fn run(
    cands: &mut [Candidate],
    lease: &mut FakeLease,
    end: Time,
    mut script: impl FnMut(Time, &mut [Candidate], &mut FakeLease),
) {
    let step = Duration::from_millis(100);
    let mut now = Time::ZERO;
    for c in cands.iter_mut() {
        let ev = c.el.start(c.local(now));
        drain(c, lease, now, ev);
    }
    while now < end {
        now = now.saturating_add(step);
        script(now, cands, lease);
        for c in cands.iter_mut().filter(|c| c.up) {
            let local = c.local(now);
            if c.el.next_wakeup().is_some_and(|w| w <= local) {
                let ev = c.el.on_wakeup(local, &mut c.rng);
                drain(c, lease, now, ev);
            }
        }
    }
}

fn leaders(cands: &[Candidate]) -> Vec<&str> {
    cands
        .iter()
        .filter(|c| c.up && c.el.is_leader())
        .map(|c| c.el.config().identity.as_str())
        .collect()
}

#[test]
fn first_candidate_creates_the_lease_and_renews_every_retry_period() {
    let mut lease = FakeLease::default();
    let mut c = vec![Candidate::new("a", 0)];
    run(&mut c, &mut lease, Time::from_secs(7), |_, _, _| {});
    let sends: Vec<_> = c[0]
        .log
        .iter()
        .filter_map(|(t, e)| match e {
            ElectionEvent::Send { request, .. } => Some((
                *t,
                match request {
                    LeaseRequest::Get => "get",
                    LeaseRequest::Create(_) => "create",
                    LeaseRequest::Update { .. } => "update",
                },
            )),
            _ => None,
        })
        .collect();
    // Get, create; the renew loop's immediate first round; then every 2 s (fast path).
    assert_eq!(
        sends,
        [
            (0, "get"),
            (0, "create"),
            (0, "update"),
            (2000, "update"),
            (4000, "update"),
            (6000, "update")
        ]
    );
    assert_eq!(c[0].started_at(), Some(0));
    let (record, _) = lease.current.clone().unwrap();
    assert_eq!(record.holder_identity, "a");
    assert_eq!(record.lease_duration_seconds, 15);
    assert_eq!(record.acquire_time, Time::ZERO);
    assert_eq!(record.renew_time, Time::from_secs(6));
    assert_eq!(record.leader_transitions, 0);
}

#[test]
fn standby_takes_over_about_a_lease_duration_after_the_holder_dies() {
    let mut lease = FakeLease::default();
    let mut c = vec![Candidate::new("a", 0), Candidate::new("b", 0)];
    let crash = Time::from_secs(30);
    run(&mut c, &mut lease, Time::from_secs(60), |now, cands, _| {
        if now == crash {
            cands[0].up = false;
        }
        assert!(leaders(cands).len() <= 1, "two leaders at {now:?}");
    });
    assert_eq!(c[0].started_at(), Some(0));
    let took_over = c[1].started_at().unwrap();
    // a last renewed at 30 s - 2 s = 28 s; b saw that change at one of its retries
    // (≤ 4.4 s later) and waits out 15 s from then, then up to one more retry.
    assert!(took_over > 28_000 + 15_000, "took over at {took_over} ms");
    assert!(
        took_over <= 28_000 + 4_400 + 15_000 + 4_400,
        "took over at {took_over} ms"
    );
    let (record, _) = lease.current.clone().unwrap();
    assert_eq!(record.holder_identity, "b");
    assert_eq!(record.leader_transitions, 1);
    assert!(
        c[1].log
            .iter()
            .any(|(_, e)| *e == ElectionEvent::NewLeader("a".into()))
    );
    assert!(
        c[1].log
            .iter()
            .any(|(_, e)| *e == ElectionEvent::NewLeader("b".into()))
    );
}

#[test]
fn expiry_is_judged_by_local_observation_not_by_the_renew_time_written() {
    // b's clock is an hour ahead: every renewTime a writes looks an hour old to b, yet b
    // never takes over, because the record keeps changing under b's own observation.
    let hour = 3_600_000_000_000i64;
    let mut lease = FakeLease::default();
    // a starts first, so it creates the Lease.
    let mut c = vec![Candidate::new("a", 0), Candidate::new("b", hour)];
    run(&mut c, &mut lease, Time::from_secs(120), |_, _, _| {});
    assert!(c[0].el.is_leader());
    assert_eq!(c[1].started_at(), None);
    assert_eq!(lease.current.as_ref().unwrap().0.holder_identity, "a");
}

#[test]
fn leader_that_cannot_renew_stops_at_the_renew_deadline() {
    let mut lease = FakeLease::default();
    let mut c = vec![Candidate::new("a", 0)];
    run(&mut c, &mut lease, Time::from_secs(40), |now, _, lease| {
        if now == Time::from_millis(5_100) {
            lease.down = true;
        }
    });
    // Last success at 4 s; the next round starts at 6 s and ends at 16 s.
    assert_eq!(c[0].stopped_at(), Some(16_000));
    assert_eq!(c[0].el.phase(), Phase::Stopped);
    assert_eq!(c[0].el.next_wakeup(), None);
}

#[test]
fn a_conflicting_update_means_someone_else_won() {
    // Both see an expired lease held by "old" and race to update it with the same
    // resourceVersion: the first write wins, the second gets 409 and does not lead.
    let old = LeaderElectionRecord {
        holder_identity: "old".into(),
        lease_duration_seconds: 15,
        ..Default::default()
    };
    let mut lease = FakeLease {
        current: Some((old, 5)),
        rv: 5,
        down: false,
    };
    let mut a = Candidate::new("a", 0);
    let mut b = Candidate::new("b", 0);
    let t0 = Time::ZERO;
    let ga = a.el.start(t0);
    let gb = b.el.start(t0);
    let reply_a = lease.handle(match &ga[0] {
        ElectionEvent::Send { request, .. } => request,
        e => panic!("{e:?}"),
    });
    let reply_b = reply_a.clone();
    let id = |e: &[ElectionEvent]| match e[0] {
        ElectionEvent::Send { id, .. } => id,
        _ => 0,
    };
    // The first observation of the record is at t0, so it is not expired until t0 + 15 s:
    // both give up this attempt.
    assert!(
        !a.el
            .on_reply(t0, id(&ga), reply_a, &mut a.rng)
            .iter()
            .any(|e| matches!(e, ElectionEvent::Send { .. }))
    );
    assert!(
        !b.el
            .on_reply(t0, id(&gb), reply_b, &mut b.rng)
            .iter()
            .any(|e| matches!(e, ElectionEvent::Send { .. }))
    );
    // 16 s later both retry, see the same unchanged record, and both send an update.
    let t1 = Time::from_secs(16);
    let ga = a.el.on_wakeup(t1, &mut a.rng);
    let gb = b.el.on_wakeup(t1, &mut b.rng);
    let found = lease.handle(&LeaseRequest::Get);
    let ua = a.el.on_reply(t1, id(&ga), found.clone(), &mut a.rng);
    let ub = b.el.on_reply(t1, id(&gb), found, &mut b.rng);
    let req = |e: &[ElectionEvent]| match &e[0] {
        ElectionEvent::Send { request, .. } => request.clone(),
        e => panic!("{e:?}"),
    };
    let wa = lease.handle(&req(&ua));
    let wb = lease.handle(&req(&ub));
    assert_eq!(wb, LeaseReply::Failed);
    let ea = a.el.on_reply(t1, id(&ua), wa, &mut a.rng);
    let eb = b.el.on_reply(t1, id(&ub), wb, &mut b.rng);
    assert!(ea.contains(&ElectionEvent::StartedLeading));
    assert!(!eb.contains(&ElectionEvent::StartedLeading));
    assert!(a.el.is_leader() && !b.el.is_leader());
    assert_eq!(lease.current.as_ref().unwrap().0.leader_transitions, 1);
}

#[test]
fn identity_looks_like_kube_controller_manager_s() {
    let mut rng = SimRng::fork(1, "x");
    let id = holder_identity("kubesim-control-plane", &mut rng);
    let (host, uuid) = id.split_once('_').unwrap();
    assert_eq!(host, "kubesim-control-plane");
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    assert_eq!(&uuid[14..15], "4");
}
