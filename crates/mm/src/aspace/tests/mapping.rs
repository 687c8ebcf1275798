//! mmap, munmap, mprotect and brk.

use super::*;

// ---------------------------------------------------------------- mmap: placement

#[test]
fn mmap_places_top_down_below_the_base() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, 3 * PG, RW, PRIV).unwrap();
    assert_eq!(x, MMAP_BASE - 3 * PG);
    // A second one goes right below; same attributes merge into one VMA.
    let y = anon(&mut a, &mut m, 0, 100, RW, PRIV).unwrap();
    assert_eq!(y, x - PG, "length rounds up to one page");
    assert_eq!(a.vmas().count(), 1);
    let z = anon(&mut a, &mut m, 0, PG, PROT_READ, PRIV).unwrap();
    assert_eq!(z, y - PG);
    assert_eq!(a.vmas().count(), 2);
    check_invariants(&a, &m, 0);
}

#[test]
fn mmap_honours_a_free_hint_and_rounds_it_down() {
    let (mut m, mut a) = setup(64);
    assert_eq!(
        anon(&mut a, &mut m, 0x4000_0123, PG, RW, PRIV),
        Ok(0x4000_0000)
    );
    // Taken: the next request with the same hint goes elsewhere.
    let other = anon(&mut a, &mut m, 0x4000_0000, PG, RW, PRIV).unwrap();
    assert_ne!(other, 0x4000_0000);
    // A hint below mmap_min_addr is raised to it.
    assert_eq!(anon(&mut a, &mut m, 0x1000, PG, RW, PRIV), Ok(0x1_0000));
    // A hint that does not fit below USER_TOP is ignored.
    assert_eq!(
        anon(&mut a, &mut m, USER_TOP - PG, 2 * PG, RW, PRIV),
        Ok(other - 2 * PG)
    );
}

#[test]
fn mmap_avoids_the_guard_gap_below_a_stack() {
    let (mut m, mut a) = setup(64);
    let top = MMAP_BASE;
    let bottom = a.map_stack(top, 4 * PG, &mut m.platform()).unwrap();
    let x = anon(&mut a, &mut m, 0, PG, RW, PRIV).unwrap();
    assert_eq!(x, bottom - a.config().stack_guard_gap - PG);
    // A hint inside the gap is not honoured either.
    let y = anon(&mut a, &mut m, bottom - 2 * PG, PG, RW, PRIV).unwrap();
    assert_ne!(y, bottom - 2 * PG);
}

#[test]
fn mmap_falls_back_above_the_base_when_full_below() {
    let (mut m, mut a) = setup(64);
    let mut c = AddressSpaceConfig::new(0x2_0000);
    c.min_addr = 0x1_0000;
    a.config = c;
    assert_eq!(anon(&mut a, &mut m, 0, PG, RW, PRIV), Ok(0x1_f000));
    let big = anon(&mut a, &mut m, 0, 0x10_0000, RW, PRIV).unwrap();
    assert!(
        big >= 0x2_0000,
        "above the base once nothing fits below: {big:#x}"
    );
    assert_eq!(big + 0x10_0000, USER_TOP, "still top-down");
}

#[test]
fn map_32bit_goes_below_2_gib() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, RW, PRIV | MAP_32BIT).unwrap();
    assert!((0x4000_0000..0x8000_0000).contains(&x));
}

