//! The rate-limited, delaying work queue controllers pull keys from.
//!
//! Follows client-go `util/workqueue` (`queue.go`, `delaying_queue.go`,
//! `rate_limiting_queue.go`):
//! - a key is queued at most once (`dirty` set); FIFO order among queued keys;
//! - a key being processed (`get` returned it, `done` not yet called) is never handed out
//!   again; adding it meanwhile marks it dirty and it is requeued by `done`;
//! - `add_after` keeps delayed keys ordered by ready time (an item already waiting keeps the
//!   earlier of its two ready times, as `waitingForQueue` does);
//! - `add_rate_limited` delays by the rate limiter; `forget` and `num_requeues` pass through;
//! - after `shut_down`, adds are ignored and `get` drains what is queued.
//!
//! Differences, because an actor cannot block: `get` returns `None` instead of waiting, and the
//! delaying heap has no goroutine — the owner calls [`WorkQueue::advance`] with its clock
//! (from a timer armed at [`WorkQueue::next_ready_at`]). The queue is bounded: past
//! `max_queued` distinct keys (queued plus waiting), adds fail with [`QueueFull`] so the
//! owner can log and drop them; level-based reconcilers recover at the next resync.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sim::{Duration, Time};
use thiserror::Error;

use crate::rate_limiter::{DefaultControllerRateLimiter, RateLimiter};

/// Distinct keys a queue holds by default (queued or waiting): far above any scenario's
/// object count per controller (150,000 pods) without letting a bug grow memory for ever.
pub const DEFAULT_MAX_QUEUED: usize = 1 << 20;

/// The queue already holds its maximum number of distinct keys.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("work queue full: {max} distinct keys already queued or waiting")]
pub struct QueueFull {
    pub max: usize,
}

/// A deduplicating FIFO with delayed and rate-limited adds.
#[derive(Clone, Debug)]
pub struct WorkQueue<T, R = DefaultControllerRateLimiter<T>> {
    queue: VecDeque<T>,
    /// Keys that need processing: queued, or re-added while processing.
    dirty: BTreeSet<T>,
    processing: BTreeSet<T>,
    /// Delayed keys by (ready time, insertion sequence), and each key's slot there.
    waiting: BTreeMap<(Time, u64), T>,
    waiting_at: BTreeMap<T, (Time, u64)>,
    next_seq: u64,
    limiter: R,
    shutting_down: bool,
    max_queued: usize,
}

impl<T: Ord + Clone> WorkQueue<T, DefaultControllerRateLimiter<T>> {
    /// A queue with client-go's default controller rate limiter.
    pub fn new() -> Self {
        WorkQueue::with_limiter(DefaultControllerRateLimiter::new())
    }
}

impl<T: Ord + Clone> Default for WorkQueue<T, DefaultControllerRateLimiter<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Ord + Clone, R: RateLimiter<T>> WorkQueue<T, R> {
    pub fn with_limiter(limiter: R) -> Self {
        WorkQueue {
            queue: VecDeque::new(),
            dirty: BTreeSet::new(),
            processing: BTreeSet::new(),
            waiting: BTreeMap::new(),
            waiting_at: BTreeMap::new(),
            next_seq: 0,
            limiter,
            shutting_down: false,
            max_queued: DEFAULT_MAX_QUEUED,
        }
    }

    /// Changes the bound on distinct keys (at least 1).
    pub fn with_max_queued(mut self, max: usize) -> Self {
        self.max_queued = max.max(1);
        self
    }

    /// Marks `item` as needing processing. Idempotent while it is queued.
    pub fn add(&mut self, item: T) -> Result<(), QueueFull> {
        if self.shutting_down || self.dirty.contains(&item) {
            return Ok(());
        }
        if self.dirty.len() + self.waiting_at.len() >= self.max_queued {
            return Err(QueueFull {
                max: self.max_queued,
            });
        }
        if !self.processing.contains(&item) {
            self.queue.push_back(item.clone());
        }
        self.dirty.insert(item);
        debug_assert!(self.queue.len() <= self.dirty.len());
        Ok(())
    }

