//! Out of memory in the guest: programs that exhaust a small VM's RAM (anonymous memory
//! touched, kernel memory through pipe buffers, forked children, a tmpfs file) must end the
//! way Linux ends them, never with a kernel panic: the OOM killer kills the largest process
//! with `SIGKILL` and says so on the console (`Out of memory: Killed process PID (comm) ...`),
//! and the VM's exit status is the app's (137 = 128 + SIGKILL when the app itself is killed).
//! See docs/robustness.md, "Out of memory".
//!
//! Each test is `#[ignore]`d (it boots QEMU), like the other guest tests; run them with
//!
//! ```text
//! cargo test -p oxv-cli --test oom -- --ignored
//! ```
//!
//! Set `OXV_KERNEL` to boot a prebuilt kernel. Each run takes about a second with KVM.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Per-run limit: a run takes about a second with KVM; TCG on a busy machine is slower.
const TIMEOUT_SECS: &str = "60";

/// Small enough to fill in a moment, big enough to boot.
const MEM: &str = "48M";

fn build_c(name: &str, source: &str) -> PathBuf {
    common::build_c("oom", name, source)
}

/// Runs `program` with `args` in a VM of [`MEM`].
fn run_small(program: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(["run", "--timeout", TIMEOUT_SECS, "--mem", MEM, "--"])
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oxv")
}

/// A readable account of a run, for assertion messages.
fn show(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts no kernel panic and exactly one OOM kill, of `pid` running `comm`.
#[track_caller]
fn assert_one_oom_kill(out: &Output, pid: u32, comm: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("kernel panic"), "{}", show(out));
    let kills: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Out of memory: Killed process"))
        .collect();
    assert_eq!(kills.len(), 1, "one OOM kill expected\n{}", show(out));
    assert!(
        kills[0].starts_with(&format!(
            "oxv: Out of memory: Killed process {pid} ({comm}) "
        )),
        "{}",
        show(out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn touching_anonymous_memory_until_none_is_left_oom_kills_the_app() {
    let program = build_c("oom_anon", include_str!("programs/oom_anon.c"));
    let out = run_small(&program, &[]);
    assert_eq!(out.status.code(), Some(137), "{}", show(&out));
    assert_one_oom_kill(&out, 1, "oom_anon");
    // It got far: most of the VM's RAM was the app's.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("touched 32 MiB"), "{}", show(&out));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn filling_the_kernel_heap_with_pipe_buffers_oom_kills_the_app() {
    let program = build_c("oom_pipes", include_str!("programs/oom_pipes.c"));
    let out = run_small(&program, &[]);
    // Before the OOM killer, the failed kernel heap growth was a panic (status 101).
    assert_eq!(out.status.code(), Some(137), "{}", show(&out));
    assert_one_oom_kill(&out, 1, "oom_pipes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("33 pipes, 33 MiB"), "{}", show(&out));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_pipe_write_that_goes_on_allocating_after_the_kill_does_not_panic() {
    // One 1 MiB write(2) allocates 256 pipe pages: more than the heap's reserve holds after
    // the kill. The killer unmaps the victim's memory at once (the OOM reaper), so the heap
    // grows again (and the write stops at the buffer, unmapped: a short write).
    let program = build_c("oom_pipes", include_str!("programs/oom_pipes.c"));
    let out = run_small(&program, &["big"]);
    assert_eq!(out.status.code(), Some(137), "{}", show(&out));
    assert_one_oom_kill(&out, 1, "oom_pipes");
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn the_largest_process_is_killed_not_the_one_that_ran_out() {
    let program = build_c("oom_victim", include_str!("programs/oom_victim.c"));
    let out = run_small(&program, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Child A (pid 2, 28 MiB) is killed when child B (24 MiB) runs out; B's fault is
    // retried with A's memory and B finishes.
    assert_one_oom_kill(&out, 2, "oom_victim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("B exited with 0") && stdout.contains("A killed by signal 9"),
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn the_largest_process_is_killed_and_its_parent_survives() {
    let program = build_c("oom_fork", include_str!("programs/oom_fork.c"));
    let out = run_small(&program, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_one_oom_kill(&out, 2, "oom_fork");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("child killed by signal 9"),
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_tmpfs_file_that_fills_ram_fails_its_write_with_enospc() {
    let program = build_c("oom_tmpfs", include_str!("programs/oom_tmpfs.c"));
    let out = run_small(&program, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("No space left on device") && stdout.contains("wrote 32 MiB"),
        "{}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("kernel panic"), "{}", show(&out));
}
