//! `MAP_SHARED` mappings of ext2 files ([`super::super::pages`]): coherence with read(2) and
//! write(2), write-back to the disk, holes filled on the first write, and e2fsck.

use super::*;
use crate::ReadBuf;
use crate::node::SetAttr;
use crate::shrink::{CacheShrinker, Need, ShrinkRequest, Shrunk};
use crate::tmpfs::HeapMemory;
use crate::tmpfs::data::unmap_log;
use oxv_abi::linux::mm::{MAP_PRIVATE, MAP_SHARED, MS_SYNC, PROT_READ, PROT_WRITE};
use oxv_abi::{Errno, UserAddr, UserMemory};
use oxv_mm::fake::{FakePageTable, FakeTlb};
use oxv_mm::{
    AddressSpace, AddressSpaceConfig, MapSource, MmapArgs, PageError, Platform, SharedFile,
    SharedMapSource,
};

/// A formatted 8 MiB RAM disk, mounted, whose files can be mapped shared from `mem`.
fn mapped_fs(block_size: usize, mem: &Arc<HeapMemory>) -> (Arc<RamDisk>, Arc<Ext2>) {
    let disk = Arc::new(RamDisk::new(16 * 1024));
    super::super::format(
        &*disk,
        &super::super::FormatOptions {
            block_size,
            bytes_per_inode: 16384,
        },
        NOW,
    )
    .expect("format");
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .expect("mount");
    fs.set_page_memory(mem.clone());
    (disk, fs)
}

/// An open ext2 file as oxv-mm sees it (the kernel's `FileMapSource`, minus names).
struct Mapped {
    node: Arc<dyn Inode>,
    cache: Arc<dyn SharedMapSource>,
}

impl Mapped {
    fn open(node: &Arc<dyn Inode>) -> Arc<dyn MapSource> {
        let cache = node.page_cache().expect("a regular file has a page cache");
        Arc::new(Mapped {
            node: node.clone(),
            cache,
        })
    }
}

impl MapSource for Mapped {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.node.read_at(offset, &mut ReadBuf::kernel(buf))
    }
    fn shared(&self) -> Option<SharedFile> {
        Some(SharedFile {
            object: self.cache.clone(),
            writable: true,
        })
    }
    fn page_cache(&self) -> Option<&dyn SharedMapSource> {
        Some(&*self.cache)
    }
}

/// An address space over fake page tables whose frames are `mem`'s.
struct Space<'m> {
    aspace: AddressSpace<FakePageTable>,
    frames: &'m HeapMemory,
    tlb: FakeTlb,
}

impl<'m> Space<'m> {
    fn new(mem: &'m HeapMemory) -> Self {
        Space {
            aspace: AddressSpace::new(
                FakePageTable::new(),
                AddressSpaceConfig::new(0x7f00_0000_0000),
            ),
            frames: mem,
            tlb: FakeTlb::new(),
        }
    }

    fn with<R>(
        &mut self,
        f: impl FnOnce(&mut AddressSpace<FakePageTable>, &mut Platform<'_>) -> R,
    ) -> R {
        let mut frames = self.frames;
        let mut plat = Platform {
            frames: &mut frames,
            bytes: oxv_vfs_bytes(self.frames),
            tlb: &self.tlb,
        };
        f(&mut self.aspace, &mut plat)
    }

    fn map(&mut self, node: &Arc<dyn Inode>, len: u64, flags: u32) -> u64 {
        let args = MmapArgs::file(0, len, PROT_READ | PROT_WRITE, flags, Mapped::open(node), 0);
        self.with(|a, p| a.mmap(args, p)).expect("mmap")
    }

    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), oxv_abi::Fault> {
        self.with(|a, p| a.user_memory(p).copy_out(UserAddr::new(addr), data))
    }

    fn load(&mut self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = alloc::vec![0u8; len];
        self.with(|a, p| a.user_memory(p).copy_in(UserAddr::new(addr), &mut buf))
            .expect("mapped");
        buf
    }

