//! Guest tests of the virtio devices: `--disk` (virtio-blk, read through `/dev/vda`) and the
//! network device (`--net user`, checked by the kernel's ARP self-test), on both machines.
//!
//! `#[ignore]`d like the other guest tests (they need QEMU); run them with
//!
//! ```text
//! cargo test -p oxv-cli --test virtio -- --ignored --test-threads=2
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const TIMEOUT_SECS: &str = "60";

/// Reads sectors 0-7 (the host's pattern), writes a string at byte 5000 (inside sector 9,
/// so the driver must read, patch and write back), flushes, reads it back. Exit status:
/// 0 ok, 2 open, 3 size, 4 pattern, 5 write, 6 flush, 7 read-back. With argument `ro`, the
/// write must fail with EPERM instead.
const DISK_PROGRAM: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

int main(int argc, char **argv) {
    int ro = argc > 1 && strcmp(argv[1], "ro") == 0;
    int fd = open("/dev/vda", ro ? O_RDONLY : O_RDWR);
    if (fd < 0) { perror("open"); return 2; }
    unsigned long long size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0 || size != 1 << 20) { printf("size %llu\n", size); return 3; }
    unsigned char buf[4096];
    if (pread(fd, buf, sizeof buf, 0) != sizeof buf) return 4;
    for (int i = 0; i < 4096; i++) if (buf[i] != ((i * 7) & 0xff)) return 4;
    const char *msg = "written by oxv";
    if (ro) {
        int w = open("/dev/vda", O_WRONLY);
        if (w < 0) { perror("open for writing"); return 2; }
        if (pwrite(w, msg, strlen(msg), 5000) != -1 || errno != EPERM) return 5;
        puts("read-only ok");
        return 0;
    }
    if (pwrite(fd, msg, strlen(msg), 5000) != (ssize_t)strlen(msg)) return 5;
    if (ioctl(fd, BLKFLSBUF, 0) != 0) return 6;
    memset(buf, 0, sizeof buf);
    if (pread(fd, buf, 14, 5000) != 14 || memcmp(buf, msg, 14) != 0) return 7;
    puts("disk ok");
    return 0;
}
"#;

fn build_c(name: &str, source: &str) -> PathBuf {
    common::build_c("virtio", name, source)
}

