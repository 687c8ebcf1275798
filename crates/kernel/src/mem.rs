//! Memory bring-up and the kernel's frame allocator instance.
//!
//! Order matters: free RAM is computed from the PVH memory map; the kernel's own page tables
//! are built from a bump allocator over it (the boot tables map only 4 GiB); then the buddy
//! allocator takes its metadata table from the same bump allocator and receives everything
//! that is left.

use crate::arch::kernel_map;
use crate::arch::paging::{self, PageTableRoot};
use crate::arch::pvh::BootInfo;
use crate::arch::user_pt::DirectMapBytes;
use crate::memmap::FreeRam;
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use oxv_mm::heap::{HeapArena, HeapGrowth, HeapPressure, HeapRegion, KernelHeap};
use oxv_mm::{
    FrameAllocator, FrameBytes, FrameCache, FrameError, FrameSource, FrameSpan, FrameStats,
    HugeFrame, Meminfo, PhysAddr, PhysFrame,
};
use oxv_vfs::shrink::{CacheShrinker, Need, Shrinkers};
use oxv_vfs::tmpfs::FileMemory;
use spin::{Mutex, Once};

/// The heap starts in this arena (enough for boot) and grows from the frame allocator.
static ARENA: HeapArena<{ 64 * 1024 }> = HeapArena::new();

#[global_allocator]
static HEAP: KernelHeap<FrameGrowth, spin::Mutex<()>, FramePressure> =
    KernelHeap::with_pressure(&ARENA, FrameGrowth, FramePressure);

/// Grows the kernel heap with blocks of frames seen through the direct map.
struct FrameGrowth;

impl HeapGrowth for FrameGrowth {
    fn grow(&mut self, min_len: usize) -> Option<HeapRegion> {
        // At least 64 KiB at a time (order 4), more for a large request; when memory is
        // short or fragmented, the smallest block that serves the request.
        let need = min_len.div_ceil(4096).next_power_of_two();
        let pages = need.max(16);
        let (block, pages) = {
            let mut frames = FRAMES.lock();
            let frames = frames.as_mut()?;
            match frames.allocate(pages.trailing_zeros() as u8) {
                Some(b) => (b, pages),
                None if need < pages => (frames.allocate(need.trailing_zeros() as u8)?, need),
                None => return None,
            }
        };
        let va = paging::phys_to_virt(block.start_address().as_u64());
        // SAFETY: the block was just allocated, so nothing else uses it; it is mapped by the
        // direct map and freed only when the heap gives it back (`release`).
        Some(unsafe { HeapRegion::from_raw_parts(NonNull::new(va as *mut u8)?, pages * 4096) })
    }

    /// A block from `grow` the heap no longer uses goes back to the buddy allocator (which
    /// knows its order), where it may merge: under memory pressure, see [`reclaim`].
    fn release(&mut self, region: HeapRegion) -> Option<HeapRegion> {
        let pa = (region.start().as_ptr() as u64).wrapping_sub(paging::phys_to_virt(0));
        let mut frames = FRAMES.lock();
        let Some(frames) = frames.as_mut() else {
            return Some(region);
        };
        match frames.free(PhysFrame::containing_address(PhysAddr::new(pa))) {
            Ok(_) => None,
            Err(_) => Some(region),
        }
    }
}

/// What the kernel heap does when it cannot grow: reclaim, then the OOM killer (see
/// `oxv_mm::heap` for the order, [`crate::oom`] for the killer).
struct FramePressure;

impl HeapPressure for FramePressure {
    fn reclaim(&self, min_len: usize) -> bool {
        let pages = min_len.div_ceil(4096).max(RECLAIM_BATCH);
        // Both: free heap blocks may merge into one large enough for this growth.
        reclaim(Need::Heap, pages) | release_heap_blocks(pages)
    }

    fn out_of_memory(&self, _layout: Layout) {
        // The allocation itself was served from the reserve, or the reserve could not serve
        // it (then it is retried after this). If the killer could free the victim's memory
        // at once, a new reserve is set aside now; else the heap's next growth after the
        // victim died does it. With a 64th of RAM still free the shortage is fragmentation
        // (no block as large as a big request, a socket's buffer say), not a lack of memory:
        // no one is killed for it (as `stack_shortage`). Free in the buddy allocator only:
        // the frames other CPUs' caches hold cannot grow this heap.
        let (free, total) = allocator()
            .as_ref()
            .map_or((0, 0), |a| (a.free_frames(), a.total_frames()));
        if free < (total / 64).max(64) {
            crate::oom::kill_largest();
        }
        HEAP.arm_reserve(HEAP_RESERVE_BYTES.load(Ordering::Relaxed));
    }
}

