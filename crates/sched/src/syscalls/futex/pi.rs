//! The PI operations of futex(2) over a [`FutexScheduler`]: `FUTEX_LOCK_PI`,
//! `FUTEX_LOCK_PI2`, `FUTEX_TRYLOCK_PI`, `FUTEX_UNLOCK_PI` (the lock-word protocol of glibc's
//! and musl's `PTHREAD_PRIO_INHERIT` mutexes), the requeue-PI pair (`FUTEX_WAIT_REQUEUE_PI`,
//! `FUTEX_CMP_REQUEUE_PI`, which moves a condition variable's waiters onto a PI mutex), and
//! what an owner's exit does to the PI futexes it holds ([`owner_exited`]).
//!
//! The word protocol and the owner/waiter state are [`crate::futex::pi`]'s; this module reads
//! the word, changes it with the embedder's atomic compare-and-exchange
//! ([`FutexScheduler::cmpxchg_word`], since user space changes it concurrently, and a change
//! under us means: look again), looks owners up by TID ([`FutexScheduler::thread_by_tid`]),
//! and blocks and wakes threads. Errors as Linux gives them: `EDEADLK` when the caller owns
//! the lock, `ESRCH` when the word names a TID that does not exist, `EPERM` for an unlock by
//! a non-owner, `EINVAL` when the word and the kernel's state disagree (or plain waiters wait
//! on the word), `EAGAIN` (`EWOULDBLOCK`) for a trylock of a held lock, `ETIMEDOUT`.
//!
//! A call that blocks is two halves: [`start`] runs it (a `FUTEX_LOCK_PI` or a
//! `FUTEX_WAIT_REQUEUE_PI`) until the thread blocks and returns [`Step::Blocked`] with what
//! it waits for ([`Pending`]) and why the block ended; [`resume`] carries on from there once
//! it ended. [`call`] loops over both, which is
//! what a scheduler with real threads does (its block returns when the thread is woken);
//! an embedder that simulates blocking, such as the fuzz harness, parks the thread at
//! [`Step::Blocked`] and calls [`resume`] when it lets the thread run again.
//!
//! Where oxv differs from Linux: no priority is lent to the owner, since every thread runs in
//! one scheduling class with one priority (sched_setscheduler(2) refuses the real-time
//! policies), so waiters are served in FIFO order. A signal that ends the wait for a PI lock
//! makes the call fail with `EINTR`; the embedder restarts it (Linux's `-ERESTARTNOINTR`).

use super::{FutexScheduler, PiCall, WaitEnd, check_aligned};
use crate::futex::FutexKey;
use crate::futex::pi::{LockStep, OWNER_DIED, TID_MASK, died_owner_word, handoff_word, lock_step};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// Where a blocked PI call stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    /// `FUTEX_LOCK_PI`/`FUTEX_LOCK_PI2`: queued as a waiter of the PI futex `key`.
    Lock {
        /// The lock word.
        uaddr: UserPtr<u32>,
        /// Its key.
        key: FutexKey,
        /// When the wait gives up (`CLOCK_MONOTONIC` ns), if ever.
        deadline: Option<u64>,
    },
    /// `FUTEX_WAIT_REQUEUE_PI`: queued on the plain futex `key1` (`requeued` false) or, once
    /// a `FUTEX_CMP_REQUEUE_PI` moved it, as a waiter of the PI futex `key2`.
    WaitRequeue {
        /// The PI futex's word.
        uaddr2: UserPtr<u32>,
        /// The plain futex's key.
        key1: FutexKey,
        /// The PI futex's key.
        key2: FutexKey,
        /// When the wait gives up (`CLOCK_MONOTONIC` ns), if ever.
        deadline: Option<u64>,
        /// Whether the wait is on `key2` already (the wait on `key1` ended).
        requeued: bool,
    },
}

/// How far a PI call got.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// It returned.
    Done(SysResult),
    /// The thread blocked; the block ended for this reason (see [`resume`]).
    Blocked(Pending, WaitEnd),
}

