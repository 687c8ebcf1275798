//! MAP_SHARED: anonymous shared memory, and file mappings over a fake page cache (dirty
//! tracking, msync, coherence with read/write, EACCES/ENODEV).

use super::remap::mapping_file;
use super::*;
use crate::fake::{FakeFile, FakePageCache};
use crate::shared::SharedMapSource;
use crate::vma::MapIdentity;
use linux_raw_sys::general::{MADV_REMOVE, MREMAP_MAYMOVE, MS_ASYNC, MS_SYNC};

fn shared_anon(a: &mut Space, m: &mut FakeMachine, pages: u64) -> u64 {
    anon(a, m, 0, pages * PG, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap()
}

#[test]
fn shared_anonymous_views_share_frames() {
    let (mut m, mut a) = setup(64);
    let s = shared_anon(&mut a, &mut m, 2);
    assert!(a.find_vma(s).unwrap().flags().contains(VmaFlags::SHARED));
    // mremap with old size 0 makes a second view of the same object.
    let t = a
        .mremap(s, 0, 2 * PG, MREMAP_MAYMOVE as u64, 0, &mut m.platform())
        .unwrap();
    assert_ne!(s, t);
    touch(&mut a, &mut m, s, Access::Write).unwrap();
    a.write_bytes(s, b"hi", &mut m.platform()).unwrap();
    touch(&mut a, &mut m, t, Access::Read).unwrap();
    assert_eq!(read(&a, &m, t, 2), b"hi");
    assert_eq!(pte(&a, s).unwrap().0, pte(&a, t).unwrap().0, "one frame");
    assert!(
        pte(&a, t).unwrap().1.contains(PteFlags::WRITABLE),
        "no copy-on-write"
    );
    a.write_bytes(t + PG, b"x", &mut m.platform()).unwrap();
    assert_eq!(
        read(&a, &m, s + PG, 1),
        b"x",
        "seen before the other view touches it"
    );
    check_invariants(&a, &m, 0);
    a.munmap(s, 2 * PG, &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, t, 2), b"hi", "the object outlives one view");
    a.munmap(t, 2 * PG, &mut m.platform()).unwrap();
    check_invariants(&a, &m, 0);
    assert_eq!(
        used_frames(&m),
        a.page_table().table_frames(),
        "the last unmap frees the object's pages"
    );
}

#[test]
fn shared_anonymous_memory_grown_is_sigbus_past_its_size() {
    let (mut m, mut a) = setup(64);
    let s = shared_anon(&mut a, &mut m, 1);
    a.write_bytes(s, &[3], &mut m.platform()).unwrap();
    let t = a
        .mremap(s, PG, 3 * PG, MREMAP_MAYMOVE as u64, 0, &mut m.platform())
        .unwrap();
    assert_eq!(read(&a, &m, t, 1), [3]);
    let e = touch(&mut a, &mut m, t + 2 * PG, Access::Read).unwrap_err();
    assert_eq!(
        (e.kind, e.signal()),
        (FaultKind::Bus, linux_raw_sys::general::SIGBUS)
    );
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 64);
}

fn page_cache(pages: usize) -> Arc<FakePageCache> {
    let contents = (0..pages * PAGE_SIZE)
        .map(|i| (i / PAGE_SIZE + 1) as u8)
        .collect();
    FakePageCache::new(
        contents,
        MapIdentity {
            dev_major: 8,
            dev_minor: 1,
            inode: 42,
            path: "/data/file".into(),
        },
    )
}

fn map_file(
    a: &mut Space,
    m: &mut FakeMachine,
    file: Arc<dyn MapSource>,
    len: u64,
    prot: u32,
    flags: u32,
) -> Result<u64, Errno> {
    a.mmap(
        MmapArgs::file(0, len, prot, flags, file, 0),
        &mut m.platform(),
    )
}

