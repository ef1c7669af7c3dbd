//! Rate limiters for work queues: how long an item waits before it is retried.
//!
//! Follows client-go `util/workqueue/default_rate_limiters.go`:
//! - [`ItemExponentialFailureRateLimiter`]: per-item backoff `base * 2^failures`, capped;
//!   `forget` resets the item (`NewItemExponentialFailureRateLimiter`).
//! - [`BucketRateLimiter`]: one token bucket over all items (`golang.org/x/time/rate`'s
//!   `Limiter.Reserve().Delay()`): every call takes a token, and waits when the bucket is empty.
//! - [`DefaultControllerRateLimiter`]: the max of both, with client-go's numbers (5 ms base,
//!   1000 s cap; 10 qps, burst 100) — what `DefaultTypedControllerRateLimiter` builds.
//!
//! Time is passed in (virtual, the caller's host clock); the token bucket is kept in integer
//! nanoseconds ("nanoseconds worth of tokens") so that no float rounding enters a simulation.

use std::collections::BTreeMap;

use sim::{Duration, Time};

/// Decides how long `item` waits before its next attempt.
pub trait RateLimiter<T> {
    /// The delay for this attempt; counts the attempt as a failure (or takes a token).
    fn when(&mut self, item: &T, now: Time) -> Duration;
    /// Stops tracking `item` (it succeeded): its backoff starts over.
    fn forget(&mut self, item: &T);
    /// How many failures `item` has had since it was last forgotten.
    fn num_requeues(&self, item: &T) -> u32;
}

/// Per-item exponential backoff: `base * 2^n` for the n-th failure (from 0), at most `max`.
#[derive(Clone, Debug)]
pub struct ItemExponentialFailureRateLimiter<T> {
    base: Duration,
    max: Duration,
    failures: BTreeMap<T, u32>,
}

impl<T: Ord + Clone> ItemExponentialFailureRateLimiter<T> {
    pub fn new(base: Duration, max: Duration) -> Self {
        ItemExponentialFailureRateLimiter {
            base,
            max,
            failures: BTreeMap::new(),
        }
    }

    /// Items with a failure count (bounded by the work queue's key space).
    pub fn tracked(&self) -> usize {
        self.failures.len()
    }
}

impl<T: Ord + Clone> RateLimiter<T> for ItemExponentialFailureRateLimiter<T> {
    fn when(&mut self, item: &T, _now: Time) -> Duration {
        let n = self.failures.entry(item.clone()).or_insert(0);
        let exp = *n;
        *n = n.saturating_add(1);
        // 2^63 ns already exceeds any cap; past that the shift would overflow.
        if exp >= 63 {
            return self.max;
        }
        let backoff = self.base.as_nanos().saturating_mul(1u64 << exp);
        Duration::from_nanos(backoff.min(self.max.as_nanos()))
    }

    fn forget(&mut self, item: &T) {
        self.failures.remove(item);
    }

    fn num_requeues(&self, item: &T) -> u32 {
        self.failures.get(item).copied().unwrap_or(0)
    }
}

/// A token bucket over all items: `qps` tokens per second, at most `burst` stored.
#[derive(Clone, Debug)]
pub struct BucketRateLimiter {
    /// Nanoseconds per token.
    interval_ns: i128,
    capacity_ns: i128,
    /// Tokens in the bucket, as nanoseconds' worth of refill; negative when reservations are
    /// queued ahead (x/time/rate lets tokens go negative for reservations).
    tokens_ns: i128,
    last: Time,
}

impl BucketRateLimiter {
    /// A full bucket. `qps` of 0 is treated as 1 (a limiter that never refills would park
    /// items for ever).
    pub fn new(qps: u32, burst: u32) -> Self {
        let interval_ns = 1_000_000_000i128 / i128::from(qps.max(1));
        let capacity_ns = interval_ns * i128::from(burst.max(1));
        BucketRateLimiter {
            interval_ns,
            capacity_ns,
            tokens_ns: capacity_ns,
            last: Time::ZERO,
        }
    }

    /// Takes one token at `now` and returns how long the caller must wait for it.
    pub fn reserve(&mut self, now: Time) -> Duration {
        // A clock that stepped back (skew fault) neither refills nor drains the bucket.
        if now > self.last {
            let elapsed = i128::from(now.saturating_since(self.last).as_nanos());
            self.tokens_ns = (self.tokens_ns + elapsed).min(self.capacity_ns);
            self.last = now;
        }
        self.tokens_ns -= self.interval_ns;
        if self.tokens_ns >= 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(u64::try_from(-self.tokens_ns).unwrap_or(u64::MAX))
        }
    }
}