/// Carries out `call` on the word at `uaddr` to its end (the default of
/// [`FutexScheduler::pi`]).
pub fn call<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    private: bool,
    call: PiCall,
) -> SysResult {
    let mut step = start(s, mem, uaddr, private, call);
    loop {
        match step {
            Step::Done(r) => return r,
            Step::Blocked(pending, why) => step = resume(s, mem, pending, why),
        }
    }
}

/// Starts `call`: runs it to its end or until the thread blocks.
pub fn start<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    private: bool,
    call: PiCall,
) -> Step {
    match call {
        PiCall::Lock { deadline, trylock } => {
            let key = match check_aligned(uaddr).and_then(|()| s.key_of(mem, uaddr, private)) {
                Ok(key) => key,
                Err(e) => return Step::Done(Err(e)),
            };
            lock(s, mem, uaddr, key, deadline, trylock)
        }
        PiCall::Unlock => Step::Done(unlock(s, mem, uaddr, private)),
        PiCall::WaitRequeue {
            val,
            deadline,
            uaddr2,
        } => wait_requeue(s, mem, uaddr, val, deadline, uaddr2, private),
        PiCall::CmpRequeue {
            val,
            nr_requeue,
            uaddr2,
            cmpval,
        } => Step::Done(cmp_requeue(
            s, mem, uaddr, val, nr_requeue, uaddr2, cmpval, private,
        )),
    }
}

