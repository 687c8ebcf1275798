use super::*;
use crate::sleep::fake::FakeSleeper;
use crate::syscalls::test_memory::{BAD, RO, RW, memory};
use oxv_abi::user::fake::FakeUserMemory;
use zerocopy::IntoBytes;

/// Wall time at boot: 2023-11-14T22:13:20Z.
const BOOT_WALL_S: i64 = 1_700_000_000;
const BOOT_TICKS: u64 = 1000;
const SEC: u64 = NSEC_PER_SEC;

/// A 1 GHz counter (one tick per nanosecond) that read [`BOOT_TICKS`] at boot.
fn clock() -> TscClock {
    TscClock::new(1_000_000_000, BOOT_TICKS, BOOT_WALL_S as i128 * SEC as i128)
}

/// The counter value `mono_ns` after boot.
fn at_mono(mono_ns: u64) -> u64 {
    BOOT_TICKS + mono_ns
}

fn null<T>() -> UserPtr<T> {
    UserPtr::new(0)
}

fn at<T>(addr: u64) -> UserPtr<T> {
    UserPtr::new(addr)
}

fn ts(tv_sec: i64, tv_nsec: i64) -> Timespec {
    Timespec { tv_sec, tv_nsec }
}

fn read_ts(mem: &FakeUserMemory, addr: u64) -> Timespec {
    at::<Timespec>(addr)
        .read(mem)
        .expect("test reads mapped memory")
}

fn put_ts(mem: &mut FakeUserMemory, addr: u64, v: Timespec) {
    at::<Timespec>(addr)
        .write(mem, &v)
        .expect("test writes a writable page");
}

// Linux clock ids, as an app passes them.
const REALTIME: i32 = 0;
const MONOTONIC: i32 = 1;
const PROCESS_CPUTIME: i32 = 2;
const THREAD_CPUTIME: i32 = 3;
const MONOTONIC_RAW: i32 = 4;
const REALTIME_COARSE: i32 = 5;
const MONOTONIC_COARSE: i32 = 6;
const BOOTTIME: i32 = 7;
const REALTIME_ALARM: i32 = 8;
const BOOTTIME_ALARM: i32 = 9;
const TAI: i32 = 11;

#[test]
fn clock_ids_used_here_are_linux_ones() {
    for (id, clock) in [
        (REALTIME, ClockId::Realtime),
        (MONOTONIC, ClockId::Monotonic),
        (PROCESS_CPUTIME, ClockId::ProcessCputime),
        (THREAD_CPUTIME, ClockId::ThreadCputime),
        (MONOTONIC_RAW, ClockId::MonotonicRaw),
        (REALTIME_COARSE, ClockId::RealtimeCoarse),
        (MONOTONIC_COARSE, ClockId::MonotonicCoarse),
        (BOOTTIME, ClockId::Boottime),
        (REALTIME_ALARM, ClockId::RealtimeAlarm),
        (BOOTTIME_ALARM, ClockId::BoottimeAlarm),
        (TAI, ClockId::Tai),
    ] {
        assert_eq!(ClockId::try_from(id), Ok(clock));
    }
}

// ---- clock_gettime ----------------------------------------------------------------------

#[test]
fn gettime_reads_every_clock() {
    let (c, mut mem) = (clock(), memory());
    let now = at_mono(5 * SEC + 6_789_123);
    let cpu = 42_000_000_007;
    let mut read = |id| {
        assert_eq!(
            clock_gettime(&c, now, cpu, &mut mem, id, at(RW)),
            Ok(0),
            "clock {id}"
        );
        read_ts(&mem, RW)
    };
    let wall = ts(BOOT_WALL_S + 5, 6_789_123);
    let mono = ts(5, 6_789_123);
    assert_eq!(read(REALTIME), wall);
    assert_eq!(read(REALTIME_ALARM), wall);
    assert_eq!(read(TAI), wall);
    assert_eq!(read(MONOTONIC), mono);
    assert_eq!(read(MONOTONIC_RAW), mono);
    assert_eq!(read(BOOTTIME), mono);
    assert_eq!(read(BOOTTIME_ALARM), mono);
    // Coarse: the last 4 ms tick.
    assert_eq!(read(MONOTONIC_COARSE), ts(5, 4_000_000));
    assert_eq!(read(REALTIME_COARSE), ts(BOOT_WALL_S + 5, 4_000_000));
    assert_eq!(read(PROCESS_CPUTIME), ts(42, 7));
    assert_eq!(read(THREAD_CPUTIME), ts(42, 7));
}

