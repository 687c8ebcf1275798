//! mremap: shrink, grow in place, move, MREMAP_FIXED, MREMAP_DONTUNMAP, and the errno cases
//! (each checked against Linux 6.18).

use super::*;
use linux_raw_sys::general::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};

const MAYMOVE: u64 = MREMAP_MAYMOVE as u64;
const FIXED: u64 = MREMAP_FIXED as u64;
const DONTUNMAP: u64 = MREMAP_DONTUNMAP as u64;
const BASE: u64 = 0x10_0000;

/// `pages` read-write pages at `at`, page `i` holding byte `i + 1` (all populated).
fn tagged(a: &mut Space, m: &mut FakeMachine, at: u64, pages: u64) {
    anon(a, m, at, pages * PG, RW, PRIV | MAP_FIXED).unwrap();
    for i in 0..pages {
        a.write_bytes(at + i * PG, &[i as u8 + 1], &mut m.platform())
            .unwrap();
    }
}

fn remap(
    a: &mut Space,
    m: &mut FakeMachine,
    addr: u64,
    old: u64,
    new: u64,
    flags: u64,
    new_addr: u64,
) -> Result<u64, Errno> {
    a.mremap(addr, old, new, flags, new_addr, &mut m.platform())
}

fn tags(a: &Space, m: &FakeMachine, at: u64, pages: u64) -> Vec<u8> {
    (0..pages).map(|i| read(a, m, at + i * PG, 1)[0]).collect()
}

fn frames_of(a: &Space, at: u64, pages: u64) -> Vec<Option<PhysFrame>> {
    (0..pages)
        .map(|i| pte(a, at + i * PG).map(|e| e.0))
        .collect()
}

#[test]
fn shrink_unmaps_the_tail_and_frees_it() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 4);
    let used = used_frames(&m);
    assert_eq!(remap(&mut a, &mut m, BASE, 4 * PG, PG + 1, 0, 0), Ok(BASE));
    assert_eq!(a.find_vma(BASE).unwrap().end(), BASE + 2 * PG);
    assert!(a.find_vma(BASE + 2 * PG).is_none());
    assert_eq!(used_frames(&m), used - 2);
    // Shrinking may cross VMAs and holes: only the kept part must be mapped.
    anon(&mut a, &mut m, BASE + 3 * PG, PG, RW, PRIV | MAP_FIXED).unwrap();
    assert_eq!(remap(&mut a, &mut m, BASE, 8 * PG, PG, 0, 0), Ok(BASE));
    assert_eq!(a.vmas().count(), 1);
    assert_eq!(tags(&a, &m, BASE, 1), [1]);
    check_invariants(&a, &m, 0);
}

