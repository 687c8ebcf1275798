//! The PI protocol through futex(2), over [`FakeFutexScheduler`] (the fuzz harness's too): a
//! block leaves the caller queued and returns [`Step::Blocked`]; a test lets the thread run
//! on with [`resume`] once a wake (or a timeout or a signal) ended its wait.

use super::*;
use crate::futex::pi::WAITERS;
use crate::syscalls::futex::futex;
use crate::syscalls::test_memory::{BAD, RO, RW, memory};
use crate::testing::FakeFutexScheduler;
use linux_raw_sys::general as g;
use oxv_abi::user::fake::FakeUserMemory;

/// The threads that exist; thread `i` has TID `i`, so a test names a thread by its TID.
const LIVE: [i32; 3] = [10, 20, 30];

type Threads = FakeFutexScheduler;

/// Threads 10, 20 and 30 (10 current), over memory with a read-write page at [`RW`].
fn setup() -> (Threads, FakeUserMemory) {
    let mut tids = alloc::vec![-1; 31];
    for t in LIVE {
        tids[t as usize] = t;
    }
    let mut s = FakeFutexScheduler::new(tids);
    s.current = 10;
    (s, memory())
}

/// The second lock word.
const RW2: u64 = RW + 0x40;

fn word(mem: &FakeUserMemory, addr: u64) -> u32 {
    u32::from_ne_bytes(mem.peek(addr, 4).try_into().expect("4 bytes"))
}

fn set_word(mem: &mut FakeUserMemory, addr: u64, v: u32) {
    mem.poke(addr, &v.to_ne_bytes());
}

/// futex(uaddr, op | FUTEX_PRIVATE_FLAG, val, 0, uaddr2, val3) as thread `who`; a call that
/// blocks gives `ERESTART` (the thread stays queued).
fn op(
    s: &mut Threads,
    mem: &mut FakeUserMemory,
    who: usize,
    uaddr: u64,
    op: u32,
    val: u32,
    (val2, uaddr2, val3): (u64, u64, u32),
) -> SysResult {
    s.current = who;
    futex(
        s,
        mem,
        UserPtr::new(uaddr),
        (op | g::FUTEX_PRIVATE_FLAG) as i32,
        val,
        val2,
        UserPtr::new(uaddr2),
        val3,
    )
}

fn lock_pi(s: &mut Threads, mem: &mut FakeUserMemory, who: usize, uaddr: u64) -> SysResult {
    op(s, mem, who, uaddr, g::FUTEX_LOCK_PI, 0, (0, 0, 0))
}

fn unlock_pi(s: &mut Threads, mem: &mut FakeUserMemory, who: usize, uaddr: u64) -> SysResult {
    op(s, mem, who, uaddr, g::FUTEX_UNLOCK_PI, 0, (0, 0, 0))
}

fn trylock_pi(s: &mut Threads, mem: &mut FakeUserMemory, who: usize, uaddr: u64) -> SysResult {
    op(s, mem, who, uaddr, g::FUTEX_TRYLOCK_PI, 0, (0, 0, 0))
}

/// The condition variable's word and the PI mutex's word of the requeue tests.
const COND: u64 = RW;
const MUTEX: u64 = RW2;

/// `who` waits on [`COND`], expected to hold `val`, to be requeued onto [`MUTEX`]
/// (`FUTEX_WAIT_REQUEUE_PI`).
fn wait_requeue(s: &mut Threads, mem: &mut FakeUserMemory, who: usize, val: u32) -> SysResult {
    op(
        s,
        mem,
        who,
        COND,
        g::FUTEX_WAIT_REQUEUE_PI,
        val,
        (0, MUTEX, 0),
    )
}

/// Thread 10's `FUTEX_CMP_REQUEUE_PI` of [`COND`] onto [`MUTEX`]: wakes up to `nr_wake`,
/// moves up to `nr_requeue`, if [`COND`] holds `cmp`.
fn cmp_requeue(
    s: &mut Threads,
    mem: &mut FakeUserMemory,
    nr_wake: u32,
    nr_requeue: u64,
    cmp: u32,
) -> SysResult {
    op(
        s,
        mem,
        10,
        COND,
        g::FUTEX_CMP_REQUEUE_PI,
        nr_wake,
        (nr_requeue, MUTEX, cmp),
    )
}

