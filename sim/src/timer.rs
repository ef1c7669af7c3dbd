//! The timer table: lazy cancellation by generation.
//!
//! A timer owns a slot while it is pending. The queued event carries the slot and the slot's
//! generation at the time it was set; cancelling (or firing) bumps the generation and frees the
//! slot, so a cancelled timer's event is recognised as stale when it pops and nothing is ever
//! searched for or removed from the heap. Memory is proportional to pending timers.

use crate::ids::TimerId;

#[derive(Clone, Copy)]
struct Slot {
    generation: u32,
    tag: u64,
}

#[derive(Default)]
pub(crate) struct Timers {
    slots: Vec<Slot>,
    free: Vec<u32>,
    pub(crate) pending: usize,
}

impl Timers {
    pub(crate) fn alloc(&mut self, tag: u64) -> TimerId {
        self.pending += 1;
        if let Some(slot) = self.free.pop() {
            let s = &mut self.slots[slot as usize];
            s.tag = tag;
            return TimerId {
                slot,
                generation: s.generation,
            };
        }
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(Slot { generation: 0, tag });
        TimerId {
            slot,
            generation: 0,
        }
    }

    /// Frees the slot if `id` is still pending there; returns its tag.
    pub(crate) fn take(&mut self, id: TimerId) -> Option<u64> {
        let s = self.slots.get_mut(id.slot as usize)?;
        if s.generation != id.generation {
            return None;
        }
        s.generation = s.generation.wrapping_add(1);
        self.free.push(id.slot);
        self.pending -= 1;
        Some(s.tag)
    }

    /// Whether `id` is still pending.
    pub(crate) fn is_pending(&self, id: TimerId) -> bool {
        self.slots
            .get(id.slot as usize)
            .is_some_and(|s| s.generation == id.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_timer_is_stale_even_after_its_slot_is_reused() {
        let mut t = Timers::default();
        let a = t.alloc(1);
        assert_eq!(t.take(a), Some(1));
        let b = t.alloc(2);
        assert_eq!(a.slot, b.slot);
        assert_eq!(t.take(a), None);
        assert!(t.is_pending(b));
        assert_eq!(t.take(b), Some(2));
        assert_eq!(t.pending, 0);
    }
}