/// The size of the kernel heap's emergency reserve, chosen by [`init`].
static HEAP_RESERVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The kernel heap's emergency reserve for `ram_pages` of RAM: a 256th of RAM, between
/// 64 and 256 KiB (enough for the syscall that ran out to finish and for the OOM killer's
/// own allocations, small enough not to matter in a small VM).
fn heap_reserve_bytes(ram_pages: usize) -> usize {
    (ram_pages / 256).next_power_of_two().clamp(16, 64) * 4096
}

/// The caches that give memory back under pressure (the ext2 file systems, registered by
/// `disks`), asked by [`reclaim`].
static SHRINKERS: Shrinkers = Shrinkers::new();

/// Pages a reclaim asks the caches for at least (256 KiB): one shortage frees enough for the
/// next allocations too, rather than reclaiming page by page.
const RECLAIM_BATCH: usize = 64;

/// The CPUs inside [`reclaim`]'s shrinkers, a bit each: a shrinker that frees memory may
/// itself allocate by accident (waking a lock's sleepers), and that must not reclaim again.
static SHRINKING: AtomicU64 = AtomicU64::new(0);

/// Registers a cache that gives memory back under pressure (see `oxv_vfs::shrink`).
pub fn register_shrinker(cache: alloc::sync::Weak<dyn CacheShrinker>) {
    SHRINKERS.register(cache);
}

/// Gives back memory the kernel can do without, before anything fails for lack of it
/// (Linux's direct reclaim, minus swap and write-back): the frames parked in this CPU's
/// cache (which may also let the buddy allocator merge blocks for the heap), then about
/// `pages` pages of file caches: clean, unmapped ext2 page-cache frames, and for
/// [`Need::Heap`] clean buffer-cache blocks too (they are heap). Returns whether memory of
/// the kind `need` names came back. Never allocates, never waits for a lock: a file
/// system whose lock is held (the allocation may come from inside it) is skipped.
///
/// Not reclaimed: dirty or mapped file pages, tmpfs files (RAM is their only copy); dead
/// threads' stacks are freed by the scheduler on its own.
fn reclaim(need: Need, pages: usize) -> bool {
    // The idle loop runs with interrupts enabled, and the cache is only touched with them
    // off (see `with_cache`); so do the shrinkers, which release frames to it.
    if interrupts_enabled() {
        return false;
    }
    let drained = with_cache(|cache| {
        let parked = cache.len();
        if parked > 0
            && let Some(a) = allocator().as_mut()
        {
            cache.drain(a);
        }
        parked > 0
    });
    let me = 1u64 << (crate::arch::percpu::this_cpu().cpu_id % 64);
    if SHRINKING.fetch_or(me, Ordering::Acquire) & me != 0 {
        return drained;
    }
    let shrunk = SHRINKERS.shrink(need, pages.max(RECLAIM_BATCH), &KernelFrames);
    SHRINKING.fetch_and(!me, Ordering::Release);
    if shrunk.frames > 0 {
        // Released frames went to this CPU's cache: hand them to the allocator, where the
        // heap's multi-page growth can find them merged.
        with_cache(|cache| {
            if let Some(a) = allocator().as_mut() {
                cache.drain(a);
            }
        });
    }
    drained || shrunk.serves(need)
}

/// The kernel heap's wholly free blocks back to the buddy allocator, about `pages` pages'
/// worth (a burst of pipe or socket buffers long gone): frames for a user page or a kernel
/// stack, or a merged block for a heap growth larger than any free one. A last step before
/// the OOM killer, not part of [`reclaim`]: a heap that gave its free memory up at every
/// shortage would have to grow again for the buffer cache's next write-back, competing
/// with the page cache at its watermark (a shared-mapping write-back test was OOM-killed
/// that way). Returns whether any block went back.
fn release_heap_blocks(pages: usize) -> bool {
    if interrupts_enabled() {
        return false;
    }
    HEAP.release_free_regions(pages.max(RECLAIM_BATCH) * 4096) > 0
}

/// Pages the kernel itself holds (heap, tmpfs files, kernel stacks): what no process's
/// resident set counts, for the OOM killer's estimate of a process it cannot measure.
pub fn kernel_pages() -> u64 {
    (HEAP.stats().claimed_bytes as u64 + KERNEL_STACK_BYTES.load(Ordering::Relaxed)) / 4096
        + FILE_FRAMES.load(Ordering::Relaxed)
}

static FRAMES: Mutex<Option<FrameAllocator<'static>>> = Mutex::new(None);
/// Bytes of RAM the memory map reports, for [`out_of_memory_at_boot`].
static RAM_BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes of RAM the direct map covers (in 2 MiB pages), for `DirectMap2M`.
static DIRECT_MAP_BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes of kernel stacks allocated (the boot stack excepted), for `KernelStack`.
static KERNEL_STACK_BYTES: AtomicU64 = AtomicU64::new(0);
/// Frames holding tmpfs file data, for `Cached` and `Shmem`.
static FILE_FRAMES: AtomicU64 = AtomicU64::new(0);
static KERNEL_PT: Once<PageTableRoot> = Once::new();

