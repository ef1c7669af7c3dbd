//! The event queue, ordered by `(time, sequence number)`: a radix heap.
//!
//! The sequence number is assigned at push and only grows, so events due at the same instant
//! run in the order they were scheduled: that total order is what makes a run reproducible.
//!
//! A discrete-event queue is monotone (nothing is scheduled before the last event taken), which
//! is what a radix heap needs: an event sits in the bucket numbered by the highest bit in which
//! its time differs from the last time taken, and moves to a lower bucket only when every
//! earlier bucket is empty. Events with equal times always share a bucket and keep their push
//! order, so ties come out by sequence number without comparing it. Measured against
//! `std::collections::BinaryHeap` on 5,000 actors, pop was 40% of the run there (a
//! mispredicted branch per level of a 64-byte-entry heap); here it is a sequential scan.

use crate::time::Time;
use std::cell::Cell;
use std::collections::VecDeque;

struct Entry<E> {
    at: Time,
    seq: u64,
    event: E,
}

pub(crate) struct Queue<E> {
    /// Events due exactly at `last`, in sequence order.
    front: VecDeque<Entry<E>>,
    /// `buckets[i]` holds events whose time differs from `last` first in bit `i` (from 0).
    buckets: [Vec<Entry<E>>; 64],
    /// Bit `i` set when `buckets[i]` is not empty: the lowest one is found with one
    /// instruction instead of a scan of 64 vectors on every refill and peek.
    occupied: u64,
    /// The time of the last event taken (or refilled into `front`).
    last: Time,
    /// The lowest bucket's minimum `(time, seq)` when `front` is empty, found by a peek and
    /// kept (and lowered by pushes) until the next refill, so a peek followed by a pop scans
    /// the bucket once. A `Cell` so that `&self` peeks (`Sim::next_event_time`, asked before
    /// every step by the runner) fill it too.
    min_cache: Cell<Option<(Time, u64)>>,
    len: usize,
    next_seq: u64,
}

impl<E> Queue<E> {
    pub(crate) fn new() -> Self {
        Queue {
            front: VecDeque::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            last: Time::ZERO,
            min_cache: Cell::new(None),
            len: 0,
            next_seq: 0,
        }
    }

    /// Schedules `event` at `at`; a time before the last one taken is raised to it (the
    /// engine never asks for that: it is the queue's precondition, kept total rather than
    /// panicking).
    #[inline]
    pub(crate) fn push(&mut self, at: Time, event: E) {
        debug_assert!(
            at >= self.last,
            "scheduled in the past: {at} < {}",
            self.last
        );
        let at = at.max(self.last);
        let seq = self.take_seq();
        self.len += 1;
        // The cache describes the buckets only; an event due at `last` goes to `front`.
        if let Some(m) = self.min_cache.get()
            && at != self.last
            && (at, seq) < m
        {
            self.min_cache.set(Some((at, seq)));
        }
        self.place(Entry { at, seq, event });
    }

    #[inline]
    fn place(&mut self, e: Entry<E>) {
        let diff = e.at.as_nanos() ^ self.last.as_nanos();
        if diff == 0 {
            self.front.push_back(e);
        } else {
            let i = 63 - diff.leading_zeros() as usize;
            self.buckets[i].push(e);
            self.occupied |= 1 << i;
        }
    }

    /// The lowest non-empty bucket.
    #[inline]
    fn lowest(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize)
    }

    /// Makes `front` hold the earliest events, if there are any.
    #[inline]
    fn refill(&mut self) {
        if !self.front.is_empty() {
            return;
        }
        let Some(i) = self.lowest() else {
            return;
        };
        let mut bucket = std::mem::take(&mut self.buckets[i]);
        self.occupied &= !(1 << i);
        let min = match self.min_cache.take() {
            Some((t, _)) => Some(t),
            None => bucket.iter().map(|e| e.at).min(),
        };
        if let Some(min) = min {
            self.last = min;
        }
        for e in bucket.drain(..) {
            self.place(e);
        }
        // Keep the allocation: this bucket will fill again.
        if self.buckets[i].is_empty() {
            self.buckets[i] = bucket;
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(Time, E)> {
        self.refill();
        let e = self.front.pop_front()?;
        self.len -= 1;
        Some((e.at, e.event))
    }

    /// The earliest event's `(time, sequence number)`, without taking it: a scan of the lowest
    /// bucket when `front` is empty. Peeking must not move `last` forward: the engine may
    /// still schedule something between now and the earliest event (a timer may come first,
    /// or `run_until` may stop short of it).
    #[inline]
    pub(crate) fn peek_key(&mut self) -> Option<(Time, u64)> {
        if let Some(e) = self.front.front() {
            return Some((e.at, e.seq));
        }
        self.bucket_min()
    }

    /// [`Queue::peek_key`]'s time (for `&self` callers).
    #[inline]
    pub(crate) fn peek_time(&self) -> Option<Time> {
        if let Some(e) = self.front.front() {
            return Some(e.at);
        }
        self.bucket_min().map(|(t, _)| t)
    }

    /// The lowest bucket's minimum `(time, seq)`, cached until the next refill.
    #[inline]
    fn bucket_min(&self) -> Option<(Time, u64)> {
        if self.min_cache.get().is_none() {
            let b = &self.buckets[self.lowest()?];
            self.min_cache.set(b.iter().map(|e| (e.at, e.seq)).min());
        }
        self.min_cache.get()
    }

    /// Hands out a sequence number for something ordered with the queue's events (a timer).
    #[inline]
    pub(crate) fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Releases spare capacity (after a burst, e.g. 100,000 actors starting at once).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.front.shrink_to_fit();
        for b in &mut self.buckets {
            b.shrink_to_fit();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SimRng;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = Queue::new();
        q.push(Time::from_nanos(5), "b");
        q.push(Time::from_nanos(1), "a");
        q.push(Time::from_nanos(5), "c");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    /// Against a sorted list as the oracle: random pushes (never before the last pop, often
    /// equal times) interleaved with pops.
    #[test]
    fn matches_a_sorted_oracle() {
        let mut rng = SimRng::fork(1, "queue");
        for round in 0..50 {
            let mut q = Queue::new();
            let mut oracle: Vec<(Time, u64)> = Vec::new();
            let mut now = Time::ZERO;
            let mut seq = 0u64;
            for _ in 0..2000 {
                if rng.chance(0.55) {
                    let spread = [0, 3, 1000, 1 << 20, 1 << 40][rng.below(5) as usize];
                    let at = Time::from_nanos(now.as_nanos() + rng.below(spread + 1));
                    q.push(at, seq);
                    oracle.push((at, seq));
                    seq += 1;
                } else {
                    oracle.sort();
                    let want = if oracle.is_empty() {
                        None
                    } else {
                        Some(oracle.remove(0))
                    };
                    assert_eq!(
                        q.peek_key().map(|k| k.0),
                        want.map(|w| w.0),
                        "round {round}"
                    );
                    let got = q.pop();
                    assert_eq!(got, want, "round {round}");
                    if let Some((t, _)) = got {
                        now = t;
                    }
                }
                assert_eq!(q.len(), oracle.len());
            }
        }
    }
}
