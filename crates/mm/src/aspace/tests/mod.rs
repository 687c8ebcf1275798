//! Tests of the address space, by topic; helpers and the invariant checker live here.

use super::*;
use crate::addr::PAGE_SIZE_U64 as PG;
use crate::fake::{FakeFrames, FakeMachine, FakePageTable};
use crate::vma::VmaKind;
use linux_raw_sys::general::{
    MAP_32BIT, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_HUGETLB,
    MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_STACK,
    PROT_EXEC, PROT_GROWSDOWN, PROT_NONE, PROT_READ, PROT_WRITE,
};
use oxv_abi::{Errno, Fault, UserAddr, UserMemory};
use std::sync::Arc;
use std::vec;
use std::vec::Vec;

pub(super) const MMAP_BASE: u64 = 0x7f00_0000_0000;
const RW: u32 = PROT_READ | PROT_WRITE;
const PRIV: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

pub(super) type Space = AddressSpace<FakePageTable>;

pub(super) fn setup(frames: usize) -> (FakeMachine, Space) {
    (
        FakeMachine::new(frames),
        AddressSpace::new(FakePageTable::new(), AddressSpaceConfig::new(MMAP_BASE)),
    )
}

fn anon(
    a: &mut Space,
    m: &mut FakeMachine,
    addr: u64,
    len: u64,
    prot: u32,
    flags: u32,
) -> Result<u64, Errno> {
    a.mmap(
        MmapArgs::anonymous(addr, len, prot, flags),
        &mut m.platform(),
    )
}

fn touch(a: &mut Space, m: &mut FakeMachine, addr: u64, access: Access) -> Result<(), FaultError> {
    a.handle_fault(addr, access, &mut m.platform())
}

fn read(a: &Space, m: &FakeMachine, addr: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    a.read_bytes(addr, &mut buf, &m.bytes).unwrap();
    buf
}

fn pte(a: &Space, addr: u64) -> Option<(PhysFrame, PteFlags)> {
    a.page_table.translate(page_of(addr))
}

fn used_frames(m: &FakeMachine) -> usize {
    m.frames.total_frames() - m.frames.free_frames()
}

/// Checks every invariant of the module docs. `extra_refs` counts frame references held
/// outside the address space (by the test).
#[track_caller]
pub(super) fn check_invariants(a: &Space, m: &FakeMachine, extra_frames: usize) {
    let vmas: Vec<&Vma> = a.vmas().collect();
    for (k, v) in &a.vmas {
        assert_eq!(*k, v.start, "VMA keyed by its start");
        assert!(
            v.start < v.end && v.start % PG == 0 && v.end % PG == 0,
            "bad VMA {v:?}"
        );
        assert!(v.end <= USER_TOP);
    }
    for w in vmas.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "overlapping VMAs {:?} {:?}",
            w[0],
            w[1]
        );
        assert!(
            !w[0].can_merge(w[1]),
            "unmerged neighbours {:?} {:?}",
            w[0],
            w[1]
        );
    }
    let mut entries = 0;
    for (page, frame, flags) in a.page_table.entries() {
        entries += 1;
        let addr = page.start_address().as_u64();
        let vma = a
            .find_vma(addr)
            .unwrap_or_else(|| panic!("PTE at {addr:#x} outside every VMA"));
        let want = pte_flags(vma.prot);
        let shared_cow =
            !vma.flags.contains(VmaFlags::SHARED) && m.frames.ref_count(frame) > Some(1);
        let expected = if shared_cow {
            want - PteFlags::WRITABLE
        } else {
            want
        };
        assert_eq!(flags, expected, "PTE flags at {addr:#x} for {vma:?}");
        assert!(
            m.frames.ref_count(frame).is_some(),
            "mapped frame not allocated"
        );
    }
    assert_eq!(a.resident_pages(), entries, "resident count");
    assert_eq!(
        used_frames(m),
        entries + a.page_table.table_frames() + extra_frames,
        "frame accounting: pages + tables"
    );
}

mod faults;
mod mapping;
mod model;
