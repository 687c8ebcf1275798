//! Unpacking an archive into a directory of any writable file system, as Linux's
//! `init/initramfs.c` does at boot. See [`unpack`].

use super::CpioError;
use super::reader::{Parsed, parse_entry};
use crate::io::{WriteBuf, WritePos};
use crate::node::{FileKind, Inode, NewAttrs, NewNode, SetAttr, is_valid_name};
use crate::time::Timestamp;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use oxv_abi::Errno;

/// What [`unpack`] did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct UnpackSummary {
    /// Entries read (the trailer excluded).
    pub entries: usize,
    /// Bytes of regular-file data written.
    pub bytes: u64,
}

/// Why [`unpack`] stopped. Entries before the failing one are in place.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnpackError {
    /// The archive is malformed.
    Archive(CpioError),
    /// The entry at this offset has a name with `..`, an empty or over-long component.
    BadPath {
        /// Offset of the entry.
        offset: usize,
    },
    /// The entry at this offset has a mode that names no file type.
    BadMode {
        /// Offset of the entry.
        offset: usize,
    },
    /// The file system refused the entry at this offset.
    Fs {
        /// Offset of the entry.
        offset: usize,
        /// The error.
        errno: Errno,
    },
}

impl fmt::Display for UnpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnpackError::Archive(e) => e.fmt(f),
            UnpackError::BadPath { offset } => {
                write!(f, "cpio entry at offset {offset}: unusable path")
            }
            UnpackError::BadMode { offset } => {
                write!(f, "cpio entry at offset {offset}: unknown file type")
            }
            UnpackError::Fs { offset, errno } => {
                write!(f, "cpio entry at offset {offset}: {errno}")
            }
        }
    }
}

impl core::error::Error for UnpackError {}

impl From<CpioError> for UnpackError {
    fn from(e: CpioError) -> Self {
        UnpackError::Archive(e)
    }
}

/// Unpacks `archive` into directory `dir`, stamping status-change times with `now`.
///
/// Behaviour matched (Linux's `init/initramfs.c`): names are relative to `dir` (a leading `/`
/// or `./` is ignored), missing parent directories are created with mode 0755, an existing
/// entry is replaced (an existing directory keeps its contents and takes the new mode),
/// regular files with `nlink > 1` that share `dev`/`ino` become hard links (the data may come
/// with any of them), and each file gets the archive's mtime, directories' applied last so
/// creating their children does not overwrite it. Names with a `..` component are refused
/// rather than resolved. On error, the entries before the failing one are in place.
pub fn unpack(
    archive: &[u8],
    dir: &Arc<dyn Inode>,
    now: Timestamp,
) -> Result<UnpackSummary, UnpackError> {
    unpack_from(&mut SliceArchive(archive), dir, now)
}

/// An archive that [`unpack_from`] reads front to back and lets go of as it goes, so that
/// its memory can be reused for the files unpacked from it (the kernel gives the boot
/// module's pages back to its frame allocator: the peak is then about the larger of the
/// archive and the files, not their sum).
pub trait Archive {
    /// The archive from byte `offset` to its end. `offset` is never below what
    /// [`Archive::consumed`] was last given.
    fn bytes_from(&self, offset: usize) -> &[u8];

    /// The bytes below `offset` will not be read again. Called with increasing offsets,
    /// between two reads (no slice from [`Archive::bytes_from`] is alive, as `&mut self`
    /// proves).
    fn consumed(&mut self, offset: usize);
}

/// A whole archive in memory, kept.
struct SliceArchive<'a>(&'a [u8]);

impl Archive for SliceArchive<'_> {
    fn bytes_from(&self, offset: usize) -> &[u8] {
        self.0.get(offset..).unwrap_or_default()
    }
    fn consumed(&mut self, _offset: usize) {}
}

/// File data is copied in pieces of this size, the archive being let go of behind each, so
/// that a large file's copy and its archived data coexist only one piece at a time.
const DATA_PIECE: usize = 64 * 1024;

/// Writes the `len` bytes of data at `offset` of the archive to `file`, telling the archive
/// after each piece that it is consumed; returns the bytes written.
fn copy_data<A: Archive + ?Sized>(
    archive: &mut A,
    offset: usize,
    len: usize,
    file: &dyn Inode,
    now: Timestamp,
) -> Result<usize, Errno> {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(DATA_PIECE);
        let piece = archive
            .bytes_from(offset + done)
            .get(..n)
            .ok_or(Errno::EIO)?;
        let w = file.write_at(WritePos::At(done as u64), &WriteBuf::kernel(piece), now)?;
        if w.count != n {
            return Err(Errno::ENOSPC);
        }
        done += n;
        archive.consumed(offset + done);
    }
    Ok(done)
}