    /// Read faults on `pages` pages from `addr`, as the app's loads take them (a kernel
    /// copy reads a page that is not resident without caching it).
    fn fault_in(&mut self, addr: u64, pages: u64) {
        for i in 0..pages {
            self.with(|a, p| a.handle_fault(addr + i * 4096, oxv_mm::Access::Read, p))
                .expect("a read fault inside the mapping");
        }
    }

    fn teardown(mut self) {
        self.with(|a, p| {
            let a = core::mem::replace(
                a,
                AddressSpace::new(
                    FakePageTable::new(),
                    AddressSpaceConfig::new(0x7f00_0000_0000),
                ),
            );
            a.teardown(p);
        });
    }
}

fn oxv_vfs_bytes(mem: &HeapMemory) -> &dyn oxv_mm::FrameBytes {
    crate::tmpfs::FileMemory::bytes(mem)
}

fn read_at(node: &dyn Inode, at: u64, len: usize) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; len];
    let n = node.read_at(at, &mut ReadBuf::kernel(&mut buf)).unwrap();
    buf.truncate(n);
    buf
}

fn write_at(node: &dyn Inode, at: u64, data: &[u8]) {
    node.write_at(WritePos::At(at), &WriteBuf::kernel(data), NOW)
        .unwrap();
}

#[test]
fn shared_mappings_read_and_write_see_each_other() {
    for bs in [1024, 4096] {
        let mem = Arc::new(HeapMemory::new());
        let (_disk, fs) = mapped_fs(bs, &mem);
        let file = put_file(&*fs.root(), "f", &[b'.'; 10_000]);
        let mut a = Space::new(&mem);
        let mut b = Space::new(&mem);
        let at_a = a.map(&file, 4 * 4096, MAP_SHARED);
        let at_b = b.map(&file, 3 * 4096, MAP_SHARED);
        // A write through one mapping, across a page boundary: read(2) and the other
        // mapping see it.
        a.store(at_a + 4093, b"mapped").unwrap();
        assert_eq!(read_at(&*file, 4092, 8), b".mapped.");
        assert_eq!(b.load(at_b + 4093, 6), b"mapped");
        // write(2) reaches both mappings.
        write_at(&*file, 20, b"written");
        assert_eq!(a.load(at_a + 20, 7), b"written");
        assert_eq!(b.load(at_b + 20, 7), b"written");
        // A private mapping sees the shared writes too (it has not written the page).
        let mut c = Space::new(&mem);
        let at_c = c.map(&file, 4096, MAP_PRIVATE);
        assert_eq!(c.load(at_c + 20, 7), b"written");
        // Past the end inside the last page: zeros; the page after: SIGBUS.
        assert_eq!(a.load(at_a + 10_000, 4), [0; 4]);
        assert!(a.store(at_a + 3 * 4096, b"x").is_err());
        a.teardown();
        b.teardown();
        c.teardown();
        drop(file);
        fs.sync().unwrap();
        let file = walk(&fs, "f").unwrap();
        assert_eq!(read_at(&*file, 4092, 8), b".mapped.", "block size {bs}");
    }
}

