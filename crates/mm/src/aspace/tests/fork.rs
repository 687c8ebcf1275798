//! fork_copy: copy-on-write private memory, shared memory staying shared, DONTFORK,
//! WIPEONFORK, lock state, and failure.

use super::*;
use linux_raw_sys::general::{MADV_DONTFORK, MADV_WIPEONFORK};

const BASE: u64 = 0x10_0000;

fn fork(a: &mut Space, m: &mut FakeMachine) -> Space {
    a.fork_copy(FakePageTable::new(), &mut m.platform())
        .expect("enough memory to fork")
}

#[test]
fn private_pages_are_shared_copy_on_write() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, BASE, 2 * PG, RW, PRIV | MAP_FIXED).unwrap();
    a.write_bytes(x, b"parent", &mut m.platform()).unwrap();
    a.write_bytes(x + PG, b"two", &mut m.platform()).unwrap();
    a.init_brk(0x20_0000);
    let mut c = fork(&mut a, &mut m);
    assert_eq!(
        m.tlb.full_flushes(),
        1,
        "the parent's write-protected entries are flushed"
    );
    let (pf, pflags) = pte(&a, x).unwrap();
    let (cf, cflags) = pte(&c, x).unwrap();
    assert_eq!(pf, cf);
    assert_eq!(m.frames.ref_count(pf), Some(2));
    assert!(!pflags.contains(PteFlags::WRITABLE) && !cflags.contains(PteFlags::WRITABLE));
    assert_eq!(c.brk_range(), a.brk_range());
    check_spaces(&[&a, &c], &m, 0);

    // The child writes: it gets a copy; the parent keeps the original.
    c.handle_fault(x, Access::Write, &mut m.platform()).unwrap();
    c.write_bytes(x, b"child!", &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, x, 6), b"parent");
    assert_eq!(read(&c, &m, x, 6), b"child!");
    assert_eq!(m.frames.ref_count(pf), Some(1));
    // Now alone with its frame, the parent's write fault just restores the write bit.
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    assert_eq!(pte(&a, x).unwrap().0, pf);
    assert_eq!(read(&c, &m, x + PG, 3), b"two");
    check_spaces(&[&a, &c], &m, 0);

    c.teardown(&mut m.platform());
    check_invariants(&a, &m, 0);
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn shared_memory_stays_shared() {
    let (mut m, mut a) = setup(64);
    let s = anon(&mut a, &mut m, 0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap();
    a.write_bytes(s, b"a", &mut m.platform()).unwrap();
    let mut c = fork(&mut a, &mut m);
    assert_eq!(pte(&c, s), None, "shared entries are not copied");
    assert_eq!(read(&c, &m, s, 1), b"a");
    touch(&mut c, &mut m, s, Access::Write).unwrap();
    assert_eq!(
        pte(&c, s).unwrap().0,
        pte(&a, s).unwrap().0,
        "the object's frame, no copy"
    );
    c.write_bytes(s, b"b", &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, s, 1), b"b");
    // A page first touched after the fork is shared too: it comes from the object.
    c.write_bytes(s + PG, b"c", &mut m.platform()).unwrap();
    touch(&mut a, &mut m, s + PG, Access::Read).unwrap();
    assert_eq!(read(&a, &m, s + PG, 1), b"c");
    assert_eq!(pte(&a, s + PG).unwrap().0, pte(&c, s + PG).unwrap().0);
    check_spaces(&[&a, &c], &m, 0);
    a.teardown(&mut m.platform());
    assert_eq!(
        read(&c, &m, s, 1),
        b"b",
        "the object lives while the child maps it"
    );
    c.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn dontfork_wipeonfork_and_locks() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, BASE, 3 * PG, RW, PRIV | MAP_FIXED).unwrap();
    a.write_bytes(x, &[1; 3 * PAGE_SIZE], &mut m.platform())
        .unwrap();
    a.madvise(x, PG, MADV_DONTFORK as i32, &mut m.platform())
        .unwrap();
    a.madvise(x + PG, PG, MADV_WIPEONFORK as i32, &mut m.platform())
        .unwrap();
    a.mlock(x + 2 * PG, PG, 0, None, &mut m.platform()).unwrap();
    let c = fork(&mut a, &mut m);
    assert!(c.find_vma(x).is_none(), "MADV_DONTFORK");
    assert_eq!(read(&c, &m, x + PG, 1), [0], "MADV_WIPEONFORK");
    assert_eq!(read(&a, &m, x + PG, 1), [1]);
    let v = c.find_vma(x + 2 * PG).unwrap();
    assert!(
        !v.flags().contains(VmaFlags::LOCKED),
        "locks are not inherited"
    );
    assert_eq!(read(&c, &m, x + 2 * PG, 1), [1]);
    check_spaces(&[&a, &c], &m, 0);
    c.teardown(&mut m.platform());
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn private_file_pages_and_prot_none_are_shared_too() {
    let (mut m, mut a) = setup(64);
    let file: Arc<dyn MapSource> = Arc::new(super::remap::mapping_file(2));
    let f = a
        .mmap(
            MmapArgs::file(0, 2 * PG, RW, MAP_PRIVATE, file, 0),
            &mut m.platform(),
        )
        .unwrap();
    a.write_bytes(f, &[9], &mut m.platform()).unwrap();
    touch(&mut a, &mut m, f + PG, Access::Read).unwrap();
    let n = anon(&mut a, &mut m, BASE, PG, RW, PRIV | MAP_FIXED).unwrap();
    a.write_bytes(n, &[5], &mut m.platform()).unwrap();
    a.mprotect(n, PG, PROT_NONE, &mut m.platform()).unwrap();
    let mut c = fork(&mut a, &mut m);
    assert_eq!(read(&c, &m, f, 2), [9, 1]);
    // After mprotect in the child the shared frame still may not be written in place.
    c.mprotect(n, PG, RW, &mut m.platform()).unwrap();
    assert!(!pte(&c, n).unwrap().1.contains(PteFlags::WRITABLE));
    c.write_bytes(n, &[6], &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, n, 1), [5]);
    check_spaces(&[&a, &c], &m, 0);
    c.teardown(&mut m.platform());
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 64);
}

#[test]
fn out_of_memory_gives_the_page_table_back() {
    let (mut m, mut a) = setup(16);
    let x = anon(
        &mut a,
        &mut m,
        BASE,
        4 * PG,
        RW,
        PRIV | MAP_FIXED | MAP_POPULATE,
    )
    .unwrap();
    let y = anon(
        &mut a,
        &mut m,
        0x4000_0000,
        PG,
        RW,
        PRIV | MAP_FIXED | MAP_POPULATE,
    )
    .unwrap();
    // Leave too few frames for the child's tables (it needs five).
    while m.frames.free_frames() > 3 {
        m.frames.allocate(0).unwrap();
    }
    let hogged = m.frames.total_frames() - m.frames.free_frames() - used_by(&a);
    let err = a
        .fork_copy(FakePageTable::new(), &mut m.platform())
        .unwrap_err();
    assert_eq!(
        err.page_table.table_frames(),
        0,
        "the child's tables were released"
    );
    assert_eq!(Errno::from(err), Errno::ENOMEM);
    check_invariants(&a, &m, hogged);
    assert_eq!(read(&a, &m, y, 1), [0]);
    // The parent still works: a write restores its write bit (it is alone again).
    a.write_bytes(x, &[1], &mut m.platform()).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    check_invariants(&a, &m, hogged);
}

fn used_by(a: &Space) -> usize {
    a.resident_pages() + a.page_table().table_frames()
}