/// [`unpack`] from an [`Archive`] that is let go of as the entries are read: after each
/// entry, and after each [`DATA_PIECE`] of a large file. The archive is validated entry by
/// entry as with [`unpack`] (a bad entry stops the unpacking with the entries before it in
/// place).
pub fn unpack_from<A: Archive + ?Sized>(
    archive: &mut A,
    dir: &Arc<dyn Inode>,
    now: Timestamp,
) -> Result<UnpackSummary, UnpackError> {
    let mut summary = UnpackSummary::default();
    let mut links: BTreeMap<(u32, u32, u32), Arc<dyn Inode>> = BTreeMap::new();
    let mut dir_times: Vec<(Arc<dyn Inode>, Timestamp)> = Vec::new();
    let mut pos = 0;
    loop {
        let e = match parse_entry(archive.bytes_from(pos), pos) {
            Ok(Parsed::Entry(e)) => e,
            Ok(Parsed::Trailer { end }) => {
                archive.consumed(end);
                break;
            }
            Err(kind) => return Err(CpioError { offset: pos, kind }.into()),
        };
        // What is needed of the entry once its data may have been let go of.
        let (offset, end, data_offset, data_len) = (e.offset, e.end, e.data_offset, e.data.len());
        let nlink = e.nlink;
        pos = end;
        summary.entries += 1;
        let fs_err = |errno| UnpackError::Fs { offset, errno };
        let comps: Vec<&[u8]> = e
            .name
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect();
        let Some((&last, parents)) = comps.split_last() else {
            // "." (the target directory itself): nothing to create.
            continue;
        };
        if comps.iter().any(|c| !is_valid_name(c)) {
            return Err(UnpackError::BadPath { offset });
        }
        let kind = e.kind().ok_or(UnpackError::BadMode { offset })?;
        let mut cur = dir.clone();
        for &p in parents {
            cur = match cur.lookup(p) {
                Ok(n) if n.kind() == FileKind::Directory => n,
                Ok(_) => return Err(fs_err(Errno::ENOTDIR)),
                Err(Errno::ENOENT) => cur
                    .create(
                        p,
                        NewNode::Directory,
                        &NewAttrs {
                            perm: 0o755,
                            uid: 0,
                            gid: 0,
                            now,
                        },
                    )
                    .map_err(fs_err)?,
                Err(errno) => return Err(fs_err(errno)),
            };
        }
        let mtime = Timestamp::from_secs(e.mtime as i64);
        let set_times = |n: &dyn Inode, perm: Option<u32>| {
            n.set_attr(&SetAttr {
                perm,
                uid: Some(e.uid),
                gid: Some(e.gid),
                atime: Some(mtime),
                mtime: Some(mtime),
                ctime: now,
                ..SetAttr::default()
            })
        };
        if let Ok(existing) = cur.lookup(last) {
            match (existing.kind(), kind) {
                (FileKind::Directory, FileKind::Directory) => {
                    set_times(&*existing, Some(e.perm())).map_err(fs_err)?;
                    dir_times.push((existing, mtime));
                    continue;
                }
                (FileKind::Directory, _) => cur.rmdir(last, now).map_err(fs_err)?,
                _ => cur.unlink(last, now).map_err(fs_err)?,
            }
        }
        let link_key = (e.dev.major, e.dev.minor, e.ino);
        if kind == FileKind::Regular
            && nlink > 1
            && let Some(target) = links.get(&link_key)
        {
            cur.link(last, &**target, now).map_err(fs_err)?;
            if data_len > 0 {
                set_times(&**target, None).map_err(fs_err)?;
                summary.bytes += copy_data(archive, data_offset, data_len, &**target, now)
                    .map_err(fs_err)? as u64;
                // The writes changed mtime: the archive's is put back.
                target
                    .set_attr(&SetAttr {
                        atime: Some(mtime),
                        mtime: Some(mtime),
                        ctime: now,
                        ..SetAttr::default()
                    })
                    .map_err(fs_err)?;
            }
            archive.consumed(end);
            continue;
        }
        let node = match kind {
            FileKind::Regular => NewNode::Regular,
            FileKind::Directory => NewNode::Directory,
            FileKind::Symlink => NewNode::Symlink(e.data),
            FileKind::CharDevice => NewNode::CharDevice(e.rdev),
            FileKind::BlockDevice => NewNode::BlockDevice(e.rdev),
            FileKind::Fifo => NewNode::Fifo,
            FileKind::Socket => NewNode::Socket,
        };
        let attrs = NewAttrs {
            perm: e.perm(),
            uid: e.uid,
            gid: e.gid,
            now,
        };
        let created = cur.create(last, node, &attrs).map_err(fs_err)?;
        set_times(&*created, None).map_err(fs_err)?;
        if kind == FileKind::Regular && data_len > 0 {
            summary.bytes +=
                copy_data(archive, data_offset, data_len, &*created, now).map_err(fs_err)? as u64;
            // The writes changed mtime: the archive's is put back.
            created
                .set_attr(&SetAttr {
                    atime: Some(mtime),
                    mtime: Some(mtime),
                    ctime: now,
                    ..SetAttr::default()
                })
                .map_err(fs_err)?;
        }
        if kind == FileKind::Directory {
            dir_times.push((created.clone(), mtime));
        }
        if kind == FileKind::Regular && nlink > 1 {
            links.insert(link_key, created);
        }
        archive.consumed(end);
    }
    for (d, mtime) in dir_times {
        let _ = d.set_attr(&SetAttr {
            atime: Some(mtime),
            mtime: Some(mtime),
            ctime: now,
            ..SetAttr::default()
        });
    }
    Ok(summary)
}
