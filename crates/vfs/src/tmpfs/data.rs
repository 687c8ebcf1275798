//! The contents of one tmpfs regular file: its size and its pages, kept in frames of
//! [`FileMemory`], and the same pages as the file's page cache for `MAP_SHARED` mappings
//! ([`SharedMapSource`]).
//!
//! Files are sparse: a page gets a frame when it is first written (through write(2) or a
//! shared mapping), so a hole costs nothing and reads as zeros; `st_blocks` counts the frames.
//! Because read(2), write(2) and every shared mapping work on the same frames, they always
//! agree, as on Linux's tmpfs: msync has nothing to write back.
//!
//! # Locking
//!
//! The page map has its own lock, held only for short copies between frames and kernel
//! buffers, never while user memory is touched: a page fault in a shared mapping of this file
//! (with the faulting address space locked) looks pages up here, so a read(2) into such a
//! mapping must not hold this lock when its copy faults. Reads and writes therefore go
//! through a small bounce buffer when the other end is user memory. The inode lock of
//! [`Node`](super::Node) may be held around these calls (writes and truncation are serialized
//! by it); the lock order is inode lock, then address space, then this lock.
//!
//! Every frame the file holds is charged to its tmpfs's [`Usage`] (the `size=` limit) before
//! it is taken from [`FileMemory`] and uncharged when the file lets it go, so a write past the
//! limit stops short (`ENOSPC` if nothing was written), fallocate(2) fails with `ENOSPC` and
//! gives back the pages it took that nothing wrote or mapped meanwhile (a racing write's data
//! or a racing fault's page stays, charged, as Linux's undo skips uptodate falloc pages), and
//! a fault in a shared mapping that needs a page is a
//! `SIGBUS` ([`PageError::Io`]), all as Linux's `shmem_get_folio` callers do.
//!
//! Truncation drops the file's pages wholly past the new end, then unmaps them from every
//! address space ([`oxv_mm::shared::unmap_object_beyond`]), so the next access through a
//! mapping is a `SIGBUS`, as on Linux; growing the file again shows zeros there. The inode
//! does the unmapping after releasing its lock (a spin lock, and unmapping sleeps on address
//! space locks).

use super::limits::Usage;
use super::memory::FileMemory;
use crate::io::{ReadBuf, WriteBuf};
use crate::node::DeviceId;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_mm::{FrameBytes, FrameSource, MapIdentity, PageError, PhysFrame, SharedMapSource};
use spin::Mutex;

/// Size of a data page.
const PAGE: u64 = 4096;
/// Largest file size (Linux's `MAX_LFS_FILESIZE` on 64-bit).
pub(super) const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// Bytes moved per lock hold between a frame and user memory (on the kernel stack).
const BOUNCE: usize = 1024;

/// One regular file's data. See the [module docs](self).
pub(crate) struct FileData {
    memory: Arc<dyn FileMemory>,
    /// The tmpfs's page count and limit, charged for every frame in `inner`.
    usage: Arc<Usage>,
    dev: DeviceId,
    ino: u64,
    inner: Mutex<Pages>,
}

struct Pages {
    size: u64,
    /// Frames by page index.
    frames: BTreeMap<u64, PhysFrame>,
    /// Pages the running fallocate(2) added that nothing has used since (Linux's
    /// "not uptodate" falloc pages): only these go if it fails. A write or a fault in a
    /// shared mapping takes a page off, so its data and its mapping stay with the file.
    falloc_pending: BTreeSet<u64>,
}

impl Pages {
    /// How many pages the size covers, a partial last page included.
    fn page_count(&self) -> u64 {
        self.size.div_ceil(PAGE)
    }
}

impl FileData {
    /// An empty file of inode `ino` on device `dev` (for `/proc/self/maps`), whose pages
    /// come from `memory` and are charged to `usage`.
    pub(super) fn new(
        memory: Arc<dyn FileMemory>,
        usage: Arc<Usage>,
        dev: DeviceId,
        ino: u64,
    ) -> Arc<FileData> {
        Arc::new(FileData {
            memory,
            usage,
            dev,
            ino,
            inner: Mutex::new(Pages {
                size: 0,
                frames: BTreeMap::new(),
                falloc_pending: BTreeSet::new(),
            }),
        })
    }

    fn bytes(&self) -> &dyn FrameBytes {
        self.memory.bytes()
    }

