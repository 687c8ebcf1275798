//! madvise: dropping pages per backing, holes, locked memory, flag advice, populate, remove,
//! and the errno cases (each checked against Linux 6.18).

use super::remap::mapping_file;
use super::*;
use linux_raw_sys::general::{
    MADV_COLD, MADV_COLLAPSE, MADV_DODUMP, MADV_DOFORK, MADV_DONTDUMP, MADV_DONTFORK,
    MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_GUARD_INSTALL, MADV_HUGEPAGE,
    MADV_HWPOISON, MADV_KEEPONFORK, MADV_MERGEABLE, MADV_NOHUGEPAGE, MADV_NORMAL,
    MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_RANDOM, MADV_REMOVE, MADV_SEQUENTIAL,
    MADV_WILLNEED, MADV_WIPEONFORK,
};

const BASE: u64 = 0x10_0000;

fn advise(
    a: &mut Space,
    m: &mut FakeMachine,
    addr: u64,
    len: u64,
    advice: u32,
) -> Result<(), Errno> {
    a.madvise(addr, len, advice as i32, &mut m.platform())
}

/// `pages` populated read-write pages at BASE holding 7s.
fn filled(a: &mut Space, m: &mut FakeMachine, pages: u64, flags: u32) -> u64 {
    let x = anon(a, m, BASE, pages * PG, RW, flags | MAP_FIXED).unwrap();
    a.write_bytes(x, &vec![7; (pages * PG) as usize], &mut m.platform())
        .unwrap();
    x
}

#[test]
fn dontneed_drops_private_anonymous_pages_to_zero() {
    let (mut m, mut a) = setup(64);
    let x = filled(&mut a, &mut m, 4, PRIV);
    let used = used_frames(&m);
    assert_eq!(
        advise(&mut a, &mut m, x + PG, 2 * PG, MADV_DONTNEED),
        Ok(())
    );
    assert_eq!(used_frames(&m), used - 2, "frames freed");
    assert_eq!(read(&a, &m, x, 1), [7]);
    assert_eq!(read(&a, &m, x + PG, 1), [0]);
    assert_eq!(read(&a, &m, x + 3 * PG, 1), [7]);
    assert_eq!(a.vmas().count(), 1, "the VMA stays whole");
    touch(&mut a, &mut m, x + PG, Access::Read).unwrap();
    assert_eq!(
        read(&a, &m, x + PG, 1),
        [0],
        "a fresh zero page on the next touch"
    );
    // MADV_FREE may behave the same.
    assert_eq!(advise(&mut a, &mut m, x, PG, MADV_FREE), Ok(()));
    assert_eq!(read(&a, &m, x, 1), [0]);
    check_invariants(&a, &m, 0);
}

#[test]
fn dontneed_on_the_stack_keeps_it_growable() {
    let (mut m, mut a) = setup(64);
    let top = 0x7000_0000;
    let low = a.map_stack(top, 2 * PG, &mut m.platform()).unwrap();
    a.write_bytes(low, &[5], &mut m.platform()).unwrap();
    assert_eq!(advise(&mut a, &mut m, low, 2 * PG, MADV_DONTNEED), Ok(()));
    assert_eq!(read(&a, &m, low, 1), [0]);
    assert_eq!(a.find_vma(low).unwrap().kind(), VmaKind::Stack);
    touch(&mut a, &mut m, low - 1, Access::Write).unwrap();
    assert_eq!(a.find_vma(low - 1).unwrap().start(), low - PG);
}

