//! The vDSO: the small shared object ("linux-vdso.so.1") the kernel maps into every process so
//! that clock_gettime(2), gettimeofday(2), time(2), clock_getres(2) and getcpu(2) run in user
//! mode, as Linux's x86_64 vDSO does (vdso(7)). glibc and musl, static binaries included, find
//! it through `AT_SYSINFO_EHDR` and call `__vdso_*@LINUX_2.6`.
//!
//! This module is the kernel's side of it: the image that `build.rs` compiles from
//! `crates/kernel/vdso/` ([`image`], [`image_pages`]) and the data page the image reads, the
//! "vvar" page ([`VvarData`], [`fill`]). It does not map anything: exec does, following the
//! layout below.
//!
//! # Mapping
//!
//! Each process gets [`MAPPING_PAGES`] contiguous pages at a page-aligned `base` (randomized
//! like the mmap base; Linux puts `[vvar]` then `[vdso]` there):
//!
//! | range | contents | user protection |
//! | --- | --- | --- |
//! | `base` .. `+ DATA_PAGES * 4096` | the vvar page (`[vvar]`) | read only, no exec |
//! | [`image_base`]`(base)` .. `+ IMAGE_PAGES * 4096` | [`image_pages`] (`[vdso]`) | read + exec |
//!
//! `AT_SYSINFO_EHDR` is [`image_base`]`(base)`, the image's ELF header. The code finds the data
//! page at a fixed 4096 bytes below that header, RIP-relatively (the image has no relocations
//! and no absolute addresses), so this order and adjacency are the contract between the
//! kernel and the image. All processes may share the same physical pages for both: the
//! frames of [`image_pages`] themselves (page-aligned, zero-padded, in the kernel's read-only
//! data) or copies of them, and one data-page frame the kernel keeps up to date with [`fill`].
//! Linux names the two areas `[vvar]` and `[vdso]` in /proc/PID/maps and does not let mremap
//! grow them.
//!
//! # The data page
//!
//! [`VvarData`] (mirrored by `struct oxv_vvar` in `vdso/vvar.h`; tests compare the two field
//! by field) carries the [`TscClock`] as the image needs it: TSC at boot, multiplier and shift,
//! the wall time at boot split like a `timespec`, the clock resolutions, and how getcpu finds
//! the CPU. The image computes exactly what `oxv_sched::syscalls::time` computes from the same
//! clock and TSC value:
//!
//! - `MONOTONIC`, `MONOTONIC_RAW`, `BOOTTIME`: `((tsc - boot_ticks) * mult) >> 40`;
//! - `REALTIME`, `TAI`: that plus the wall time at boot;
//! - the `_COARSE` clocks: the same at the last 4 ms tick since boot;
//! - other clocks (CPU time, `_ALARM`, invalid ids): the real system call.
//!
//! A page that was never filled, that carries another layout version or size, or that says
//! the TSC is unusable also makes every function fall back to the system call (and return
//! its `0` or `-errno`, as Linux's vDSO does). So an all-zero page is always safe.
//!
//! Updates follow a sequence-counter protocol (Linux's seqcount): the writer makes `seq` odd,
//! rewrites the fields and makes it even again; a reader retries when `seq` was odd or changed
//! while it read. There must be one writer at a time.

use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};
use oxv_sched::clock::{TscClock, split_ns};
use oxv_sched::syscalls::time::{COARSE_RES_NS, HIGH_RES_NS};
use zerocopy::{FromBytes, IntoBytes, KnownLayout};

/// The x86_64 page size, the granule of the vDSO mapping.
pub const PAGE_SIZE: usize = 4096;

/// Pages of data (vvar) mapped right below the image.
pub const DATA_PAGES: usize = 1;

/// The layout version the kernel stores in the page; `OXV_VVAR_VERSION` in `vdso/vvar.h`.
pub const VVAR_VERSION: u32 = 1;

/// `flags`: the TSC is readable in ring 3 and the clock fields are valid (`OXV_VVAR_CLOCKS`).
const FLAG_CLOCKS: u32 = 1;

/// `getcpu_mode` values (`OXV_GETCPU_*`).
const GETCPU_SYSCALL: u32 = 0;
const GETCPU_PAGE: u32 = 1;
const GETCPU_RDTSCP: u32 = 2;

