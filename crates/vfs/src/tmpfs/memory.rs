//! Where a tmpfs keeps file data: frames of RAM from the embedder ([`FileMemory`]).
//!
//! A tmpfs file's pages are physical frames, not heap buffers, so that a `MAP_SHARED` mapping
//! of the file maps the very frames read(2) and write(2) use (Linux's shmem keeps its data in
//! page-cache pages for the same reason). The frames come from the embedder, which owns RAM:
//! a kernel implements [`FileMemory`] over its frame allocator and direct map; [`HeapMemory`]
//! stands in on the host (for tests, tools, and embedders without paging), with "frames" that
//! are heap buffers behind made-up frame numbers.
//!
//! What it is not: a page cache in front of storage. tmpfs has no backing store; its frames are
//! the data, so there is nothing to write back or evict.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use oxv_mm::{FrameBytes, FrameError, FrameSource, PAGE_SIZE, PhysFrame};
use spin::Mutex;

/// RAM for tmpfs file pages, supplied by the embedder.
///
/// Implementations are shared by every file of a tmpfs and lock inside. A frame handed out
/// by [`allocate`](Self::allocate) carries one reference, the file's; mappings of the file take
/// their own references through oxv-mm's [`FrameSource`] (so a kernel must hand out frames of
/// the allocator its address spaces use), and [`release`](Self::release) drops the file's.
pub trait FileMemory: Send + Sync {
    /// A frame with reference count 1 and unspecified contents, or `None` when memory is
    /// exhausted (the write then fails with `ENOSPC`).
    fn allocate(&self) -> Option<PhysFrame>;

    /// Drops the file's reference to `frame`; it is freed once no mapping holds it either.
    fn release(&self, frame: PhysFrame);

    /// Byte access to the frames.
    fn bytes(&self) -> &dyn FrameBytes;

    /// How many frames of RAM the machine has, if known: a tmpfs's default size is half of
    /// it (Linux's), `size=N%` is a share of it, and an unlimited tmpfs refuses a
    /// fallocate(2) larger than it at once. The default knows nothing (no limit).
    fn total_pages(&self) -> Option<u64> {
        None
    }

    /// How many more frames files may take now without leaving the embedder short of memory
    /// (free RAM less what the kernel keeps for itself), if known: a fallocate(2) that needs
    /// more fails at once with `ENOSPC` rather than running RAM out part way. The default
    /// knows nothing.
    fn spare_pages(&self) -> Option<u64> {
        None
    }

    /// Whether the calling thread is being killed (see
    /// [`Blocker::fatal_signal_pending`](crate::Blocker::fatal_signal_pending)): a write
    /// then stops before its next page, as Linux's `generic_perform_write` does, rather
    /// than take more memory for a process about to die. The default knows of no killing.
    fn fatal_signal_pending(&self) -> bool {
        false
    }
}

/// Where the made-up frame numbers of a [`HeapMemory`] start (above any real RAM a test
/// machine fakes, so mixing them up is noticed).
const HEAP_FRAME_BASE: u64 = 1 << 36;

/// [`FileMemory`] over heap buffers. See the [module docs](self).
///
/// It also keeps reference counts, and `&HeapMemory` is a [`FrameSource`] over them, so that
/// host tests can map its frames through oxv-mm (a fake page table) and check that mappings
/// and the file share pages.
#[derive(Default)]
pub struct HeapMemory {
    frames: Mutex<HeapFrames>,
    /// What [`FileMemory::fatal_signal_pending`] answers (see [`HeapMemory::set_caller_killed`]).
    caller_killed: core::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct HeapFrames {
    next: u64,
    live: BTreeMap<u64, (u32, Box<[u8]>)>,
    /// The most frames allocated at once (`None`: as many as the heap gives).
    limit: Option<usize>,
}

impl core::fmt::Debug for HeapMemory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeapMemory")
            .field("frames", &self.frames())
            .finish()
    }
}

impl HeapMemory {
    /// No frame allocated yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `frames` frames allocated at once: past that, [`FileMemory::allocate`] fails
    /// (`ENOSPC` for the file) as a kernel's RAM runs out, before the host's heap does.
    pub fn with_limit(frames: usize) -> Self {
        HeapMemory {
            frames: Mutex::new(HeapFrames {
                limit: Some(frames),
                ..HeapFrames::default()
            }),
            ..HeapMemory::default()
        }
    }

    /// Makes [`FileMemory::fatal_signal_pending`] answer `killed`: the caller is being
    /// killed (or no longer).
    pub fn set_caller_killed(&self, killed: bool) {
        self.caller_killed
            .store(killed, core::sync::atomic::Ordering::Relaxed);
    }

    /// How many frames are allocated (referenced by a file or a mapping).
    pub fn frames(&self) -> usize {
        self.frames.lock().live.len()
    }

