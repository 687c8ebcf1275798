//! PI futexes (futex(2) `FUTEX_LOCK_PI`, `FUTEX_LOCK_PI2`, `FUTEX_TRYLOCK_PI`,
//! `FUTEX_UNLOCK_PI`): the lock-word protocol of glibc's and musl's `PTHREAD_PRIO_INHERIT`
//! mutexes; and the requeue-PI pair (`FUTEX_WAIT_REQUEUE_PI`, `FUTEX_CMP_REQUEUE_PI`) that
//! moves a condition variable's waiters onto a PI mutex.
//!
//! The word protocol and the owner/waiter state are oxv-sched's
//! ([`oxv_sched::futex::pi`]); this module reads and changes the word ([`cmpxchg_word`],
//! since user space changes it concurrently) and blocks and wakes threads. Errors as Linux
//! gives them: `EDEADLK` when the caller owns the lock, `ESRCH` when the word names a TID
//! that does not exist, `EPERM` for an unlock by a non-owner, `EINVAL` when the word and the
//! kernel's state disagree (or plain waiters wait on the word), `EAGAIN` (`EWOULDBLOCK`)
//! for a trylock of a held lock, `ETIMEDOUT`.
//!
//! Where oxv differs: no priority is lent to the owner, since every thread runs in one
//! scheduling class with one priority (sched_setscheduler(2) refuses the real-time
//! policies), so waiters are served in FIFO order. A signal handler without `SA_RESTART`
//! that runs while a thread waits for a PI lock makes the call fail with `EINTR`, where Linux
//! restarts it (`-ERESTARTNOINTR`).

use super::{check_aligned, cmpxchg_word, key_of, read_word};
use crate::sched;
use crate::thread::Wake;
use oxv_abi::{Errno, SysResult, UserPtr};
use oxv_sched::futex::FutexKey;
use oxv_sched::futex::pi::{
    LockStep, OWNER_DIED, TID_MASK, died_owner_word, handoff_word, lock_step,
};

/// What a locker found under the scheduler lock about the futex's kernel state.
enum Found {
    /// Plain (non-PI) waiters wait on the word: user space mixed the two kinds (`EINVAL`).
    PlainWaiters,
    /// PI waiters exist; the owner's TID as the kernel knows it, or `None` while a new owner
    /// (from a dead one) has yet to write its TID into the word.
    Waiters(Option<i32>),
    /// No kernel state.
    Nothing,
}

/// FUTEX_LOCK_PI / FUTEX_LOCK_PI2 (`deadline`: monotonic ns) and FUTEX_TRYLOCK_PI.
pub fn lock(uaddr: UserPtr<u32>, private: bool, deadline: Option<u64>, trylock: bool) -> SysResult {
    check_aligned(uaddr)?;
    let key = key_of(uaddr.addr().get(), private)?;
    let me = sched::current();
    loop {
        let uval = read_word(uaddr)?;
        if uval & TID_MASK == me.tid as u32 & TID_MASK {
            return Err(Errno::EDEADLK);
        }
        let found = sched::with(|s| {
            if !s.futexes.pi.is_empty() && s.futexes.pi.contains(key) {
                Found::Waiters(if s.futexes.pi.owner_fixing_word(key) {
                    None
                } else {
                    s.futexes.pi.owner(key).map(|o| o.tid)
                })
            } else if s.futexes.waiters(key) > 0 {
                Found::PlainWaiters
            } else {
                Found::Nothing
            }
        });
        // The word we expect while we sleep (a change means: look again), and whom we wait
        // for.
        let (expect, owner) = match found {
            Found::PlainWaiters => return Err(Errno::EINVAL),
            Found::Waiters(owner) => {
                // Linux's attach_to_pi_state: the word must name the owner the kernel knows.
                if owner.is_some_and(|o| o as u32 & TID_MASK != uval & TID_MASK) {
                    return Err(Errno::EINVAL);
                }
                (uval, None)
            }
            Found::Nothing => match lock_step(uval, me.tid, false) {
                LockStep::Deadlock => return Err(Errno::EDEADLK),
                LockStep::Take(new) => {
                    if cmpxchg_word(uaddr, uval, new)? == uval {
                        return Ok(0);
                    }
                    continue;
                }
                LockStep::Wait { new, owner } => {
                    // The WAITERS bit first, so that the owner's unlock enters the kernel;
                    // it stays even if the owner turns out not to exist, as in Linux.
                    if cmpxchg_word(uaddr, uval, new)? != uval {
                        continue;
                    }
                    match sched::with(|s| s.thread(owner)) {
                        Some(o) => (new, Some(o)),
                        None if read_word(uaddr)? == new => return Err(Errno::ESRCH),
                        None => continue,
                    }
                }
            },
        };
        if trylock {
            return Err(Errno::EAGAIN);
        }
        let why = sched::block_if(deadline, |s, me| {
            // The word changed since we looked (an unlock, another CPU): look again.
            if read_word(uaddr) != Ok(expect) {
                return false;
            }
            match owner {
                Some(o) => s.futexes.pi.enqueue(key, o, me.clone()),
                None if s.futexes.pi.contains(key) => {
                    s.futexes.pi.enqueue(key, me.clone(), me.clone())
                }
                // The waiters went away meanwhile: the owner's unlock will not look for us.
                None => return false,
            }
            true
        });
        let Some(why) = why else { continue };
        let still_waiting = sched::with(|s| s.futexes.pi.cancel(key, &me));
        if !still_waiting {
            // An unlock or the owner's exit made us the owner.
            became_owner(uaddr, key, &me)?;
            return Ok(0);
        }
        match why {
            Wake::Timeout => return Err(Errno::ETIMEDOUT),
            Wake::Signal => return Err(Errno::EINTR),
            Wake::Event => {}
        }
    }
}

