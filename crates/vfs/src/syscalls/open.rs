//! open(2), openat(2), creat(2), close(2).
//!
//! Flags, as Linux's `build_open_flags` and `do_open` treat them:
//!
//! - unknown bits are ignored; `O_CREAT | O_DIRECTORY` is `EINVAL`; `O_TMPFILE` is
//!   `EOPNOTSUPP` (not implemented yet) after its own `EINVAL` check (it needs write access);
//! - `O_PATH` keeps only `O_DIRECTORY`, `O_NOFOLLOW` and `O_CLOEXEC`: the fd names a location
//!   and allows no I/O; with `O_NOFOLLOW` it can name a symlink itself;
//! - `O_CREAT` creates a regular file with `mode & 07777 & ~umask` (a trailing slash makes it
//!   `EISDIR`), following a symlink in the last component (even a dangling one: its target is
//!   created), unless `O_EXCL` (`EEXIST` for any existing name, symlinks included) or
//!   `O_NOFOLLOW` (`ELOOP`);
//! - `O_NOFOLLOW` on a symlink is `ELOOP`; `O_DIRECTORY` on a non-directory `ENOTDIR`;
//!   a directory opened for writing (or with `O_TRUNC`) or with `O_CREAT` is `EISDIR`;
//! - `O_TRUNC` empties an existing regular file (even when opened read-only, as Linux does)
//!   and stamps mtime and ctime;
//! - writing to a read-only mount is `EROFS` (device nodes excepted); an access mode of 3 is
//!   accepted (an fd for ioctl(2) only);
//! - a regular file opened for writing (or truncated) while it runs as a program is `ETXTBSY`;
//!   the open file holds write access until it is closed, so exec of it is `ETXTBSY` meanwhile
//!   (see [`crate::write_access`]).
//!
//! Order: flag `EINVAL`s, then the path copy (`EFAULT`, `ENAMETOOLONG`, `ENOENT` if empty),
//! then `EMFILE` if the fd table is full, then the walk.

use super::{copy_nonempty_path, start_of};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::file::{DirectoryFile, FileOps, OpenFile, PathFile, RegularFile};
use crate::inotify::{self, Entry};
use crate::mount::Location;
use crate::node::{FileKind, NewAttrs, NewNode, SetAttr};
use crate::walk::{LastComponent, Walker};
use crate::write_access::WriteAccess;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::linux::fs::{AT_FDCWD, OpenFlags, S_IALLUGO};
use oxv_abi::{Errno, SysResult, UserCStr, UserMemory};

/// open(2).
pub fn open(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    flags: u32,
    mode: u32,
) -> SysResult {
    openat(cx, files, mem, AT_FDCWD, path, flags, mode)
}

/// creat(2): `open(path, O_CREAT | O_WRONLY | O_TRUNC, mode)`.
pub fn creat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    mode: u32,
) -> SysResult {
    let flags = OpenFlags::CREAT | OpenFlags::WRONLY | OpenFlags::TRUNC;
    openat(cx, files, mem, AT_FDCWD, path, flags.bits(), mode)
}

/// openat(2).
pub fn openat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    flags: u32,
    mode: u32,
) -> SysResult {
    let flags = sanitize(OpenFlags::from_bits_retain(flags))?;
    let path = copy_nonempty_path(mem, path)?;
    if !files.has_free_fd() {
        return Err(Errno::EMFILE);
    }
    let start = start_of(cx, files, dirfd, &path)?;
    let file = open_at(cx, &start, &path, flags, mode)?;
    Ok(files.insert(file, flags.contains(OpenFlags::CLOEXEC))? as usize)
}

/// close(2). The file itself goes away when its last fd closes.
pub fn close(files: &FdTable, fd: i32) -> SysResult {
    drop(files.remove(fd)?);
    Ok(0)
}

/// The flag checks that come before anything else; returns the flags with `O_PATH`'s
/// masking applied.
fn sanitize(flags: OpenFlags) -> Result<OpenFlags, Errno> {
    if flags.contains(OpenFlags::TMPFILE) {
        if flags.access_bits() == 0 {
            return Err(Errno::EINVAL);
        }
        return Err(Errno::EOPNOTSUPP);
    }
    if flags.contains(OpenFlags::PATH) {
        return Ok(flags
            & (OpenFlags::PATH | OpenFlags::DIRECTORY | OpenFlags::NOFOLLOW | OpenFlags::CLOEXEC));
    }
    if flags.contains(OpenFlags::CREAT | OpenFlags::DIRECTORY) {
        return Err(Errno::EINVAL);
    }
    Ok(flags)
}

/// Opens `path` relative to `start` (the walk starts at the process root if it is absolute)
/// with open(2)'s semantics; see the [module docs](self). `flags` should have been through
/// the same checks as openat(2) does (`O_TMPFILE`, `O_CREAT | O_DIRECTORY` are refused here
/// too).
pub fn open_at(
    cx: &FsContext,
    start: &Location,
    path: &[u8],
    flags: OpenFlags,
    mode: u32,
) -> Result<Arc<OpenFile>, Errno> {
    open_walk(cx, &mut cx.walker(), start, path, flags, mode)
}

