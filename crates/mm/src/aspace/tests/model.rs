//! A randomized property test: mmap/munmap/mprotect/mremap/madvise/brk/fault/kernel-write
//! sequences run against the address space and against a reference model (a `BTreeMap` page
//! -> protection, origin and content tag), compared after every operation, together with
//! every invariant of the module (VMA shape, page-table entries, frame accounting).
//!
//! The model works page by page. Where Linux's answer depends on VMA boundaries (mremap needs
//! its old range inside one VMA and grows in place only at a VMA's end), it asks the address
//! space for its VMAs before the call: which pages form one VMA is checked separately (the
//! invariants require maximal merging), what is done with them is checked here.

use super::*;
use crate::addr::PAGE_SIZE_U64 as PG;
use crate::fake::{FakeMachine, FakePageTable};
use crate::testing::XorShift;
use linux_raw_sys::general::{
    MADV_DONTFORK, MADV_DONTNEED, MADV_FREE, MADV_NORMAL, MADV_RANDOM, MADV_WILLNEED,
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_PRIVATE, MREMAP_DONTUNMAP,
    MREMAP_FIXED, MREMAP_MAYMOVE,
};
use oxv_abi::Errno;
use std::collections::BTreeMap;
use std::format;
use std::string::String;

const WIN: u64 = 0x1000_0000;
const WIN_PAGES: u64 = 48;
const PRIV: u32 = MAP_PRIVATE | MAP_ANONYMOUS;
const MAYMOVE: u64 = MREMAP_MAYMOVE as u64;
const FIXED: u64 = MREMAP_FIXED as u64;
const DONTUNMAP: u64 = MREMAP_DONTUNMAP as u64;

/// One page of the model.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
struct ModelPage {
    prot: Prot,
    /// Created by brk (a different VMA kind from mmap'ed memory).
    heap: bool,
    /// The byte written at offset 0; `None` reads as zero.
    tag: Option<u8>,
}

#[derive(Default)]
struct Model {
    pages: BTreeMap<u64, ModelPage>,
    mmap_base: u64,
    min_addr: u64,
    brk_start: u64,
    brk: u64,
}

/// The VMAs of the real address space before an operation: `(start, end)`.
type Vmas = Vec<(u64, u64)>;

fn vma_at(vmas: &Vmas, addr: u64) -> Option<(u64, u64)> {
    vmas.iter().copied().find(|&(s, e)| s <= addr && addr < e)
}

fn align(len: u64) -> u64 {
    len.wrapping_add(PG - 1) & !(PG - 1)
}

impl Model {
    fn is_free(&self, start: u64, end: u64) -> bool {
        self.pages.range(start..end).next().is_none()
    }

    fn set(&mut self, start: u64, end: u64, prot: Prot, heap: bool) {
        for p in (start..end).step_by(PG as usize) {
            self.pages.insert(
                p,
                ModelPage {
                    prot,
                    heap,
                    tag: None,
                },
            );
        }
    }

