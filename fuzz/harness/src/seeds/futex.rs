//! A hand-written seed for futex(2) and futex_waitv(2) over the harness's fake threads (see
//! `route/futex.rs`): waits that park threads 0-3 in turn, wakes by bitset, a requeue, a
//! `FUTEX_WAKE_OP`, timeouts on both clocks that expire as the clock moves, futex_waitv's
//! checks, the errors of each op, and threads left parked for teardown to end; and one for
//! the PI operations ([`pi_tour`]).

use super::{call, s, v};
use crate::input::{Op, SCRATCH_BASE};
use linux_raw_sys::general as g;
use oxv_abi::Sysno;

/// The futex words (scratch offsets).
const A: u16 = 0x800;
const B: u16 = 0x804;
const C: u16 = 0x808;
/// A timespec.
const TS: u16 = 0x900;
/// A `struct futex_waitv[2]`.
const WAITV: u16 = 0xa00;

const PRIVATE: u64 = g::FUTEX_PRIVATE_FLAG as u64;

fn futex(uaddr: u16, op: u32, val: u64, timeout: u64, uaddr2: u16, val3: u64) -> Op {
    call(
        Sysno::futex,
        &[
            s(uaddr),
            v(op as u64),
            v(val),
            v(timeout),
            s(uaddr2),
            v(val3),
        ],
    )
}

fn poke_u64s(off: u16, words: &[u64]) -> Op {
    Op::Poke {
        off,
        bytes: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
    }
}

/// `FUTEX_WAKE_OP`'s `val3`: `op`, `oparg`, `cmp`, `cmparg`.
const fn wake_op(op: u32, oparg: u32, cmp: u32, cmparg: u32) -> u64 {
    ((op << 28) | (cmp << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)) as u64
}