/// Sets up the kernel page tables and the frame allocator. Returns the free RAM in bytes.
pub fn init(info: &BootInfo) -> u64 {
    // The boot stub (with the live boot page tables) sits between 1 MiB and the image; it is
    // given to the buddy allocator once the kernel's own tables are active.
    let (cmd_pa, cmd_len) = info.cmdline;
    let mut reserved = [
        0..0x10_0000u64,
        kernel_map::boot_phys_range().start..kernel_map::image_phys_range().end,
        0..0,
        // Read after this function returns: the command line and the start_info block.
        cmd_pa..cmd_pa + cmd_len as u64 + 1,
        info.start_info..info.start_info + 64,
    ];
    if let Some(m) = info.initrd {
        reserved[2] = m.addr..m.addr + m.size;
    }
    let mut free = FreeRam::new(info, &reserved);
    // When the RAM between the kernel and the initramfs is too small for the tables below (a
    // VM sized to just hold both), they come from the first MiB's RAM, and only then from
    // above the initramfs: on pc and q35 the memory map calls the ACPI tables there RAM, and
    // SMP bring-up reads them later.
    let mut low = low_ram(info);
    let below = info.initrd.map_or(u64::MAX, |m| m.addr);
    let mut take = |len: u64| {
        free.take_below(len, below)
            .or_else(|| low.take(len))
            .or_else(|| free.take(len))
    };

    let ram = FreeRam::new(info, &[]);
    DIRECT_MAP_BYTES.store(direct_map_bytes(ram.ranges()), Ordering::Relaxed);
    RAM_BYTES.store(
        ram.ranges().iter().map(|r| r.end - r.start).sum(),
        Ordering::Relaxed,
    );
    let kpt = kernel_map::build(ram.ranges(), &mut || take(4096))
        .unwrap_or_else(|_| out_of_memory_at_boot("the kernel page tables"));
    // The kernel-stack region's upper tables exist before any address space copies the
    // kernel half, so stacks mapped later are seen by all of them.
    kpt.ensure_tables(STACK_REGION, &mut || take(4096))
        .unwrap_or_else(|_| out_of_memory_at_boot("the kernel-stack tables"));
    // SAFETY: the new tables map the kernel image at the addresses it runs at, the direct
    // map over all RAM (where the stack, start_info and initramfs are read from), and stay
    // alive forever (stored in KERNEL_PT).
    unsafe { kpt.activate() };
    KERNEL_PT.call_once(|| kpt);

    // The span covers all RAM, so that ranges reserved at boot (the boot stub, the
    // initramfs) can be given back later.
    let boot = kernel_map::boot_phys_range();
    let all: [core::ops::Range<PhysAddr>; 64] =
        core::array::from_fn(|i| match ram.ranges().get(i) {
            Some(r) => PhysAddr::new(r.start)..PhysAddr::new(r.end),
            None => PhysAddr::new(0)..PhysAddr::new(0),
        });
    let span = FrameSpan::covering(&all[..ram.ranges().len()]).expect("the VM has RAM");
    let meta_pa = take(span.metadata_bytes() as u64)
        .unwrap_or_else(|| out_of_memory_at_boot("the frame table"));
    *LOW_RAM.lock() = Some(low);
    // SAFETY: [meta_pa, +metadata_bytes) was just taken from free RAM, so nothing else uses it;
    // it is mapped by the direct map and lives forever.
    let meta = unsafe {
        core::slice::from_raw_parts_mut(
            paging::phys_to_virt(meta_pa) as *mut u8,
            span.metadata_bytes(),
        )
    };
    let mut alloc = FrameAllocator::from_bytes(span.base, meta).expect("metadata is page aligned");
    for r in free.ranges() {
        alloc
            .add_range(PhysAddr::new(r.start)..PhysAddr::new(r.end))
            .expect("free ranges are disjoint and in the span");
    }
    alloc
        .add_range(PhysAddr::new(boot.start)..PhysAddr::new(boot.end))
        .expect("the boot stub is RAM below the image");
    let total = alloc.free_frames() as u64 * 4096;
    let reserve = heap_reserve_bytes(alloc.total_frames());
    HEAP_RESERVE_BYTES.store(reserve, Ordering::Relaxed);
    *FRAMES.lock() = Some(alloc);
    // Armed now if it can be, else by the heap's first growth that can spare it.
    HEAP.arm_reserve(reserve);
    total
}

/// Ends the VM with a message when boot runs out of RAM before the app starts (the VM was
/// given less than the kernel, the initramfs and the files unpacked from it need): status 2,
/// as for the other reasons the app cannot start.
pub fn out_of_memory_at_boot(what: &str) -> ! {
    use core::fmt::Write;
    struct Stderr;
    impl Write for Stderr {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            crate::console::write_stderr(s.as_bytes());
            Ok(())
        }
    }
    let _ = writeln!(
        Stderr,
        "oxv: out of memory at boot ({what}): the VM's {} KiB of RAM are not enough; give it more (--mem)",
        RAM_BYTES.load(Ordering::Relaxed) / 1024
    );
    crate::process::end_vm(crate::process::ExitStatus::Exited(2))
}

