//! Guest test of socket data calls on several CPUs (issue 6, issue 4): TCP over loopback in
//! both directions from threads on two vCPUs, while other threads churn mappings (TLB
//! shootdowns), a pipe and a futex; with `mix`, also an AF_UNIX stream pair, UDP and an
//! AF_UNIX datagram pair (two senders and two receivers on one socket) and `SCM_RIGHTS` over
//! an AF_UNIX seqpacket pair. The data calls (read, write, readv, writev, recvfrom, sendto,
//! sendmsg, recvmsg) on TCP, UDP and AF_UNIX sockets run without the kernel lock
//! (`crates/kernel/src/syscall/unlocked.rs`); the program (`programs/net_smp_stream.c`)
//! checks every byte of every stream and datagram, and every file passed.
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

/// Runs the program on 2 vCPUs with `args`; fails on a hang, a panic or a non-zero exit;
/// returns its stdout and a readable account of the run (labelled `label`) for messages.
fn run_on_two_cpus(label: &str, args: &[&str]) -> (String, String) {
    let bin = program();
    let p = bin.to_str().expect("UTF-8 path");
    let mut argv = vec![
        "run",
        "--cpus",
        "2",
        "--mem",
        "256M",
        "--timeout",
        "200",
        "--",
        p,
    ];
    argv.extend_from_slice(args);
    let run = common::run_oxv(&argv, WATCHDOG);
    let shown = format!(
        "{label}: status {:?}\n--- stdout ---\n{}\n--- stderr (end) ---\n{}",
        run.code,
        run.stdout,
        &run.stderr[run.stderr.len().saturating_sub(4000)..]
    );
    assert!(
        !run.stderr.contains("kernel panic"),
        "oxv panicked:\n{shown}"
    );
    assert_eq!(run.code, Some(0), "the run failed:\n{shown}");
    (run.stdout, shown)
}

/// Two connections (8 streaming threads) and five churn threads on 2 vCPUs, 4 MiB per
/// direction, five times: every run ends, with every byte where it belongs.
#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn tcp_streams_on_two_cpus_with_kernel_churn() {
    for round in 0..5 {
        let (stdout, shown) = run_on_two_cpus(&format!("round {round}"), &["2", "4"]);
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
    let (stdout, shown) = run_on_two_cpus("3 connections", &["3", "2"]);
    let bytes = 6 * (2 * 1024 * 1024 + 12345);
    assert!(
        stdout.contains(&format!("net_smp: ok bytes={bytes} ")),
        "{shown}"
    );
}

/// TCP, an AF_UNIX stream pair, UDP, AF_UNIX datagrams and `SCM_RIGHTS` records all at once
/// on 2 vCPUs with the churn, three times: every byte, datagram and file arrives once.
#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn mixed_socket_kinds_on_two_cpus() {
    for round in 0..3 {
        let (stdout, shown) = run_on_two_cpus(&format!("round {round}"), &["2", "1", "mix"]);
        let tcp = 4 * (1024 * 1024 + 12345);
        let unix = 2 * (1024 * 1024 + 12345);
        assert!(
            stdout.contains(&format!("net_smp: ok bytes={tcp} ")),
            "{shown}"
        );
        // 400 records, every eighth received without room for its file.
        assert!(
            stdout.contains(&format!(
                "net_smp: mix ok unix={unix} udp=3000 dgram=3000 rights=350"
            )),
            "{shown}"
        );
    }
}