    fn remove(&mut self, start: u64, end: u64) {
        let keys: Vec<u64> = self.pages.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            self.pages.remove(&k);
        }
    }

    /// Where a non-fixed mmap must land: the hint if free, else the highest free range below
    /// the base.
    fn placement(&self, hint: u64, len: u64) -> u64 {
        if hint != 0 {
            let h = page_floor(hint.max(self.min_addr));
            if self.is_free(h, h + len) {
                return h;
            }
        }
        let mut a = self.mmap_base - len;
        while !self.is_free(a, a + len) {
            a -= PG;
        }
        a
    }

    fn mprotect(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), Errno> {
        if !self.pages.contains_key(&start) {
            return Err(Errno::ENOMEM);
        }
        let mut p = start;
        while p < end {
            match self.pages.get_mut(&p) {
                Some(page) => page.prot = prot,
                None => return Err(Errno::ENOMEM),
            }
            p += PG;
        }
        Ok(())
    }

    fn brk(&mut self, req: u64) -> u64 {
        if req < self.brk_start {
            return self.brk;
        }
        let (new_top, old_top) = (req.next_multiple_of(PG), self.brk.next_multiple_of(PG));
        if new_top == old_top {
            self.brk = req;
        } else if req <= self.brk {
            self.brk = req;
            self.remove(new_top, old_top);
        } else if self.is_free(old_top, new_top + PG) {
            self.set(old_top, new_top, Prot::READ | Prot::WRITE, true);
            self.brk = req;
        }
        self.brk
    }

    fn fault(&self, addr: u64, access: Access) -> Result<(), FaultKind> {
        let page = self.pages.get(&page_floor(addr)).ok_or(FaultKind::MapErr)?;
        let ok = match access {
            Access::Read => !page.prot.is_empty(),
            Access::Write => page.prot.contains(Prot::WRITE),
            Access::Execute => page.prot.contains(Prot::EXEC),
        };
        if ok { Ok(()) } else { Err(FaultKind::AccErr) }
    }

    /// madvise for the advice the test uses: drop contents or nothing; `ENOMEM` if any page
    /// of the range is unmapped (after advising the others).
    fn madvise(&mut self, start: u64, len: u64, advice: u32) -> Result<(), Errno> {
        let end = start + align(len);
        let mut hole = false;
        for p in (start..end).step_by(PG as usize) {
            match self.pages.get_mut(&p) {
                Some(page) if advice == MADV_DONTNEED || advice == MADV_FREE => page.tag = None,
                Some(_) => {}
                None => hole = true,
            }
        }
        if hole { Err(Errno::ENOMEM) } else { Ok(()) }
    }

    /// Moves `[from, from + old_len)` to `to`, growing it to `new_len` with untouched pages of
    /// the same kind; the old range is unmapped, or emptied with `DONTUNMAP`.
    fn move_range(&mut self, from: u64, old_len: u64, new_len: u64, to: u64, dontunmap: bool) {
        let proto = self.pages[&from];
        let moved: Vec<(u64, ModelPage)> = (0..old_len / PG)
            .map(|i| (i, self.pages[&(from + i * PG)]))
            .collect();
        if dontunmap {
            for (i, _) in &moved {
                if let Some(p) = self.pages.get_mut(&(from + i * PG)) {
                    p.tag = None;
                }
            }
        } else {
            self.remove(from, from + old_len);
        }
        for (i, page) in moved {
            self.pages.insert(to + i * PG, page);
        }
        for i in old_len / PG..new_len / PG {
            self.pages
                .insert(to + i * PG, ModelPage { tag: None, ..proto });
        }
    }

    /// mremap, following mremap(2) page by page, with the real VMA boundaries `vmas`.
    fn mremap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
        vmas: &Vmas,
    ) -> Result<u64, Errno> {
        let (mut old_len, new_len) = (align(old_len), align(new_len));
        if flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0 || addr % PG != 0 || new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let implies_new = flags & (FIXED | DONTUNMAP) != 0;
        if implies_new
            && (flags & MAYMOVE == 0
                || (flags & DONTUNMAP != 0 && old_len != new_len)
                || (addr + old_len > new_addr && new_addr + new_len > addr))
        {
            return Err(Errno::EINVAL);
        }
        if flags & FIXED != 0 && old_len == new_len {
            // Every VMA in the range moves, gaps kept.
            let pieces: Vec<(u64, u64)> = vmas
                .iter()
                .filter(|&&(s, e)| s < addr + old_len && e > addr)
                .map(|&(s, e)| (s.max(addr), e.min(addr + old_len)))
                .collect();
            if pieces.first().is_none_or(|&(s, _)| s != addr) {
                return Err(Errno::EFAULT);
            }
            for (s, e) in pieces {
                let to = new_addr + (s - addr);
                self.remove(to, to + (e - s));
                self.move_range(s, e - s, e - s, to, flags & DONTUNMAP != 0);
            }
            return Ok(new_addr);
        }
        let (_, vend) = vma_at(vmas, addr).ok_or(Errno::EFAULT)?;
        if new_len > old_len || implies_new {
            if old_len == 0 {
                return Err(Errno::EINVAL);
            }
            // What stays of the old range must lie in its VMA.
            if old_len.min(new_len) > vend - addr {
                return Err(Errno::EFAULT);
            }
        }
        if implies_new {
            if flags & FIXED != 0 {
                self.remove(new_addr, new_addr + new_len);
            }
            if old_len > new_len {
                self.remove(addr + new_len, addr + old_len);
                old_len = new_len;
            }
            let to = if flags & FIXED != 0 {
                new_addr
            } else {
                // MREMAP_DONTUNMAP: `new_addr` is a hint.
                self.placement(new_addr, new_len)
            };
            self.move_range(addr, old_len, new_len, to, flags & DONTUNMAP != 0);
            return Ok(to);
        }
        if new_len <= old_len {
            self.remove(addr + new_len, addr + old_len);
            return Ok(addr);
        }
        let end = vend + (new_len - old_len);
        if vend - addr == old_len && self.is_free(vend, end) {
            let proto = self.pages[&addr];
            for p in (vend..end).step_by(PG as usize) {
                self.pages.insert(p, ModelPage { tag: None, ..proto });
            }
            return Ok(addr);
        }
        if flags & MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        let to = self.placement(0, new_len);
        self.move_range(addr, old_len, new_len, to, false);
        Ok(to)
    }
}