#[test]
fn map_fixed_replaces_and_frees() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0x10_0000, 4 * PG, RW, PRIV | MAP_FIXED).unwrap();
    for i in 0..4 {
        touch(&mut a, &mut m, x + i * PG, Access::Write).unwrap();
    }
    a.write_bytes(x + PG, b"old", &mut m.platform()).unwrap();
    let used = used_frames(&m);
    // Replace the middle two pages with a read-only mapping.
    assert_eq!(
        anon(&mut a, &mut m, x + PG, 2 * PG, PROT_READ, PRIV | MAP_FIXED),
        Ok(x + PG)
    );
    assert_eq!(used_frames(&m), used - 2, "replaced pages are freed");
    assert_eq!(
        read(&a, &m, x + PG, 3),
        vec![0, 0, 0],
        "new mapping is fresh"
    );
    let prots: Vec<_> = a.vmas().map(|v| (v.start, v.end, v.prot)).collect();
    assert_eq!(
        prots,
        vec![
            (x, x + PG, Prot::READ | Prot::WRITE),
            (x + PG, x + 3 * PG, Prot::READ),
            (x + 3 * PG, x + 4 * PG, Prot::READ | Prot::WRITE)
        ]
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn map_fixed_noreplace_is_eexist_on_overlap_only() {
    let (mut m, mut a) = setup(64);
    anon(&mut a, &mut m, 0x10_0000, 2 * PG, RW, PRIV | MAP_FIXED).unwrap();
    assert_eq!(
        anon(
            &mut a,
            &mut m,
            0x10_1000,
            2 * PG,
            RW,
            PRIV | MAP_FIXED_NOREPLACE
        ),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        anon(
            &mut a,
            &mut m,
            0x10_2000,
            PG,
            RW,
            PRIV | MAP_FIXED_NOREPLACE
        ),
        Ok(0x10_2000)
    );
    // NOREPLACE implies fixed placement, with its alignment rule.
    assert_eq!(
        anon(
            &mut a,
            &mut m,
            0x20_0001,
            PG,
            RW,
            PRIV | MAP_FIXED_NOREPLACE
        ),
        Err(Errno::EINVAL)
    );
}

#[test]
fn map_populate_prefaults_accessible_pages() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, 3 * PG, RW, PRIV | MAP_POPULATE).unwrap();
    assert_eq!(a.resident_pages(), 3);
    assert!(pte(&a, x).is_some_and(|(_, f)| f.contains(PteFlags::WRITABLE)));
    let y = anon(&mut a, &mut m, 0, 2 * PG, PROT_NONE, PRIV | MAP_POPULATE).unwrap();
    assert!(pte(&a, y).is_none(), "PROT_NONE is not populated");
    check_invariants(&a, &m, 0);
}

#[test]
fn accepted_flags_change_nothing() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, RW, PRIV | MAP_NORESERVE | MAP_STACK).unwrap();
    // Unknown bits are ignored with MAP_PRIVATE, as on Linux.
    let y = anon(&mut a, &mut m, 0, PG, RW, PRIV | 0x20_0000).unwrap();
    assert_eq!(y, x - PG);
    // Unknown PROT bits are ignored by mmap too.
    assert!(anon(&mut a, &mut m, 0, PG, RW | 0x100, PRIV).is_ok());
}

#[test]
fn shared_anonymous_behaves_as_private_memory() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap();
    assert!(a.find_vma(x).unwrap().flags().contains(VmaFlags::SHARED));
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    a.write_bytes(x, b"s", &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, x, 1), b"s");
}

// ---------------------------------------------------------------- mmap: errors