#[test]
fn mapped_writes_reach_the_disk_on_sync_msync_and_release() {
    let scratch = Scratch::new("pages");
    let mem = Arc::new(HeapMemory::new());
    let (disk, fs) = mapped_fs(1024, &mem);
    let file = put_file(&*fs.root(), "f", &pattern(1, 5 * 4096));
    let mut a = Space::new(&mem);
    let at = a.map(&file, 5 * 4096, MAP_SHARED);

    // fsync: the mapped write is durable, and later writes still are noticed.
    a.store(at + 100, b"first").unwrap();
    fs.sync().unwrap();
    let again = remount(&disk);
    assert_eq!(read_at(&*walk(&again, "f").unwrap(), 100, 5), b"first");
    a.store(at + 200, b"second").unwrap();
    fs.sync().unwrap();
    let again = remount(&disk);
    assert_eq!(read_at(&*walk(&again, "f").unwrap(), 200, 6), b"second");

    // msync(MS_SYNC) writes and write-protects; the next write faults again and is kept.
    a.store(at + 3 * 4096, b"third").unwrap();
    let pending = a
        .with(|s, p| s.msync(at, 5 * 4096, MS_SYNC as i32, p))
        .unwrap();
    pending.finish(oxv_vfs_bytes(&mem)).unwrap();
    let again = remount(&disk);
    assert_eq!(read_at(&*walk(&again, "f").unwrap(), 3 * 4096, 5), b"third");
    a.store(at + 3 * 4096, b"THIRD").unwrap();

    // munmap, close, then sync (the node goes: its pages are written and released).
    a.with(|s, p| s.munmap(at, 5 * 4096, p)).unwrap();
    a.teardown();
    drop(file);
    fs.sync().unwrap();
    assert_eq!(mem.frames(), 0, "page cache released with the node");
    let again = remount(&disk);
    let f = walk(&again, "f").unwrap();
    let mut want = pattern(1, 5 * 4096);
    want[100..105].copy_from_slice(b"first");
    want[200..206].copy_from_slice(b"second");
    want[3 * 4096..3 * 4096 + 5].copy_from_slice(b"THIRD");
    assert_eq!(read_all(&*f), want);
    if have_e2fsprogs("mapped_writes_reach_the_disk_on_sync_msync_and_release") {
        assert_clean(&scratch, &disk.contents());
    }
}

#[test]
fn a_write_fault_fills_a_hole_with_blocks() {
    let scratch = Scratch::new("pages-hole");
    let mem = Arc::new(HeapMemory::new());
    let (disk, fs) = mapped_fs(1024, &mem);
    let file = put_file(&*fs.root(), "sparse", b"");
    let attr = SetAttr {
        size: Some(64 * 1024 + 10),
        ctime: NOW,
        ..SetAttr::default()
    };
    file.set_attr(&attr).unwrap();
    assert_eq!(file.metadata().blocks, 0);
    let mut a = Space::new(&mem);
    let at = a.map(&file, 17 * 4096, MAP_SHARED);
    // Reading a hole allocates nothing.
    assert_eq!(a.load(at + 8 * 4096, 4), [0; 4]);
    assert_eq!(file.metadata().blocks, 0);
    // Writing a page gives it its four 1 KiB blocks (and the indirect block past the 12
    // direct ones); writing the last, partial page gives it only the block inside the file.
    a.store(at + 8 * 4096 + 1, b"hole").unwrap();
    assert_eq!(file.metadata().blocks, (4 + 1) * 2);
    a.store(at + 16 * 4096 + 5, b"end").unwrap();
    assert_eq!(file.metadata().blocks, (5 + 1) * 2);
    a.teardown();
    drop(file);
    fs.sync().unwrap();
    let again = remount(&disk);
    let f = walk(&again, "sparse").unwrap();
    assert_eq!(f.metadata().size, 64 * 1024 + 10);
    assert_eq!(read_at(&*f, 8 * 4096, 6), b"\0hole\0");
    assert_eq!(read_at(&*f, 16 * 4096 + 5, 10), b"end\0\0");
    assert_eq!(read_at(&*f, 4096, 4), [0; 4]);
    if have_e2fsprogs("a_write_fault_fills_a_hole_with_blocks") {
        assert_clean(&scratch, &disk.contents());
    }
}

#[test]
fn a_full_disk_makes_the_write_fault_a_bus_error() {
    let mem = Arc::new(HeapMemory::new());
    let (_disk, fs) = mapped_fs(1024, &mem);
    let file = put_file(&*fs.root(), "sparse", b"");
    file.set_attr(&SetAttr {
        size: Some(8192),
        ctime: NOW,
        ..SetAttr::default()
    })
    .unwrap();
    // Fill the disk.
    let filler = put_file(&*fs.root(), "filler", b"");
    let chunk = [7u8; 64 * 1024];
    let mut at = 0;
    while filler
        .write_at(WritePos::At(at), &WriteBuf::kernel(&chunk), NOW)
        .is_ok_and(|w| w.count > 0)
    {
        at += 64 * 1024;
    }
    let cache = file.page_cache().unwrap();
    let mut frames = &*mem;
    let f = cache.get_page(0, &mut frames, oxv_vfs_bytes(&mem)).unwrap();
    assert_eq!(
        cache.page_mkwrite(0),
        Err(PageError::Io),
        "ENOSPC is SIGBUS"
    );
    assert_eq!(cache.page_mkwrite(8192), Err(PageError::Beyond));
    oxv_mm::FrameSource::release(&mut frames, f).unwrap();
    // After space is freed, the same page can be written.
    fs.root().unlink(b"filler", NOW).unwrap();
    drop(filler);
    assert_eq!(cache.page_mkwrite(0), Ok(()));
}

