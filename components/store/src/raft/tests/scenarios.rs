//! One scripted interaction per Raft behaviour: who sends what, what is delivered or dropped,
//! and the state each member ends in.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::network::{Msg, Network, config};
use crate::raft::{MessageType, Role};

fn elect(net: &mut Network, id: u64) {
    net.campaign(id);
    net.deliver_all();
    assert_eq!(net.role(id), Role::Leader, "member {id} should have won");
}

#[test]
fn election_in_one_three_and_five_member_clusters() {
    for n in [1, 3, 5] {
        let mut net = Network::new(n);
        elect(&mut net, 1);
        for id in 1..=n {
            assert_eq!(net.term(id), 1, "n={n} member {id}");
            assert_eq!(net.m(id).node.raft().lead, Some(1));
            // The new leader's empty entry is committed everywhere.
            assert_eq!(net.log(id).committed(), 1, "n={n} member {id}");
        }
    }
}

#[test]
fn ticks_alone_elect_exactly_one_leader_within_two_timeouts() {
    for seed in 0..20 {
        let mut net = Network::with_config(3, |id| config(id, 3, seed));
        let mut ticks = 0;
        while net.leaders().is_empty() && ticks < 20 {
            net.tick_all(1);
            net.deliver_all();
            ticks += 1;
        }
        assert_eq!(net.leaders().len(), 1, "seed {seed}");
        assert!(
            ticks < 20,
            "seed {seed}: no leader within two election timeouts"
        );
    }
}

#[test]
fn pre_vote_stops_a_rejoining_member_from_inflating_its_term() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    net.isolate(3);
    for _ in 0..50 {
        net.tick(3);
        net.in_flight.clear();
    }
    // Its pre-votes never win, so its term never moved.
    assert_eq!(net.term(3), 1);
    assert_eq!(net.role(3), Role::PreCandidate);
    net.heal();
    net.tick_all(3);
    net.deliver_all();
    assert_eq!(net.leaders(), vec![1]);
    for id in 1..=3 {
        assert_eq!(net.term(id), 1, "member {id}");
    }
}

#[test]
fn without_pre_vote_the_rejoining_member_deposes_the_leader() {
    let mut net = Network::with_config(3, |id| {
        let mut c = config(id, 3, 7);
        c.pre_vote = false;
        c.check_quorum = false;
        c
    });
    elect(&mut net, 1);
    net.isolate(3);
    for _ in 0..50 {
        net.tick(3);
        net.in_flight.clear();
    }
    assert!(
        net.term(3) > 2,
        "a real election bumps the term each timeout"
    );
    net.heal();
    net.tick_all(20);
    net.deliver_all();
    assert!(net.term(1) > 2, "the higher term deposed the term-1 leader");
}

#[test]
fn check_quorum_makes_a_cut_off_leader_step_down() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    net.isolate(1);
    // The first check counts the contact made during the election itself (as etcd does), so
    // the leader steps down at the end of the first full timeout without any contact.
    for _ in 0..19 {
        net.tick(1);
    }
    assert_eq!(
        net.role(1),
        Role::Leader,
        "still within the second election timeout"
    );
    net.tick(1);
    assert_eq!(net.role(1), Role::Follower);
    assert_eq!(net.term(1), 1, "stepping down does not change the term");
}

#[test]
fn followers_reject_votes_while_the_leader_is_alive() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    // Member 3 times out alone (e.g. it lost a few heartbeats) and asks for votes.
    net.campaign(3);
    net.deliver_all();
    assert_eq!(net.leaders(), vec![1]);
    assert_eq!(net.term(3), 1);
}

#[test]
fn conflicting_uncommitted_entries_are_replaced() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    net.isolate(1);
    for v in 10..13 {
        assert!(net.propose(1, v));
    }
    net.deliver_all();
    assert_eq!(net.log(1).last_index(), 4);
    assert_eq!(
        net.log(1).committed(),
        1,
        "alone, the old leader commits nothing"
    );
    // The majority elects 2 after the lease on 1 expires and commits other entries.
    net.tick_all(20);
    net.deliver_all();
    elect_if_needed(&mut net, 2);
    let leader = net
        .leaders()
        .into_iter()
        .find(|&l| l != 1)
        .expect("majority leader");
    for v in 20..22 {
        net.propose(leader, v);
        net.deliver_all();
    }
    net.heal();
    net.tick_all(2);
    net.deliver_all();
    net.check_logs();
    let terms = net.log_terms(leader);
    for id in 1..=3 {
        assert_eq!(net.log_terms(id), terms, "member {id}");
        assert_eq!(net.m(id).state, vec![20, 21], "member {id}");
    }
}

