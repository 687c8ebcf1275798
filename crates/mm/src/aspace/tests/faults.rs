//! Page faults, copy-on-write, kernel access, user memory and teardown.

use super::*;

// ---------------------------------------------------------------- faults

#[test]
fn faults_maperr_accerr_and_zero_fill() {
    let (mut m, mut a) = setup(64);
    let ro = anon(&mut a, &mut m, 0x10_0000, PG, PROT_READ, PRIV | MAP_FIXED).unwrap();
    let none = anon(&mut a, &mut m, 0x20_0000, PG, PROT_NONE, PRIV | MAP_FIXED).unwrap();
    let rw = anon(&mut a, &mut m, 0x30_0000, PG, RW, PRIV | MAP_FIXED).unwrap();
    let wx = anon(
        &mut a,
        &mut m,
        0x40_0000,
        PG,
        PROT_WRITE | PROT_EXEC,
        PRIV | MAP_FIXED,
    )
    .unwrap();
    let kind = |r: Result<(), FaultError>| r.unwrap_err().kind;
    assert_eq!(
        kind(touch(&mut a, &mut m, 0x5000, Access::Read)),
        FaultKind::MapErr
    );
    assert_eq!(
        kind(touch(&mut a, &mut m, USER_TOP, Access::Read)),
        FaultKind::MapErr
    );
    assert_eq!(
        kind(touch(&mut a, &mut m, u64::MAX, Access::Read)),
        FaultKind::MapErr
    );
    assert_eq!(
        kind(touch(&mut a, &mut m, ro + 8, Access::Write)),
        FaultKind::AccErr
    );
    assert_eq!(
        kind(touch(&mut a, &mut m, ro, Access::Execute)),
        FaultKind::AccErr
    );
    assert_eq!(
        kind(touch(&mut a, &mut m, none, Access::Read)),
        FaultKind::AccErr
    );
    assert_eq!(
        kind(touch(&mut a, &mut m, rw, Access::Execute)),
        FaultKind::AccErr
    );
    let e = touch(&mut a, &mut m, ro + 8, Access::Write).unwrap_err();
    assert_eq!(
        (e.addr, e.signal(), e.si_code()),
        (ro + 8, 11, 2),
        "SIGSEGV/SEGV_ACCERR at the address"
    );
    assert_eq!(
        touch(&mut a, &mut m, 0x5000, Access::Read)
            .unwrap_err()
            .si_code(),
        1,
        "SEGV_MAPERR"
    );
    assert_eq!(Errno::from(e), Errno::EFAULT);
    assert_eq!(a.resident_pages(), 0, "failed faults map nothing");

    // Reads are allowed on write- or exec-only pages (x86_64 cannot express otherwise).
    touch(&mut a, &mut m, wx, Access::Read).unwrap();
    touch(&mut a, &mut m, ro + 100, Access::Read).unwrap();
    let (frame, flags) = pte(&a, ro).unwrap();
    assert_eq!(flags, PteFlags::USER | PteFlags::NO_EXECUTE);
    assert_eq!(
        m.bytes.contents(frame),
        vec![0; PAGE_SIZE],
        "fresh pages are zero (not poison)"
    );
    touch(&mut a, &mut m, ro, Access::Read).unwrap();
    assert_eq!(
        a.resident_pages(),
        2,
        "a repeated fault is spurious, not a new page"
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn write_then_read_back_through_frame_bytes() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, 2 * PG, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x + PG - 1, Access::Write).unwrap();
    let data: Vec<u8> = (0..100).collect();
    a.write_bytes(x + PG - 50, &data, &mut m.platform())
        .unwrap();
    assert_eq!(
        read(&a, &m, x + PG - 50, 100),
        data,
        "across a page boundary"
    );
    let (frame, _) = pte(&a, x + PG).unwrap();
    assert_eq!(m.bytes.contents(frame)[..50], data[50..]);
}

#[test]
fn out_of_memory_is_reported_not_panicked() {
    let (mut m, mut a) = setup(8);
    let x = anon(&mut a, &mut m, 0, 16 * PG, RW, PRIV).unwrap();
    let mut last = Ok(());
    for i in 0..16 {
        last = touch(&mut a, &mut m, x + i * PG, Access::Write);
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last.unwrap_err().kind, FaultKind::OutOfMemory);
    assert_eq!(m.frames.free_frames(), 0);
    check_invariants(&a, &m, 0);
    a.teardown(&mut m.platform());
    assert_eq!(m.frames.free_frames(), 8);
}