#[test]
fn dontneed_rereads_a_private_file_mapping() {
    let (mut m, mut a) = setup(64);
    let file: Arc<dyn MapSource> = Arc::new(mapping_file(2));
    let x = a
        .mmap(
            MmapArgs::file(0, 2 * PG, RW, MAP_PRIVATE, file, 0),
            &mut m.platform(),
        )
        .unwrap();
    a.write_bytes(x, &[9], &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, x, 2), [9, 1]);
    assert_eq!(advise(&mut a, &mut m, x, 2 * PG, MADV_DONTNEED), Ok(()));
    assert_eq!(read(&a, &m, x, 2), [1, 1], "back to the file's bytes");
    assert_eq!(
        advise(&mut a, &mut m, x, PG, MADV_FREE),
        Err(Errno::EINVAL),
        "MADV_FREE is for anonymous memory only"
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn holes_are_enomem_after_the_rest_was_advised() {
    let (mut m, mut a) = setup(64);
    let x = filled(&mut a, &mut m, 4, PRIV);
    a.munmap(x + 2 * PG, PG, &mut m.platform()).unwrap();
    assert_eq!(
        advise(&mut a, &mut m, x, 4 * PG, MADV_DONTNEED),
        Err(Errno::ENOMEM)
    );
    assert_eq!(read(&a, &m, x, 1), [0]);
    assert_eq!(read(&a, &m, x + 3 * PG, 1), [0], "after the hole too");
    assert_eq!(
        advise(&mut a, &mut m, x + 2 * PG, PG, MADV_NORMAL),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        advise(&mut a, &mut m, x + 2 * PG, 1, MADV_NORMAL),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        advise(&mut a, &mut m, x + 2 * PG, 2 * PG, MADV_WILLNEED),
        Err(Errno::ENOMEM),
        "a hole first"
    );
    assert_eq!(
        advise(&mut a, &mut m, 0x7fff_0000_0000, PG, MADV_NORMAL),
        Err(Errno::ENOMEM)
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn locked_memory_refuses_dontneed_free_cold_but_not_dontneed_locked() {
    let (mut m, mut a) = setup(64);
    let x = filled(&mut a, &mut m, 4, PRIV);
    a.mlock(x, 2 * PG, 0, None, &mut m.platform()).unwrap();
    for advice in [MADV_DONTNEED, MADV_FREE, MADV_COLD] {
        assert_eq!(
            advise(&mut a, &mut m, x, 4 * PG, advice),
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(
        read(&a, &m, x + 3 * PG, 1),
        [7],
        "the walk stopped at the locked VMA"
    );
    assert_eq!(
        advise(&mut a, &mut m, x + 2 * PG, 2 * PG, MADV_DONTNEED),
        Ok(())
    );
    assert_eq!(
        advise(&mut a, &mut m, x, 4 * PG, MADV_DONTNEED_LOCKED),
        Ok(())
    );
    assert_eq!(read(&a, &m, x, 1), [0]);
    check_invariants(&a, &m, 0);
}

#[test]
fn errno_cases() {
    let (mut m, mut a) = setup(64);
    let x = filled(&mut a, &mut m, 2, PRIV);
    assert_eq!(advise(&mut a, &mut m, x, PG, 77), Err(Errno::EINVAL));
    assert_eq!(advise(&mut a, &mut m, x + 1, PG, 77), Err(Errno::EINVAL));
    assert_eq!(
        advise(&mut a, &mut m, 0x9000_0000, 0, 77),
        Err(Errno::EINVAL),
        "advice first"
    );
    assert_eq!(
        advise(&mut a, &mut m, x + 1, PG, MADV_NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        advise(&mut a, &mut m, x, u64::MAX, MADV_NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        advise(&mut a, &mut m, x, 0u64.wrapping_sub(PG), MADV_NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        advise(&mut a, &mut m, 0x9000_0000, 0, MADV_NORMAL),
        Ok(()),
        "len 0"
    );
    assert_eq!(
        advise(&mut a, &mut m, x, PG, MADV_GUARD_INSTALL),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        advise(&mut a, &mut m, x, PG, MADV_HWPOISON),
        Err(Errno::EPERM)
    );
    assert_eq!(
        advise(&mut a, &mut m, x, PG, MADV_COLLAPSE),
        Err(Errno::EINVAL)
    );
    for advice in [MADV_WILLNEED, MADV_COLD, MADV_MERGEABLE] {
        assert_eq!(advise(&mut a, &mut m, x, 2 * PG, advice), Ok(()));
    }
    assert_eq!(read(&a, &m, x, 1), [7], "hints keep the data");
    assert_eq!(a.resident_pages(), 2);
}

#[test]
fn flag_advice_splits_and_merges_vmas() {
    let (mut m, mut a) = setup(64);
    let x = filled(&mut a, &mut m, 4, PRIV);
    let flags_at = |a: &Space, at: u64| a.find_vma(at).unwrap().flags();
    advise(&mut a, &mut m, x + PG, PG, MADV_DONTFORK).unwrap();
    assert_eq!(a.vmas().count(), 3);
    assert!(flags_at(&a, x + PG).contains(VmaFlags::DONT_COPY));
    advise(&mut a, &mut m, x, 4 * PG, MADV_DOFORK).unwrap();
    assert_eq!(a.vmas().count(), 1, "merged back");
    advise(&mut a, &mut m, x, PG, MADV_SEQUENTIAL).unwrap();
    advise(&mut a, &mut m, x, PG, MADV_RANDOM).unwrap();
    assert!(flags_at(&a, x).contains(VmaFlags::RAND_READ));
    assert!(!flags_at(&a, x).contains(VmaFlags::SEQ_READ));
    advise(&mut a, &mut m, x, PG, MADV_NORMAL).unwrap();
    advise(&mut a, &mut m, x, PG, MADV_HUGEPAGE).unwrap();
    advise(&mut a, &mut m, x, PG, MADV_NOHUGEPAGE).unwrap();
    let f = flags_at(&a, x);
    assert!(f.contains(VmaFlags::NO_HUGEPAGE) && !f.contains(VmaFlags::HUGEPAGE));
    advise(&mut a, &mut m, x, PG, MADV_DONTDUMP).unwrap();
    assert!(flags_at(&a, x).contains(VmaFlags::DONT_DUMP));
    advise(&mut a, &mut m, x, PG, MADV_DODUMP).unwrap();
    advise(&mut a, &mut m, x, PG, MADV_WIPEONFORK).unwrap();
    advise(&mut a, &mut m, x, PG, MADV_KEEPONFORK).unwrap();
    assert_eq!(a.vmas().count(), 2, "only NOHUGEPAGE still differs");
    let s = anon(&mut a, &mut m, 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap();
    assert_eq!(
        advise(&mut a, &mut m, s, PG, MADV_WIPEONFORK),
        Err(Errno::EINVAL)
    );
    assert_eq!(read(&a, &m, x, 1), [7]);
    check_invariants(&a, &m, 0);
}

#[test]
fn populate_faults_in_or_explains_why_not() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, BASE, 3 * PG, RW, PRIV | MAP_FIXED).unwrap();
    assert_eq!(
        advise(&mut a, &mut m, x, 3 * PG, MADV_POPULATE_WRITE),
        Ok(())
    );
    assert_eq!(a.resident_pages(), 3);
    assert!(pte(&a, x).unwrap().1.contains(PteFlags::WRITABLE));
    let ro = anon(&mut a, &mut m, 0x20_0000, PG, PROT_READ, PRIV | MAP_FIXED).unwrap();
    assert_eq!(
        advise(&mut a, &mut m, ro, PG, MADV_POPULATE_WRITE),
        Err(Errno::EINVAL)
    );
    assert_eq!(advise(&mut a, &mut m, ro, PG, MADV_POPULATE_READ), Ok(()));
    let none = anon(&mut a, &mut m, 0x30_0000, PG, PROT_NONE, PRIV | MAP_FIXED).unwrap();
    assert_eq!(
        advise(&mut a, &mut m, none, PG, MADV_POPULATE_READ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        advise(&mut a, &mut m, x, 8 * PG, MADV_POPULATE_READ),
        Err(Errno::ENOMEM)
    );
    // SIGBUS (a page past the end of the file) is EFAULT.
    let file: Arc<dyn MapSource> = Arc::new(mapping_file(1));
    let f = a
        .mmap(
            MmapArgs::file(0, 2 * PG, PROT_READ, MAP_PRIVATE, file, 0),
            &mut m.platform(),
        )
        .unwrap();
    assert_eq!(
        advise(&mut a, &mut m, f, 2 * PG, MADV_POPULATE_READ),
        Err(Errno::EFAULT)
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn remove_needs_a_writable_shared_object() {
    let (mut m, mut a) = setup(64);
    let p = filled(&mut a, &mut m, 1, PRIV);
    assert_eq!(
        advise(&mut a, &mut m, p, PG, MADV_REMOVE),
        Err(Errno::EINVAL)
    );
    let file: Arc<dyn MapSource> = Arc::new(mapping_file(1));
    let f = a
        .mmap(
            MmapArgs::file(0, PG, PROT_READ, MAP_PRIVATE, file, 0),
            &mut m.platform(),
        )
        .unwrap();
    assert_eq!(
        advise(&mut a, &mut m, f, PG, MADV_REMOVE),
        Err(Errno::EACCES)
    );
    let s = anon(&mut a, &mut m, 0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap();
    a.write_bytes(s, &[3], &mut m.platform()).unwrap();
    a.write_bytes(s + PG, &[4], &mut m.platform()).unwrap();
    // DONTNEED on shared memory only drops this mapping's entries: the data stays.
    assert_eq!(advise(&mut a, &mut m, s, 2 * PG, MADV_DONTNEED), Ok(()));
    assert_eq!(read(&a, &m, s, 1), [3]);
    // REMOVE frees the object's page.
    assert_eq!(advise(&mut a, &mut m, s, PG, MADV_REMOVE), Ok(()));
    assert_eq!(read(&a, &m, s, 1), [0]);
    assert_eq!(read(&a, &m, s + PG, 1), [4]);
    assert_eq!(advise(&mut a, &mut m, s, PG, MADV_FREE), Err(Errno::EINVAL));
    // One frame is held by the object only (page 1, no longer mapped).
    check_invariants(&a, &m, 1);
}
