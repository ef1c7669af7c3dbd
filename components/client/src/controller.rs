//! What a reconcile returns and how the work queue treats it: the end of client-go's
//! `processNextWorkItem` (`Forget` on success, `AddRateLimited` on error, `Done` always), with
//! kube-rs's `Action` (`kube-runtime/src/controller/mod.rs`) to ask for a look again later.
//!
//! Reconcile is level-based: it reads the current state from listers for the key it is given
//! and never trusts that it saw every event; requeueing is the only memory between calls.

use sim::{Duration, Time};

use crate::rate_limiter::RateLimiter;
use crate::workqueue::{QueueFull, WorkQueue};

/// When to reconcile this key again, absent any change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Only when an informer event queues it again.
    AwaitChange,
    /// After this long (e.g. a Deployment's progress deadline).
    RequeueAfter(Duration),
}

/// How a reconcile ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Succeeded; the key's backoff was reset.
    Done(Action),
    /// Failed; retried after the rate limiter's delay.
    Retry { requeues: u32 },
    /// Failed `max_retries` times; dropped until an event queues it again (client-go
    /// controllers' `maxRetries`, 15 for most).
    Dropped,
}

/// Finishes processing `key` after a reconcile: requeue as asked, back off on error, and
/// release the key (`Done`). `max_retries` of `None` retries for ever.
pub fn finish<T, R, E>(
    queue: &mut WorkQueue<T, R>,
    key: T,
    result: &Result<Action, E>,
    max_retries: Option<u32>,
    now: Time,
) -> Result<Outcome, QueueFull>
where
    T: Ord + Clone,
    R: RateLimiter<T>,
{
    let outcome = match result {
        Ok(action) => {
            queue.forget(&key);
            if let Action::RequeueAfter(d) = action {
                queue.add_after(key.clone(), *d, now)?;
            }
            Outcome::Done(*action)
        }
        Err(_) if max_retries.is_some_and(|m| queue.num_requeues(&key) >= m) => {
            queue.forget(&key);
            Outcome::Dropped
        }
        Err(_) => {
            queue.add_rate_limited(key.clone(), now)?;
            Outcome::Retry {
                requeues: queue.num_requeues(&key),
            }
        }
    };
    queue.done(&key);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_process_next_work_item() {
        let mut q: WorkQueue<&str> = WorkQueue::new();
        let now = Time::from_secs(1);
        let fail: Result<Action, ()> = Err(());
        // (result, expected outcome, queued now, waiting)
        q.add("k").unwrap();
        let k = q.get().unwrap();
        assert_eq!(
            finish(&mut q, k, &fail, Some(2), now),
            Ok(Outcome::Retry { requeues: 1 })
        );
        assert_eq!((q.len(), q.waiting_len()), (0, 1));
        q.advance(Time::from_secs(2));
        let k = q.get().unwrap();
        assert_eq!(
            finish(&mut q, k, &fail, Some(2), now),
            Ok(Outcome::Retry { requeues: 2 })
        );
        q.advance(Time::from_secs(3));
        let k = q.get().unwrap();
        assert_eq!(finish(&mut q, k, &fail, Some(2), now), Ok(Outcome::Dropped));
        assert_eq!((q.len(), q.waiting_len(), q.num_requeues(&"k")), (0, 0, 0));

        q.add("k").unwrap();
        let k = q.get().unwrap();
        let later = Ok::<_, ()>(Action::RequeueAfter(Duration::from_secs(10)));
        assert_eq!(
            finish(&mut q, k, &later, None, now),
            Ok(Outcome::Done(Action::RequeueAfter(Duration::from_secs(10))))
        );
        assert_eq!(q.next_ready_at(), Some(Time::from_secs(11)));
        assert_eq!(q.processing_len(), 0);
    }
}
