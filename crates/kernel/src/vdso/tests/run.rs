//! The image's code, mapped into this process like the kernel maps it and called.

use super::*;
use core::ffi::{c_int, c_long, c_void};
use oxv_abi::Errno;
use oxv_abi::linux::mm::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE};
use oxv_abi::linux::time::{Timespec, Timeval, Timezone};
use oxv_sched::clock::NSEC_PER_SEC;
use oxv_sched::syscalls::time::{clock_ns, resolution_ns};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// SAFETY: libc's mmap/munmap/mprotect have these C signatures on x86_64 Linux.
unsafe extern "C" {
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: i64,
    ) -> *mut c_void;
    fn mprotect(addr: *mut c_void, len: usize, prot: c_int) -> c_int;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
}

type ClockGettime = unsafe extern "C" fn(c_int, *mut Timespec) -> c_int;
type Gettimeofday = unsafe extern "C" fn(*mut Timeval, *mut Timezone) -> c_int;
type Time = unsafe extern "C" fn(*mut i64) -> i64;
type Getcpu = unsafe extern "C" fn(*mut u32, *mut u32, *mut c_void) -> c_long;

/// The vDSO mapped like the kernel maps it: a writable data page (the test is the kernel),
/// then the image read + exec.
struct Loaded {
    base: *mut u8,
}

impl Loaded {
    /// Maps the vDSO near `hint` (the host picks another address if that one is taken).
    fn near(hint: usize) -> Loaded {
        let len = MAPPING_PAGES * PAGE_SIZE;
        let rw = (PROT_READ | PROT_WRITE) as c_int;
        // SAFETY: a new private anonymous mapping without MAP_FIXED replaces nothing.
        let base = unsafe {
            mmap(
                hint as *mut c_void,
                len,
                rw,
                (MAP_PRIVATE | MAP_ANONYMOUS) as c_int,
                -1,
                0,
            )
        };
        assert_ne!(base as usize, usize::MAX, "mmap failed");
        let base = base.cast::<u8>();
        let text = image_base(base as u64) as usize as *mut u8;
        // SAFETY: the image pages fit in the mapping after the data page, which is ours,
        // writable and disjoint from the static image.
        unsafe {
            core::ptr::copy_nonoverlapping(image_pages().as_ptr(), text, image_pages().len())
        };
        let rx = (PROT_READ | PROT_EXEC) as c_int;
        // SAFETY: changes the protection of the image pages of our own mapping only.
        let r = unsafe { mprotect(text.cast(), IMAGE_PAGES * PAGE_SIZE, rx) };
        assert_eq!(r, 0, "mprotect failed");
        Loaded { base }
    }

    fn vvar(&self) -> &VvarData {
        // SAFETY: the first page of the mapping is page-aligned, readable and writable, and
        // lives as long as `self`; zero-filled or published bytes are a valid VvarData (its
        // fields are integers), and it is only ever accessed through atomics here.
        unsafe { &*self.base.cast::<VvarData>() }
    }

    /// The address of `__vdso_{name}` in this copy (looked up once, the way glibc does).
    fn symbol(&self, name: &str) -> usize {
        static OFFSETS: OnceLock<Vec<(&str, u64)>> = OnceLock::new();
        let offsets = OFFSETS.get_or_init(|| {
            let find = |n| lookup_gnu(&format!("__vdso_{n}"), VERSION).expect("exported");
            EXPORTS.iter().map(|&n| (n, find(n))).collect()
        });
        let offset = offsets.iter().find(|o| o.0 == name).expect("an export").1;
        image_base(self.base as u64) as usize + offset as usize
    }

