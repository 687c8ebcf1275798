use super::*;
use std::process::Command;

/// A linker script with the kernel's shape: a boot stub linked at its physical address, then
/// sections in the kernel window loaded right after it.
const SCRIPT: &str = r#"
ENTRY(_start)
SECTIONS {
    . = 0x100000;
    .boot : { *(.boot.text) *(.boot.data) *(.boot.kaslr) }
    . = ALIGN(4096);
    . += 0xffffffff80000000;
    .text : AT(ADDR(.text) - 0xffffffff80000000) { *(.text) }
    .rodata : AT(ADDR(.rodata) - 0xffffffff80000000) { *(.rodata) }
    .data : AT(ADDR(.data) - 0xffffffff80000000) { *(.data) *(.got) *(.got.*) }
}
"#;

/// One of each kind of reference the kernel has.
const IMAGE: &str = r#"
    .intel_syntax noprefix
    .section .boot.text, "ax", @progbits
    .global _start
_start:
    movabs rax, offset hi_fn        /* R_X86_64_64 in the stub, to the window: slid */
site_movabs = _start + 2
    mov eax, offset lo_data         /* R_X86_64_32 to the stub: not slid */
    lea rbx, [rip + lo_data]        /* PC-relative inside the stub */
    .section .boot.data, "aw", @progbits
lo_data:
    .quad lo_data                   /* R_X86_64_64 to the stub: not slid */
    .section .boot.kaslr, "aw", @progbits
    .global oxv_kaslr_table
oxv_kaslr_table:
    .fill 64, 1, 0
    .global oxv_kaslr_table_end
oxv_kaslr_table_end:

    .text
    .global hi_fn
hi_fn:
    mov rax, [8 * rcx + hi_table]   /* R_X86_64_32S: slid */
    call hi_fn                      /* PC-relative inside the window */
    mov rax, [rip + hi_fn@GOTPCREL] /* relaxed to a PC-relative lea by the linker */
    add rax, [rip + hi_fn@GOTPCREL] /* a GOT slot: slid */
    ret
    .section .rodata, "a", @progbits
hi_table:
    .quad hi_fn                     /* slid */
    .quad lo_data                   /* not slid */
"#;

