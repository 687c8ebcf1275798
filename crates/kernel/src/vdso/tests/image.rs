//! The image as a file: ELF structure, exports, note, and the data-page layout.

use super::*;
use core::mem::offset_of;
use goblin::elf::dynamic::{DT_JMPREL, DT_NEEDED, DT_REL, DT_RELA, DT_SONAME, DT_TEXTREL};
use goblin::elf::header::{EM_X86_64, ET_DYN};
use goblin::elf::program_header::{
    PF_R, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_NOTE, PT_TLS,
};
use goblin::elf::sym::{STB_GLOBAL, STB_WEAK, STT_FUNC};
use oxv_sched::clock::NSEC_PER_SEC;
use zerocopy::FromZeros;

#[test]
fn image_is_a_relocation_free_x86_64_shared_object() {
    let elf = elf();
    assert_eq!(elf.header.e_type, ET_DYN);
    assert_eq!(elf.header.e_machine, EM_X86_64);
    assert!(elf.is_64 && elf.little_endian);
    assert_eq!(elf.soname, Some("linux-vdso.so.1"));
    assert!(elf.dynrelas.is_empty() && elf.dynrels.is_empty() && elf.pltrelocs.is_empty());
    for tag in [DT_RELA, DT_REL, DT_JMPREL, DT_TEXTREL, DT_NEEDED] {
        assert_eq!(dyn_value(tag), None, "dynamic tag {tag:#x}");
    }
    for tag in [
        DT_HASH,
        DT_GNU_HASH,
        DT_SYMTAB,
        DT_STRTAB,
        DT_VERSYM,
        DT_VERDEF,
        DT_SONAME,
    ] {
        assert!(dyn_value(tag).is_some(), "dynamic tag {tag:#x}");
    }
    // No section that would need writing or relocating at load time.
    for sh in &elf.section_headers {
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap();
        assert!(
            !name.starts_with(".rela") && !name.starts_with(".got") && !name.starts_with(".data"),
            "section {name}"
        );
    }
}

#[test]
fn one_read_exec_load_segment_holds_everything_at_address_zero() {
    let elf = elf();
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .collect();
    assert_eq!(loads.len(), 1);
    let load = loads[0];
    assert_eq!(load.p_flags, PF_R | PF_X);
    // glibc and musl take the load bias as AT_SYSINFO_EHDR minus this segment's address.
    assert_eq!((load.p_offset, load.p_vaddr), (0, 0));
    assert_eq!(load.p_filesz, load.p_memsz, "no bss");
    assert!(load.p_filesz as usize <= image().len());
    for p in &elf.program_headers {
        assert!(
            p.p_type != PT_INTERP && p.p_type != PT_TLS,
            "type {:#x}",
            p.p_type
        );
        if p.p_type == PT_DYNAMIC || p.p_type == PT_NOTE {
            // glibc rewrites a writable PT_DYNAMIC in place; this one is in read-only pages.
            assert_eq!(p.p_flags & PF_W, 0);
            assert!(p.p_vaddr + p.p_memsz <= load.p_memsz);
            assert_eq!(p.p_vaddr, p.p_offset);
        }
    }
    for sh in elf.section_headers.iter().filter(|s| s.sh_addr != 0) {
        assert!(sh.sh_addr + sh.sh_size <= load.p_memsz);
    }
}