#[test]
fn shared_file_pages_are_the_page_cache_and_writes_are_tracked() {
    let (mut m, mut a) = setup(64);
    let cache = page_cache(2);
    let x = map_file(
        &mut a,
        &mut m,
        FakeFile::open(&cache, true),
        2 * PG,
        RW,
        MAP_SHARED,
    )
    .unwrap();
    touch(&mut a, &mut m, x, Access::Read).unwrap();
    let (frame, flags) = pte(&a, x).unwrap();
    assert!(cache.is_resident(0));
    assert_eq!(
        m.frames.ref_count(frame),
        Some(2),
        "the cache's and the mapping's"
    );
    assert!(
        !flags.contains(PteFlags::WRITABLE),
        "clean pages start read-only"
    );
    assert!(cache.dirty_pages().is_empty());
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    assert!(pte(&a, x).unwrap().1.contains(PteFlags::WRITABLE));
    assert_eq!(cache.dirty_pages(), [0], "page_mkwrite on the first write");
    // A store through the mapping is what read(2) sees, before any msync.
    m.bytes.write(frame, 0, b"new");
    assert_eq!(cache.read_bytes(0, 3, &m.bytes), b"new");
    assert_eq!(&cache.disk()[..3], [1, 1, 1], "not on disk yet");
    // write(2) is what the mapping sees.
    cache.write(PG, b"w2", &m.bytes);
    touch(&mut a, &mut m, x + PG, Access::Read).unwrap();
    assert_eq!(read(&a, &m, x + PG, 2), b"w2");
    check_invariants(&a, &m, 0);

    // MS_ASYNC writes nothing; MS_SYNC writes back and re-arms the tracking.
    let p = a
        .msync(x, 2 * PG, MS_ASYNC as i32, &mut m.platform())
        .unwrap();
    assert_eq!(p.ranges(), 0);
    p.finish(&m.bytes).unwrap();
    let p = a
        .msync(x, 2 * PG, MS_SYNC as i32, &mut m.platform())
        .unwrap();
    assert!(
        !pte(&a, x).unwrap().1.contains(PteFlags::WRITABLE),
        "write-protected again"
    );
    p.finish(&m.bytes).unwrap();
    assert_eq!(cache.syncs(), [(0, 2 * PG)]);
    assert_eq!(&cache.disk()[..3], b"new");
    assert!(cache.dirty_pages().is_empty());
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    assert_eq!(cache.dirty_pages(), [0], "the next write is noticed");

    a.munmap(x, 2 * PG, &mut m.platform()).unwrap();
    cache.evict_all(&mut m.frames);
    check_invariants(&a, &m, 0);
    assert_eq!(used_frames(&m), a.page_table().table_frames());
}

#[test]
fn private_file_reads_share_the_page_cache_and_writes_copy() {
    let (mut m, mut a) = setup(64);
    let cache = page_cache(2);
    let x = map_file(
        &mut a,
        &mut m,
        FakeFile::open(&cache, false),
        2 * PG,
        RW,
        MAP_PRIVATE,
    )
    .unwrap();
    touch(&mut a, &mut m, x, Access::Read).unwrap();
    let (frame, flags) = pte(&a, x).unwrap();
    assert!(
        cache.is_resident(0),
        "the read brought the page into the cache"
    );
    assert_eq!(
        m.frames.ref_count(frame),
        Some(2),
        "the cache's and the mapping's"
    );
    assert!(
        !flags.contains(PteFlags::WRITABLE),
        "shared with the cache: read-only"
    );
    // Until this mapping writes, write(2) to the file shows through it (as on Linux).
    cache.write(0, b"w1", &m.bytes);
    assert_eq!(read(&a, &m, x, 2), b"w1");
    check_invariants(&a, &m, 0);

    touch(&mut a, &mut m, x, Access::Write).unwrap();
    let (copy, flags) = pte(&a, x).unwrap();
    assert_ne!(copy, frame, "the first write copies");
    assert!(flags.contains(PteFlags::WRITABLE));
    assert_eq!(
        m.frames.ref_count(frame),
        Some(1),
        "only the cache holds the original"
    );
    m.bytes.write(copy, 0, b"mine");
    assert_eq!(read(&a, &m, x, 4), b"mine");
    assert_eq!(
        cache.read_bytes(0, 2, &m.bytes),
        b"w1",
        "the file is untouched"
    );
    assert!(
        cache.dirty_pages().is_empty(),
        "a private write dirties nothing"
    );
    check_invariants(&a, &m, 1); // the cache's page, mapped nowhere now

    a.munmap(x, 2 * PG, &mut m.platform()).unwrap();
    cache.evict_all(&mut m.frames);
    check_invariants(&a, &m, 0);
    assert_eq!(
        used_frames(&m),
        a.page_table().table_frames(),
        "nothing leaked"
    );
}

