//! Guest tests of corrupt ext2 disks (issue #9): `oxv run --disk CORRUPT.img:/mnt` either
//! refuses the disk with a clear error and a non-zero exit (a superblock that is not ext2's),
//! or boots and the app gets an errno where the image is broken (a directory block, an
//! inode's block map), with the app's own exit status; never a kernel panic.
//!
//! Each test is `#[ignore]`d (it boots QEMU and needs e2fsprogs and gcc); run them with
//!
//! ```text
//! cargo test -p oxv-cli --test ext2_corrupt -- --ignored --test-threads=1
//! ```

mod common;

use common::{OxvRun, build_c, mke2fs, run_oxv};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Per-run limit: generous for TCG on a busy 2-core machine.
const LIMIT: Duration = Duration::from_secs(180);

/// Lists a directory and reads a file, printing each errno; exits 7 whatever happens, so
/// that the run's status tells the app's from the kernel's.
const PROGRAM: &str = r#"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    DIR *d = opendir(argv[1]);
    if (!d) {
        printf("opendir: errno %d\n", errno);
    } else {
        struct dirent *e;
        int n = 0;
        errno = 0;
        while ((e = readdir(d)) != NULL)
            n++;
        printf("readdir: %d entries, errno %d\n", n, errno);
        closedir(d);
    }
    struct stat st;
    if (stat(argv[2], &st) != 0) {
        printf("stat: errno %d\n", errno);
    } else {
        printf("stat: size %lld\n", (long long)st.st_size);
    }
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) {
        printf("open: errno %d\n", errno);
    } else {
        static char buf[65536];
        long long total = 0;
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0)
            total += r;
        printf("read: %lld bytes, errno %d\n", total, r < 0 ? errno : 0);
        close(fd);
    }
    /* A change on the damaged file system: must fail or succeed, never crash the kernel. */
    fd = open("/mnt/new-file", O_CREAT | O_WRONLY, 0644);
    if (fd < 0) {
        printf("create: errno %d\n", errno);
    } else {
        printf("create: ok, write %zd\n", write(fd, "data", 4));
        printf("fsync: %d\n", fsync(fd));
        close(fd);
    }
    printf("done\n");
    return 7;
}
"#;

