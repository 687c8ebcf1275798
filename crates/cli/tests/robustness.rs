//! Malformed input to the `oxv` binary: absurd options, files that are not programs, corrupted
//! and truncated ELF files, impossible `--file` requests. Each must end with a clear error
//! and exit status 2 before anything boots: never a panic, a hang or a VM started on input
//! the host can already refuse. No QEMU is needed: every case here is refused by the host
//! checks (the ones that are not yet are ignored tests naming the bug, see
//! docs/robustness.md).
//!
//! Every run has a watchdog, so a hang fails the test instead of stalling the suite.
//!
//! The `stress_*` tests at the end are the exception: they boot oxv (so they are ignored
//! by default; `cargo test -p oxv-cli --test robustness -- --ignored stress`) to run the
//! guest stress program (`stress/`) and the reproducers of the bugs it found.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Longer than any host-side refusal takes (they take milliseconds).
const WATCHDOG: Duration = Duration::from_secs(30);

/// What one `oxv` run did.
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

/// Runs `oxv` with `args` (and `env`), killing it after `limit`.
fn oxv_env(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run oxv");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for oxv") {
            let stderr = reader.join().expect("stderr reader");
            return Outcome {
                code: status.code(),
                stderr,
            };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("oxv {args:?} hung: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn oxv(args: &[&str]) -> Outcome {
    oxv_env(args, &[], WATCHDOG)
}

/// Asserts the run was refused with status 2, an `oxv: error: ` message containing
/// `needle`, and no panic.
#[track_caller]
fn assert_refused(out: &Outcome, what: &str, needle: &str) {
    assert_eq!(
        out.code,
        Some(2),
        "{what}: status {:?}\n{}",
        out.code,
        out.stderr
    );
    assert!(
        out.stderr.starts_with("oxv: error: ") && out.stderr.contains(needle),
        "{what}: expected `oxv: error: ...{needle}...`, got:\n{}",
        out.stderr
    );
    assert_no_panic(out, what);
}

#[track_caller]
fn assert_no_panic(out: &Outcome, what: &str) {
    assert!(
        !out.stderr.contains("panicked") && out.code != Some(101),
        "{what}: oxv panicked:\n{}",
        out.stderr
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("robustness")
        .join(name);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// A static x86_64 executable built from C (gcc and libc.a are there wherever Rust links
/// programs), shared by the tests.
fn static_program() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let dir = scratch("program");
        let src = dir.join("main.c");
        std::fs::write(&src, "int main(void) { return 0; }\n").expect("write main.c");
        let program = dir.join("static-program");
        let gcc = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&program)
            .arg(&src)
            .output()
            .expect("gcc");
        assert!(
            gcc.status.success(),
            "{}",
            String::from_utf8_lossy(&gcc.stderr)
        );
        program
    })
}

fn elf() -> Vec<u8> {
    std::fs::read(static_program()).expect("read the static program")
}