#[test]
fn mmap_errors() {
    let (mut m, mut a) = setup(64);
    let e = |a: &mut Space, m: &mut FakeMachine, addr, len, prot, flags| {
        anon(a, m, addr, len, prot, flags).unwrap_err()
    };
    assert_eq!(
        e(&mut a, &mut m, 0, 0, RW, PRIV),
        Errno::EINVAL,
        "zero length"
    );
    assert_eq!(
        e(&mut a, &mut m, 0x10_0800, PG, RW, PRIV | MAP_FIXED),
        Errno::EINVAL,
        "unaligned fixed"
    );
    assert_eq!(
        e(&mut a, &mut m, 0, PG, RW, MAP_ANONYMOUS),
        Errno::EINVAL,
        "neither private nor shared"
    );
    assert_eq!(
        e(
            &mut a,
            &mut m,
            0,
            PG,
            RW,
            MAP_ANONYMOUS | MAP_SHARED_VALIDATE
        ),
        Errno::EINVAL,
        "both"
    );
    assert_eq!(
        e(&mut a, &mut m, 0, PG, RW, MAP_ANONYMOUS | 0xf),
        Errno::EINVAL,
        "bad type"
    );
    assert_eq!(
        e(&mut a, &mut m, 0, u64::MAX, RW, PRIV),
        Errno::ENOMEM,
        "length overflows when rounded"
    );
    assert_eq!(
        e(&mut a, &mut m, 0, USER_TOP + PG, RW, PRIV),
        Errno::ENOMEM,
        "longer than the user half"
    );
    assert_eq!(
        e(&mut a, &mut m, USER_TOP - PG, 2 * PG, RW, PRIV | MAP_FIXED),
        Errno::ENOMEM,
        "beyond"
    );
    assert_eq!(
        e(&mut a, &mut m, 0x8000, PG, RW, PRIV | MAP_FIXED),
        Errno::EPERM,
        "below mmap_min_addr"
    );
    assert_eq!(
        e(&mut a, &mut m, 0, PG, RW, PRIV | MAP_HUGETLB),
        Errno::ENOMEM,
        "no huge pages"
    );
    assert_eq!(
        e(
            &mut a,
            &mut m,
            0,
            PG,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN
        ),
        Errno::EINVAL,
        "shared grows-down"
    );
    let unaligned_offset = MmapArgs {
        offset: 100,
        ..MmapArgs::anonymous(0, PG, RW, PRIV)
    };
    assert_eq!(
        a.mmap(unaligned_offset, &mut m.platform()),
        Err(Errno::EINVAL)
    );
    assert_eq!(map::check_offset(4096), Ok(()));
    assert_eq!(a.vmas().count(), 0, "failed calls map nothing");
    check_invariants(&a, &m, 0);
}

// ---------------------------------------------------------------- file mappings

/// A file of bytes.
struct FileBytes(Vec<u8>);

impl MapSource for FileBytes {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let data = self.0.get(offset as usize..).unwrap_or(&[]);
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

fn file_of(len: usize) -> Arc<dyn MapSource> {
    Arc::new(FileBytes((0..len).map(|i| (i / 4096 + 1) as u8).collect()))
}

fn file_map(
    a: &mut Space,
    m: &mut FakeMachine,
    len: u64,
    flags: u32,
    file: Option<Arc<dyn MapSource>>,
    off: u64,
) -> Result<u64, Errno> {
    let args = MmapArgs {
        file,
        ..MmapArgs::file(0, len, PROT_READ, flags, file_of(0), off)
    };
    a.mmap(args, &mut m.platform())
}

/// A file on a `noexec` mount.
struct NoExecFile(FileBytes);

impl MapSource for NoExecFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.0.read_at(offset, buf)
    }
    fn may_exec(&self) -> bool {
        false
    }
}

#[test]
fn a_mapping_of_a_noexec_file_may_not_become_executable() {
    let (mut m, mut a) = setup(64);
    let noexec: Arc<dyn MapSource> = Arc::new(NoExecFile(FileBytes(vec![1; 4096])));
    let x = file_map(&mut a, &mut m, PG, MAP_PRIVATE, Some(noexec), 0).unwrap();
    let mut p = m.platform();
    // As Linux: no VM_MAYEXEC, so mprotect(PROT_EXEC) is EACCES; other changes still work.
    assert_eq!(
        a.mprotect(x, PG, PROT_READ | PROT_EXEC, &mut p),
        Err(Errno::EACCES)
    );
    assert_eq!(a.mprotect(x, PG, PROT_READ | PROT_WRITE, &mut p), Ok(()));
    // An ordinary file and anonymous memory may.
    let y = file_map(&mut a, &mut m, PG, MAP_PRIVATE, Some(file_of(4096)), 0).unwrap();
    let mut p = m.platform();
    assert_eq!(a.mprotect(y, PG, PROT_READ | PROT_EXEC, &mut p), Ok(()));
    let z = anon(&mut a, &mut m, 0x10_0000, PG, RW, PRIV | MAP_FIXED).unwrap();
    let mut p = m.platform();
    assert_eq!(a.mprotect(z, PG, PROT_READ | PROT_EXEC, &mut p), Ok(()));
}

