//! The futex table: who waits on which futex word, for futex(2).
//!
//! A [`FutexKey`] names a word: for a private futex (or a word in private memory), its
//! address space and user address; for a shared futex in shared memory, where every process
//! mapping it must meet, its physical address. Each key has a FIFO of waiters, each with the
//! bitset it waits for (`FUTEX_BITSET_MATCH_ANY` for plain `FUTEX_WAIT`). The table holds no
//! memory and reads no user word: the syscall layer compares the word, then enqueues, under
//! the same lock as wakers, which is what makes `FUTEX_WAIT` atomic with respect to wakes.
//!
//! Semantics follow futex(2): wakes take waiters in FIFO order among those whose bitset
//! intersects the waker's; requeue moves waiters (keeping their order) from one key to another.
//! A futex_waitv(2) waiter is queued on several keys at once and removes itself from the
//! others ([`FutexTable::remove_from`]) once one wake took it. PI futexes keep their owners
//! and waiters apart, in [`pi::PiTable`] (see [`pi`]).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

pub mod pi;

/// `FUTEX_BITSET_MATCH_ANY`.
pub const MATCH_ANY: u32 = u32::MAX;

/// Which futex word a waiter waits on. The embedder picks the identity of an address space
/// (`space`, e.g. its address in kernel memory) and reserves one value for physical keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FutexKey {
    /// The address space, or the embedder's marker for physical keys.
    pub space: u64,
    /// The word's user address, or its physical address.
    pub offset: u64,
}

/// A key in address space 0 (tests and single-address-space embedders).
impl From<u64> for FutexKey {
    fn from(offset: u64) -> FutexKey {
        FutexKey { space: 0, offset }
    }
}

#[derive(Debug)]
struct Waiter<T> {
    who: T,
    bitset: u32,
    /// For a `FUTEX_WAIT_REQUEUE_PI` waiter, the PI futex it expects to be requeued to.
    requeue_pi: Option<FutexKey>,
}

/// Waiters per futex key.
#[derive(Debug)]
pub struct FutexTable<T> {
    queues: BTreeMap<FutexKey, VecDeque<Waiter<T>>>,
    /// How many `FUTEX_WAIT_REQUEUE_PI` waiters are queued (0: no lookup needed).
    requeue_pi_waiters: usize,
    /// The PI futexes with waiters.
    pub pi: pi::PiTable<T>,
}

impl<T> Default for FutexTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> FutexTable<T> {
    /// An empty table.
    pub const fn new() -> Self {
        FutexTable {
            queues: BTreeMap::new(),
            requeue_pi_waiters: 0,
            pi: pi::PiTable::new(),
        }
    }
}

impl<T: PartialEq> FutexTable<T> {
    /// Queues `who` on `key`, waiting for wakes whose bitset intersects `bitset`.
    pub fn enqueue(&mut self, key: impl Into<FutexKey>, who: T, bitset: u32) {
        let key = key.into();
        self.queues.entry(key).or_default().push_back(Waiter {
            who,
            bitset,
            requeue_pi: None,
        });
    }

    /// Queues `who` on `key` as a `FUTEX_WAIT_REQUEUE_PI` waiter that expects to be moved to
    /// the PI futex `target` ([`FutexTable::take_requeue_pi`]).
    pub fn enqueue_requeue_pi(&mut self, key: FutexKey, who: T, target: FutexKey) {
        self.requeue_pi_waiters += 1;
        self.queues.entry(key).or_default().push_back(Waiter {
            who,
            bitset: MATCH_ANY,
            requeue_pi: Some(target),
        });
    }

    /// Whether a `FUTEX_WAIT_REQUEUE_PI` waiter waits on `key` (a wake or plain requeue of
    /// `key` is then `EINVAL`, as in Linux).
    pub fn has_requeue_pi_waiter(&self, key: FutexKey) -> bool {
        self.requeue_pi_waiters > 0
            && self
                .queues
                .get(&key)
                .is_some_and(|q| q.iter().any(|w| w.requeue_pi.is_some()))
    }

    /// The oldest waiter on `key` and, for a `FUTEX_WAIT_REQUEUE_PI` waiter, its target.
    pub fn first(&self, key: FutexKey) -> Option<(&T, Option<FutexKey>)> {
        self.queues
            .get(&key)
            .and_then(|q| q.front())
            .map(|w| (&w.who, w.requeue_pi))
    }