impl<T> RateLimiter<T> for BucketRateLimiter {
    fn when(&mut self, _item: &T, now: Time) -> Duration {
        self.reserve(now)
    }
    fn forget(&mut self, _item: &T) {}
    fn num_requeues(&self, _item: &T) -> u32 {
        0
    }
}

/// client-go's default controller limiter: the longer of per-item backoff and the bucket.
#[derive(Clone, Debug)]
pub struct DefaultControllerRateLimiter<T> {
    pub item: ItemExponentialFailureRateLimiter<T>,
    pub bucket: BucketRateLimiter,
}

impl<T: Ord + Clone> DefaultControllerRateLimiter<T> {
    /// 5 ms doubling to 1000 s per item; 10 qps with a burst of 100 overall.
    pub fn new() -> Self {
        DefaultControllerRateLimiter {
            item: ItemExponentialFailureRateLimiter::new(
                Duration::from_millis(5),
                Duration::from_secs(1000),
            ),
            bucket: BucketRateLimiter::new(10, 100),
        }
    }
}

impl<T: Ord + Clone> Default for DefaultControllerRateLimiter<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Ord + Clone> RateLimiter<T> for DefaultControllerRateLimiter<T> {
    fn when(&mut self, item: &T, now: Time) -> Duration {
        // Both are consulted every time (as MaxOfRateLimiter does): the bucket's token is
        // spent even when the item's backoff is the longer wait.
        let a = self.item.when(item, now);
        let b = self.bucket.reserve(now);
        a.max(b)
    }
    fn forget(&mut self, item: &T) {
        self.item.forget(item);
    }
    fn num_requeues(&self, item: &T) -> u32 {
        self.item.num_requeues(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn exponential_backoff_doubles_caps_and_forgets() {
        let mut rl = ItemExponentialFailureRateLimiter::new(ms(5), Duration::from_secs(1000));
        let now = Time::ZERO;
        let table: &[(&str, Duration)] = &[
            ("a", ms(5)),
            ("a", ms(10)),
            ("b", ms(5)),
            ("a", ms(20)),
            ("a", ms(40)),
        ];
        for (i, (item, want)) in table.iter().enumerate() {
            assert_eq!(rl.when(&item.to_string(), now), *want, "row {i}");
        }
        assert_eq!(rl.num_requeues(&"a".to_string()), 4);
        rl.forget(&"a".to_string());
        assert_eq!(rl.num_requeues(&"a".to_string()), 0);
        assert_eq!(rl.when(&"a".to_string(), now), ms(5));
        // 5 ms * 2^18 = 1310.72 s > 1000 s: capped from the 19th failure on, and for ever.
        let mut last = Duration::ZERO;
        for _ in 0..100 {
            last = rl.when(&"c".to_string(), now);
        }
        assert_eq!(last, Duration::from_secs(1000));
    }

    #[test]
    fn bucket_allows_burst_then_paces_at_qps() {
        let mut b = BucketRateLimiter::new(10, 100);
        let t0 = Time::from_secs(1);
        for i in 0..100 {
            assert_eq!(b.reserve(t0), Duration::ZERO, "burst token {i}");
        }
        // The 101st waits one interval, the 102nd two: reservations queue up.
        assert_eq!(b.reserve(t0), ms(100));
        assert_eq!(b.reserve(t0), ms(200));
        // 1 s later 10 tokens came back; 2 were already owed.
        let t1 = t0.saturating_add(Duration::from_secs(1));
        for _ in 0..8 {
            assert_eq!(b.reserve(t1), Duration::ZERO);
        }
        assert_eq!(b.reserve(t1), ms(100));
    }

    #[test]
    fn default_limiter_takes_the_longer_wait() {
        let mut rl = DefaultControllerRateLimiter::<String>::new();
        let now = Time::from_secs(10);
        let k = "ns/a".to_string();
        assert_eq!(rl.when(&k, now), ms(5));
        assert_eq!(rl.when(&k, now), ms(10));
        // Drain the bucket with other items: its wait then exceeds a fresh item's 5 ms.
        for i in 0..98 {
            rl.when(&format!("ns/x{i}"), now);
        }
        assert_eq!(rl.when(&"ns/fresh".to_string(), now), ms(100));
        assert_eq!(rl.num_requeues(&k), 2);
        rl.forget(&k);
        assert_eq!(rl.num_requeues(&k), 0);
    }
}
