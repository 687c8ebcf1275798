use super::*;
use crate::syscalls::test_memory::{BAD, RO, RW, memory};
use oxv_abi::user::fake::FakeUserMemory;

/// A scheduler with one calling thread (1) whose blocks end as `outcome` says; an
/// [`WaitEnd::Event`] outcome stands for another thread's wake (it takes the caller off the
/// table, as a waker would).
struct Fake {
    table: FutexTable<u32>,
    woken: Vec<u32>,
    outcome: WaitEnd,
    deadlines: Vec<Option<u64>>,
    pi_calls: Vec<PiCall>,
}

const NOW_NS: u64 = 5_000;
const REALTIME_AT_BOOT_NS: i128 = 1_000_000;

impl Fake {
    fn new(outcome: WaitEnd) -> Fake {
        Fake {
            table: FutexTable::new(),
            woken: Vec::new(),
            outcome,
            deadlines: Vec::new(),
            pi_calls: Vec::new(),
        }
    }
}

impl FutexScheduler for Fake {
    type Thread = u32;

    fn key_of(
        &mut self,
        mem: &dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
    ) -> Result<FutexKey, Errno> {
        if !private {
            uaddr.read(mem)?;
        }
        Ok(FutexKey::from(uaddr.addr().get()))
    }

    fn current(&mut self) -> u32 {
        1
    }

    fn monotonic_ns(&mut self) -> u64 {
        NOW_NS
    }

    fn realtime_to_monotonic_ns(&mut self, realtime_ns: i128) -> u64 {
        (realtime_ns - REALTIME_AT_BOOT_NS).max(0) as u64
    }

    fn locked<R>(&mut self, f: impl FnOnce(&mut FutexTable<u32>, &mut Vec<u32>) -> R) -> R {
        f(&mut self.table, &mut self.woken)
    }

    fn block_if(
        &mut self,
        deadline: Option<u64>,
        register: impl FnOnce(&mut FutexTable<u32>, &u32) -> bool,
    ) -> Option<WaitEnd> {
        if !register(&mut self.table, &1) {
            return None;
        }
        self.deadlines.push(deadline);
        if self.outcome == WaitEnd::Event {
            while self.table.remove(&1) {}
        }
        Some(self.outcome)
    }

    fn tid(&self, thread: &u32) -> i32 {
        *thread as i32
    }

    fn thread_by_tid(&mut self, tid: i32) -> Option<u32> {
        (tid == 1).then_some(1)
    }

    fn cmpxchg_word(
        &mut self,
        _mem: &mut dyn UserMemory,
        _uaddr: UserPtr<u32>,
        _old: u32,
        _new: u32,
    ) -> Result<u32, Errno> {
        unreachable!("the PI calls are recorded, not carried out")
    }

    fn pi(
        &mut self,
        _mem: &mut dyn UserMemory,
        _uaddr: UserPtr<u32>,
        _private: bool,
        call: PiCall,
    ) -> SysResult {
        self.pi_calls.push(call);
        Ok(0)
    }
}

const PRIVATE: i32 = PRIVATE_FLAG;

fn word(mem: &mut FakeUserMemory, addr: u64, v: u32) {
    mem.poke(addr, &v.to_ne_bytes());
}

fn read(mem: &FakeUserMemory, addr: u64) -> u32 {
    u32::from_ne_bytes(mem.peek(addr, 4).try_into().expect("4 bytes"))
}

fn ts(mem: &mut FakeUserMemory, addr: u64, sec: i64, nsec: i64) {
    mem.poke(addr, &sec.to_ne_bytes());
    mem.poke(addr + 8, &nsec.to_ne_bytes());
}

#[allow(clippy::too_many_arguments)]
fn call(
    s: &mut Fake,
    mem: &mut FakeUserMemory,
    uaddr: u64,
    op: i32,
    val: u32,
    timeout: u64,
    uaddr2: u64,
    val3: u32,
) -> SysResult {
    futex(
        s,
        mem,
        UserPtr::new(uaddr),
        op,
        val,
        timeout,
        UserPtr::new(uaddr2),
        val3,
    )
}