fn random_prot(rng: &mut XorShift) -> Prot {
    Prot::from_bits_truncate(rng.below(8) as u32)
}

fn random_page(rng: &mut XorShift) -> u64 {
    // A little outside the window too, to hit edges and holes.
    WIN - 4 * PG + rng.below(WIN_PAGES + 8) * PG
}

#[track_caller]
fn compare(a: &Space, m: &FakeMachine, model: &Model, what: &str) {
    let mut pages = BTreeMap::new();
    for v in a.vmas() {
        for p in (v.start()..v.end()).step_by(PG as usize) {
            pages.insert(p, (v.prot(), v.kind() == VmaKind::Heap));
        }
    }
    let expected: BTreeMap<u64, (Prot, bool)> = model
        .pages
        .iter()
        .map(|(&k, p)| (k, (p.prot, p.heap)))
        .collect();
    assert_eq!(
        pages, expected,
        "VMA map differs from the model after {what}"
    );
    for (&p, page) in &model.pages {
        let mut b = [0u8; 1];
        a.read_bytes(p, &mut b, &m.bytes).unwrap();
        assert_eq!(
            b[0],
            page.tag.unwrap_or(0),
            "content of {p:#x} after {what}"
        );
    }
    assert_eq!(
        a.brk_range(),
        (model.brk_start, model.brk),
        "brk after {what}"
    );
    check_invariants(a, m, 0);
}

