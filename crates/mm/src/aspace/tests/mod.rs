//! Tests of the address space, by topic; helpers and the invariant checker live here.

use super::*;
use crate::addr::PAGE_SIZE_U64 as PG;
use crate::addr::{PAGE_SIZE, PhysFrame};
use crate::fake::{FakeFrames, FakeMachine, FakePageTable};
use crate::frame::FrameSource;
use crate::paging::{FrameBytes, PteFlags};
use crate::vma::{MapSource, Prot, VmaKind};
use linux_raw_sys::general::{
    MAP_32BIT, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_HUGETLB,
    MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_STACK,
    PROT_EXEC, PROT_GROWSDOWN, PROT_NONE, PROT_READ, PROT_WRITE,
};
use oxv_abi::{Errno, Fault, UserAddr, UserMemory};
use std::collections::BTreeMap as Map;
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

/// Checks the invariants of one address space (VMA shape, entries inside VMAs with the right
/// flags, resident count) and adds how many times each frame is mapped to `mapped`.
#[track_caller]
fn check_space(a: &Space, m: &FakeMachine, mapped: &mut Map<u64, u32>) {
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
    let mut resident = 0;
    for (page, frame, flags) in a.page_table.entries() {
        resident += 1;
        let addr = page.start_address().as_u64();
        let vma = a
            .find_vma(addr)
            .unwrap_or_else(|| panic!("PTE at {addr:#x} outside every VMA"));
        let want = pte_flags(vma.prot);
        let refs = m.frames.ref_count(frame);
        assert!(refs.is_some(), "mapped frame {frame:?} not allocated");
        let private = !vma.flags.contains(VmaFlags::SHARED);
        // Read-only is always safe for private memory (a copy-on-write share whose other
        // owner left is write-enabled by the next write fault).
        let may_drop_write = private || vma.tracks_writes();
        let ok = flags == want || (may_drop_write && flags == want - PteFlags::WRITABLE);
        assert!(ok, "PTE flags {flags:?} at {addr:#x} for {vma:?}");
        if private && refs > Some(1) {
            assert!(
                !flags.contains(PteFlags::WRITABLE),
                "shared frame writable at {addr:#x}"
            );
        }
        *mapped.entry(frame.number()).or_default() += 1;
    }
    for (hp, block, flags) in a.page_table.huge_entries() {
        resident += crate::addr::HUGE_PAGE_PAGES;
        let start = hp.start_address().as_u64();
        let vma = a
            .find_vma(start)
            .unwrap_or_else(|| panic!("huge entry at {start:#x} outside every VMA"));
        assert!(
            vma.end >= hp.end(),
            "huge entry at {start:#x} crosses {vma:?}"
        );
        assert!(vma.is_private_anonymous(), "huge entry in {vma:?}");
        let want = pte_flags(vma.prot);
        let exclusive = m.frames.huge_ref_count(block) == Some(1);
        assert!(
            flags == want || flags == want - PteFlags::WRITABLE,
            "huge flags {flags:?} at {start:#x}"
        );
        if !exclusive {
            assert!(
                !flags.contains(PteFlags::WRITABLE),
                "shared huge page writable at {start:#x}"
            );
        }
        for i in 0..crate::addr::HUGE_PAGE_PAGES {
            *mapped.entry(block.frame(i).number()).or_default() += 1;
        }
    }
    assert_eq!(a.resident_pages(), resident, "resident count");
}

/// Checks every invariant of the module docs. `extra_frames` counts frames allocated outside
/// the address space's mappings and tables (by the test, or held only by a shared object).
#[track_caller]
pub(super) fn check_invariants(a: &Space, m: &FakeMachine, extra_frames: usize) {
    check_spaces(&[a], m, extra_frames);
}

/// [`check_invariants`] for several address spaces on one machine (after a fork).
#[track_caller]
pub(super) fn check_spaces(spaces: &[&Space], m: &FakeMachine, extra_frames: usize) {
    let mut mapped = Map::new();
    let mut tables = 0;
    for a in spaces {
        check_space(a, m, &mut mapped);
        tables += a.page_table.table_frames();
    }
    for (&frame, &n) in &mapped {
        let f = PhysFrame::from_number(frame);
        let refs = m
            .frames
            .ref_count(f)
            .or_else(|| {
                // An interior frame of a whole huge block: the block's count.
                let head = crate::addr::HugeFrame::from_start_address(crate::PhysAddr::new(
                    f.start_address().as_u64() & !(crate::HUGE_PAGE_SIZE as u64 - 1),
                ))?;
                m.frames.huge_ref_count(head)
            })
            .unwrap_or(0);
        assert!(
            refs >= n,
            "frame {f:?} mapped {n} times with {refs} references"
        );
    }
    assert_eq!(
        used_frames(m),
        mapped.len() + tables + extra_frames,
        "frame accounting: mapped frames + tables + extra"
    );
}

mod advice;
mod commit;
mod faults;
mod fork;
mod fork_model;
mod huge;
mod lock_sync;
mod mapping;
mod model;
mod proc;
mod remap;
mod shared;
