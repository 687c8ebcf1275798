//! tmpfs size limits in the guest (docs/robustness.md, bug 11; compat-tests/tmpfs_size.c has
//! the mount options, statfs and remount against Linux): what a compat test cannot run on the
//! host because Linux would fill the host's RAM, memfd_create files being unlimited there.
//!
//! ```text
//! cargo test -p oxv-cli --test tmpfs_limits -- --ignored
//! ```

mod common;

use std::process::{Command, Stdio};

/// Builds `programs/NAME.c` (`source`), runs it in oxv with `mem` of RAM, and checks it
/// passed (status 0, `PASSED`) with no OOM kill and no panic; returns its stdout.
fn run_passing(name: &str, source: &str, mem: &str) -> String {
    let program = common::build_c("tmpfs_limits", name, source);
    let out = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(["run", "--timeout", "120", "--mem", mem, "--"])
        .arg(&program)
        .stdin(Stdio::null())
        .output()
        .expect("run oxv");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let show = format!("status {:?}\n{stdout}\n{stderr}", out.status.code());
    assert_eq!(out.status.code(), Some(0), "{show}");
    assert!(stdout.contains("PASSED"), "{show}");
    assert!(!stderr.contains("Out of memory"), "no OOM kill: {show}");
    assert!(!stderr.contains("panicked"), "{show}");
    stdout
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn memfd_fallocate_past_ram_fails_cleanly_and_tmp_stops_at_its_size() {
    run_passing(
        "tmpfs_memfd_fallocate",
        include_str!("programs/tmpfs_memfd_fallocate.c"),
        "64M",
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_file_made_in_dev_stops_at_half_of_ram() {
    let stdout = run_passing(
        "tmpfs_devfs_file",
        include_str!("programs/tmpfs_devfs_file.c"),
        "64M",
    );
    // Half of the 64 MiB, less what the kernel image and the boot took: well under 64.
    let mib: u64 = stdout
        .split("wrote ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the program says what it wrote");
    assert!((8..=32).contains(&mib), "wrote {mib} MiB:\n{stdout}");
}