/// Writes `bytes` as an executable file and returns its path.
fn write_program(name: &str, bytes: &[u8]) -> String {
    let path = scratch("elves").join(name);
    std::fs::write(&path, bytes).expect("write a test file");
    path.to_str().expect("UTF-8 scratch path").to_string()
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

// ELF64 header and program-header field offsets (System V ABI, ELF-64 Object File Format).
const E_CLASS: usize = 4;
const E_DATA: usize = 5;
const E_TYPE: usize = 16;
const E_MACHINE: usize = 18;
const E_PHOFF: usize = 32;
const E_PHENTSIZE: usize = 54;
const E_PHNUM: usize = 56;
const PHDR: usize = 56;
const P_TYPE: usize = 0;
const P_OFFSET: usize = 8;
const P_VADDR: usize = 16;
const P_FILESZ: usize = 32;
const P_MEMSZ: usize = 40;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;

/// Offsets of the program headers of `b`, with their types.
fn phdrs(b: &[u8]) -> Vec<(usize, u32)> {
    let off = get_u64(b, E_PHOFF) as usize;
    let n = u16::from_le_bytes([b[E_PHNUM], b[E_PHNUM + 1]]) as usize;
    (0..n)
        .map(|i| {
            let at = off + i * PHDR;
            (at, u32::from_le_bytes(b[at..at + 4].try_into().expect("4")))
        })
        .collect()
}

fn first_load(b: &[u8]) -> usize {
    phdrs(b)
        .into_iter()
        .find(|&(_, t)| t == PT_LOAD)
        .expect("a PT_LOAD")
        .0
}

// ---- absurd command lines -------------------------------------------------------------

#[test]
fn absurd_options_are_usage_errors() {
    let p = static_program().to_str().expect("UTF-8 path");
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--mem", "0", p], "--mem"),
        (&["run", "--mem", "", p], "--mem"),
        (&["run", "--mem", "-5", p], "-5"),
        (&["run", "--mem", "1.5G", p], "--mem"),
        (&["run", "--mem", "18446744073709551616", p], "--mem"),
        (&["run", "--mem", "17179869184T", p], "--mem"),
        (
            &["run", "--mem", "99999999999999999999999999999K", p],
            "--mem",
        ),
        (&["run", "--cpus", "0", p], "--cpus"),
        (&["run", "--cpus", "1000", p], "--cpus"),
        (&["run", "--cpus", "-1", p], "-1"),
        (&["run", "--cpus", "4294967297", p], "--cpus"),
        (&["run", "--timeout", "-1", p], "-1"),
        (&["run", "--timeout=-1", p], "--timeout"),
        (&["run", "--timeout", "NaN", p], "--timeout"),
        (&["run", "--timeout", "inf", p], "--timeout"),
        (&["run", "--timeout", "0", p], "--timeout"),
        (&["run", "--timeout", "1e300", p], "--timeout"),
        (&["run", "--timeout", "", p], "--timeout"),
        (&["run", "--accel", "", p], "--accel"),
        (&["run", "--machine", "pc-i440fx", p], "--machine"),
        (&["run", "--env", "", p], "--env"),
        (&["run", "--file", "", p], "--file"),
        (&["compat", "--jobs", "0"], "--jobs"),
        (&["compat", "--timeout", "-0"], "-0"),
    ];
    for (args, needle) in cases {
        let out = oxv(args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("error:") && out.stderr.contains(needle),
            "{args:?}: no clear message:\n{}",
            out.stderr
        );
        assert_no_panic(&out, &format!("{args:?}"));
    }
}

#[test]
fn usage_errors_use_the_oxv_error_prefix() {
    let p = static_program().to_str().expect("UTF-8 path");
    for args in [
        &["run", "--mem", "0", p][..],
        &["run", "--cpus", "1000", p],
        &["run", "--timeout", "NaN", p],
    ] {
        assert_refused(&oxv(args), &format!("{args:?}"), "");
    }
}

// ---- files that are not programs ------------------------------------------------------

#[test]
fn missing_and_unreadable_programs_are_refused() {
    let dir = scratch("not-programs");
    let d = dir.to_str().expect("UTF-8 path");
    assert_refused(&oxv(&["run", d]), "a directory", "Is a directory");
    assert_refused(
        &oxv(&["run", "/nonexistent/prog"]),
        "a missing program",
        "cannot read program /nonexistent/prog",
    );
    let empty = write_program("empty", b"");
    assert_refused(&oxv(&["run", &empty]), "an empty file", "not an ELF file");
    let text = write_program("text", b"#!/bin/sh\necho hi\n");
    assert_refused(&oxv(&["run", &text]), "a script", "not an ELF file");
    assert_refused(&oxv(&["run", "/dev/null"]), "/dev/null", "not an ELF file");
}