#[test]
fn coarse_clocks_never_run_ahead_of_precise_ones() {
    let c = clock();
    for mono in [0, 1, 3_999_999, 4_000_000, 4_000_001, 123_456_789_012] {
        let now = at_mono(mono);
        let fine = clock_ns(&c, now, 0, ClockId::Monotonic);
        let coarse = clock_ns(&c, now, 0, ClockId::MonotonicCoarse);
        assert!(
            coarse <= fine && fine - coarse < COARSE_RES_NS as i128,
            "{mono}"
        );
        let wall = clock_ns(&c, now, 0, ClockId::Realtime);
        assert_eq!(
            wall - clock_ns(&c, now, 0, ClockId::RealtimeCoarse),
            fine - coarse
        );
    }
}

#[test]
fn gettime_before_1970_keeps_nsec_positive() {
    let c = TscClock::new(1_000_000_000, 0, -1);
    let mut mem = memory();
    clock_gettime(&c, 0, 0, &mut mem, REALTIME, at(RW)).unwrap();
    assert_eq!(read_ts(&mem, RW), ts(-1, 999_999_999));
}

#[test]
fn gettime_unknown_clock_is_einval_before_the_pointer() {
    let (c, mut mem) = (clock(), memory());
    for id in [-1, -6, 10, 12, 1000, i32::MIN] {
        assert_eq!(
            clock_gettime(&c, 0, 0, &mut mem, id, at(BAD)),
            Err(Errno::EINVAL),
            "{id}"
        );
    }
}

#[test]
fn gettime_bad_pointer_is_efault() {
    let (c, mut mem) = (clock(), memory());
    assert_eq!(
        clock_gettime(&c, 0, 0, &mut mem, MONOTONIC, null()),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        clock_gettime(&c, 0, 0, &mut mem, MONOTONIC, at(RO)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        clock_gettime(&c, 0, 0, &mut mem, MONOTONIC, at(RW + 0xff8)),
        Err(Errno::EFAULT)
    );
}

// ---- clock_getres -----------------------------------------------------------------------

#[test]
fn getres_is_1ns_except_coarse_4ms() {
    let mut mem = memory();
    for id in [
        REALTIME,
        MONOTONIC,
        PROCESS_CPUTIME,
        THREAD_CPUTIME,
        MONOTONIC_RAW,
        BOOTTIME,
        TAI,
    ]
    .into_iter()
    .chain([REALTIME_ALARM, BOOTTIME_ALARM])
    {
        assert_eq!(clock_getres(&mut mem, id, at(RW)), Ok(0));
        assert_eq!(read_ts(&mem, RW), ts(0, 1), "clock {id}");
    }
    for id in [REALTIME_COARSE, MONOTONIC_COARSE] {
        assert_eq!(clock_getres(&mut mem, id, at(RW)), Ok(0));
        assert_eq!(read_ts(&mem, RW), ts(0, 4_000_000), "clock {id}");
    }
}

#[test]
fn getres_allows_null_and_checks_the_clock_first() {
    let mut mem = memory();
    assert_eq!(clock_getres(&mut mem, MONOTONIC, null()), Ok(0));
    assert_eq!(clock_getres(&mut mem, 10, null()), Err(Errno::EINVAL));
    assert_eq!(clock_getres(&mut mem, 10, at(BAD)), Err(Errno::EINVAL));
    assert_eq!(
        clock_getres(&mut mem, MONOTONIC, at(BAD)),
        Err(Errno::EFAULT)
    );
}

// ---- gettimeofday and time --------------------------------------------------------------

#[test]
fn gettimeofday_writes_microseconds_and_a_zero_timezone() {
    let (c, mut mem) = (clock(), memory());
    mem.poke(RW + 0x100, &[0xff; 8]);
    let now = at_mono(2 * SEC + 345_678_999);
    assert_eq!(
        gettimeofday(&c, now, &mut mem, at(RW), at(RW + 0x100)),
        Ok(0)
    );
    let tv: Timeval = at(RW).read(&mem).unwrap();
    assert_eq!(
        tv,
        Timeval {
            tv_sec: BOOT_WALL_S + 2,
            tv_usec: 345_678
        }
    );
    assert_eq!(mem.peek(RW + 0x100, 8), [0; 8]);
}

#[test]
fn gettimeofday_allows_either_null_and_faults_in_order() {
    let (c, mut mem) = (clock(), memory());
    assert_eq!(gettimeofday(&c, 0, &mut mem, null(), null()), Ok(0));
    assert_eq!(gettimeofday(&c, 0, &mut mem, at(RW), null()), Ok(0));
    assert_eq!(gettimeofday(&c, 0, &mut mem, null(), at(RW)), Ok(0));
    assert_eq!(
        gettimeofday(&c, 0, &mut mem, at(BAD), at(RW)),
        Err(Errno::EFAULT)
    );
    // tv is written before tz faults.
    mem.poke(RW, &[0; 16]);
    assert_eq!(
        gettimeofday(&c, at_mono(SEC), &mut mem, at(RW), at(RO)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        at::<Timeval>(RW).read(&mem).unwrap().tv_sec,
        BOOT_WALL_S + 1
    );
}

#[test]
fn time_returns_and_stores_whole_seconds() {
    let (c, mut mem) = (clock(), memory());
    let now = at_mono(3 * SEC + 999_999_999);
    assert_eq!(
        time(&c, now, &mut mem, null()),
        Ok((BOOT_WALL_S + 3) as usize)
    );
    assert_eq!(
        time(&c, now, &mut mem, at(RW)),
        Ok((BOOT_WALL_S + 3) as usize)
    );
    assert_eq!(at::<i64>(RW).read(&mem), Ok(BOOT_WALL_S + 3));
    assert_eq!(time(&c, now, &mut mem, at(RO)), Err(Errno::EFAULT));
    // Before 1970 the register holds the negative value.
    let old = TscClock::new(1_000_000_000, 0, -1);
    assert_eq!(time(&old, 0, &mut mem, null()), Ok(-1i64 as u64 as usize));
}

// ---- nanosleep --------------------------------------------------------------------------

#[test]
fn nanosleep_sleeps_until_now_plus_req() {
    let (c, mut mem, s) = (clock(), memory(), FakeSleeper::new());
    put_ts(&mut mem, RW, ts(1, 500));
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &s, &mut mem, at(RW), null()),
        Ok(0)
    );
    assert_eq!(s.deadlines(), [2 * SEC + 500]);
    // A zero sleep still goes through the sleeper (Linux yields once).
    put_ts(&mut mem, RW, ts(0, 0));
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &s, &mut mem, at(RW), null()),
        Ok(0)
    );
    assert_eq!(s.deadlines(), [2 * SEC + 500, SEC]);
}