/// The rest of a blocked `FUTEX_WAIT_REQUEUE_PI` on [`COND`] for [`MUTEX`], `requeued` onto
/// the mutex or not yet.
fn requeue_rest(requeued: bool) -> Pending {
    Pending::WaitRequeue {
        uaddr2: UserPtr::new(MUTEX),
        key1: FutexKey::from(COND),
        key2: FutexKey::from(MUTEX),
        deadline: None,
        requeued,
    }
}

/// Resumes `who`'s blocked call (`rest`) after its wait ended for `why`.
fn resume_as(
    s: &mut Threads,
    mem: &mut FakeUserMemory,
    who: usize,
    rest: Pending,
    why: WaitEnd,
) -> Step {
    s.current = who;
    resume(s, mem, rest, why)
}

/// Resumes `who`'s `FUTEX_LOCK_PI` on `uaddr` after its wait ended for `why`.
fn resume_lock(
    s: &mut Threads,
    mem: &mut FakeUserMemory,
    who: usize,
    uaddr: u64,
    why: WaitEnd,
) -> Step {
    let rest = Pending::Lock {
        uaddr: UserPtr::new(uaddr),
        key: FutexKey::from(uaddr),
        deadline: None,
    };
    resume_as(s, mem, who, rest, why)
}

#[test]
fn an_uncontended_lock_is_taken_and_a_free_unlock_clears_the_word() {
    // User space takes a free lock with its own cmpxchg; a FUTEX_LOCK_PI that finds it free
    // (the owner unlocked meanwhile) takes it too.
    let (mut s, mut m) = setup();
    assert_eq!(lock_pi(&mut s, &mut m, 10, RW), Ok(0));
    assert_eq!(word(&m, RW), 10, "no waiter: no WAITERS bit");
    assert!(s.table.pi.is_empty(), "no kernel state without waiters");
    assert_eq!(unlock_pi(&mut s, &mut m, 10, RW), Ok(0));
    assert_eq!(word(&m, RW), 0);
    assert_eq!(trylock_pi(&mut s, &mut m, 10, RW), Ok(0));
    assert_eq!(
        trylock_pi(&mut s, &mut m, 20, RW),
        Err(Errno::EAGAIN),
        "a trylock of a held lock"
    );
    assert_eq!(word(&m, RW), 10 | WAITERS, "the trylock set the bit first");
}

#[test]
fn a_contended_lock_waits_and_unlock_hands_off_to_the_oldest_waiter() {
    let (mut s, mut m) = setup();
    set_word(&mut m, RW, 10);
    assert_eq!(lock_pi(&mut s, &mut m, 20, RW), Err(Errno::ERESTART));
    assert!(s.pending[20].is_some(), "the rest of 20's call is kept");
    assert_eq!(word(&m, RW), 10 | WAITERS);
    assert_eq!(s.table.pi.owner(FutexKey::from(RW)), Some(&10));
    assert_eq!(lock_pi(&mut s, &mut m, 30, RW), Err(Errno::ERESTART));
    assert!(s.table.pi.is_waiting(FutexKey::from(RW), &30));
    // The unlock writes 20's TID with WAITERS (30 still waits) and wakes 20.
    assert_eq!(unlock_pi(&mut s, &mut m, 10, RW), Ok(0));
    assert_eq!(word(&m, RW), 20 | WAITERS);
    assert_eq!(s.woken, [20]);
    assert_eq!(s.table.pi.owner(FutexKey::from(RW)), Some(&20));
    assert_eq!(
        resume_lock(&mut s, &mut m, 20, RW, WaitEnd::Event),
        Step::Done(Ok(0))
    );
    // 20 hands off to 30, the last waiter: the state goes, WAITERS stays until 30 unlocks.
    assert_eq!(unlock_pi(&mut s, &mut m, 20, RW), Ok(0));
    assert_eq!(word(&m, RW), 30 | WAITERS);
    assert!(s.table.pi.is_empty());
    assert_eq!(
        resume_lock(&mut s, &mut m, 30, RW, WaitEnd::Event),
        Step::Done(Ok(0))
    );
    assert_eq!(unlock_pi(&mut s, &mut m, 30, RW), Ok(0));
    assert_eq!(word(&m, RW), 0);
    assert_eq!(s.woken, [20, 30]);
}