    fn with<R>(&self, frame: PhysFrame, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut frames = self.frames.lock();
        let (_, buf) = frames
            .live
            .get_mut(&frame.number())
            .expect("FrameBytes is only used on allocated frames");
        f(buf)
    }

    fn change_ref(&self, frame: PhysFrame, up: bool) -> Result<u32, FrameError> {
        let mut frames = self.frames.lock();
        let entry = frames
            .live
            .get_mut(&frame.number())
            .ok_or(FrameError::NotAllocated(frame))?;
        if up {
            entry.0 = entry
                .0
                .checked_add(1)
                .ok_or(FrameError::TooManyReferences(frame))?;
        } else {
            entry.0 -= 1;
        }
        let n = entry.0;
        if n == 0 {
            frames.live.remove(&frame.number());
        }
        Ok(n)
    }
}

impl FileMemory for HeapMemory {
    fn allocate(&self) -> Option<PhysFrame> {
        {
            let frames = self.frames.lock();
            if frames.limit.is_some_and(|l| frames.live.len() >= l) {
                return None;
            }
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(PAGE_SIZE).ok()?;
        buf.resize(PAGE_SIZE, 0u8);
        let mut frames = self.frames.lock();
        let n = HEAP_FRAME_BASE + frames.next;
        frames.next += 1;
        frames.live.insert(n, (1, buf.into_boxed_slice()));
        Some(PhysFrame::from_number(n))
    }

    fn release(&self, frame: PhysFrame) {
        let released = self.change_ref(frame, false);
        debug_assert!(released.is_ok(), "a file page is allocated: {released:?}");
    }

    fn bytes(&self) -> &dyn FrameBytes {
        self
    }

    /// The limit of [`with_limit`](HeapMemory::with_limit), which stands in for RAM.
    fn total_pages(&self) -> Option<u64> {
        self.frames.lock().limit.map(|l| l as u64)
    }

    /// What is left under the limit.
    fn spare_pages(&self) -> Option<u64> {
        let frames = self.frames.lock();
        frames
            .limit
            .map(|l| l.saturating_sub(frames.live.len()) as u64)
    }

    fn fatal_signal_pending(&self) -> bool {
        self.caller_killed
            .load(core::sync::atomic::Ordering::Relaxed)
    }
}

impl FrameBytes for HeapMemory {
    fn zero_frame(&self, frame: PhysFrame) {
        self.with(frame, |b| b.fill(0));
    }

    fn copy_frame(&self, dst: PhysFrame, src: PhysFrame) {
        let mut page = [0u8; PAGE_SIZE];
        self.with(src, |b| page.copy_from_slice(b));
        self.with(dst, |b| b.copy_from_slice(&page));
    }

    fn read(&self, frame: PhysFrame, offset: usize, buf: &mut [u8]) {
        self.with(frame, |b| {
            buf.copy_from_slice(&b[offset..offset + buf.len()])
        });
    }

    fn write(&self, frame: PhysFrame, offset: usize, data: &[u8]) {
        self.with(frame, |b| {
            b[offset..offset + data.len()].copy_from_slice(data)
        });
    }
}

impl FrameSource for &HeapMemory {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        FileMemory::allocate(*self)
    }

    fn add_ref(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        self.change_ref(frame, true)
    }

    fn release(&mut self, frame: PhysFrame) -> Result<u32, FrameError> {
        self.change_ref(frame, false)
    }

    fn ref_count(&self, frame: PhysFrame) -> Option<u32> {
        self.frames.lock().live.get(&frame.number()).map(|e| e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limited_memory_refuses_frames_past_its_limit_until_one_is_freed() {
        let mem = HeapMemory::with_limit(2);
        let f = mem.allocate().unwrap();
        assert!(mem.allocate().is_some());
        assert_eq!(mem.allocate(), None);
        FileMemory::release(&mem, f);
        assert!(mem.allocate().is_some(), "a freed frame makes room");
    }

    #[test]
    fn frames_are_zeroed_counted_and_freed_at_the_last_release() {
        let mem = HeapMemory::new();
        let f = mem.allocate().unwrap();
        let g = mem.allocate().unwrap();
        assert_ne!(f, g);
        let mut page = [1u8; 8];
        mem.read(f, 100, &mut page);
        assert_eq!(page, [0; 8]);
        mem.write(f, 100, b"abc");
        mem.copy_frame(g, f);
        mem.read(g, 100, &mut page[..3]);
        assert_eq!(&page[..3], b"abc");
        let mut src = &mem;
        assert_eq!(src.add_ref(f), Ok(2));
        FileMemory::release(&mem, f);
        assert_eq!(
            src.ref_count(f),
            Some(1),
            "the mapping's reference keeps it"
        );
        assert_eq!(FrameSource::release(&mut src, f), Ok(0));
        assert_eq!(src.ref_count(f), None);
        assert_eq!(
            FrameSource::release(&mut src, f),
            Err(FrameError::NotAllocated(f)),
            "a double free is refused"
        );
        assert_eq!(mem.frames(), 1);
    }
}
