//! The size limits (`size=`, `nr_inodes=`): what charges them, what gives them back, and what
//! statfs(2) shows, as on Linux's tmpfs.

use super::*;
use crate::tmpfs::memory::HeapMemory;
use linux_raw_sys::general::{FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE};
use oxv_mm::{FrameSource, PageError};

const PAGE: usize = 4096;

/// A tmpfs on its own heap memory with `blocks` pages and `inodes` inodes (0: no limit).
fn limited(blocks: u64, inodes: u64) -> (Arc<Tmpfs>, Arc<HeapMemory>) {
    let mem = Arc::new(HeapMemory::new());
    let fs = Tmpfs::with_limits(
        DeviceId::new(0, 9),
        0o1777,
        t(1),
        mem.clone(),
        TmpfsLimits { blocks, inodes },
    );
    (fs, mem)
}

fn file(fs: &Tmpfs, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
    fs.root().create(name, NewNode::Regular, &attrs(0o644, 2))
}

fn try_write(n: &Arc<dyn Inode>, at: u64, data: &[u8]) -> Result<usize, Errno> {
    n.write_at(WritePos::At(at), &WriteBuf::kernel(data), t(5))
        .map(|w| w.count)
}

fn used_blocks(fs: &Tmpfs) -> u64 {
    fs.usage().blocks
}

#[test]
fn a_write_past_the_limit_is_short_then_enospc() {
    let (fs, mem) = limited(4, 0);
    let f = file(&fs, b"f").unwrap();
    assert_eq!(try_write(&f, 100, &[1; 5 * PAGE]), Ok(4 * PAGE - 100));
    assert_eq!(try_write(&f, 4 * PAGE as u64, b"x"), Err(Errno::ENOSPC));
    // Rewriting pages the file has costs nothing.
    assert_eq!(try_write(&f, 0, &[2; PAGE]), Ok(PAGE));
    assert_eq!((used_blocks(&fs), mem.frames()), (4, 4));
    assert_eq!(f.metadata().size, 4 * PAGE as u64);
}

#[test]
fn growing_by_truncate_is_free_and_writing_into_it_charges() {
    let (fs, _) = limited(3, 0);
    let f = file(&fs, b"f").unwrap();
    let size = |len| SetAttr {
        size: Some(len),
        ctime: t(7),
        ..SetAttr::default()
    };
    f.set_attr(&size(1 << 40)).unwrap();
    assert_eq!(used_blocks(&fs), 0, "a hole costs nothing");
    for page in [7u64, 1 << 20, 5] {
        assert_eq!(try_write(&f, page * PAGE as u64, b"abc"), Ok(3));
    }
    assert_eq!(try_write(&f, 9 * PAGE as u64, b"abc"), Err(Errno::ENOSPC));
    f.set_attr(&size(6 * PAGE as u64)).unwrap();
    assert_eq!(
        used_blocks(&fs),
        1,
        "truncation gave back the pages past the end"
    );
    assert_eq!(try_write(&f, 0, &[1; 2 * PAGE]), Ok(2 * PAGE));
}

#[test]
fn fallocate_past_the_limit_fails_at_once_and_takes_nothing() {
    let (fs, mem) = limited(8, 0);
    let f = file(&fs, b"f").unwrap();
    try_write(&f, 0, &[1; PAGE]).unwrap();
    let huge = 64 << 50;
    assert_eq!(f.allocate(0, 0, huge, t(3)), Err(Errno::ENOSPC));
    assert_eq!(f.allocate(0, 0, 9 * PAGE as u64, t(3)), Err(Errno::ENOSPC));
    assert_eq!((used_blocks(&fs), mem.frames()), (1, 1));
    assert_eq!(f.metadata().size, PAGE as u64, "the size is unchanged");
    // Exactly the room left (the page it has counts once).
    assert_eq!(f.allocate(0, 0, 8 * PAGE as u64, t(3)), Ok(()));
    assert_eq!(used_blocks(&fs), 8);
    assert_eq!(read_all(&f)[..2], [1, 1], "the data already there stays");
}

/// Heap memory that gives out `budget` more frames and then none, without saying so in
/// advance (no [`FileMemory::spare_pages`]): RAM that runs out while a call is under way.
struct RunningOut {
    heap: HeapMemory,
    budget: spin::Mutex<usize>,
}