/// `TscClock`'s fixed-point shift (`ns = ticks * mult >> 40`); a test checks it against
/// [`TscClock::ticks_to_ns`].
const SHIFT: u32 = 40;

/// The largest wall time at boot, in seconds either side of the epoch, that the image may add
/// to: it adds up to `u64::MAX / 1e9` seconds of monotonic time in 64-bit signed arithmetic.
/// Wall clocks beyond it (set by the app to absurd values) are served by the system call.
const MAX_REALTIME_SEC: u64 = 1 << 62;

const RAW_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// The image's length in bytes.
const IMAGE_LEN: usize = RAW_IMAGE.len();

/// Pages the image occupies (the last one zero-padded).
pub const IMAGE_PAGES: usize = IMAGE_LEN.div_ceil(PAGE_SIZE);

/// Pages of one process's vDSO mapping: the data pages, then the image.
pub const MAPPING_PAGES: usize = DATA_PAGES + IMAGE_PAGES;

#[repr(C, align(4096))]
struct PageAligned<T>(T);

/// The image, page-aligned and padded with zeros to whole pages, so its frames can be mapped
/// into processes as they are.
static IMAGE: PageAligned<[u8; IMAGE_PAGES * PAGE_SIZE]> = PageAligned(padded_image());

const fn padded_image() -> [u8; IMAGE_PAGES * PAGE_SIZE] {
    let mut pages = [0; IMAGE_PAGES * PAGE_SIZE];
    let mut i = 0;
    while i < IMAGE_LEN {
        pages[i] = RAW_IMAGE[i];
        i += 1;
    }
    pages
}

/// The vDSO image (an ELF64 shared object), exactly as linked. It starts on a page boundary.
#[allow(
    dead_code,
    reason = "the file as linked, for tests and tools; exec maps image_pages"
)]
pub fn image() -> &'static [u8] {
    &IMAGE.0[..IMAGE_LEN]
}

/// The image padded with zeros to [`IMAGE_PAGES`] whole pages, page-aligned: what is mapped
/// read + exec at [`image_base`].
pub fn image_pages() -> &'static [u8] {
    &IMAGE.0
}

/// Where the image goes, and what `AT_SYSINFO_EHDR` says, when the mapping starts at
/// `mapping_base` (the data pages come first).
pub const fn image_base(mapping_base: u64) -> u64 {
    mapping_base + (DATA_PAGES * PAGE_SIZE) as u64
}

/// How `__vdso_getcpu` finds the CPU it runs on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "one choice per machine: one CPU, SMP with RDTSCP, or neither"
)]
pub enum GetcpuSource {
    /// It asks the kernel (getcpu(2)).
    Syscall,
    /// The page holds the answer: right while the process runs on one CPU only.
    Fixed {
        /// The CPU number.
        cpu: u32,
        /// The NUMA node.
        node: u32,
    },
    /// RDTSCP returns each CPU's `IA32_TSC_AUX`, which the kernel sets to `node << 12 | cpu`
    /// on every CPU it brings up (Linux's encoding). Needs RDTSCP (CPUID 0x8000_0001 EDX 27).
    TscAux,
}

/// What the kernel tells the vDSO besides the clock itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VvarConfig {
    /// The TSC can be read in ring 3 (CR4.TSD clear) and ticks at the calibrated rate on
    /// every CPU. If not, the clock functions make the system call.
    pub tsc_usable: bool,
    /// How getcpu answers.
    pub getcpu: GetcpuSource,
}

/// The vvar data, at the start of the data page: `struct oxv_vvar` in `vdso/vvar.h`.
///
/// Every field is atomic because processes read the page while the kernel rewrites it; the
/// fields are private so that every write goes through [`VvarData::publish`] and its
/// sequence-counter protocol.
#[repr(C)]
#[derive(Debug, FromBytes, IntoBytes, KnownLayout)]
pub struct VvarData {
    /// Odd while the kernel rewrites the page.
    seq: AtomicU32,
    /// [`VVAR_VERSION`].
    version: AtomicU32,
    /// `size_of::<VvarData>()`.
    size: AtomicU32,
    /// `FLAG_*`.
    flags: AtomicU32,
    /// TSC at kernel entry ([`TscClock::boot_ticks`]).
    boot_ticks: AtomicU64,
    /// [`TscClock::mult`].
    mult: AtomicU64,
    /// [`SHIFT`].
    shift: AtomicU32,
    /// `GETCPU_*`.
    getcpu_mode: AtomicU32,
    /// `CLOCK_REALTIME` at `boot_ticks`, seconds (floor) ...
    realtime_sec: AtomicI64,
    /// ... and nanoseconds, `0..1e9`.
    realtime_nsec: AtomicU64,
    /// clock_getres(2) of the precise clocks.
    hres_ns: AtomicU64,
    /// clock_getres(2) and tick of the `_COARSE` clocks.
    coarse_ns: AtomicU64,
    /// The CPU for [`GetcpuSource::Fixed`].
    cpu: AtomicU32,
    /// The NUMA node for [`GetcpuSource::Fixed`].
    node: AtomicU32,
}