#[test]
fn private_file_mapping_reads_pages_on_demand() {
    let (mut m, mut a) = setup(64);
    let file = file_of(2 * 4096 + 100); // pages 1, 2 and a 100-byte tail of 3s
    let x = file_map(&mut a, &mut m, 3 * PG, MAP_PRIVATE, Some(file.clone()), PG).unwrap();
    assert_eq!(a.find_vma(x).unwrap().kind(), VmaKind::File);
    // Offset one page in: the first mapped page holds 2s.
    assert_eq!(
        read(&a, &m, x, 2),
        vec![2, 2],
        "unpopulated pages read through the source"
    );
    touch(&mut a, &mut m, x + PG + 5, Access::Read).unwrap();
    assert_eq!(
        read(&a, &m, x + PG + 98, 4),
        vec![3, 3, 0, 0],
        "tail past EOF is zero"
    );
    // The third page lies wholly past the end of the file: SIGBUS.
    let err = touch(&mut a, &mut m, x + 2 * PG, Access::Read).unwrap_err();
    assert_eq!(
        (err.kind, err.signal()),
        (FaultKind::Bus, linux_raw_sys::general::SIGBUS)
    );
    let mut b = [0u8; 1];
    assert_eq!(
        a.read_bytes(x + 2 * PG, &mut b, &m.bytes).unwrap_err().kind,
        FaultKind::Bus
    );
    // Writes to a private mapping stay private (to the frame) after mprotect.
    a.mprotect(x, PG, RW, &mut m.platform()).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    a.write_bytes(x, &[9], &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, x, 2), vec![9, 2]);
    // The split kept the offset of the part that was not touched yet.
    assert_eq!(a.find_vma(x + PG).unwrap().file().unwrap().offset, 2 * PG);
    check_invariants(&a, &m, 0);
}