#[test]
fn missing_and_special_file_arguments_are_refused() {
    let p = static_program().to_str().expect("UTF-8 path");
    assert_refused(
        &oxv(&["run", "--file", "/nonexistent/data", p]),
        "--file of a missing path",
        "/nonexistent/data",
    );
    assert_refused(
        &oxv(&["run", "--file", "/dev/zero:/zero", p]),
        "--file of an endless device",
        "not a regular file or directory",
    );
    let fifo = scratch("fifo").join("pipe");
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        // Opening a FIFO for reading blocks until a writer comes: it must not be opened.
        assert_refused(
            &oxv(&["run", "--file", fifo.to_str().expect("UTF-8"), p]),
            "--file of a FIFO",
            "not a regular file or directory",
        );
    }
    assert_refused(
        &oxv(&["run", "--file", &format!("{p}:relative/guest/path"), p]),
        "--file with a missing host part",
        "relative/guest/path",
    );
}

// ---- corrupted ELF files --------------------------------------------------------------

#[test]
fn wrong_kinds_of_elf_are_refused() {
    let good = elf();
    let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "aarch64",
            mutate(&|b| put_u16(b, E_MACHINE, 183)),
            "not an x86_64 ELF file (e_machine 183)",
        ),
        (
            "risc-v",
            mutate(&|b| put_u16(b, E_MACHINE, 243)),
            "not an x86_64 ELF file",
        ),
        (
            "32-bit",
            mutate(&|b| b[E_CLASS] = 1),
            "not a 64-bit ELF file",
        ),
        (
            "32-bit i386",
            mutate(&|b| {
                b[E_CLASS] = 1;
                put_u16(b, E_MACHINE, 3);
            }),
            "not a 64-bit ELF file",
        ),
        (
            "big-endian",
            mutate(&|b| b[E_DATA] = 2),
            "not a little-endian ELF file",
        ),
        (
            "relocatable",
            mutate(&|b| put_u16(b, E_TYPE, 1)),
            "ELF type 1 is not executable",
        ),
        (
            "core dump",
            mutate(&|b| put_u16(b, E_TYPE, 4)),
            "ELF type 4 is not executable",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = write_program(name, &bytes);
        assert_refused(&oxv(&["run", &path]), name, needle);
    }
}

#[test]
fn truncated_elves_are_refused() {
    let good = elf();
    let phoff = get_u64(&good, E_PHOFF) as usize;
    let load = first_load(&good);
    let load_end = (get_u64(&good, load + P_OFFSET) + get_u64(&good, load + P_FILESZ)) as usize;
    let second_load = phdrs(&good)
        .into_iter()
        .filter(|&(_, t)| t == PT_LOAD)
        .nth(1)
        .map(|(at, _)| (get_u64(&good, at + P_OFFSET) + 1) as usize);
    let mut cuts = vec![1, 4, 5, 16, 63, 64, phoff + PHDR - 1, phoff + 3 * PHDR - 1];
    cuts.push(load_end.max(phoff + 8 * PHDR) - 1);
    cuts.extend(second_load);
    cuts.push(good.len() / 2);
    for cut in cuts {
        if cut >= good.len() {
            continue;
        }
        let path = write_program(&format!("truncated-{cut}"), &good[..cut]);
        let out = oxv(&["run", &path]);
        assert_refused(
            &out,
            &format!("truncated at {cut} bytes"),
            "not a runnable Linux x86_64 ELF executable",
        );
    }
}