// The image's offsets (vvar.h pins the same numbers; a test compares the two files).
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(offset_of!(VvarData, seq) == 0);
    assert!(offset_of!(VvarData, boot_ticks) == 16);
    assert!(offset_of!(VvarData, realtime_sec) == 40);
    assert!(offset_of!(VvarData, node) == 76);
    assert!(size_of::<VvarData>() == 80);
    assert!(size_of::<VvarData>() <= DATA_PAGES * PAGE_SIZE);
};

impl VvarData {
    /// Publishes `clock` and `config` to the vDSO: at boot once the clock is calibrated, and
    /// again whenever the clock changes (settimeofday(2), clock_settime(2), adjtimex(2)), with
    /// the same clock value the system calls use from then on.
    ///
    /// Callers serialize: one writer at a time (hold the lock that guards the clock). Readers
    /// spin while the write is in progress, so the writer should not be preempted in the
    /// middle (interrupts off for the few stores).
    pub fn publish(&self, clock: &TscClock, config: VvarConfig) {
        // monotonic_ns(boot_ticks) is 0, so this is the wall time at boot.
        let (sec, nsec) = split_ns(clock.realtime_ns(clock.boot_ticks()));
        let flags = if config.tsc_usable && sec.unsigned_abs() <= MAX_REALTIME_SEC {
            FLAG_CLOCKS
        } else {
            0
        };
        let (mode, cpu, node) = match config.getcpu {
            GetcpuSource::Syscall => (GETCPU_SYSCALL, 0, 0),
            GetcpuSource::Fixed { cpu, node } => (GETCPU_PAGE, cpu, node),
            GetcpuSource::TscAux => (GETCPU_RDTSCP, 0, 0),
        };

        let relaxed = Ordering::Relaxed;
        // Odd first (a page left odd by an interrupted writer stays odd until this ends).
        let odd = self.seq.load(relaxed) | 1;
        self.seq.store(odd, relaxed);
        // No field store may become visible before the odd count.
        fence(Ordering::Release);
        self.version.store(VVAR_VERSION, relaxed);
        self.size.store(size_of::<VvarData>() as u32, relaxed);
        self.flags.store(flags, relaxed);
        self.boot_ticks.store(clock.boot_ticks(), relaxed);
        self.mult.store(clock.mult(), relaxed);
        self.shift.store(SHIFT, relaxed);
        self.getcpu_mode.store(mode, relaxed);
        self.realtime_sec.store(sec, relaxed);
        self.realtime_nsec.store(nsec as u64, relaxed);
        self.hres_ns.store(HIGH_RES_NS, relaxed);
        self.coarse_ns.store(COARSE_RES_NS, relaxed);
        self.cpu.store(cpu, relaxed);
        self.node.store(node, relaxed);
        // Even again, after every field store.
        self.seq.store(odd.wrapping_add(1), Ordering::Release);
    }
}

/// Writes the data page in a frame the caller owns (e.g. through the direct map): zeros
/// after the data, then [`VvarData::publish`] of `clock` and `config`. Call it again to
/// update the page; the same rules as for `publish` apply.
///
/// # Panics
/// If `page` is not 8-byte aligned (frames are page-aligned).
pub fn fill(page: &mut [u8; PAGE_SIZE], clock: &TscClock, config: VvarConfig) {
    let (data, rest) = VvarData::mut_from_prefix(&mut page[..])
        .expect("a page frame is aligned for the 8-byte vvar fields");
    rest.fill(0);
    data.publish(clock, config);
}

#[cfg(test)]
mod tests;