#[test]
fn truncation_drops_pages_and_zeroes_the_tail() {
    let mem = Arc::new(HeapMemory::new());
    let (disk, fs) = mapped_fs(1024, &mem);
    let file = put_file(&*fs.root(), "f", &[1; 3 * 4096]);
    let cache = file.page_cache().unwrap();
    let mut frames = &*mem;
    let bytes = oxv_vfs_bytes(&mem);
    for i in 0..3 {
        let f = cache.get_page(i * 4096, &mut frames, bytes).unwrap();
        cache.page_mkwrite(i * 4096).unwrap();
        bytes.write(f, 4000, &[9; 96]);
        oxv_mm::FrameSource::release(&mut frames, f).unwrap();
    }
    assert_eq!(mem.frames(), 3);
    file.set_attr(&SetAttr {
        size: Some(4096 + 100),
        ctime: NOW,
        ..SetAttr::default()
    })
    .unwrap();
    assert_eq!(mem.frames(), 2, "the page wholly past the end is dropped");
    assert_eq!(
        cache.get_page(2 * 4096, &mut frames, bytes),
        Err(PageError::Beyond)
    );
    file.set_attr(&SetAttr {
        size: Some(3 * 4096),
        ctime: NOW,
        ..SetAttr::default()
    })
    .unwrap();
    assert_eq!(read_at(&*file, 4096 + 98, 4), [1, 1, 0, 0]);
    assert_eq!(read_at(&*file, 4000, 4), [9; 4], "the dirty page is kept");
    assert_eq!(read_at(&*file, 2 * 4096 + 4000, 4), [0; 4]);
    drop((cache, file));
    fs.sync().unwrap();
    let again = remount(&disk);
    let f = walk(&again, "f").unwrap();
    assert_eq!(read_at(&*f, 4000, 4), [9; 4]);
    assert_eq!(read_at(&*f, 4096 + 98, 4), [1, 1, 0, 0]);
    assert_eq!(read_at(&*f, 2 * 4096 + 4000, 4), [0; 4]);
}

#[test]
fn without_page_memory_there_is_no_page_cache() {
    let disk = Arc::new(RamDisk::new(4 * 1024));
    super::super::format(&*disk, &Default::default(), NOW).unwrap();
    let fs = Ext2::mount(disk, DeviceId::new(8, 1), MountOptions::default(), NOW).unwrap();
    let file = put_file(&*fs.root(), "f", b"x");
    assert!(file.page_cache().is_none());
    fs.set_page_memory(Arc::new(HeapMemory::new()));
    assert!(file.page_cache().is_some());
    assert!(
        fs.root().page_cache().is_none(),
        "directories cannot be mapped"
    );
}

#[test]
fn shrinking_a_mapped_file_asks_to_unmap_its_pages_past_the_end() {
    unmap_log::install();
    let mem = Arc::new(HeapMemory::new());
    let (_disk, fs) = mapped_fs(1024, &mem);
    let file = put_file(&*fs.root(), "f", &[5; 4 * 4096]);
    let mut a = Space::new(&mem);
    let at = a.map(&file, 4 * 4096, MAP_SHARED);
    for i in 0..4 {
        a.store(at + i * 4096, b"m").unwrap();
    }
    let object = file.page_cache().unwrap().object_id();
    unmap_log::forget(object);
    let size = |len| SetAttr {
        size: Some(len),
        ctime: NOW,
        ..SetAttr::default()
    };
    // Within the last page: nothing to unmap.
    file.set_attr(&size(4 * 4096 - 10)).unwrap();
    assert!(unmap_log::requests_for(object).is_empty());
    file.set_attr(&size(4096 + 100)).unwrap();
    assert_eq!(
        unmap_log::requests_for(object),
        [2 * 4096],
        "the first page wholly past the end"
    );
    // What the kernel's unmapper does for each address space: the mapping's object is the
    // same, and the pages past the end are SIGBUS from then on.
    a.with(|s, p| s.unmap_object_beyond(object, 2 * 4096, p));
    assert_eq!(a.load(at + 4096 + 99, 2), [5, 0]);
    assert!(a.store(at + 2 * 4096, b"x").is_err());
    assert!(a.store(at + 3 * 4096, b"x").is_err());
    file.set_attr(&size(4 * 4096)).unwrap();
    assert_eq!(
        a.load(at + 3 * 4096, 2),
        [0, 0],
        "zeros after growing again"
    );
    a.teardown();
}