#[test]
fn program_headers_pointing_anywhere_are_refused() {
    let good = elf();
    let len = good.len() as u64;
    let load = first_load(&good);
    let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "phdrs-past-the-end",
            mutate(&|b| put_u64(b, E_PHOFF, len - 10)),
            "program header table lies outside the file",
        ),
        (
            "phdrs-offset-overflows",
            mutate(&|b| put_u64(b, E_PHOFF, u64::MAX - 16)),
            "program header table lies outside the file",
        ),
        (
            "no-phdrs",
            mutate(&|b| put_u16(b, E_PHNUM, 0)),
            "0 program headers",
        ),
        (
            "65535-phdrs",
            mutate(&|b| put_u16(b, E_PHNUM, u16::MAX)),
            "65535 program headers",
        ),
        (
            "short-phentsize",
            mutate(&|b| put_u16(b, E_PHENTSIZE, 32)),
            "program header entry size is 32",
        ),
        (
            "segment-past-the-end",
            mutate(&|b| put_u64(b, load + P_OFFSET, len + 0x1000)),
            "file contents lie outside the file",
        ),
        (
            "segment-size-overflows",
            mutate(&|b| put_u64(b, load + P_FILESZ, u64::MAX)),
            "program header",
        ),
        (
            "filesz-above-memsz",
            mutate(&|b| {
                let mem = get_u64(b, load + P_MEMSZ);
                put_u64(b, load + P_FILESZ, mem + 1);
            }),
            "program header",
        ),
        (
            "huge-memsz",
            mutate(&|b| put_u64(b, load + P_MEMSZ, 1 << 62)),
            "address range overflows or leaves user space",
        ),
        (
            "kernel-address",
            mutate(&|b| {
                let v = get_u64(b, load + P_VADDR);
                put_u64(b, load + P_VADDR, 0xffff_ffff_8000_0000 | (v & 0xfff));
            }),
            "address range overflows or leaves user space",
        ),
        (
            "misaligned-segment",
            mutate(&|b| {
                let v = get_u64(b, load + P_VADDR);
                put_u64(b, load + P_VADDR, v + 1);
            }),
            "program header",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = write_program(name, &bytes);
        assert_refused(&oxv(&["run", &path]), name, needle);
    }
}

#[test]
fn overlapping_segments_and_bad_interpreters_are_refused() {
    let good = elf();
    let loads: Vec<usize> = phdrs(&good)
        .into_iter()
        .filter(|&(_, t)| t == PT_LOAD)
        .map(|(at, _)| at)
        .collect();
    assert!(loads.len() >= 2, "a static program has several PT_LOADs");
    let mut overlap = good.clone();
    let first = overlap[loads[0]..loads[0] + PHDR].to_vec();
    overlap[loads[1]..loads[1] + PHDR].copy_from_slice(&first);
    let path = write_program("overlapping", &overlap);
    assert_refused(&oxv(&["run", &path]), "overlapping segments", "overlap");

    // A non-load header turned into PT_INTERP: pointing past the end, huge, or empty.
    let other = phdrs(&good)
        .into_iter()
        .find(|&(_, t)| t != PT_LOAD)
        .expect("a non-load header")
        .0;
    let len = good.len() as u64;
    let interp = |offset: u64, size: u64| {
        let mut b = good.clone();
        put_u32(&mut b, other + P_TYPE, PT_INTERP);
        put_u64(&mut b, other + P_OFFSET, offset);
        put_u64(&mut b, other + P_FILESZ, size);
        b
    };
    for (name, bytes) in [
        ("interp-past-the-end", interp(len + 100, 16)),
        ("interp-huge", interp(0, u64::MAX / 2)),
        ("interp-empty", interp(64, 0)),
        ("interp-not-a-string", interp(64, 24)),
    ] {
        let path = write_program(name, &bytes);
        let out = oxv(&["run", &path]);
        assert_refused(&out, name, "");
    }
}

