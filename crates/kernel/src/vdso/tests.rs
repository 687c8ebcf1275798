//! Host tests of the vDSO: the ELF structure glibc and musl rely on and the data-page layout
//! against `vvar.h` (`image`), and the code itself, loaded at random addresses in this
//! process with a fake data page below it and called, against `oxv_sched`'s system-call math
//! (`run`). This file reads the image the way the dynamic loaders do.

use super::*;
use goblin::elf::Elf;
use goblin::elf::dynamic::{DT_GNU_HASH, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_VERDEF, DT_VERSYM};
use oxv_abi::linux::time::ClockId;
use std::sync::OnceLock;

mod image;
mod run;

const VERSION: &str = "LINUX_2.6";

/// Linux's x86_64 vDSO exports these (each `__vdso_` name also without the prefix).
const EXPORTS: [&str; 5] = [
    "clock_gettime",
    "gettimeofday",
    "time",
    "clock_getres",
    "getcpu",
];

/// A page the image serves everything from (getcpu answers CPU 0).
const CONFIG: VvarConfig = VvarConfig {
    tsc_usable: true,
    getcpu: GetcpuSource::Fixed { cpu: 0, node: 0 },
};

/// The clocks the image computes itself.
const SERVED: [ClockId; 7] = [
    ClockId::Realtime,
    ClockId::Monotonic,
    ClockId::MonotonicRaw,
    ClockId::RealtimeCoarse,
    ClockId::MonotonicCoarse,
    ClockId::Boottime,
    ClockId::Tai,
];

fn elf() -> Elf<'static> {
    Elf::parse(image()).expect("the vDSO image is a valid ELF file")
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn cstr_at(b: &[u8], at: usize) -> &str {
    let end = at + b[at..].iter().position(|&c| c == 0).unwrap();
    std::str::from_utf8(&b[at..end]).unwrap()
}

/// The dynamic-section addresses a loader uses (the image is linked at 0 and its one
/// PT_LOAD starts at file offset 0, so addresses are file offsets; a test checks that).
struct DynInfo {
    strtab: usize,
    symtab: usize,
    hash: usize,
    gnu_hash: usize,
    versym: usize,
    verdef: usize,
}

fn dyn_value(tag: u64) -> Option<usize> {
    static DYNS: OnceLock<Vec<(u64, u64)>> = OnceLock::new();
    let dyns = DYNS.get_or_init(|| {
        let dynamic = elf().dynamic.expect("the image has a dynamic section");
        dynamic.dyns.iter().map(|d| (d.d_tag, d.d_val)).collect()
    });
    dyns.iter().find(|d| d.0 == tag).map(|d| d.1 as usize)
}

fn dyn_info() -> DynInfo {
    let get = |tag| dyn_value(tag).unwrap_or_else(|| panic!("dynamic tag {tag:#x} missing"));
    DynInfo {
        strtab: get(DT_STRTAB),
        symtab: get(DT_SYMTAB),
        hash: get(DT_HASH),
        gnu_hash: get(DT_GNU_HASH),
        versym: get(DT_VERSYM),
        verdef: get(DT_VERDEF),
    }
}

const SYM_SIZE: usize = 24;

struct Sym {
    name: String,
    info: u8,
    shndx: u16,
    value: u64,
}

fn sym(d: &DynInfo, i: usize) -> Sym {
    let b = image();
    let at = d.symtab + i * SYM_SIZE;
    Sym {
        name: cstr_at(b, d.strtab + u32_at(b, at) as usize).to_owned(),
        info: b[at + 4],
        shndx: u16_at(b, at + 6),
        value: u64_at(b, at + 8),
    }
}

/// The ELF hash (System V ABI), used by DT_HASH and in verdef entries.
fn elf_hash(name: &str) -> u32 {
    let mut h: u32 = 0;
    for &c in name.as_bytes() {
        h = (h << 4).wrapping_add(c as u32);
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// The name of the version symbol `i` is defined with (the verdef entry that versym names).
fn version_of(d: &DynInfo, i: usize) -> Option<String> {
    let b = image();
    let ndx = u16_at(b, d.versym + 2 * i) & 0x7fff;
    let mut def = d.verdef;
    loop {
        let (flags, def_ndx, hash, aux, next) = (
            u16_at(b, def + 2),
            u16_at(b, def + 4),
            u32_at(b, def + 8),
            u32_at(b, def + 12) as usize,
            u32_at(b, def + 16) as usize,
        );
        // VER_FLG_BASE marks the file's own name, not a version.
        if flags & 1 == 0 && def_ndx == ndx {
            let name = cstr_at(b, d.strtab + u32_at(b, def + aux) as usize).to_owned();
            // glibc compares the hash before the name.
            assert_eq!(hash, elf_hash(&name), "verdef hash of {name}");
            return Some(name);
        }
        if next == 0 {
            return None;
        }
        def += next;
    }
}

fn matches(d: &DynInfo, i: usize, name: &str, version: &str) -> bool {
    let s = sym(d, i);
    s.name == name && s.shndx != 0 && version_of(d, i).as_deref() == Some(version)
}

/// Looks `name@version` up through DT_HASH's buckets and chains (musl scans the same table).
fn lookup_sysv(name: &str, version: &str) -> Option<u64> {
    let (b, d) = (image(), dyn_info());
    let nbucket = u32_at(b, d.hash) as usize;
    let bucket = |n: usize| u32_at(b, d.hash + 8 + 4 * n) as usize;
    let chain = |n: usize| u32_at(b, d.hash + 8 + 4 * nbucket + 4 * n) as usize;
    let mut i = bucket(elf_hash(name) as usize % nbucket);
    while i != 0 {
        if matches(&d, i, name, version) {
            return Some(sym(&d, i).value);
        }
        i = chain(i);
    }
    None
}

/// Looks `name@version` up through DT_GNU_HASH, bloom filter first, as glibc does.
fn lookup_gnu(name: &str, version: &str) -> Option<u64> {
    let (b, d) = (image(), dyn_info());
    let g = d.gnu_hash;
    let (nbuckets, symoffset, bloom_size, bloom_shift) = (
        u32_at(b, g) as usize,
        u32_at(b, g + 4) as usize,
        u32_at(b, g + 8) as usize,
        u32_at(b, g + 12),
    );
    let h = name
        .bytes()
        .fold(5381u32, |h, c| h.wrapping_mul(33).wrapping_add(c as u32));
    let word = u64_at(b, g + 16 + 8 * ((h as usize / 64) % bloom_size));
    let mask = (1u64 << (h % 64)) | (1u64 << ((h >> bloom_shift) % 64));
    if word & mask != mask {
        return None;
    }
    let buckets = g + 16 + 8 * bloom_size;
    let chains = buckets + 4 * nbuckets;
    let mut i = u32_at(b, buckets + 4 * (h as usize % nbuckets)) as usize;
    if i == 0 {
        return None;
    }
    loop {
        let h2 = u32_at(b, chains + 4 * (i - symoffset));
        if h | 1 == h2 | 1 && matches(&d, i, name, version) {
            return Some(sym(&d, i).value);
        }
        if h2 & 1 != 0 {
            return None;
        }
        i += 1;
    }
}