/// Asks `fs` to give back `pages` pages of `need`, counting references in `mem`.
fn shrink(fs: &Ext2, mem: &HeapMemory, need: Need, pages: usize) -> Shrunk {
    fs.shrink(&ShrinkRequest {
        need,
        pages,
        frames: &mem,
    })
}

#[test]
fn shrink_frees_clean_unmapped_pages_and_keeps_dirty_and_mapped_ones() {
    let mem = Arc::new(HeapMemory::new());
    let (_disk, fs) = mapped_fs(4096, &mem);
    let data = pattern(7, 8 * 4096);
    let file = put_file(&*fs.root(), "f", &data);
    // Every page faulted in through one mapping, page 0 written through it; then unmapped.
    let mut a = Space::new(&mem);
    let at = a.map(&file, 8 * 4096, MAP_SHARED);
    a.fault_in(at, 8);
    assert_eq!(a.load(at, 8 * 4096), data);
    a.store(at + 10, b"dirty").unwrap();
    a.teardown();
    // Page 1 is mapped again (by a private mapping: read faults map the cache's frame).
    let mut b = Space::new(&mem);
    let at_b = b.map(&file, 8 * 4096, MAP_PRIVATE);
    b.fault_in(at_b + 4096, 1);
    assert_eq!(b.load(at_b + 4096, 4), data[4096..4100]);
    // The 8 cached pages and b's page tables.
    let before = mem.frames();
    assert!(before > 8);

    // A busy file system gives nothing (reclaim may run inside its own operation).
    let held = fs.shared.state.lock();
    assert_eq!(shrink(&fs, &mem, Need::Frames, 100), Shrunk::default());
    drop(held);

    // Pages 2..8 go; the dirty page 0 and the mapped page 1 stay.
    let got = shrink(&fs, &mem, Need::Frames, 100);
    assert_eq!(got.frames, 6);
    assert_eq!(mem.frames(), before - 6);
    assert_eq!(shrink(&fs, &mem, Need::Frames, 100).frames, 0);

    // Everything reads back from the blocks: through the mapping, read(2), and the dirty
    // page with its mapped write.
    let mut want = data.clone();
    want[10..15].copy_from_slice(b"dirty");
    assert_eq!(b.load(at_b, 8 * 4096), want);
    assert_eq!(read_at(&*file, 0, 8 * 4096), want);
    b.teardown();
}

#[test]
fn shrink_asks_for_no_more_than_it_needs_and_spares_pages_used_again() {
    let mem = Arc::new(HeapMemory::new());
    let (_disk, fs) = mapped_fs(4096, &mem);
    let data = pattern(3, 4 * 4096);
    let file = put_file(&*fs.root(), "f", &data);
    let mut a = Space::new(&mem);
    let at = a.map(&file, 4 * 4096, MAP_PRIVATE);
    a.fault_in(at, 4);
    assert_eq!(a.load(at, 4 * 4096), data);
    a.teardown();
    // Page 3 is used again (a cache hit): a later request for one page takes page 0.
    let mut b = Space::new(&mem);
    let at_b = b.map(&file, 4 * 4096, MAP_PRIVATE);
    b.fault_in(at_b + 3 * 4096, 1);
    assert_eq!(b.load(at_b + 3 * 4096, 8), data[3 * 4096..3 * 4096 + 8]);
    b.teardown();
    assert_eq!(shrink(&fs, &mem, Need::Frames, 1).frames, 1);
    assert_eq!(mem.frames(), 3);
    let cache = file.page_cache().unwrap();
    assert!(!cache.is_resident(0));
    assert!(cache.is_resident(3 * 4096));
    // Its second chance is spent once every other page is gone.
    assert_eq!(shrink(&fs, &mem, Need::Frames, 3).frames, 3);
    assert_eq!(mem.frames(), 0);
}

