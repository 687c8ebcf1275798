//! The per-request commit limit (Linux's `vm.overcommit_memory=0` heuristic).

use super::*;

const LIMIT: u64 = 64 * PG;

fn limited(frames: usize) -> (FakeMachine, Space) {
    let mut config = AddressSpaceConfig::new(MMAP_BASE);
    config.commit_limit = LIMIT;
    (
        FakeMachine::new(frames),
        AddressSpace::new(FakePageTable::new(), config),
    )
}

#[test]
fn a_private_writable_mapping_larger_than_the_limit_is_enomem() {
    let (mut m, mut a) = limited(16);
    assert_eq!(
        anon(&mut a, &mut m, 0, LIMIT + PG, RW, PRIV),
        Err(Errno::ENOMEM)
    );
    assert!(a.vmas.is_empty());
    // Exactly the limit is fine, and requests are judged one by one, not summed.
    anon(&mut a, &mut m, 0, LIMIT, RW, PRIV).unwrap();
    anon(&mut a, &mut m, 0, LIMIT, RW, PRIV).unwrap();
}

#[test]
fn uncharged_mappings_are_not_limited() {
    let (mut m, mut a) = limited(16);
    let big = 1 << 40;
    anon(&mut a, &mut m, 0, big, PROT_READ, PRIV).unwrap();
    anon(&mut a, &mut m, 0, big, PROT_NONE, PRIV).unwrap();
    anon(&mut a, &mut m, 0, big, RW, PRIV | MAP_NORESERVE).unwrap();
    anon(
        &mut a,
        &mut m,
        0,
        big,
        RW,
        MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
    )
    .unwrap();
    // Shared anonymous memory is charged whatever its protection.
    assert_eq!(
        anon(
            &mut a,
            &mut m,
            0,
            big,
            PROT_READ,
            MAP_SHARED | MAP_ANONYMOUS
        ),
        Err(Errno::ENOMEM)
    );
}

#[test]
fn a_failed_fixed_mapping_leaves_the_old_one_in_place() {
    let (mut m, mut a) = limited(16);
    let at = anon(&mut a, &mut m, 0, 4 * PG, RW, PRIV).unwrap();
    touch(&mut a, &mut m, at, Access::Write).unwrap();
    assert_eq!(
        anon(&mut a, &mut m, at, LIMIT * 2, RW, PRIV | MAP_FIXED),
        Err(Errno::ENOMEM)
    );
    assert!(pte(&a, at).is_some());
}

#[test]
fn mprotect_to_writable_is_charged_per_mapping() {
    let (mut m, mut a) = limited(16);
    let big = anon(&mut a, &mut m, 0, 2 * LIMIT, PROT_NONE, PRIV).unwrap();
    assert_eq!(
        a.mprotect(big, 2 * LIMIT, RW, &mut m.platform()),
        Err(Errno::ENOMEM)
    );
    assert_eq!(a.find_vma(big).unwrap().prot, Prot::empty());
    // Part of it, within the limit, may become writable.
    a.mprotect(big, LIMIT, RW, &mut m.platform()).unwrap();
    // Already charged memory is not charged again.
    a.mprotect(big, LIMIT, PROT_READ, &mut m.platform())
        .unwrap();
    a.mprotect(big, LIMIT, RW, &mut m.platform()).unwrap();
}

#[test]
fn brk_and_mremap_growth_are_charged_by_the_growth() {
    let (mut m, mut a) = limited(16);
    a.init_brk(0x60_0000);
    {
        let mut p = m.platform();
        assert_eq!(a.brk(0x60_0000 + LIMIT + PG, &mut p), 0x60_0000);
        assert_eq!(a.brk(0x60_0000 + LIMIT, &mut p), 0x60_0000 + LIMIT);
        assert_eq!(a.brk(0x60_0000 + 2 * LIMIT, &mut p), 0x60_0000 + 2 * LIMIT);
    }

    let at = anon(&mut a, &mut m, 0, LIMIT, RW, PRIV).unwrap();
    let mut p = m.platform();
    let maymove = u64::from(linux_raw_sys::general::MREMAP_MAYMOVE);
    assert_eq!(
        a.mremap(at, LIMIT, 2 * LIMIT + PG, maymove, 0, &mut p),
        Err(Errno::ENOMEM)
    );
    a.mremap(at, LIMIT, 2 * LIMIT, maymove, 0, &mut p).unwrap();
}