fn elect_if_needed(net: &mut Network, id: u64) {
    if net.leaders().iter().all(|&l| l == 1) {
        net.campaign(id);
        net.deliver_all();
    }
}

/// Raft paper, Figure 8: an entry of an old term stored on a majority is not committed by
/// counting replicas, because a later leader may still overwrite it.
#[test]
fn figure_8_old_term_entry_on_a_majority_is_not_committed() {
    let mut net = Network::with_config(5, |id| {
        let mut c = config(id, 5, 7);
        c.pre_vote = false;
        c.check_quorum = false;
        c.max_entries_per_message = 1;
        c
    });
    // (a) S1 leads term 1 and replicates entry 2 to S2 only.
    elect(&mut net, 1);
    net.propose(1, 100);
    net.deliver_while(|m: &Msg| m.to == 2 || m.from == 2);
    assert_eq!(net.log_terms(2), vec![1, 1]);
    // (b) S1 crashes; S5 wins term 2 with S3 and S4, appends entry 2 of term 2, and crashes.
    net.isolate(1);
    net.campaign(5);
    net.deliver_while(|m: &Msg| m.kind != MessageType::Append);
    assert_eq!(net.role(5), Role::Leader);
    assert_eq!(net.log_terms(5), vec![1, 2]);
    // (c) S1 restarts and wins term 3 (S3 and S4 voted for S5 in term 2, so it takes two
    // tries); it replicates entry 2 to S3 and S4, but crashes before its own entry 3 gets out.
    net.heal();
    net.isolate(5);
    net.crash_restart(1);
    net.campaign(1);
    net.deliver_while(|m: &Msg| m.kind != MessageType::Append);
    net.campaign(1);
    // The first append to each follower (entry 3 after entry 2) is rejected by S3 and S4,
    // which lack entry 2; the retry carries entry 2 alone; later appends carry entry 3.
    let probed = RefCell::new(BTreeSet::new());
    net.deliver_while(|m: &Msg| {
        m.kind != MessageType::Append
            || (m.to != 2
                && (m.entries.iter().all(|e| e.index < 3) || probed.borrow_mut().insert(m.to)))
    });
    assert_eq!(net.role(1), Role::Leader);
    assert_eq!(net.term(1), 3);
    for id in 1..=4 {
        assert_eq!(
            net.log(id).term(2),
            Some(1),
            "entry 2 of term 1 is on S{id}"
        );
    }
    assert_eq!(
        net.log(1).committed(),
        1,
        "a majority holds entry 2, yet it is not committed"
    );
    // (d) S1 crashes; S5 wins term 4 and overwrites entry 2 everywhere.
    net.heal();
    net.isolate(1);
    net.crash_restart(5);
    for _ in 0..3 {
        if net.role(5) == Role::Leader {
            break;
        }
        net.campaign(5);
        net.deliver_all();
    }
    assert_eq!(net.role(5), Role::Leader);
    net.tick(5);
    net.deliver_all();
    for id in 2..=5 {
        assert_eq!(net.log(id).term(2), Some(2), "member {id}");
        assert!(
            !net.m(id).state.contains(&100),
            "member {id} applied an overwritten entry"
        );
    }
    net.check_logs();
}