    /// Adds `item` once `delay` has passed after `now` (at once when `delay` is zero).
    pub fn add_after(&mut self, item: T, delay: Duration, now: Time) -> Result<(), QueueFull> {
        if self.shutting_down {
            return Ok(());
        }
        if delay == Duration::ZERO {
            return self.add(item);
        }
        let ready = now.saturating_add(delay);
        if let Some(&slot) = self.waiting_at.get(&item) {
            if ready < slot.0 {
                self.waiting.remove(&slot);
                self.insert_waiting(item, ready);
            }
            return Ok(());
        }
        if self.dirty.len() + self.waiting_at.len() >= self.max_queued {
            return Err(QueueFull {
                max: self.max_queued,
            });
        }
        self.insert_waiting(item, ready);
        Ok(())
    }

    fn insert_waiting(&mut self, item: T, ready: Time) {
        let slot = (ready, self.next_seq);
        self.next_seq += 1;
        self.waiting.insert(slot, item.clone());
        self.waiting_at.insert(item, slot);
    }

    /// Adds `item` after the rate limiter's delay for it.
    pub fn add_rate_limited(&mut self, item: T, now: Time) -> Result<(), QueueFull> {
        let delay = self.limiter.when(&item, now);
        self.add_after(item, delay, now)
    }

