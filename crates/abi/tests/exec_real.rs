//! `exec::plan` against real ELF files built here with gcc (and musl-gcc when installed), and
//! against corrupted copies of them: every input must give `Ok` with sound invariants or a
//! typed error, never a panic.

use oxv_abi::exec::{ElfKind, ExecError, ExecPlan, PAGE_SIZE, plan};
use oxv_abi::user::USER_END;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = r#"
#include <stdio.h>
__thread int tls_counter = 41;
int main(int argc, char **argv) {
    tls_counter += argc;
    printf("%s %d\n", argv[0], tls_counter);
    return 0;
}
"#;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("oxv-abi-exec-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles `SOURCE` with `compiler flags...`; `None` if the compiler is not installed.
fn build(dir: &Path, compiler: &str, flags: &[&str], out: &str) -> Option<Vec<u8>> {
    let src = dir.join("prog.c");
    std::fs::write(&src, SOURCE).expect("write source");
    let exe = dir.join(out);
    let status = match Command::new(compiler)
        .args(flags)
        .arg("-O1")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
    {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("running {compiler}: {e}"),
    };
    assert!(status.success(), "{compiler} {flags:?} failed");
    Some(std::fs::read(&exe).expect("read built executable"))
}

/// One LOAD line of `readelf -lW`: offset, vaddr, filesz, memsz, flags (`"R E"` as `"RE"`).
type ReadelfLoad = (u64, u64, u64, u64, String);

/// The LOAD lines of `readelf -lW`, if readelf runs.
fn readelf_loads(bytes: &[u8], dir: &Path) -> Option<Vec<ReadelfLoad>> {
    let path = dir.join("readelf-input");
    std::fs::write(&path, bytes).ok()?;
    let out = Command::new("readelf")
        .arg("-lW")
        .arg(&path)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("readelf hex");
    Some(
        text.lines()
            .filter(|l| l.trim_start().starts_with("LOAD "))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // LOAD offset vaddr paddr filesz memsz flags... align
                let flags = f[6..f.len() - 1].concat();
                (hex(f[1]), hex(f[2]), hex(f[4]), hex(f[5]), flags)
            })
            .collect(),
    )
}

/// The invariants a loader relies on, for any plan that `plan` accepted.
fn check_invariants(p: &ExecPlan, file_len: usize) {
    assert!(!p.segments.is_empty());
    let mut prev_end = 0;
    for s in &p.segments {
        assert!(s.mem_size > 0 && s.file_size <= s.mem_size, "{s:?}");
        assert!(
            s.vaddr >= prev_end,
            "segments overlap or are unsorted: {s:?}"
        );
        assert!(
            s.vaddr
                .checked_add(s.mem_size)
                .is_some_and(|e| e <= USER_END),
            "{s:?}"
        );
        if s.file_size > 0 {
            assert!(s.file_offset + s.file_size <= file_len as u64, "{s:?}");
            assert_eq!(s.vaddr % PAGE_SIZE, s.file_offset % PAGE_SIZE, "{s:?}");
        }
        assert!(
            p.span.start <= s.vaddr && s.end() <= p.span.end,
            "{s:?} outside {:?}",
            p.span
        );
        prev_end = s.end();
    }
    assert_eq!(p.span.start % PAGE_SIZE, 0);
    assert_eq!(p.span.end % PAGE_SIZE, 0);
    assert!(p.span.end <= USER_END);
    assert!(p.entry < USER_END);
    if let Some(i) = &p.interp {
        assert!(!i.is_empty() && !i.contains(&0));
    }
}

fn prot_string(p: &ExecPlan, i: usize) -> String {
    use oxv_abi::exec::SegmentProt;
    let prot = p.segments[i].prot;
    let mut s = String::new();
    if prot.contains(SegmentProt::READ) {
        s.push('R');
    }
    if prot.contains(SegmentProt::WRITE) {
        s.push('W');
    }
    if prot.contains(SegmentProt::EXEC) {
        s.push('E');
    }
    s
}

/// Checks a real binary's plan against readelf, and the basics of its kind.
/// Planning from a prefix of the file gives the same plan as from the whole file, and a
/// prefix too short for the headers asks for exactly what it needs.
fn check_prefix(name: &str, bytes: &[u8], full: &ExecPlan) {
    let len = bytes.len() as u64;
    let head = &bytes[..bytes.len().min(4096)];
    assert_eq!(
        &oxv_abi::exec::plan_prefix(head, len).unwrap(),
        full,
        "{name}: 4 KiB prefix"
    );
    for cut in [0usize, 10, 63, 64, 100, 300] {
        match oxv_abi::exec::plan_prefix(&bytes[..cut], len) {
            Ok(p) => assert_eq!(&p, full, "{name}: prefix {cut}"),
            Err(ExecError::NeedMore { upto }) => {
                assert!(
                    upto > cut as u64 && upto <= len,
                    "{name}: prefix {cut} asks for {upto}"
                );
                let more = oxv_abi::exec::plan_prefix(&bytes[..upto as usize], len);
                assert!(
                    matches!(&more, Ok(p) if p == full)
                        || matches!(more, Err(ExecError::NeedMore { upto: u2 }) if u2 > upto),
                    "{name}: prefix {upto} after NeedMore"
                );
            }
            Err(e) => panic!("{name}: prefix {cut}: {e}"),
        }
    }
}