/// Whether mke2fs, e2fsck and debugfs are on `PATH` (the ext2 disk tests need them).
fn has_e2fsprogs() -> bool {
    ["mke2fs", "e2fsck", "debugfs"].iter().all(|t| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Asserts `e2fsck -fn` finds nothing to fix in `image`.
fn assert_fsck_clean(image: &Path) {
    let fsck = Command::new("e2fsck")
        .arg("-fn")
        .arg(image)
        .output()
        .expect("run e2fsck");
    assert!(
        fsck.status.success(),
        "e2fsck -fn: {}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
}

/// The bytes of `file` in the ext2 `image`, read with debugfs.
fn debugfs_cat(image: &Path, file: &str) -> Vec<u8> {
    Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {file}"))
        .arg(image)
        .output()
        .expect("run debugfs")
        .stdout
}

/// A 1 MiB image whose first 8 KiB hold byte `(i * 7) & 0xff` at offset `i`.
fn pattern_image(name: &str) -> (PathBuf, Vec<u8>) {
    let mut image = vec![0u8; 1 << 20];
    for (i, b) in image.iter_mut().take(8192).enumerate() {
        *b = (i * 7) as u8;
    }
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("virtio")
        .join(format!("{name}.{}.img", std::process::id()));
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
    std::fs::write(&path, &image).expect("write the image");
    (path, image)
}

fn oxv_run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(["run", "--timeout", TIMEOUT_SECS])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oxv")
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn disk_round_trip(machine: &str) {
    let program = build_c(&format!("disk-{machine}"), DISK_PROGRAM);
    let (image, mut expected) = pattern_image(&format!("disk-{machine}"));
    let out = oxv_run(&[
        "--machine",
        machine,
        "--disk",
        path_str(&image),
        path_str(&program),
    ]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "disk ok\n");
    // What the guest wrote is in the host's file, and nothing else changed.
    expected[5000..5014].copy_from_slice(b"written by oxv");
    let after = std::fs::read(&image).expect("read the image back");
    assert!(
        after == expected,
        "the image differs from what the guest wrote"
    );
    let _ = std::fs::remove_file(&image);
}

#[test]
#[ignore = "boots QEMU"]
fn raw_disk_round_trip_on_microvm() {
    disk_round_trip("microvm");
}

#[test]
#[ignore = "boots QEMU"]
fn raw_disk_round_trip_on_q35() {
    disk_round_trip("q35");
}

#[test]
#[ignore = "boots QEMU"]
fn read_only_disk_refuses_writes() {
    let program = build_c("disk-ro", DISK_PROGRAM);
    let (image, expected) = pattern_image("disk-ro");
    let disk = format!("{}:ro", path_str(&image));
    let out = oxv_run(&["--disk", &disk, path_str(&program), "ro"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "read-only ok\n");
    assert!(std::fs::read(&image).expect("read the image") == expected);
    let _ = std::fs::remove_file(&image);
}

/// Counts the CPUs it may run on and sums the disk's first 8 KiB.
const CPUS_AND_DISK_PROGRAM: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    cpu_set_t set;
    unsigned char buf[8192];
    unsigned long sum = 0;
    int fd = open("/dev/vda", O_RDONLY);

    if (sched_getaffinity(0, sizeof set, &set) != 0 || fd < 0) return 2;
    if (pread(fd, buf, sizeof buf, 0) != sizeof buf) return 3;
    for (unsigned i = 0; i < sizeof buf; i++) sum += buf[i];
    printf("cpus %d sum %lu\n", CPU_COUNT(&set), sum);
    return 0;
}
"#;

/// microvm lists its virtio-mmio devices on the kernel command line only without ACPI, so
/// the CPUs come from the firmware's MP table: a VM with devices still gets all its CPUs,
/// and the device's interrupts (routed to another CPU than the boot one) still arrive.
#[test]
#[ignore = "boots QEMU"]
fn microvm_with_devices_brings_up_every_cpu() {
    let program = build_c("cpus-disk", CPUS_AND_DISK_PROGRAM);
    let (image, bytes) = pattern_image("cpus-disk");
    let out = oxv_run(&[
        "--cpus",
        "2",
        "--net",
        "user",
        "--disk",
        path_str(&image),
        path_str(&program),
    ]);
    assert!(out.status.success(), "{}", show(&out));
    let sum: u64 = bytes[..8192].iter().map(|&b| u64::from(b)).sum();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("cpus 2 sum {sum}\n")
    );
    let _ = std::fs::remove_file(&image);
}

fn arp_self_test(machine: &str) {
    let program = build_c(
        &format!("true-arp-{machine}"),
        "int main(void) { return 0; }",
    );
    let out = oxv_run(&[
        "-v",
        "--machine",
        machine,
        "--net",
        "user",
        "--net-selftest",
        path_str(&program),
    ]);
    let log = show(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("virtio-net: mac 52:54:00:12:34:56"), "{log}");
    assert!(log.contains("10.0.2.2 is at 52:55:0a:00:02:02"), "{log}");
}

fn rng_seeds_the_kernel(machine: &str) {
    let program = build_c(
        &format!("true-rng-{machine}"),
        "int main(void) { return 0; }",
    );
    let out = oxv_run(&["-v", "--machine", machine, "--rng", path_str(&program)]);
    let log = show(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("virtio-rng: 32 seed bytes"), "{log}");
    assert!(
        log.contains("virtio-rng, hypervisor") || log.contains("virtio-rng + tsc"),
        "{log}"
    );
}

#[test]
#[ignore = "boots QEMU"]
fn virtio_rng_seeds_the_kernel_on_microvm() {
    rng_seeds_the_kernel("microvm");
}

#[test]
#[ignore = "boots QEMU"]
fn virtio_rng_seeds_the_kernel_on_q35() {
    rng_seeds_the_kernel("q35");
}

#[test]
#[ignore = "boots QEMU"]
fn nic_reaches_the_gateway_on_microvm() {
    arp_self_test("microvm");
}

#[test]
#[ignore = "boots QEMU"]
fn nic_reaches_the_gateway_on_q35() {
    arp_self_test("q35");
}

/// `MAP_SHARED` on an ext2 disk: the guest writes a sparse file through a shared mapping
/// (see `programs/mmap_shared_ext2.c`); after the VM powers off, the image holds those bytes
/// (read with debugfs) and `e2fsck -fn` finds it clean.
#[test]
#[ignore = "boots QEMU"]
fn shared_file_mapping_reaches_the_ext2_disk() {
    if !has_e2fsprogs() {
        println!("skipped: needs e2fsprogs");
        return;
    }
    let program = build_c(
        "mmap-shared-ext2",
        include_str!("programs/mmap_shared_ext2.c"),
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("virtio");
    let image = dir.join(format!("mmap-shared-ext2.{}.img", std::process::id()));
    let _ = std::fs::remove_file(&image);
    common::mke2fs(&image, "8M", &["-b", "1024"], None);
    let disk = format!("{}:/mnt", path_str(&image));
    let out = oxv_run(&["--disk", &disk, path_str(&program)]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mmap ext2 ok\n");

    assert_fsck_clean(&image);
    let data = debugfs_cat(&image, "/shared.bin");
    let mut expected: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 31 + 7) as u8).collect();
    expected[5] = b'M';
    expected[30000..30009].copy_from_slice(b"via write");
    assert!(
        data == expected,
        "the image holds other bytes than the guest wrote"
    );
    let _ = std::fs::remove_file(&image);
}

/// mount(2) and umount2(2) of an ext2 disk attached without a mount point (see
/// `programs/mount_ext2.c`): after the VM powers off, both files the guest wrote (one before
/// an unmount, one on a mount left in place) are on the image and `e2fsck -fn` finds it clean.
#[test]
#[ignore = "boots QEMU"]
fn mount_syscall_mounts_and_unmounts_an_ext2_disk() {
    if !has_e2fsprogs() {
        println!("skipped: needs e2fsprogs");
        return;
    }
    let program = build_c("mount-ext2", include_str!("programs/mount_ext2.c"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("virtio");
    let image = dir.join(format!("mount-ext2.{}.img", std::process::id()));
    let _ = std::fs::remove_file(&image);
    common::mke2fs(&image, "8M", &[], None);
    let out = oxv_run(&["--disk", path_str(&image), path_str(&program)]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mount ext2 ok\n");

    assert_fsck_clean(&image);
    for (file, text) in [
        ("/hello.txt", "from mount(2)\n"),
        ("/second.txt", "left mounted\n"),
    ] {
        let data = debugfs_cat(&image, file);
        assert_eq!(String::from_utf8_lossy(&data), text, "{file} on the image");
    }
    let _ = std::fs::remove_file(&image);
}