#[test]
fn wait_checks_the_timeout_then_the_op_then_alignment_then_the_word() {
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Event);
    word(&mut m, RW, 7);
    // A faulting timeout beats an unaligned word.
    assert_eq!(
        call(&mut s, &mut m, RW + 1, WAIT, 7, BAD, 0, 0),
        Err(Errno::EFAULT)
    );
    ts(&mut m, RW + 0x100, 0, 1_000_000_000);
    assert_eq!(
        call(&mut s, &mut m, RW + 1, WAIT, 7, RW + 0x100, 0, 0),
        Err(Errno::EINVAL),
        "tv_nsec out of range"
    );
    assert_eq!(
        call(
            &mut s,
            &mut m,
            RW + 1,
            WAIT | CLOCK_REALTIME_FLAG,
            7,
            0,
            0,
            0
        ),
        Err(Errno::ENOSYS),
        "FUTEX_CLOCK_REALTIME only with the absolute waits"
    );
    assert_eq!(
        call(&mut s, &mut m, RW + 1, WAIT_BITSET, 7, 0, 0, 0),
        Err(Errno::EINVAL),
        "bitset 0 beats alignment"
    );
    assert_eq!(
        call(&mut s, &mut m, RW + 1, WAIT, 7, 0, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut s, &mut m, RW, WAIT, 8, 0, 0, 0),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        call(&mut s, &mut m, BAD, WAIT | PRIVATE, 8, 0, 0, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(call(&mut s, &mut m, RW, 14, 0, 0, 0, 0), Err(Errno::ENOSYS));
    assert!(s.deadlines.is_empty(), "nothing blocked");
    assert_eq!(call(&mut s, &mut m, RW, WAIT, 7, 0, 0, 0), Ok(0));
    assert_eq!(s.deadlines, [None]);
}

#[test]
fn timeouts_are_relative_for_wait_and_absolute_for_the_rest() {
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Timeout);
    ts(&mut m, RW + 0x100, 2, 5);
    let t = RW + 0x100;
    let two_s = 2_000_000_005u64;
    assert_eq!(
        call(&mut s, &mut m, RW, WAIT, 0, t, 0, 0),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(
        call(&mut s, &mut m, RW, WAIT_BITSET, 0, t, 0, 1),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(
        call(
            &mut s,
            &mut m,
            RW,
            WAIT_BITSET | CLOCK_REALTIME_FLAG | PRIVATE,
            0,
            t,
            0,
            MATCH_ANY
        ),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(
        s.deadlines,
        [
            Some(NOW_NS + two_s),
            Some(two_s),
            Some(two_s - REALTIME_AT_BOOT_NS as u64)
        ]
    );
    assert_eq!(
        s.table.waiters(RW),
        0,
        "a timed-out waiter leaves the table"
    );
    // FUTEX_LOCK_PI is on CLOCK_REALTIME without the flag; FUTEX_LOCK_PI2 is not.
    call(&mut s, &mut m, RW, LOCK_PI, 0, t, 0, 0).unwrap();
    call(&mut s, &mut m, RW, LOCK_PI2, 0, t, 0, 0).unwrap();
    call(&mut s, &mut m, RW, TRYLOCK_PI, 0, t, 0, 0).unwrap();
    assert_eq!(
        s.pi_calls,
        [
            PiCall::Lock {
                deadline: Some(two_s - REALTIME_AT_BOOT_NS as u64),
                trylock: false
            },
            PiCall::Lock {
                deadline: Some(two_s),
                trylock: false
            },
            PiCall::Lock {
                deadline: None,
                trylock: true
            },
        ]
    );
}

#[test]
fn an_interrupted_wait_is_eintr_and_leaves_the_table() {
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Signal);
    s.table.enqueue(RW, 9, MATCH_ANY);
    assert_eq!(
        call(&mut s, &mut m, RW, WAIT | PRIVATE, 0, 0, 0, 0),
        Err(Errno::EINTR)
    );
    assert_eq!(s.table.waiters(RW), 1, "only the caller left");
}

#[test]
fn wake_honours_count_and_bitset_and_refuses_pi_waiters() {
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Event);
    for (who, bits) in [(2, 1), (3, 2), (4, MATCH_ANY)] {
        s.table.enqueue(RW, who, bits);
    }
    assert_eq!(
        call(&mut s, &mut m, RW, WAKE_BITSET, 5, 0, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(call(&mut s, &mut m, RW, WAKE_BITSET, 5, 0, 0, 2), Ok(2));
    assert_eq!(s.woken, [3, 4]);
    assert_eq!(
        call(&mut s, &mut m, RW + 2, WAKE, 5, 0, 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(call(&mut s, &mut m, RW, WAKE | PRIVATE, 0, 0, 0, 0), Ok(0));
    assert_eq!(call(&mut s, &mut m, RW, WAKE, 1, 0, 0, 0), Ok(1));
    // A shared wake of an unmapped word faults; a private one finds nobody.
    assert_eq!(
        call(&mut s, &mut m, BAD, WAKE, 1, 0, 0, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(call(&mut s, &mut m, BAD, WAKE | PRIVATE, 1, 0, 0, 0), Ok(0));
    s.table
        .enqueue_requeue_pi(FutexKey::from(RW), 5, FutexKey::from(RW + 4));
    assert_eq!(
        call(&mut s, &mut m, RW, WAKE, 1, 0, 0, 0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn cmp_requeue_compares_then_wakes_and_moves() {
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Event);
    word(&mut m, RW, 3);
    for who in 2..6 {
        s.table.enqueue(RW, who, MATCH_ANY);
    }
    let (from, to) = (RW, RW + 8);
    assert_eq!(
        call(&mut s, &mut m, from, CMP_REQUEUE, 1, 2, to, 4),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        call(&mut s, &mut m, from, CMP_REQUEUE, u32::MAX, 2, to, 3),
        Err(Errno::EINVAL),
        "negative counts"
    );
    assert_eq!(
        call(&mut s, &mut m, from, CMP_REQUEUE, 1, 2, to + 1, 3),
        Err(Errno::EINVAL)
    );
    assert_eq!(call(&mut s, &mut m, from, CMP_REQUEUE, 1, 2, to, 3), Ok(3));
    assert_eq!(s.woken, [2]);
    assert_eq!((s.table.waiters(from), s.table.waiters(to)), (1, 2));
    // Plain FUTEX_REQUEUE does not read the word.
    assert_eq!(call(&mut s, &mut m, from, REQUEUE, 0, 9, to, 12345), Ok(1));
    assert_eq!(s.table.waiters(to), 3);
}

#[test]
fn wake_op_changes_the_word_and_wakes_by_the_old_value() {
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Event);
    let (a, b) = (RW, RW + 4);
    s.table.enqueue(a, 1, MATCH_ANY);
    s.table.enqueue(b, 2, MATCH_ANY);
    s.table.enqueue(b, 3, MATCH_ANY);
    word(&mut m, b, 5);
    // op ADD 2, cmp GT 4: old 5 > 4, so b's waiters are woken too.
    let encoded = (uapi::FUTEX_OP_ADD << 28) | (uapi::FUTEX_OP_CMP_GT << 24) | (2 << 12) | 4;
    assert_eq!(call(&mut s, &mut m, a, WAKE_OP, 1, 1, b, encoded), Ok(2));
    assert_eq!(read(&m, b), 7);
    assert_eq!(s.woken, [1, 2]);
    // OPARG_SHIFT: oparg 3 means 1 << 3; OR it in; cmp EQ 0 fails (old is 7).
    let shift = ((uapi::FUTEX_OP_OR | uapi::FUTEX_OP_OPARG_SHIFT) << 28) | (3 << 12);
    assert_eq!(call(&mut s, &mut m, a, WAKE_OP, 1, 1, b, shift), Ok(0));
    assert_eq!(read(&m, b), 15);
    let too_far = ((uapi::FUTEX_OP_OR | uapi::FUTEX_OP_OPARG_SHIFT) << 28) | (32 << 12);
    assert_eq!(
        call(&mut s, &mut m, a, WAKE_OP, 1, 1, b, too_far),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut s, &mut m, a, WAKE_OP, 1, 1, b, 5 << 28),
        Err(Errno::ENOSYS)
    );
    assert_eq!(
        call(&mut s, &mut m, a, WAKE_OP, 1, 1, b, 6 << 24),
        Err(Errno::ENOSYS)
    );
    // A read-only word faults on the write, before any wake.
    word(&mut m, RO, 0);
    assert_eq!(
        call(&mut s, &mut m, a, WAKE_OP | PRIVATE, 1, 1, RO, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(s.table.waiters(b), 1);
}

#[test]
fn wake_op_refuses_requeue_pi_and_pi_waiters_after_changing_the_word() {
    // Bug 16 (docs/robustness.md): a FUTEX_WAIT_REQUEUE_PI waiter woken by FUTEX_WAKE_OP
    // returned as the owner of a PI mutex it never got.
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Event);
    let (cond, other, mutex) = (RW, RW + 8, RW + 16);
    s.table
        .enqueue_requeue_pi(FutexKey::from(cond), 7, FutexKey::from(mutex));
    s.table.enqueue(other, 8, MATCH_ANY);
    word(&mut m, RW + 32, 0);
    let set_1_if_eq_0 = (uapi::FUTEX_OP_SET << 28) | (1 << 12);
    assert_eq!(
        call(&mut s, &mut m, cond, WAKE_OP, 1, 1, RW + 32, set_1_if_eq_0),
        Err(Errno::EINVAL)
    );
    assert_eq!(read(&m, RW + 32), 1, "the word changed first, as in Linux");
    assert!(s.table.has_requeue_pi_waiter(FutexKey::from(cond)));
    // On the second key: the first key's waiter is woken all the same.
    assert_eq!(
        call(&mut s, &mut m, other, WAKE_OP, 1, 1, cond, set_1_if_eq_0),
        Err(Errno::EINVAL)
    );
    assert_eq!(s.woken, [8]);
    // PI waiters wait for an unlock.
    s.table.pi.enqueue(FutexKey::from(mutex), 9, 7);
    assert_eq!(
        call(&mut s, &mut m, mutex, WAKE_OP, 1, 0, RW + 32, 0),
        Err(Errno::EINVAL)
    );
}

fn waitv_entry(mem: &mut FakeUserMemory, at: u64, val: u64, uaddr: u64, flags: u64) {
    mem.poke(at, &val.to_ne_bytes());
    mem.poke(at + 8, &uaddr.to_ne_bytes());
    mem.poke(at + 16, &flags.to_ne_bytes());
}

#[test]
fn waitv_validates_in_order_and_returns_the_woken_index() {
    let mut m = memory();
    let mut s = Fake::new(WaitEnd::Signal);
    let arr = RW + 0x200;
    let u32_private = u64::from(uapi::FUTEX2_SIZE_U32 | uapi::FUTEX2_PRIVATE);
    waitv_entry(&mut m, arr, 0, RW, u32_private);
    waitv_entry(&mut m, arr + 24, 0, RW + 4, u32_private);
    let none = UserPtr::new(0);
    let w = UserAddr::new(arr);
    let waitv = |s: &mut Fake, m: &FakeUserMemory, n, flags, t, clock| {
        futex_waitv(s, m, w, n, flags, t, clock)
    };
    assert_eq!(waitv(&mut s, &m, 2, 1, none, 0), Err(Errno::EINVAL));
    assert_eq!(waitv(&mut s, &m, 0, 0, none, 0), Err(Errno::EINVAL));
    assert_eq!(waitv(&mut s, &m, 129, 0, none, 0), Err(Errno::EINVAL));
    let mono = uapi::CLOCK_MONOTONIC as i32;
    assert_eq!(
        waitv(&mut s, &m, 2, 0, UserPtr::new(BAD), 7),
        Err(Errno::EINVAL),
        "the clock before the timeout's copy"
    );
    assert_eq!(
        waitv(&mut s, &m, 2, 0, UserPtr::new(BAD), mono),
        Err(Errno::EFAULT)
    );
    assert_eq!(waitv(&mut s, &m, 2, 0, none, 0), Err(Errno::EINTR));
    assert_eq!(s.table.waiters(RW) + s.table.waiters(RW + 4), 0);
    word(&mut m, RW + 4, 1);
    assert_eq!(waitv(&mut s, &m, 2, 0, none, 0), Err(Errno::EAGAIN));
    assert_eq!(
        s.table.waiters(RW),
        0,
        "queued on the first, then taken off"
    );
    waitv_entry(&mut m, arr + 24, 1 << 32, RW + 4, u32_private);
    assert_eq!(waitv(&mut s, &m, 2, 0, none, 0), Err(Errno::EINVAL));
    waitv_entry(&mut m, arr + 24, 1, RW + 2, u32_private);
    assert_eq!(waitv(&mut s, &m, 2, 0, none, 0), Err(Errno::EINVAL));
    waitv_entry(&mut m, arr + 24, 1, RW + 4, u32_private);
    s.outcome = WaitEnd::Event;
    assert_eq!(waitv(&mut s, &m, 2, 0, none, 0), Ok(1), "the highest index");
    assert_eq!(s.table.waiters(RW) + s.table.waiters(RW + 4), 0);
}