#[test]
fn same_size_is_a_no_op_but_needs_a_vma() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 2);
    // Across the end of the VMA: still just `addr` (Linux checks nothing more).
    assert_eq!(remap(&mut a, &mut m, BASE, 8 * PG, 8 * PG, 0, 0), Ok(BASE));
    assert_eq!(
        remap(&mut a, &mut m, BASE + 4 * PG, PG, PG, 0, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        remap(&mut a, &mut m, BASE + 4 * PG, 2 * PG, PG, 0, 0),
        Err(Errno::EFAULT),
        "a shrink needs a VMA at the address too"
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn grow_in_place_keeps_the_pages() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 2);
    let before = frames_of(&a, BASE, 2);
    assert_eq!(remap(&mut a, &mut m, BASE, 2 * PG, 5 * PG, 0, 0), Ok(BASE));
    assert_eq!(a.find_vma(BASE).unwrap().end(), BASE + 5 * PG);
    assert_eq!(frames_of(&a, BASE, 2), before);
    assert_eq!(tags(&a, &m, BASE, 5), [1, 2, 0, 0, 0]);
    // From the middle of a VMA, the old range must end it to grow in place.
    assert_eq!(
        remap(&mut a, &mut m, BASE + PG, 2 * PG, 3 * PG, 0, 0),
        Err(Errno::ENOMEM)
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn grow_blocked_moves_only_with_maymove() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 2);
    anon(
        &mut a,
        &mut m,
        BASE + 2 * PG,
        PG,
        PROT_READ,
        PRIV | MAP_FIXED,
    )
    .unwrap();
    assert_eq!(
        remap(&mut a, &mut m, BASE, 2 * PG, 3 * PG, 0, 0),
        Err(Errno::ENOMEM)
    );
    let before = frames_of(&a, BASE, 2);
    let refs: Vec<_> = before
        .iter()
        .map(|f| m.frames.ref_count(f.unwrap()))
        .collect();
    let used = used_frames(&m);
    let new = remap(&mut a, &mut m, BASE, 2 * PG, 3 * PG, MAYMOVE, 0).unwrap();
    assert_eq!(new, MMAP_BASE - 3 * PG, "placed like a new mmap");
    // The frames moved, not their contents: same frames, same counts.
    assert_eq!(frames_of(&a, new, 2), before);
    let after: Vec<_> = before
        .iter()
        .map(|f| m.frames.ref_count(f.unwrap()))
        .collect();
    assert_eq!(after, refs);
    assert_eq!(tags(&a, &m, new, 3), [1, 2, 0]);
    assert!(a.find_vma(BASE).is_none(), "old range unmapped");
    assert_eq!(
        touch(&mut a, &mut m, BASE, Access::Read).unwrap_err().kind,
        FaultKind::MapErr
    );
    assert_eq!(used_frames(&m), used + 3, "only the new tables");
    assert_eq!(a.find_vma(new).unwrap().kind(), VmaKind::Anonymous);
    check_invariants(&a, &m, 0);
}

#[test]
fn grow_across_a_vma_boundary_is_efault() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 2);
    anon(
        &mut a,
        &mut m,
        BASE + 2 * PG,
        PG,
        PROT_READ,
        PRIV | MAP_FIXED,
    )
    .unwrap();
    assert_eq!(
        remap(&mut a, &mut m, BASE, 3 * PG, 4 * PG, MAYMOVE, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        remap(&mut a, &mut m, BASE, 6 * PG, 8 * PG, MAYMOVE, 0),
        Err(Errno::EFAULT)
    );
}

#[test]
fn fixed_moves_over_the_destination() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 3);
    let dest = 0x40_0000;
    tagged(&mut a, &mut m, dest, 4);
    for i in 0..4 {
        a.write_bytes(dest + i * PG, &[11 + i as u8], &mut m.platform())
            .unwrap();
    }
    let used = used_frames(&m);
    assert_eq!(
        remap(&mut a, &mut m, BASE, 3 * PG, 2 * PG, MAYMOVE | FIXED, dest),
        Ok(dest)
    );
    // Only the new length is unmapped at the destination (Linux's do_munmap(new_addr,
    // new_len)); the shrunk-away third page is gone.
    assert_eq!(tags(&a, &m, dest, 4), [1, 2, 13, 14]);
    assert!(a.find_vma(BASE).is_none());
    assert_eq!(used_frames(&m), used - 3);
    check_invariants(&a, &m, 0);
}

#[test]
fn fixed_checks_the_source_before_unmapping_the_destination() {
    let (mut m, mut a) = setup(64);
    let dest = 0x40_0000;
    tagged(&mut a, &mut m, dest, 1);
    assert_eq!(
        remap(&mut a, &mut m, BASE, PG, PG, MAYMOVE | FIXED, dest),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        remap(&mut a, &mut m, BASE, PG, 2 * PG, MAYMOVE | FIXED, dest),
        Err(Errno::EFAULT)
    );
    assert_eq!(tags(&a, &m, dest, 1), [1], "destination untouched");
}

