//! Guest tests of the ext2 disk file system: crash safety of fsync(2), and file work on a
//! disk image that e2fsprogs then checks.
//!
//! Each test is `#[ignore]`d (it boots QEMU and needs e2fsprogs and gcc); run them with
//!
//! ```text
//! cargo test -p oxv-cli --test ext2_crash -- --ignored --test-threads=1
//! ```
//!
//! The crash test is the acceptance test of issue 5: a program writes 1 MiB to a file on an
//! ext2 disk mounted with `--disk IMG:/mnt`, fsyncs it and prints `synced`; the test then
//! kills QEMU with SIGKILL (no shutdown, no final write-back), runs `e2fsck -fn` on the image
//! and reads the file back with `debugfs`: it must hold every byte.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Per-run limit: generous for TCG on a busy 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(120);

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ext2")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// Compiles `source` with `gcc -static -O1`.
fn build_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).expect("write the C source");
    let bin = dir.join(name);
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc must be installed");
    assert!(
        out.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// `e2fsck -fn`: (exit status, output).
fn e2fsck(img: &Path) -> (i32, String) {
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(img)
        .output()
        .expect("run e2fsck");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn debugfs(img: &Path, cmd: &str) -> Vec<u8> {
    Command::new("debugfs")
        .arg("-R")
        .arg(cmd)
        .arg(img)
        .output()
        .expect("run debugfs")
        .stdout
}

fn have_tools() -> bool {
    let ok = ["mke2fs", "e2fsck", "debugfs", "gcc"].iter().all(|t| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        println!("skipped: needs e2fsprogs and gcc");
    }
    ok
}

fn spawn_oxv(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(["run", "--timeout", &TIMEOUT.as_secs().to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxv")
}

/// The QEMU process `oxv` (pid `parent`) started: its child named `qemu-system-*`.
fn qemu_of(parent: u32) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && head.contains("qemu-system") {
            return Some(pid);
        }
    }
    None
}

/// The bytes the crash program writes: byte i of the file is `(i * 7 + i / 4096) & 0xff`.
fn expected(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + i / 4096) & 0xff) as u8)
        .collect()
}

const CRASH_PROGRAM: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
    enum { SIZE = 1 << 20, CHUNK = 64 * 1024 };
    static unsigned char buf[SIZE];
    for (int i = 0; i < SIZE; i++) buf[i] = (unsigned char)(i * 7 + i / 4096);
    int fd = open("/mnt/data/synced.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    double t0 = now();
    for (int off = 0; off < SIZE; off += CHUNK) {
        if (write(fd, buf + off, CHUNK) != CHUNK) { perror("write"); return 1; }
    }
    double t1 = now();
    if (fsync(fd) != 0) { perror("fsync"); return 1; }
    double t2 = now();
    /* The directory entry is durable too (oxv's fsync syncs the file system; this is what
       a careful program does on Linux). */
    int dir = open("/mnt/data", O_RDONLY | O_DIRECTORY);
    if (dir < 0 || fsync(dir) != 0) { perror("fsync dir"); return 1; }
    printf("write %.1f MiB/s, fsync %.1f ms, write+fsync %.1f MiB/s\n",
           1.0 / (t1 - t0), (t2 - t1) * 1e3, 1.0 / (t2 - t0));
    /* Many small fsyncs: the cost of one fsync of a 4 KiB append. */
    int log = open("/mnt/data/log", O_CREAT | O_WRONLY | O_APPEND, 0644);
    double t3 = now();
    for (int i = 0; i < 32; i++) {
        if (write(log, buf, 4096) != 4096 || fdatasync(log) != 0) { perror("log"); return 1; }
    }
    double t4 = now();
    printf("4 KiB append+fdatasync: %.2f ms each\n", (t4 - t3) * 1e3 / 32);
    printf("synced\n");
    fflush(stdout);
    /* Unsynced work after the last fsync: lost in the crash, harmless to what was synced. */
    int junk = open("/mnt/data/unsynced.bin", O_CREAT | O_WRONLY, 0644);
    write(junk, buf, 8192);
    for (;;) pause();
}
"#;

