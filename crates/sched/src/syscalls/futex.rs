//! futex(2) and futex_waitv(2) over the [`FutexTable`]: op and flag decoding, validation,
//! the compare of the futex word, the wakes, requeues, `FUTEX_WAKE_OP`, and the timeouts.
//!
//! The embedder supplies what needs a scheduler ([`FutexScheduler`]): a word's key, the
//! calling thread, the lock wakers hold (the table lives under it), blocking with a deadline,
//! and its clocks. The compare of the word and the enqueue happen in one closure run under
//! that lock ([`FutexScheduler::block_if`]), which is what makes `FUTEX_WAIT` atomic with
//! respect to wakes.
//!
//! Checks happen in Linux's order: the timeout is copied and validated first, then the op,
//! then alignment, then the word. Timeouts: `FUTEX_WAIT`'s is relative on
//! `CLOCK_MONOTONIC`; the others are absolute, on `CLOCK_REALTIME` for `FUTEX_LOCK_PI`
//! always and with `FUTEX_CLOCK_REALTIME` for the rest (futex(2)). A wait interrupted by a
//! signal is `EINTR`; the embedder decides whether the call restarts.
//!
//! The PI operations (`FUTEX_LOCK_PI`, `FUTEX_LOCK_PI2`, `FUTEX_TRYLOCK_PI`,
//! `FUTEX_UNLOCK_PI`, `FUTEX_WAIT_REQUEUE_PI`, `FUTEX_CMP_REQUEUE_PI`) are decoded and
//! validated here and carried out in [`pi`], through [`FutexScheduler::pi`] (whose default
//! is [`pi::call`]). They need two more things of the embedder: an atomic
//! compare-and-exchange on the user word ([`FutexScheduler::cmpxchg_word`]) and threads by
//! TID ([`FutexScheduler::tid`], [`FutexScheduler::thread_by_tid`]). The word protocol they
//! follow is [`crate::futex::pi`].

use crate::futex::{FutexKey, FutexTable, MATCH_ANY};
use alloc::vec::Vec;
use linux_raw_sys::general as uapi;
use oxv_abi::linux::time::Timespec;
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};

pub mod pi;

const WAIT: i32 = uapi::FUTEX_WAIT as i32;
const WAKE: i32 = uapi::FUTEX_WAKE as i32;
const REQUEUE: i32 = uapi::FUTEX_REQUEUE as i32;
const CMP_REQUEUE: i32 = uapi::FUTEX_CMP_REQUEUE as i32;
const WAKE_OP: i32 = uapi::FUTEX_WAKE_OP as i32;
const LOCK_PI: i32 = uapi::FUTEX_LOCK_PI as i32;
const UNLOCK_PI: i32 = uapi::FUTEX_UNLOCK_PI as i32;
const TRYLOCK_PI: i32 = uapi::FUTEX_TRYLOCK_PI as i32;
const WAIT_BITSET: i32 = uapi::FUTEX_WAIT_BITSET as i32;
const WAKE_BITSET: i32 = uapi::FUTEX_WAKE_BITSET as i32;
const WAIT_REQUEUE_PI: i32 = uapi::FUTEX_WAIT_REQUEUE_PI as i32;
const CMP_REQUEUE_PI: i32 = uapi::FUTEX_CMP_REQUEUE_PI as i32;
const LOCK_PI2: i32 = uapi::FUTEX_LOCK_PI2 as i32;
const PRIVATE_FLAG: i32 = uapi::FUTEX_PRIVATE_FLAG as i32;
const CLOCK_REALTIME_FLAG: i32 = uapi::FUTEX_CLOCK_REALTIME as i32;

/// Why a blocked wait ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WaitEnd {
    /// Woken (a wake took the thread off the table, or a spurious wake-up).
    Event,
    /// The deadline passed.
    Timeout,
    /// A signal is pending.
    Signal,
}

