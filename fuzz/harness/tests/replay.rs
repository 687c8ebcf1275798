//! Replays the saved fuzz inputs without libFuzzer: every seed must run clean, and every bug
//! reproducer is a test (ignored while the bug is open, with the bug in the reason).
//!
//! Each input runs on its own thread under a watchdog, so a hang fails the test instead of
//! stalling the suite.

use oxv_fuzz_harness::capped_heap::CappedHeap;
use oxv_fuzz_harness::{Options, Report, Violation, input, run_bytes, seeds};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// The live heap is capped at 1 GiB, as in the fuzz target: a handler that sizes an
/// allocation by the app's buffer (bug 12) fails an allocation and aborts the test binary
/// instead of passing on a host with memory to spare.
#[global_allocator]
static HEAP: CappedHeap = CappedHeap::new(1 << 30);

/// Longer than any clean input takes (a few ms), short enough for a suite.
const WATCHDOG: Duration = Duration::from_secs(20);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `data` with a watchdog; `Err` describes a violation, a panic or a hang.
fn run_guarded(data: Vec<u8>, options: Options) -> Result<Report, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| run_bytes(&data, &options));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(Ok(report))) => Ok(report),
        Ok(Ok(Err(Violation { op, what, message }))) => {
            Err(format!("invariant broken at op {op} ({what}): {message}"))
        }
        Ok(Err(panic)) => Err(format!(
            "panic: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Err(_) => Err(format!("hang: no result after {WATCHDOG:?}")),
    }
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fuzz_dir().join(dir))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

#[test]
fn every_seed_runs_clean() {
    let seeds = files_in("seeds");
    assert!(seeds.len() >= 4, "the seed corpus is missing: {seeds:?}");
    let mut calls = 0;
    for path in seeds {
        let data = std::fs::read(&path).expect("read a seed");
        match run_guarded(data, Options::strict()) {
            Ok(report) => calls += report.calls,
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    assert!(calls > 100, "the seeds reach only {calls} handler calls");
}

#[test]
fn committed_seeds_match_their_sources() {
    for (name, ops) in seeds::all() {
        let saved = std::fs::read(fuzz_dir().join("seeds").join(format!("{name}.bin")))
            .unwrap_or_else(|e| panic!("seeds/{name}.bin: {e} (run fuzz/run.sh --seeds)"));
        assert_eq!(saved, input::encode(&ops), "seeds/{name}.bin is stale");
    }
    for (name, ops) in seeds::regressions() {
        let saved = std::fs::read(fuzz_dir().join("regressions").join(format!("{name}.bin")))
            .unwrap_or_else(|e| panic!("regressions/{name}.bin: {e}"));
        assert_eq!(
            saved,
            input::encode(&ops),
            "regressions/{name}.bin is stale"
        );
    }
}

#[test]
fn known_bugs_are_stepped_around_in_lenient_mode() {
    for path in files_in("regressions") {
        let data = std::fs::read(&path).expect("read a reproducer");
        if let Err(e) = run_guarded(data, Options::lenient()) {
            panic!("{}: {e}", path.display());
        }
    }
}

/// Every saved crash that is not one of the named bugs below must pass (a fixed bug's
/// reproducer stays here as a regression test).
#[test]
fn fixed_crashes_stay_fixed() {
    let open: Vec<&str> = seeds::regressions().iter().map(|(n, _)| *n).collect();
    for path in files_in("regressions") {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if open.contains(&stem) {
            continue;
        }
        let data = std::fs::read(&path).expect("read a reproducer");
        if let Err(e) = run_guarded(data, Options::strict()) {
            panic!("{}: {e}", path.display());
        }
    }
}

fn replay(name: &str) {
    let path = fuzz_dir().join("regressions").join(format!("{name}.bin"));
    let data = std::fs::read(&path).expect("read the reproducer");
    if let Err(e) = run_guarded(data, Options::strict()) {
        panic!("{}: {e}", path.display());
    }
}

#[test]
#[ignore = "bug 1: tmpfs holds the inode lock across user copies; a read into (or write from) \
            an untouched private mapping of the same file faults the page in, re-reads the \
            file and deadlocks"]
fn bug1_read_into_own_mapping() {
    replay("bug1-read-into-own-mapping");
}

#[test]
#[ignore = "bug 1: tmpfs holds the inode lock across user copies (write direction)"]
fn bug1_write_from_own_mapping() {
    replay("bug1-write-from-own-mapping");
}

#[test]
#[ignore = "bug 2: setrlimit/prlimit64(RLIMIT_NOFILE) never reaches FdTable::set_limit, so \
            new fds ignore the lowered limit (Linux: EMFILE)"]
fn bug2_rlimit_nofile_ignored() {
    replay("bug2-rlimit-nofile-ignored");
}

#[test]
fn bug10_terminal_write_2gib() {
    let start = std::time::Instant::now();
    replay("bug10-terminal-write-2gib");
    // The watchdog allows 20 s; the fixed write takes about 1 s in a release build.
    eprintln!("bug10: {:?}", start.elapsed());
}

#[test]
fn bug12_netlink_send_2gib() {
    replay("bug12-netlink-send-2gib");
}

#[test]
fn bug16_wake_op_wakes_requeue_pi_waiter() {
    replay("bug16-wake-op-wakes-requeue-pi-waiter");
}

/// The fuzzer's input: a `FUTEX_CMP_REQUEUE_PI` moved a waiter onto the PI lock its own TID
/// held (the checks: "its owner 2 waits for it").
#[test]
fn bug17_cmp_requeue_pi_waiter_owns_the_lock() {
    replay("bug17-cmp-requeue-pi-waiter-owns-the-lock");
}

/// The fuzzer's input, a false alarm of the harness: the app wrote a lock word after the
/// kernel handed the lock to a woken thread that had not run yet; the word check now skips
/// words the app wrote.
#[test]
fn harness_pi_word_written_after_handoff() {
    replay("harness-pi-word-written-after-handoff");
}
