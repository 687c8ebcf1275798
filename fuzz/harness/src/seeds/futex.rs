//! A hand-written seed for futex(2) and futex_waitv(2) over the harness's fake threads (see
//! `route/futex.rs`): waits that park threads 0-3 in turn, wakes by bitset, a requeue, a
//! `FUTEX_WAKE_OP`, timeouts on both clocks that expire as the clock moves, futex_waitv's
//! checks, the errors of each op, and threads left parked for teardown to end.

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