#[test]
fn file_mapping_errors() {
    let (mut m, mut a) = setup(64);
    assert_eq!(
        file_map(&mut a, &mut m, PG, MAP_PRIVATE, None, 0),
        Err(Errno::ENODEV),
        "not mappable"
    );
    assert_eq!(
        file_map(
            &mut a,
            &mut m,
            PG,
            MAP_SHARED,
            Some(file_of(PG as usize)),
            0
        ),
        Err(Errno::ENODEV)
    );
    assert_eq!(
        file_map(
            &mut a,
            &mut m,
            PG,
            MAP_SHARED_VALIDATE | 0x20_0000,
            Some(file_of(PG as usize)),
            0
        ),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        file_map(&mut a, &mut m, PG, 0, Some(file_of(PG as usize)), 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        file_map(
            &mut a,
            &mut m,
            2 * PG,
            MAP_PRIVATE,
            Some(file_of(1)),
            u64::MAX - PG + 1
        ),
        Err(Errno::EOVERFLOW)
    );
}

// ---------------------------------------------------------------- munmap

#[test]
fn munmap_splits_and_frees() {
    let (mut m, mut a) = setup(64);
    let x = anon(
        &mut a,
        &mut m,
        0x10_0000,
        5 * PG,
        RW,
        PRIV | MAP_FIXED | MAP_POPULATE,
    )
    .unwrap();
    let used = used_frames(&m);
    a.munmap(x + PG, 2 * PG - 10, &mut m.platform()).unwrap();
    assert_eq!(used_frames(&m), used - 2);
    let ranges: Vec<_> = a.vmas().map(|v| (v.start, v.end)).collect();
    assert_eq!(ranges, vec![(x, x + PG), (x + 3 * PG, x + 5 * PG)]);
    assert_eq!(
        touch(&mut a, &mut m, x + PG, Access::Read)
            .unwrap_err()
            .kind,
        FaultKind::MapErr
    );
    // The freed pages' TLB entries were flushed.
    let flushed = m.tlb.take_flushed();
    assert!(flushed.contains(&page_of(x + PG)) && flushed.contains(&page_of(x + 2 * PG)));
    // Unmapping holes is fine.
    a.munmap(0x100_0000, 10 * PG, &mut m.platform()).unwrap();
    check_invariants(&a, &m, 0);
}

#[test]
fn munmap_errors() {
    let (mut m, mut a) = setup(16);
    let mut p = m.platform();
    assert_eq!(
        a.munmap(0x1001, PG, &mut p),
        Err(Errno::EINVAL),
        "unaligned"
    );
    assert_eq!(a.munmap(0x1000, 0, &mut p), Err(Errno::EINVAL), "empty");
    assert_eq!(
        a.munmap(USER_TOP, PG, &mut p),
        Err(Errno::EINVAL),
        "beyond the user half"
    );
    assert_eq!(
        a.munmap(USER_TOP - PG, 2 * PG, &mut p),
        Err(Errno::EINVAL),
        "runs past the user half"
    );
    assert_eq!(a.munmap(0, USER_TOP, &mut p), Ok(()), "the whole user half");
}

// ---------------------------------------------------------------- mprotect

#[test]
fn mprotect_splits_and_updates_present_entries() {
    let (mut m, mut a) = setup(64);
    let x = anon(
        &mut a,
        &mut m,
        0x10_0000,
        4 * PG,
        RW,
        PRIV | MAP_FIXED | MAP_POPULATE,
    )
    .unwrap();
    m.tlb.take_flushed();
    a.mprotect(x + PG, PG, PROT_READ, &mut m.platform())
        .unwrap();
    assert_eq!(a.vmas().count(), 3);
    assert_eq!(
        pte(&a, x + PG).unwrap().1,
        PteFlags::USER | PteFlags::NO_EXECUTE
    );
    assert_eq!(
        m.tlb.take_flushed(),
        vec![page_of(x + PG)],
        "only the changed entry is flushed"
    );
    assert_eq!(
        touch(&mut a, &mut m, x + PG, Access::Write)
            .unwrap_err()
            .kind,
        FaultKind::AccErr
    );
    // Back to read-write: the VMAs merge again.
    a.mprotect(x + PG, PG, RW, &mut m.platform()).unwrap();
    assert_eq!(a.vmas().count(), 1);
    a.mprotect(x, 4 * PG, RW | PROT_EXEC, &mut m.platform())
        .unwrap();
    assert_eq!(pte(&a, x).unwrap().1, PteFlags::USER | PteFlags::WRITABLE);
    check_invariants(&a, &m, 0);
}

#[test]
fn prot_none_keeps_the_data() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    a.write_bytes(x, b"keep", &mut m.platform()).unwrap();
    a.mprotect(x, PG, PROT_NONE, &mut m.platform()).unwrap();
    assert!(pte(&a, x).unwrap().1.contains(PteFlags::NO_ACCESS));
    assert_eq!(
        touch(&mut a, &mut m, x, Access::Read).unwrap_err().kind,
        FaultKind::AccErr
    );
    a.mprotect(x, PG, PROT_READ, &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, x, 4), b"keep");
    check_invariants(&a, &m, 0);
}