    /// Takes the oldest waiter on `key` if it is a `FUTEX_WAIT_REQUEUE_PI` waiter for
    /// `target`: `Ok(None)` when nobody waits, `Err(())` when the oldest is another kind
    /// (`FUTEX_CMP_REQUEUE_PI` then fails with `EINVAL`).
    #[allow(clippy::result_unit_err)]
    pub fn take_requeue_pi(&mut self, key: FutexKey, target: FutexKey) -> Result<Option<T>, ()> {
        let Some(q) = self.queues.get_mut(&key) else {
            return Ok(None);
        };
        match q.front() {
            None => return Ok(None),
            Some(w) if w.requeue_pi != Some(target) => return Err(()),
            Some(_) => {}
        }
        let w = q.pop_front().expect("the queue has a front");
        if q.is_empty() {
            self.queues.remove(&key);
        }
        self.requeue_pi_waiters -= 1;
        Ok(Some(w.who))
    }

    /// Wakes up to `n` waiters on `key` whose bitset intersects `bitset`, oldest first.
    pub fn wake(&mut self, key: impl Into<FutexKey>, n: usize, bitset: u32) -> Vec<T> {
        let key = key.into();
        let mut woken = Vec::new();
        if let Some(q) = self.queues.get_mut(&key) {
            let mut i = 0;
            while i < q.len() && woken.len() < n {
                if q[i].bitset & bitset != 0 {
                    if let Some(w) = q.remove(i) {
                        if w.requeue_pi.is_some() {
                            self.requeue_pi_waiters -= 1;
                        }
                        woken.push(w.who);
                    }
                } else {
                    i += 1;
                }
            }
            if q.is_empty() {
                self.queues.remove(&key);
            }
        }
        woken
    }

    /// Wakes up to `n_wake` waiters on `from`, then moves up to `n_requeue` of the rest to
    /// `to` (behind its waiters). Returns the woken and how many moved.
    pub fn requeue(
        &mut self,
        from: impl Into<FutexKey>,
        to: impl Into<FutexKey>,
        n_wake: usize,
        n_requeue: usize,
    ) -> (Vec<T>, usize) {
        let (from, to) = (from.into(), to.into());
        let woken = self.wake(from, n_wake, MATCH_ANY);
        if from == to {
            return (woken, 0);
        }
        let mut moved = VecDeque::new();
        if let Some(q) = self.queues.get_mut(&from) {
            while moved.len() < n_requeue {
                match q.pop_front() {
                    Some(w) => moved.push_back(w),
                    None => break,
                }
            }
            if q.is_empty() {
                self.queues.remove(&from);
            }
        }
        let count = moved.len();
        if count > 0 {
            self.queues.entry(to).or_default().extend(moved);
        }
        (woken, count)
    }

    /// Removes `who` from whichever queue holds it (a timeout or a signal ended its wait);
    /// returns whether it was still queued (false: a waker took it first).
    pub fn remove(&mut self, who: &T) -> bool {
        let mut found = None;
        for (&key, q) in self.queues.iter_mut() {
            if let Some(i) = q.iter().position(|w| &w.who == who) {
                if q.remove(i).is_some_and(|w| w.requeue_pi.is_some()) {
                    self.requeue_pi_waiters -= 1;
                }
                found = Some((key, q.is_empty()));
                break;
            }
        }
        match found {
            Some((key, empty)) => {
                if empty {
                    self.queues.remove(&key);
                }
                true
            }
            None => false,
        }
    }

    /// Removes `who` from `key`'s queue only (a futex_waitv(2) waiter leaving each of its
    /// keys); returns whether it was queued there (false: a wake on `key` took it).
    pub fn remove_from(&mut self, key: impl Into<FutexKey>, who: &T) -> bool {
        let key = key.into();
        let Some(q) = self.queues.get_mut(&key) else {
            return false;
        };
        let Some(i) = q.iter().position(|w| &w.who == who) else {
            return false;
        };
        if q.remove(i).is_some_and(|w| w.requeue_pi.is_some()) {
            self.requeue_pi_waiters -= 1;
        }
        if q.is_empty() {
            self.queues.remove(&key);
        }
        true
    }

    /// How many wait on `key`.
    pub fn waiters(&self, key: impl Into<FutexKey>) -> usize {
        self.queues.get(&key.into()).map_or(0, |q| q.len())
    }

    /// Every queued waiter with its key: key by key, each key's oldest first (for checks of
    /// the table from outside, such as the fuzz harness's).
    pub fn queued(&self) -> impl Iterator<Item = (FutexKey, &T)> + '_ {
        self.queues
            .iter()
            .flat_map(|(&key, q)| q.iter().map(move |w| (key, &w.who)))
    }

    /// The keys the table holds a queue for (each has a waiter: an emptied queue is dropped).
    pub fn keys(&self) -> impl Iterator<Item = FutexKey> + '_ {
        self.queues.keys().copied()
    }
}