#[test]
fn self_lock_is_edeadlk_and_unlock_by_a_non_owner_is_eperm() {
    let (mut s, mut m) = setup();
    set_word(&mut m, RW, 10 | WAITERS);
    assert_eq!(lock_pi(&mut s, &mut m, 10, RW), Err(Errno::EDEADLK));
    assert_eq!(trylock_pi(&mut s, &mut m, 10, RW), Err(Errno::EDEADLK));
    assert_eq!(unlock_pi(&mut s, &mut m, 20, RW), Err(Errno::EPERM));
    set_word(&mut m, RW, 0);
    assert_eq!(
        unlock_pi(&mut s, &mut m, 20, RW),
        Err(Errno::EPERM),
        "nobody owns it"
    );
    assert_eq!(word(&m, RW), 0, "a refused unlock leaves the word alone");
}

#[test]
fn a_word_naming_no_thread_is_esrch_and_a_mismatch_with_the_state_einval() {
    let (mut s, mut m) = setup();
    set_word(&mut m, RW, 99);
    assert_eq!(lock_pi(&mut s, &mut m, 10, RW), Err(Errno::ESRCH));
    assert_eq!(word(&m, RW), 99 | WAITERS, "the bit stays, as in Linux");
    assert!(s.table.pi.is_empty());
    // With waiters queued for owner 10, a word that names 30 disagrees with the state.
    set_word(&mut m, RW, 10);
    assert_eq!(lock_pi(&mut s, &mut m, 20, RW), Err(Errno::ERESTART));
    set_word(&mut m, RW, 30 | WAITERS);
    assert_eq!(lock_pi(&mut s, &mut m, 10, RW), Err(Errno::EINVAL));
    assert_eq!(
        unlock_pi(&mut s, &mut m, 30, RW),
        Err(Errno::EINVAL),
        "30 is not the owner the kernel knows"
    );
    // Plain waiters on the word: mixing the kinds is EINVAL.
    s.table.enqueue(RW2, 30, crate::futex::MATCH_ANY);
    set_word(&mut m, RW2, 20);
    assert_eq!(lock_pi(&mut s, &mut m, 10, RW2), Err(Errno::EINVAL));
}

#[test]
fn faults_and_bad_addresses_are_reported() {
    let (mut s, mut m) = setup();
    assert_eq!(lock_pi(&mut s, &mut m, 10, BAD), Err(Errno::EFAULT));
    assert_eq!(lock_pi(&mut s, &mut m, 10, RW + 2), Err(Errno::EINVAL));
    assert_eq!(
        lock_pi(&mut s, &mut m, 10, RO),
        Err(Errno::EFAULT),
        "a free word in read-only memory cannot be taken"
    );
    assert_eq!(unlock_pi(&mut s, &mut m, 10, BAD), Err(Errno::EFAULT));
}

#[test]
fn a_timed_out_or_interrupted_waiter_leaves_and_the_owner_unlocks_in_user_space_terms() {
    let (mut s, mut m) = setup();
    set_word(&mut m, RW, 10);
    assert_eq!(lock_pi(&mut s, &mut m, 20, RW), Err(Errno::ERESTART));
    assert_eq!(lock_pi(&mut s, &mut m, 30, RW), Err(Errno::ERESTART));
    assert_eq!(
        resume_lock(&mut s, &mut m, 20, RW, WaitEnd::Timeout),
        Step::Done(Err(Errno::ETIMEDOUT))
    );
    assert_eq!(
        resume_lock(&mut s, &mut m, 30, RW, WaitEnd::Signal),
        Step::Done(Err(Errno::EINTR))
    );
    assert!(
        s.table.pi.is_empty(),
        "the last waiter took the state along"
    );
    // WAITERS stays set: the owner's unlock enters the kernel and clears the word.
    assert_eq!(unlock_pi(&mut s, &mut m, 10, RW), Ok(0));
    assert_eq!(word(&m, RW), 0);
}