#[test]
fn a_fault_that_finds_memory_full_drops_clean_pages_of_the_cache() {
    // Room for 10 frames (3 go to page tables), a 16-page file read through 4-page windows,
    // each unmapped after use, twice: the cache cannot keep it all, so faults reclaim its
    // clean pages.
    let mem = Arc::new(HeapMemory::with_limit(10));
    let (_disk, fs) = mapped_fs(1024, &mem);
    let data = pattern(11, 16 * 4096);
    let file = put_file(&*fs.root(), "big", &data);
    for _ in 0..2 {
        for w in 0..4u64 {
            let mut s = Space::new(&mem);
            let args = MmapArgs::file(
                0,
                4 * 4096,
                PROT_READ,
                MAP_PRIVATE,
                Mapped::open(&file),
                w * 4 * 4096,
            );
            let at = s.with(|a, p| a.mmap(args, p)).expect("mmap");
            let off = (w * 4 * 4096) as usize;
            s.fault_in(at, 4);
            assert!(mem.frames() <= 10);
            assert_eq!(s.load(at, 4 * 4096), data[off..off + 4 * 4096]);
            s.teardown();
            assert!(mem.frames() <= 10);
        }
    }
}

#[test]
fn shrink_for_heap_frees_clean_buffers_and_keeps_dirty_ones() {
    let mem = Arc::new(HeapMemory::new());
    let (disk, fs) = mapped_fs(1024, &mem);
    let data = pattern(5, 64 * 1024);
    let file = put_file(&*fs.root(), "f", &data);
    fs.sync().unwrap();
    assert_eq!(read_at(&*file, 0, data.len()), data);
    // Written, not synced: its buffers are dirty.
    write_at(&*file, 100, b"unsynced");
    // Frames only: the buffer cache is heap, it is left alone.
    assert_eq!(shrink(&fs, &mem, Need::Frames, 1000), Shrunk::default());
    let got = shrink(&fs, &mem, Need::Heap, 1000);
    assert!(got.heap_bytes >= data.len(), "{got:?}");
    assert!(got.serves(Need::Heap) && !got.serves(Need::Frames));
    // Read again from the device, with the dirty block's bytes from memory.
    let reads = fs.cache_stats().reads;
    let mut want = data.clone();
    want[100..108].copy_from_slice(b"unsynced");
    assert_eq!(read_at(&*file, 0, data.len()), want);
    assert!(fs.cache_stats().reads > reads);
    // The dirty buffer was kept for the write-back.
    drop(file);
    fs.sync().unwrap();
    assert_eq!(
        read_at(&*walk(&remount(&disk), "f").unwrap(), 100, 8),
        b"unsynced"
    );
}

/// Writes `data` into `file` (already that long) through shared writable windows of
/// `window` pages, each unmapped after use.
fn write_through_windows(mem: &HeapMemory, file: &Arc<dyn Inode>, data: &[u8], window: u64) {
    let len = window * 4096;
    for w in 0..data.len() as u64 / len {
        let mut s = Space::new(mem);
        let args = MmapArgs::file(
            0,
            len,
            PROT_READ | PROT_WRITE,
            MAP_SHARED,
            Mapped::open(file),
            w * len,
        );
        let at = s.with(|a, p| a.mmap(args, p)).expect("mmap");
        let off = (w * len) as usize;
        s.store(at, &data[off..off + len as usize])
            .expect("a write through the mapping finds a frame");
        s.teardown();
    }
}

