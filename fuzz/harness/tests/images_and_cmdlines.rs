//! Replays the `ext2` and `cmdline` fuzz targets' saved inputs without libFuzzer: every seed
//! and every reproducer of a fixed bug must run clean, each under a watchdog so that a hang
//! fails the test instead of stalling the suite. Also a randomized command-line test that
//! needs no libFuzzer: random bytes and mutations of the lines `oxv run` builds.

use oxv_fuzz_harness::capped_heap::CappedHeap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// As in the fuzz targets: an allocation sized by an on-disk field fails instead of passing
/// on a host with memory to spare.
#[global_allocator]
static HEAP: CappedHeap = CappedHeap::new(1 << 30);

/// Far longer than any input takes (an image: well under a second).
const WATCHDOG: Duration = Duration::from_secs(30);

fn files_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file() && p.file_name().is_none_or(|n| n != ".gitkeep"));
    v.sort();
    v
}

/// Runs `f` on a thread of its own; `Err` describes a panic or a hang.
fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(p)) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Err(_) => Err(format!("hang: no result after {WATCHDOG:?}")),
    }
}

fn run_image(path: &Path) -> oxv_vfs::ext2::exercise::Report {
    let data = std::fs::read(path).expect("read an input");
    match guarded(move || oxv_fuzz_harness::ext2::run(&data)) {
        Ok(Ok(report)) => report,
        Ok(Err(v)) => panic!("{}: {v}", path.display()),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

#[test]
fn every_ext2_seed_mounts_and_runs_clean() {
    let seeds = files_in("seeds-ext2");
    assert!(seeds.len() >= 4, "the ext2 seeds are missing: {seeds:?}");
    for path in seeds {
        let report = run_image(&path);
        assert_eq!(report.mount_error, None, "{}", path.display());
        assert_eq!(report.remount_error, None, "{}", path.display());
        assert!(report.nodes >= 2, "{}: {report:?}", path.display());
        println!("{}: {report:?}", path.display());
    }
}

#[test]
fn fixed_ext2_crashes_stay_fixed() {
    for path in files_in("regressions-ext2") {
        run_image(&path);
    }
}

#[test]
fn every_cmdline_seed_and_reproducer_runs_clean() {
    let mut inputs = files_in("seeds-cmdline");
    assert!(inputs.len() >= 3, "the cmdline seeds are missing");
    inputs.extend(files_in("regressions-cmdline"));
    for path in inputs {
        let data = std::fs::read(&path).expect("read an input");
        match guarded(move || oxv_fuzz_harness::cmdline::run(&data)) {
            Ok(Ok(())) => {}
            Ok(Err(v)) => panic!("{}: {v}", path.display()),
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

/// xorshift64: reproducible, not good.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Random bytes and random edits of real command lines (as `oxv run` builds them, with a
/// VMM's `virtio_mmio.device=` entries after argv) through every parser of the boot path.
#[test]
fn random_command_lines_never_break_the_boot_parsers() {
    let real: Vec<Vec<u8>> = files_in("seeds-cmdline")
        .iter()
        .map(|p| std::fs::read(p).expect("read a seed"))
        .collect();
    const SPECIAL: &[&[u8]] = &[
        b"%",
        b"=",
        b" ",
        b"--",
        b"\"\"",
        b"\0",
        b"\xff",
        b"@",
        b":",
        b"0x",
        b"K",
        b"G",
        b"virtio_mmio.device=",
        b"18446744073709551615",
        b"tsc_khz=",
        b"winsize=",
        b"disk=",
        b"ip=",
        b"x",
    ];
    let mut rng = Rng(0x0c0f_fee0_dd5e_ed01);
    for i in 0..50_000 {
        let line: Vec<u8> = if i % 4 == 0 {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            let mut l = real[rng.below(real.len())].clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(l.len() + 1);
                match rng.below(4) {
                    0 if at < l.len() => l[at] = rng.next() as u8,
                    1 if at < l.len() => {
                        let end = (at + rng.below(12)).min(l.len());
                        l.drain(at..end);
                    }
                    2 => {
                        let s = SPECIAL[rng.below(SPECIAL.len())];
                        l.splice(at..at, s.iter().copied());
                    }
                    _ => {
                        // A piece of the line repeated: long runs of options or devices.
                        let end = (at + rng.below(40)).min(l.len());
                        let piece = l[at..end].to_vec();
                        for _ in 0..rng.below(50) {
                            l.splice(at..at, piece.iter().copied());
                        }
                    }
                }
            }
            l
        };
        if let Err(v) = oxv_fuzz_harness::cmdline::run(&line) {
            panic!("{v}: {:?}", String::from_utf8_lossy(&line));
        }
    }
}