impl FileMemory for RunningOut {
    fn allocate(&self) -> Option<oxv_mm::PhysFrame> {
        let mut left = self.budget.lock();
        *left = left.checked_sub(1)?;
        self.heap.allocate()
    }
    fn release(&self, frame: oxv_mm::PhysFrame) {
        self.heap.release(frame)
    }
    fn bytes(&self) -> &dyn oxv_mm::FrameBytes {
        self.heap.bytes()
    }
}

#[test]
fn a_fallocate_that_runs_out_part_way_gives_back_what_it_took() {
    let mem = Arc::new(RunningOut {
        heap: HeapMemory::new(),
        budget: spin::Mutex::new(3),
    });
    let fs = Tmpfs::with_limits(
        DeviceId::new(0, 9),
        0o1777,
        t(1),
        mem.clone(),
        TmpfsLimits::UNLIMITED,
    );
    let f = file(&fs, b"f").unwrap();
    try_write(&f, PAGE as u64, b"keep").unwrap();
    // Pages 0, 2 and 3 are missing; 0 and 2 are taken, 3 finds no memory.
    assert_eq!(f.allocate(0, 0, 4 * PAGE as u64, t(3)), Err(Errno::ENOSPC));
    assert_eq!(mem.heap.frames(), 1, "the pages this call took went back");
    assert_eq!(used_blocks(&fs), 1);
    assert_eq!(f.metadata().size, PAGE as u64 + 4, "the size is unchanged");
    assert_eq!(
        f.seek_data(0, true),
        Some(PAGE as u64),
        "page 0 is a hole again"
    );
    assert_eq!(read_all(&f)[PAGE..], *b"keep");
}

#[test]
fn an_unlimited_tmpfs_refuses_more_than_ram_or_than_ram_can_spare() {
    // Two tmpfs share 4 frames of "RAM"; the other one holds 2 of them.
    let mem = Arc::new(HeapMemory::with_limit(4));
    let mk = || {
        Tmpfs::with_limits(
            DeviceId::new(0, 9),
            0o1777,
            t(1),
            mem.clone(),
            TmpfsLimits::UNLIMITED,
        )
    };
    let (a, b) = (mk(), mk());
    try_write(&file(&b, b"hog").unwrap(), 0, &[1; 2 * PAGE]).unwrap();
    let f = file(&a, b"f").unwrap();
    assert_eq!(f.allocate(0, 0, 64 << 50, t(3)), Err(Errno::ENOSPC));
    assert_eq!(f.allocate(0, 0, 3 * PAGE as u64, t(3)), Err(Errno::ENOSPC));
    assert_eq!(
        (mem.frames(), used_blocks(&a)),
        (2, 0),
        "refused before taking any"
    );
    assert_eq!(f.allocate(0, 0, 2 * PAGE as u64, t(3)), Ok(()));
    assert_eq!(used_blocks(&a), 2);
}

#[test]
fn a_fault_that_needs_a_page_past_the_limit_is_sigbus() {
    let (fs, mem) = limited(1, 0);
    let f = file(&fs, b"f").unwrap();
    f.allocate(FALLOC_FL_KEEP_SIZE, 0, 0, t(3)).unwrap();
    f.set_attr(&SetAttr {
        size: Some(2 * PAGE as u64),
        ctime: t(7),
        ..SetAttr::default()
    })
    .unwrap();
    let cache = f.page_cache().expect("a regular file");
    let mut frames = &*mem;
    let first = cache.get_page(0, &mut frames, mem.bytes()).unwrap();
    assert_eq!(
        cache.get_page(PAGE as u64, &mut frames, mem.bytes()),
        Err(PageError::Io),
        "no room: SIGBUS"
    );
    assert_eq!(used_blocks(&fs), 1);
    FrameSource::release(&mut frames, first).unwrap();
}

#[test]
fn punching_truncating_and_the_last_close_give_pages_back() {
    let (fs, mem) = limited(16, 0);
    let f = file(&fs, b"f").unwrap();
    try_write(&f, 0, &[1; 8 * PAGE]).unwrap();
    f.allocate(
        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
        100,
        3 * PAGE as u64,
        t(3),
    )
    .unwrap();
    assert_eq!(used_blocks(&fs), 6, "pages 1 and 2 went");
    f.page_cache()
        .unwrap()
        .punch_hole(4 * PAGE as u64, PAGE as u64, &mut &*mem)
        .unwrap();
    assert_eq!(used_blocks(&fs), 5, "MADV_REMOVE too");
    fs.root().unlink(b"f", t(4)).unwrap();
    assert_eq!(used_blocks(&fs), 5, "an open file keeps its pages");
    drop(f);
    assert_eq!((used_blocks(&fs), mem.frames()), (0, 0));
    assert_eq!(fs.usage().inodes, 1, "only the root is left");
}