#[test]
fn figure_8_leader_does_not_commit_old_term_entries_by_counting() {
    let mut net = Network::with_config(3, |id| {
        let mut c = config(id, 3, 7);
        c.pre_vote = false;
        c.check_quorum = false;
        c.max_entries_per_message = 1;
        c
    });
    elect(&mut net, 1);
    // Entry 2 of term 1 reaches only S1.
    net.isolate(1);
    net.propose(1, 100);
    net.in_flight.clear();
    net.heal();
    // S1 wins term 2 and appends entry 3; only appends carrying entry 2 get through.
    net.crash_restart(1);
    net.campaign(1);
    let probed = RefCell::new(BTreeSet::new());
    net.deliver_matching(|m: &Msg| {
        m.kind != MessageType::Append
            || m.entries.iter().all(|e| e.index < 3)
            || probed.borrow_mut().insert(m.to)
    });
    assert_eq!(net.role(1), Role::Leader);
    assert_eq!(net.log_terms(1), vec![1, 1, 2]);
    assert_eq!(net.log_terms(2), vec![1, 1]);
    assert_eq!(net.log_terms(3), vec![1, 1]);
    assert_eq!(
        net.log(1).committed(),
        1,
        "entry 2 is on every member but of an older term"
    );
    net.deliver_all();
    net.tick(1);
    net.deliver_all();
    assert_eq!(net.log(1).committed(), 3, "entry 3 of term 2 commits it");
}

#[test]
fn a_lagging_follower_catches_up_from_a_snapshot() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    net.isolate(3);
    for v in 0..10 {
        net.propose(1, v);
        net.deliver_all();
    }
    net.compact(1);
    assert_eq!(net.log(1).first_index(), 12);
    net.heal();
    net.tick(1);
    net.deliver_all();
    assert!(
        net.m(3).node.raft().snapshot().is_some(),
        "3 installed a snapshot"
    );
    assert_eq!(net.m(3).state, (0..10).collect::<Vec<_>>());
    assert_eq!(net.log(3).committed(), 11);
    net.propose(1, 99);
    net.deliver_all();
    assert_eq!(net.m(3).state.last(), Some(&99));
    // A restart after the snapshot keeps the state.
    net.crash_restart(3);
    net.tick(1);
    net.deliver_all();
    assert_eq!(net.m(3).state.len(), 11);
}

#[test]
fn read_index_on_a_follower_returns_the_leaders_commit_index() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    net.propose(1, 5);
    net.deliver_all();
    net.read_index(2, 42);
    net.deliver_all();
    let rs = &net.m(2).read_states;
    assert_eq!(rs.len(), 1);
    assert_eq!((rs[0].index, rs[0].context), (2, 42));
    net.read_index(1, 43);
    net.deliver_all();
    assert_eq!(
        net.m(1).read_states.last().map(|r| (r.index, r.context)),
        Some((2, 43))
    );
}

#[test]
fn read_index_needs_a_quorum_heartbeat_round() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    net.isolate(1);
    net.read_index(1, 7);
    net.deliver_all();
    assert!(
        net.m(1).read_states.is_empty(),
        "a cut-off leader cannot confirm its leadership"
    );
}

#[test]
fn read_index_waits_for_the_new_leaders_first_commit() {
    let mut net = Network::new(3);
    net.campaign(1);
    // Deliver the votes, but hold back the appends that would commit the empty entry.
    net.deliver_while(|m: &Msg| m.kind != MessageType::Append);
    assert_eq!(net.role(1), Role::Leader);
    net.read_index(1, 9);
    net.deliver_while(|m: &Msg| m.kind != MessageType::Append);
    assert!(
        net.m(1).read_states.is_empty(),
        "nothing of term 1 committed yet"
    );
    net.tick(1);
    net.deliver_all();
    assert_eq!(
        net.m(1)
            .read_states
            .iter()
            .map(|r| (r.index, r.context))
            .collect::<Vec<_>>(),
        vec![(1, 9)]
    );
}

#[test]
fn a_follower_forwards_proposals_to_the_leader() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    assert!(net.propose(3, 77));
    net.deliver_all();
    for id in 1..=3 {
        assert_eq!(net.m(id).state, vec![77]);
    }
}

#[test]
fn a_restarted_member_keeps_its_term_vote_and_log() {
    let mut net = Network::new(3);
    elect(&mut net, 1);
    net.propose(1, 1);
    net.deliver_all();
    let before = (net.hard_state(2), net.log_terms(2));
    net.crash_restart(2);
    assert_eq!((net.hard_state(2), net.log_terms(2)), before);
    assert_eq!(net.m(2).state, vec![1], "committed entries are re-applied");
}