#[test]
fn fixed_same_size_moves_several_vmas_keeping_gaps() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 5);
    a.munmap(BASE + PG, 2 * PG, &mut m.platform()).unwrap();
    a.mprotect(BASE + 4 * PG, PG, PROT_READ, &mut m.platform())
        .unwrap();
    let dest = 0x40_0000;
    tagged(&mut a, &mut m, dest, 5);
    assert_eq!(
        remap(&mut a, &mut m, BASE, 5 * PG, 5 * PG, MAYMOVE | FIXED, dest),
        Ok(dest)
    );
    assert_eq!(
        tags(&a, &m, dest, 5),
        [1, 2, 3, 4, 5],
        "the gap's destination stays"
    );
    assert_eq!(a.find_vma(dest + 4 * PG).unwrap().prot(), Prot::READ);
    assert!(a.vmas().all(|v| v.start() >= dest));
    // The range must start inside a VMA.
    assert_eq!(
        remap(&mut a, &mut m, BASE, PG, PG, MAYMOVE | FIXED, dest),
        Err(Errno::EFAULT)
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn dontunmap_leaves_the_old_range_mapped_and_empty() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 2);
    a.mlock(BASE, 2 * PG, 0, None, &mut m.platform()).unwrap();
    let frames = frames_of(&a, BASE, 2);
    let new = remap(&mut a, &mut m, BASE, 2 * PG, 2 * PG, MAYMOVE | DONTUNMAP, 0).unwrap();
    assert_ne!(new, BASE);
    assert_eq!(frames_of(&a, new, 2), frames);
    assert_eq!(tags(&a, &m, new, 2), [1, 2]);
    let old = a.find_vma(BASE).unwrap();
    assert_eq!(
        (old.end(), old.flags().contains(VmaFlags::LOCKED)),
        (BASE + 2 * PG, false)
    );
    assert!(a.find_vma(new).unwrap().flags().contains(VmaFlags::LOCKED));
    assert_eq!(frames_of(&a, BASE, 2), [None, None]);
    assert_eq!(
        tags(&a, &m, BASE, 2),
        [0, 0],
        "private anonymous reads zeros"
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn errno_cases() {
    let (mut m, mut a) = setup(64);
    tagged(&mut a, &mut m, BASE, 4);
    let e = |a: &mut Space, m: &mut FakeMachine, addr, old, new, flags, to| {
        remap(a, m, addr, old, new, flags, to).unwrap_err()
    };
    use Errno::*;
    let cases: [(&str, u64, u64, u64, u64, u64, Errno); 12] = [
        ("unknown flag", BASE, PG, PG, 8, 0, EINVAL),
        ("unaligned old", BASE + 1, PG, PG, 0, 0, EINVAL),
        ("new size 0", BASE, PG, 0, MAYMOVE, 0, EINVAL),
        (
            "new size wraps to 0",
            BASE,
            PG,
            u64::MAX,
            MAYMOVE,
            0,
            EINVAL,
        ),
        (
            "new size above TASK_SIZE",
            BASE,
            PG,
            USER_TOP + PG,
            MAYMOVE,
            0,
            EINVAL,
        ),
        (
            "fixed without maymove",
            BASE,
            PG,
            PG,
            FIXED,
            0x40_0000,
            EINVAL,
        ),
        (
            "dontunmap without maymove",
            BASE,
            PG,
            PG,
            DONTUNMAP,
            0,
            EINVAL,
        ),
        (
            "dontunmap resizes",
            BASE,
            PG,
            2 * PG,
            MAYMOVE | DONTUNMAP,
            0,
            EINVAL,
        ),
        (
            "overlap",
            BASE,
            2 * PG,
            2 * PG,
            MAYMOVE | FIXED,
            BASE + PG,
            EINVAL,
        ),
        (
            "unaligned new",
            BASE,
            PG,
            PG,
            MAYMOVE | FIXED,
            0x40_0001,
            EINVAL,
        ),
        (
            "new beyond",
            BASE,
            PG,
            2 * PG,
            MAYMOVE | FIXED,
            USER_TOP - PG,
            EINVAL,
        ),
        ("duplicating private", BASE, 0, PG, MAYMOVE, 0, EINVAL),
    ];
    for (what, addr, old, new, flags, to, want) in cases {
        assert_eq!(e(&mut a, &mut m, addr, old, new, flags, to), want, "{what}");
    }
    assert_eq!(
        remap(&mut a, &mut m, BASE, PG, PG, MAYMOVE | FIXED, 0x8000),
        Err(EPERM),
        "below mmap_min_addr"
    );
    assert_eq!(
        tags(&a, &m, BASE, 4),
        [1, 2, 3, 4],
        "failed calls change nothing"
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn a_failed_move_changes_nothing() {
    // Just enough frames for the source and its tables: the destination's tables cannot be
    // allocated, so the move is rolled back.
    let (mut m, mut a) = setup(8);
    tagged(&mut a, &mut m, BASE, 3);
    while m.frames.allocate(0).is_some() {}
    let before = frames_of(&a, BASE, 3);
    let vmas: Vec<_> = a.vmas().map(|v| (v.start(), v.end())).collect();
    assert_eq!(
        remap(
            &mut a,
            &mut m,
            BASE,
            3 * PG,
            3 * PG,
            MAYMOVE | FIXED,
            0x4000_0000
        ),
        Err(Errno::ENOMEM)
    );
    assert_eq!(frames_of(&a, BASE, 3), before);
    assert_eq!(
        a.vmas().map(|v| (v.start(), v.end())).collect::<Vec<_>>(),
        vmas
    );
    assert_eq!(tags(&a, &m, BASE, 3), [1, 2, 3]);
    check_invariants(&a, &m, 2);
}

#[test]
fn a_file_mapping_moves_with_its_offset() {
    let (mut m, mut a) = setup(64);
    let file: Arc<dyn MapSource> = Arc::new(mapping_file(4));
    let x = a
        .mmap(
            MmapArgs::file(0, 2 * PG, PROT_READ, MAP_PRIVATE, file, PG),
            &mut m.platform(),
        )
        .unwrap();
    touch(&mut a, &mut m, x, Access::Read).unwrap();
    // Something above, so growing must move.
    anon(&mut a, &mut m, x + 2 * PG, PG, PROT_READ, PRIV | MAP_FIXED).unwrap();
    let new = remap(&mut a, &mut m, x + PG, PG, 2 * PG, MAYMOVE, 0).unwrap();
    assert_ne!(new, x + PG);
    let v = a.find_vma(new).unwrap();
    assert_eq!(v.file().unwrap().offset, 2 * PG);
    assert_eq!(read(&a, &m, new, 1), [3], "page 2 of the file");
    assert_eq!(read(&a, &m, new + PG, 1), [4]);
    assert_eq!(read(&a, &m, x, 1), [2], "the first page stays");
    check_invariants(&a, &m, 0);
}

#[test]
fn a_locked_mapping_grown_is_populated() {
    let (mut m, mut a) = setup(64);
    let x = anon(
        &mut a,
        &mut m,
        BASE,
        PG,
        RW,
        PRIV | MAP_FIXED | linux_raw_sys::general::MAP_LOCKED,
    )
    .unwrap();
    assert_eq!(a.resident_pages(), 1, "MAP_LOCKED populates");
    remap(&mut a, &mut m, x, PG, 3 * PG, 0, 0).unwrap();
    assert_eq!(a.resident_pages(), 3);
    check_invariants(&a, &m, 0);
}

/// A file of `pages` pages, page `i` full of byte `i + 1`.
pub(super) fn mapping_file(pages: usize) -> impl MapSource {
    struct Pages(Vec<u8>);
    impl MapSource for Pages {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
            let data = self.0.get(offset as usize..).unwrap_or(&[]);
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            Ok(n)
        }
    }
    Pages(
        (0..pages * PAGE_SIZE)
            .map(|i| (i / PAGE_SIZE + 1) as u8)
            .collect(),
    )
}