#[test]
fn inodes_and_extra_links_count_against_nr_inodes() {
    let (fs, _) = limited(0, 3);
    assert_eq!(fs.usage().inodes, 1, "the root");
    let a = file(&fs, b"a").unwrap();
    fs.root()
        .create(b"d", NewNode::Directory, &attrs(0o755, 2))
        .unwrap();
    assert_eq!(file(&fs, b"b").err(), Some(Errno::ENOSPC));
    fs.root().rmdir(b"d", t(3)).unwrap();
    fs.root().link(b"a2", &*a, t(3)).unwrap();
    assert_eq!(
        fs.usage().inodes,
        3,
        "a link counts as Linux's shmem_link counts it"
    );
    assert_eq!(fs.root().link(b"a3", &*a, t(3)), Err(Errno::ENOSPC));
    fs.root().unlink(b"a", t(4)).unwrap();
    assert_eq!(fs.usage().inodes, 2, "the extra link went");
    fs.root().unlink(b"a2", t(4)).unwrap();
    assert_eq!(fs.usage().inodes, 2, "the inode is open still");
    drop(a);
    assert_eq!(fs.usage().inodes, 1);
    assert!(file(&fs, b"b").is_ok());
}

#[test]
fn statfs_shows_the_limits_and_what_is_free() {
    let (fs, _) = limited(256, 10);
    let s = fs.stats();
    assert_eq!(s.magic, linux_raw_sys::general::TMPFS_MAGIC as u64);
    assert_eq!(s.block_size, 4096);
    assert_eq!(
        (
            s.blocks,
            s.free_blocks,
            s.avail_blocks,
            s.files,
            s.free_files
        ),
        (256, 256, 256, 10, 9)
    );
    let f = file(&fs, b"f").unwrap();
    try_write(&f, 0, &[1; 2 * PAGE + 1]).unwrap();
    let s = fs.stats();
    assert_eq!(
        (
            s.blocks,
            s.free_blocks,
            s.avail_blocks,
            s.files,
            s.free_files
        ),
        (256, 253, 253, 10, 8)
    );
    let (unlimited, _) = limited(0, 0);
    let s = unlimited.stats();
    assert_eq!(
        (s.blocks, s.free_blocks, s.files, s.free_files),
        (0, 0, 0, 0)
    );
}

#[test]
fn the_default_is_half_of_ram() {
    let mem = Arc::new(HeapMemory::with_limit(1000));
    let fs = Tmpfs::with_memory(DeviceId::new(0, 9), 0o1777, t(1), mem);
    let limits = fs.usage().limits;
    assert_eq!((limits.blocks, limits.inodes), (500, 500));
    assert_eq!(fs.ram_pages(), Some(1000));
    let heap = Tmpfs::new(DeviceId::new(0, 9), t(1));
    assert_eq!(
        heap.usage().limits,
        TmpfsLimits::UNLIMITED,
        "RAM unknown: no limit"
    );
}

#[test]
fn a_remount_cannot_shrink_below_use_or_limit_the_unlimited() {
    let (fs, _) = limited(8, 8);
    let f = file(&fs, b"f").unwrap();
    try_write(&f, 0, &[1; 3 * PAGE]).unwrap();
    assert_eq!(fs.reconfigure(Some(2), None), Err(Errno::EINVAL));
    assert_eq!(fs.reconfigure(Some(4), Some(1)), Err(Errno::EINVAL));
    assert_eq!(
        fs.usage().limits,
        TmpfsLimits {
            blocks: 8,
            inodes: 8
        },
        "nothing changed"
    );
    assert_eq!(fs.reconfigure(Some(3), Some(2)), Ok(()));
    assert_eq!(try_write(&f, 3 * PAGE as u64, b"x"), Err(Errno::ENOSPC));
    assert_eq!(file(&fs, b"g").err(), Some(Errno::ENOSPC));
    assert_eq!(
        fs.reconfigure(Some(0), None),
        Ok(()),
        "size=0 lifts the limit"
    );
    assert_eq!(try_write(&f, 3 * PAGE as u64, b"x"), Ok(1));
    assert_eq!(
        fs.reconfigure(Some(100), None),
        Err(Errno::EINVAL),
        "cannot retroactively limit size"
    );
}
