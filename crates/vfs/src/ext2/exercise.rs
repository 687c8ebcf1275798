//! Drives a possibly corrupt ext2 image through every read and write path, for the
//! corruption tests (`tests/corrupt.rs`) and the `ext2` fuzz target (`fuzz/`), which share it.
//! Behind the `testing` cargo feature (always on in this crate's own tests).
//!
//! [`exercise`] mounts the image from a [`RamDisk`], walks every directory (reading each at
//! several cursors), stats and reads every file and symlink; on a read-write mount it then
//! creates, writes (into the direct, indirect and double-indirect ranges), truncates,
//! renames, unlinks, makes and removes directories, syncs, unmounts, mounts what the disk
//! holds again and walks it once more.
//!
//! What it checks, as Linux's ext2 promises for a corrupt image: no panic (a panic simply
//! propagates to the caller, which is what the fuzzer and the tests catch), every failure is
//! a [`MountError`] or one of the errnos a file system may answer ([`ALLOWED`]; a corrupt
//! structure is `EIO` or `EUCLEAN`, never `EFAULT` or `ENOMEM`), an entry a directory lists
//! has a kind and a name a directory may hold. Bounded work and memory are the caller's to
//! watch (a timeout, a capped heap): the walk itself is bounded ([`Limits`]), so any loop
//! or any large allocation is the file system's.

use super::{Ext2, MountError, MountOptions, SpinSleeper};
use crate::block::{RamDisk, SECTOR_SIZE};
use crate::io::{ReadBuf, WriteBuf, WritePos};
use crate::mount::FileSystem;
use crate::node::{DeviceId, FileKind, Inode, NewAttrs, NewNode, SetAttr};
use crate::time::Timestamp;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::fs::RenameFlags;

/// The errnos a file-system call may fail with on a corrupt or full image: what Linux's ext2
/// answers (`EIO` for a structure it cannot use, `EUCLEAN` for `EFSCORRUPTED`, `ENOSPC` when
/// the bitmaps say it is full, `EFBIG` past the block map, `EMLINK`...), plus the usual
/// answers of a call whose target is of the wrong kind or absent (a corrupt entry can point at
/// anything).
pub const ALLOWED: &[Errno] = &[
    Errno::EIO,
    Errno::EUCLEAN,
    Errno::ENOSPC,
    Errno::EFBIG,
    Errno::EMLINK,
    Errno::ENOENT,
    Errno::ENOTDIR,
    Errno::EISDIR,
    Errno::EEXIST,
    Errno::ENOTEMPTY,
    Errno::EINVAL,
    Errno::EROFS,
    Errno::ENAMETOOLONG,
    Errno::EOVERFLOW,
    Errno::ESTALE,
    Errno::EPERM,
];

/// How far the walk goes, so that the exerciser's own work is bounded whatever the image
/// says: a directory cycle (an entry naming an ancestor) or a huge file costs at most this.
#[derive(Copy, Clone, Debug)]
pub struct Limits {
    /// Inodes visited in one walk.
    pub nodes: usize,
    /// Directory depth.
    pub depth: usize,
    /// Entries taken from one directory listing.
    pub entries: usize,
    /// Bytes read from one file (from its start; its last block is read as well).
    pub read_bytes: usize,
    /// Buffer-cache size of the mount.
    pub cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            nodes: 300,
            depth: 8,
            entries: 600,
            read_bytes: 96 << 10,
            cache_bytes: 1 << 20,
        }
    }
}

/// What an exercise did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Why the first mount failed, if it did (nothing else was done then).
    pub mount_error: Option<MountError>,
    /// Why the second mount (after the changes) failed, if it did.
    pub remount_error: Option<MountError>,
    /// Inodes visited, over both walks.
    pub nodes: usize,
    /// Calls made to the file system.
    pub calls: usize,
    /// Calls that failed (each with an errno of [`ALLOWED`]).
    pub errors: usize,
}

/// A broken promise (the caller panics with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(pub String);

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

const NOW: Timestamp = Timestamp {
    secs: 1_700_000_000,
    nanos: 0,
};