#[test]
fn a_dead_owners_lock_passes_to_its_oldest_waiter_with_owner_died() {
    let (mut s, mut m) = setup();
    set_word(&mut m, RW, 10);
    assert_eq!(lock_pi(&mut s, &mut m, 20, RW), Err(Errno::ERESTART));
    assert_eq!(lock_pi(&mut s, &mut m, 30, RW), Err(Errno::ERESTART));
    // 10 exits: the kernel hands the lock to 20, which fixes the word when it runs.
    s.tids[10] = -1;
    owner_exited(&mut s, &10);
    assert_eq!(s.woken, [20]);
    assert!(s.table.pi.owner_fixing_word(FutexKey::from(RW)));
    assert_eq!(word(&m, RW), 10 | WAITERS, "not yet fixed");
    assert_eq!(
        resume_lock(&mut s, &mut m, 20, RW, WaitEnd::Event),
        Step::Done(Ok(0))
    );
    assert_eq!(
        word(&m, RW),
        20 | WAITERS | OWNER_DIED,
        "EOWNERDEAD for a robust mutex"
    );
    assert_eq!(s.table.pi.owner(FutexKey::from(RW)), Some(&20));
    assert!(!s.table.pi.owner_fixing_word(FutexKey::from(RW)));
    // The unlock hands on to 30; OWNER_DIED is user space's to clear (it was consistent).
    assert_eq!(unlock_pi(&mut s, &mut m, 20, RW), Ok(0));
    assert_eq!(word(&m, RW), 30 | WAITERS);
    // A dead owner without waiters: the robust list marked the word (OWNER_DIED, TID 0);
    // the next locker takes it and keeps the bit.
    set_word(&mut m, RW2, OWNER_DIED | WAITERS);
    assert_eq!(lock_pi(&mut s, &mut m, 20, RW2), Ok(0));
    assert_eq!(word(&m, RW2), OWNER_DIED | 20);
    // A word naming the dead TID with no kernel state: ESRCH.
    set_word(&mut m, RW2, 10);
    assert_eq!(lock_pi(&mut s, &mut m, 20, RW2), Err(Errno::ESRCH));
}

#[test]
fn requeue_pi_moves_a_condition_variables_waiters_onto_the_mutex() {
    let (mut s, mut m) = setup();
    let (k1, k2) = (FutexKey::from(COND), FutexKey::from(MUTEX));
    for who in [20, 30] {
        assert_eq!(wait_requeue(&mut s, &mut m, who, 0), Err(Errno::ERESTART));
    }
    assert_eq!(
        wait_requeue(&mut s, &mut m, 10, 1),
        Err(Errno::EAGAIN),
        "the condition word changed"
    );
    assert_eq!(
        op(&mut s, &mut m, 10, COND, g::FUTEX_WAKE, 1, (0, 0, 0)),
        Err(Errno::EINVAL),
        "requeue-PI waiters only move with FUTEX_CMP_REQUEUE_PI"
    );
    // The mutex is free: 20 gets it at once and is woken, 30 moves to wait on the mutex.
    assert_eq!(cmp_requeue(&mut s, &mut m, 1, 5, 1), Err(Errno::EAGAIN));
    assert_eq!(cmp_requeue(&mut s, &mut m, 1, 5, 0), Ok(2));
    assert_eq!(s.woken, [20]);
    assert_eq!(word(&m, MUTEX), 20 | WAITERS);
    assert_eq!(s.table.waiters(k1), 0);
    assert_eq!(s.table.pi.owner(k2), Some(&20));
    assert!(s.table.pi.is_waiting(k2, &30));
    assert_eq!(
        resume_as(&mut s, &mut m, 20, requeue_rest(false), WaitEnd::Event),
        Step::Done(Ok(0)),
        "20 returns owning the mutex"
    );
    // 30 is on the mutex now: a signal there is EAGAIN and takes it off the key.
    assert_eq!(
        resume_as(&mut s, &mut m, 30, requeue_rest(false), WaitEnd::Signal),
        Step::Done(Err(Errno::EAGAIN))
    );
    assert!(s.table.pi.is_empty() && s.table.queued().next().is_none());
    // nr_wake must be 1, and the two words must differ.
    assert_eq!(cmp_requeue(&mut s, &mut m, 2, 1, 0), Err(Errno::EINVAL));
    assert_eq!(
        op(
            &mut s,
            &mut m,
            10,
            COND,
            g::FUTEX_WAIT_REQUEUE_PI,
            0,
            (0, COND, 0)
        ),
        Err(Errno::EINVAL)
    );
}