/// Free frames the rest of boot needs once the initramfs is unpacked: mounting /dev, /proc
/// and /tmp, the app's kernel stack (4 contiguous pages), page tables and first pages, and
/// kernel heap growth (64 KiB at a time). Measured with the static hello: it ran with 45
/// frames free after unpacking and failed with 41 (the kernel stack) and 22 (the heap).
const BOOT_RESERVE_FRAMES: usize = 40;

/// Ends the VM with [`out_of_memory_at_boot`] when fewer than the frames the rest of boot
/// needs are free after `what`: a clear message rather than a kernel heap allocation failure
/// (a panic) a few steps later.
pub fn check_boot_reserve(what: &str) {
    if frame_stats().0 < BOOT_RESERVE_FRAMES {
        out_of_memory_at_boot(what);
    }
}

/// How much the direct map covers: `ranges` (sorted RAM) rounded out to 2 MiB pages, each
/// page counted once (what `kernel_map::build` maps).
fn direct_map_bytes(ranges: &[core::ops::Range<u64>]) -> u64 {
    const HUGE: u64 = 2 << 20;
    let (mut total, mut mapped_to) = (0, 0);
    for r in ranges {
        let start = (r.start & !(HUGE - 1)).max(mapped_to);
        let end = r.end.next_multiple_of(HUGE);
        if end > start {
            total += end - start;
            mapped_to = end;
        }
    }
    total
}

/// The kernel's page tables (the template for every address space's kernel half).
pub fn kernel_page_table() -> PageTableRoot {
    *KERNEL_PT.get().expect("mem::init ran")
}

/// Whether RFLAGS.IF is set.
fn interrupts_enabled() -> bool {
    let flags: u64;
    // SAFETY: reads RFLAGS through the stack; no memory of ours is touched.
    unsafe { core::arch::asm!("pushfq", "pop {}", out(reg) flags, options(preserves_flags)) };
    flags & (1 << 9) != 0
}

/// Runs `f` on this CPU's frame cache.
///
/// Kernel code runs with interrupts disabled (only the idle loop enables them, and it holds
/// no cache), so nothing else on this CPU can reach the cache while `f` runs, and no other
/// CPU ever touches it.
fn with_cache<R>(f: impl FnOnce(&mut FrameCache) -> R) -> R {
    debug_assert!(
        !interrupts_enabled(),
        "the frame cache is used with interrupts disabled"
    );
    let cell = &crate::arch::percpu::this_cpu().frame_cache;
    // SAFETY: only this CPU reaches its own cache, interrupts are off (see above), and `f`
    // cannot re-enter `with_cache`: it only calls the frame allocator, which never allocates
    // frames through `KernelFrames`.
    f(unsafe { &mut *cell.get() })
}

/// The kernel's [`FrameSource`]: order-0 frames come from and go back to this CPU's
/// [`FrameCache`] (Linux's per-CPU page lists), which refills and drains in batches under the
/// global allocator's lock; everything else locks the global allocator per call.
pub struct KernelFrames;

fn allocator() -> spin::MutexGuard<'static, Option<FrameAllocator<'static>>> {
    FRAMES.lock()
}

/// Runs `f` on the global allocator.
///
/// # Panics
/// If called before [`init`].
fn with_allocator<R>(f: impl FnOnce(&mut FrameAllocator<'static>) -> R) -> R {
    f(allocator().as_mut().expect("mem::init ran"))
}

/// One frame from this CPU's cache, refilled from the global allocator when empty.
fn cached_frame() -> Option<PhysFrame> {
    with_cache(|cache| {
        if let Some(f) = cache.pop() {
            return Some(f);
        }
        cache.refill(allocator().as_mut()?);
        cache.pop()
    })
}

/// No frame is free: reclaim, then the heap's wholly free blocks, then the OOM killer
/// (Linux: a page allocation that fails after reclaim invokes it), which frees the victim's
/// memory at once when it can: then the allocation is retried. `None` if that found nothing either: the caller fails (a user
/// fault then waits for the victim with its address space unlocked and retries, see
/// `process::resolve_fault`).
#[cold]
#[inline(never)]
fn frame_shortage() -> Option<PhysFrame> {
    if reclaim(Need::Frames, RECLAIM_BATCH)
        && let Some(f) = cached_frame()
    {
        return Some(f);
    }
    // Boot (before the scheduler runs anything) and the idle loop have no process to free
    // memory from.
    if release_heap_blocks(RECLAIM_BATCH)
        && let Some(f) = cached_frame()
    {
        return Some(f);
    }
    if crate::arch::percpu::running() == 0
        || !crate::sched::with_running(|t| t.process_opt().is_some())
    {
        return None;
    }
    crate::oom::kill_largest();
    cached_frame()
}

impl FrameSource for KernelFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        cached_frame().or_else(frame_shortage)
    }
    fn add_ref(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        with_allocator(|a| a.add_ref(frame))
    }
    fn release(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        with_cache(|cache| with_allocator(|a| a.release_to_cache(frame, cache)))
    }
    fn ref_count(&self, frame: PhysFrame) -> Option<u32> {
        allocator().as_ref()?.ref_count(frame)
    }
    fn allocate_huge(&mut self) -> Option<HugeFrame> {
        allocator().as_mut()?.allocate_huge()
    }
    fn add_ref_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        with_allocator(|a| a.add_ref_huge(block))
    }
    fn release_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        with_allocator(|a| a.release_huge(block))
    }
    fn huge_ref_count(&self, block: HugeFrame) -> Option<u32> {
        allocator().as_ref()?.huge_ref_count(block)
    }
    fn split_huge(&mut self, block: HugeFrame) -> Result<(), FrameError> {
        with_allocator(|a| a.split_huge(block))
    }
}