#[cfg(test)]
mod sim;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_different_spaces_are_different_words() {
        let mut t = FutexTable::new();
        let a = FutexKey {
            space: 1,
            offset: 0x1000,
        };
        let b = FutexKey {
            space: 2,
            offset: 0x1000,
        };
        t.enqueue(a, 'a', MATCH_ANY);
        t.enqueue(b, 'b', MATCH_ANY);
        assert_eq!(t.wake(b, 10, MATCH_ANY), vec!['b']);
        assert_eq!(t.waiters(a), 1);
        assert_eq!(t.waiters(0x1000), 0, "space 0 is another space again");
    }

    #[test]
    fn wake_takes_the_oldest_matching_waiters() {
        let mut t = FutexTable::new();
        t.enqueue(0x1000, 'a', MATCH_ANY);
        t.enqueue(0x1000, 'b', 0b01);
        t.enqueue(0x1000, 'c', 0b10);
        t.enqueue(0x2000, 'x', MATCH_ANY);
        assert_eq!(t.wake(0x1000, 10, 0b10), ['a', 'c']);
        assert_eq!(t.wake(0x1000, 0, MATCH_ANY), Vec::<char>::new());
        assert_eq!(t.wake(0x1000, 1, MATCH_ANY), ['b']);
        assert_eq!(t.waiters(0x1000), 0);
        assert_eq!(t.waiters(0x2000), 1);
    }

    #[test]
    fn requeue_moves_in_order_behind_existing_waiters() {
        let mut t = FutexTable::new();
        for w in ['a', 'b', 'c', 'd'] {
            t.enqueue(1, w, MATCH_ANY);
        }
        t.enqueue(2, 'z', MATCH_ANY);
        let (woken, moved) = t.requeue(1, 2, 1, 2);
        assert_eq!((woken, moved), (vec!['a'], 2));
        assert_eq!(t.waiters(1), 1);
        assert_eq!(t.wake(2, 10, MATCH_ANY), ['z', 'b', 'c']);
        assert_eq!(
            t.requeue(1, 1, 0, 5),
            (vec![], 0),
            "requeue onto itself moves nothing"
        );
    }

    #[test]
    fn a_waiter_on_several_keys_leaves_each_once() {
        let mut t = FutexTable::new();
        for key in [1, 2, 3] {
            t.enqueue(key, 'v', MATCH_ANY);
        }
        t.enqueue(2, 'w', MATCH_ANY);
        assert_eq!(t.wake(2, 1, MATCH_ANY), ['v']);
        let left: Vec<bool> = [1, 2, 3].iter().map(|&k| t.remove_from(k, &'v')).collect();
        assert_eq!(left, [true, false, true], "key 2's wake took it");
        assert_eq!(t.waiters(1) + t.waiters(3), 0);
        assert_eq!(t.wake(2, 5, MATCH_ANY), ['w']);
    }

    #[test]
    fn requeue_pi_waiters_are_told_apart() {
        let (k1, k2) = (FutexKey::from(1), FutexKey::from(2));
        let mut t = FutexTable::new();
        assert_eq!(t.take_requeue_pi(k1, k2), Ok(None));
        t.enqueue_requeue_pi(k1, 'a', k2);
        t.enqueue_requeue_pi(k1, 'b', FutexKey::from(3));
        t.enqueue(k1, 'c', MATCH_ANY);
        assert!(t.has_requeue_pi_waiter(k1) && !t.has_requeue_pi_waiter(k2));
        assert_eq!(t.first(k1), Some((&'a', Some(k2))));
        assert_eq!(t.take_requeue_pi(k1, k2), Ok(Some('a')));
        assert_eq!(
            t.take_requeue_pi(k1, k2),
            Err(()),
            "b waits for another futex"
        );
        assert!(t.remove_from(k1, &'b'));
        assert!(!t.has_requeue_pi_waiter(k1), "c is a plain waiter");
        assert_eq!(t.take_requeue_pi(k1, k2), Err(()));
        assert_eq!(t.wake(k1, 5, MATCH_ANY), ['c']);
    }

    #[test]
    fn queued_lists_every_waiter_under_its_key() {
        let mut t = FutexTable::new();
        t.enqueue(2, 'b', MATCH_ANY);
        t.enqueue(1, 'a', MATCH_ANY);
        t.enqueue(2, 'c', 1);
        let all: Vec<(u64, char)> = t.queued().map(|(k, &w)| (k.offset, w)).collect();
        assert_eq!(all, [(1, 'a'), (2, 'b'), (2, 'c')]);
        t.wake(1, 1, MATCH_ANY);
        assert_eq!(t.keys().collect::<Vec<_>>(), [FutexKey::from(2)]);
    }

    #[test]
    fn remove_cancels_a_wait_once() {
        let mut t = FutexTable::new();
        t.enqueue(7, 1, MATCH_ANY);
        t.enqueue(7, 2, MATCH_ANY);
        assert!(t.remove(&1));
        assert!(!t.remove(&1));
        assert_eq!(t.wake(7, 5, MATCH_ANY), [2]);
    }
}
