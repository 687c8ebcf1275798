//! Memory reclaim of file data in the guest: a small VM must get through file work larger
//! than its RAM without the OOM killer, by writing dirty page-cache pages back to the disk
//! and dropping them ([`oxv_vfs::shrink`]), and by taking clean file pages out of the
//! mappings that hold them (the page cache's reverse map) so a later access faults them in
//! again from the file. See docs/robustness.md, "Out of memory".
//!
//! Each test is `#[ignore]`d (it boots QEMU), like the other guest tests; run them with
//!
//! ```text
//! cargo test -p oxv-cli --test reclaim -- --ignored
//! ```

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Per-run limit: writing and reading back 96 MiB under TCG on a busy machine.
const LIMIT: Duration = Duration::from_secs(300);

/// Small enough that the files below are twice its size, big enough to boot.
const MEM: &str = "48M";

/// A scratch directory for test `name`, empty.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("reclaim")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// A readable account of a run, for assertion messages.
fn show(run: &common::OxvRun) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        run.code, run.stdout, run.stderr
    )
}

/// Asserts the run ended with status 0, printed `want`, and killed nobody.
#[track_caller]
fn assert_clean_pass(run: &common::OxvRun, want: &str) {
    assert_eq!(run.code, Some(0), "{}", show(run));
    assert_eq!(run.stdout, want, "{}", show(run));
    assert!(
        !run.stderr.contains("Out of memory") && !run.stderr.contains("kernel panic"),
        "{}",
        show(run)
    );
}

/// Builds `programs/{name}.c` and runs it in [`MEM`] with `disk` (a `--disk` value) and
/// `args`.
fn run_with_disk(name: &str, source: &str, disk: &str, args: &[&str]) -> common::OxvRun {
    let program = common::build_c("reclaim", name, source);
    let program = program.to_str().expect("UTF-8 path");
    let mut argv = vec!["run", "--mem", MEM, "--disk", disk, "--", program];
    argv.extend_from_slice(args);
    common::run_oxv(&argv, LIMIT)
}

/// `reclaim_write` writing 96 MiB (twice [`MEM`]) with `mode` on a fresh 160 MiB disk.
fn write_twice_ram(mode: &str) {
    let dir = scratch(&format!("write_{mode}"));
    let img = dir.join("data.img");
    common::mke2fs(&img, "160M", &[], None);
    let run = run_with_disk(
        "reclaim_write",
        include_str!("programs/reclaim_write.c"),
        &format!("{}:/data", img.display()),
        &["/data/big", "96", mode],
    );
    assert_clean_pass(
        &run,
        &format!("wrote 96 MiB with {mode}\nread back 96 MiB: ok\n"),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn writing_twice_ram_with_write_needs_no_fsync_and_kills_nobody() {
    write_twice_ram("write");
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn writing_twice_ram_through_shared_mappings_writes_dirty_pages_back_under_pressure() {
    write_twice_ram("mmap");
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn one_mapping_of_a_file_larger_than_ram_is_read_through_twice() {
    let dir = scratch("map");
    std::fs::create_dir_all(dir.join("files")).expect("create the files directory");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..96 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(dir.join("files/big"), &data).expect("write the file");
    let img = dir.join("data.img");
    common::mke2fs(&img, "128M", &[], Some(&dir.join("files")));
    let _ = std::fs::remove_dir_all(dir.join("files"));
    let run = run_with_disk(
        "reclaim_map",
        include_str!("programs/reclaim_map.c"),
        &format!("{}:/data:ro", img.display()),
        &["/data/big"],
    );
    let sum = format!("{:016x}", common::fnv1a_words(&data));
    assert_clean_pass(&run, &format!("pass 1: {sum}\npass 2: {sum}\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn msync_in_one_process_notices_later_writes_of_another() {
    let dir = scratch("msync_fork");
    let img = dir.join("data.img");
    common::mke2fs(&img, "8M", &[], None);
    let run = run_with_disk(
        "reclaim_msync_fork",
        include_str!("programs/reclaim_msync_fork.c"),
        &format!("{}:/data", img.display()),
        &["/data/f"],
    );
    assert_clean_pass(&run, "mapped: second\n");
    // What reached the disk (the VM wrote its dirty pages back when it stopped).
    let out = Command::new("debugfs")
        .args(["-R", "cat /f"])
        .arg(&img)
        .output()
        .expect("debugfs (e2fsprogs) must be installed");
    assert_eq!(
        out.stdout.get(..6),
        Some(&b"second"[..]),
        "the disk holds {:?}\n{}",
        String::from_utf8_lossy(&out.stdout),
        show(&run)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
