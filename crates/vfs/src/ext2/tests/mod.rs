//! Host tests of ext2 against e2fsprogs: images made by `mke2fs -d` are read through oxv's
//! code, changed through it, and checked with `e2fsck -fn` and `debugfs`. Tests that need
//! e2fsprogs print why and pass when it is missing (`apt-get install e2fsprogs`).

mod corrupt;
mod errors;
mod model;
mod pages;
mod read;
mod write;

use super::{Ext2, MountOptions};
use crate::block::RamDisk;
use crate::node::{DeviceId, FileKind, Inode, NewAttrs, NewNode};
use crate::time::Timestamp;
use crate::{FileSystem, WriteBuf, WritePos};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub(super) const NOW: Timestamp = Timestamp {
    secs: 1_700_000_000,
    nanos: 123_456_789,
};

pub(super) fn attrs(perm: u32) -> NewAttrs {
    NewAttrs {
        perm,
        uid: 1000,
        gid: 100,
        now: NOW,
    }
}

/// Whether the e2fsprogs tools are installed; prints the reason to skip if not.
pub(super) fn have_e2fsprogs(test: &str) -> bool {
    let ok = ["mke2fs", "e2fsck", "debugfs"].iter().all(|t| {
        Command::new(t)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
    });
    if !ok {
        std::println!("{test}: skipped: e2fsprogs (mke2fs, e2fsck, debugfs) not installed");
    }
    ok
}