/// [`open_at`] with a given walker (openat2(2) restricts it).
pub(crate) fn open_walk(
    cx: &FsContext,
    walker: &mut Walker<'_>,
    start: &Location,
    path: &[u8],
    flags: OpenFlags,
    mode: u32,
) -> Result<Arc<OpenFile>, Errno> {
    let flags = sanitize(flags)?;
    if !flags.contains(OpenFlags::CREAT) {
        let loc = walker.resolve(start, path, !flags.contains(OpenFlags::NOFOLLOW))?;
        let entry = walker.take_entry();
        return open_existing(cx, loc, flags, false, entry);
    }
    let mut dir_start = start.clone();
    let mut path: Vec<u8> = path.to_vec();
    loop {
        let p = walker.resolve_parent(&dir_start, &path)?;
        let name = match p.last {
            LastComponent::Name(name) => name,
            // "/", "." or "..": an existing directory, and O_CREAT on a directory is EISDIR.
            _ => return Err(Errno::EISDIR),
        };
        if p.trailing_slash {
            return Err(Errno::EISDIR);
        }
        match walker.child(&p.dir, &name) {
            Ok(existing) => {
                if flags.contains(OpenFlags::EXCL) {
                    return Err(Errno::EEXIST);
                }
                if existing.inode().kind() == FileKind::Symlink {
                    if flags.contains(OpenFlags::NOFOLLOW) {
                        return Err(Errno::ELOOP);
                    }
                    walker.count_link()?;
                    let target = existing.inode().read_link()?;
                    walker.check_link(&p.dir, &existing, &target)?;
                    if target.is_empty() {
                        return Err(Errno::ENOENT);
                    }
                    dir_start = p.dir;
                    path = target;
                    continue;
                }
                let entry = cx.vfs().watches().is_active().then(|| Entry {
                    dir: p.dir.clone(),
                    name: name.clone(),
                });
                return open_existing(cx, existing, flags, false, entry);
            }
            Err(Errno::ENOENT) => {
                p.dir.check_writable()?;
                let attrs = NewAttrs {
                    perm: mode & S_IALLUGO & !cx.umask(),
                    uid: 0,
                    gid: 0,
                    now: cx.vfs().now(),
                };
                let inode = p.dir.inode().create(&name, NewNode::Regular, &attrs)?;
                let watches = cx.vfs().watches();
                watches.entry_event(&p.dir, &name, inotify::mask::CREATE, false, 0);
                let loc = p.dir.with_inode(inode);
                let entry = watches.is_active().then(|| Entry { dir: p.dir, name });
                return open_existing(cx, loc, flags, true, entry);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The checks and the open itself once the path names `loc` (Linux's `do_open`/`may_open`).
fn open_existing(
    cx: &FsContext,
    loc: Location,
    flags: OpenFlags,
    created: bool,
    entry: Option<Entry>,
) -> Result<Arc<OpenFile>, Errno> {
    let kind = loc.inode().kind();
    if flags.contains(OpenFlags::PATH) {
        if flags.contains(OpenFlags::DIRECTORY) && kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        let ops = PathFile::new(loc.inode().clone());
        return Ok(OpenFile::new(ops, flags, Some(loc)));
    }
    if flags.contains(OpenFlags::CREAT) && kind == FileKind::Directory {
        return Err(Errno::EISDIR);
    }
    if flags.contains(OpenFlags::DIRECTORY) && kind != FileKind::Directory {
        return Err(Errno::ENOTDIR);
    }
    let truncate = !created && kind == FileKind::Regular && flags.contains(OpenFlags::TRUNC);
    if truncate {
        loc.check_writable()?;
    }
    let wants_write = !created && (flags.access_bits() != 0 || flags.contains(OpenFlags::TRUNC));
    match kind {
        FileKind::Symlink => return Err(Errno::ELOOP),
        FileKind::Directory if wants_write => return Err(Errno::EISDIR),
        FileKind::Regular | FileKind::Directory if wants_write => loc.check_writable()?,
        // Linux's may_open_dev: device nodes on a nodev mount do not open.
        FileKind::CharDevice | FileKind::BlockDevice
            if loc
                .mount()
                .flags()
                .contains(crate::mount::MountFlags::NO_DEV) =>
        {
            return Err(Errno::EACCES);
        }
        _ => {}
    }
    // Linux's do_dentry_open and handle_truncate: writing to a running program is ETXTBSY.
    let writer = if kind == FileKind::Regular && (flags.access_bits() != 0 || truncate) {
        Some(WriteAccess::get_at(&loc)?)
    } else {
        None
    };
    let ops: Arc<dyn FileOps> = match kind {
        FileKind::Regular => RegularFile::new(loc.inode().clone(), cx.vfs().clock().clone()),
        FileKind::Directory => DirectoryFile::new(loc.inode().clone()),
        FileKind::CharDevice => cx
            .vfs()
            .open_char_device(loc.inode().metadata().rdev, flags)?,
        // No block drivers, FIFOs or socket files yet; Linux opens a socket node with ENXIO.
        FileKind::BlockDevice | FileKind::Fifo | FileKind::Socket | FileKind::Symlink => {
            return Err(Errno::ENXIO);
        }
    };
    if truncate {
        let now = cx.vfs().now();
        loc.inode().set_attr(&SetAttr {
            size: Some(0),
            mtime: Some(now),
            ctime: now,
            ..SetAttr::default()
        })?;
    }
    // A read-only open with O_TRUNC needed write access only to truncate.
    let writer = writer.filter(|_| flags.access_bits() != 0);
    let file = OpenFile::with_access(ops, flags, Some(loc), writer, entry);
    if truncate {
        file.notify(inotify::mask::MODIFY);
    }
    file.notify(inotify::mask::OPEN);
    Ok(file)
}