/// Maps device registers at physical `pa` (one page) uncached in the kernel half and returns
/// their virtual address (in the direct-map window, where no RAM lives at device addresses).
pub fn map_mmio(pa: u64) -> Option<u64> {
    let va = paging::phys_to_virt(pa & !4095);
    let flags = paging::pte::WRITABLE
        | paging::pte::NO_CACHE
        | paging::pte::WRITE_THROUGH
        | paging::nx_bit()
        | paging::global_bit();
    let root = kernel_page_table();
    root.map_4k(va, pa & !4095, flags, &mut || {
        let f = KernelFrames.allocate_frame()?.start_address().as_u64();
        paging::zero_frame(f);
        Some(f)
    })
    .ok()?;
    crate::arch::cpu::invlpg(va);
    Some(va + (pa & 4095))
}

/// Gives a range that boot reserved (the initramfs once unpacked) to the frame allocator.
/// Pages shared with other reserved data at either end are kept.
pub fn release_boot_range(start: u64, end: u64) {
    let (s, e) = (start.next_multiple_of(4096), end & !4095);
    if s < e {
        if let Some(a) = FRAMES.lock().as_mut() {
            let _ = a.add_range(PhysAddr::new(s)..PhysAddr::new(e));
        }
    }
}

/// Gives the RAM of the first MiB to the frame allocator once boot no longer needs it, but
/// for what [`init`] took from it when the RAM between kernel and initramfs was too small.
/// Kept: page 0 (no frame is ever at physical address 0), 636 KiB up (the PC's hole and the
/// BIOS data area below it, where Firecracker and Cloud Hypervisor put their MP and ACPI
/// tables; QEMU puts its ACPI tables at the top of RAM or in ACPI memory), the AP start-up
/// pages, and the pages of start_info, the command line and the initramfs (released after
/// unpacking).
pub fn release_low_memory() {
    if let Some(low) = LOW_RAM.lock().take() {
        for r in low.ranges() {
            release_boot_range(r.start, r.end);
        }
    }
}

/// The first MiB's RAM that boot may give away (see [`release_low_memory`]).
fn low_ram(info: &BootInfo) -> FreeRam {
    let (cmd_pa, cmd_len) = info.cmdline;
    let keep = [
        0..0x1000,
        crate::arch::smp::LOW_RANGE,
        cmd_pa..cmd_pa + cmd_len as u64 + 1,
        info.start_info..info.start_info + 64,
        info.initrd.map_or(0..0, |m| m.addr..m.addr + m.size),
        // The PC's hole (VGA memory, option ROMs, BIOS) from 640 KiB, and the page below it
        // (the BIOS's extended data area): QEMU's memory map for PVH calls all of the first
        // MiB RAM on the pc and q35 machines, but writes there are lost.
        // (The end is the largest physical address, not u64::MAX: ranges are rounded out to
        // pages.)
        0x9_f000..1 << 52,
    ];
    FreeRam::new(info, &keep)
}

/// What is left of [`low_ram`] once [`init`] took the tables it could not place above the
/// kernel; given away by [`release_low_memory`].
static LOW_RAM: Mutex<Option<FreeRam>> = Mutex::new(None);

/// A range of RAM that boot reserved (the initramfs), read once front to back and given to
/// the frame allocator a page at a time behind the reader, so that the files unpacked from an
/// archive can reuse its memory as it is read. The rest goes back when it is dropped.
pub struct BootRangeReader {
    start: u64,
    len: usize,
    /// Bytes below this offset are not read again.
    consumed: usize,
    /// Pages from the start's page boundary up to this address are back in the allocator.
    released_to: u64,
}

impl BootRangeReader {
    /// Takes over `start..start + len`.
    ///
    /// # Safety
    /// The range is RAM reserved at boot (not in the frame allocator), mapped by the direct
    /// map, and nothing else reads or writes it from now on.
    pub unsafe fn new(start: u64, len: usize) -> Self {
        BootRangeReader {
            start,
            len,
            consumed: 0,
            // A page shared with what precedes the range is kept, as in `release_boot_range`.
            released_to: start.next_multiple_of(4096),
        }
    }
}