#[test]
fn nanosleep_efault_then_einval_and_no_sleep() {
    let (c, mut mem, s) = (clock(), memory(), FakeSleeper::new());
    assert_eq!(
        nanosleep(&c, 0, &s, &mut mem, at(BAD), null()),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        nanosleep(&c, 0, &s, &mut mem, null(), null()),
        Err(Errno::EFAULT)
    );
    for bad in [ts(-1, 0), ts(0, -1), ts(0, 1_000_000_000), ts(i64::MIN, 0)] {
        put_ts(&mut mem, RW, bad);
        assert_eq!(
            nanosleep(&c, 0, &s, &mut mem, at(RW), at(BAD)),
            Err(Errno::EINVAL),
            "{bad:?}"
        );
    }
    assert!(s.deadlines().is_empty());
    // A read-only request is fine.
    mem.poke(RO, ts(0, 1).as_bytes());
    assert_eq!(nanosleep(&c, 0, &s, &mut mem, at(RO), null()), Ok(0));
}

#[test]
fn nanosleep_huge_request_is_clamped_to_ktime_max() {
    let (c, mut mem, s) = (clock(), memory(), FakeSleeper::new());
    put_ts(&mut mem, RW, ts(i64::MAX, 999_999_999));
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &s, &mut mem, at(RW), null()),
        Ok(0)
    );
    assert_eq!(s.deadlines(), [KTIME_MAX_NS]);
}

#[test]
fn nanosleep_interrupted_writes_the_remaining_time() {
    let (c, mut mem) = (clock(), memory());
    // Asked at 1 s for 3 s; woken by a signal at 2.25 s.
    let s = FakeSleeper::interrupted_at(2 * SEC + 250_000_000);
    put_ts(&mut mem, RW, ts(3, 0));
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &s, &mut mem, at(RW), at(RW + 0x100)),
        Err(Errno::EINTR)
    );
    assert_eq!(read_ts(&mem, RW + 0x100), ts(1, 750_000_000));
    // Same buffer for req and rem, as many programs do in a retry loop.
    put_ts(&mut mem, RW, ts(3, 0));
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &s, &mut mem, at(RW), at(RW)),
        Err(Errno::EINTR)
    );
    assert_eq!(read_ts(&mem, RW), ts(1, 750_000_000));
}