/// Deterministic corruption of the ELF and program headers. Whatever the planner says, it
/// must not panic (checked in-process), and whatever it refuses `oxv run` must refuse with
/// status 2 before booting.
#[test]
fn random_header_corruption_never_panics_and_refusals_exit_2() {
    let good = elf();
    let phoff = get_u64(&good, E_PHOFF) as usize;
    let header_end = (phoff + phdrs(&good).len() * PHDR).min(good.len());
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut refused, mut accepted) = (0, 0);
    for i in 0..300 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % header_end;
            match next() % 3 {
                0 => b[at] = next() as u8,
                1 => b[at] ^= 1 << (next() % 8),
                _ => {
                    let v = [0u8, 0xff, 0x7f, 0x80][(next() % 4) as usize];
                    b[at] = v;
                }
            }
        }
        let planned = std::panic::catch_unwind(|| oxv_abi::exec::plan(&b).map(|p| p.interp));
        let planned = planned.unwrap_or_else(|_| panic!("exec::plan panicked on mutation {i}"));
        match planned {
            Err(_) => {
                refused += 1;
                // Running every one is slow and adds nothing: one in five.
                if i % 5 == 0 {
                    let path = write_program(&format!("random-{i}"), &b);
                    assert_refused(&oxv(&["run", &path]), &format!("mutation {i}"), "");
                }
            }
            // Still loadable (the byte was not one the loader reads): it would boot; skip.
            Ok(_) => accepted += 1,
        }
    }
    assert!(refused > 100, "only {refused} of 300 mutations refused");
    assert!(
        accepted > 0,
        "no mutation left the file loadable: is the test corrupting too much?"
    );
}

// ---- requests too large for the guest --------------------------------------------------

#[test]
fn a_huge_file_argument_is_refused_before_it_is_read() {
    let p = static_program().to_str().expect("UTF-8 path");
    let huge = scratch("huge").join("sparse.bin");
    let f = std::fs::File::create(&huge).expect("create a sparse file");
    f.set_len(2 << 30).expect("make it 2 GiB (sparse)");
    drop(f);
    // The sizes are known from metadata: refusing takes milliseconds, reading takes seconds.
    // A stand-in kernel keeps a kernel build out of the time limit.
    let fake_kernel = write_program("not-a-kernel-huge", b"not a kernel");
    let out = std::panic::catch_unwind(|| {
        oxv_env(
            &[
                "run",
                "--mem",
                "128M",
                "--file",
                huge.to_str().expect("UTF-8"),
                p,
            ],
            &[("OXV_KERNEL", &fake_kernel)],
            Duration::from_secs(3),
        )
    });
    let _ = std::fs::remove_file(&huge);
    let out = out.unwrap_or_else(|_| panic!("a 2 GiB --file was not refused within 3 s"));
    assert_refused(&out, "a 2 GiB --file", "--mem");
}

#[test]
fn a_command_line_too_long_for_the_kernel_is_refused_before_booting() {
    let p = static_program().to_str().expect("UTF-8 path");
    let long = "a".repeat(70_000);
    // A kernel that is not one: if the CLI lets the command line through, QEMU fails on it
    // quickly instead of booting.
    let fake_kernel = write_program("not-a-kernel", b"not a kernel");
    let out = oxv_env(
        &["run", p, &long],
        &[("OXV_KERNEL", &fake_kernel)],
        Duration::from_secs(60),
    );
    assert_refused(&out, "a 70 KB argument", "");
}

// ---- corrupted initramfs (boots QEMU) ----------------------------------------------------