/// A scratch directory, removed when dropped.
pub(super) struct Scratch(PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(std::format!(
            "oxv-ext2-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An image of `size_kib` KiB made by `mke2fs -t ext2 -b BS [-d src] [extra...]`.
pub(super) fn mke2fs(
    scratch: &Scratch,
    src: Option<&Path>,
    size_kib: u64,
    block_size: usize,
    extra: &[&str],
) -> Vec<u8> {
    let img = scratch.path("mkfs.img");
    let _ = std::fs::remove_file(&img);
    let mut cmd = Command::new("mke2fs");
    cmd.args(["-q", "-F", "-t", "ext2", "-b"])
        .arg(block_size.to_string())
        .args(extra);
    // Reproducible and independent of the host clock.
    cmd.env("E2FSPROGS_FAKE_TIME", NOW.secs.to_string());
    if let Some(src) = src {
        cmd.arg("-d").arg(src);
    }
    cmd.arg(&img).arg(std::format!("{size_kib}k"));
    let out = cmd.output().expect("run mke2fs");
    assert!(
        out.status.success(),
        "mke2fs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&img).expect("read the image")
}

/// `e2fsck -fn` on `image`: the exit status and the output.
pub(super) fn e2fsck(scratch: &Scratch, image: &[u8]) -> (i32, String) {
    let img = scratch.path("fsck.img");
    std::fs::write(&img, image).expect("write the image");
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(&img)
        .output()
        .expect("run e2fsck");
    let text = std::format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Asserts that `e2fsck -fn` finds nothing wrong with `image`.
#[track_caller]
pub(super) fn assert_clean(scratch: &Scratch, image: &[u8]) {
    let (code, text) = e2fsck(scratch, image);
    assert_eq!(code, 0, "e2fsck -fn is not clean:\n{text}");
}

/// Rewrites `image` in place with `e2fsck -fyD` (which builds hashed directory indexes).
pub(super) fn e2fsck_index_dirs(scratch: &Scratch, image: &mut Vec<u8>) {
    let img = scratch.path("rehash.img");
    std::fs::write(&img, &image[..]).expect("write the image");
    let out = Command::new("e2fsck")
        .arg("-fyD")
        .arg(&img)
        .output()
        .expect("run e2fsck");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "e2fsck -fyD: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    *image = std::fs::read(&img).expect("read the image");
}

/// The output of `debugfs -R cmd` on `image`.
pub(super) fn debugfs(scratch: &Scratch, image: &[u8], cmd: &str) -> Vec<u8> {
    let img = scratch.path("debugfs.img");
    std::fs::write(&img, image).expect("write the image");
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(cmd)
        .arg(&img)
        .output()
        .expect("run debugfs");
    out.stdout
}

/// Mounts `image` from a RAM disk.
pub(super) fn mount(image: Vec<u8>) -> (Arc<RamDisk>, Arc<Ext2>) {
    let disk = Arc::new(RamDisk::from_image(image));
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .expect("mount the image");
    (disk, fs)
}

/// Mounts again what `disk` holds now (after a sync, what a reboot would see).
pub(super) fn remount(disk: &RamDisk) -> Arc<Ext2> {
    let disk = Arc::new(RamDisk::from_image(disk.contents()));
    Ext2::mount(disk, DeviceId::new(8, 1), MountOptions::default(), NOW).expect("remount")
}

/// Resolves a `/`-separated path from the root (no symlinks followed).
pub(super) fn walk(fs: &Ext2, path: &str) -> Result<Arc<dyn Inode>, oxv_abi::Errno> {
    let mut cur = fs.root();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur = cur.lookup(part.as_bytes())?;
    }
    Ok(cur)
}

/// The whole contents of a regular file.
pub(super) fn read_all(node: &dyn Inode) -> Vec<u8> {
    let size = node.metadata().size as usize;
    let mut buf = alloc::vec![0u8; size + 10];
    let n = node
        .read_at(0, &mut crate::ReadBuf::kernel(&mut buf))
        .expect("read the file");
    buf.truncate(n);
    buf
}

/// Names in a directory, without `.` and `..`, sorted.
pub(super) fn list(node: &dyn Inode) -> Vec<(Vec<u8>, FileKind)> {
    let mut out = Vec::new();
    node.read_dir(0, &mut |e| {
        if e.name != b"." && e.name != b".." {
            out.push((e.name.to_vec(), e.kind));
        }
        true
    })
    .expect("list the directory");
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Creates a regular file holding `data`.
pub(super) fn put_file(dir: &dyn Inode, name: &str, data: &[u8]) -> Arc<dyn Inode> {
    let f = dir
        .create(name.as_bytes(), NewNode::Regular, &attrs(0o644))
        .expect("create the file");
    if !data.is_empty() {
        let w = f
            .write_at(WritePos::At(0), &WriteBuf::kernel(data), NOW)
            .expect("write the file");
        assert_eq!(w.count, data.len());
    }
    f
}

/// Deterministic bytes for file contents.
pub(super) fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The directory tree under `node` as `path -> description`, for comparing two file systems
/// (or oxv's view with a model).
pub(super) fn snapshot(node: &Arc<dyn Inode>, prefix: &str, out: &mut Vec<(String, String)>) {
    for (name, kind) in list(&**node) {
        let name = String::from_utf8(name).expect("test names are UTF-8");
        let path = std::format!("{prefix}/{name}");
        let child = node.lookup(name.as_bytes()).expect("listed names resolve");
        let m = child.metadata();
        assert_eq!(
            m.kind, kind,
            "{path}: listing and inode disagree on the kind"
        );
        let desc = match kind {
            FileKind::Regular => {
                let data = read_all(&*child);
                std::format!(
                    "file {:o} size {} sum {:x}",
                    m.perm,
                    data.len(),
                    checksum(&data)
                )
            }
            FileKind::Directory => std::format!("dir {:o}", m.perm),
            FileKind::Symlink => std::format!(
                "link -> {}",
                String::from_utf8_lossy(&child.read_link().expect("read the link"))
            ),
            k => std::format!("{k:?} {:o}", m.perm),
        };
        out.push((path.clone(), desc));
        if kind == FileKind::Directory && name != "lost+found" {
            snapshot(&child, &path, out);
        }
    }
}

pub(super) fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Like [`snapshot`] for a host directory.
pub(super) fn host_snapshot(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read the host directory")
        .map(|e| e.expect("a directory entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().into_string().expect("test names are UTF-8");
        let path = std::format!("{prefix}/{name}");
        let m = std::fs::symlink_metadata(e.path()).expect("stat");
        let perm = m.permissions().mode() & 0o7777;
        let ft = m.file_type();
        let desc = if ft.is_file() {
            let data = std::fs::read(e.path()).expect("read");
            std::format!(
                "file {:o} size {} sum {:x}",
                perm,
                data.len(),
                checksum(&data)
            )
        } else if ft.is_dir() {
            std::format!("dir {perm:o}")
        } else if ft.is_symlink() {
            std::format!(
                "link -> {}",
                std::fs::read_link(e.path()).expect("readlink").display()
            )
        } else {
            use std::os::unix::fs::FileTypeExt;
            let k = if ft.is_fifo() {
                FileKind::Fifo
            } else if ft.is_socket() {
                FileKind::Socket
            } else if ft.is_char_device() {
                FileKind::CharDevice
            } else {
                FileKind::BlockDevice
            };
            std::format!("{k:?} {perm:o}")
        };
        out.push((path.clone(), desc));
        if ft.is_dir() {
            host_snapshot(&e.path(), &path, out);
        }
    }
}

#[test]
fn own_format_is_clean_and_mountable() {
    for bs in [1024, 2048, 4096] {
        let disk = Arc::new(RamDisk::new(40 * 1024)); // 20 MiB: several groups at 1 KiB
        super::format(
            &*disk,
            &super::FormatOptions {
                block_size: bs,
                bytes_per_inode: 8192,
            },
            NOW,
        )
        .expect("format");
        let fs = Ext2::mount(
            disk.clone(),
            DeviceId::new(8, 1),
            MountOptions::default(),
            NOW,
        )
        .expect("mount what format made");
        assert_eq!(
            list(&*fs.root()),
            [(b"lost+found".to_vec(), FileKind::Directory)]
        );
        let stats = fs.stats();
        assert_eq!(stats.block_size, bs as u64);
        assert!(stats.free_blocks > 0 && stats.free_blocks < stats.blocks);
        if have_e2fsprogs("own_format_is_clean_and_mountable") {
            let scratch = Scratch::new("format");
            assert_clean(&scratch, &disk.contents());
        }
    }
}