fn check_real(name: &str, bytes: &[u8], dir: &Path, kind: ElfKind, has_interp: bool) -> ExecPlan {
    let p = plan(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    check_prefix(name, bytes, &p);
    check_invariants(&p, bytes.len());
    assert_eq!(p.kind, kind, "{name}");
    assert_eq!(
        p.interp.is_some(),
        has_interp,
        "{name}: interp {:?}",
        p.interp
    );
    assert_eq!(p.phent, 56);
    assert!(
        p.phdr_vaddr.is_some(),
        "{name}: program headers not found in memory"
    );
    assert!(!p.stack_exec, "{name}: gcc marks the stack non-executable");
    if let Some(loads) = readelf_loads(bytes, dir) {
        let loads: Vec<_> = loads.into_iter().filter(|l| l.3 > 0).collect();
        assert_eq!(loads.len(), p.segments.len(), "{name}");
        for (i, (off, vaddr, filesz, memsz, flags)) in loads.iter().enumerate() {
            let s = &p.segments[i];
            assert_eq!(
                (s.vaddr, s.mem_size, s.file_size),
                (*vaddr, *memsz, *filesz),
                "{name} #{i}"
            );
            if *filesz > 0 {
                assert_eq!(s.file_offset, *off, "{name} #{i}");
            }
            assert_eq!(&prot_string(&p, i), flags, "{name} #{i}");
        }
    }
    let first = &p.segments[0];
    if kind == ElfKind::Dyn {
        assert_eq!(p.span.start, 0, "{name}: PIEs are linked at 0");
    } else {
        assert!(
            first.vaddr >= 0x1_0000,
            "{name}: ET_EXEC above mmap_min_addr"
        );
    }
    p
}

// ---- Corruption ------------------------------------------------------------------------

/// xorshift64*: a fixed-seed PRNG, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Plans `bytes`, which must not panic; checks the invariants when it succeeds.
fn plan_any(bytes: &[u8]) -> Result<ExecPlan, ExecError> {
    let r = plan(bytes);
    if let Ok(p) = &r {
        check_invariants(p, bytes.len());
    }
    r
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().expect("2 bytes"))
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

fn put_u64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

/// File offsets of each program header of type `p_type`.
fn phdrs_of_type(b: &[u8], p_type: u32) -> Vec<usize> {
    let phoff = u64_at(b, 32) as usize;
    (0..u16_at(b, 56) as usize)
        .map(|i| phoff + 56 * i)
        .filter(|&o| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes")) == p_type)
        .collect()
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;

fn corrupt(name: &str, good: &[u8], seed: u64) {
    // Truncation at every length through the headers, then strided through the file.
    for len in (0..good.len().min(8192)).chain((8192..good.len()).step_by(1021)) {
        let _ = plan_any(&good[..len]);
    }
    // Random byte flips, mostly in the header and program headers where they matter.
    let mut rng = Rng(seed);
    let mut buf = good.to_vec();
    let hot = good.len().min(4096);
    for _ in 0..3000 {
        let flips = 1 + rng.below(8);
        let mut undo = Vec::new();
        for _ in 0..flips {
            let at = if rng.below(4) == 0 {
                rng.below(buf.len())
            } else {
                rng.below(hot)
            };
            undo.push((at, buf[at]));
            buf[at] = match rng.below(3) {
                0 => buf[at] ^ (1 << rng.below(8)),
                1 => rng.next() as u8,
                _ => 0xff,
            };
        }
        let _ = plan_any(&buf);
        for (at, b) in undo.into_iter().rev() {
            buf[at] = b;
        }
    }
    assert_eq!(buf, good, "{name}: flips were not undone");

    let loads = phdrs_of_type(good, PT_LOAD);
    // Program headers past the end of the file.
    let mut b = good.to_vec();
    put_u64(&mut b, 32, good.len() as u64 - 8);
    assert_eq!(plan_any(&b), Err(ExecError::PhdrsOutsideFile), "{name}");
    // Huge sizes in each PT_LOAD (file and memory).
    for (i, &o) in loads.iter().enumerate() {
        let mut b = good.to_vec();
        put_u64(&mut b, o + 32, u64::MAX / 2); // p_filesz
        put_u64(&mut b, o + 40, u64::MAX / 2); // p_memsz
        assert!(plan_any(&b).is_err(), "{name}: huge PT_LOAD #{i} accepted");
        let mut b = good.to_vec();
        put_u64(&mut b, o + 40, USER_END); // p_memsz past the user half
        assert!(
            plan_any(&b).is_err(),
            "{name}: PT_LOAD #{i} into kernel half accepted"
        );
        let mut b = good.to_vec();
        put_u64(&mut b, o + 32, u64_at(good, o + 40) + 1); // filesz > memsz
        assert!(
            plan_any(&b).is_err(),
            "{name}: filesz > memsz in #{i} accepted"
        );
    }
    // Overlapping PT_LOADs: move the last one onto the first.
    if loads.len() >= 2 {
        let (first, last) = (loads[0], *loads.last().expect("two loads"));
        let mut b = good.to_vec();
        let target = u64_at(good, first + 16) + (u64_at(good, last + 16) % PAGE_SIZE);
        put_u64(&mut b, last + 16, target);
        assert!(
            matches!(plan_any(&b), Err(ExecError::Overlap { .. })),
            "{name}: overlap accepted"
        );
    }
    // An interpreter path without its NUL.
    if let Some(&o) = phdrs_of_type(good, PT_INTERP).first() {
        let mut b = good.to_vec();
        let end = (u64_at(good, o + 8) + u64_at(good, o + 32)) as usize;
        b[end - 1] = b'x';
        assert_eq!(
            plan_any(&b),
            Err(ExecError::InterpreterUnterminated),
            "{name}"
        );
    }
}

// ---- Tests -----------------------------------------------------------------------------

#[test]
fn gcc_static() {
    let dir = TempDir::new("static");
    let bytes = build(&dir.0, "gcc", &["-static"], "static").expect("gcc is required");
    let p = check_real("gcc -static", &bytes, &dir.0, ElfKind::Exec, false);
    assert!(p.tls.is_some(), "the program has a __thread variable");
    corrupt("gcc -static", &bytes, 0x5eed_0001);
}

#[test]
fn gcc_static_pie() {
    let dir = TempDir::new("static-pie");
    let bytes =
        build(&dir.0, "gcc", &["-static-pie", "-fPIE"], "static-pie").expect("gcc is required");
    let p = check_real("gcc -static-pie", &bytes, &dir.0, ElfKind::Dyn, false);
    assert!(p.tls.is_some());
    corrupt("gcc -static-pie", &bytes, 0x5eed_0002);
}

#[test]
fn gcc_dynamic_pie() {
    let dir = TempDir::new("pie");
    let bytes = build(&dir.0, "gcc", &["-fPIE", "-pie"], "pie").expect("gcc is required");
    let p = check_real("gcc -pie", &bytes, &dir.0, ElfKind::Dyn, true);
    assert!(
        p.interp.as_deref().is_some_and(|i| i.starts_with(b"/lib")),
        "{:?}",
        p.interp
    );
    corrupt("gcc -pie", &bytes, 0x5eed_0003);
}

#[test]
fn gcc_dynamic_no_pie() {
    let dir = TempDir::new("no-pie");
    let bytes = build(&dir.0, "gcc", &["-no-pie"], "no-pie").expect("gcc is required");
    check_real("gcc -no-pie", &bytes, &dir.0, ElfKind::Exec, true);
}

#[test]
fn musl_static_when_available() {
    let dir = TempDir::new("musl");
    let Some(bytes) = build(&dir.0, "musl-gcc", &["-static"], "musl") else {
        eprintln!("musl-gcc not installed; skipping");
        return;
    };
    check_real("musl-gcc -static", &bytes, &dir.0, ElfKind::Exec, false);
    corrupt("musl-gcc -static", &bytes, 0x5eed_0004);
}

#[test]
fn bin_true_is_a_dynamic_pie() {
    let bytes = std::fs::read("/bin/true").expect("/bin/true exists on Linux hosts");
    let dir = TempDir::new("true");
    let p = check_real("/bin/true", &bytes, &dir.0, ElfKind::Dyn, true);
    assert!(
        p.interp.as_deref().is_some_and(|i| i.ends_with(b".so.2")),
        "{:?}",
        p.interp
    );
}

#[test]
fn the_dynamic_linker_itself_plans() {
    let bytes = std::fs::read("/bin/true").expect("/bin/true");
    let interp = plan(&bytes)
        .expect("plan /bin/true")
        .interp
        .expect("interp");
    let path = std::str::from_utf8(&interp).expect("UTF-8 interpreter path");
    let ld = std::fs::read(path).expect("the interpreter exists");
    let p = plan_any(&ld).expect("ld.so plans");
    assert_eq!(p.kind, ElfKind::Dyn);
    assert_eq!(p.interp, None);
    assert!(p.entry > 0 && p.entry < p.span.end);
}

#[test]
fn non_executables_are_typed_errors() {
    let dir = TempDir::new("obj");
    let src = dir.0.join("o.c");
    std::fs::write(&src, "int f(void) { return 1; }\n").expect("write");
    let obj = dir.0.join("o.o");
    let ok = Command::new("gcc")
        .arg("-c")
        .arg("-o")
        .arg(&obj)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(ok.success());
    let bytes = std::fs::read(&obj).expect("read .o");
    assert_eq!(plan(&bytes), Err(ExecError::WrongType(1)), "ET_REL");
    assert_eq!(plan(b"#!/bin/sh\necho hi\n"), Err(ExecError::NotElf));
    assert_eq!(plan(&[]), Err(ExecError::NotElf));
}
