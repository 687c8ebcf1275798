//! Kernel address-space layout randomization in the guest: the kernel runs at a random 2 MiB
//! aligned base in the top 2 GiB at each boot, `--nokaslr` (the kernel option `nokaslr`) keeps
//! its link address, and panic backtraces still symbolize (the kernel prints link-time
//! addresses). See docs/robustness.md, "KASLR", and crates/kernel/src/arch/x86_64/boot.rs.
//!
//! The tests read the base from the kernel's verbose log (`oxv: kaslr: kernel base 0x...`).
//! Each is `#[ignore]`d (it boots QEMU), like the other guest tests; run them with
//!
//! ```text
//! cargo test -p oxv-cli --test kaslr -- --ignored
//! ```
//!
//! With `OXV_KERNEL`, name a kernel `oxv` prepared (`target/x86_64-unknown-none/release/
//! oxv-kernel.kaslr`): the linker's own output has an empty relocation table and never slides.

mod common;

use std::process::{Command, Output, Stdio};

/// Per-run limit: a run takes about a second with KVM; TCG on a busy machine is slower.
const TIMEOUT_SECS: &str = "60";

/// The kernel's link-time base (`KERNEL_VMA` in crates/kernel/linker.ld).
const LINK_BASE: u64 = 0xffff_ffff_8000_0000;

fn oxv_run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(["run", "-v", "--timeout", TIMEOUT_SECS])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oxv")
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The kernel base the verbose log reports.
fn kernel_base(out: &Output) -> u64 {
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("oxv: kaslr: kernel base 0x"))
        .unwrap_or_else(|| panic!("no kaslr line in the verbose log:\n{}", show(out)));
    let hex = line.split_whitespace().next().expect("a base");
    u64::from_str_radix(hex, 16).expect("a hex base")
}

fn true_program() -> std::path::PathBuf {
    common::build_c("kaslr", "true", "int main(void) { return 0; }\n")
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn each_boot_picks_another_base_in_the_kernel_window() {
    let bin = true_program();
    let bin = bin.to_str().unwrap();
    // 511 possible bases: three boots landing on one base would be a 1 in 261121 chance.
    let bases: Vec<u64> = (0..3)
        .map(|_| {
            let out = oxv_run(&[bin]);
            assert_eq!(out.status.code(), Some(0), "{}", show(&out));
            kernel_base(&out)
        })
        .collect();
    for &base in &bases {
        assert_eq!(base % (2 << 20), 0, "{base:#x} is 2 MiB aligned");
        assert!(
            (LINK_BASE..LINK_BASE + (1 << 30)).contains(&base),
            "{base:#x} is in the kernel window's first GiB"
        );
    }
    let mut distinct = bases.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() >= 2,
        "the same base three times: {bases:#x?}"
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn nokaslr_boots_at_the_link_base_on_two_cpus() {
    let bin = true_program();
    let out = oxv_run(&["--nokaslr", "--cpus", "2", bin.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(kernel_base(&out), LINK_BASE);
    // The app's argv cannot turn KASLR off: only options before `--` count.
    let out = oxv_run(&[bin.to_str().unwrap(), "nokaslr"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let base = kernel_base(&out);
    // One base in 511 is the link base: retry once before calling it a failure.
    if base == LINK_BASE {
        let again = oxv_run(&[bin.to_str().unwrap(), "nokaslr"]);
        assert_ne!(kernel_base(&again), LINK_BASE, "{}", show(&again));
    }
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_slid_kernel_panic_is_symbolized() {
    // The stack-overflow self-test panics in the trap handler; the backtrace must name the
    // kernel's functions although the kernel ran away from its link address.
    let bin = true_program();
    let out = oxv_run(&[
        "--machine",
        "q35",
        "--selftest",
        "stack-overflow",
        bin.to_str().unwrap(),
    ]);
    let log = show(&out);
    assert_eq!(out.status.code(), Some(101), "{log}");
    let base = kernel_base(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let backtrace = stderr
        .split_once("oxv: backtrace:")
        .unwrap_or_else(|| panic!("no backtrace: {log}"))
        .1;
    assert!(
        backtrace.contains("oxv_kernel::trap::kernel_fault"),
        "the backtrace is symbolized (base {base:#x}): {log}"
    );
    // Link-time addresses: the slide is not in the record.
    for frame in backtrace.lines().filter(|l| l.contains(": 0x")) {
        let addr = frame.split_whitespace().nth(1).expect("an address");
        let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16).expect("hex");
        assert!(
            (LINK_BASE..LINK_BASE + (64 << 20)).contains(&addr),
            "{addr:#x} is a link-time address: {log}"
        );
    }
}