/// The tour.
pub fn futex_tour() -> Vec<Op> {
    let ts = SCRATCH_BASE + TS as u64;
    let u32_private = (g::FUTEX2_SIZE_U32 | g::FUTEX2_PRIVATE) as u64;
    vec![
        // Thread 0 and 1 park on A (1 with bitset 2), thread 2 on B (shared): 3 runs.
        futex(A, g::FUTEX_WAIT | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0),
        futex(A, g::FUTEX_WAIT_BITSET | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 2),
        futex(B, g::FUTEX_WAIT, 0, 0, 0, 0),
        // Bitset 1 finds thread 0 only; bitset 2 then finds thread 1.
        futex(A, g::FUTEX_WAKE_BITSET | g::FUTEX_PRIVATE_FLAG, 5, 0, 0, 1),
        futex(A, g::FUTEX_WAKE_BITSET | g::FUTEX_PRIVATE_FLAG, 5, 0, 0, 2),
        // Park 3 and 0 on A, then move them to B behind thread 2 (A holds 0: the compare
        // passes), after a failed compare.
        futex(A, g::FUTEX_WAIT | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0),
        futex(A, g::FUTEX_WAIT | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0),
        futex(A, g::FUTEX_CMP_REQUEUE, 0, 5, B, 1),
        futex(A, g::FUTEX_CMP_REQUEUE, 0, 5, B, 0),
        // C += 1, wake one on B, and everyone on A if C was 0 (it was).
        futex(
            B,
            g::FUTEX_WAKE_OP,
            1,
            9,
            C,
            wake_op(g::FUTEX_OP_ADD, 1, g::FUTEX_OP_CMP_EQ, 0),
        ),
        // OPARG_SHIFT: C |= 1 << 4; cmp GT 100 fails.
        futex(
            B,
            g::FUTEX_WAKE_OP | g::FUTEX_PRIVATE_FLAG,
            0,
            1,
            C,
            wake_op(
                g::FUTEX_OP_OR | g::FUTEX_OP_OPARG_SHIFT,
                4,
                g::FUTEX_OP_CMP_GT,
                100,
            ),
        ),
        futex(B, g::FUTEX_WAKE, i32::MAX as u64, 0, 0, 0),
        // A relative timeout of 0.5 ms: it passes before the next call.
        poke_u64s(TS, &[0, 500_000]),
        futex(C, g::FUTEX_WAIT, 17, ts, 0, 0),
        futex(A, g::FUTEX_WAKE, 1, 0, 0, 0),
        // An absolute CLOCK_REALTIME timeout in the past, and a CLOCK_MONOTONIC one.
        poke_u64s(TS, &[1_700_000_000, 0]),
        futex(
            C,
            g::FUTEX_WAIT_BITSET | g::FUTEX_CLOCK_REALTIME,
            17,
            ts,
            0,
            u32::MAX as u64,
        ),
        poke_u64s(TS, &[0, 1]),
        futex(C, g::FUTEX_WAIT_BITSET, 17, ts, 0, u32::MAX as u64),
        futex(A, g::FUTEX_WAKE | g::FUTEX_PRIVATE_FLAG, 1, 0, 0, 0),
        // Errors: a changed word, an unaligned one, bitset 0, FUTEX_CLOCK_REALTIME on
        // FUTEX_WAIT, a negative requeue count, an unknown op, an unknown WAKE_OP op, a
        // shared wait on unmapped memory, a bad timeout.
        futex(C, g::FUTEX_WAIT, 0, 0, 0, 0),
        futex(A + 1, g::FUTEX_WAKE, 1, 0, 0, 0),
        futex(A, g::FUTEX_WAIT_BITSET, 0, 0, 0, 0),
        futex(A, g::FUTEX_WAIT | g::FUTEX_CLOCK_REALTIME, 0, 0, 0, 0),
        futex(A, g::FUTEX_REQUEUE, 0, u32::MAX as u64, B, 0),
        futex(A, 14, 0, 0, 0, 0),
        futex(B, g::FUTEX_WAKE_OP, 1, 1, C, 7 << 28),
        call(
            Sysno::futex,
            &[v(0x10), v(g::FUTEX_WAIT as u64), v(0), v(0), v(0), v(0)],
        ),
        poke_u64s(TS, &[0, 1_000_000_000]),
        futex(A, g::FUTEX_WAIT, 0, ts, 0, 0),
        // futex_waitv on C (17) and A (0): queued on both, then interrupted; then a word
        // that differs, then bad flags.
        poke_u64s(
            WAITV,
            &[
                17,
                SCRATCH_BASE + C as u64,
                u32_private,
                0,
                SCRATCH_BASE + A as u64,
                g::FUTEX2_SIZE_U32 as u64,
            ],
        ),
        call(Sysno::futex_waitv, &[s(WAITV), v(2), v(0), v(0), v(0)]),
        poke_u64s(WAITV, &[18]),
        call(Sysno::futex_waitv, &[s(WAITV), v(2), v(0), v(0), v(0)]),
        call(Sysno::futex_waitv, &[s(WAITV), v(2), v(1), v(0), v(0)]),
        poke_u64s(TS, &[0, 1]),
        call(
            Sysno::futex_waitv,
            &[s(WAITV), v(1), v(0), s(TS), v(g::CLOCK_MONOTONIC as u64)],
        ),
        // Every thread parks on A: the one parked longest is interrupted each time; the
        // last three stay parked for teardown.
        futex(A, g::FUTEX_WAIT, 0, 0, 0, 0),
        futex(A, g::FUTEX_WAIT, 0, 0, 0, 0),
        futex(A, g::FUTEX_WAIT, 0, 0, 0, 0),
        futex(A, g::FUTEX_WAIT, 0, 0, 0, 0),
        futex(A, g::FUTEX_WAIT, 0, 0, 0, 0),
        futex(B, g::FUTEX_REQUEUE | g::FUTEX_PRIVATE_FLAG, 0, 0, A, 0),
        futex(
            A,
            g::FUTEX_REQUEUE | g::FUTEX_PRIVATE_FLAG,
            1,
            1,
            B,
            PRIVATE,
        ),
    ]
}

/// A PI mutex, a second one, and a condition variable (scratch offsets).
const M: u16 = 0x810;
const N: u16 = 0x814;
const CV: u16 = 0x818;

