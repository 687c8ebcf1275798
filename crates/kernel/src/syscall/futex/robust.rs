//! What a thread's exit does to the futexes it holds: the robust list (set_robust_list(2))
//! and the PI futexes it owns (Linux's `futex_exit_release`: `exit_robust_list`, then
//! `exit_pi_state_list`).
//!
//! Each lock on the robust list that the exiting thread still owns (its TID in the word)
//! gets `FUTEX_OWNER_DIED`, its TID cleared and `FUTEX_WAITERS` kept, so that the next locker
//! sees the death (`EOWNERDEAD` from a robust pthread mutex). A plain lock's waiter is woken
//! to find that; a PI lock's waiters are the PI state's, and the oldest is handed the lock by
//! [`oxv_sched::syscalls::futex::pi::owner_exited`] instead. An entry's PI flag is bit 0 of
//! the pointer to it, as in Linux's `fetch_robust_entry`. A walk that faults or meets a
//! misaligned word stops, as Linux's does.

use super::{cmpxchg_word, read_word};
use crate::arch::usercopy::CurrentUserMemory;
use crate::thread::ThreadRef;
use oxv_abi::UserPtr;
use oxv_sched::futex::pi::{OWNER_DIED, TID_MASK, WAITERS};

/// Linux's `ROBUST_LIST_LIMIT`: a list longer than this is treated as corrupt.
const ROBUST_LIST_LIMIT: usize = 2048;

/// How often a dying thread retries a word that changed under its compare-and-exchange
/// (user space on another CPU) before it leaves the word alone.
const CHANGED_ATTEMPTS: usize = 64;

/// The thread `me` exits, or execs (which leaves its old memory as exiting does): its robust
/// list (at `robust_head`, 0 if none) is walked and the PI futexes it owns pass to their
/// waiters.
pub fn thread_exit(me: &ThreadRef, robust_head: u64) {
    if robust_head != 0 {
        exit_robust_list(robust_head, me.tid);
    }
    oxv_sched::syscalls::futex::pi::owner_exited(&mut super::Futexes, me);
}

/// Marks a robust lock word owned by `tid` as owner-died and wakes a plain lock's waiter
/// (Linux's `handle_futex_death`); `pending` is the list's `list_op_pending` entry. False
/// when the word cannot be read or written, which ends the walk.
fn futex_death(uaddr: u64, tid: i32, pi: bool, pending: bool) -> bool {
    if uaddr % 4 != 0 {
        return false;
    }
    let word = UserPtr::<u32>::new(uaddr);
    for _ in 0..CHANGED_ATTEMPTS {
        let Ok(uval) = read_word(word) else {
            return false;
        };
        let owner = uval & TID_MASK;
        // Killed between releasing a plain lock and waking its waiter (or a woken waiter
        // killed before it took the lock): wake one without touching the word.
        if pending && !pi && owner == 0 {
            crate::syscall::thread::futex_wake_one(uaddr);
            return true;
        }
        if owner != tid as u32 & TID_MASK {
            return true;
        }
        let new = (uval & WAITERS) | OWNER_DIED;
        match cmpxchg_word(word, uval, new) {
            Err(_) => return false,
            Ok(found) if found != uval => continue,
            Ok(_) => {}
        }
        if !pi && uval & WAITERS != 0 {
            crate::syscall::thread::futex_wake_one(uaddr);
        }
        return true;
    }
    true
}

/// Walks the exiting thread's robust list: every lock it still holds becomes owner-died.
fn exit_robust_list(head: u64, tid: i32) {
    let mem = &CurrentUserMemory;
    // struct robust_list_head { next, futex_offset, list_op_pending }
    let Ok(h) = UserPtr::<[u64; 3]>::new(head).read(mem) else {
        return;
    };
    let offset = h[1] as i64;
    let (pending, pending_pi) = (h[2] & !1, h[2] & 1 != 0);
    let (mut entry, mut pi) = (h[0] & !1, h[0] & 1 != 0);
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head || entry == 0 {
            break;
        }
        let next = UserPtr::<u64>::new(entry).read(mem);
        if entry != pending && !futex_death(entry.wrapping_add_signed(offset), tid, pi, false) {
            return;
        }
        let Ok(next) = next else {
            return;
        };
        (entry, pi) = (next & !1, next & 1 != 0);
    }
    if pending != 0 {
        futex_death(pending.wrapping_add_signed(offset), tid, pending_pi, true);
    }
}
