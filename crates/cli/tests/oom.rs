//! Out of memory in the guest: programs that exhaust a small VM's RAM (anonymous memory
//! touched, kernel memory through pipe buffers, forked children, a tmpfs file) must end the
//! way Linux ends them, never with a kernel panic: the OOM killer kills the largest process
//! with `SIGKILL` and says so on the console (`Out of memory: Killed process PID (comm) ...`),
//! and the VM's exit status is the app's (137 = 128 + SIGKILL when the app itself is killed).
//! A faulting process that is not the victim waits for the victim's memory and finishes, a
//! victim killed while its thread runs on another vCPU ends by `SIGKILL` (never by a fault
//! on the memory the reaper took), clean ext2 page-cache pages are reclaimed before anyone
//! is killed, sends that fill the kernel heap (AF_UNIX, TCP, pipes) end by `SIGKILL`
//! round after round, never by a panic, and an allocation under the scheduler lock that
//! needs the heap's reserve does not hang the kernel.
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
    run_small_with(&["--timeout", TIMEOUT_SECS], program, args)
}

/// Runs `program` with `args` in a VM of [`MEM`], with `options` for `oxv run`.
fn run_small_with(options: &[&str], program: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxv"))
        .arg("run")
        .args(options)
        .args(["--mem", MEM, "--"])
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
        // /tmp's size is half of RAM (Linux's tmpfs default): the write stops there.
        stdout.contains("No space left on device")
            && stdout.contains("wrote 16 MiB")
            && !stdout.contains("wrote 24 MiB"),
        "{}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("kernel panic"), "{}", show(&out));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_memfd_filled_by_sendfile_leaves_the_kernel_its_memory() {
    let program = build_c("oom_tmpfs", include_str!("programs/oom_tmpfs.c"));
    let out = run_small(&program, &["memfd"]);
    // Without the tmpfs watermark the copy took every frame and the pipes' heap growth
    // OOM-killed the program (137).
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("sendfile: short") && stdout.contains("after the fill: ok"),
        "{}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("kernel panic") && !stderr.contains("Out of memory"),
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn clean_file_pages_are_reclaimed_before_anyone_is_killed() {
    // A 64 MiB file in a 48 MiB VM, read twice through mappings, then 24 MiB touched: the
    // page cache must give its clean pages back each time (before, a fault that found no
    // frame for the page cache killed the app in the first pass).
    let program = build_c("oom_ext2_cache", include_str!("programs/oom_ext2_cache.c"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oom/ext2_cache");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("files")).expect("create the scratch directory");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..64 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(dir.join("files/big"), &data).expect("write the file");
    let img = dir.join("data.img");
    common::mke2fs(&img, "80M", &[], Some(&dir.join("files")));
    let _ = std::fs::remove_dir_all(dir.join("files"));
    let disk = format!("{}:/data:ro", img.display());
    let out = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args([
            "run",
            "--timeout",
            TIMEOUT_SECS,
            "--mem",
            MEM,
            "--disk",
            &disk,
            "--",
        ])
        .arg(&program)
        .args(["/data/big", "24"])
        .stdin(Stdio::null())
        .output()
        .expect("run oxv");
    let sum = format!("{:016x}", common::fnv1a_words(&data));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        stdout,
        format!("pass 1: {sum}\npass 2: {sum}\ntouched 24 MiB\n"),
        "{}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Out of memory") && !stderr.contains("kernel panic"),
        "{}",
        show(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_faulting_process_waits_for_a_victim_that_cannot_be_reaped_at_once() {
    let program = build_c(
        "oom_vfork_victim",
        include_str!("programs/oom_vfork_victim.c"),
    );
    let out = run_small(&program, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // A (pid 2) is killed first; its memory is C's too (pid 3, A's vfork child), so once A
    // has died (the kill ends its vfork wait) and nothing came back, C is killed. B (pid 4)
    // is never chosen and finishes.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("kernel panic"), "{}", show(&out));
    let kills: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Out of memory: Killed process"))
        .collect();
    assert!(
        kills.len() == 2
            && kills[0].starts_with("oxv: Out of memory: Killed process 2 (oom_vfork_victi")
            && kills[1].starts_with("oxv: Out of memory: Killed process 3 (oom_vfork_victi"),
        "{}",
        show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "B exited with 0\nA killed by signal 9\n",
        "{}",
        show(&out)
    );
}

/// Rounds of `oom_reap_running`: the old kernel failed about one round in 13 (12 of 156),
/// so 24 rounds failed on it in about 6 runs of 7; each round takes about a second with KVM.
const REAP_ROUNDS: usize = 24;

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_victim_killed_while_it_runs_ends_by_sigkill() {
    let program = build_c(
        "oom_reap_running",
        include_str!("programs/oom_reap_running.c"),
    );
    let rounds = REAP_ROUNDS.to_string();
    let out = run_small_with(&["--timeout", "240", "--cpus", "2"], &program, &[&rounds]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("kernel panic"), "{}", show(&out));
    // Round r's B is pid 2r, its A pid 2r + 1: one kill per round, always of A.
    let killed: Vec<u32> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("oxv: Out of memory: Killed process "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    let a_pids: Vec<u32> = (1..=REAP_ROUNDS as u32).map(|r| 2 * r + 1).collect();
    assert_eq!(killed, a_pids, "{}", show(&out));
    // Always SIGKILL: never SIGSEGV from a fault on the memory the reaper took.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let want: String = (1..=REAP_ROUNDS)
        .map(|r| format!("round {r}: A killed by signal 9, B exited with 0\n"))
        .collect();
    assert_eq!(stdout, want, "{}", show(&out));
}

/// Rounds of `oom_send_rounds` per mode: the old kernel panicked in the first round of the
/// `dgram` and `tcp` modes; a round takes about 0.1 s.
const SEND_ROUNDS: usize = 20;

/// Rounds of the `pipe` mode. A kernel heap that kept every block it grew by had the
/// parent itself OOM-killed after about 15 rounds (14 to 17 in 4 runs): each round's pipe
/// buffers left the heap's free memory in blocks too small for the next round's growth.
/// Wholly free heap blocks now go back to the frame allocator under pressure (30 of 30
/// rounds in 2 runs).
const PIPE_ROUNDS: usize = 20;

/// Runs `oom_send_rounds MODE` for `rounds` rounds on 2 vCPUs (the socket calls run without
/// the kernel lock there, so the reap waits for the send's return) and asserts that each
/// round's child, the only one holding memory (kernel heap), is OOM-killed and ends by
/// `SIGKILL`, with no kernel panic.
#[track_caller]
fn assert_send_rounds_end_by_sigkill(mode: &str, rounds: usize) {
    let program = build_c(
        "oom_send_rounds",
        include_str!("programs/oom_send_rounds.c"),
    );
    let rounds_arg = rounds.to_string();
    let out = run_small_with(
        &["--timeout", "240", "--cpus", "2"],
        &program,
        &[mode, &rounds_arg],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("kernel panic"), "{mode}: {}", show(&out));
    assert_eq!(out.status.code(), Some(0), "{mode}: {}", show(&out));
    let want: String = (1..=rounds)
        .map(|r| format!("round {r}: killed by signal 9\n"))
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        want,
        "{mode}: {}",
        show(&out)
    );
    // Round r's child is pid r + 1, and only children are killed, one per round.
    let killed: Vec<u32> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("oxv: Out of memory: Killed process "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    let children: Vec<u32> = (2..=rounds as u32 + 1).collect();
    assert_eq!(killed, children, "{mode}: {}", show(&out));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_sendmmsg_that_goes_on_queueing_datagrams_after_the_kill_does_not_panic() {
    // One sendmmsg(2) of 64 datagrams of 192 KiB each: it stops at the kill instead of
    // draining the heap's reserve (the old kernel panicked: "memory allocation of 196608
    // bytes failed" in `copy_whole`).
    assert_send_rounds_end_by_sigkill("dgram", SEND_ROUNDS);
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn loopback_tcp_connections_that_fill_the_heap_end_by_sigkill() {
    // A new connection's 256 KiB buffers are more than the heap's reserve: the old kernel
    // panicked (in the poll that answered the SYN) without killing anyone.
    assert_send_rounds_end_by_sigkill("tcp", SEND_ROUNDS);
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn unix_stream_sends_and_pipe_writes_that_fill_the_heap_end_by_sigkill() {
    assert_send_rounds_end_by_sigkill("stream", SEND_ROUNDS);
    assert_send_rounds_end_by_sigkill("pipe", PIPE_ROUNDS);
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn an_allocation_under_the_scheduler_lock_defers_the_kill() {
    // The 2049th futex waiter on one word grows the kernel's waiter array to 160 KiB under
    // the scheduler lock, with RAM full: the heap's reserve serves it and the OOM kill is
    // left to the idle loop (every thread of the child is blocked). The old kernel ran the
    // killer there, which woke the victim's threads and so took the scheduler lock again:
    // the VM hung (so did this kernel with the `sched::locked_here` check taken out).
    let program = build_c(
        "oom_futex_sched_lock",
        include_str!("programs/oom_futex_sched_lock.c"),
    );
    let run = common::run_oxv(
        &[
            "run",
            "--timeout",
            "150",
            "--mem",
            "128M",
            "--",
            program.to_str().expect("a UTF-8 path"),
        ],
        std::time::Duration::from_secs(200),
    );
    let all = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("kernel panic"), "{all}");
    assert_eq!(run.code, Some(0), "{all}");
    assert_eq!(run.stdout, "child killed by signal 9\n", "{all}");
    assert!(
        run.stderr
            .contains("oxv: Out of memory: Killed process 2 (oom_futex_sche"),
        "{all}"
    );
}