/// Carries on a call whose block ended for `why`: it returns, or blocks again.
pub fn resume<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    pending: Pending,
    why: WaitEnd,
) -> Step {
    match pending {
        Pending::Lock {
            uaddr,
            key,
            deadline,
        } => {
            let me = s.current();
            if !s.locked(|t, _| t.pi.cancel(key, &me)) {
                // An unlock or the owner's exit made us the owner.
                return Step::Done(became_owner(s, mem, uaddr, key, &me).map(|()| 0));
            }
            match why {
                WaitEnd::Timeout => Step::Done(Err(Errno::ETIMEDOUT)),
                WaitEnd::Signal => Step::Done(Err(Errno::EINTR)),
                WaitEnd::Event => lock(s, mem, uaddr, key, deadline, false),
            }
        }
        Pending::WaitRequeue {
            uaddr2,
            key1,
            key2,
            deadline,
            requeued,
        } => {
            let me = s.current();
            if !requeued && s.locked(|t, _| t.remove_from(key1, &me)) {
                // Not requeued: a timeout, a signal or a spurious wake-up (a plain wake of a
                // requeue-PI waiter is EINVAL, so nobody took it on purpose).
                return Step::Done(Err(match why {
                    WaitEnd::Timeout => Errno::ETIMEDOUT,
                    WaitEnd::Signal => Errno::EINTR,
                    WaitEnd::Event => Errno::EAGAIN,
                }));
            }
            // Requeued to the PI futex (or given it at once): wait there like FUTEX_LOCK_PI.
            loop {
                if !s.locked(|t, _| t.pi.is_waiting(key2, &me)) {
                    return Step::Done(became_owner(s, mem, uaddr2, key2, &me).map(|()| 0));
                }
                match why {
                    WaitEnd::Timeout | WaitEnd::Signal => {
                        if s.locked(|t, _| t.pi.cancel(key2, &me)) {
                            // After the requeue a signal is EWOULDBLOCK, as Linux's.
                            return Step::Done(Err(if why == WaitEnd::Timeout {
                                Errno::ETIMEDOUT
                            } else {
                                Errno::EAGAIN
                            }));
                        }
                    }
                    WaitEnd::Event => {
                        let again = s.block_if(deadline, |t, me| t.pi.is_waiting(key2, me));
                        if let Some(w) = again {
                            return Step::Blocked(
                                Pending::WaitRequeue {
                                    uaddr2,
                                    key1,
                                    key2,
                                    deadline,
                                    requeued: true,
                                },
                                w,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// What a locker found under the lock about the futex's kernel state.
enum Found<T> {
    /// Plain (non-PI) waiters wait on the word: user space mixed the two kinds (`EINVAL`).
    PlainWaiters,
    /// PI waiters exist; the owner's TID as the kernel knows it, or `None` while a new owner
    /// (from a dead one) has yet to write its TID into the word.
    Waiters(Option<T>),
    /// No kernel state.
    Nothing,
}

/// FUTEX_LOCK_PI / FUTEX_LOCK_PI2 (`deadline`: monotonic ns) and FUTEX_TRYLOCK_PI, on the
/// word at `uaddr` (aligned) whose key is `key`.
fn lock<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    key: FutexKey,
    deadline: Option<u64>,
    trylock: bool,
) -> Step {
    let me = s.current();
    let my_tid = s.tid(&me);
    loop {
        let uval = match uaddr.read(mem) {
            Ok(v) => v,
            Err(e) => return Step::Done(Err(e.into())),
        };
        if uval & TID_MASK == my_tid as u32 & TID_MASK {
            return Step::Done(Err(Errno::EDEADLK));
        }
        let found = s.locked(|t, _| {
            if !t.pi.is_empty() && t.pi.contains(key) {
                Found::Waiters(if t.pi.owner_fixing_word(key) {
                    None
                } else {
                    t.pi.owner(key).cloned()
                })
            } else if t.waiters(key) > 0 {
                Found::PlainWaiters
            } else {
                Found::Nothing
            }
        });
        // The word we expect while we sleep (a change means: look again), and whom we wait
        // for.
        let (expect, owner) = match found {
            Found::PlainWaiters => return Step::Done(Err(Errno::EINVAL)),
            Found::Waiters(owner) => {
                // Linux's attach_to_pi_state: the word must name the owner the kernel knows.
                if owner.is_some_and(|o| s.tid(&o) as u32 & TID_MASK != uval & TID_MASK) {
                    return Step::Done(Err(Errno::EINVAL));
                }
                (uval, None)
            }
            Found::Nothing => match lock_step(uval, my_tid, false) {
                LockStep::Deadlock => return Step::Done(Err(Errno::EDEADLK)),
                LockStep::Take(new) => match s.cmpxchg_word(mem, uaddr, uval, new) {
                    Err(e) => return Step::Done(Err(e)),
                    Ok(found) if found == uval => return Step::Done(Ok(0)),
                    Ok(_) => continue,
                },
                LockStep::Wait { new, owner } => {
                    // The WAITERS bit first, so that the owner's unlock enters the kernel;
                    // it stays even if the owner turns out not to exist, as in Linux.
                    match s.cmpxchg_word(mem, uaddr, uval, new) {
                        Err(e) => return Step::Done(Err(e)),
                        Ok(found) if found != uval => continue,
                        Ok(_) => {}
                    }
                    match s.thread_by_tid(owner) {
                        Some(o) => (new, Some(o)),
                        None => match uaddr.read(mem) {
                            Err(e) => return Step::Done(Err(e.into())),
                            Ok(now) if now == new => return Step::Done(Err(Errno::ESRCH)),
                            Ok(_) => continue,
                        },
                    }
                }
            },
        };
        if trylock {
            return Step::Done(Err(Errno::EAGAIN));
        }
        let words: &dyn UserMemory = mem;
        let why = s.block_if(deadline, |t, me| {
            // The word changed since we looked (an unlock, another CPU): look again.
            if uaddr.read(words).ok() != Some(expect) {
                return false;
            }
            match owner {
                Some(o) => t.pi.enqueue(key, o, me.clone()),
                None if t.pi.contains(key) => t.pi.enqueue(key, me.clone(), me.clone()),
                // The waiters went away meanwhile: the owner's unlock will not look for us.
                None => return false,
            }
            true
        });
        if let Some(why) = why {
            return Step::Blocked(
                Pending::Lock {
                    uaddr,
                    key,
                    deadline,
                },
                why,
            );
        }
    }
}

/// The caller `me` was made the owner of `key` while it slept: if the ownership came from
/// an owner that exited, it writes its TID with `OWNER_DIED` into the word (Linux's
/// `fixup_pi_state_owner`).
fn became_owner<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    key: FutexKey,
    me: &S::Thread,
) -> Result<(), Errno> {
    if !s.locked(|t, _| t.pi.take_word_fix(key, me)) {
        return Ok(());
    }
    let new = died_owner_word(s.tid(me));
    let mut uval = uaddr.read(mem)?;
    loop {
        let found = s.cmpxchg_word(mem, uaddr, uval, (uval & OWNER_DIED) | new)?;
        if found == uval {
            return Ok(());
        }
        uval = found;
    }
}

/// FUTEX_UNLOCK_PI: the oldest waiter becomes the owner (the word gets its TID and
/// `FUTEX_WAITERS`) and is woken; with no waiter the word becomes 0.
fn unlock<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    private: bool,
) -> SysResult {
    let me = s.current();
    let my_tid = s.tid(&me);
    loop {
        let uval = uaddr.read(mem)?;
        if uval & TID_MASK != my_tid as u32 & TID_MASK {
            return Err(Errno::EPERM);
        }
        check_aligned(uaddr)?;
        let key = s.key_of(mem, uaddr, private)?;
        let next = s.locked(|t, _| {
            if t.pi.is_empty() {
                return Ok(None);
            }
            match t.pi.owner(key) {
                Some(o) if *o != me => Err(Errno::EINVAL),
                _ => Ok(t.pi.next_owner(key).cloned()),
            }
        })?;
        if let Some(next) = next {
            let next_tid = s.tid(&next);
            let found = s.cmpxchg_word(mem, uaddr, uval, handoff_word(next_tid))?;
            if found != uval {
                // Another CPU set a bit meanwhile: try again; anything else is user space
                // scribbling on the word.
                if found & TID_MASK == uval & TID_MASK {
                    continue;
                }
                return Err(Errno::EINVAL);
            }
            s.locked(|t, woken| {
                let passed = t.pi.hand_off(key);
                debug_assert!(passed.as_ref() == Some(&next));
                woken.push(next);
            });
            return Ok(0);
        }
        let found = s.cmpxchg_word(mem, uaddr, uval, 0)?;
        return if found == uval {
            Ok(0)
        } else {
            Err(Errno::EAGAIN)
        };
    }
}

/// The exiting thread `dead` owned PI futexes with waiters: each passes to its oldest
/// waiter, which marks the word `OWNER_DIED` when it runs (Linux's `exit_pi_state_list`,
/// after the robust list).
pub fn owner_exited<S: FutexScheduler>(s: &mut S, dead: &S::Thread) {
    s.locked(|t, woken| {
        if !t.pi.is_empty() {
            woken.extend(t.pi.owner_exited(dead));
        }
    });
}

/// FUTEX_WAIT_REQUEUE_PI: waits on the plain futex `uaddr` (if it holds `val`) until a
/// FUTEX_CMP_REQUEUE_PI moves the caller to the PI futex `uaddr2`, and returns owning
/// `uaddr2`. Woken early (before the requeue): `ETIMEDOUT`, `EINTR`, or `EAGAIN` for a
/// spurious wakeup; after the requeue a signal gives `EAGAIN` (`EWOULDBLOCK`), as Linux's.
fn wait_requeue<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    val: u32,
    deadline: Option<u64>,
    uaddr2: UserPtr<u32>,
    private: bool,
) -> Step {
    let keys = (|| {
        if uaddr.addr() == uaddr2.addr() {
            return Err(Errno::EINVAL);
        }
        check_aligned(uaddr2)?;
        let key2 = s.key_of(mem, uaddr2, private)?;
        check_aligned(uaddr)?;
        let key1 = s.key_of(mem, uaddr, private)?;
        if key1 == key2 {
            return Err(Errno::EINVAL);
        }
        Ok((key1, key2))
    })();
    let (key1, key2) = match keys {
        Ok(keys) => keys,
        Err(e) => return Step::Done(Err(e)),
    };
    let mut refused = Err(Errno::EAGAIN);
    let words: &dyn UserMemory = mem;
    let why = s.block_if(deadline, |t, me| match uaddr.read(words) {
        Ok(v) if v == val => {
            t.enqueue_requeue_pi(key1, me.clone(), key2);
            true
        }
        Ok(_) => false,
        Err(e) => {
            refused = Err(e.into());
            false
        }
    });
    match why {
        None => Step::Done(refused),
        Some(why) => Step::Blocked(
            Pending::WaitRequeue {
                uaddr2,
                key1,
                key2,
                deadline,
                requeued: false,
            },
            why,
        ),
    }
}

/// FUTEX_CMP_REQUEUE_PI: if `uaddr` holds `cmpval`, takes the PI futex `uaddr2` for the
/// oldest FUTEX_WAIT_REQUEUE_PI waiter on `uaddr` and wakes it if `uaddr2` is free, and moves
/// the others (up to `nr_requeue`, plus the oldest if it did not get the lock) to wait on
/// `uaddr2`. Returns how many were woken or moved. `nr_wake` must be 1. A waiter that owns
/// `uaddr2` (the word names it) stays on `uaddr` and ends the move with `EDEADLK`, those
/// moved before it staying moved, as Linux's `futex_requeue`.
#[allow(clippy::too_many_arguments)] // the call's arguments plus the embedder's two
fn cmp_requeue<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    nr_wake: u32,
    nr_requeue: usize,
    uaddr2: UserPtr<u32>,
    cmpval: u32,
    private: bool,
) -> SysResult {
    if uaddr.addr() == uaddr2.addr() || nr_wake != 1 {
        return Err(Errno::EINVAL);
    }
    check_aligned(uaddr)?;
    let key1 = s.key_of(mem, uaddr, private)?;
    check_aligned(uaddr2)?;
    let key2 = s.key_of(mem, uaddr2, private)?;
    if key1 == key2 {
        return Err(Errno::EINVAL);
    }
    loop {
        if uaddr.read(mem)? != cmpval {
            return Err(Errno::EAGAIN);
        }
        let top = s.locked(|t, _| match t.first(key1) {
            None => Ok(None),
            Some((w, Some(target))) if target == key2 => Ok(Some(w.clone())),
            Some(_) => Err(Errno::EINVAL),
        })?;
        let Some(top) = top else {
            return Ok(0);
        };
        let top_tid = s.tid(&top);
        // Linux's futex_proxy_trylock_atomic: take uaddr2 for `top` if it is free.
        let uval = uaddr2.read(mem)?;
        if uval & TID_MASK == top_tid as u32 & TID_MASK {
            return Err(Errno::EDEADLK);
        }
        let mut count = 0;
        let owner = if s.locked(|t, _| t.pi.contains(key2)) {
            let known = s.locked(|t, _| {
                if t.pi.owner_fixing_word(key2) {
                    None
                } else {
                    t.pi.owner(key2).cloned()
                }
            });
            if known.is_some_and(|o| s.tid(&o) as u32 & TID_MASK != uval & TID_MASK) {
                return Err(Errno::EINVAL);
            }
            // The state exists: `enqueue` ignores the owner given.
            top.clone()
        } else {
            match lock_step(uval, top_tid, nr_requeue > 0) {
                LockStep::Deadlock => return Err(Errno::EDEADLK),
                LockStep::Take(new) => {
                    if s.cmpxchg_word(mem, uaddr2, uval, new)? != uval {
                        continue;
                    }
                    s.locked(|t, woken| {
                        let taken = t.take_requeue_pi(key1, key2);
                        debug_assert!(taken == Ok(Some(top.clone())));
                        woken.push(top.clone());
                    });
                    count = 1;
                    top.clone()
                }
                LockStep::Wait { new, owner } => {
                    if s.cmpxchg_word(mem, uaddr2, uval, new)? != uval {
                        continue;
                    }
                    match s.thread_by_tid(owner) {
                        Some(o) => o,
                        None if uaddr2.read(mem)? == new => return Err(Errno::ESRCH),
                        None => continue,
                    }
                }
            }
        };
        return s.locked(|t, _| {
            while count < nr_requeue.saturating_add(1) {
                // A waiter that owns the lock itself would wait for itself: Linux's proxy
                // lock finds the deadlock, leaves it on `uaddr` and stops (EDEADLK).
                let lock_owner = t.pi.owner(key2).unwrap_or(&owner);
                if t.first(key1).is_some_and(|(w, _)| w == lock_owner) {
                    return Err(Errno::EDEADLK);
                }
                match t.take_requeue_pi(key1, key2) {
                    Ok(Some(w)) => {
                        t.pi.enqueue(key2, owner.clone(), w);
                        count += 1;
                    }
                    Ok(None) => break,
                    Err(()) => return Err(Errno::EINVAL),
                }
            }
            Ok(count)
        });
    }
}

#[cfg(test)]
mod tests;