#[test]
fn a_requeued_waiter_gets_the_mutex_on_unlock_and_an_early_one_leaves_the_condition() {
    let (mut s, mut m) = setup();
    let (k1, k2) = (FutexKey::from(COND), FutexKey::from(MUTEX));
    set_word(&mut m, MUTEX, 10);
    for who in [20, 30] {
        assert_eq!(wait_requeue(&mut s, &mut m, who, 0), Err(Errno::ERESTART));
    }
    // 30 times out before any requeue: ETIMEDOUT, and it is off the condition.
    assert_eq!(
        resume_as(&mut s, &mut m, 30, requeue_rest(false), WaitEnd::Timeout),
        Step::Done(Err(Errno::ETIMEDOUT))
    );
    // The mutex is held by 10: 20 is moved to wait on it, not woken.
    assert_eq!(cmp_requeue(&mut s, &mut m, 1, 0, 0), Ok(1));
    assert!(s.woken.is_empty());
    assert_eq!(word(&m, MUTEX), 10 | WAITERS);
    assert!(s.table.pi.is_waiting(k2, &20) && s.table.waiters(k1) == 0);
    // A spurious wake-up of 20 blocks it again, on the mutex.
    assert_eq!(
        resume_as(&mut s, &mut m, 20, requeue_rest(false), WaitEnd::Event),
        Step::Blocked(requeue_rest(true), WaitEnd::Event)
    );
    assert_eq!(unlock_pi(&mut s, &mut m, 10, MUTEX), Ok(0));
    assert_eq!(s.woken, [20]);
    assert_eq!(word(&m, MUTEX), 20 | WAITERS);
    assert_eq!(
        resume_as(&mut s, &mut m, 20, requeue_rest(true), WaitEnd::Event),
        Step::Done(Ok(0))
    );
    assert!(s.table.pi.is_empty());
}

#[test]
fn call_runs_a_blocked_lock_to_its_end() {
    // With a block that returns at once as a wake, `call` loops: the waiter is still
    // queued (nobody unlocked), so it blocks again; a signal then ends it with EINTR.
    let (mut s, mut m) = setup();
    set_word(&mut m, RW, 10);
    s.current = 20;
    let lock = PiCall::Lock {
        deadline: None,
        trylock: false,
    };
    let mut step = start(&mut s, &mut m, UserPtr::new(RW), true, lock);
    let mut blocks = 0;
    while let Step::Blocked(pending, _) = step {
        blocks += 1;
        let why = if blocks < 3 {
            WaitEnd::Event
        } else {
            WaitEnd::Signal
        };
        step = resume(&mut s, &mut m, pending, why);
    }
    assert_eq!((step, blocks), (Step::Done(Err(Errno::EINTR)), 3));
    assert!(
        s.table.pi.is_empty(),
        "exactly one queue entry, cancelled once"
    );
}

#[test]
fn a_requeue_pi_waiter_that_owns_the_mutex_stays_on_the_condition_with_edeadlk() {
    // Bug 17 (docs/robustness.md): it was queued behind the lock it owns, waiting for itself.
    let (mut s, mut m) = setup();
    let (k1, k2) = (FutexKey::from(COND), FutexKey::from(MUTEX));
    set_word(&mut m, MUTEX, 30);
    for who in [20, 30] {
        assert_eq!(wait_requeue(&mut s, &mut m, who, 0), Err(Errno::ERESTART));
    }
    assert_eq!(cmp_requeue(&mut s, &mut m, 1, 5, 0), Err(Errno::EDEADLK));
    assert!(s.table.pi.is_waiting(k2, &20), "20 was moved before 30");
    assert_eq!(s.table.pi.owner(k2), Some(&30));
    assert_eq!(s.table.first(k1), Some((&30, Some(k2))), "30 stays");
    assert!(s.woken.is_empty());
    assert_eq!(
        resume_as(&mut s, &mut m, 30, requeue_rest(false), WaitEnd::Signal),
        Step::Done(Err(Errno::EINTR))
    );
}