/// Links `source` with [`SCRIPT`] and `--emit-relocs` (binutils through gcc, which the
/// kernel's vDSO build needs anyway).
fn link(name: &str, source: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("oxv-kaslr-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("image.s"), source).unwrap();
    std::fs::write(dir.join("image.ld"), SCRIPT).unwrap();
    let out = Command::new("gcc")
        .current_dir(&dir)
        .args([
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wa,-mrelax-relocations=no",
            "-Wl,-T,image.ld",
            "-Wl,--emit-relocs",
            "-Wl,-z,max-page-size=4096",
            "-o",
            "image",
            "image.s",
        ])
        .output()
        .expect("gcc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.join("image")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

fn symbol(bytes: &[u8], name: &str) -> u64 {
    let elf = Elf::parse(bytes).unwrap();
    elf.syms
        .iter()
        .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
        .unwrap_or_else(|| panic!("{name} is defined"))
        .st_value
}

fn pa(va: u64) -> u32 {
    u32::try_from(if va >= KERNEL_VMA {
        va - KERNEL_VMA
    } else {
        va
    })
    .unwrap()
}

#[test]
fn absolute_references_to_the_window_are_found_and_nothing_else() {
    let bytes = link("kinds", IMAGE);
    let sites = find_sites(&bytes).unwrap();
    let hi_table = symbol(&bytes, "hi_table");
    let hi_fn = symbol(&bytes, "hi_fn");
    // The 32S displacement of `mov rax, [8 * rcx + hi_table]` (REX.W 8B 04 CD disp32).
    assert_eq!(sites.abs32, vec![pa(hi_fn + 4)]);
    // The movabs immediate, the first table entry, and the GOT slot (which the linker fills
    // in without a relocation of its own).
    assert_eq!(sites.abs64.len(), 3, "{sites:x?}");
    assert_eq!(sites.abs64[0], pa(symbol(&bytes, "site_movabs")));
    assert_eq!(sites.abs64[1], pa(hi_table));
    let elf = Elf::parse(&bytes).unwrap();
    let layout = Layout::of(&elf);
    let got = u64::from(sites.abs64[2]) + KERNEL_VMA;
    assert!(got > hi_table + 8, "the GOT follows the rodata");
    let (_, off) = layout.locate(got, 8).unwrap();
    assert_eq!(read_u64(&bytes, off), Some(hi_fn));
}

#[test]
fn the_table_is_written_in_place_and_reads_back() {
    let mut bytes = link("patch", IMAGE);
    let before = bytes.clone();
    let sites = patch(&mut bytes).unwrap();
    let start = symbol(&bytes, "oxv_kaslr_table");
    let elf = Elf::parse(&before).unwrap();
    let (_, off) = Layout::of(&elf).locate(start, 64).unwrap();
    assert_eq!(decode(&bytes[off..off + 64]), Some(sites.clone()));
    assert_eq!(&bytes[off..off + 4], b"OXVK");
    // Nothing outside the table changed, and patching again changes nothing.
    assert_eq!(bytes[..off], before[..off]);
    assert_eq!(bytes[off + 64..], before[off + 64..]);
    let again = bytes.clone();
    assert_eq!(patch(&mut bytes), Ok(sites));
    assert_eq!(bytes, again);
}

#[test]
fn the_format_is_a_header_then_64_bit_then_32_bit_sites() {
    let sites = Sites {
        abs64: vec![0x100002, 0x28b000],
        abs32: vec![0x109004],
    };
    let table = encode(&sites, 64).unwrap();
    assert_eq!(table.len(), 64);
    let words: Vec<u32> = table
        .chunks(4)
        .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
        .collect();
    assert_eq!(words[..7], [MAGIC, 0, 2, 1, 0x100002, 0x28b000, 0x109004]);
    assert!(words[7..].iter().all(|&w| w == 0));
    assert_eq!(decode(&table), Some(sites));
    assert_eq!(decode(&[0; 64]), None, "an unprocessed image has no table");
}

#[test]
fn a_table_that_does_not_fit_fails_with_what_to_raise() {
    let sites = Sites {
        abs64: (0..10).collect(),
        abs32: (0..10).collect(),
    };
    assert!(encode(&sites, HEADER_BYTES + 80).is_ok());
    let err = encode(&sites, HEADER_BYTES + 79).unwrap_err();
    assert!(err.contains("KASLR_TABLE_SIZE"), "{err}");
    assert!(err.contains("10 64-bit and 10 32-bit"), "{err}");
}

#[test]
fn pc_relative_references_across_the_windows_are_refused() {
    let source = IMAGE.replace("lea rbx, [rip + lo_data]", "lea rbx, [rip + hi_fn]");
    let err = find_sites(&link("cross", &source)).unwrap_err();
    assert!(err.contains("cannot be slid"), "{err}");
}

#[test]
fn an_image_without_relocations_is_refused() {
    let mut bytes = link("strip", IMAGE);
    // Turn every RELA section into a null one, as a link without --emit-relocs has none.
    let elf = Elf::parse(&bytes).unwrap();
    let shoff = elf.header.e_shoff as usize;
    let entsize = elf.header.e_shentsize as usize;
    let relas: Vec<usize> = elf
        .section_headers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.sh_type == SHT_RELA)
        .map(|(i, _)| i)
        .collect();
    assert!(!relas.is_empty());
    for i in relas {
        bytes[shoff + i * entsize + 4..shoff + i * entsize + 8]
            .copy_from_slice(&0u32.to_le_bytes());
    }
    let err = find_sites(&bytes).unwrap_err();
    assert!(err.contains("--emit-relocs"), "{err}");
}