#[test]
fn random_operations_match_the_model() {
    for seed in 1..=16u64 {
        let mut rng = XorShift::new(seed.wrapping_mul(0x5851_f42d_4c95_7f2d));
        let mut m = FakeMachine::new(1024);
        let mut config = AddressSpaceConfig::new(WIN + WIN_PAGES * PG);
        config.min_addr = 0x1_0000;
        let mut a = AddressSpace::new(FakePageTable::new(), config);
        let brk_start = WIN + rng.below(8) * PG;
        a.init_brk(brk_start);
        let mut model = Model {
            mmap_base: config.mmap_base,
            min_addr: config.min_addr,
            brk_start,
            brk: brk_start,
            ..Model::default()
        };
        for step in 0..400 {
            let what: String;
            match rng.below(100) {
                0..=13 => {
                    let start = random_page(&mut rng);
                    let pages = 1 + rng.below(6);
                    let prot = random_prot(&mut rng);
                    let noreplace = rng.below(4) == 0;
                    let populate = if rng.below(3) == 0 { MAP_POPULATE } else { 0 };
                    let flags = PRIV
                        | populate
                        | if noreplace {
                            MAP_FIXED_NOREPLACE
                        } else {
                            MAP_FIXED
                        };
                    let len = pages * PG - rng.below(PG);
                    what = format!("mmap fixed {start:#x}+{pages} {prot:?} noreplace={noreplace}");
                    let got = a.mmap(
                        MmapArgs::anonymous(start, len, prot.bits(), flags),
                        &mut m.platform(),
                    );
                    let end = start + pages * PG;
                    if noreplace && !model.is_free(start, end) {
                        assert_eq!(got, Err(Errno::EEXIST), "{what}");
                    } else {
                        assert_eq!(got, Ok(start), "{what}");
                        model.remove(start, end);
                        model.set(start, end, prot, false);
                    }
                }
                14..=22 => {
                    let pages = 1 + rng.below(4);
                    let hint = if rng.below(2) == 0 {
                        0
                    } else {
                        random_page(&mut rng) + rng.below(PG)
                    };
                    let prot = random_prot(&mut rng);
                    what = format!("mmap hint {hint:#x} {pages} pages {prot:?}");
                    let got = a.mmap(
                        MmapArgs::anonymous(hint, pages * PG, prot.bits(), PRIV),
                        &mut m.platform(),
                    );
                    let expected = model.placement(hint, pages * PG);
                    assert_eq!(got, Ok(expected), "{what}");
                    model.set(expected, expected + pages * PG, prot, false);
                }
                23..=31 => {
                    let start = random_page(&mut rng);
                    let len = 1 + rng.below(8 * PG);
                    what = format!("munmap {start:#x} len {len:#x}");
                    assert_eq!(a.munmap(start, len, &mut m.platform()), Ok(()), "{what}");
                    model.remove(start, start + len.next_multiple_of(PG));
                }
                32..=41 => {
                    let start = random_page(&mut rng);
                    let len = 1 + rng.below(8 * PG);
                    let prot = random_prot(&mut rng);
                    what = format!("mprotect {start:#x} len {len:#x} {prot:?}");
                    let got = a.mprotect(start, len, prot.bits(), &mut m.platform());
                    let expected = model.mprotect(start, start + len.next_multiple_of(PG), prot);
                    assert_eq!(got, expected, "{what}");
                }
                42..=51 => {
                    let addr = random_page(&mut rng);
                    let mut old = rng.below(5) * PG;
                    if old > 0 && rng.below(4) == 0 {
                        old -= 1 + rng.below(PG - 1);
                    }
                    let new = (1 + rng.below(5)) * PG - rng.below(PG);
                    let (flags, to) = match rng.below(10) {
                        0..=2 => (0, 0),
                        3..=5 => (MAYMOVE, 0),
                        6 | 7 => (MAYMOVE | FIXED, random_page(&mut rng)),
                        8 => (MAYMOVE | DONTUNMAP, 0),
                        _ => (rng.below(16), random_page(&mut rng)),
                    };
                    let new = if flags & DONTUNMAP != 0 && rng.below(2) == 0 {
                        old
                    } else {
                        new
                    };
                    what =
                        format!("mremap {addr:#x} {old:#x} -> {new:#x} flags {flags} to {to:#x}");
                    let vmas: Vmas = a.vmas().map(|v| (v.start(), v.end())).collect();
                    let got = a.mremap(addr, old, new, flags, to, &mut m.platform());
                    let expected = model.mremap(addr, old, new, flags, to, &vmas);
                    assert_eq!(got, expected, "{what}");
                }
                52..=58 => {
                    let start = random_page(&mut rng);
                    let len = rng.below(6 * PG);
                    let advice = [
                        MADV_DONTNEED,
                        MADV_FREE,
                        MADV_WILLNEED,
                        MADV_NORMAL,
                        MADV_RANDOM,
                        MADV_DONTFORK,
                    ][rng.below(6) as usize];
                    what = format!("madvise {start:#x} len {len:#x} advice {advice}");
                    let got = a.madvise(start, len, advice as i32, &mut m.platform());
                    assert_eq!(got, model.madvise(start, len, advice), "{what}");
                }
                59..=74 => {
                    let addr = random_page(&mut rng) + rng.below(PG);
                    let access =
                        [Access::Read, Access::Write, Access::Execute][rng.below(3) as usize];
                    what = format!("fault {addr:#x} {access:?}");
                    let got = a
                        .handle_fault(addr, access, &mut m.platform())
                        .map_err(|e| {
                            assert_eq!(e.addr, addr);
                            e.kind
                        });
                    assert_eq!(got, model.fault(addr, access), "{what}");
                    if got.is_ok() {
                        let (frame, flags) = a
                            .page_table()
                            .translate(page_of(addr))
                            .expect("fault maps the page");
                        assert!(m.frames.ref_count(frame).is_some());
                        if access == Access::Write {
                            assert!(flags.contains(PteFlags::WRITABLE), "{what}");
                        }
                    }
                }
                75..=85 => {
                    let page = random_page(&mut rng);
                    let tag = 1 + rng.below(255) as u8;
                    what = format!("write_bytes {page:#x} = {tag}");
                    let got = a.write_bytes(page, &[tag], &mut m.platform());
                    match model.pages.get_mut(&page) {
                        Some(p) => {
                            assert_eq!(got, Ok(()), "{what}");
                            p.tag = Some(tag);
                        }
                        None => assert_eq!(got.unwrap_err().kind, FaultKind::MapErr, "{what}"),
                    }
                }
                _ => {
                    let req = match rng.below(4) {
                        0 => 0,
                        1 => brk_start.saturating_sub(rng.below(3 * PG)),
                        _ => brk_start + rng.below(24 * PG),
                    };
                    what = format!("brk {req:#x}");
                    let got = a.brk(req, &mut m.platform());
                    assert_eq!(got, model.brk(req), "{what}");
                }
            }
            let what = format!("seed {seed} step {step}: {what}");
            compare(&a, &m, &model, &what);
        }
        a.teardown(&mut m.platform());
        assert_eq!(
            m.frames.free_frames(),
            m.frames.total_frames(),
            "seed {seed}: teardown leaks"
        );
    }
}