    /// Moves every delayed key whose time has come into the queue, in ready-time order.
    /// Returns how many moved.
    pub fn advance(&mut self, now: Time) -> usize {
        let mut moved = 0;
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let item = entry.remove();
            self.waiting_at.remove(&item);
            // Room was reserved when it started waiting, so this add cannot overflow.
            let _ = self.add(item);
            moved += 1;
        }
        moved
    }

    /// When the earliest delayed key becomes ready: arm a timer for it.
    pub fn next_ready_at(&self) -> Option<Time> {
        self.waiting.keys().next().map(|(t, _)| *t)
    }

    /// The next key to process, marked as processing; `None` when nothing is queued.
    pub fn get(&mut self) -> Option<T> {
        let item = self.queue.pop_front()?;
        self.dirty.remove(&item);
        self.processing.insert(item.clone());
        Some(item)
    }

    /// Processing of `item` finished; if it was re-added meanwhile it is queued again.
    pub fn done(&mut self, item: &T) {
        if self.processing.remove(item) && self.dirty.contains(item) {
            self.queue.push_back(item.clone());
        }
    }

    /// The item succeeded: reset its backoff.
    pub fn forget(&mut self, item: &T) {
        self.limiter.forget(item);
    }

    pub fn num_requeues(&self, item: &T) -> u32 {
        self.limiter.num_requeues(item)
    }

    /// Stops accepting adds and drops delayed keys; queued keys can still be drained.
    pub fn shut_down(&mut self) {
        self.shutting_down = true;
        self.waiting.clear();
        self.waiting_at.clear();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// Keys ready to be handed out.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Keys being processed.
    pub fn processing_len(&self) -> usize {
        self.processing.len()
    }

    /// Keys waiting for their delay.
    pub fn waiting_len(&self) -> usize {
        self.waiting_at.len()
    }

    pub fn limiter(&self) -> &R {
        &self.limiter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limiter::ItemExponentialFailureRateLimiter;

    fn q() -> WorkQueue<&'static str> {
        WorkQueue::new()
    }

    #[test]
    fn dedups_and_keeps_fifo_order() {
        let mut q = q();
        for k in ["b", "a", "b", "c", "a"] {
            q.add(k).unwrap();
        }
        assert_eq!(q.len(), 3);
        let order: Vec<_> = std::iter::from_fn(|| q.get()).collect();
        assert_eq!(order, ["b", "a", "c"]);
    }

    /// Scripted: (op, key, expected `get` result or queue length after).
    #[test]
    fn a_key_is_never_processed_twice_at_once() {
        let mut q = q();
        q.add("x").unwrap();
        assert_eq!(q.get(), Some("x"));
        // Re-added while processing: marked dirty, not handed out again yet.
        q.add("x").unwrap();
        q.add("x").unwrap();
        assert_eq!(q.len(), 0);
        assert_eq!(q.get(), None);
        q.done(&"x");
        assert_eq!(q.len(), 1);
        assert_eq!(q.get(), Some("x"));
        q.done(&"x");
        assert_eq!(q.get(), None);
        assert_eq!(q.processing_len(), 0);
    }

    #[test]
    fn delayed_adds_come_out_in_ready_order_and_keep_the_earliest_time() {
        let mut q = q();
        let t0 = Time::from_secs(100);
        let s = Duration::from_secs;
        q.add_after("late", s(5), t0).unwrap();
        q.add_after("early", s(1), t0).unwrap();
        q.add_after("mid", s(3), t0).unwrap();
        // A second, later add_after does not postpone; an earlier one brings it forward.
        q.add_after("early", s(9), t0).unwrap();
        q.add_after("late", s(2), t0).unwrap();
        assert_eq!(q.waiting_len(), 3);
        assert_eq!(q.next_ready_at(), Some(t0.saturating_add(s(1))));
        assert_eq!(q.advance(t0.saturating_add(s(1))), 1);
        assert_eq!(q.advance(t0.saturating_add(s(10))), 2);
        let order: Vec<_> = std::iter::from_fn(|| q.get()).collect();
        assert_eq!(order, ["early", "late", "mid"]);
        assert_eq!(q.next_ready_at(), None);
    }

    #[test]
    fn zero_delay_adds_at_once() {
        let mut q = q();
        q.add_after("k", Duration::ZERO, Time::ZERO).unwrap();
        assert_eq!(q.get(), Some("k"));
    }

    #[test]
    fn rate_limited_adds_back_off_until_forgotten() {
        let limiter = ItemExponentialFailureRateLimiter::new(
            Duration::from_millis(5),
            Duration::from_secs(1),
        );
        let mut q: WorkQueue<&str, _> = WorkQueue::with_limiter(limiter);
        let mut now = Time::ZERO;
        let mut delays = Vec::new();
        for _ in 0..4 {
            q.add_rate_limited("k", now).unwrap();
            let ready = q.next_ready_at().unwrap();
            delays.push(ready.saturating_since(now).as_millis());
            now = ready;
            q.advance(now);
            let k = q.get().unwrap();
            q.done(&k);
        }
        assert_eq!(delays, [5, 10, 20, 40]);
        assert_eq!(q.num_requeues(&"k"), 4);
        q.forget(&"k");
        assert_eq!(q.num_requeues(&"k"), 0);
    }

    #[test]
    fn shut_down_drains_and_ignores_adds() {
        let mut q = q();
        q.add("a").unwrap();
        q.add_after("b", Duration::from_secs(1), Time::ZERO)
            .unwrap();
        q.shut_down();
        q.add("c").unwrap();
        assert_eq!(q.advance(Time::from_secs(5)), 0);
        assert_eq!(q.get(), Some("a"));
        assert_eq!(q.get(), None);
        assert!(q.is_shutting_down());
    }

    #[test]
    fn bounded() {
        let mut q: WorkQueue<u32> = WorkQueue::new().with_max_queued(2);
        q.add(1).unwrap();
        q.add_after(2, Duration::from_secs(1), Time::ZERO).unwrap();
        assert_eq!(q.add(3), Err(QueueFull { max: 2 }));
        assert_eq!(
            q.add_after(4, Duration::from_secs(1), Time::ZERO),
            Err(QueueFull { max: 2 })
        );
        // Re-adding a key already held is not a new key.
        assert_eq!(q.add(1), Ok(()));
        assert_eq!(q.get(), Some(1));
        q.add(3).unwrap();
    }
}