#[test]
#[ignore = "boots QEMU and needs e2fsprogs; run with --ignored"]
fn fsynced_megabyte_survives_killing_the_vm() {
    if !have_tools() {
        return;
    }
    let dir = scratch("crash");
    let bin = build_c(&dir, "crash", CRASH_PROGRAM);
    let src = dir.join("tree");
    std::fs::create_dir_all(src.join("data")).expect("mkdir");
    let img = dir.join("disk.img");
    common::mke2fs(&img, "16M", &["-b", "1024"], Some(&src));
    let disk = format!("{}:/mnt", img.display());
    let mut child = spawn_oxv(&["--disk", &disk, bin.to_str().expect("UTF-8 path")]);
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let start = Instant::now();
    let mut report = Vec::new();
    let mut synced = false;
    while start.elapsed() < TIMEOUT {
        match lines.next() {
            Some(Ok(line)) => {
                println!("guest: {line}");
                if line == "synced" {
                    synced = true;
                    break;
                }
                report.push(line);
            }
            _ => break,
        }
    }
    // Kill QEMU itself, at once: no shutdown path runs in the guest.
    let qemu = qemu_of(child.id());
    if let Some(pid) = qemu {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    let _ = child.kill();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let _ = child.wait();
    assert!(synced, "the program never said synced:\n{report:?}\n{err}");
    assert!(qemu.is_some(), "QEMU was found and killed");

    let (code, text) = e2fsck(&img);
    println!("{text}");
    assert_eq!(code, 0, "e2fsck -fn after the crash:\n{text}");
    let data = debugfs(&img, "cat /data/synced.bin");
    assert_eq!(data.len(), 1 << 20, "every fsync'ed byte is there");
    assert!(data == expected(1 << 20), "the bytes are the ones written");
    let log = debugfs(&img, "stat /data/log");
    assert!(
        String::from_utf8_lossy(&log).contains("Size: 131072"),
        "{}",
        String::from_utf8_lossy(&log)
    );
}

const FILE_WORK: &str = r#"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s (errno %d)\n", __FILE__, __LINE__, #c, errno); return 1; } } while (0)

int main(void) {
    char buf[256];
    struct stat st;
    struct statfs sf;
    /* What mke2fs -d put there. */
    int fd = open("/mnt/hello.txt", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(read(fd, buf, sizeof buf) == 6 && memcmp(buf, "hello\n", 6) == 0);
    close(fd);
    CHECK(statfs("/mnt", &sf) == 0 && sf.f_type == 0xEF53 && sf.f_bsize == 4096);
    /* Create, write, rename, link, symlink, mkdir, rmdir, unlink, truncate. */
    CHECK(mkdir("/mnt/dir", 0750) == 0);
    CHECK(mkdir("/mnt/dir", 0750) == -1 && errno == EEXIST);
    fd = open("/mnt/dir/file", O_CREAT | O_RDWR, 0640);
    CHECK(fd >= 0);
    for (int i = 0; i < 100; i++) CHECK(write(fd, "0123456789abcdef", 16) == 16);
    CHECK(ftruncate(fd, 1000) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 1000 && st.st_blocks == 8);
    CHECK(pwrite(fd, "Z", 1, 5 << 20) == 1);
    /* Block 1280: through the double indirect block, which needs an indirect block too. */
    CHECK(fstat(fd, &st) == 0 && st.st_size == (5 << 20) + 1 && st.st_blocks == 32);
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
    close(fd);
    CHECK(rename("/mnt/dir/file", "/mnt/dir/renamed") == 0);
    CHECK(link("/mnt/dir/renamed", "/mnt/hard") == 0);
    CHECK(stat("/mnt/hard", &st) == 0 && st.st_nlink == 2);
    CHECK(symlink("dir/renamed", "/mnt/sym") == 0);
    CHECK(readlink("/mnt/sym", buf, sizeof buf) == 11 && memcmp(buf, "dir/renamed", 11) == 0);
    CHECK(mkdir("/mnt/dir/sub", 0700) == 0);
    CHECK(rmdir("/mnt/dir") == -1 && errno == ENOTEMPTY);
    CHECK(rmdir("/mnt/dir/sub") == 0);
    CHECK(unlink("/mnt/hello.txt") == 0);
    CHECK(rename("/mnt/dir", "/mnt/dir/x") == -1 && errno == EINVAL);
    CHECK(link("/mnt/hard", "/tmp/cross") == -1 && errno == EXDEV);
    /* Many files in one directory, then list them. */
    for (int i = 0; i < 300; i++) {
        snprintf(buf, sizeof buf, "/mnt/dir/entry-number-%03d", i);
        fd = open(buf, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0);
        close(fd);
    }
    for (int i = 0; i < 300; i += 2) {
        snprintf(buf, sizeof buf, "/mnt/dir/entry-number-%03d", i);
        CHECK(unlink(buf) == 0);
    }
    DIR *d = opendir("/mnt/dir");
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n++;
    closedir(d);
    CHECK(n == 150 + 1 + 2);
    sync();
    printf("ok\n");
    return 0;
}
"#;

/// The program's run, then e2fsck and debugfs on the image it changed (the VM exits
/// normally: the kernel writes back and marks the file system clean).
fn run_to_end(args: &[&str]) -> Output {
    spawn_oxv(args).wait_with_output().expect("wait for oxv")
}

#[test]
#[ignore = "boots QEMU and needs e2fsprogs; run with --ignored"]
fn file_work_on_a_disk_is_clean_for_e2fsck() {
    if !have_tools() {
        return;
    }
    let dir = scratch("work");
    let bin = build_c(&dir, "work", FILE_WORK);
    let src = dir.join("tree");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("hello.txt"), "hello\n").expect("write");
    let img = dir.join("disk.img");
    // 4 KiB blocks (what mke2fs picks for 512 MiB and up).
    common::mke2fs(&img, "64M", &["-b", "4096"], Some(&src));
    let disk = format!("{}:/mnt", img.display());
    let out = run_to_end(&["--disk", &disk, bin.to_str().expect("UTF-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(0) && stdout.contains("ok"),
        "status {:?}\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, text) = e2fsck(&img);
    assert_eq!(code, 0, "e2fsck -fn:\n{text}");
    let state = Command::new("dumpe2fs")
        .arg("-h")
        .arg(&img)
        .output()
        .expect("dumpe2fs");
    assert!(
        String::from_utf8_lossy(&state.stdout).contains("Filesystem state:         clean"),
        "the kernel marked the file system clean at power-off"
    );
    let ls = String::from_utf8_lossy(&debugfs(&img, "ls -l /")).to_string();
    assert!(
        ls.contains("hard") && ls.contains("sym") && !ls.contains("hello.txt"),
        "{ls}"
    );
    let stat = String::from_utf8_lossy(&debugfs(&img, "stat /dir/renamed")).to_string();
    assert!(
        stat.contains("Links: 2") && stat.contains("Size: 5242881"),
        "{stat}"
    );
}

#[test]
#[ignore = "boots QEMU and needs e2fsprogs; run with --ignored"]
fn read_only_disk_refuses_writes() {
    if !have_tools() {
        return;
    }
    let dir = scratch("ro");
    let bin = build_c(
        &dir,
        "ro",
        r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <unistd.h>
int main(void) {
    char b[16];
    struct statfs sf;
    int fd = open("/data/f", O_RDONLY);
    int n = fd < 0 ? -1 : (int)read(fd, b, sizeof b);
    int w = open("/data/new", O_CREAT | O_WRONLY, 0644);
    int e = errno;
    statfs("/data", &sf);
    printf("read %d create %d errno %s rdonly %d\n", n, w, e == EROFS ? "EROFS" : "other",
           (int)(sf.f_flags & 1));
    return 0;
}
"#,
    );
    let src = dir.join("tree");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("f"), "ro contents").expect("write");
    let img = dir.join("disk.img");
    common::mke2fs(&img, "8M", &["-b", "1024"], Some(&src));
    let before = std::fs::read(&img).expect("read the image");
    let disk = format!("{}:/data:ro", img.display());
    let out = run_to_end(&["--disk", &disk, bin.to_str().expect("UTF-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("read 11 create -1 errno EROFS rdonly 1"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(&img).expect("read") == before,
        "a read-only disk is not written"
    );
}

/// Threads writing, fsyncing and reading their own files at once: a thread that finds the
/// file-system lock held by one asleep on the disk must sleep too (the kernel is not
/// preemptible; a spinning waiter would hang the VM).
const THREADS_PROGRAM: &str = r#"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
enum { THREADS = 4, SIZE = 256 * 1024, CHUNK = 8192 };
static int failures;
static void *work(void *arg) {
    long t = (long)arg;
    char path[64], buf[CHUNK], back[CHUNK];
    for (int round = 0; round < 3; round++) {
        snprintf(path, sizeof path, "/mnt/t%ld-%d", t, round);
        int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
        if (fd < 0) { __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST); return 0; }
        for (int off = 0; off < SIZE; off += CHUNK) {
            memset(buf, 'a' + (t * 7 + off / CHUNK + round) % 26, CHUNK);
            if (write(fd, buf, CHUNK) != CHUNK) __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
            if (off % (64 * 1024) == 0 && fsync(fd) != 0) __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
        }
        for (int off = 0; off < SIZE; off += CHUNK) {
            memset(buf, 'a' + (t * 7 + off / CHUNK + round) % 26, CHUNK);
            if (pread(fd, back, CHUNK, off) != CHUNK || memcmp(buf, back, CHUNK) != 0)
                __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
        }
        close(fd);
        if (round == 1) unlink(path);
    }
    return 0;
}
int main(void) {
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&th[i], 0, work, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], 0);
    printf("threads done, failures %d\n", failures);
    return failures != 0;
}
"#;

#[test]
#[ignore = "boots QEMU and needs e2fsprogs; run with --ignored"]
fn threads_share_the_disk_without_hanging() {
    if !have_tools() {
        return;
    }
    let dir = scratch("threads");
    let src = dir.join("threads.c");
    std::fs::write(&src, THREADS_PROGRAM).expect("write the C source");
    let bin = dir.join("threads");
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let img = dir.join("disk.img");
    common::mke2fs(&img, "16M", &["-b", "1024"], None);
    let disk = format!("{}:/mnt", img.display());
    // A small memory makes a small buffer cache: more reads and writes under the lock.
    let out = run_to_end(&[
        "--mem",
        "64M",
        "--disk",
        &disk,
        bin.to_str().expect("UTF-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(0) && stdout.contains("failures 0"),
        "status {:?}\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, text) = e2fsck(&img);
    assert_eq!(code, 0, "e2fsck -fn:\n{text}");
}
