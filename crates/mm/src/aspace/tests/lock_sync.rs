//! The mlock family, msync and mincore (each errno case checked against Linux 6.18).

use super::*;
use crate::aspace::mincore;
use linux_raw_sys::general::{
    MAP_LOCKED, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT, MS_ASYNC, MS_INVALIDATE,
    MS_SYNC,
};
use oxv_abi::user::fake::FakeUserMemory;

const BASE: u64 = 0x10_0000;

/// Four read-write pages at BASE with a hole at page 2.
fn holed(a: &mut Space, m: &mut FakeMachine) -> u64 {
    let x = anon(a, m, BASE, 4 * PG, RW, PRIV | MAP_FIXED).unwrap();
    a.munmap(x + 2 * PG, PG, &mut m.platform()).unwrap();
    x
}

fn locked(a: &Space, at: u64) -> bool {
    a.find_vma(at).unwrap().flags().contains(VmaFlags::LOCKED)
}

// ---------------------------------------------------------------- mlock

#[test]
fn mlock_locks_and_populates_and_munlock_undoes_it() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, BASE, 4 * PG, RW, PRIV | MAP_FIXED).unwrap();
    // An unaligned start rounds down; the length covers the last byte.
    a.mlock(x + 5, PG, 0, None, &mut m.platform()).unwrap();
    assert_eq!(a.vmas().count(), 2);
    assert!(locked(&a, x) && locked(&a, x + PG) && !locked(&a, x + 2 * PG));
    assert_eq!(a.resident_pages(), 2, "mlock populates");
    assert_eq!(a.locked_bytes(0, USER_TOP), 2 * PG);
    a.munlock(x, 4 * PG, &mut m.platform()).unwrap();
    assert_eq!(a.vmas().count(), 1);
    // MLOCK_ONFAULT locks without populating.
    a.mlock(
        x + 2 * PG,
        PG,
        MLOCK_ONFAULT as i32,
        None,
        &mut m.platform(),
    )
    .unwrap();
    assert!(
        a.find_vma(x + 2 * PG)
            .unwrap()
            .flags()
            .contains(VmaFlags::LOCK_ON_FAULT)
    );
    assert_eq!(a.resident_pages(), 2);
    check_invariants(&a, &m, 0);
}

#[test]
fn mlock_errno_cases() {
    let (mut m, mut a) = setup(64);
    let x = holed(&mut a, &mut m);
    let mut plat_err = |a: &mut Space, start, len, flags, limit| {
        a.mlock(start, len, flags, limit, &mut m.platform()).err()
    };
    assert_eq!(
        plat_err(&mut a, x, 4 * PG, 0, None),
        Some(Errno::ENOMEM),
        "hole"
    );
    assert!(locked(&a, x), "the VMA before the hole was locked");
    assert_eq!(
        plat_err(&mut a, x + 2 * PG, 0, 0, None),
        None,
        "empty range"
    );
    assert_eq!(
        plat_err(&mut a, x, u64::MAX, 0, None),
        None,
        "wraps to nothing"
    );
    assert_eq!(
        plat_err(&mut a, x, PG, 2, None),
        Some(Errno::EINVAL),
        "mlock2 flags"
    );
    assert_eq!(
        plat_err(&mut a, x, PG, 0, Some(0)),
        Some(Errno::EPERM),
        "no RLIMIT_MEMLOCK"
    );
    assert_eq!(
        plat_err(&mut a, USER_TOP - PG, 2 * PG, 0, None),
        Some(Errno::ENOMEM)
    );
    // The limit counts pages already locked once.
    assert_eq!(plat_err(&mut a, x, 2 * PG, 0, Some(2 * PG)), None);
    assert_eq!(
        plat_err(&mut a, x, 4 * PG, 0, Some(2 * PG)),
        Some(Errno::ENOMEM)
    );
    let none = anon(&mut a, &mut m, 0x40_0000, PG, PROT_NONE, PRIV | MAP_FIXED).unwrap();
    assert_eq!(
        a.mlock(none, PG, 0, None, &mut m.platform()),
        Err(Errno::ENOMEM),
        "PROT_NONE cannot be populated"
    );
    assert!(locked(&a, none), "but it is locked");
    assert_eq!(a.munlock(x, 4 * PG, &mut m.platform()), Err(Errno::ENOMEM));
    assert!(!locked(&a, x));
    check_invariants(&a, &m, 0);
}

#[test]
fn mlockall_current_and_future() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, BASE, 2 * PG, RW, PRIV | MAP_FIXED).unwrap();
    let plat = &mut m.platform();
    for bad in [0, MCL_ONFAULT, 8 | MCL_CURRENT] {
        assert_eq!(a.mlockall(bad as i32, None, plat), Err(Errno::EINVAL));
    }
    a.mlockall((MCL_CURRENT | MCL_FUTURE) as i32, None, plat)
        .unwrap();
    assert!(locked(&a, x));
    assert_eq!(a.resident_pages(), 2);
    let y = anon(&mut a, &mut m, 0, PG, RW, PRIV).unwrap();
    assert!(locked(&a, y), "MCL_FUTURE locks new mappings");
    assert_eq!(a.resident_pages(), 3, "and populates them");
    a.munlockall(&mut m.platform()).unwrap();
    let z = anon(&mut a, &mut m, 0, PG, RW, PRIV).unwrap();
    assert!(!locked(&a, x) && !locked(&a, y) && !locked(&a, z));
    assert_eq!(
        a.mlockall(MCL_CURRENT as i32, Some(PG), &mut m.platform()),
        Err(Errno::ENOMEM),
        "more mapped than the limit"
    );
    let w = anon(&mut a, &mut m, 0, PG, RW, PRIV | MAP_LOCKED).unwrap();
    assert!(locked(&a, w));
    check_invariants(&a, &m, 0);
}