impl oxv_vfs::initramfs::Archive for BootRangeReader {
    fn bytes_from(&self, offset: usize) -> &[u8] {
        assert!(
            (self.consumed..=self.len).contains(&offset),
            "the archive is read at or after what was consumed"
        );
        // SAFETY: the range is ours (see `new`) and mapped. Pages go back to the allocator
        // only below `start + consumed` rounded down to a page, and `offset >= consumed`, so
        // these bytes are all still reserved; `consumed` only moves through `&mut self`, so
        // the slice (borrowing `self`) is dead by then.
        unsafe {
            core::slice::from_raw_parts(
                paging::phys_to_virt(self.start + offset as u64) as *const u8,
                self.len - offset,
            )
        }
    }

    fn consumed(&mut self, offset: usize) {
        self.consumed = self.consumed.max(offset.min(self.len));
        let end = (self.start + self.consumed as u64) & !4095;
        if end > self.released_to {
            release_boot_range(self.released_to, end);
            self.released_to = end;
        }
        // Running out while unpacking would be a kernel heap allocation failure (a panic)
        // in the middle of the file system: stop with the reason instead.
        check_boot_reserve("unpacking the initramfs");
    }
}

impl Drop for BootRangeReader {
    fn drop(&mut self) {
        release_boot_range(self.released_to, self.start + self.len as u64);
    }
}

/// Kernel stacks live in their own region, outside the direct map, one per [`STACK_SLOT`]
/// bytes: the stack fills the top of its slot and the pages below it stay unmapped, so an
/// overflow faults on a guard page (and becomes a double fault on its own IST stack) instead
/// of corrupting whatever the direct map has below.
pub const STACK_REGION: u64 = 0xffff_c000_0000_0000;
/// Bytes per stack slot: the largest stack is half of it, leaving at least as much guard.
const STACK_SLOT: u64 = 64 * 1024;
/// How many slots the region has room for (1 GiB of address space).
const STACK_SLOTS: u32 = (1 << 30) / STACK_SLOT as u32;

/// Free stack slots: every slot below `next` that is not in use is in `free`.
struct StackSlots {
    next: u32,
    free: alloc::vec::Vec<u32>,
}

static STACK_SLOTS_IN_USE: Mutex<StackSlots> = Mutex::new(StackSlots {
    next: 0,
    free: alloc::vec::Vec::new(),
});

/// Whether `va` is a guard page of the kernel-stack region (an overflowed kernel stack).
pub fn is_stack_guard(va: u64) -> bool {
    let in_region = va
        .checked_sub(STACK_REGION)
        .is_some_and(|off| off < STACK_SLOTS as u64 * STACK_SLOT);
    in_region && kernel_page_table().translate(va).is_none()
}

/// Allocates a kernel stack of 2^order pages (at most half a slot) below a guard area;
/// returns its top (16-byte aligned).
pub fn alloc_kernel_stack(order: u8) -> Option<u64> {
    let size = 4096u64 << order;
    if size > STACK_SLOT / 2 {
        return None;
    }
    let slot = {
        let mut slots = STACK_SLOTS_IN_USE.lock();
        match slots.free.pop() {
            Some(s) => s,
            None if slots.next < STACK_SLOTS => {
                slots.next += 1;
                slots.next - 1
            }
            None => return None,
        }
    };
    let top = STACK_REGION + (slot as u64 + 1) * STACK_SLOT;
    let take = || FRAMES.lock().as_mut().and_then(|a| a.allocate(order));
    let Some(block) = take().or_else(|| stack_shortage().then(take).flatten()) else {
        STACK_SLOTS_IN_USE.lock().free.push(slot);
        return None;
    };
    let pa = block.start_address().as_u64();
    // Not global: a CR3 load (and so a TLB shootdown) drops them, so a slot reused after
    // `free_kernel_stack` never reaches the old frames through another CPU's stale entry.
    let flags = paging::pte::WRITABLE | paging::nx_bit();
    let root = kernel_page_table();
    for i in 0..(1u64 << order) {
        let va = top - size + i * 4096;
        let mapped = root.map_4k(va, pa + i * 4096, flags, &mut || {
            let f = KernelFrames.allocate_frame()?.start_address().as_u64();
            paging::zero_frame(f);
            Some(f)
        });
        if mapped.is_err() {
            unmap_stack(top - size, i);
            if let Some(a) = FRAMES.lock().as_mut() {
                let _ = a.free(block);
            }
            STACK_SLOTS_IN_USE.lock().free.push(slot);
            return None;
        }
    }
    KERNEL_STACK_BYTES.fetch_add(size, Ordering::Relaxed);
    Some(top)
}