#[test]
fn kernel_writes_to_a_shared_file_page_dirty_it() {
    let (mut m, mut a) = setup(64);
    let cache = page_cache(1);
    let x = map_file(
        &mut a,
        &mut m,
        FakeFile::open(&cache, true),
        PG,
        RW,
        MAP_SHARED,
    )
    .unwrap();
    a.write_bytes(x, b"k", &mut m.platform()).unwrap();
    assert_eq!(cache.dirty_pages(), [0]);
    assert_eq!(cache.read_bytes(0, 1, &m.bytes), b"k");
    a.teardown(&mut m.platform());
    cache.evict_all(&mut m.frames);
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn shared_file_permissions_and_errors() {
    let (mut m, mut a) = setup(64);
    let cache = page_cache(1);
    let ro = FakeFile::open(&cache, false);
    assert_eq!(
        map_file(&mut a, &mut m, ro.clone(), PG, RW, MAP_SHARED),
        Err(Errno::EACCES),
        "PROT_WRITE on a file opened read-only"
    );
    let x = map_file(&mut a, &mut m, ro.clone(), PG, PROT_READ, MAP_SHARED).unwrap();
    let v = a.find_vma(x).unwrap();
    assert!(v.flags().contains(VmaFlags::SHARED) && !v.flags().contains(VmaFlags::MAY_WRITE));
    assert_eq!(a.mprotect(x, PG, RW, &mut m.platform()), Err(Errno::EACCES));
    assert_eq!(
        a.madvise(x, PG, MADV_REMOVE as i32, &mut m.platform()),
        Err(Errno::EACCES)
    );
    // A private mapping of the same file may be written.
    let p = map_file(&mut a, &mut m, ro, PG, RW, MAP_PRIVATE).unwrap();
    a.write_bytes(p, b"p", &mut m.platform()).unwrap();
    assert_eq!(
        cache.read_bytes(0, 1, &m.bytes),
        [1],
        "private writes stay private"
    );
    // Past the end of the file: SIGBUS.
    let y = map_file(
        &mut a,
        &mut m,
        FakeFile::open(&cache, true),
        2 * PG,
        RW,
        MAP_SHARED,
    )
    .unwrap();
    assert_eq!(
        touch(&mut a, &mut m, y + PG, Access::Read)
            .unwrap_err()
            .kind,
        FaultKind::Bus
    );
    // A file without a page cache cannot be mapped shared.
    let plain: Arc<dyn MapSource> = Arc::new(mapping_file(1));
    assert_eq!(
        map_file(&mut a, &mut m, plain, PG, PROT_READ, MAP_SHARED),
        Err(Errno::ENODEV)
    );
    a.teardown(&mut m.platform());
    cache.evict_all(&mut m.frames);
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn madv_remove_punches_a_hole_in_the_file() {
    let (mut m, mut a) = setup(64);
    let cache = page_cache(2);
    let x = map_file(
        &mut a,
        &mut m,
        FakeFile::open(&cache, true),
        2 * PG,
        RW,
        MAP_SHARED,
    )
    .unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    assert_eq!(
        a.madvise(x, PG, MADV_REMOVE as i32, &mut m.platform()),
        Ok(())
    );
    assert_eq!(read(&a, &m, x, 1), [0]);
    assert_eq!(read(&a, &m, x + PG, 1), [2]);
    assert_eq!(cache.disk()[0], 0);
    a.teardown(&mut m.platform());
    cache.evict_all(&mut m.frames);
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn unmapping_an_object_beyond_an_offset_leaves_the_rest_and_other_objects() {
    let (mut m, mut a) = setup(64);
    let cache = page_cache(4);
    let other = page_cache(4);
    let file = FakeFile::open(&cache, true);
    // A shared view at offset 0, a private one at offset PG (one page written privately),
    // and a shared view of another file.
    let x = map_file(&mut a, &mut m, file.clone(), 4 * PG, RW, MAP_SHARED).unwrap();
    let y = a
        .mmap(
            MmapArgs::file(0, 3 * PG, RW, MAP_PRIVATE, file, PG),
            &mut m.platform(),
        )
        .unwrap();
    let z = map_file(
        &mut a,
        &mut m,
        FakeFile::open(&other, true),
        4 * PG,
        RW,
        MAP_SHARED,
    )
    .unwrap();
    for i in 0..4 {
        touch(&mut a, &mut m, x + i * PG, Access::Write).unwrap();
        touch(&mut a, &mut m, z + i * PG, Access::Read).unwrap();
    }
    for i in 0..3 {
        touch(&mut a, &mut m, y + i * PG, Access::Read).unwrap();
    }
    touch(&mut a, &mut m, y + 2 * PG, Access::Write).unwrap();
    let resident = a.resident_pages();
    // The object shrank to 2 pages.
    a.unmap_object_beyond(cache.object_id(), 2 * PG, &mut m.platform());
    assert!(pte(&a, x + PG).is_some() && pte(&a, y).is_some());
    assert!(pte(&a, x + 2 * PG).is_none() && pte(&a, x + 3 * PG).is_none());
    assert!(
        pte(&a, y + PG).is_none() && pte(&a, y + 2 * PG).is_none(),
        "private copies past the end go too"
    );
    assert!(
        (0..4).all(|i| pte(&a, z + i * PG).is_some()),
        "another object"
    );
    assert_eq!(a.resident_pages(), resident - 4);
    assert!(a.find_vma(x + 3 * PG).is_some(), "the mappings stay");
    check_invariants(&a, &m, 2); // the cache's pages 2 and 3, mapped nowhere now
    a.teardown(&mut m.platform());
    cache.evict_all(&mut m.frames);
    other.evict_all(&mut m.frames);
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn write_protecting_an_object_covers_only_its_shared_range_in_this_address_space() {
    let (mut m, mut a) = setup(64);
    let cache = page_cache(4);
    let other = page_cache(2);
    // A shared view of pages 1..4 and one of another file, every page written.
    let x = a
        .mmap(
            MmapArgs::file(0, 3 * PG, RW, MAP_SHARED, FakeFile::open(&cache, true), PG),
            &mut m.platform(),
        )
        .unwrap();
    let z = map_file(
        &mut a,
        &mut m,
        FakeFile::open(&other, true),
        2 * PG,
        RW,
        MAP_SHARED,
    )
    .unwrap();
    for i in 0..3 {
        touch(&mut a, &mut m, x + i * PG, Access::Write).unwrap();
    }
    for i in 0..2 {
        touch(&mut a, &mut m, z + i * PG, Access::Write).unwrap();
    }
    let writable = |a: &Space, at: u64| pte(a, at).unwrap().1.contains(PteFlags::WRITABLE);
    // Another address space's msync of the object's pages 2 and 3: x + PG and x + 2 * PG.
    a.write_protect_object(cache.object_id(), 2 * PG, 2 * PG, &mut m.platform());
    assert!(writable(&a, x), "page 1 is outside the range");
    assert!(!writable(&a, x + PG) && !writable(&a, x + 2 * PG));
    assert!(writable(&a, z) && writable(&a, z + PG), "another object");
    // The next write through the protected entry is noticed again.
    let p = a
        .msync(x, 3 * PG, MS_SYNC as i32, &mut m.platform())
        .unwrap();
    p.finish(&m.bytes).unwrap();
    assert!(cache.dirty_pages().is_empty());
    touch(&mut a, &mut m, x + PG, Access::Write).unwrap();
    assert_eq!(cache.dirty_pages(), [2 * PG]);
    a.teardown(&mut m.platform());
    cache.evict_all(&mut m.frames);
    other.evict_all(&mut m.frames);
    assert_eq!(m.frames.free_frames(), 64);
}