#[test]
fn exports_the_linux_names_with_version_linux_2_6() {
    let d = dyn_info();
    for name in EXPORTS {
        let prefixed = format!("__vdso_{name}");
        let at = lookup_gnu(&prefixed, VERSION).unwrap_or_else(|| panic!("{prefixed} (gnu)"));
        assert_eq!(
            lookup_sysv(&prefixed, VERSION),
            Some(at),
            "{prefixed} (sysv)"
        );
        assert_eq!(lookup_gnu(name, VERSION), Some(at), "{name} is an alias");
        assert_eq!(lookup_sysv(name, VERSION), Some(at), "{name} is an alias");
        assert_eq!(lookup_gnu(&prefixed, "LINUX_2.5"), None);
    }
    assert_eq!(lookup_gnu("__vdso_sgx_enter_enclave", VERSION), None);
    // Nothing else is exported: the ten functions and the version's own symbol.
    let nsyms = u32_at(image(), d.hash + 4) as usize;
    let mut names = Vec::new();
    for i in 1..nsyms {
        let s = sym(&d, i);
        if s.name == VERSION {
            continue;
        }
        let (bind, kind) = (s.info >> 4, s.info & 0xf);
        assert_eq!(kind, STT_FUNC, "{}", s.name);
        let expected_bind = if s.name.starts_with("__vdso_") {
            STB_GLOBAL
        } else {
            STB_WEAK
        };
        assert_eq!(bind, expected_bind, "{}", s.name);
        names.push(s.name);
    }
    names.sort();
    let mut expected: Vec<String> = EXPORTS
        .iter()
        .flat_map(|n| [n.to_string(), format!("__vdso_{n}")])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn linux_note_reports_the_release_uname_reports() {
    let elf = elf();
    let b = image();
    let mut found = None;
    for p in elf.program_headers.iter().filter(|p| p.p_type == PT_NOTE) {
        let (mut at, end) = (p.p_offset as usize, (p.p_offset + p.p_filesz) as usize);
        while at < end {
            let (namesz, descsz, kind) = (
                u32_at(b, at) as usize,
                u32_at(b, at + 4) as usize,
                u32_at(b, at + 8),
            );
            let name = &b[at + 12..at + 12 + namesz];
            let desc = at + 12 + namesz.next_multiple_of(4);
            if name == b"Linux\0" && kind == 0 && descsz == 4 {
                found = Some(u32_at(b, desc));
            }
            at = desc + descsz.next_multiple_of(4);
        }
    }
    // LINUX_VERSION_CODE of 6.1.0 (uname(2) says "6.1.0-oxv"); old glibc reads this note.
    assert_eq!(found, Some((6 << 16) | (1 << 8)));
}

#[test]
fn image_is_page_aligned_and_padded_with_zeros() {
    assert_eq!(image().as_ptr() as usize % PAGE_SIZE, 0);
    assert_eq!(image_pages().as_ptr(), image().as_ptr());
    assert_eq!(image_pages().len(), IMAGE_PAGES * PAGE_SIZE);
    assert!(image().len() > (IMAGE_PAGES - 1) * PAGE_SIZE);
    assert!(image_pages()[image().len()..].iter().all(|&b| b == 0));
    assert_eq!(&image()[..4], b"\x7fELF");
    assert_eq!(
        image_base(0x7000_0000_0000),
        0x7000_0000_0000 + PAGE_SIZE as u64
    );
    assert_eq!(MAPPING_PAGES, IMAGE_PAGES + 1);
}

// The data page.

const VVAR_H: &str = include_str!("../../../vdso/vvar.h");

fn c_define(name: &str) -> u32 {
    let line = VVAR_H
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name) && l.starts_with("#define"))
        .unwrap_or_else(|| panic!("vvar.h defines {name}"));
    let value = line
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches('u');
    value.parse().unwrap()
}

#[test]
fn vvar_h_has_the_same_constants() {
    assert_eq!(c_define("OXV_VVAR_VERSION"), VVAR_VERSION);
    assert_eq!(c_define("OXV_VVAR_CLOCKS"), FLAG_CLOCKS);
    assert_eq!(c_define("OXV_GETCPU_SYSCALL"), GETCPU_SYSCALL);
    assert_eq!(c_define("OXV_GETCPU_PAGE"), GETCPU_PAGE);
    assert_eq!(c_define("OXV_GETCPU_RDTSCP"), GETCPU_RDTSCP);
}

#[test]
fn vvar_h_has_the_same_layout() {
    let rust = [
        ("seq", offset_of!(VvarData, seq)),
        ("version", offset_of!(VvarData, version)),
        ("size", offset_of!(VvarData, size)),
        ("flags", offset_of!(VvarData, flags)),
        ("boot_ticks", offset_of!(VvarData, boot_ticks)),
        ("mult", offset_of!(VvarData, mult)),
        ("shift", offset_of!(VvarData, shift)),
        ("getcpu_mode", offset_of!(VvarData, getcpu_mode)),
        ("realtime_sec", offset_of!(VvarData, realtime_sec)),
        ("realtime_nsec", offset_of!(VvarData, realtime_nsec)),
        ("hres_ns", offset_of!(VvarData, hres_ns)),
        ("coarse_ns", offset_of!(VvarData, coarse_ns)),
        ("cpu", offset_of!(VvarData, cpu)),
        ("node", offset_of!(VvarData, node)),
    ];
    // `_Static_assert(__builtin_offsetof(struct oxv_vvar, FIELD) == N, ...)`
    let mut c = Vec::new();
    let mut c_size = None;
    for line in VVAR_H.lines() {
        if let Some(rest) = line.strip_prefix("_Static_assert(__builtin_offsetof(struct oxv_vvar, ")
        {
            let (field, rest) = rest.split_once(") == ").unwrap();
            let n = rest.split_once(',').unwrap().0;
            c.push((field.to_owned(), n.parse::<usize>().unwrap()));
        } else if let Some(rest) = line.strip_prefix("_Static_assert(sizeof(struct oxv_vvar) == ") {
            c_size = Some(rest.split_once(',').unwrap().0.parse::<usize>().unwrap());
        }
    }
    let rust: Vec<_> = rust.iter().map(|(f, o)| (f.to_string(), *o)).collect();
    assert_eq!(c, rust, "field order and offsets");
    assert_eq!(c_size, Some(size_of::<VvarData>()));
}

