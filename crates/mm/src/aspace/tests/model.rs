//! A randomized property test: mmap/munmap/mprotect/brk/fault/kernel-write sequences run
//! against the address space and against a reference model (a `BTreeMap` page -> protection
//! and content tag), compared after every operation, together with every invariant of the
//! module (VMA shape, page-table entries, frame accounting).

use super::*;
use crate::addr::PAGE_SIZE_U64 as PG;
use crate::fake::{FakeMachine, FakePageTable};
use crate::testing::XorShift;
use linux_raw_sys::general::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_PRIVATE,
};
use oxv_abi::Errno;
use std::collections::BTreeMap;
use std::format;
use std::string::String;

const WIN: u64 = 0x1000_0000;
const WIN_PAGES: u64 = 48;
const PRIV: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

#[derive(Default)]
struct Model {
    /// Page address -> (protection, tag written at offset 0; `None` reads as zero).
    pages: BTreeMap<u64, (Prot, Option<u8>)>,
    mmap_base: u64,
    min_addr: u64,
    brk_start: u64,
    brk: u64,
}

impl Model {
    fn is_free(&self, start: u64, end: u64) -> bool {
        self.pages.range(start..end).next().is_none()
    }

    fn set(&mut self, start: u64, end: u64, prot: Prot) {
        for p in (start..end).step_by(PG as usize) {
            self.pages.insert(p, (prot, None));
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
                Some(entry) => entry.0 = prot,
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
            self.set(old_top, new_top, Prot::READ | Prot::WRITE);
            self.brk = req;
        }
        self.brk
    }

    fn fault(&self, addr: u64, access: Access) -> Result<(), FaultKind> {
        let (prot, _) = self.pages.get(&page_floor(addr)).ok_or(FaultKind::MapErr)?;
        let ok = match access {
            Access::Read => !prot.is_empty(),
            Access::Write => prot.contains(Prot::WRITE),
            Access::Execute => prot.contains(Prot::EXEC),
        };
        if ok { Ok(()) } else { Err(FaultKind::AccErr) }
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
            pages.insert(p, v.prot());
        }
    }
    let expected: BTreeMap<u64, Prot> = model.pages.iter().map(|(&k, &(p, _))| (k, p)).collect();
    assert_eq!(
        pages, expected,
        "VMA map differs from the model after {what}"
    );
    for (&p, &(_, tag)) in &model.pages {
        let mut b = [0u8; 1];
        a.read_bytes(p, &mut b, &m.bytes).unwrap();
        assert_eq!(b[0], tag.unwrap_or(0), "content of {p:#x} after {what}");
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
    for seed in 1..=24u64 {
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
        let _ = MMAP_BASE;
        for step in 0..400 {
            let what: String;
            match rng.below(100) {
                0..=17 => {
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
                        model.set(start, end, prot);
                    }
                }
                18..=29 => {
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
                    model.set(expected, expected + pages * PG, prot);
                }
                30..=41 => {
                    let start = random_page(&mut rng);
                    let len = 1 + rng.below(8 * PG);
                    what = format!("munmap {start:#x} len {len:#x}");
                    assert_eq!(a.munmap(start, len, &mut m.platform()), Ok(()), "{what}");
                    model.remove(start, start + len.next_multiple_of(PG));
                }
                42..=55 => {
                    let start = random_page(&mut rng);
                    let len = 1 + rng.below(8 * PG);
                    let prot = random_prot(&mut rng);
                    what = format!("mprotect {start:#x} len {len:#x} {prot:?}");
                    let got = a.mprotect(start, len, prot.bits(), &mut m.platform());
                    let expected = model.mprotect(start, start + len.next_multiple_of(PG), prot);
                    assert_eq!(got, expected, "{what}");
                }
                56..=75 => {
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
                76..=85 => {
                    let page = random_page(&mut rng);
                    let tag = 1 + rng.below(255) as u8;
                    what = format!("write_bytes {page:#x} = {tag}");
                    let got = a.write_bytes(page, &[tag], &mut m.platform());
                    match model.pages.get_mut(&page) {
                        Some(entry) => {
                            assert_eq!(got, Ok(()), "{what}");
                            entry.1 = Some(tag);
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
