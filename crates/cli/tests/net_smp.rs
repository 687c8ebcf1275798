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

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run may take at most (it takes seconds with KVM, a minute or two on TCG).
const WATCHDOG: Duration = Duration::from_secs(240);

fn program() -> PathBuf {
    let source = include_str!("programs/net_smp_stream.c");
    common::build_c("net_smp", "net_smp_stream", source)
}

/// Runs `oxv` with `args`; returns its exit status and stdout, or fails on a hang.
fn oxv(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oxv");
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for oxv") {
            break status.code();
        }
        if start.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("oxv {args:?} hung: still running after {WATCHDOG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    (code, stdout, stderr)
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