#[test]
fn nanosleep_interrupted_without_rem_is_eintr() {
    let (c, mut mem) = (clock(), memory());
    put_ts(&mut mem, RW, ts(3, 0));
    let s = FakeSleeper::interrupted_at(2 * SEC);
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &s, &mut mem, at(RW), null()),
        Err(Errno::EINTR)
    );
    // Even when the time was up: without rem Linux never looks at what is left.
    let late = FakeSleeper::interrupted_at(10 * SEC);
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &late, &mut mem, at(RW), null()),
        Err(Errno::EINTR)
    );
}

#[test]
fn nanosleep_interrupted_after_the_deadline_succeeds_with_rem() {
    let (c, mut mem) = (clock(), memory());
    put_ts(&mut mem, RW, ts(3, 0));
    mem.poke(RW + 0x100, &[0xee; 16]);
    let late = FakeSleeper::interrupted_at(4 * SEC);
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &late, &mut mem, at(RW), at(RW + 0x100)),
        Ok(0)
    );
    assert_eq!(mem.peek(RW + 0x100, 16), [0xee; 16], "rem not written");
}

#[test]
fn nanosleep_interrupted_with_a_bad_rem_is_efault() {
    let (c, mut mem) = (clock(), memory());
    put_ts(&mut mem, RW, ts(3, 0));
    let s = FakeSleeper::interrupted_at(2 * SEC);
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &s, &mut mem, at(RW), at(RO)),
        Err(Errno::EFAULT)
    );
    // rem is only looked at on interruption.
    let done = FakeSleeper::new();
    assert_eq!(
        nanosleep(&c, at_mono(SEC), &done, &mut mem, at(RW), at(BAD)),
        Ok(0)
    );
}

// ---- clock_nanosleep --------------------------------------------------------------------

const ABS: u32 = TIMER_ABSTIME;

fn cns(
    s: &FakeSleeper,
    mem: &mut FakeUserMemory,
    id: i32,
    flags: u32,
    req: u64,
    rem: u64,
) -> SysResult {
    clock_nanosleep(
        &clock(),
        at_mono(10 * SEC),
        s,
        mem,
        id,
        flags,
        at(req),
        at(rem),
    )
}

#[test]
fn clock_nanosleep_relative_on_every_sleepable_clock() {
    let mut mem = memory();
    put_ts(&mut mem, RW, ts(2, 0));
    for id in [
        REALTIME,
        MONOTONIC,
        BOOTTIME,
        TAI,
        REALTIME_ALARM,
        BOOTTIME_ALARM,
    ] {
        let s = FakeSleeper::new();
        assert_eq!(cns(&s, &mut mem, id, 0, RW, 0), Ok(0), "clock {id}");
        assert_eq!(s.deadlines(), [12 * SEC], "clock {id}");
    }
}

#[test]
fn clock_nanosleep_absolute_monotonic_and_boottime() {
    let mut mem = memory();
    put_ts(&mut mem, RW, ts(15, 5));
    for id in [MONOTONIC, BOOTTIME, BOOTTIME_ALARM] {
        let s = FakeSleeper::new();
        assert_eq!(cns(&s, &mut mem, id, ABS, RW, 0), Ok(0));
        assert_eq!(s.deadlines(), [15 * SEC + 5], "clock {id}");
    }
}

#[test]
fn clock_nanosleep_absolute_wall_time_becomes_monotonic() {
    let mut mem = memory();
    put_ts(&mut mem, RW, ts(BOOT_WALL_S + 20, 7));
    for id in [REALTIME, TAI, REALTIME_ALARM] {
        let s = FakeSleeper::new();
        assert_eq!(cns(&s, &mut mem, id, ABS, RW, 0), Ok(0));
        assert_eq!(s.deadlines(), [20 * SEC + 7], "clock {id}");
    }
    // A wall time before boot is already past: deadline 0.
    put_ts(&mut mem, RW, ts(5, 0));
    let s = FakeSleeper::new();
    assert_eq!(cns(&s, &mut mem, REALTIME, ABS, RW, 0), Ok(0));
    assert_eq!(s.deadlines(), [0]);
}

#[test]
fn clock_nanosleep_unknown_clock_is_einval_first() {
    let (mut mem, s) = (memory(), FakeSleeper::new());
    for id in [-1, -2, 10, 12, i32::MAX] {
        assert_eq!(
            cns(&s, &mut mem, id, 0xffff, BAD, BAD),
            Err(Errno::EINVAL),
            "{id}"
        );
    }
}

#[test]
fn clock_nanosleep_unsleepable_clock_is_eopnotsupp_before_efault() {
    let (mut mem, s) = (memory(), FakeSleeper::new());
    for id in [
        MONOTONIC_RAW,
        REALTIME_COARSE,
        MONOTONIC_COARSE,
        THREAD_CPUTIME,
    ] {
        assert_eq!(
            cns(&s, &mut mem, id, 0, BAD, 0),
            Err(Errno::EOPNOTSUPP),
            "{id}"
        );
    }
    assert_eq!(Errno::EOPNOTSUPP, Errno::ENOTSUP);
    assert!(s.deadlines().is_empty());
}