/// The PI tour: a contended `FUTEX_LOCK_PI` parks its thread, `FUTEX_UNLOCK_PI` hands the
/// lock to it (it finishes its call when its turn comes), `FUTEX_TRYLOCK_PI`'s `EAGAIN` and
/// `EDEADLK`, `EPERM` for a non-owner's unlock, a requeue-PI from a condition variable onto a
/// free mutex, a timed lock that times out, `ESRCH` for a word naming no thread, the
/// argument errors, and threads left parked on a PI lock for teardown to end. Thread `i`'s
/// TID is `i + 1` (`world::FIRST_TID`).
pub fn pi_tour() -> Vec<Op> {
    let ts = SCRATCH_BASE + TS as u64;
    let pi = |uaddr, op| futex(uaddr, op | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    let park = || futex(B, g::FUTEX_WAIT | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    vec![
        pi(M, g::FUTEX_LOCK_PI),
        pi(M, g::FUTEX_TRYLOCK_PI),
        park(),
        // Thread 1 waits for M; 2 cannot take or unlock it, and waits on CV for N.
        pi(M, g::FUTEX_LOCK_PI),
        pi(M, g::FUTEX_TRYLOCK_PI),
        pi(M, g::FUTEX_UNLOCK_PI),
        futex(
            CV,
            g::FUTEX_WAIT_REQUEUE_PI | g::FUTEX_PRIVATE_FLAG,
            0,
            0,
            N,
            0,
        ),
        // Thread 3 wakes 0, gives N to 2 (free: taken for it), and parks: 0 runs.
        futex(B, g::FUTEX_WAKE | g::FUTEX_PRIVATE_FLAG, 1, 0, 0, 0),
        futex(
            CV,
            g::FUTEX_CMP_REQUEUE_PI | g::FUTEX_PRIVATE_FLAG,
            1,
            1,
            N,
            0,
        ),
        park(),
        // 0 hands M to 1, then waits for N (held by 2) until a deadline in the past.
        pi(M, g::FUTEX_UNLOCK_PI),
        poke_u64s(TS, &[1_700_000_000, 0]),
        futex(N, g::FUTEX_LOCK_PI | g::FUTEX_PRIVATE_FLAG, 0, ts, 0, 0),
        // 1 runs owning M; the next call times 0 out.
        futex(A, g::FUTEX_WAKE, 1, 0, 0, 0),
        pi(M, g::FUTEX_UNLOCK_PI),
        // Errors: the same word twice, nr_wake 2, a word naming TID 9, misaligned, unmapped.
        futex(CV, g::FUTEX_WAIT_REQUEUE_PI, 0, 0, CV, 0),
        futex(CV, g::FUTEX_CMP_REQUEUE_PI, 2, 1, N, 0),
        Op::Poke {
            off: M,
            bytes: 9u32.to_le_bytes().to_vec(),
        },
        pi(M, g::FUTEX_LOCK_PI),
        pi(M + 1, g::FUTEX_LOCK_PI),
        call(
            Sysno::futex,
            &[v(0x10), v(g::FUTEX_LOCK_PI as u64), v(0), v(0), v(0), v(0)],
        ),
        // 1 parks: 2 finishes its requeue-PI owning N, unlocks and relocks it, and parks;
        // then 0 waits for N and everyone is parked.
        park(),
        pi(N, g::FUTEX_UNLOCK_PI),
        pi(N, g::FUTEX_LOCK_PI2),
        park(),
        pi(N, g::FUTEX_LOCK_PI),
        pi(N, g::FUTEX_LOCK_PI),
    ]
}
/// The owner-died path: thread 0 exits holding M with two waiters; the oldest (1) is made
/// the owner and writes its TID with `FUTEX_OWNER_DIED` when it runs, while 0's successor
/// (TID 5) finds the word not yet fixed and queues behind; 1 hands M on, and a second owner
/// exits with the new thread waiting, which finishes its call at teardown.
pub fn pi_owner_died() -> Vec<Op> {
    let pi = |uaddr, op| futex(uaddr, op | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    let park = || futex(B, g::FUTEX_WAIT | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    let exit = || call(Sysno::exit, &[v(0), v(0), v(0), v(0), v(0), v(0)]);
    vec![
        pi(M, g::FUTEX_LOCK_PI),
        park(),
        pi(M, g::FUTEX_LOCK_PI),
        pi(M, g::FUTEX_LOCK_PI),
        futex(B, g::FUTEX_WAKE | g::FUTEX_PRIVATE_FLAG, 1, 0, 0, 0),
        park(),
        exit(),
        pi(M, g::FUTEX_LOCK_PI),
        pi(M, g::FUTEX_UNLOCK_PI),
        exit(),
        park(),
        exit(),
        Op::Poke {
            off: N,
            bytes: 99u32.to_le_bytes().to_vec(),
        },
        pi(N, g::FUTEX_LOCK_PI),
    ]
}

/// Bug 16's reproducer: `FUTEX_WAKE_OP` woke a `FUTEX_WAIT_REQUEUE_PI` waiter (Linux:
/// `EINVAL`), which then returned 0 as the owner of a PI mutex it never got. Thread 0 waits
/// on CV for N, thread 1 wakes CV with `FUTEX_WAKE_OP`, and once every other thread is
/// parked, thread 0 finishes its call.
pub fn bug16_wake_op_wakes_requeue_pi_waiter() -> Vec<Op> {
    let park = || futex(B, g::FUTEX_WAIT | g::FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    vec![
        futex(
            CV,
            g::FUTEX_WAIT_REQUEUE_PI | g::FUTEX_PRIVATE_FLAG,
            0,
            0,
            N,
            0,
        ),
        futex(CV, g::FUTEX_WAKE_OP | g::FUTEX_PRIVATE_FLAG, 1, 0, C, 0),
        park(),
        park(),
        park(),
        futex(C, g::FUTEX_WAKE, 1, 0, 0, 0),
    ]
}