#[test]
fn stack_grows_down_within_its_limit() {
    let (mut m, mut a) = setup(64);
    let top = 0x7fff_0000_0000;
    let bottom = a.map_stack(top, 4 * PG, &mut m.platform()).unwrap();
    touch(&mut a, &mut m, bottom - 3 * PG + 8, Access::Write).unwrap();
    assert_eq!(a.find_vma(bottom - PG).unwrap().start, bottom - 3 * PG);
    assert_eq!(a.vmas().count(), 1);
    let limit = a.config().stack_limit;
    assert_eq!(
        touch(&mut a, &mut m, top - limit - 1, Access::Write)
            .unwrap_err()
            .kind,
        FaultKind::MapErr
    );
    touch(&mut a, &mut m, top - limit, Access::Write).unwrap();
    // A mapping below, closer than the guard gap, stops growth.
    let (mut m, mut a) = setup(64);
    let bottom = a.map_stack(top, PG, &mut m.platform()).unwrap();
    anon(&mut a, &mut m, bottom - 0x20_0000, PG, RW, PRIV | MAP_FIXED).unwrap();
    let below_gap = bottom - 0x20_0000 + PG + a.config().stack_guard_gap;
    touch(&mut a, &mut m, below_gap, Access::Write).unwrap();
    assert_eq!(
        touch(&mut a, &mut m, below_gap - PG, Access::Write)
            .unwrap_err()
            .kind,
        FaultKind::MapErr
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn map_growsdown_user_mappings_grow_too() {
    let (mut m, mut a) = setup(64);
    let x = anon(
        &mut a,
        &mut m,
        0x4000_0000,
        PG,
        RW,
        PRIV | MAP_GROWSDOWN | MAP_FIXED,
    )
    .unwrap();
    touch(&mut a, &mut m, x - 1, Access::Write).unwrap();
    assert_eq!(a.find_vma(x - 1).unwrap().start, x - PG);
    assert_eq!(a.find_vma(x - 1).unwrap().kind(), VmaKind::Anonymous);
}

// ---------------------------------------------------------------- copy-on-write (for fork)

/// Makes the page at `addr` look like a fork shared it: an extra reference and no write bit.
fn share_like_fork(a: &mut Space, m: &mut FakeMachine, addr: u64) -> PhysFrame {
    let (frame, flags) = pte(a, addr).unwrap();
    m.frames.add_ref(frame).unwrap();
    a.page_table
        .protect(page_of(addr), flags - PteFlags::WRITABLE)
        .unwrap()
        .ignore();
    frame
}

#[test]
fn write_fault_on_a_shared_frame_copies_it() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    a.write_bytes(x, b"parent", &mut m.platform()).unwrap();
    let old = share_like_fork(&mut a, &mut m, x);
    check_invariants(&a, &m, 0);
    // mprotect must not make a shared frame writable.
    a.mprotect(x, PG, RW, &mut m.platform()).unwrap();
    assert!(!pte(&a, x).unwrap().1.contains(PteFlags::WRITABLE));
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    let (new, flags) = pte(&a, x).unwrap();
    assert_ne!(new, old);
    assert!(flags.contains(PteFlags::WRITABLE));
    assert_eq!(
        m.frames.ref_count(old),
        Some(1),
        "the other owner keeps the original"
    );
    assert_eq!(&m.bytes.contents(new)[..6], b"parent");
    check_invariants(&a, &m, 1);
    // Sole owner again: a write fault on a write-protected page just restores the bit.
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, RW, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    let f = share_like_fork(&mut a, &mut m, x);
    m.frames.release(f).unwrap();
    touch(&mut a, &mut m, x, Access::Write).unwrap();
    assert_eq!(
        pte(&a, x).unwrap(),
        (
            f,
            PteFlags::USER | PteFlags::WRITABLE | PteFlags::NO_EXECUTE
        )
    );
}

#[test]
fn kernel_writes_never_touch_a_shared_frame() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, PROT_READ, PRIV).unwrap();
    touch(&mut a, &mut m, x, Access::Read).unwrap();
    let old = share_like_fork(&mut a, &mut m, x);
    a.write_bytes(x, b"k", &mut m.platform()).unwrap();
    assert_eq!(m.bytes.contents(old)[0], 0, "the shared frame is unchanged");
    assert_eq!(read(&a, &m, x, 1), b"k");
    check_invariants(&a, &m, 1);
}

// ---------------------------------------------------------------- kernel access

#[test]
fn kernel_access_ignores_protection_but_needs_a_vma() {
    let (mut m, mut a) = setup(64);
    let x = a.map_fixed(
        0x40_0000,
        2 * PG,
        Prot::READ | Prot::EXEC,
        VmaKind::ElfSegment,
        &mut m.platform(),
    );
    assert_eq!(x, Ok(()));
    a.write_bytes(0x40_0ffe, b"code", &mut m.platform())
        .unwrap();
    a.zero_range(0x40_0fff, 2, &mut m.platform()).unwrap();
    assert_eq!(read(&a, &m, 0x40_0ffe, 4), b"c\0\0e");
    assert_eq!(
        pte(&a, 0x40_0000).unwrap().1,
        PteFlags::USER,
        "mapped with the VMA's protection"
    );
    let err = a
        .write_bytes(0x40_1ff0, &[1; 32], &mut m.platform())
        .unwrap_err();
    assert_eq!(
        err,
        FaultError {
            addr: 0x40_2000,
            kind: FaultKind::MapErr
        },
        "stops at the VMA's end"
    );
    let mut b = [0u8; 2];
    assert_eq!(
        a.read_bytes(0x40_1fff, &mut b, &m.bytes).unwrap_err().addr,
        0x40_2000
    );
    assert_eq!(
        a.map_fixed(
            0x40_0001,
            PG,
            Prot::READ,
            VmaKind::ElfSegment,
            &mut m.platform()
        ),
        Err(Errno::EINVAL)
    );
    check_invariants(&a, &m, 0);
}