#[test]
fn shift_is_the_clocks_shift() {
    let clock = TscClock::new(2_894_561_237, 0, 0);
    for t in [1u64, 999, 123_456_789, 1 << 40, u64::MAX / 3, u64::MAX] {
        let ns = ((t as u128 * clock.mult() as u128) >> SHIFT) as u64;
        assert_eq!(clock.ticks_to_ns(t), ns);
    }
}

#[test]
fn the_image_uses_the_kernels_shift() {
    let vvar_h = include_str!("../../../vdso/vvar.h");
    let c_shift = vvar_h
        .lines()
        .find_map(|l| l.strip_prefix("#define OXV_VVAR_SHIFT "))
        .expect("vvar.h defines OXV_VVAR_SHIFT");
    assert_eq!(c_shift.trim().parse::<u32>(), Ok(SHIFT));
}

#[repr(C, align(4096))]
struct Frame([u8; PAGE_SIZE]);

#[test]
fn fill_writes_the_layout_and_bumps_the_sequence_by_two() {
    // A frame of garbage, its "sequence count" included.
    let mut frame = Frame([0xaa; PAGE_SIZE]);
    let wall = -1_500_000_000i128; // 1.5 s before the epoch
    let clock = TscClock::new(1_000_000_000, 77, wall);
    fill(&mut frame.0, &clock, CONFIG);
    let p = &frame.0;
    let seq = u32_at(p, 0);
    assert_eq!(seq % 2, 0, "even after the update");
    assert_eq!(u32_at(p, 4), VVAR_VERSION);
    assert_eq!(u32_at(p, 8), 80);
    assert_eq!(u32_at(p, 12), FLAG_CLOCKS);
    assert_eq!(u64_at(p, 16), 77);
    assert_eq!(u64_at(p, 24), 1 << 40);
    assert_eq!(u32_at(p, 32), 40);
    assert_eq!(u32_at(p, 36), GETCPU_PAGE);
    assert_eq!(u64_at(p, 40) as i64, -2);
    assert_eq!(u64_at(p, 48), 500_000_000);
    assert_eq!(u64_at(p, 56), HIGH_RES_NS);
    assert_eq!(u64_at(p, 64), COARSE_RES_NS);
    assert!(
        p[80..].iter().all(|&b| b == 0),
        "the rest of the page is zeroed"
    );

    let config = VvarConfig {
        tsc_usable: false,
        getcpu: GetcpuSource::TscAux,
    };
    fill(&mut frame.0, &clock, config);
    let p = &frame.0;
    assert_eq!(u32_at(p, 0), seq.wrapping_add(2));
    assert_eq!(u32_at(p, 12), 0, "clocks off");
    assert_eq!(u32_at(p, 36), GETCPU_RDTSCP);
}

#[test]
fn absurd_wall_clocks_turn_the_vdso_clocks_off() {
    let page = VvarData::new_zeroed();
    let far = (1i128 << 63) * NSEC_PER_SEC as i128;
    page.publish(&TscClock::new(1_000_000_000, 0, far), CONFIG);
    assert_eq!(page.flags.load(Ordering::Relaxed), 0);
    page.publish(&TscClock::new(1_000_000_000, 0, -far), CONFIG);
    assert_eq!(page.flags.load(Ordering::Relaxed), 0);
    page.publish(&TscClock::new(1_000_000_000, 0, 0), CONFIG);
    assert_eq!(page.flags.load(Ordering::Relaxed), FLAG_CLOCKS);
}