/// The caller was made the owner of `key` while it slept: if the ownership came from an
/// owner that exited, it writes its TID with `OWNER_DIED` into the word (Linux's
/// `fixup_pi_state_owner`).
fn became_owner(
    uaddr: UserPtr<u32>,
    key: FutexKey,
    me: &crate::thread::ThreadRef,
) -> Result<(), Errno> {
    if !sched::with(|s| s.futexes.pi.take_word_fix(key, me)) {
        return Ok(());
    }
    let new = died_owner_word(me.tid);
    let mut uval = read_word(uaddr)?;
    loop {
        let found = cmpxchg_word(uaddr, uval, (uval & OWNER_DIED) | new)?;
        if found == uval {
            return Ok(());
        }
        uval = found;
    }
}

/// FUTEX_UNLOCK_PI: the oldest waiter becomes the owner (the word gets its TID and
/// `FUTEX_WAITERS`) and is woken; with no waiter the word becomes 0.
pub fn unlock(uaddr: UserPtr<u32>, private: bool) -> SysResult {
    let me = sched::current();
    loop {
        let uval = read_word(uaddr)?;
        if uval & TID_MASK != me.tid as u32 & TID_MASK {
            return Err(Errno::EPERM);
        }
        check_aligned(uaddr)?;
        let key = key_of(uaddr.addr().get(), private)?;
        let next = sched::with(|s| {
            if s.futexes.pi.is_empty() {
                return Ok(None);
            }
            match s.futexes.pi.owner(key) {
                Some(o) if *o != me => Err(Errno::EINVAL),
                _ => Ok(s.futexes.pi.next_owner(key).cloned()),
            }
        })?;
        if let Some(next) = next {
            let found = cmpxchg_word(uaddr, uval, handoff_word(next.tid))?;
            if found != uval {
                // Another CPU set a bit meanwhile: try again; anything else is user space
                // scribbling on the word.
                if found & TID_MASK == uval & TID_MASK {
                    continue;
                }
                return Err(Errno::EINVAL);
            }
            sched::with(|s| {
                let passed = s.futexes.pi.hand_off(key);
                debug_assert!(passed.as_ref() == Some(&next));
                s.wake(&next, Wake::Event);
            });
            return Ok(0);
        }
        let found = cmpxchg_word(uaddr, uval, 0)?;
        return if found == uval {
            Ok(0)
        } else {
            Err(Errno::EAGAIN)
        };
    }
}

/// The exiting thread `me` owned PI futexes with waiters: each passes to its oldest waiter,
/// which marks the word `OWNER_DIED` when it runs (Linux's `exit_pi_state_list`, after the
/// robust list).
pub fn owner_exited(me: &crate::thread::ThreadRef) {
    sched::with(|s| {
        if s.futexes.pi.is_empty() {
            return;
        }
        for t in s.futexes.pi.owner_exited(me) {
            s.wake(&t, Wake::Event);
        }
    });
}