/// No block for a new kernel stack (fork(2), clone(2) with RAM full): reclaim (this CPU's
/// cached frames go back to the buddy allocator, where they may merge), then, when RAM is
/// really short (less than a 64th free: not just fragmented), the OOM killer, as Linux's
/// page allocator does for a small block; without it fork(2) failed with `ENOMEM` while a
/// hog held RAM full. Returns whether a retry is worth it: not if the caller itself was
/// chosen (its fork must not make a child of a process being killed, whose memory may be
/// gone). Not at boot or from the idle loop (no process to free memory from).
#[cold]
fn stack_shortage() -> bool {
    let reclaimed = reclaim(Need::Frames, RECLAIM_BATCH) | release_heap_blocks(RECLAIM_BATCH);
    let (free, total) = frame_stats();
    if free >= (total / 64).max(64)
        || crate::arch::percpu::running() == 0
        || !crate::sched::with_running(|t| t.process_opt().is_some())
    {
        return reclaimed;
    }
    crate::oom::kill_largest();
    !crate::sched::with_running(crate::process::must_die)
}

/// Unmaps `pages` pages of the stack region from `bottom` up and flushes them here and on
/// every other CPU (another CPU may have run on this stack).
fn unmap_stack(bottom: u64, pages: u64) {
    let root = kernel_page_table();
    for i in 0..pages {
        let va = bottom + i * 4096;
        root.unmap_4k(va);
        crate::arch::cpu::invlpg(va);
    }
    crate::smp::shootdown();
}

/// Frees a kernel stack from [`alloc_kernel_stack`].
pub fn free_kernel_stack(top: u64, order: u8) {
    let size = 4096u64 << order;
    let root = kernel_page_table();
    let Some((pa, _)) = root.translate(top - size) else {
        return;
    };
    unmap_stack(top - size, 1 << order);
    if let Some(a) = FRAMES.lock().as_mut()
        && a.free(PhysFrame::containing_address(PhysAddr::new(pa)))
            .is_ok()
    {
        KERNEL_STACK_BYTES.fetch_sub(size, Ordering::Relaxed);
    }
    let slot = ((top - STACK_REGION) / STACK_SLOT - 1) as u32;
    STACK_SLOTS_IN_USE.lock().free.push(slot);
}

/// Free and total frame counts (free includes the frames parked in per-CPU caches).
pub fn frame_stats() -> (usize, usize) {
    let s = frame_stats_full();
    (s.free_total(), s.total_frames)
}

/// The frame allocator's counts with every CPU's cache counted as free (`/proc/meminfo`).
pub fn frame_stats_full() -> FrameStats {
    let mut stats = allocator().as_ref().map(|a| a.stats()).unwrap_or_default();
    let me = crate::arch::percpu::this_cpu().cpu_id as usize;
    stats = with_cache(|cache| stats.with_cache(cache));
    for n in (0..crate::arch::percpu::online()).filter(|&n| n != me) {
        if let Some(c) = crate::arch::percpu::cpu(n) {
            stats = crate::arch::percpu::with_frame_cache_of(c, |cache| stats.with_cache(cache));
        }
    }
    stats
}

/// `/proc/meminfo`: the frame allocator's figures, the app's address space, and what the
/// kernel itself holds (tmpfs files, heap, stacks, the direct map).
pub fn meminfo(usage: &oxv_mm::aspace::proc::MemoryUsage) -> Meminfo {
    let kb = |bytes: u64| bytes / 1024;
    let mut m = Meminfo::new(frame_stats_full(), usage);
    // tmpfs pages are shared memory in the page cache, as Linux counts shmem.
    let files = kb(FILE_FRAMES.load(Ordering::Relaxed) * 4096);
    m.shmem += files;
    m.cached = m.shmem;
    m.active_anon += files;
    m.slab_unreclaimable = kb(HEAP.stats().claimed_bytes as u64);
    m.kernel_stack = kb(KERNEL_STACK_BYTES.load(Ordering::Relaxed));
    m.direct_map_2m = kb(DIRECT_MAP_BYTES.load(Ordering::Relaxed));
    m
}

/// What the kernel's memory holds, in KiB, for the OOM killer's report (Linux's
/// `show_mem`): read without waiting on any CPU's frame cache (the killer may run with
/// one held), so the free figure leaves the caches out.
#[derive(Copy, Clone, Debug, Default)]
pub struct KernelMemory {
    /// Frames free in the buddy allocator.
    pub free_kb: u64,
    /// RAM the frame allocator manages.
    pub total_kb: u64,
    /// Regions the kernel heap has claimed (wholly free ones go back under pressure).
    pub heap_kb: u64,
    /// tmpfs file data and ext2 page cache.
    pub files_kb: u64,
    /// Kernel stacks.
    pub kernel_stack_kb: u64,
}

