//! Guest test of socket data calls on several CPUs (issue 6, issue 4): TCP over loopback in
//! both directions from threads on two vCPUs, while other threads churn mappings (TLB
//! shootdowns), a pipe and a futex. The data calls (read, write, recvfrom, sendto) on TCP
//! sockets run without the kernel lock (`crates/kernel/src/syscall/unlocked.rs`); the
//! program (`programs/net_smp_stream.c`) checks every byte of every stream.
//!
//! `#[ignore]`d like the other guest tests (they need QEMU); run with
//!
//! ```text
//! cargo test -p oxv-cli --test net_smp -- --ignored
//! ```
//!
//! Each run has a watchdog: a hang (a lock-order deadlock, a lost wake-up) fails the test.

mod common;

use std::path::PathBuf;
use std::time::Duration;

/// How long one run may take at most (it takes seconds with KVM, a minute or two on TCG).
const WATCHDOG: Duration = Duration::from_secs(240);

fn program() -> PathBuf {
    let source = include_str!("programs/net_smp_stream.c");
    common::build_c("net_smp", "net_smp_stream", source)
}

/// Runs `oxv` with `args`; returns its exit status, stdout and stderr, or fails on a hang.
fn oxv(args: &[&str]) -> (Option<i32>, String, String) {
    let run = common::run_oxv(args, WATCHDOG);
    (run.code, run.stdout, run.stderr)
}

/// Two connections (8 streaming threads) and five churn threads on 2 vCPUs, 4 MiB per
/// direction, five times: every run ends, with every byte where it belongs.
#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn tcp_streams_on_two_cpus_with_kernel_churn() {
    let bin = program();
    let p = bin.to_str().expect("UTF-8 path");
    for round in 0..5 {
        let (code, stdout, stderr) = oxv(&[
            "run",
            "--cpus",
            "2",
            "--mem",
            "256M",
            "--timeout",
            "200",
            "--",
            p,
            "2",
            "4",
        ]);
        let shown = format!(
            "round {round}: status {code:?}\n--- stdout ---\n{stdout}\n--- stderr (end) ---\n{}",
            &stderr[stderr.len().saturating_sub(4000)..]
        );
        assert!(!stderr.contains("kernel panic"), "oxv panicked:\n{shown}");
        assert_eq!(code, Some(0), "the run failed:\n{shown}");
        let bytes = 4 * (4 * 1024 * 1024 + 12345);
        assert!(
            stdout.contains(&format!("net_smp: ok bytes={bytes} ")),
            "{shown}"
        );
    }
}

/// One connection per pair of threads, three connections, 2 MiB each way, on 2 vCPUs: the
/// shape with more streams than CPUs (threads block and wake across CPUs).
#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn more_tcp_streams_than_cpus() {
    let bin = program();
    let p = bin.to_str().expect("UTF-8 path");
    let (code, stdout, stderr) = oxv(&[
        "run",
        "--cpus",
        "2",
        "--mem",
        "256M",
        "--timeout",
        "200",
        "--",
        p,
        "3",
        "2",
    ]);
    let shown = format!(
        "status {code:?}\n--- stdout ---\n{stdout}\n--- stderr (end) ---\n{}",
        &stderr[stderr.len().saturating_sub(4000)..]
    );
    assert_eq!(code, Some(0), "the run failed:\n{shown}");
    let bytes = 6 * (2 * 1024 * 1024 + 12345);
    assert!(
        stdout.contains(&format!("net_smp: ok bytes={bytes} ")),
        "{shown}"
    );
}