#[test]
fn a_fault_that_finds_memory_full_of_dirty_pages_writes_them_back_and_drops_them() {
    // Room for 10 frames, a 64-page file written through 4-page shared windows: the dirty
    // pages of earlier windows must go to the disk to make room, never a failed fault.
    let mem = Arc::new(HeapMemory::with_limit(10));
    let (disk, fs) = mapped_fs(1024, &mem);
    let data = pattern(13, 64 * 4096);
    let file = put_file(&*fs.root(), "big", &alloc::vec![0u8; data.len()]);
    fs.sync().unwrap();
    write_through_windows(&mem, &file, &data, 4);
    assert!(mem.frames() <= 10);
    assert_eq!(read_at(&*file, 0, data.len()), data);
    // The pages written back reached the disk with their metadata, without a sync.
    drop(file);
    let again = remount(&disk);
    let on_disk = read_at(&*walk(&again, "big").unwrap(), 0, 60 * 4096);
    assert_eq!(on_disk, data[..60 * 4096]);
}

#[test]
fn dirtying_many_pages_writes_back_the_unmapped_ones_so_reclaim_finds_clean_pages() {
    let mem = Arc::new(HeapMemory::new());
    let (_disk, fs) = mapped_fs(4096, &mem);
    // DIRTY_BATCH + one window of 16 pages.
    let pages = super::super::pages::DIRTY_BATCH as u64 + 16;
    let data = pattern(17, pages as usize * 4096);
    let file = put_file(&*fs.root(), "f", &alloc::vec![0u8; data.len()]);
    write_through_windows(&mem, &file, &data, 16);
    // A fault after the batch wrote the earlier windows back: clean, so reclaim (which
    // cannot wait for the disk) frees them; only the pages dirtied since stay.
    let mut s = Space::new(&mem);
    let at = s.map(&file, 4096, MAP_PRIVATE);
    s.fault_in(at, 1);
    s.teardown();
    let got = shrink(&fs, &mem, Need::Frames, 10_000);
    assert!(got.frames >= super::super::pages::DIRTY_BATCH, "{got:?}");
    assert_eq!(read_at(&*file, 0, data.len()), data);
}

#[test]
fn one_mapping_larger_than_memory_reads_through_as_its_clean_pages_are_taken_out() {
    // Room for 12 frames, ONE read-only mapping of a 32-page file read all through, twice:
    // the mapping itself holds the pages, so faults that find no frame must take clean
    // pages out of it (oxv-mm's reclaim) for the cache to drop them.
    let mem = Arc::new(HeapMemory::with_limit(12));
    let (_disk, fs) = mapped_fs(1024, &mem);
    let data = pattern(19, 32 * 4096);
    let file = put_file(&*fs.root(), "big", &data);
    for flags in [MAP_PRIVATE, MAP_SHARED] {
        let mut s = Space::new(&mem);
        let args = MmapArgs::file(0, 32 * 4096, PROT_READ, flags, Mapped::open(&file), 0);
        let at = s.with(|a, p| a.mmap(args, p)).expect("mmap");
        for _ in 0..2 {
            for page in 0..32u64 {
                s.fault_in(at + page * 4096, 1);
                assert!(mem.frames() <= 12);
                let off = (page * 4096) as usize;
                assert_eq!(s.load(at + page * 4096, 4096), data[off..off + 4096]);
            }
        }
        s.teardown();
    }
}

#[test]
fn pages_written_through_a_mapping_are_not_taken_out_of_it() {
    // A dirty page mapped writable stays mapped: only a shortage of clean pages is an error.
    let mem = Arc::new(HeapMemory::with_limit(12));
    let (_disk, fs) = mapped_fs(1024, &mem);
    let data = pattern(23, 16 * 4096);
    let file = put_file(&*fs.root(), "f", &data);
    let mut s = Space::new(&mem);
    let at = s.map(&file, 16 * 4096, MAP_SHARED);
    s.store(at, b"written").unwrap();
    s.fault_in(at + 4096, 15);
    let mut want = data.clone();
    want[..7].copy_from_slice(b"written");
    assert_eq!(s.load(at, 16 * 4096), want);
    assert_eq!(read_at(&*file, 0, 16 * 4096), want);
    s.teardown();
}
