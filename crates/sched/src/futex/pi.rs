//! Priority-inheritance futexes: the kernel's side of the PI lock-word protocol of futex(2)
//! (`FUTEX_LOCK_PI`, `FUTEX_LOCK_PI2`, `FUTEX_TRYLOCK_PI`, `FUTEX_UNLOCK_PI`, and the
//! requeue-PI pair).
//!
//! The lock word is the user's: 0 when free, the owner's TID in its low 30 bits when held,
//! [`WAITERS`] while the kernel has waiters queued (which forces the owner's unlock into the
//! kernel), and [`OWNER_DIED`] after an owner exited holding it. Uncontended lock and unlock
//! happen in user space with a compare-and-exchange; the kernel is entered only when that
//! fails. [`lock_step`] is the decision the kernel takes on a word it read, the way Linux's
//! `futex_lock_pi_atomic` takes it; the caller applies it with an atomic compare-and-exchange
//! and starts over when the word changed under it.
//!
//! [`PiTable`] is the kernel state Linux keeps in `struct futex_pi_state`: for a PI futex
//! with waiters, who owns it and who waits for it, oldest first. Ownership passes directly to
//! the oldest waiter on unlock ([`PiTable::hand_off`]) and on the owner's death
//! ([`PiTable::owner_exited`]), so a woken waiter never races a newcomer for the lock.
//!
//! What it is not: there is no priority boosting. Linux orders a PI futex's waiters by
//! priority and lends the highest waiter's priority to the owner; with every thread in one
//! scheduling class (oxv runs `SCHED_OTHER` only), all priorities are equal, the order is
//! FIFO, and a boost would change nothing.

use super::FutexKey;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

/// `FUTEX_WAITERS`: the kernel has waiters for this lock word.
pub const WAITERS: u32 = linux_raw_sys::general::FUTEX_WAITERS;
/// `FUTEX_OWNER_DIED`: the previous owner exited holding the lock.
pub const OWNER_DIED: u32 = linux_raw_sys::general::FUTEX_OWNER_DIED;
/// `FUTEX_TID_MASK`: the owner's TID bits.
pub const TID_MASK: u32 = linux_raw_sys::general::FUTEX_TID_MASK;

const _: () = assert!(WAITERS == 1 << 31 && OWNER_DIED == 1 << 30 && TID_MASK == (1 << 30) - 1);

/// What the kernel does about a PI lock word it read, when it holds no state for that futex
/// (no waiters queued).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LockStep {
    /// The caller already owns it: `EDEADLK`.
    Deadlock,
    /// Free: take it by writing this value (the caller's TID, keeping `OWNER_DIED`).
    Take(u32),
    /// Held by `owner`: write this value (the word with `WAITERS`) and wait for `owner`.
    Wait {
        /// The word to write.
        new: u32,
        /// The owner's TID.
        owner: i32,
    },
}

/// Linux's `futex_lock_pi_atomic` for a futex without kernel state: the word `uval`, the
/// caller's `tid`, and whether the new word must carry `WAITERS` even when the caller takes
/// the lock (a requeue-PI that will queue more waiters behind it).
pub fn lock_step(uval: u32, tid: i32, force_waiters: bool) -> LockStep {
    let owner = uval & TID_MASK;
    if owner == tid as u32 & TID_MASK {
        LockStep::Deadlock
    } else if owner == 0 {
        let waiters = if force_waiters { WAITERS } else { 0 };
        LockStep::Take((uval & OWNER_DIED) | tid as u32 | waiters)
    } else {
        LockStep::Wait {
            new: uval | WAITERS,
            owner: owner as i32,
        }
    }
}

/// The word a waiter writes when ownership passed to it from an owner that exited (Linux's
/// `fixup_pi_state_owner`): its TID, `WAITERS`, and `OWNER_DIED` so that user space learns
/// of the death (a robust mutex then returns `EOWNERDEAD`).
pub fn died_owner_word(tid: i32) -> u32 {
    (tid as u32 & TID_MASK) | WAITERS | OWNER_DIED
}

/// The word an unlock hands to the next owner: its TID, and `WAITERS` (kept while the kernel
/// has state for the futex; the new owner's own unlock then enters the kernel, which clears
/// it when nobody waits any more).
pub fn handoff_word(tid: i32) -> u32 {
    (tid as u32 & TID_MASK) | WAITERS
}

/// The kernel state of one PI futex that has (or just had) waiters.
#[derive(Debug)]
struct PiLock<T> {
    owner: T,
    /// The owner got the lock from one that exited and must still write its TID (with
    /// `OWNER_DIED`) into the word.
    owner_must_fix_word: bool,
    waiters: VecDeque<T>,
}

/// Owners and waiters of the PI futexes that have waiters, by key.
#[derive(Debug)]
pub struct PiTable<T> {
    locks: BTreeMap<FutexKey, PiLock<T>>,
}

impl<T> Default for PiTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> PiTable<T> {
    /// An empty table.
    pub const fn new() -> Self {
        PiTable {
            locks: BTreeMap::new(),
        }
    }

    /// Whether no PI futex has kernel state (the cheap check before a lookup).
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// Whether `key` has kernel state (a plain futex op on it is `EINVAL`).
    pub fn contains(&self, key: FutexKey) -> bool {
        self.locks.contains_key(&key)
    }