    fn clock_gettime(&self, clk: i32) -> (i32, Timespec) {
        // SAFETY: the symbol's address is __vdso_clock_gettime in our mapping, which has
        // this signature.
        let f: ClockGettime = unsafe { core::mem::transmute(self.symbol("clock_gettime")) };
        let mut ts = Timespec {
            tv_sec: -7,
            tv_nsec: -7,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        let r = unsafe { f(clk, &mut ts) };
        (r, ts)
    }

    fn clock_getres(&self, clk: i32, want: bool) -> (i32, Timespec) {
        // SAFETY: as for clock_gettime; clock_getres has the same signature.
        let f: ClockGettime = unsafe { core::mem::transmute(self.symbol("clock_getres")) };
        let mut ts = Timespec::default();
        let p = if want {
            &mut ts as *mut Timespec
        } else {
            core::ptr::null_mut()
        };
        // SAFETY: `p` is null (allowed) or a valid, writable timespec.
        let r = unsafe { f(clk, p) };
        (r, ts)
    }

    fn gettimeofday(&self) -> (i32, Timeval, Timezone) {
        // SAFETY: __vdso_gettimeofday in our mapping has this signature.
        let f: Gettimeofday = unsafe { core::mem::transmute(self.symbol("gettimeofday")) };
        let mut tv = Timeval::default();
        let mut tz = Timezone {
            tz_minuteswest: 99,
            tz_dsttime: 99,
        };
        // SAFETY: both pointers are valid and writable.
        let r = unsafe { f(&mut tv, &mut tz) };
        (r, tv, tz)
    }

    fn time(&self) -> (i64, i64) {
        // SAFETY: __vdso_time in our mapping has this signature.
        let f: Time = unsafe { core::mem::transmute(self.symbol("time")) };
        let mut t = -1;
        // SAFETY: `t` is writable.
        let r = unsafe { f(&mut t) };
        (r, t)
    }

    fn getcpu(&self) -> (c_long, u32, u32) {
        // SAFETY: __vdso_getcpu in our mapping has this signature.
        let f: Getcpu = unsafe { core::mem::transmute(self.symbol("getcpu")) };
        let (mut cpu, mut node) = (u32::MAX, u32::MAX);
        // SAFETY: both pointers are writable; the cache argument is ignored.
        let r = unsafe { f(&mut cpu, &mut node, core::ptr::null_mut()) };
        (r, cpu, node)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `near` made; nothing refers to it any more.
        unsafe { munmap(self.base.cast(), MAPPING_PAGES * PAGE_SIZE) };
    }
}

/// A random page-aligned address in the lower half of the user address space.
fn random_hint() -> usize {
    use std::hash::{BuildHasher, RandomState};
    let r = RandomState::new().hash_one(Instant::now()) as usize;
    0x1000_0000_0000 + (r % (1 << 30)) * PAGE_SIZE
}

/// The TSC, after every earlier instruction (the same read the image does).
fn tsc() -> u64 {
    use core::arch::x86_64::{_mm_lfence, _rdtsc};
    // SAFETY: lfence and rdtsc exist on every x86_64 CPU and only read state; the host
    // allows rdtsc in user mode (Linux's default).
    unsafe {
        _mm_lfence();
        _rdtsc()
    }
}

fn ns(ts: Timespec) -> i128 {
    assert!((0..NSEC_PER_SEC as i64).contains(&ts.tv_nsec), "{ts:?}");
    ts.tv_sec as i128 * NSEC_PER_SEC as i128 + ts.tv_nsec as i128
}

fn host_realtime_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

/// Every served clock of `v`, read between two TSC reads, lies between the kernel's values
/// at those reads.
fn assert_clocks_match(v: &Loaded, clock: &TscClock) {
    for id in SERVED {
        for _ in 0..200 {
            let t0 = tsc();
            let (r, ts) = v.clock_gettime(id as i32);
            let t1 = tsc();
            assert_eq!(r, 0, "{id:?}");
            let (lo, hi) = (clock_ns(clock, t0, 0, id), clock_ns(clock, t1, 0, id));
            let got = ns(ts);
            assert!(lo <= got && got <= hi, "{id:?}: {lo} <= {got} <= {hi}");
        }
    }
    let t0 = tsc();
    let (r, tv, tz) = v.gettimeofday();
    let (secs, stored) = v.time();
    let t1 = tsc();
    assert_eq!(r, 0);
    assert_eq!(tz, Timezone::default());
    let (lo, hi) = (clock.realtime_ns(t0), clock.realtime_ns(t1));
    let got = tv.tv_sec as i128 * NSEC_PER_SEC as i128 + tv.tv_usec as i128 * 1000;
    assert!((0..1_000_000).contains(&tv.tv_usec));
    assert!(
        lo - lo.rem_euclid(1000) <= got && got <= hi,
        "{lo} <= {got} <= {hi}"
    );
    assert_eq!(secs, stored);
    let sec = secs as i128 * NSEC_PER_SEC as i128;
    assert!(lo - lo.rem_euclid(NSEC_PER_SEC as i128) <= sec && sec <= hi);
}

fn published(clock: &TscClock, config: VvarConfig) -> Loaded {
    let v = Loaded::near(random_hint());
    v.vvar().publish(clock, config);
    v
}

#[test]
fn clocks_match_the_system_call_math() {
    let now = tsc();
    let clocks = [
        // A 3 GHz TSC, booted 7 s ago, an ordinary wall clock.
        TscClock::new(
            3_000_000_000,
            now - 21_000_000_000,
            1_700_000_000_123_456_789,
        ),
        // An exact 1 GHz counter (mult 2^40) counting since the host booted; before 1970.
        TscClock::new(1_000_000_000, 0, -1_000_000_000_000_000_001),
        // A slow counter (large mult), nanoseconds that carry on every read.
        TscClock::new(1_000_003, now - 1_000_000, 999_999_999),
        // An odd frequency.
        TscClock::new(2_894_561_237, now / 2, 5),
    ];
    for clock in &clocks {
        assert_clocks_match(&published(clock, CONFIG), clock);
    }
}

#[test]
fn before_boot_the_clocks_read_exactly_the_boot_values() {
    // A TSC below boot_ticks counts as boot itself (TscClock saturates), so every clock is
    // exact and independent of when it is read.
    for wall in [0i128, 1_700_000_000_999_999_999, -1, -1_000_000_000] {
        let clock = TscClock::new(2_500_000_000, u64::MAX, wall);
        let v = published(&clock, CONFIG);
        for id in SERVED {
            let (r, ts) = v.clock_gettime(id as i32);
            assert_eq!(r, 0);
            assert_eq!(ns(ts), clock_ns(&clock, 0, 0, id), "{id:?} at {wall}");
        }
    }
}

#[test]
fn each_copy_reads_the_page_right_below_itself() {
    let (a, b) = (
        TscClock::new(1_000_000_000, u64::MAX, 1_000 * NSEC_PER_SEC as i128),
        TscClock::new(1_000_000_000, u64::MAX, 2_000 * NSEC_PER_SEC as i128),
    );
    let (va, vb) = (published(&a, CONFIG), published(&b, CONFIG));
    assert_ne!(va.base, vb.base);
    for _ in 0..3 {
        assert_eq!(va.clock_gettime(ClockId::Realtime as i32).1.tv_sec, 1_000);
        assert_eq!(vb.clock_gettime(ClockId::Realtime as i32).1.tv_sec, 2_000);
        assert_eq!(va.time().0, 1_000);
        assert_eq!(vb.time().0, 2_000);
    }
    // Republishing one page changes only that copy.
    vb.vvar().publish(&a, CONFIG);
    assert_eq!(vb.clock_gettime(ClockId::Realtime as i32).1.tv_sec, 1_000);
}

#[test]
fn getres_matches_the_system_call() {
    let v = published(&TscClock::new(1_000_000_000, 0, 0), CONFIG);
    for id in SERVED {
        let (r, res) = v.clock_getres(id as i32, true);
        assert_eq!(r, 0);
        assert_eq!(res, Timespec::from_nanos(resolution_ns(id)), "{id:?}");
        assert_eq!(v.clock_getres(id as i32, false).0, 0, "null res");
    }
}

#[test]
fn other_clocks_and_bad_ids_go_to_the_system_call() {
    // A fake wall clock far from the host's shows which side answered.
    let clock = TscClock::new(1_000_000_000, 0, 1_000 * NSEC_PER_SEC as i128);
    let v = published(&clock, CONFIG);
    let einval = -Errno::EINVAL.raw();
    for bad in [-1, 10, 12, 1000] {
        assert_eq!(v.clock_gettime(bad).0, einval, "clock {bad}");
        assert_eq!(v.clock_getres(bad, true).0, einval, "clock {bad}");
    }
    let (r, cpu) = v.clock_gettime(ClockId::ProcessCputime as i32);
    assert_eq!(r, 0);
    assert!(
        ns(cpu) > 0 && ns(cpu) < 3600 * NSEC_PER_SEC as i128,
        "{cpu:?}"
    );
    let (r, res) = v.clock_getres(ClockId::ThreadCputime as i32, true);
    assert_eq!((r, res.tv_sec), (0, 0));
}

/// Asserts that every clock function answered with the host's time (the system call), not
/// the page's.
fn assert_host_answers(v: &Loaded) {
    let (before, (r, ts), after) = (
        host_realtime_ns(),
        v.clock_gettime(ClockId::Realtime as i32),
        host_realtime_ns(),
    );
    assert_eq!(r, 0);
    assert!(before - 1000 <= ns(ts) && ns(ts) <= after + 1000);
    let (r, tv, _) = v.gettimeofday();
    assert_eq!(r, 0);
    assert!((tv.tv_sec as i128 - after / NSEC_PER_SEC as i128).abs() <= 1);
    let (secs, stored) = v.time();
    assert_eq!(secs, stored);
    assert!((secs as i128 - after / NSEC_PER_SEC as i128).abs() <= 1);
    assert_eq!(v.clock_gettime(ClockId::Monotonic as i32).0, 0);
}

#[test]
fn an_empty_page_sends_everything_to_the_kernel() {
    let v = Loaded::near(random_hint());
    assert_host_answers(&v);
    let (r, _, _) = v.getcpu();
    assert_eq!(r, 0);
    assert_eq!(v.clock_getres(ClockId::Monotonic as i32, true).0, 0);
}

#[test]
fn an_unusable_tsc_sends_the_clocks_to_the_kernel() {
    let clock = TscClock::new(1_000_000_000, 0, 1_000 * NSEC_PER_SEC as i128);
    let config = VvarConfig {
        tsc_usable: false,
        ..CONFIG
    };
    let v = published(&clock, config);
    assert_host_answers(&v);
    // Resolutions and getcpu do not need the TSC.
    let (r, res) = v.clock_getres(ClockId::MonotonicCoarse as i32, true);
    assert_eq!((r, res), (0, Timespec::from_nanos(COARSE_RES_NS)));
    assert_eq!(v.getcpu(), (0, 0, 0));
}

#[test]
fn another_layout_version_or_size_sends_everything_to_the_kernel() {
    let clock = TscClock::new(1_000_000_000, u64::MAX, 1_000 * NSEC_PER_SEC as i128);
    let config = VvarConfig {
        tsc_usable: true,
        getcpu: GetcpuSource::Fixed { cpu: 4000, node: 9 },
    };
    let v = published(&clock, config);
    assert_eq!(v.time().0, 1_000, "served from the page");
    v.vvar().version.store(VVAR_VERSION + 1, Ordering::Relaxed);
    assert_host_answers(&v);
    assert_ne!(v.getcpu(), (0, 4000, 9));
    v.vvar().publish(&clock, config);
    v.vvar().size.store(88, Ordering::Relaxed);
    assert_host_answers(&v);
    v.vvar().publish(&clock, config);
    assert_eq!(v.time().0, 1_000);
}

/// CPUID 0x8000_0001 EDX bit 27.
#[allow(unused_unsafe)] // __cpuid is an unsafe fn in older Rust (the MSRV), safe in newer
fn has_rdtscp() -> bool {
    // SAFETY: CPUID only reads, and leaf 0x8000_0001 exists on every x86_64 CPU.
    let leaf = unsafe { core::arch::x86_64::__cpuid(0x8000_0001) };
    leaf.edx & (1 << 27) != 0
}

#[test]
fn getcpu_reads_the_page_the_aux_register_or_the_kernel() {
    let clock = TscClock::new(1_000_000_000, 0, 0);
    let fixed = VvarConfig {
        tsc_usable: true,
        getcpu: GetcpuSource::Fixed { cpu: 3, node: 1 },
    };
    let v = published(&clock, fixed);
    assert_eq!(v.getcpu(), (0, 3, 1));
    // Null pointers are allowed.
    // SAFETY: __vdso_getcpu in our mapping has this signature; null skips the stores.
    let f: Getcpu = unsafe { core::mem::transmute(v.symbol("getcpu")) };
    // SAFETY: null pointers are never written.
    let r = unsafe {
        f(
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    };
    assert_eq!(r, 0);

    let syscall = VvarConfig {
        getcpu: GetcpuSource::Syscall,
        ..fixed
    };
    v.vvar().publish(&clock, syscall);
    let (r, cpu, node) = v.getcpu();
    assert_eq!(r, 0);
    assert!(cpu < 4096 && node < 4096, "{cpu} {node}");

    // Linux sets IA32_TSC_AUX to node << 12 | cpu; the two modes must agree (the thread may
    // move between the calls, so only once is required).
    if has_rdtscp() {
        let aux = VvarConfig {
            getcpu: GetcpuSource::TscAux,
            ..fixed
        };
        let agree = (0..100).any(|_| {
            v.vvar().publish(&clock, syscall);
            let by_kernel = v.getcpu();
            v.vvar().publish(&clock, aux);
            v.getcpu() == by_kernel
        });
        assert!(agree, "RDTSCP and getcpu(2) never agreed");
    }
}

/// Waits about a microsecond, so that a reader can run into the middle of a write.
fn dawdle() {
    let start = tsc();
    while tsc().wrapping_sub(start) < 2_000 {
        core::hint::spin_loop();
    }
}

/// What [`VvarData::publish`] does for the clock fields, slowly: a writer that follows the
/// protocol but stays odd long enough that readers overlap it.
fn publish_slowly(page: &VvarData, clock: &TscClock) {
    let relaxed = Ordering::Relaxed;
    let (sec, nsec) = split_ns(clock.realtime_ns(clock.boot_ticks()));
    let odd = page.seq.load(relaxed) | 1;
    page.seq.store(odd, relaxed);
    fence(Ordering::Release);
    dawdle();
    page.mult.store(clock.mult(), relaxed);
    dawdle();
    page.realtime_sec.store(sec, relaxed);
    dawdle();
    page.realtime_nsec.store(nsec as u64, relaxed);
    dawdle();
    page.boot_ticks.store(clock.boot_ticks(), relaxed);
    page.seq.store(odd.wrapping_add(1), Ordering::Release);
}

#[test]
fn readers_never_see_a_half_written_page() {
    // Two clocks whose mixtures are far from both: different wall times, different rates.
    let a = TscClock::new(
        1_000_000_000,
        0,
        1_000_000_000 * NSEC_PER_SEC as i128 + 250_000_000,
    );
    let b = TscClock::new(
        2_000_000_000,
        0,
        3_000_000_000 * NSEC_PER_SEC as i128 + 750_000_000,
    );
    let v = published(&a, CONFIG);
    let stop = AtomicBool::new(false);
    let page = v.vvar();
    let (mut reads, mut torn) = (0u64, None);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                publish_slowly(page, &b);
                page.publish(&a, CONFIG);
                page.publish(&b, CONFIG);
                page.publish(&a, CONFIG);
            }
        });
        let deadline = Instant::now() + Duration::from_millis(300);
        while torn.is_none() && (Instant::now() < deadline || reads < 10_000) {
            let t0 = tsc();
            let (r, ts) = v.clock_gettime(ClockId::Realtime as i32);
            let t1 = tsc();
            // No assert in here: a panic would leave the writer running and the scope waiting.
            let got = ts.tv_sec as i128 * NSEC_PER_SEC as i128 + ts.tv_nsec as i128;
            let within = |c: &TscClock| c.realtime_ns(t0) <= got && got <= c.realtime_ns(t1);
            let nsec_ok = (0..NSEC_PER_SEC as i64).contains(&ts.tv_nsec);
            if r != 0 || !nsec_ok || !(within(&a) || within(&b)) {
                torn = Some((r, got));
            }
            reads += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(torn, None, "torn read after {reads} good ones");
    assert_eq!(page.seq.load(Ordering::Relaxed) % 2, 0);
}
