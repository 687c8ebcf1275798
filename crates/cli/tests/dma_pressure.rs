//! Device I/O under memory pressure (issue 9): disk and network requests made while another
//! process has taken every free frame must complete, never panic the kernel.
//!
//! Each virtio-blk request keeps its header and status bytes on the submitting thread's
//! kernel stack, outside the direct map, so the DMA layer bounces them; mount(2) reads the
//! superblock into a stack buffer too. The bounce buffers used to be allocated per request,
//! and `Hal::share` cannot fail, so with RAM full (the OOM killer not yet run) a disk
//! request was a kernel panic. Now the bounce slots are reserved at probe and stack-held disk
//! data is staged through a per-disk buffer (docs/robustness.md, "DMA bounce buffers").
//!
//! `programs/dma_pressure.c` runs an I/O child (writes and fsyncs, reads checked word by
//! word, mount/umount of a second disk, a UDP datagram to the host) while, [`ROUNDS`] times,
//! a hog child takes every free frame, holds RAM full for a moment, and is OOM-killed.
//!
//! `#[ignore]`d like the other guest tests (it boots QEMU); run it with
//!
//! ```text
//! cargo test -p oxv-cli --test dma_pressure -- --ignored
//! ```
//!
//! Set `OXV_KERNEL` to boot a prebuilt kernel.

mod common;

use std::path::PathBuf;
use std::time::Duration;

/// Small enough to fill in a moment, big enough to boot.
const MEM: &str = "48M";
/// Hogs killed in a run: each fill is another stretch with no frame free. The old kernel
/// panicked in about half of the runs at this count (the I/O has to meet the moment the
/// last frame is gone); each round takes about half a second with KVM.
const ROUNDS: u32 = 12;

/// The contents `dma_pressure.c` expects of `big`: word `i` is `i * 0x9e37_79b9_7f4a_7c15 + 1`.
fn big_file() -> Vec<u8> {
    (0..(8u64 << 20) / 8)
        .flat_map(|i| {
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(1)
                .to_le_bytes()
        })
        .collect()
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn disk_and_network_io_while_ram_is_full_never_panics_the_kernel() {
    let program = common::build_c(
        "dma_pressure",
        "dma_pressure",
        include_str!("programs/dma_pressure.c"),
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dma_pressure/disks");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("create the scratch directory");
    std::fs::create_dir_all(dir.join("second")).expect("create the scratch directory");
    std::fs::write(dir.join("data/big"), big_file()).expect("write big");
    std::fs::write(dir.join("second/hello"), "hello\n").expect("write hello");
    let data = dir.join("data.img");
    let second = dir.join("second.img");
    common::mke2fs(&data, "24M", &[], Some(&dir.join("data")));
    common::mke2fs(&second, "1M", &[], Some(&dir.join("second")));
    let data_disk = format!("{}:/data", data.display());
    let second_disk = format!("{}", second.display());
    let rounds = ROUNDS.to_string();
    let run = common::run_oxv(
        &[
            "run",
            "--timeout",
            "240",
            "--mem",
            MEM,
            "--cpus",
            "2",
            "--net",
            "user",
            "--disk",
            &data_disk,
            "--disk",
            &second_disk,
            "--",
            program.to_str().expect("a UTF-8 path"),
            "/data",
            "/dev/vdb",
            &rounds,
        ],
        Duration::from_secs(300),
    );
    let show = format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        run.code, run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("kernel panic"), "{show}");
    assert_eq!(run.code, Some(0), "{show}");
    // Every round's hog was the OOM killer's victim, and nothing else: never the parent
    // (pid 1), never the I/O child (pid 2). The killer once in about 15 runs also picked the
    // I/O child just after a hog it had killed while faulting (the hog's exit had given its
    // memory back meanwhile); it now sees that and kills no one.
    let kills: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("Out of memory: Killed process"))
        .collect();
    assert!(
        kills
            .iter()
            .all(|k| !k.contains("Killed process 1 ") && !k.contains("Killed process 2 ")),
        "the parent or the I/O child was killed\n{show}"
    );
    assert_eq!(kills.len(), ROUNDS as usize, "{show}");
    let mut lines = run.stdout.lines();
    for r in 1..=ROUNDS {
        // Always SIGKILL. A hog killed while not faulting (its memory reaped at once) used
        // to end by SIGSEGV now and then: its fault on the reaped memory, pending when it
        // was killed, was taken as its own (in 6 of 34 runs).
        assert_eq!(
            lines.next().unwrap_or_default(),
            format!("round {r}: hog killed by signal 9"),
            "{show}"
        );
    }
    let totals = lines.next().unwrap_or_default();
    assert!(totals.starts_with("io: "), "{show}");
    // At least the passes made before and between the hogs, each with its mount.
    let count = |what: &str| -> u64 {
        totals
            .split(", ")
            .find_map(|f| f.strip_suffix(what))
            .and_then(|n| n.trim_start_matches("io: ").parse().ok())
            .unwrap_or(0)
    };
    assert!(count(" passes") >= 2, "{show}");
    assert!(count(" mounts") >= 1, "{show}");
    assert_eq!(lines.next(), Some("io exited with 0"), "{show}");
    let _ = std::fs::remove_dir_all(&dir);
}