// ---------------------------------------------------------------- msync

#[test]
fn msync_errno_cases() {
    let (mut m, mut a) = setup(64);
    let x = holed(&mut a, &mut m);
    fn sync(
        a: &mut Space,
        m: &mut FakeMachine,
        start: u64,
        len: u64,
        flags: u32,
    ) -> Result<(), Errno> {
        a.msync(start, len, flags as i32, &mut m.platform())
            .and_then(|p| p.finish(&FakeFrames::new()))
    }
    use Errno::*;
    assert_eq!(sync(&mut a, &mut m, x, PG, MS_ASYNC | MS_SYNC), Err(EINVAL));
    assert_eq!(sync(&mut a, &mut m, x, PG, 8), Err(EINVAL));
    assert_eq!(sync(&mut a, &mut m, x + 1, PG, MS_SYNC), Err(EINVAL));
    assert_eq!(sync(&mut a, &mut m, x, PG, 0), Ok(()));
    assert_eq!(
        sync(&mut a, &mut m, x + 2 * PG, 0, MS_SYNC),
        Ok(()),
        "len 0"
    );
    assert_eq!(
        sync(&mut a, &mut m, x, u64::MAX, MS_SYNC),
        Ok(()),
        "wraps to nothing"
    );
    assert_eq!(
        sync(&mut a, &mut m, x, 0u64.wrapping_sub(PG), MS_SYNC),
        Err(ENOMEM)
    );
    assert_eq!(sync(&mut a, &mut m, x + 2 * PG, PG, MS_SYNC), Err(ENOMEM));
    for flags in [MS_ASYNC, MS_SYNC, MS_INVALIDATE] {
        assert_eq!(
            sync(&mut a, &mut m, x, 4 * PG, flags),
            Err(ENOMEM),
            "hole, flags {flags}"
        );
    }
    assert_eq!(
        sync(&mut a, &mut m, x + 3 * PG, 2 * PG, MS_SYNC),
        Err(ENOMEM),
        "hole at the end"
    );
    assert_eq!(sync(&mut a, &mut m, x, 2 * PG, MS_SYNC), Ok(()));
    a.mlock(x, PG, 0, None, &mut m.platform()).unwrap();
    assert_eq!(sync(&mut a, &mut m, x, PG, MS_INVALIDATE), Err(EBUSY));
}

// ---------------------------------------------------------------- mincore

fn user_vec() -> FakeUserMemory {
    let mut mem = FakeUserMemory::new();
    mem.map(0x1000, 0x2000, true);
    mem
}

#[test]
fn mincore_reports_present_pages() {
    let (mut m, mut a) = setup(64);
    let x = anon(&mut a, &mut m, BASE, 4 * PG, RW, PRIV | MAP_FIXED).unwrap();
    touch(&mut a, &mut m, x + PG, Access::Write).unwrap();
    a.mprotect(x + 3 * PG, PG, PROT_NONE, &mut m.platform())
        .unwrap();
    touch(&mut a, &mut m, x + 2 * PG, Access::Read).unwrap();
    let mut mem = user_vec();
    let r = mincore::mincore(
        |s, o| a.mincore_chunk(s, o),
        &mut mem,
        x,
        4 * PG - 5,
        UserAddr::new(0x1000),
    );
    assert_eq!(r, Ok(0));
    assert_eq!(mem.peek(0x1000, 4), [0, 1, 1, 0]);
}

#[test]
fn mincore_errno_cases() {
    let (mut m, mut a) = setup(64);
    let x = holed(&mut a, &mut m);
    touch(&mut a, &mut m, x, Access::Read).unwrap();
    let mut mem = user_vec();
    let mut call = |start, len, vec| {
        mincore::mincore(
            |s, o| a.mincore_chunk(s, o),
            &mut mem,
            start,
            len,
            UserAddr::new(vec),
        )
    };
    assert_eq!(call(x + 1, PG, 0x1000), Err(Errno::EINVAL));
    assert_eq!(call(x, 4 * PG, 0x1000), Err(Errno::ENOMEM), "hole");
    assert_eq!(
        call(USER_TOP, PG, 0x1000),
        Err(Errno::ENOMEM),
        "outside the user half"
    );
    assert_eq!(call(x, u64::MAX, 0x1000), Err(Errno::ENOMEM));
    assert_eq!(
        call(x, PG, 0xffff_8000_0000_0000),
        Err(Errno::EFAULT),
        "vector not user"
    );
    assert_eq!(call(x, PG, 8), Err(Errno::EFAULT), "vector unmapped");
    assert_eq!(
        call(x + 2 * PG, PG, 0),
        Err(Errno::ENOMEM),
        "lookup before the copy"
    );
    assert_eq!(call(x + 2 * PG, 0, 8), Ok(0), "len 0");
    // The bytes before the hole were written.
    assert_eq!(mem.peek(0x1000, 2), [1, 0]);
}

#[test]
fn mincore_sees_untouched_shared_pages_and_cached_file_pages() {
    let (mut m, mut a) = setup(64);
    let s = anon(&mut a, &mut m, 0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS).unwrap();
    a.write_bytes(s, &[1], &mut m.platform()).unwrap();
    a.madvise(
        s,
        PG,
        linux_raw_sys::general::MADV_DONTNEED as i32,
        &mut m.platform(),
    )
    .unwrap();
    let mut out = [9u8; 2];
    assert_eq!(a.mincore_chunk(s, &mut out), Ok(2));
    assert_eq!(out, [1, 0], "the object still holds page 0");
    // A chunk stops at the end of the VMA.
    let mut long = [9u8; 8];
    assert_eq!(a.mincore_chunk(s + PG, &mut long), Ok(1));
    check_invariants(&a, &m, 1);
}