/// FUTEX_WAIT_REQUEUE_PI: waits on the plain futex `uaddr` (if it holds `val`) until a
/// FUTEX_CMP_REQUEUE_PI moves the caller to the PI futex `uaddr2`, and returns owning
/// `uaddr2`. Woken early (before the requeue): `ETIMEDOUT`, `EINTR`, or `EAGAIN` for a
/// spurious wakeup; after the requeue a signal gives `EAGAIN` (`EWOULDBLOCK`), as Linux's.
pub fn wait_requeue(
    uaddr: UserPtr<u32>,
    val: u32,
    deadline: Option<u64>,
    uaddr2: UserPtr<u32>,
    private: bool,
) -> SysResult {
    if uaddr.addr() == uaddr2.addr() {
        return Err(Errno::EINVAL);
    }
    check_aligned(uaddr2)?;
    let key2 = key_of(uaddr2.addr().get(), private)?;
    check_aligned(uaddr)?;
    let key1 = key_of(uaddr.addr().get(), private)?;
    if key1 == key2 {
        return Err(Errno::EINVAL);
    }
    let me = sched::current();
    let mut refused = Err(Errno::EAGAIN);
    let why = sched::block_if(deadline, |s, me| match read_word(uaddr) {
        Ok(v) if v == val => {
            s.futexes.enqueue_requeue_pi(key1, me.clone(), key2);
            true
        }
        Ok(_) => false,
        Err(e) => {
            refused = Err(e);
            false
        }
    });
    let Some(mut why) = why else {
        return refused;
    };
    if sched::with(|s| s.futexes.remove_from(key1, &me)) {
        return Err(match why {
            Wake::Timeout => Errno::ETIMEDOUT,
            Wake::Signal => Errno::EINTR,
            Wake::Event => Errno::EAGAIN,
        });
    }
    // Requeued to the PI futex (or given it at once): wait there like FUTEX_LOCK_PI.
    loop {
        if !sched::with(|s| s.futexes.pi.is_waiting(key2, &me)) {
            became_owner(uaddr2, key2, &me)?;
            return Ok(0);
        }
        match why {
            Wake::Timeout | Wake::Signal => {
                if sched::with(|s| s.futexes.pi.cancel(key2, &me)) {
                    return Err(if why == Wake::Timeout {
                        Errno::ETIMEDOUT
                    } else {
                        Errno::EAGAIN
                    });
                }
            }
            Wake::Event => {
                let again = sched::block_if(deadline, |s, me| s.futexes.pi.is_waiting(key2, me));
                if let Some(w) = again {
                    why = w;
                }
            }
        }
    }
}

/// FUTEX_CMP_REQUEUE_PI: if `uaddr` holds `cmpval`, takes the PI futex `uaddr2` for the
/// oldest FUTEX_WAIT_REQUEUE_PI waiter on `uaddr` and wakes it if `uaddr2` is free, and moves
/// the others (up to `nr_requeue`, plus the oldest if it did not get the lock) to wait on
/// `uaddr2`. Returns how many were woken or moved. `nr_wake` must be 1.
pub fn cmp_requeue(
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
    let key1 = key_of(uaddr.addr().get(), private)?;
    check_aligned(uaddr2)?;
    let key2 = key_of(uaddr2.addr().get(), private)?;
    if key1 == key2 {
        return Err(Errno::EINVAL);
    }
    loop {
        if read_word(uaddr)? != cmpval {
            return Err(Errno::EAGAIN);
        }
        let top = sched::with(|s| match s.futexes.first(key1) {
            None => Ok(None),
            Some((t, Some(target))) if target == key2 => Ok(Some(t.clone())),
            Some(_) => Err(Errno::EINVAL),
        })?;
        let Some(top) = top else {
            return Ok(0);
        };
        // Linux's futex_proxy_trylock_atomic: take uaddr2 for `top` if it is free.
        let uval = read_word(uaddr2)?;
        if uval & TID_MASK == top.tid as u32 & TID_MASK {
            return Err(Errno::EDEADLK);
        }
        let mut count = 0;
        let owner = if sched::with(|s| s.futexes.pi.contains(key2)) {
            let consistent = sched::with(|s| {
                s.futexes.pi.owner_fixing_word(key2)
                    || s.futexes
                        .pi
                        .owner(key2)
                        .is_some_and(|o| o.tid as u32 & TID_MASK == uval & TID_MASK)
            });
            if !consistent {
                return Err(Errno::EINVAL);
            }
            top.clone()
        } else {
            match lock_step(uval, top.tid, nr_requeue > 0) {
                LockStep::Deadlock => return Err(Errno::EDEADLK),
                LockStep::Take(new) => {
                    if cmpxchg_word(uaddr2, uval, new)? != uval {
                        continue;
                    }
                    sched::with(|s| {
                        let taken = s.futexes.take_requeue_pi(key1, key2);
                        debug_assert!(taken == Ok(Some(top.clone())));
                        s.wake(&top, Wake::Event);
                    });
                    count = 1;
                    top.clone()
                }
                LockStep::Wait { new, owner } => {
                    if cmpxchg_word(uaddr2, uval, new)? != uval {
                        continue;
                    }
                    match sched::with(|s| s.thread(owner)) {
                        Some(o) => o,
                        None if read_word(uaddr2)? == new => return Err(Errno::ESRCH),
                        None => continue,
                    }
                }
            }
        };
        return sched::with(|s| {
            while count < nr_requeue.saturating_add(1) {
                match s.futexes.take_requeue_pi(key1, key2) {
                    Ok(Some(t)) => {
                        s.futexes.pi.enqueue(key2, owner.clone(), t);
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