/// `oxv boot` of a bundle whose `initramfs.cpio` was corrupted: the kernel reads the archive,
/// so a bad header must end the boot with `oxv: bad initramfs: ...` and status 2, and a
/// corrupted file body (the program) must at worst make the program fail. Never a kernel
/// panic or a hang.
#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_corrupted_initramfs_is_a_clear_error_never_a_panic() {
    let dir = scratch("initramfs");
    let good = dir.join("bundle");
    let program = static_program().to_str().expect("UTF-8 path");
    let bundle = good.to_str().expect("UTF-8 path");
    let out = oxv_env(
        &["image", "-o", bundle, program],
        &[],
        Duration::from_secs(600),
    );
    assert_eq!(out.code, Some(0), "oxv image: {}", out.stderr);
    let archive = std::fs::read(good.join("initramfs.cpio")).expect("read the initramfs");
    assert_eq!(&archive[..6], b"070701", "a newc archive");

    let boot = |name: &str, bytes: &[u8]| -> common::OxvRun {
        let copy = dir.join(name);
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).expect("create the bundle copy");
        for entry in std::fs::read_dir(&good).expect("list the bundle") {
            let entry = entry.expect("bundle entry");
            std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy the bundle");
        }
        std::fs::write(copy.join("initramfs.cpio"), bytes).expect("write the archive");
        let run = common::run_oxv(
            &["boot", copy.to_str().expect("UTF-8 path")],
            Duration::from_secs(180),
        );
        assert!(
            !run.stderr.contains("panicked") && run.code != Some(101),
            "{name}: the kernel panicked (status {:?}):\n{}",
            run.code,
            run.stderr
        );
        run
    };
    let refused = |name: &str, bytes: &[u8]| {
        let run = boot(name, bytes);
        assert_eq!(
            run.code,
            Some(2),
            "{name}: status {:?}\n{}",
            run.code,
            run.stderr
        );
        assert!(
            run.stderr
                .contains("oxv: bad initramfs: cpio entry at offset"),
            "{name}: expected `oxv: bad initramfs: ...`, got:\n{}",
            run.stderr
        );
    };

    // The untouched bundle boots and its program exits 0: the cases below test the archive.
    let run = boot("good", &archive);
    assert_eq!(run.code, Some(0), "the good bundle: {}", run.stderr);

    refused("truncated", &archive[..archive.len() / 2]);
    let mut bad = archive.clone();
    bad[..6].copy_from_slice(b"XXXXXX");
    refused("bad-magic", &bad);
    // newc header fields are 8 hex digits from offset 6: c_filesize at 54, c_namesize at 94.
    for (name, at, value) in [
        ("huge-file-size", 54, b"7FFFFFFF"),
        ("huge-name-size", 94, b"FFFFFFFF"),
        ("non-hex-mode", 14, b"0000zz00"),
    ] {
        let mut bad = archive.clone();
        bad[at..at + 8].copy_from_slice(value);
        refused(name, &bad);
    }
    // Random bytes anywhere (mostly the program's body): refused, or the program runs and
    // fails or succeeds; the kernel stays up either way.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut refusals, mut runs) = (0, 0);
    for round in 0..32 {
        let mut bad = archive.clone();
        // Half the rounds hit the first 4 KiB, where the directory entries' headers are.
        let span = if round % 2 == 0 { 4096 } else { bad.len() };
        for _ in 0..1 + next() % 8 {
            let at = (next() as usize) % span;
            bad[at] = next() as u8;
        }
        let run = boot(&format!("random-{round}"), &bad);
        if run.code == Some(2) && run.stderr.contains("oxv: bad initramfs") {
            refusals += 1;
        } else {
            runs += 1;
        }
    }
    eprintln!("random corruptions: {refusals} refused, {runs} booted the program");
}

// ---- guest stress (boots QEMU) -----------------------------------------------------------

/// The repository's `stress/` directory.
fn stress_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stress")
}

/// Compiles `source` (a path under `stress/`) with `gcc -static -O2 -pthread` as `name`.
fn build_stress_program(source: &str, name: &str) -> PathBuf {
    let src = stress_dir().join(source);
    let dir = scratch("stress");
    // A name of its own per process: tests of several runs may build at once.
    let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    let program = dir.join(name);
    let gcc = Command::new("gcc")
        .args(["-static", "-O2", "-pthread", "-o"])
        .arg(&tmp)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(
        gcc.status.success(),
        "gcc {}: {}",
        src.display(),
        String::from_utf8_lossy(&gcc.stderr)
    );
    std::fs::rename(&tmp, &program).expect("move the program into place");
    program
}