    /// The owner of `key`, if the kernel knows it.
    pub fn owner(&self, key: FutexKey) -> Option<&T> {
        self.locks.get(&key).map(|l| &l.owner)
    }

    /// Whether `key`'s owner received it from an owner that exited and has not yet written
    /// its TID into the word (the word's TID is then not the owner's).
    pub fn owner_fixing_word(&self, key: FutexKey) -> bool {
        self.locks.get(&key).is_some_and(|l| l.owner_must_fix_word)
    }

    /// Every PI futex with kernel state: its key, owner, whether the owner has yet to write
    /// its TID into the word ([`PiTable::owner_fixing_word`]), and its waiters, oldest first
    /// (for checks of the table from outside, such as the fuzz harness's).
    pub fn locks(&self) -> impl Iterator<Item = PiLockView<'_, T>> + '_ {
        self.locks.iter().map(|(&key, l)| PiLockView {
            key,
            owner: &l.owner,
            owner_fixing_word: l.owner_must_fix_word,
            waiters: l.waiters.iter(),
        })
    }
}

/// One PI futex's kernel state, as [`PiTable::locks`] lists it.
#[derive(Debug)]
pub struct PiLockView<'a, T> {
    /// The futex.
    pub key: FutexKey,
    /// Its owner.
    pub owner: &'a T,
    /// Whether the owner has yet to write its TID (with `OWNER_DIED`) into the word.
    pub owner_fixing_word: bool,
    /// Its waiters, oldest first.
    pub waiters: alloc::collections::vec_deque::Iter<'a, T>,
}

impl<T: PartialEq + Clone> PiTable<T> {
    /// Queues `who` behind `key`'s waiters; the first waiter records `owner` as the owner
    /// (Linux's `attach_to_pi_owner`; later waiters attach to the existing state and
    /// `owner` is ignored).
    pub fn enqueue(&mut self, key: FutexKey, owner: T, who: T) {
        self.locks
            .entry(key)
            .or_insert_with(|| PiLock {
                owner,
                owner_must_fix_word: false,
                waiters: VecDeque::new(),
            })
            .waiters
            .push_back(who);
    }

    /// The waiter that an unlock of `key` would make the owner.
    pub fn next_owner(&self, key: FutexKey) -> Option<&T> {
        self.locks.get(&key).and_then(|l| l.waiters.front())
    }

    /// Unlock with waiters: the oldest waiter becomes the owner and leaves the queue (the
    /// caller has written [`handoff_word`] for it and wakes it). With no waiter left the
    /// state goes away. Returns the new owner.
    pub fn hand_off(&mut self, key: FutexKey) -> Option<T> {
        let lock = self.locks.get_mut(&key)?;
        let next = lock.waiters.pop_front()?;
        lock.owner = next.clone();
        lock.owner_must_fix_word = false;
        if lock.waiters.is_empty() {
            self.locks.remove(&key);
        }
        Some(next)
    }

    /// Drops `key`'s state (an unlock found no waiters).
    pub fn forget(&mut self, key: FutexKey) {
        self.locks.remove(&key);
    }

    /// The owner `dead` exited: each PI futex it owned with waiters passes to its oldest
    /// waiter, which must write [`died_owner_word`] when it runs (Linux's
    /// `exit_pi_state_list`). Returns the waiters to wake.
    pub fn owner_exited(&mut self, dead: &T) -> Vec<T> {
        let mut woken = Vec::new();
        for lock in self.locks.values_mut() {
            if &lock.owner == dead {
                if let Some(next) = lock.waiters.pop_front() {
                    lock.owner = next.clone();
                    lock.owner_must_fix_word = true;
                    woken.push(next);
                }
            }
        }
        // A lock stays while its new owner has the word to fix or others wait.
        self.locks
            .retain(|_, l| &l.owner != dead && (l.owner_must_fix_word || !l.waiters.is_empty()));
        woken
    }

    /// Called by `who` once it runs as the new owner of `key`: whether it must write
    /// [`died_owner_word`] (then the duty is cleared, and the state dropped if nobody
    /// waits).
    pub fn take_word_fix(&mut self, key: FutexKey, who: &T) -> bool {
        let Some(lock) = self.locks.get_mut(&key) else {
            return false;
        };
        if &lock.owner != who || !lock.owner_must_fix_word {
            return false;
        }
        lock.owner_must_fix_word = false;
        if lock.waiters.is_empty() {
            self.locks.remove(&key);
        }
        true
    }

    /// Removes waiter `who` from `key` (its timeout or a signal ended the wait); false if it
    /// was no longer queued, i.e. it was made the owner first. The state goes away with the
    /// last waiter unless its owner still has the word to fix.
    pub fn cancel(&mut self, key: FutexKey, who: &T) -> bool {
        let Some(lock) = self.locks.get_mut(&key) else {
            return false;
        };
        let Some(i) = lock.waiters.iter().position(|w| w == who) else {
            return false;
        };
        lock.waiters.remove(i);
        if lock.waiters.is_empty() && !lock.owner_must_fix_word {
            self.locks.remove(&key);
        }
        true
    }

    /// Whether `who` waits on `key`.
    pub fn is_waiting(&self, key: FutexKey, who: &T) -> bool {
        self.locks
            .get(&key)
            .is_some_and(|l| l.waiters.iter().any(|w| w == who))
    }
}

#[cfg(test)]
mod tests;