/// The largest device an image is padded to (see [`disk_image`]).
const MAX_PADDED: u64 = 16 << 20;

/// The device for `data`: the bytes, padded with zeros to whole sectors and, when the
/// superblock's block count asks for more and at most 16 MiB, to the size it names. So a fuzz
/// input can be an image with its trailing zeros cut off.
pub fn disk_image(data: &[u8]) -> Vec<u8> {
    let mut len = (data.len() as u64).div_ceil(SECTOR_SIZE as u64) * SECTOR_SIZE as u64;
    let word = |at: usize| {
        data.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    // s_blocks_count at 1024 + 4, s_log_block_size at 1024 + 24.
    if let (Some(blocks), Some(log)) = (word(1028), word(1048))
        && log <= 6
    {
        let want = (blocks as u64) << (10 + log);
        if want <= MAX_PADDED {
            len = len.max(want);
        }
    }
    let mut image = data.to_vec();
    image.resize(len.max(SECTOR_SIZE as u64) as usize, 0);
    image
}

/// Mounts `image` (read-only if asked) and exercises it; see the [module docs](self).
pub fn exercise(image: Vec<u8>, read_only: bool, limits: Limits) -> Result<Report, Violation> {
    let mut ex = Exerciser {
        limits,
        report: Report::default(),
    };
    let disk = Arc::new(RamDisk::from_image(image));
    let fs = match ex.mount(&disk, read_only) {
        Ok(fs) => fs,
        Err(e) => {
            ex.report.mount_error = Some(e);
            return Ok(ex.report);
        }
    };
    ex.walk(&fs)?;
    if read_only || fs.is_read_only() {
        return Ok(ex.report);
    }
    ex.change(&fs)?;
    ex.check(fs.sync(), "sync")?;
    ex.check(fs.unmount(), "unmount")?;
    drop(fs);
    let again = Arc::new(RamDisk::from_image(disk.contents()));
    match ex.mount(&again, false) {
        Ok(fs) => {
            ex.walk(&fs)?;
            ex.check(fs.sync(), "sync after the remount")?;
        }
        Err(e) => ex.report.remount_error = Some(e),
    }
    Ok(ex.report)
}

struct Exerciser {
    limits: Limits,
    report: Report,
}

impl Exerciser {
    fn mount(&self, disk: &Arc<RamDisk>, read_only: bool) -> Result<Arc<Ext2>, MountError> {
        let options = MountOptions {
            read_only,
            cache_bytes: self.limits.cache_bytes,
            sleeper: Arc::new(SpinSleeper),
        };
        Ext2::mount(disk.clone(), DeviceId::new(8, 1), options, NOW)
    }

    /// Counts a call's result; an errno outside [`ALLOWED`] is a violation.
    fn check<T>(&mut self, r: Result<T, Errno>, what: &str) -> Result<Option<T>, Violation> {
        self.report.calls += 1;
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if ALLOWED.contains(&e) => {
                self.report.errors += 1;
                Ok(None)
            }
            Err(e) => Err(Violation(format!("{what}: unexpected errno {e:?}"))),
        }
    }

    fn walk(&mut self, fs: &Ext2) -> Result<(), Violation> {
        let mut budget = self.limits.nodes;
        self.visit(fs.root(), 0, &mut budget)?;
        self.report.nodes += self.limits.nodes - budget;
        let _ = fs.stats();
        Ok(())
    }

    fn visit(
        &mut self,
        node: Arc<dyn Inode>,
        depth: usize,
        budget: &mut usize,
    ) -> Result<(), Violation> {
        if *budget == 0 {
            return Ok(());
        }
        *budget -= 1;
        let meta = node.metadata();
        if meta.kind != node.kind() {
            return Err(Violation(format!(
                "inode {}: metadata kind {:?} but kind() {:?}",
                node.ino(),
                meta.kind,
                node.kind()
            )));
        }
        match node.kind() {
            FileKind::Regular => self.read_file(&*node, meta.size),
            FileKind::Symlink => {
                if let Some(target) = self.check(node.read_link(), "readlink")?
                    && target.len() > 4096
                {
                    return Err(Violation(format!(
                        "inode {}: a {}-byte symlink target",
                        node.ino(),
                        target.len()
                    )));
                }
                Ok(())
            }
            FileKind::Directory => self.read_dir(node, depth, budget),
            _ => Ok(()),
        }
    }

    fn read_file(&mut self, node: &dyn Inode, size: u64) -> Result<(), Violation> {
        let mut buf = vec![0u8; 16 << 10];
        let mut off = 0u64;
        while off < size && off < self.limits.read_bytes as u64 {
            let r = node.read_at(off, &mut ReadBuf::kernel(&mut buf));
            match self.check(r, "read")? {
                Some(0) | None => break,
                Some(n) if n > buf.len() => {
                    return Err(Violation(format!("read returned {n} > {}", buf.len())));
                }
                Some(n) => off += n as u64,
            }
        }
        // The end of a large file: the deepest part of its block map.
        if size > off {
            let r = node.read_at(size.saturating_sub(100), &mut ReadBuf::kernel(&mut buf));
            self.check(r, "read at the end")?;
        }
        let r = node.read_at(u64::MAX - 10, &mut ReadBuf::kernel(&mut buf[..8]));
        self.check(r, "read past the largest offset")?;
        let _ = node.seek_data(0, true);
        let _ = node.seek_data(0, false);
        Ok(())
    }

    fn read_dir(
        &mut self,
        node: Arc<dyn Inode>,
        depth: usize,
        budget: &mut usize,
    ) -> Result<(), Violation> {
        let mut entries: Vec<(Vec<u8>, u64, u64)> = Vec::new();
        let mut bad = None;
        let limit = self.limits.entries;
        let r = node.read_dir(0, &mut |e| {
            if e.name.is_empty() || e.name.len() > 255 {
                bad = Some(format!("listed name {:?}", e.name));
            }
            entries.push((e.name.to_vec(), e.ino, e.next));
            entries.len() < limit
        });
        self.check(r, "readdir")?;
        if let Some(b) = bad {
            return Err(Violation(format!("inode {}: {b}", node.ino())));
        }
        // Cursors from the listing, and made-up ones: each must resume or end cleanly.
        let mut cursors: Vec<u64> = entries.iter().map(|e| e.2).take(4).collect();
        cursors.extend([1, 2, 7, 12, 1 << 31, u64::MAX / 2, u64::MAX]);
        if let Some(last) = entries.last() {
            cursors.push(last.2);
        }
        for cursor in cursors {
            let mut n = 0;
            let r = node.read_dir(cursor, &mut |_| {
                n += 1;
                n < 3
            });
            self.check(r, "readdir at a cursor")?;
        }
        self.check(node.parent(), "parent")?;
        self.check(node.lookup(b"no-such-name"), "lookup of a missing name")?;
        if depth >= self.limits.depth {
            return Ok(());
        }
        for (name, _, _) in entries {
            if *budget == 0 {
                break;
            }
            if name == b"." || name == b".." {
                continue;
            }
            if let Some(child) = self.check(node.lookup(&name), "lookup of a listed name")? {
                self.visit(child, depth + 1, budget)?;
            }
        }
        Ok(())
    }

    /// Changes on a read-write mount: each may fail with an errno, none may panic.
    fn change(&mut self, fs: &Ext2) -> Result<(), Violation> {
        let root = fs.root();
        let attrs = NewAttrs {
            perm: 0o644,
            uid: 0,
            gid: 0,
            now: NOW,
        };
        let file = self.check(
            root.create(b"fz-file", NewNode::Regular, &attrs),
            "create a file",
        )?;
        if let Some(f) = &file {
            let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
            // Direct blocks, then past 12 blocks of 4 KiB (indirect), then past 1 KiB blocks'
            // double-indirect start (12 + 256 blocks), and far out (sparse).
            for off in [0u64, 50_000, 300_000, 70 << 20] {
                self.check(
                    f.write_at(WritePos::At(off), &WriteBuf::kernel(&data), NOW),
                    "write",
                )?;
            }
            self.check(
                f.write_at(WritePos::Append, &WriteBuf::kernel(&data[..100]), NOW),
                "append",
            )?;
            let size = f.metadata().size;
            self.read_file(&**f, size)?;
            for size in [100_000, 1000, 0, 20_000] {
                self.check(f.set_attr(&truncate(size)), "truncate")?;
            }
        }
        // Existing files: grow, shrink and rewrite some (their block maps may be corrupt).
        let mut names = Vec::new();
        self.check(
            root.read_dir(0, &mut |e| {
                names.push(e.name.to_vec());
                names.len() < 40
            }),
            "readdir before changes",
        )?;
        for name in names.iter().filter(|n| n != &b"." && n != &b"..") {
            let Some(child) = self.check(root.lookup(name), "lookup")? else {
                continue;
            };
            match child.kind() {
                FileKind::Regular => {
                    let size = child.metadata().size;
                    self.check(
                        child.write_at(WritePos::At(size / 2), &WriteBuf::kernel(b"xyz"), NOW),
                        "write into an existing file",
                    )?;
                    self.check(child.set_attr(&truncate(size / 3)), "shrink")?;
                    self.check(child.set_attr(&truncate(size + 5000)), "grow")?;
                }
                FileKind::Directory => {
                    self.check(
                        child.create(b"fz-inner", NewNode::Regular, &attrs),
                        "create in a subdirectory",
                    )?;
                    self.check(child.unlink(b"fz-inner", NOW), "unlink in a subdirectory")?;
                }
                _ => {}
            }
        }
        let dir = self.check(root.create(b"fz-dir", NewNode::Directory, &attrs), "mkdir")?;
        if let Some(d) = &dir {
            for i in 0..40 {
                let name = format!("entry-with-a-longer-name-{i}");
                self.check(
                    d.create(name.as_bytes(), NewNode::Regular, &attrs),
                    "create many",
                )?;
            }
            self.check(
                d.create(b"link", NewNode::Symlink(&[b'x'; 300]), &attrs),
                "symlink (slow)",
            )?;
            self.check(
                d.create(b"short", NewNode::Symlink(b"target"), &attrs),
                "symlink (fast)",
            )?;
            if let Some(f) = &file {
                self.check(d.link(b"hard", &**f, NOW), "link")?;
            }
            for i in (0..40).step_by(3) {
                let name = format!("entry-with-a-longer-name-{i}");
                self.check(d.unlink(name.as_bytes(), NOW), "unlink")?;
            }
            self.check(
                d.rename(
                    b"entry-with-a-longer-name-1",
                    &*root,
                    b"fz-moved",
                    RenameFlags::empty(),
                    NOW,
                ),
                "rename",
            )?;
            self.check(
                root.rename(b"fz-moved", &**d, b"short", RenameFlags::empty(), NOW),
                "rename over",
            )?;
        }
        self.check(root.rmdir(b"fz-dir", NOW), "rmdir of a full directory")?;
        self.check(
            root.create(b"fz-empty", NewNode::Directory, &attrs),
            "mkdir",
        )?;
        self.check(root.rmdir(b"fz-empty", NOW), "rmdir")?;
        // Removing what the image held: its entries and block maps are freed through the
        // bitmaps, which may be corrupt.
        for name in names.iter().take(6).filter(|n| n != &b"." && n != &b"..") {
            if name == b"lost+found" || name.starts_with(b"fz-") {
                continue;
            }
            self.check(root.unlink(name, NOW), "unlink an image file")?;
        }
        self.check(root.unlink(b"fz-file", NOW), "unlink")?;
        drop((file, dir));
        self.check(fs.sync(), "sync")?;
        Ok(())
    }
}

fn truncate(size: u64) -> SetAttr {
    SetAttr {
        perm: None,
        uid: None,
        gid: None,
        size: Some(size),
        atime: None,
        mtime: None,
        ctime: NOW,
    }
}