#[test]
fn user_memory_honours_protection() {
    let (mut m, mut a) = setup(64);
    let ro = anon(&mut a, &mut m, 0x10_0000, PG, PROT_READ, PRIV | MAP_FIXED).unwrap();
    let rw = anon(&mut a, &mut m, 0x10_1000, PG, RW, PRIV | MAP_FIXED).unwrap();
    let mut p = m.platform();
    let mut mem = a.user_memory(&mut p);
    let fault = |addr| {
        Err(Fault {
            addr: UserAddr::new(addr),
        })
    };
    assert_eq!(mem.copy_out(UserAddr::new(ro), b"x"), fault(ro));
    // A copy that starts in the writable page and runs past it faults at the boundary.
    assert_eq!(
        mem.copy_out(UserAddr::new(rw + PG - 2), b"abcd"),
        fault(rw + PG)
    );
    assert_eq!(mem.copy_out(UserAddr::new(rw + 10), b"hello"), Ok(()));
    let mut buf = [0u8; 5];
    assert_eq!(mem.copy_in(UserAddr::new(rw + 10), &mut buf), Ok(()));
    assert_eq!(&buf, b"hello");
    // Reading across from the read-only page works (zeros, nothing populated).
    let mut two = [9u8; 2];
    assert_eq!(mem.copy_in(UserAddr::new(rw - 1), &mut two), Ok(()));
    assert_eq!(two, [0, 0]);
    assert_eq!(mem.copy_in(UserAddr::new(0x5000), &mut two), fault(0x5000));
    assert_eq!(
        mem.copy_in(UserAddr::new(u64::MAX), &mut two),
        fault(u64::MAX)
    );
    assert!(pte(&a, ro).is_none(), "copy_in does not populate");
}

#[test]
fn user_memory_through_oxv_abi_pointers() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, 0, PG, RW, PRIV).unwrap();
    let mut p = m.platform();
    let mut mem = a.user_memory(&mut p);
    let ptr: oxv_abi::UserPtr<u64> = oxv_abi::UserPtr::new(x + 8);
    ptr.write(&mut mem, &0xfeed).unwrap();
    assert_eq!(ptr.read(&mem), Ok(0xfeed));
}

// ---------------------------------------------------------------- teardown

#[test]
fn teardown_returns_every_frame() {
    let (mut m, mut a) = setup(128);
    a.init_brk(0x60_0000);
    let mut p = m.platform();
    a.brk(0x60_0000 + 3 * PG, &mut p);
    a.map_stack(0x7ff0_0000_0000, 4 * PG, &mut p).unwrap();
    a.mmap(
        MmapArgs::anonymous(0, 8 * PG, RW, PRIV | MAP_POPULATE),
        &mut p,
    )
    .unwrap();
    a.mmap(
        MmapArgs::anonymous(0x1_0000_0000, 2 * PG, RW, PRIV | MAP_POPULATE | MAP_FIXED),
        &mut p,
    )
    .unwrap();
    a.handle_fault(0x60_0000, Access::Write, &mut p).unwrap();
    a.handle_fault(0x7ff0_0000_0000 - 1, Access::Write, &mut p)
        .unwrap();
    assert!(a.page_table.table_frames() >= 3);
    check_invariants(&a, &m, 0);
    let pt = a.teardown(&mut m.platform());
    assert_eq!(pt.table_frames(), 0);
    assert_eq!(pt.entries().count(), 0);
    assert_eq!(m.frames.free_frames(), 128);
}

#[test]
fn unmap_all_keeps_the_page_table_usable() {
    let (mut m, mut a) = setup(64);
    anon(&mut a, &mut m, 0, 4 * PG, RW, PRIV | MAP_POPULATE).unwrap();
    a.unmap_all(&mut m.platform());
    assert_eq!(a.vmas().count(), 0);
    assert_eq!(used_frames(&m), a.page_table.table_frames());
    anon(&mut a, &mut m, 0, PG, RW, PRIV | MAP_POPULATE).unwrap();
    check_invariants(&a, &m, 0);
}

#[test]
fn fake_frames_poison_unwritten_frames() {
    let f = FakeFrames::new();
    let frame = PhysFrame::from_number(5);
    assert!(f.contents(frame).iter().all(|&b| b == FakeFrames::POISON));
}