/// What a guest run printed and how it ended.
struct GuestRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `oxv run ARGS...` with its output captured, killed after `limit` (oxv's own `--timeout`
/// should end it first).
fn oxv_guest(args: &[&str], limit: Duration) -> GuestRun {
    let run = common::run_oxv(args, limit);
    GuestRun {
        code: run.code,
        stdout: run.stdout,
        stderr: run.stderr,
    }
}

/// The number after `key=` in `line` (the stress program's `key=value` words).
fn field(line: &str, key: &str) -> Option<u64> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Random calls from 4 threads on 2 vCPUs while threads end (pthread_exit, return, raw
/// SYS_exit, SYS_exit in a signal handler) and are replaced (pthread_create, raw clone),
/// block in futex/read/poll/nanosleep, signal each other, fork, and exec the program
/// again from a child's second thread. The kernel must stay up, every invariant of the
/// program hold (errno values, canaries, stacks of dead threads untouched), every thread
/// end, and the process exit 0. Sized for about 20 s under TCG.
#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn stress_thread_churn_on_two_cpus() {
    let program = build_stress_program("stress.c", "stress");
    let p = program.to_str().expect("UTF-8 path");
    let mut args: Vec<&str> = "run --cpus 2 --mem 512M --timeout 150 --"
        .split(' ')
        .collect();
    args.push(p);
    args.extend("-s 7 -n 15000 -T 4 -C -L 500 -F 3000".split(' '));
    let run = oxv_guest(&args, Duration::from_secs(240));
    let shown = format!(
        "status {:?}\n--- stdout ---\n{}\n--- stderr (end) ---\n{}",
        run.code,
        run.stdout,
        &run.stderr[run.stderr.len().saturating_sub(4000)..]
    );
    assert!(
        !run.stderr.contains("kernel panic") && run.code != Some(101),
        "oxv panicked:\n{shown}"
    );
    assert_eq!(run.code, Some(0), "the stress run failed:\n{shown}");
    let summary = run
        .stdout
        .lines()
        .find(|l| l.starts_with("stress: threads=4 "))
        .unwrap_or_else(|| panic!("no summary line:\n{shown}"));
    assert!(
        summary.contains(" bad=0 ") && summary.contains(" canary=ok "),
        "{shown}"
    );
    assert_eq!(field(summary, "calls"), Some(60_000), "{shown}");
    let churn = run
        .stdout
        .lines()
        .find(|l| l.starts_with("stress: churn "))
        .unwrap_or_else(|| panic!("no churn line:\n{shown}"));
    let created = field(churn, "created").expect("created=");
    assert_eq!(field(churn, "ended"), Some(created), "{shown}");
    // 60,000 calls in lives of 1-999 calls: over a hundred threads in all.
    assert!(created >= 60, "only {created} threads created:\n{shown}");
    assert!(field(churn, "forks").is_some_and(|n| n >= 5), "{shown}");
    assert_eq!(field(churn, "fork_bad"), Some(0), "{shown}");
    assert_eq!(field(churn, "exec_bad"), Some(0), "{shown}");
    assert!(churn.contains(" stacks=intact"), "{shown}");
}

/// The reproducers in `stress/repro/` (one per bug the stress runs found) each exit 0 in
/// oxv, as on Linux.
#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn stress_reproducers_pass_in_oxv() {
    let mut sources: Vec<String> = std::fs::read_dir(stress_dir().join("repro"))
        .expect("stress/repro")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".c"))
        .collect();
    sources.sort();
    assert!(!sources.is_empty(), "no reproducers in stress/repro");
    for source in sources {
        let name = source.trim_end_matches(".c");
        let program = build_stress_program(&format!("repro/{source}"), name);
        let p = program.to_str().expect("UTF-8 path");
        let run = oxv_guest(
            &["run", "--cpus", "2", "--timeout", "60", "--", p],
            Duration::from_secs(120),
        );
        assert_eq!(
            run.code,
            Some(0),
            "{source}: status {:?}\n{}\n{}",
            run.code,
            run.stdout,
            run.stderr
        );
    }
}