/// A PI operation, decoded and validated, for the embedder to carry out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PiCall {
    /// `FUTEX_LOCK_PI`, `FUTEX_LOCK_PI2` (`deadline`: monotonic ns) or, with `trylock`,
    /// `FUTEX_TRYLOCK_PI`.
    Lock {
        /// When the wait gives up (`CLOCK_MONOTONIC` ns), if ever.
        deadline: Option<u64>,
        /// `FUTEX_TRYLOCK_PI`: never wait.
        trylock: bool,
    },
    /// `FUTEX_UNLOCK_PI`.
    Unlock,
    /// `FUTEX_WAIT_REQUEUE_PI`: wait on the word while it holds `val`, to be moved to the PI
    /// futex `uaddr2`.
    WaitRequeue {
        /// The value expected in the word.
        val: u32,
        /// When the wait gives up (`CLOCK_MONOTONIC` ns), if ever.
        deadline: Option<u64>,
        /// The PI futex.
        uaddr2: UserPtr<u32>,
    },
    /// `FUTEX_CMP_REQUEUE_PI` (`val` and `nr_requeue` are checked non-negative already).
    CmpRequeue {
        /// How many to wake (Linux allows only 1).
        val: u32,
        /// How many to move to `uaddr2`.
        nr_requeue: usize,
        /// The PI futex.
        uaddr2: UserPtr<u32>,
        /// The value expected in the word.
        cmpval: u32,
    },
}

/// What futex(2) needs from the scheduler that embeds it.
///
/// The generic methods take closures that run under the embedder's lock (the one wakers
/// hold); they must not block or take that lock again.
pub trait FutexScheduler {
    /// A thread as the table queues it.
    type Thread: Clone + PartialEq;

    /// The key of the word at `uaddr` (Linux's `get_futex_key`): for a private futex (or a
    /// shared one in private memory) its address space and address; for a shared futex in
    /// shared memory, an identity every process mapping the word agrees on. `mem` is the
    /// caller's memory, for embedders that must fault the word in first (`EFAULT`).
    fn key_of(
        &mut self,
        mem: &dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
    ) -> Result<FutexKey, Errno>;

    /// The calling thread.
    fn current(&mut self) -> Self::Thread;

    /// `CLOCK_MONOTONIC` now, in ns since boot.
    fn monotonic_ns(&mut self) -> u64;

    /// The `CLOCK_MONOTONIC` time at which `CLOCK_REALTIME` reads `realtime_ns`.
    fn realtime_to_monotonic_ns(&mut self, realtime_ns: i128) -> u64;

    /// Runs `f` under the lock with the table; every thread `f` pushes on its second argument
    /// is made runnable (woken with [`WaitEnd::Event`]) before the lock is released.
    fn locked<R>(
        &mut self,
        f: impl FnOnce(&mut FutexTable<Self::Thread>, &mut Vec<Self::Thread>) -> R,
    ) -> R;

    /// Runs `register` under the lock with the table and the calling thread: if it returns
    /// false the thread does not block and `None` is returned; if true, the thread blocks
    /// (atomically with the registration: a wake after it is not lost) until it is woken,
    /// `deadline` (`CLOCK_MONOTONIC` ns) passes, or a signal comes.
    fn block_if(
        &mut self,
        deadline: Option<u64>,
        register: impl FnOnce(&mut FutexTable<Self::Thread>, &Self::Thread) -> bool,
    ) -> Option<WaitEnd>;

    /// The TID of `thread` (what a PI lock word holds).
    fn tid(&self, thread: &Self::Thread) -> i32;

    /// The thread whose TID is `tid`, if it exists (the owner a PI lock word names).
    fn thread_by_tid(&mut self, tid: i32) -> Option<Self::Thread>;

    /// Atomically replaces the user word at `uaddr` (aligned) with `new` if it holds `old`,
    /// as a user `lock cmpxchg` would; returns the value found, which is `old` exactly when
    /// the word was replaced. `EFAULT` where a user store would fault.
    fn cmpxchg_word(
        &mut self,
        mem: &mut dyn UserMemory,
        uaddr: UserPtr<u32>,
        old: u32,
        new: u32,
    ) -> Result<u32, Errno>;

    /// Carries out a PI operation on the word at `uaddr` ([`pi::call`], which blocks as
    /// [`FutexScheduler::block_if`] does; an embedder that simulates blocking overrides it
    /// to stop at [`pi::Step::Blocked`]).
    fn pi(
        &mut self,
        mem: &mut dyn UserMemory,
        uaddr: UserPtr<u32>,
        private: bool,
        call: PiCall,
    ) -> SysResult
    where
        Self: Sized,
    {
        pi::call(self, mem, uaddr, private, call)
    }
}

/// The command of a futex(2) `op` (without `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`).
pub const fn command(op: i32) -> i32 {
    op & !(PRIVATE_FLAG | CLOCK_REALTIME_FLAG)
}