fn have_tools(test: &str) -> bool {
    let ok = ["mke2fs", "debugfs", "gcc"]
        .iter()
        .all(|t| Command::new(t).arg("-V").output().is_ok());
    if !ok {
        eprintln!("{test}: skipped: needs e2fsprogs and gcc");
    }
    ok
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ext2_corrupt")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// A 4 MiB image of 1 KiB blocks holding `d/` (200 entries: several blocks) and `file`
/// (100 KiB: direct and indirect blocks).
fn image(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("d")).expect("mkdir");
    for i in 0..200 {
        std::fs::write(src.join(format!("d/entry-{i:03}")), b"x").expect("write");
    }
    let data: Vec<u8> = (0..100 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(src.join("file"), data).expect("write");
    let img = dir.join("disk.img");
    mke2fs(&img, "4M", &["-b", "1024"], Some(&src));
    img
}

/// `debugfs -w -R CMD IMG`'s output.
fn debugfs(img: &Path, write: bool, cmd: &str) -> String {
    let mut c = Command::new("debugfs");
    if write {
        c.arg("-w");
    }
    let out = c.arg("-R").arg(cmd).arg(img).output().expect("run debugfs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The disk block of logical block `n` of `path` in the image.
fn bmap(img: &Path, path: &str, n: u32) -> u64 {
    let out = debugfs(img, false, &format!("bmap {path} {n}"));
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("bmap {path} {n}: {out:?}"))
}

fn run(img: &Path, program: &Path) -> OxvRun {
    let disk = format!("{}:/mnt", img.display());
    run_oxv(
        &[
            "run",
            "--timeout",
            "150",
            "--disk",
            &disk,
            program.to_str().expect("UTF-8 path"),
            "/mnt/d",
            "/mnt/file",
        ],
        LIMIT,
    )
}

fn assert_no_panic(run: &OxvRun, what: &str) {
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !all.contains("panicked") && !all.contains("kernel panic"),
        "{what}: the kernel panicked:\n{all}"
    );
}

/// The app ran to its end and exited with its own status.
fn assert_app_finished(run: &OxvRun, what: &str) {
    assert_no_panic(run, what);
    assert_eq!(
        run.code,
        Some(7),
        "{what}: the exit status is not the app's:\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("done"), "{what}: {}", run.stdout);
}

#[test]
#[ignore = "boots QEMU; needs e2fsprogs and gcc"]
fn a_disk_with_a_bad_superblock_magic_is_refused() {
    if !have_tools("a_disk_with_a_bad_superblock_magic_is_refused") {
        return;
    }
    let dir = scratch("magic");
    let img = image(&dir);
    let mut bytes = std::fs::read(&img).expect("read the image");
    // s_magic: bytes 56-57 of the superblock, which starts at byte 1024.
    bytes[1024 + 56..1024 + 58].copy_from_slice(&0x1234u16.to_le_bytes());
    std::fs::write(&img, &bytes).expect("write the image");
    let program = build_c("ext2_corrupt", "corrupt_app", PROGRAM);
    let out = run(&img, &program);
    assert_no_panic(&out, "bad magic");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("cannot mount disk") && all.contains("not an ext2 file system"),
        "bad magic: no clear error:\n{all}"
    );
    assert!(
        out.code.is_some_and(|c| c != 0 && c != 7),
        "bad magic: exit status {:?}:\n{all}",
        out.code
    );
    assert!(!out.stdout.contains("done"), "the app ran: {all}");
}

#[test]
#[ignore = "boots QEMU; needs e2fsprogs and gcc"]
fn a_broken_directory_block_is_an_errno_for_the_app() {
    if !have_tools("a_broken_directory_block_is_an_errno_for_the_app") {
        return;
    }
    let dir = scratch("dirent");
    let img = image(&dir);
    // The second block of d/: its first record's rec_len becomes 0, the classic loop.
    let block = bmap(&img, "d", 1);
    let mut bytes = std::fs::read(&img).expect("read the image");
    let at = block as usize * 1024 + 4;
    bytes[at..at + 2].copy_from_slice(&0u16.to_le_bytes());
    std::fs::write(&img, &bytes).expect("write the image");
    let program = build_c("ext2_corrupt", "corrupt_app", PROGRAM);
    let out = run(&img, &program);
    assert_app_finished(&out, "rec_len 0");
    // Linux's ext2 answers a bad directory block with EIO (errno 5) while listing.
    assert!(
        out.stdout.contains("errno 5\n"),
        "rec_len 0: the listing did not fail with EIO:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("read: 102400 bytes, errno 0"),
        "{}",
        out.stdout
    );
}

#[test]
#[ignore = "boots QEMU; needs e2fsprogs and gcc"]
fn a_block_map_pointing_off_the_disk_is_an_errno_for_the_app() {
    if !have_tools("a_block_map_pointing_off_the_disk_is_an_errno_for_the_app") {
        return;
    }
    let dir = scratch("bmap");
    let img = image(&dir);
    // file's single-indirect block (i_block[12]) names a block far past the disk's end,
    // and its size is absurd: reading stops with EIO at block 12, not before.
    debugfs(&img, true, "sif file block[IND] 0x7fffffff");
    debugfs(&img, true, "sif file size 0x7fffffffffff");
    let program = build_c("ext2_corrupt", "corrupt_app", PROGRAM);
    let out = run(&img, &program);
    assert_app_finished(&out, "indirect block off the disk");
    assert!(
        out.stdout.contains("readdir: 202 entries, errno 0"),
        "the intact directory: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("read: 12288 bytes, errno 5"),
        "indirect block off the disk: {}",
        out.stdout
    );
}