    /// A frame for a new page, charged to the tmpfs: `ENOSPC` past its limit or when memory
    /// runs out (nothing charged then).
    fn new_frame(&self) -> Result<PhysFrame, Errno> {
        self.usage.charge_blocks(1)?;
        self.memory.allocate().ok_or_else(|| {
            self.usage.release_blocks(1);
            Errno::ENOSPC
        })
    }

    /// Gives back frames the file no longer holds, and their charge.
    fn free_frames(&self, frames: impl IntoIterator<Item = PhysFrame>) {
        let mut n = 0;
        for f in frames {
            self.memory.release(f);
            n += 1;
        }
        if n > 0 {
            self.usage.release_blocks(n);
        }
    }

    /// `(st_size, st_blocks)`.
    pub(super) fn size_and_blocks(&self) -> (u64, u64) {
        let p = self.inner.lock();
        (p.size, p.frames.len() as u64 * (PAGE / 512))
    }

    /// The size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.inner.lock().size
    }

    /// Reads up to `dst.len()` bytes at `offset`; 0 at or past the end; holes read as zeros.
    /// Short on a fault after some bytes, `EFAULT` if none could be stored.
    pub(super) fn read(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        if let ReadBuf::Kernel(buf) = dst {
            return Ok(self.read_kernel(offset, buf));
        }
        let want = dst.len();
        let mut bounce = [0u8; BOUNCE];
        let mut done = 0usize;
        while done < want {
            let pos = offset.saturating_add(done as u64);
            let n = {
                let p = self.inner.lock();
                if pos >= p.size {
                    break;
                }
                let in_page = (pos % PAGE) as usize;
                let n = (want - done)
                    .min((p.size - pos).min(PAGE - pos % PAGE) as usize)
                    .min(BOUNCE);
                match p.frames.get(&(pos / PAGE)) {
                    Some(&f) => self.bytes().read(f, in_page, &mut bounce[..n]),
                    None => bounce[..n].fill(0),
                }
                n
            };
            match dst.fill(done, &bounce[..n]) {
                Ok(got) => {
                    done += got;
                    if got < n {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// [`read`](Self::read) into kernel memory: straight from the frames, in one lock hold.
    fn read_kernel(&self, offset: u64, buf: &mut [u8]) -> usize {
        let p = self.inner.lock();
        if offset >= p.size {
            return 0;
        }
        let n = (buf.len() as u64).min(p.size - offset) as usize;
        let mut done = 0usize;
        while done < n {
            let pos = offset + done as u64;
            let in_page = (pos % PAGE) as usize;
            let k = (n - done).min(PAGE as usize - in_page);
            let out = &mut buf[done..done + k];
            match p.frames.get(&(pos / PAGE)) {
                Some(&f) => self.bytes().read(f, in_page, out),
                None => out.fill(0),
            }
            done += k;
        }
        n
    }

    /// Writes `src` at `start`, growing the file. Returns how many bytes were written: short
    /// when user memory faults or memory runs out part-way, or the caller is being killed
    /// ([`FileMemory::fatal_signal_pending`], checked at each page), an error (`EFAULT`,
    /// `ENOSPC`, `EFBIG` at the size limit, `EINTR`) when nothing was.
    pub(super) fn write(&self, start: u64, src: &WriteBuf<'_>) -> Result<usize, Errno> {
        if start >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let n = (src.len() as u64).min(MAX_FILE_SIZE - start) as usize;
        let mut bounce = [0u8; BOUNCE];
        let mut done = 0usize;
        let mut failure = None;
        while done < n {
            let pos = start + done as u64;
            if pos % PAGE == 0 && self.memory.fatal_signal_pending() {
                // The caller is being killed: no more pages for it (its count never reaches
                // the app).
                failure = Some(Errno::EINTR);
                break;
            }
            let room = (n - done).min((PAGE - pos % PAGE) as usize);
            let got = if let WriteBuf::Kernel(b) = src {
                self.store(pos, &b[done..done + room]).map(|()| room)
            } else {
                let k = room.min(BOUNCE);
                src.fetch(done, &mut bounce[..k])
                    .and_then(|got| self.store(pos, &bounce[..got]).map(|()| got))
            };
            match got {
                Ok(got) => {
                    done += got;
                    if got == 0 {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        match failure {
            Some(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }

    /// Copies `data` (inside one page) to `pos`, giving the page a frame if it has none, and
    /// grows the size to cover it.
    fn store(&self, pos: u64, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        let in_page = (pos % PAGE) as usize;
        let mut p = self.inner.lock();
        p.falloc_pending.remove(&(pos / PAGE));
        let frame = match p.frames.get(&(pos / PAGE)) {
            Some(&f) => f,
            None => {
                let f = self.new_frame()?;
                if data.len() < PAGE as usize {
                    self.bytes().zero_frame(f);
                }
                p.frames.insert(pos / PAGE, f);
                f
            }
        };
        self.bytes().write(frame, in_page, data);
        p.size = p.size.max(pos + data.len() as u64);
        Ok(())
    }

    /// Sets the size (truncate(2)): pages wholly past a smaller size are dropped, and the tail
    /// of the page it ends in is zeroed, so growing the file again exposes zeros. Returns
    /// whether whole pages went: the caller then unmaps them with
    /// [`unmap_beyond`](Self::unmap_beyond), once it holds no lock a page fault may take.
    pub(super) fn set_size(&self, len: u64) -> Result<bool, Errno> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let (dropped, shrank) = {
            let mut p = self.inner.lock();
            let shrank = len.div_ceil(PAGE) < p.page_count();
            let dropped = if len < p.size {
                let dropped = p.frames.split_off(&len.div_ceil(PAGE));
                if len % PAGE != 0
                    && let Some(&f) = p.frames.get(&(len / PAGE))
                {
                    let from = (len % PAGE) as usize;
                    let zeros = [0u8; PAGE as usize];
                    self.bytes().write(f, from, &zeros[from..]);
                }
                dropped
            } else {
                BTreeMap::new()
            };
            p.size = len;
            (dropped, shrank)
        };
        self.free_frames(dropped.into_values());
        Ok(shrank)
    }

    /// Unmaps the file's pages from offset `len` on from every address space (private copies
    /// too), after [`set_size`](Self::set_size) shrank the file: the pages already left the
    /// file, so a fault racing with this finds the new size rather than the old page.
    pub(super) fn unmap_beyond(&self, len: u64) {
        oxv_mm::shared::unmap_object_beyond(self.object_id(), len);
    }
}

/// fallocate(2) and lseek(2)'s `SEEK_DATA`/`SEEK_HOLE` (driven by the inode, which holds its
/// lock around them).
impl FileData {
    /// Gives every page of `[offset, end)` a frame (zeroed if new) and, unless `keep_size`,
    /// grows the size to `end`. `ENOSPC` past the tmpfs's limit or when memory runs out, and
    /// then, as Linux's `shmem_fallocate`, the pages this call allocated are given back and
    /// the size is unchanged. A request for more pages than the tmpfs has room for (on an
    /// unlimited one, than there is RAM), or than RAM can spare now
    /// ([`FileMemory::spare_pages`]), fails at once, without taking any: Linux would run
    /// RAM out and OOM-kill in that last case. Unlike Linux's
    /// tmpfs, allocated but unwritten pages count as data for `SEEK_DATA` (Linux keeps them
    /// "not uptodate").
    pub(super) fn allocate(&self, offset: u64, end: u64, keep_size: bool) -> Result<(), Errno> {
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let (first, last) = (offset / PAGE, end.div_ceil(PAGE));
        let missing = {
            let p = self.inner.lock();
            (last - first).saturating_sub(p.frames.range(first..last).count() as u64)
        };
        let spare = self.memory.spare_pages();
        if self.usage.room().is_some_and(|room| missing > room)
            || spare.is_some_and(|spare| missing > spare)
        {
            return Err(Errno::ENOSPC);
        }
        // The runs of pages this call adds, to give back on failure. Frames are taken
        // without the lock, so a write or a fault may fill a page meanwhile.
        let mut added: Vec<(u64, u64)> = Vec::new();
        for index in first..last {
            if self.inner.lock().frames.contains_key(&index) {
                continue;
            }
            let f = match self.new_frame() {
                Ok(f) => f,
                Err(e) => {
                    self.undo_allocation(&added);
                    return Err(e);
                }
            };
            self.bytes().zero_frame(f);
            let mut p = self.inner.lock();
            if p.frames.contains_key(&index) {
                drop(p);
                self.free_frames([f]);
                continue;
            }
            match added.last_mut() {
                Some((_, run_end)) if *run_end == index => *run_end = index + 1,
                _ => {
                    if added.try_reserve(1).is_err() {
                        drop(p);
                        self.free_frames([f]);
                        self.undo_allocation(&added);
                        return Err(Errno::ENOSPC);
                    }
                    added.push((index, index + 1));
                }
            }
            p.frames.insert(index, f);
            p.falloc_pending.insert(index);
        }
        {
            let mut p = self.inner.lock();
            for &(from, to) in &added {
                for index in from..to {
                    p.falloc_pending.remove(&index);
                }
            }
        }
        if !keep_size {
            let mut p = self.inner.lock();
            p.size = p.size.max(end);
        }
        Ok(())
    }

    /// Drops the pages of `runs` (page index ranges) that a failed
    /// [`allocate`](Self::allocate) added and nothing used since: a page written or mapped
    /// meanwhile stays, with its charge.
    fn undo_allocation(&self, runs: &[(u64, u64)]) {
        // The undo runs when memory ran out (the heap, for a heap-backed `FileMemory`), so it
        // gathers the frames in batches on the stack instead of a vector.
        const BATCH: usize = 64;
        let mut batch = [PhysFrame::from_number(0); BATCH];
        for &(from, to) in runs {
            let mut index = from;
            while index < to {
                let mut n = 0;
                {
                    let mut p = self.inner.lock();
                    while index < to && n < BATCH {
                        if p.falloc_pending.remove(&index)
                            && let Some(f) = p.frames.remove(&index)
                        {
                            batch[n] = f;
                            n += 1;
                        }
                        index += 1;
                    }
                }
                self.free_frames(batch[..n].iter().copied());
            }
        }
    }

    /// Punches a hole in `[offset, end)`: whole pages lose their frames, the partial pages at
    /// either end are zeroed over the range. The size does not change.
    pub(super) fn punch(&self, offset: u64, end: u64) -> Result<(), Errno> {
        let zeros = [0u8; PAGE as usize];
        {
            let p = self.inner.lock();
            for (from, to) in [
                (offset, end.min((offset / PAGE + 1) * PAGE)),
                ((end / PAGE * PAGE).max(offset), end),
            ] {
                if from >= to || (from % PAGE == 0 && to - from == PAGE) {
                    continue;
                }
                if let Some(&f) = p.frames.get(&(from / PAGE)) {
                    let at = (from % PAGE) as usize;
                    self.bytes().write(f, at, &zeros[..(to - from) as usize]);
                }
            }
        }
        self.forget_pages(offset.div_ceil(PAGE), end / PAGE);
        Ok(())
    }

    /// Drops the frames of pages `first..last` (a hole punched).
    fn forget_pages(&self, first: u64, last: u64) {
        if first >= last {
            return;
        }
        let doomed = {
            let mut p = self.inner.lock();
            let mut tail = p.frames.split_off(&first);
            let mut after = tail.split_off(&last);
            p.frames.append(&mut after);
            tail
        };
        self.free_frames(doomed.into_values());
    }

    /// The first offset at or after `offset` that is data (`data`) or in a hole: a page with
    /// a frame is data, one without a hole, and the end of the file is a hole. `None` at or
    /// past the end.
    pub(super) fn seek_data(&self, offset: u64, data: bool) -> Option<u64> {
        let p = self.inner.lock();
        if offset >= p.size {
            return None;
        }
        let mut index = offset / PAGE;
        let found = loop {
            let start = (index * PAGE).max(offset);
            if start >= p.size {
                break if data { None } else { Some(p.size) };
            }
            if p.frames.contains_key(&index) == data {
                break Some(start);
            }
            index = match (data, p.frames.range(index..).next()) {
                // Looking for data: jump to the next page that has a frame.
                (true, Some((&k, _))) => k,
                (true, None) => break None,
                (false, _) => index + 1,
            };
        };
        found.map(|o| o.min(p.size))
    }
}

impl Drop for FileData {
    fn drop(&mut self) {
        // The last link and the last open file and mapping are gone.
        let frames = core::mem::take(&mut self.inner.get_mut().frames);
        self.free_frames(frames.into_values());
    }
}

impl SharedMapSource for FileData {
    /// The file's frame for the page at `offset`; a hole inside the size gets a zeroed frame
    /// (as Linux's `shmem_fault` allocates one), which the file keeps. Pages wholly past the
    /// end are [`PageError::Beyond`] (`SIGBUS`); a hole the tmpfs has no room left for is
    /// [`PageError::Io`] (`SIGBUS`, as Linux's `shmem_fault` answers `ENOSPC`).
    fn get_page(
        &self,
        offset: u64,
        frames: &mut dyn FrameSource,
        _bytes: &dyn FrameBytes,
    ) -> Result<PhysFrame, PageError> {
        let index = offset / PAGE;
        let mut p = self.inner.lock();
        if index >= p.page_count() {
            return Err(PageError::Beyond);
        }
        p.falloc_pending.remove(&index);
        let frame = match p.frames.get(&index) {
            Some(&f) => f,
            None => {
                self.usage.charge_blocks(1).map_err(|_| PageError::Io)?;
                let f = self.memory.allocate().ok_or_else(|| {
                    self.usage.release_blocks(1);
                    PageError::OutOfMemory
                })?;
                self.bytes().zero_frame(f);
                p.frames.insert(index, f);
                f
            }
        };
        frames.add_ref(frame).map_err(|_| PageError::OutOfMemory)?;
        Ok(frame)
    }

    fn is_resident(&self, offset: u64) -> bool {
        self.inner.lock().frames.contains_key(&(offset / PAGE))
    }

    fn read(&self, offset: u64, buf: &mut [u8], _bytes: &dyn FrameBytes) -> Result<(), PageError> {
        let p = self.inner.lock();
        if offset / PAGE >= p.page_count() {
            return Err(PageError::Beyond);
        }
        match p.frames.get(&(offset / PAGE)) {
            Some(&f) => self.bytes().read(f, (offset % PAGE) as usize, buf),
            None => buf.fill(0),
        }
        Ok(())
    }

    /// `MADV_REMOVE` (and fallocate's hole punching): the file forgets the pages, which read
    /// as zeros afterwards.
    fn punch_hole(
        &self,
        offset: u64,
        len: u64,
        _frames: &mut dyn FrameSource,
    ) -> Result<(), Errno> {
        self.forget_pages(offset.div_ceil(PAGE), offset.saturating_add(len) / PAGE);
        Ok(())
    }

    /// Device and inode; the path is the kernel's to add (a file does not know its names).
    fn identity(&self) -> MapIdentity {
        MapIdentity {
            dev_major: self.dev.major,
            dev_minor: self.dev.minor,
            inode: self.ino,
            path: String::new(),
        }
    }
}

/// Test support: an [`ObjectUnmapper`](oxv_mm::shared::ObjectUnmapper) that records what it
/// is asked to unmap. oxv-mm keeps one per program, so the page-cache tests of every file
/// system in this test binary share it.
#[cfg(test)]
pub(crate) mod unmap_log {
    use alloc::vec::Vec;

    static LOG: std::sync::Mutex<Vec<(usize, u64)>> = std::sync::Mutex::new(Vec::new());

    struct Recorder;

    impl oxv_mm::shared::ObjectUnmapper for Recorder {
        fn unmap_beyond(&self, object: usize, from: u64) {
            LOG.lock().expect("not poisoned").push((object, from));
        }
    }

    /// Installs the recorder (the first call does).
    pub(crate) fn install() {
        oxv_mm::shared::set_object_unmapper(&Recorder);
    }

    /// Forgets what was recorded for `object`: an object id is an address, which an object
    /// another test freed may have had. Call it once the object exists.
    pub(crate) fn forget(object: usize) {
        LOG.lock()
            .expect("not poisoned")
            .retain(|&(o, _)| o != object);
    }

    /// The offsets `object` was asked to be unmapped from, in order.
    pub(crate) fn requests_for(object: usize) -> Vec<u64> {
        let log = LOG.lock().expect("not poisoned");
        log.iter()
            .filter(|&&(o, _)| o == object)
            .map(|&(_, from)| from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tmpfs::HeapMemory;
    use oxv_abi::user::fake::FakeUserMemory;
    use oxv_abi::{Fault, UserAddr, UserBuf, UserMemory};
    use oxv_mm::fake::{FakePageTable, FakeTlb};
    use oxv_mm::{AddressSpace, AddressSpaceConfig, MapSource, MmapArgs, Platform, SharedFile};

    fn file() -> (Arc<HeapMemory>, Arc<FileData>) {
        let mem = Arc::new(HeapMemory::new());
        let data = FileData::new(
            mem.clone(),
            Arc::new(Usage::unlimited()),
            DeviceId::new(0, 7),
            42,
        );
        (mem, data)
    }

    fn write_kernel(d: &FileData, at: u64, bytes: &[u8]) -> usize {
        d.write(at, &WriteBuf::kernel(bytes)).unwrap()
    }

    fn read_kernel(d: &FileData, at: u64, len: usize) -> alloc::vec::Vec<u8> {
        let mut buf = alloc::vec![0xeeu8; len];
        let n = d.read(at, &mut ReadBuf::kernel(&mut buf)).unwrap();
        buf.truncate(n);
        buf
    }

    /// Memory that, on its `fail_at`-th allocation, first writes "hi" to page 0 of the file
    /// (a racing writer) and then has nothing left.
    struct RacingMemory {
        heap: HeapMemory,
        calls: core::sync::atomic::AtomicUsize,
        fail_at: usize,
        file: std::sync::Mutex<Option<Arc<FileData>>>,
    }

    impl FileMemory for RacingMemory {
        fn allocate(&self) -> Option<PhysFrame> {
            let n = self
                .calls
                .fetch_add(1, core::sync::atomic::Ordering::Relaxed)
                + 1;
            if n < self.fail_at {
                return self.heap.allocate();
            }
            let file = self.file.lock().expect("not poisoned").take();
            if let Some(d) = file {
                assert_eq!(d.write(0, &WriteBuf::kernel(b"hi")), Ok(2));
            }
            None
        }

        fn release(&self, frame: PhysFrame) {
            self.heap.release(frame)
        }

        fn bytes(&self) -> &dyn FrameBytes {
            self.heap.bytes()
        }
    }

    #[test]
    fn a_failed_fallocate_keeps_the_pages_used_meanwhile() {
        let mem = Arc::new(RacingMemory {
            heap: HeapMemory::new(),
            calls: core::sync::atomic::AtomicUsize::new(0),
            fail_at: 3,
            file: std::sync::Mutex::new(None),
        });
        let usage = Arc::new(Usage::unlimited());
        let d = FileData::new(mem.clone(), usage.clone(), DeviceId::new(0, 7), 42);
        *mem.file.lock().expect("not poisoned") = Some(d.clone());
        // Pages 0 and 1 are taken, the write lands in page 0, the third frame fails.
        assert_eq!(d.allocate(0, 4 * PAGE, false), Err(Errno::ENOSPC));
        assert_eq!(read_kernel(&d, 0, 2), b"hi", "the written page stayed");
        assert_eq!(
            d.size_and_blocks(),
            (2, 8),
            "page 1 went, the size is the write's"
        );
        assert_eq!(mem.heap.frames(), 1);
        assert_eq!(usage.figures().blocks, 1, "the kept page is still charged");
        // A later fallocate takes page 0 as it is and can fail without losing it.
        assert_eq!(d.allocate(0, 2 * PAGE, true), Err(Errno::ENOSPC));
        assert_eq!(read_kernel(&d, 0, 2), b"hi");
        assert_eq!(usage.figures().blocks, 1);
    }

    #[test]
    fn sparse_file_through_user_memory_and_kernel_buffers() {
        let (mem, d) = file();
        let mut um = FakeUserMemory::new();
        um.map(0x1000, 0x3000, true);
        let text = [b'x'; 3000];
        um.poke(0x1000, &text);
        // 3000 bytes at 10000: straddles pages 2 and 3, through the bounce buffer.
        let w = d.write(10_000, &WriteBuf::user(&um, UserBuf::new(0x1000, 3000)));
        assert_eq!(w, Ok(3000));
        assert_eq!(d.size_and_blocks(), (13_000, 2 * 8), "two pages hold data");
        assert_eq!(mem.frames(), 2);
        let r = d.read(
            9_990,
            &mut ReadBuf::user(&mut um, UserBuf::new(0x2000, 0x2000)),
        );
        assert_eq!(r, Ok(3010), "short at the end of the file");
        assert_eq!(
            um.peek(0x2000, 10),
            [0; 10],
            "the hole before reads as zeros"
        );
        assert_eq!(um.peek(0x200a, 3000), text);
        assert_eq!(read_kernel(&d, 0, 4), [0; 4]);
        assert_eq!(read_kernel(&d, 13_000, 4), [0u8; 0], "nothing at the end");
    }

    #[test]
    fn faults_give_short_counts_and_efault() {
        let (_, d) = file();
        let mut um = FakeUserMemory::new();
        um.map(0x1000, 0x1000, true);
        um.poke(0x1000, &[7; 0x1000]);
        // The source runs off its mapping after 0x800 bytes.
        let w = d.write(0, &WriteBuf::user(&um, UserBuf::new(0x1800, 0x1000)));
        assert_eq!(w, Ok(0x800));
        assert_eq!(d.size(), 0x800, "only what was copied grows the file");
        let w = d.write(0, &WriteBuf::user(&um, UserBuf::new(0x9000, 10)));
        assert_eq!(w, Err(Errno::EFAULT));
        let r = d.read(0, &mut ReadBuf::user(&mut um, UserBuf::new(0x1c00, 0x800)));
        assert_eq!(r, Ok(0x400));
        let r = d.read(0, &mut ReadBuf::user(&mut um, UserBuf::new(0x9000, 1)));
        assert_eq!(r, Err(Errno::EFAULT));
        assert_eq!(
            d.write(MAX_FILE_SIZE, &WriteBuf::kernel(b"x")),
            Err(Errno::EFBIG)
        );
    }

    #[test]
    fn a_write_of_a_caller_being_killed_stops_at_the_next_page() {
        let (mem, d) = file();
        assert_eq!(write_kernel(&d, 0, &[1u8; 5000]), 5000);
        mem.set_caller_killed(true);
        // From mid-page: the rest of that page, then no new page.
        let r = d.write(100, &WriteBuf::kernel(&[2u8; 3 * 4096]));
        assert_eq!(r, Ok(4096 - 100));
        assert_eq!(mem.frames(), 2, "no page taken for a caller being killed");
        // At a page boundary: nothing written.
        assert_eq!(
            d.write(8192, &WriteBuf::kernel(&[3u8; 10])),
            Err(Errno::EINTR)
        );
        mem.set_caller_killed(false);
        assert_eq!(write_kernel(&d, 8192, &[3u8; 10]), 10);
    }

    #[test]
    fn truncation_drops_pages_and_zeroes_the_tail() {
        let (mem, d) = file();
        write_kernel(&d, 0, &[1; 3 * 4096]);
        d.set_size(4096 + 100).unwrap();
        assert_eq!(mem.frames(), 2);
        d.set_size(3 * 4096).unwrap();
        assert_eq!(read_kernel(&d, 4096 + 98, 4), [1, 1, 0, 0]);
        assert_eq!(read_kernel(&d, 2 * 4096, 4), [0; 4], "a hole after growing");
        assert_eq!(d.set_size(MAX_FILE_SIZE + 1), Err(Errno::EFBIG));
        drop(d);
        assert_eq!(mem.frames(), 0, "the last reference frees every page");
    }

    #[test]
    fn mapped_pages_are_the_file_pages() {
        let (mem, d) = file();
        write_kernel(&d, 0, b"hello");
        d.set_size(2 * 4096).unwrap();
        let mut src = &*mem;
        let f = d.get_page(0, &mut src, mem.bytes()).unwrap();
        assert_eq!(src.ref_count(f), Some(2), "the file's and the mapping's");
        // The app writes through its mapping; read(2) sees it, and the other way round.
        mem.bytes().write(f, 0, b"J");
        assert_eq!(read_kernel(&d, 0, 5), b"Jello");
        write_kernel(&d, 1, b"ELLO");
        let mut seen = [0u8; 5];
        mem.bytes().read(f, 0, &mut seen);
        assert_eq!(&seen, b"JELLO");
        // A hole inside the size gets a zeroed page the file keeps.
        assert!(!d.is_resident(4096));
        let g = d.get_page(4096 + 5, &mut src, mem.bytes()).unwrap();
        assert!(d.is_resident(4096));
        let mut z = [1u8; 4];
        SharedMapSource::read(&*d, 4096, &mut z, mem.bytes()).unwrap();
        assert_eq!(z, [0; 4]);
        assert_eq!(d.size_and_blocks().1, 16);
        assert_eq!(
            d.get_page(2 * 4096, &mut src, mem.bytes()),
            Err(PageError::Beyond)
        );
        assert_eq!(
            SharedMapSource::read(&*d, 2 * 4096, &mut z, mem.bytes()),
            Err(PageError::Beyond)
        );
        // Truncation drops the file's pages; the mapping's reference stays until the kernel
        // unmaps it (`unmap_beyond`, which needs every address space).
        assert_eq!(d.set_size(0), Ok(true));
        assert_eq!(src.ref_count(f), Some(1));
        assert_eq!(read_kernel(&d, 0, 5), [0u8; 0]);
        FrameSource::release(&mut src, f).unwrap();
        FrameSource::release(&mut src, g).unwrap();
        assert_eq!(mem.frames(), 0);
    }

    #[test]
    fn punching_a_hole_forgets_whole_pages_only() {
        let (mem, d) = file();
        write_kernel(&d, 0, &[3; 4 * 4096]);
        d.punch_hole(100, 3 * 4096, &mut &*mem).unwrap();
        assert_eq!(mem.frames(), 2, "pages 1 and 2 go, 0 and 3 are partly kept");
        assert_eq!(read_kernel(&d, 4096, 2), [0, 0]);
        assert_eq!(read_kernel(&d, 3 * 4096, 2), [3, 3]);
        assert_eq!(d.identity().inode, 42);
        assert_eq!(d.identity().dev_minor, 7);
    }

    /// User memory whose every copy first "faults" into a shared mapping of `file`, as a
    /// read(2) into a mapping of the file being read does in a kernel.
    struct FaultingMemory<'a> {
        inner: FakeUserMemory,
        file: &'a FileData,
        memory: &'a HeapMemory,
    }

    impl UserMemory for FaultingMemory<'_> {
        fn copy_in(&self, src: UserAddr, dst: &mut [u8]) -> Result<(), Fault> {
            self.inner.copy_in(src, dst)
        }
        fn copy_out(&mut self, dst: UserAddr, src: &[u8]) -> Result<(), Fault> {
            let mut frames = self.memory;
            let f = self
                .file
                .get_page(0, &mut frames, self.memory.bytes())
                .expect("the page is inside the file");
            FrameSource::release(&mut frames, f).expect("the mapping's reference");
            self.inner.copy_out(dst, src)
        }
    }

    #[test]
    fn a_read_whose_copy_faults_into_the_same_file_does_not_deadlock() {
        let (mem, d) = file();
        write_kernel(&d, 0, b"abc");
        let mut um = FaultingMemory {
            inner: FakeUserMemory::new(),
            file: &d,
            memory: &mem,
        };
        um.inner.map(0x1000, 0x1000, true);
        let r = d.read(0, &mut ReadBuf::user(&mut um, UserBuf::new(0x1000, 3)));
        assert_eq!(r, Ok(3));
        assert_eq!(um.inner.peek(0x1000, 3), b"abc");
    }

    /// An open file as oxv-mm sees it: a private source that can also be mapped shared.
    struct Mapped(Arc<FileData>);

    impl MapSource for Mapped {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
            self.0.read(offset, &mut ReadBuf::kernel(buf))
        }
        fn shared(&self) -> Option<SharedFile> {
            Some(SharedFile {
                object: self.0.clone(),
                writable: true,
            })
        }
    }

    #[test]
    fn an_address_space_shares_the_pages_with_read_and_write() {
        use oxv_abi::linux::mm::{MAP_SHARED, PROT_READ, PROT_WRITE};
        let (mem, d) = file();
        write_kernel(&d, 0, &[b'.'; 6000]);
        let mut frames = &*mem;
        let tlb = FakeTlb::new();
        let mut plat = Platform {
            frames: &mut frames,
            bytes: &*mem,
            tlb: &tlb,
        };
        let mut aspace = AddressSpace::new(
            FakePageTable::new(),
            AddressSpaceConfig::new(0x7f00_0000_0000),
        );
        let source: Arc<dyn MapSource> = Arc::new(Mapped(d.clone()));
        let args = MmapArgs::file(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, source, 0);
        let a = aspace.mmap(args, &mut plat).unwrap();
        aspace
            .user_memory(&mut plat)
            .copy_out(UserAddr::new(a + 4095), b"mapped")
            .unwrap();
        assert_eq!(read_kernel(&d, 4094, 8), b".mapped.");
        write_kernel(&d, 10, b"written");
        let mut seen = [0u8; 7];
        aspace
            .user_memory(&mut plat)
            .copy_in(UserAddr::new(a + 10), &mut seen)
            .unwrap();
        assert_eq!(&seen, b"written");
        aspace.munmap(a, 8192, &mut plat).unwrap();
        assert_eq!(read_kernel(&d, 4095, 6), b"mapped", "kept after munmap");
        aspace.teardown(&mut plat);
        drop(d);
        assert_eq!(mem.frames(), 0, "page tables, pages and the file all freed");
    }
}