#[test]
fn mprotect_errors_and_partial_application() {
    let (mut m, mut a) = setup(64);
    let x = 0x10_0000;
    anon(&mut a, &mut m, x, 2 * PG, RW, PRIV | MAP_FIXED).unwrap();
    anon(&mut a, &mut m, x + 3 * PG, PG, RW, PRIV | MAP_FIXED).unwrap();
    let mut p = m.platform();
    assert_eq!(
        a.mprotect(x + 1, PG, PROT_READ, &mut p),
        Err(Errno::EINVAL),
        "unaligned"
    );
    assert_eq!(
        a.mprotect(x, PG, 0x100, &mut p),
        Err(Errno::EINVAL),
        "unknown prot bit"
    );
    assert_eq!(
        a.mprotect(x, PG, PROT_READ | 0x0300_0000, &mut p),
        Err(Errno::EINVAL),
        "GROWSDOWN|GROWSUP"
    );
    assert_eq!(
        a.mprotect(x, PG, PROT_READ | PROT_GROWSDOWN, &mut p),
        Err(Errno::EINVAL),
        "not grows-down"
    );
    assert_eq!(
        a.mprotect(x, 0, PROT_READ, &mut p),
        Ok(()),
        "empty is a no-op"
    );
    assert_eq!(
        a.mprotect(x - PG, 2 * PG, PROT_READ, &mut p),
        Err(Errno::ENOMEM),
        "starts unmapped"
    );
    assert_eq!(
        a.find_vma(x).unwrap().prot,
        Prot::READ | Prot::WRITE,
        "nothing changed"
    );
    assert_eq!(
        a.mprotect(!0xfff, 2 * PG, PROT_READ, &mut p),
        Err(Errno::ENOMEM),
        "wraps"
    );
    // A hole in the middle: the part before it changes, then ENOMEM (Linux).
    assert_eq!(a.mprotect(x, 4 * PG, PROT_READ, &mut p), Err(Errno::ENOMEM));
    assert_eq!(a.find_vma(x + PG).unwrap().prot, Prot::READ);
    assert_eq!(
        a.find_vma(x + 3 * PG).unwrap().prot,
        Prot::READ | Prot::WRITE
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn mprotect_growsdown_extends_to_the_vma_start() {
    let (mut m, mut a) = setup(64);
    let bottom = a.map_stack(0x7000_0000, 4 * PG, &mut m.platform()).unwrap();
    a.mprotect(
        bottom + 2 * PG,
        PG,
        PROT_READ | PROT_EXEC | PROT_GROWSDOWN,
        &mut m.platform(),
    )
    .unwrap();
    let v = a.find_vma(bottom).unwrap();
    assert_eq!(
        (v.start, v.end, v.prot),
        (bottom, bottom + 3 * PG, Prot::READ | Prot::EXEC)
    );
}

// ---------------------------------------------------------------- brk

#[test]
fn brk_grows_shrinks_and_refuses() {
    let (mut m, mut a) = setup(64);
    assert_eq!(
        a.brk(0x60_0000, &mut m.platform()),
        0,
        "no break before init_brk"
    );
    assert_eq!(a.vmas().count(), 0);
    a.init_brk(0x60_0123);
    let start = 0x60_1000;
    assert_eq!(a.brk_range(), (start, start));
    let mut p = m.platform();
    assert_eq!(a.brk(0, &mut p), start, "brk(0) queries");
    assert_eq!(
        a.brk(start - 1, &mut p),
        start,
        "below the start: unchanged"
    );
    assert_eq!(a.brk(start + 10, &mut p), start + 10, "byte-granular break");
    assert_eq!(a.find_vma(start).unwrap().kind(), VmaKind::Heap);
    assert_eq!(
        a.find_vma(start).unwrap().end,
        start + PG,
        "page-granular mapping"
    );
    assert_eq!(a.brk(start + 3 * PG, &mut p), start + 3 * PG);
    assert_eq!(a.vmas().count(), 1, "heap growth merges");
    a.handle_fault(start + 2 * PG, Access::Write, &mut p)
        .unwrap();
    a.write_bytes(start + 2 * PG, b"x", &mut p).unwrap();
    // Shrinking unmaps and frees; growing again gives zeros.
    assert_eq!(a.brk(start + PG, &mut p), start + PG);
    assert!(a.find_vma(start + 2 * PG).is_none());
    assert_eq!(a.brk(start + 3 * PG, &mut p), start + 3 * PG);
    assert_eq!(read(&a, &m, start + 2 * PG, 1), vec![0]);
    // A mapping in the way: refused, with the old break returned.
    anon(&mut a, &mut m, start + 5 * PG, PG, RW, PRIV | MAP_FIXED).unwrap();
    let mut p = m.platform();
    assert_eq!(
        a.brk(start + 5 * PG, &mut p),
        start + 3 * PG,
        "would touch the mapping"
    );
    assert_eq!(
        a.brk(start + 4 * PG + 1, &mut p),
        start + 3 * PG,
        "must leave a page free"
    );
    assert_eq!(a.brk(start + 4 * PG, &mut p), start + 4 * PG);
    assert_eq!(a.brk(u64::MAX, &mut p), start + 4 * PG, "overflow");
    assert_eq!(a.brk(start, &mut p), start);
    assert_eq!(a.vmas().count(), 1, "only the other mapping is left");
    check_invariants(&a, &m, 0);
}
