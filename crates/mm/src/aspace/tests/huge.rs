//! 2 MiB pages: when faults map them, placement, splitting on partial munmap/mprotect/
//! MADV_DONTNEED, copy-on-write after fork, and mremap.

use super::*;
use crate::addr::{HUGE_PAGE_PAGES, HUGE_PAGE_SIZE_U64 as HP};
use linux_raw_sys::general::{
    MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MREMAP_FIXED, MREMAP_MAYMOVE,
};

/// A machine with room for a few huge blocks and an address space whose page table maps
/// them, in `mode`.
fn setup_huge(mode: ThpMode) -> (FakeMachine, Space) {
    let mut config = AddressSpaceConfig::new(MMAP_BASE);
    config.thp = mode;
    (
        FakeMachine::new(4096),
        AddressSpace::new(FakePageTable::with_huge(), config),
    )
}

fn huge_count(a: &Space) -> usize {
    a.page_table().huge_entries().count()
}

#[test]
fn a_fault_in_an_aligned_range_maps_a_huge_page() {
    let (mut m, mut a) = setup_huge(ThpMode::Always);
    let x = anon(&mut a, &mut m, 0, 2 * HP, RW, PRIV).unwrap();
    assert_eq!(x % HP, 0, "2 MiB multiples are placed 2 MiB aligned");
    touch(&mut a, &mut m, x + HP + 5 * PG, Access::Write).unwrap();
    assert_eq!((huge_count(&a), a.resident_pages()), (1, HUGE_PAGE_PAGES));
    assert_eq!(read(&a, &m, x + HP + 5 * PG, 4), [0; 4], "zeroed");
    a.write_bytes(x + HP + 7, b"big", &mut m.platform())
        .unwrap();
    assert_eq!(read(&a, &m, x + HP + 7, 3), b"big");
    // A read fault maps one too.
    touch(&mut a, &mut m, x, Access::Read).unwrap();
    assert_eq!(huge_count(&a), 2);
    check_invariants(&a, &m, 0);
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 4096);
}

