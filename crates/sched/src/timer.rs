//! A queue of deadlines: what a tickless kernel arms its one-shot timer with.
//!
//! [`TimerQueue`] holds events (a sleeping thread to wake, a futex wait to time out, an
//! interval timer to fire) ordered by deadline. The kernel arms the hardware timer for
//! [`TimerQueue::next_deadline`] and, when it fires, takes [`TimerQueue::expired`] events.
//! Cancelling is O(log n) by the [`TimerId`] that insertion returned, so a waiter woken early
//! (by a futex wake, a signal) removes its timeout cheaply.
//!
//! Time is whatever monotonic unit the caller uses (oxv: nanoseconds since boot); the queue
//! never reads a clock.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Names one inserted event, for cancelling it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    deadline: u64,
    seq: u64,
}

impl TimerId {
    /// When the event fires.
    pub fn deadline(self) -> u64 {
        self.deadline
    }
}

/// Events ordered by deadline; events with equal deadlines fire in insertion order.
#[derive(Debug)]
pub struct TimerQueue<E> {
    events: BTreeMap<TimerId, E>,
    next_seq: u64,
}

impl<E> Default for TimerQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> TimerQueue<E> {
    /// An empty queue.
    pub const fn new() -> Self {
        TimerQueue {
            events: BTreeMap::new(),
            next_seq: 0,
        }
    }

    /// Adds `event` to fire at `deadline`.
    pub fn insert(&mut self, deadline: u64, event: E) -> TimerId {
        let id = TimerId {
            deadline,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.events.insert(id, event);
        id
    }

    /// Removes an event that has not fired; `None` if it already fired or was cancelled.
    pub fn cancel(&mut self, id: TimerId) -> Option<E> {
        self.events.remove(&id)
    }

    /// The earliest deadline, if any event is queued.
    pub fn next_deadline(&self) -> Option<u64> {
        self.events.keys().next().map(|id| id.deadline)
    }

    /// Removes and returns every event due at `now` (deadline `<= now`), earliest first.
    pub fn expired(&mut self, now: u64) -> Vec<E> {
        let mut out = Vec::new();
        while let Some(entry) = self.events.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            out.push(entry.remove());
        }
        out
    }

    /// How many events are queued.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is queued.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_then_insertion_order() {
        let mut q = TimerQueue::new();
        q.insert(30, "c");
        q.insert(10, "a");
        q.insert(10, "b");
        q.insert(50, "d");
        assert_eq!(q.next_deadline(), Some(10));
        assert_eq!(q.expired(9), Vec::<&str>::new());
        assert_eq!(q.expired(30), ["a", "b", "c"]);
        assert_eq!(q.next_deadline(), Some(50));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn cancel_removes_only_that_event() {
        let mut q = TimerQueue::new();
        let a = q.insert(10, 1);
        let b = q.insert(10, 2);
        assert_eq!(q.cancel(a), Some(1));
        assert_eq!(q.cancel(a), None, "already cancelled");
        assert_eq!(q.expired(100), [2]);
        assert_eq!(q.cancel(b), None, "already fired");
        assert!(q.is_empty() && q.next_deadline().is_none());
    }

    #[test]
    fn randomized_against_a_sorted_model() {
        let mut q = TimerQueue::new();
        let mut model: Vec<(u64, u64, TimerId)> = Vec::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut now = 0;
        for step in 0..2000u64 {
            match rnd() % 4 {
                0 | 1 => {
                    let d = now + rnd() % 100;
                    let id = q.insert(d, step);
                    model.push((d, step, id));
                }
                2 if !model.is_empty() => {
                    let i = (rnd() as usize) % model.len();
                    let (_, v, id) = model.remove(i);
                    assert_eq!(q.cancel(id), Some(v));
                }
                _ => {
                    now += rnd() % 50;
                    model.sort_by_key(|&(d, s, _)| (d, s));
                    let due: Vec<u64> = model.iter().filter(|m| m.0 <= now).map(|m| m.1).collect();
                    model.retain(|m| m.0 > now);
                    assert_eq!(q.expired(now), due);
                }
            }
            assert_eq!(q.len(), model.len());
        }
    }
}