#[test]
fn clock_nanosleep_efault_then_einval_on_req() {
    let (mut mem, s) = (memory(), FakeSleeper::new());
    assert_eq!(cns(&s, &mut mem, MONOTONIC, 0, BAD, 0), Err(Errno::EFAULT));
    put_ts(&mut mem, RW, ts(0, 1_000_000_000));
    assert_eq!(cns(&s, &mut mem, MONOTONIC, ABS, RW, 0), Err(Errno::EINVAL));
    put_ts(&mut mem, RW, ts(-5, 0));
    assert_eq!(
        cns(&s, &mut mem, REALTIME, ABS, RW, 0),
        Err(Errno::EINVAL),
        "no times before 1970"
    );
    assert!(s.deadlines().is_empty());
}

#[test]
fn clock_nanosleep_unknown_flags_are_ignored_except_on_alarm_clocks() {
    let mut mem = memory();
    put_ts(&mut mem, RW, ts(1, 0));
    let s = FakeSleeper::new();
    assert_eq!(cns(&s, &mut mem, MONOTONIC, 0x10, RW, 0), Ok(0));
    assert_eq!(cns(&s, &mut mem, REALTIME, 0x10 | ABS, RW, 0), Ok(0));
    assert_eq!(s.deadlines(), [11 * SEC, 0]);
    for id in [REALTIME_ALARM, BOOTTIME_ALARM] {
        assert_eq!(cns(&s, &mut mem, id, 0x10, RW, 0), Err(Errno::EINVAL));
        assert_eq!(cns(&s, &mut mem, id, 0x10 | ABS, RW, 0), Err(Errno::EINVAL));
        // The flag check comes after req is read and checked.
        assert_eq!(cns(&s, &mut mem, id, 0x10, BAD, 0), Err(Errno::EFAULT));
    }
    assert_eq!(s.deadlines().len(), 2);
}

#[test]
fn clock_nanosleep_process_cputime_validates_then_is_unsupported() {
    let (mut mem, s) = (memory(), FakeSleeper::new());
    assert_eq!(
        cns(&s, &mut mem, PROCESS_CPUTIME, 0, BAD, 0),
        Err(Errno::EFAULT)
    );
    put_ts(&mut mem, RW, ts(-1, 0));
    assert_eq!(
        cns(&s, &mut mem, PROCESS_CPUTIME, 0, RW, 0),
        Err(Errno::EINVAL)
    );
    put_ts(&mut mem, RW, ts(1, 0));
    assert_eq!(
        cns(&s, &mut mem, PROCESS_CPUTIME, 0, RW, 0),
        Err(Errno::EOPNOTSUPP)
    );
    assert!(s.deadlines().is_empty());
}

#[test]
fn clock_nanosleep_relative_interrupted_writes_rem() {
    let mut mem = memory();
    put_ts(&mut mem, RW, ts(2, 0));
    let s = FakeSleeper::interrupted_at(11 * SEC + 1);
    assert_eq!(
        cns(&s, &mut mem, REALTIME, 0, RW, RW + 0x100),
        Err(Errno::EINTR)
    );
    assert_eq!(read_ts(&mem, RW + 0x100), ts(0, 999_999_999));
    assert_eq!(
        cns(&s, &mut mem, BOOTTIME_ALARM, 0, RW, RO),
        Err(Errno::EFAULT)
    );
    let late = FakeSleeper::interrupted_at(12 * SEC);
    assert_eq!(cns(&late, &mut mem, MONOTONIC, 0, RW, RW + 0x100), Ok(0));
}

#[test]
fn clock_nanosleep_absolute_interrupted_ignores_rem() {
    let mut mem = memory();
    put_ts(&mut mem, RW, ts(20, 0));
    mem.poke(RW + 0x100, &[0xee; 16]);
    let s = FakeSleeper::interrupted_at(11 * SEC);
    assert_eq!(
        cns(&s, &mut mem, MONOTONIC, ABS, RW, RW + 0x100),
        Err(Errno::EINTR)
    );
    assert_eq!(mem.peek(RW + 0x100, 16), [0xee; 16]);
    // Not even a bad rem matters, and being late still reports EINTR.
    let late = FakeSleeper::interrupted_at(30 * SEC);
    assert_eq!(
        cns(&late, &mut mem, MONOTONIC, ABS, RW, BAD),
        Err(Errno::EINTR)
    );
}