#[test]
fn policy_decides_where_huge_pages_go() {
    let (mut m, mut a) = setup_huge(ThpMode::Madvise);
    let x = anon(&mut a, &mut m, 0, 2 * HP, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    assert_eq!(huge_count(&a), 0, "madvise mode: not without MADV_HUGEPAGE");
    a.madvise(x + HP, HP, MADV_HUGEPAGE as i32, &mut m.platform())
        .unwrap();
    touch(&mut a, &mut m, x + HP, Access::Write).unwrap();
    assert_eq!(huge_count(&a), 1);
    // NOHUGEPAGE, and a range with a 4 KiB page already in it: 4 KiB.
    let (mut m, mut a) = setup_huge(ThpMode::Always);
    let y = anon(&mut a, &mut m, 0, HP, RW, PRIV).unwrap();
    a.madvise(y, HP, MADV_NOHUGEPAGE as i32, &mut m.platform())
        .unwrap();
    touch(&mut a, &mut m, y + PG, Access::Write).unwrap();
    a.madvise(y, HP, MADV_HUGEPAGE as i32, &mut m.platform())
        .unwrap();
    touch(&mut a, &mut m, y, Access::Write).unwrap();
    assert_eq!((huge_count(&a), a.resident_pages()), (0, 2));
    // A VMA without a whole aligned 2 MiB range: 4 KiB.
    let z = anon(&mut a, &mut m, 0x4000_1000, HP, RW, PRIV | MAP_FIXED).unwrap();
    touch(&mut a, &mut m, z, Access::Write).unwrap();
    touch(&mut a, &mut m, z + HP - PG, Access::Write).unwrap();
    assert_eq!(huge_count(&a), 0);
    // Shared memory and page tables without huge support: 4 KiB.
    let s = anon(&mut a, &mut m, 0, HP, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap();
    touch(&mut a, &mut m, s, Access::Write).unwrap();
    assert_eq!(huge_count(&a), 0);
    let mut plain = AddressSpace::new(FakePageTable::new(), *a.config());
    let p = plain
        .mmap(MmapArgs::anonymous(0, HP, RW, PRIV), &mut m.platform())
        .unwrap();
    plain
        .handle_fault(p, Access::Write, &mut m.platform())
        .unwrap();
    assert_eq!(plain.resident_pages(), 1);
    plain.teardown(&mut m.platform());
    check_invariants(&a, &m, 0);
}

#[test]
fn partial_munmap_splits_and_frees_only_the_unmapped_frames() {
    let (mut m, mut a) = setup_huge(ThpMode::Always);
    let x = anon(&mut a, &mut m, 0, HP, RW, PRIV).unwrap();
    a.write_bytes(x, &[1], &mut m.platform()).unwrap();
    a.write_bytes(x + 2 * PG, &[3], &mut m.platform()).unwrap();
    assert_eq!(huge_count(&a), 1);
    let used = used_frames(&m);
    a.munmap(x + PG, PG, &mut m.platform()).unwrap();
    assert_eq!(huge_count(&a), 0);
    assert_eq!(a.resident_pages(), HUGE_PAGE_PAGES - 1);
    assert_eq!(used_frames(&m), used - 1, "one frame freed, nothing copied");
    assert_eq!(read(&a, &m, x, 1), [1]);
    assert_eq!(read(&a, &m, x + 2 * PG, 1), [3]);
    check_invariants(&a, &m, 0);
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 4096);
    assert_eq!(
        m.frames.free_blocks(crate::MAX_ORDER),
        3,
        "the split block merged back"
    );
}

#[test]
fn partial_mprotect_and_dontneed_split() {
    let (mut m, mut a) = setup_huge(ThpMode::Always);
    let x = anon(&mut a, &mut m, 0, 2 * HP, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    touch(&mut a, &mut m, x + HP, Access::Write).unwrap();
    a.write_bytes(x + HP + PG, &[4], &mut m.platform()).unwrap();
    // A whole huge page changes protection in one entry.
    a.mprotect(x, HP, PROT_READ, &mut m.platform()).unwrap();
    assert_eq!(huge_count(&a), 2);
    assert!(
        !a.page_table()
            .huge_entries()
            .next()
            .unwrap()
            .2
            .contains(PteFlags::WRITABLE)
    );
    a.mprotect(x + HP, PG, PROT_READ, &mut m.platform())
        .unwrap();
    assert_eq!(huge_count(&a), 1, "split at the new VMA boundary");
    assert_eq!(read(&a, &m, x + HP + PG, 1), [4]);
    a.madvise(x + 3 * PG, PG, MADV_DONTNEED as i32, &mut m.platform())
        .unwrap();
    assert_eq!(huge_count(&a), 0);
    assert_eq!(a.resident_pages(), 2 * HUGE_PAGE_PAGES - 1);
    check_invariants(&a, &m, 0);
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 4096);
}

#[test]
fn fork_shares_a_huge_page_and_a_write_copies_4_kib() {
    let (mut m, mut a) = setup_huge(ThpMode::Always);
    let x = anon(&mut a, &mut m, 0, HP, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    a.write_bytes(x + 9 * PG, b"p", &mut m.platform()).unwrap();
    let mut c = a
        .fork_copy(FakePageTable::with_huge(), &mut m.platform())
        .unwrap();
    assert_eq!((huge_count(&a), huge_count(&c)), (1, 1));
    let (_, block, flags) = c.page_table().huge_entries().next().unwrap();
    assert_eq!(m.frames.huge_ref_count(block), Some(2));
    assert!(!flags.contains(PteFlags::WRITABLE));
    check_spaces(&[&a, &c], &m, 0);
    // The parent writes: its mapping splits, one page is copied, the child keeps its 2 MiB.
    let used = used_frames(&m);
    touch(&mut a, &mut m, x + 9 * PG, Access::Write).unwrap();
    a.write_bytes(x + 9 * PG, b"P", &mut m.platform()).unwrap();
    assert_eq!((huge_count(&a), huge_count(&c)), (0, 1));
    assert_eq!(
        used_frames(&m),
        used + 1,
        "one copy; the split used the reserved table"
    );
    assert_eq!(read(&c, &m, x + 9 * PG, 1), b"p");
    assert_eq!(read(&a, &m, x + 9 * PG, 1), b"P");
    check_spaces(&[&a, &c], &m, 0);
    // The child's write to its still-shared huge page: it splits too.
    c.write_bytes(x, b"c", &mut m.platform()).unwrap();
    assert_eq!(huge_count(&c), 0);
    assert_eq!(read(&a, &m, x, 1), [0]);
    check_spaces(&[&a, &c], &m, 0);
    a.teardown(&mut m.platform());
    c.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 4096);
}

#[test]
fn exclusive_huge_page_write_protected_is_made_writable_in_place() {
    let (mut m, mut a) = setup_huge(ThpMode::Always);
    let x = anon(&mut a, &mut m, 0, HP, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    let c = a
        .fork_copy(FakePageTable::with_huge(), &mut m.platform())
        .unwrap();
    c.teardown(&mut m.platform());
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    assert_eq!(huge_count(&a), 1, "alone again: no split, no copy");
    assert!(
        a.page_table()
            .huge_entries()
            .next()
            .unwrap()
            .2
            .contains(PteFlags::WRITABLE)
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn mremap_moves_huge_pages_whole_when_aligned() {
    let (mut m, mut a) = setup_huge(ThpMode::Always);
    let x = anon(&mut a, &mut m, 0, HP, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    a.write_bytes(x + PG, b"m", &mut m.platform()).unwrap();
    let to = 0x4000_0000;
    let flags = (MREMAP_MAYMOVE | MREMAP_FIXED) as u64;
    assert_eq!(a.mremap(x, HP, HP, flags, to, &mut m.platform()), Ok(to));
    assert_eq!(huge_count(&a), 1);
    assert_eq!(read(&a, &m, to + PG, 1), b"m");
    // To a 4 KiB-aligned address: split, then moved page by page.
    assert_eq!(
        a.mremap(to, HP, HP, flags, 0x5000_1000, &mut m.platform()),
        Ok(0x5000_1000)
    );
    assert_eq!((huge_count(&a), a.resident_pages()), (0, HUGE_PAGE_PAGES));
    assert_eq!(read(&a, &m, 0x5000_2000, 1), b"m");
    check_invariants(&a, &m, 0);
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 4096);
}