/// Whether `op` is one of the PI operations ([`FutexScheduler::pi`] carries them out).
pub const fn is_pi(op: i32) -> bool {
    matches!(
        command(op),
        LOCK_PI | LOCK_PI2 | TRYLOCK_PI | UNLOCK_PI | WAIT_REQUEUE_PI | CMP_REQUEUE_PI
    )
}

/// `EINVAL` unless the word at `uaddr` is 4-byte aligned.
pub fn check_aligned(uaddr: UserPtr<u32>) -> Result<(), Errno> {
    if uaddr.addr().get() % 4 != 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

/// futex(uaddr, op, val, timeout/val2, uaddr2, val3).
#[allow(clippy::too_many_arguments)] // the call's six arguments plus the embedder's two
pub fn futex<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    uaddr: UserPtr<u32>,
    op: i32,
    val: u32,
    timeout: u64,
    uaddr2: UserPtr<u32>,
    val3: u32,
) -> SysResult {
    let cmd = command(op);
    let private = op & PRIVATE_FLAG != 0;
    let realtime = op & CLOCK_REALTIME_FLAG != 0;
    let has_timeout = matches!(
        cmd,
        WAIT | WAIT_BITSET | LOCK_PI | LOCK_PI2 | WAIT_REQUEUE_PI
    );
    let deadline = if timeout != 0 && has_timeout {
        let ns = UserPtr::<Timespec>::new(timeout).read(mem)?.to_nanos()?;
        Some(if cmd == WAIT {
            s.monotonic_ns().saturating_add(ns)
        } else if realtime || cmd == LOCK_PI {
            s.realtime_to_monotonic_ns(ns as i128)
        } else {
            ns
        })
    } else {
        None
    };
    if realtime && !matches!(cmd, WAIT_BITSET | WAIT_REQUEUE_PI | LOCK_PI2) {
        return Err(Errno::ENOSYS);
    }
    // For the requeue ops the "timeout" register is val2, an int count.
    let val2 = timeout as u32 as i32;
    match cmd {
        WAIT | WAIT_BITSET => {
            let bitset = if cmd == WAIT { MATCH_ANY } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            check_aligned(uaddr)?;
            let key = s.key_of(mem, uaddr, private)?;
            wait(s, mem, uaddr, key, val, bitset, deadline)
        }
        WAKE | WAKE_BITSET => {
            let bitset = if cmd == WAKE { MATCH_ANY } else { val3 };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            check_aligned(uaddr)?;
            let key = s.key_of(mem, uaddr, private)?;
            wake(s, key, val as usize, bitset)
        }
        REQUEUE | CMP_REQUEUE => {
            if (val as i32) < 0 || val2 < 0 {
                return Err(Errno::EINVAL);
            }
            check_aligned(uaddr)?;
            check_aligned(uaddr2)?;
            let from = s.key_of(mem, uaddr, private)?;
            let to = s.key_of(mem, uaddr2, private)?;
            let cmpval = (cmd == CMP_REQUEUE).then_some(val3);
            requeue(
                s,
                mem,
                uaddr,
                (from, to),
                cmpval,
                val as usize,
                val2 as usize,
            )
        }
        WAKE_OP => {
            check_aligned(uaddr)?;
            check_aligned(uaddr2)?;
            let keys = (
                s.key_of(mem, uaddr, private)?,
                s.key_of(mem, uaddr2, private)?,
            );
            wake_op(
                s,
                mem,
                keys,
                uaddr2,
                val as usize,
                val2.max(0) as usize,
                val3,
            )
        }
        LOCK_PI | LOCK_PI2 => s.pi(
            mem,
            uaddr,
            private,
            PiCall::Lock {
                deadline,
                trylock: false,
            },
        ),
        TRYLOCK_PI => s.pi(
            mem,
            uaddr,
            private,
            PiCall::Lock {
                deadline: None,
                trylock: true,
            },
        ),
        UNLOCK_PI => s.pi(mem, uaddr, private, PiCall::Unlock),
        WAIT_REQUEUE_PI => s.pi(
            mem,
            uaddr,
            private,
            PiCall::WaitRequeue {
                val,
                deadline,
                uaddr2,
            },
        ),
        CMP_REQUEUE_PI => {
            if (val as i32) < 0 || val2 < 0 {
                return Err(Errno::EINVAL);
            }
            s.pi(
                mem,
                uaddr,
                private,
                PiCall::CmpRequeue {
                    val,
                    nr_requeue: val2 as usize,
                    uaddr2,
                    cmpval: val3,
                },
            )
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// FUTEX_WAIT(_BITSET): blocks on `key` while the word at `uaddr` holds `val`.
fn wait<S: FutexScheduler>(
    s: &mut S,
    mem: &dyn UserMemory,
    uaddr: UserPtr<u32>,
    key: FutexKey,
    val: u32,
    bitset: u32,
    deadline: Option<u64>,
) -> SysResult {
    let mut mismatch: Result<(), Errno> = Ok(());
    let why = s.block_if(deadline, |table, me| match uaddr.read(mem) {
        Ok(v) if v == val => {
            table.enqueue(key, me.clone(), bitset);
            true
        }
        Ok(_) => {
            mismatch = Err(Errno::EAGAIN);
            false
        }
        Err(e) => {
            mismatch = Err(e.into());
            false
        }
    });
    mismatch?;
    match why {
        Some(WaitEnd::Event) | None => Ok(0),
        Some(other) => {
            let me = s.current();
            Err(cancel_wait(s, &me, other))
        }
    }
}

/// A `FUTEX_WAIT` of `who` ended by `why` (a timeout or a signal) rather than by a wake:
/// takes it off the table if a wake has not already, and returns the call's error
/// (`ETIMEDOUT` or `EINTR`).
pub fn cancel_wait<S: FutexScheduler>(s: &mut S, who: &S::Thread, why: WaitEnd) -> Errno {
    s.locked(|table, _| table.remove(who));
    if why == WaitEnd::Timeout {
        Errno::ETIMEDOUT
    } else {
        Errno::EINTR
    }
}

/// FUTEX_WAKE(_BITSET).
fn wake<S: FutexScheduler>(s: &mut S, key: FutexKey, n: usize, bitset: u32) -> SysResult {
    s.locked(|table, woken| {
        // Waiters of a PI futex wait for an unlock, not a wake (Linux: EINVAL).
        if !table.pi.is_empty() && table.pi.contains(key) || table.has_requeue_pi_waiter(key) {
            return Err(Errno::EINVAL);
        }
        let taken = table.wake(key, n, bitset);
        let count = taken.len();
        hand_over(woken, taken);
        Ok(count)
    })
}

/// FUTEX_REQUEUE, and with `cmpval` FUTEX_CMP_REQUEUE: wakes `n_wake` on `from` and moves up
/// to `n_requeue` of the rest to `to`; returns how many were woken or moved.
fn requeue<S: FutexScheduler>(
    s: &mut S,
    mem: &dyn UserMemory,
    uaddr: UserPtr<u32>,
    (from, to): (FutexKey, FutexKey),
    cmpval: Option<u32>,
    n_wake: usize,
    n_requeue: usize,
) -> SysResult {
    s.locked(|table, woken| {
        if let Some(expected) = cmpval {
            if uaddr.read(mem)? != expected {
                return Err(Errno::EAGAIN);
            }
        }
        // FUTEX_WAIT_REQUEUE_PI waiters only move with FUTEX_CMP_REQUEUE_PI.
        if table.has_requeue_pi_waiter(from) {
            return Err(Errno::EINVAL);
        }
        let (taken, moved) = table.requeue(from, to, n_wake, n_requeue);
        let count = taken.len() + moved;
        hand_over(woken, taken);
        Ok(count)
    })
}

/// FUTEX_WAKE_OP's `val3`, decoded: `op` and `cmp` are checked, `oparg` shifted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct WakeOp {
    op: u32,
    oparg: u32,
    cmp: u32,
    cmparg: u32,
}

impl WakeOp {
    /// `EINVAL` for a shift by more than 31, `ENOSYS` for an unknown op or comparison.
    fn decode(encoded: u32) -> Result<WakeOp, Errno> {
        let mut op = (encoded >> 28) & 0xf;
        let cmp = (encoded >> 24) & 0xf;
        let sign12 = |v: u32| ((v << 20) as i32 >> 20) as u32;
        let mut oparg = sign12((encoded >> 12) & 0xfff);
        let cmparg = sign12(encoded & 0xfff);
        if op & uapi::FUTEX_OP_OPARG_SHIFT != 0 {
            op &= 7;
            if oparg > 31 {
                return Err(Errno::EINVAL);
            }
            oparg = 1 << oparg;
        }
        if op > uapi::FUTEX_OP_XOR || cmp > uapi::FUTEX_OP_CMP_GE {
            return Err(Errno::ENOSYS);
        }
        Ok(WakeOp {
            op,
            oparg,
            cmp,
            cmparg,
        })
    }

    /// The new value of a word that held `old`.
    fn apply(self, old: u32) -> u32 {
        match self.op {
            uapi::FUTEX_OP_SET => self.oparg,
            uapi::FUTEX_OP_ADD => old.wrapping_add(self.oparg),
            uapi::FUTEX_OP_OR => old | self.oparg,
            uapi::FUTEX_OP_ANDN => old & !self.oparg,
            _ => old ^ self.oparg,
        }
    }

    /// Whether the old value passes the comparison (signed, as Linux compares).
    fn compare(self, old: u32) -> bool {
        let (o, c) = (old as i32, self.cmparg as i32);
        match self.cmp {
            uapi::FUTEX_OP_CMP_EQ => o == c,
            uapi::FUTEX_OP_CMP_NE => o != c,
            uapi::FUTEX_OP_CMP_LT => o < c,
            uapi::FUTEX_OP_CMP_LE => o <= c,
            uapi::FUTEX_OP_CMP_GT => o > c,
            _ => o >= c,
        }
    }
}

const _: () = assert!(
    uapi::FUTEX_OP_SET == 0
        && uapi::FUTEX_OP_ADD == 1
        && uapi::FUTEX_OP_OR == 2
        && uapi::FUTEX_OP_ANDN == 3
        && uapi::FUTEX_OP_XOR == 4
        && uapi::FUTEX_OP_OPARG_SHIFT == 8
        && uapi::FUTEX_OP_CMP_EQ == 0
        && uapi::FUTEX_OP_CMP_GE == 5
);

/// FUTEX_WAKE_OP: atomically `old = *uaddr2; *uaddr2 = op(old, oparg)`, wake `n1` on
/// `uaddr`, and `n2` on `uaddr2` if `cmp(old, cmparg)`.
fn wake_op<S: FutexScheduler>(
    s: &mut S,
    mem: &mut dyn UserMemory,
    (key, key2): (FutexKey, FutexKey),
    uaddr2: UserPtr<u32>,
    n1: usize,
    n2: usize,
    encoded: u32,
) -> SysResult {
    let op = WakeOp::decode(encoded)?;
    // Waiters of a PI futex wait for an unlock, and a FUTEX_WAIT_REQUEUE_PI waiter for a
    // FUTEX_CMP_REQUEUE_PI: neither is woken here (Linux's futex_wake_op: EINVAL, after the
    // word was changed).
    let refuses = |table: &FutexTable<S::Thread>, key| {
        !table.pi.is_empty() && table.pi.contains(key) || table.has_requeue_pi_waiter(key)
    };
    s.locked(|table, woken| {
        let old = uaddr2.read(mem)?;
        uaddr2.write(mem, &op.apply(old))?;
        if refuses(table, key) {
            return Err(Errno::EINVAL);
        }
        let mut count = 0;
        let taken = table.wake(key, n1, MATCH_ANY);
        count += taken.len();
        hand_over(woken, taken);
        if op.compare(old) {
            if refuses(table, key2) {
                // Those taken from `key` are woken all the same, as Linux's.
                return Err(Errno::EINVAL);
            }
            let taken = table.wake(key2, n2, MATCH_ANY);
            count += taken.len();
            hand_over(woken, taken);
        }
        Ok(count)
    })
}

/// The three quadwords of a `struct futex_waitv`: `val`, `uaddr`, then `flags` in the low
/// half and `__reserved` in the high half.
type RawWaitv = [u64; 3];
const _: () = assert!(size_of::<uapi::futex_waitv>() == size_of::<RawWaitv>());
const _: () = assert!(core::mem::offset_of!(uapi::futex_waitv, uaddr) == 8);
const _: () = assert!(core::mem::offset_of!(uapi::futex_waitv, flags) == 16);

/// The entry flags Linux knows (`FUTEX2_VALID_MASK`).
const VALID_FLAGS: u32 =
    uapi::FUTEX2_SIZE_MASK | uapi::FUTEX2_NUMA | uapi::FUTEX2_MPOL | uapi::FUTEX2_PRIVATE;

/// One word of a futex_waitv(2) to wait on.
struct WaitvEntry {
    uaddr: UserPtr<u32>,
    val: u32,
    key: FutexKey,
}

/// futex_waitv(waiters, nr_futexes, flags, timeout, clockid): waits on up to 128 futex
/// words at once, until a `FUTEX_WAKE` on any of them.
///
/// Linux's `sys_futex_waitv` order: flags, then the count and the array pointer, then the
/// clock and the timeout, then each entry's flags, reserved field and value width, then each
/// word's alignment and key, then the values. 32-bit words only (`FUTEX2_SIZE_U32`, with or
/// without `FUTEX2_PRIVATE`); an absolute timeout on `CLOCK_MONOTONIC` or `CLOCK_REALTIME`.
/// The thread is queued on every word's key under the lock after comparing each word, so a
/// wake cannot slip in between; it returns the index of a woken word (the highest, if
/// several wakes came before it ran), `EAGAIN` if a word differed, `ETIMEDOUT`, or `EINTR`.
///
/// Not supported: `FUTEX2_NUMA` and `FUTEX2_MPOL` (`EINVAL`; Linux accepts them on NUMA
/// builds).
pub fn futex_waitv<S: FutexScheduler>(
    s: &mut S,
    mem: &dyn UserMemory,
    waiters: UserAddr,
    nr_futexes: u32,
    flags: u32,
    timeout: UserPtr<Timespec>,
    clockid: i32,
) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if nr_futexes == 0 || nr_futexes > uapi::FUTEX_WAITV_MAX || waiters.is_null() {
        return Err(Errno::EINVAL);
    }
    let deadline = if timeout.is_null() {
        None
    } else {
        let realtime = clockid == uapi::CLOCK_REALTIME as i32;
        if !realtime && clockid != uapi::CLOCK_MONOTONIC as i32 {
            return Err(Errno::EINVAL);
        }
        let ns = timeout.read(mem)?.to_nanos()?;
        Some(if realtime {
            s.realtime_to_monotonic_ns(ns as i128)
        } else {
            ns
        })
    };
    let mut raw = Vec::with_capacity(nr_futexes as usize);
    for i in 0..u64::from(nr_futexes) {
        let at = UserPtr::<RawWaitv>::new(waiters.get().wrapping_add(i * 24));
        let [val, uaddr, flags_reserved] = at.read(mem)?;
        let (flags, reserved) = (flags_reserved as u32, (flags_reserved >> 32) as u32);
        if flags & !VALID_FLAGS != 0 || reserved != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & uapi::FUTEX2_SIZE_MASK != uapi::FUTEX2_SIZE_U32
            || flags & (uapi::FUTEX2_NUMA | uapi::FUTEX2_MPOL) != 0
            || val >> 32 != 0
        {
            return Err(Errno::EINVAL);
        }
        raw.push((
            UserPtr::<u32>::new(uaddr),
            val as u32,
            flags & uapi::FUTEX2_PRIVATE != 0,
        ));
    }
    let mut entries = Vec::with_capacity(raw.len());
    for (uaddr, val, private) in raw {
        check_aligned(uaddr)?;
        let key = s.key_of(mem, uaddr, private)?;
        entries.push(WaitvEntry { uaddr, val, key });
    }
    let me = s.current();
    loop {
        let mut refused = Ok(());
        let why = s.block_if(deadline, |table, me| {
            for (i, e) in entries.iter().enumerate() {
                let differs = match e.uaddr.read(mem) {
                    Ok(v) if v == e.val => None,
                    Ok(_) => Some(Errno::EAGAIN),
                    Err(err) => Some(err.into()),
                };
                if let Some(err) = differs {
                    for queued in &entries[..i] {
                        table.remove_from(queued.key, me);
                    }
                    refused = Err(err);
                    return false;
                }
                table.enqueue(e.key, me.clone(), MATCH_ANY);
            }
            true
        });
        let Some(why) = why else {
            refused?;
            continue;
        };
        let woken = s.locked(|table, _| {
            let mut woken = None;
            for (i, e) in entries.iter().enumerate() {
                if !table.remove_from(e.key, &me) {
                    woken = Some(i);
                }
            }
            // A requeue may have moved an entry to another key: it must not stay there.
            while table.remove(&me) {}
            woken
        });
        if let Some(i) = woken {
            return Ok(i);
        }
        match why {
            WaitEnd::Timeout => return Err(Errno::ETIMEDOUT),
            WaitEnd::Signal => return Err(Errno::EINTR),
            WaitEnd::Event => {}
        }
    }
}

/// Moves `taken` into `woken`: the table's own vector when `woken` is still empty (the
/// common single wake), so a wake costs no second allocation.
fn hand_over<T>(woken: &mut Vec<T>, taken: Vec<T>) {
    if woken.is_empty() {
        *woken = taken;
    } else {
        woken.extend(taken);
    }
}

#[cfg(test)]
mod tests;