/// The figures of [`KernelMemory`] now.
pub fn kernel_memory() -> KernelMemory {
    let (free, total) = allocator()
        .as_ref()
        .map_or((0, 0), |a| (a.free_frames(), a.total_frames()));
    KernelMemory {
        free_kb: free as u64 * 4,
        total_kb: total as u64 * 4,
        heap_kb: HEAP.stats().claimed_bytes as u64 / 1024,
        files_kb: FILE_FRAMES.load(Ordering::Relaxed) * 4,
        kernel_stack_kb: KERNEL_STACK_BYTES.load(Ordering::Relaxed) / 1024,
    }
}

/// RAM for the files of the root tmpfs: frames of [`KernelFrames`], so that shared mappings
/// of a file map the frames read(2) and write(2) use; counted for `/proc/meminfo`.
pub struct FileFrames;

impl FileMemory for FileFrames {
    fn allocate(&self) -> Option<PhysFrame> {
        // Reclaim but no OOM kill: a file that fills RAM fails its write with ENOSPC, as a
        // Linux tmpfs does at its size limit (half of RAM by default). Not the last 64th of
        // RAM either (the page cache's watermark): that is the kernel's, for its heap and
        // page tables. Without it a memfd (no size limit) filled by a sendfile(2) of a
        // sparse file took every frame, and the next heap growth killed its owner.
        if below_page_cache_watermark() {
            reclaim(Need::Frames, RECLAIM_BATCH);
            if below_page_cache_watermark() {
                return None;
            }
        }
        let f = cached_frame().or_else(|| {
            reclaim(Need::Frames, RECLAIM_BATCH)
                .then(cached_frame)
                .flatten()
        })?;
        FILE_FRAMES.fetch_add(1, Ordering::Relaxed);
        Some(f)
    }

    fn release(&self, frame: PhysFrame) {
        let released = KernelFrames.release(frame);
        debug_assert!(released.is_ok(), "a file page is allocated: {released:?}");
        FILE_FRAMES.fetch_sub(1, Ordering::Relaxed);
    }

    fn bytes(&self) -> &dyn FrameBytes {
        &DirectMapBytes
    }

    /// The frame allocator's RAM (Linux's `totalram_pages`): a tmpfs's default size is half.
    fn total_pages(&self) -> Option<u64> {
        allocator().as_ref().map(|a| a.total_frames() as u64)
    }

    /// Free frames less a 64th of RAM (at least 1 MiB) for the kernel's heap and page
    /// tables: a tmpfs fallocate(2) that needs more is ENOSPC at once, not an OOM kill.
    fn spare_pages(&self) -> Option<u64> {
        let (free, total) = frame_stats();
        Some((free as u64).saturating_sub((total as u64 / 64).max(256)))
    }

    fn fatal_signal_pending(&self) -> bool {
        crate::process::current_must_die()
    }
}

/// RAM for the page caches of ext2 files: [`FileFrames`], which leave the last frames
/// (Linux's `min_free_kbytes` watermark) to the kernel. A cached file page can be read
/// again; a DMA bounce buffer or a page table that finds no frame cannot be had at all. So
/// below the watermark a file page comes only from reclaim (the page cache's own clean
/// pages, see `oxv_vfs::ext2`), or not at all (the fault fails, see `process`). Its own
/// type for what tmpfs needs and the page cache does not (a size limit's base, "being
/// killed").
pub struct PageCacheFrames;

/// Frames the page cache leaves free: a 64th of RAM, between 512 KiB and 16 MiB.
fn page_cache_watermark() -> usize {
    allocator()
        .as_ref()
        .map_or(0, |a| (a.total_frames() / 64).clamp(128, 4096))
}

/// Whether fewer frames than [`page_cache_watermark`] are free (counting this CPU's cache,
/// where reclaimed frames land; other CPUs' caches are not counted: a conservative guess).
fn below_page_cache_watermark() -> bool {
    let mark = page_cache_watermark();
    let free = allocator().as_ref().map_or(0, |a| a.free_frames());
    free + with_cache(|cache| cache.len()) < mark
}

impl FileMemory for PageCacheFrames {
    fn allocate(&self) -> Option<PhysFrame> {
        // The watermark is [`FileFrames`]' own.
        FileFrames.allocate()
    }

    fn release(&self, frame: PhysFrame) {
        FileFrames.release(frame);
    }

    fn bytes(&self) -> &dyn FrameBytes {
        &DirectMapBytes
    }
}

/// Allocates 2^`order` physically contiguous frames (device DMA memory) and returns their
/// physical address; they are not zeroed. Free with [`free_contiguous`].
pub fn alloc_contiguous(order: u8) -> Option<u64> {
    let block = FRAMES.lock().as_mut()?.allocate(order)?;
    Some(block.start_address().as_u64())
}

/// Frees a block from [`alloc_contiguous`] (the allocator knows its order).
pub fn free_contiguous(pa: u64) {
    if let Some(a) = FRAMES.lock().as_mut() {
        let _ = a.free(PhysFrame::containing_address(PhysAddr::new(pa)));
    }
}
