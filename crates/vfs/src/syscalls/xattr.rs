//! The extended-attribute calls (xattr(7)): setxattr(2), lsetxattr, fsetxattr, getxattr(2),
//! lgetxattr, fgetxattr, listxattr(2), llistxattr, flistxattr, removexattr(2), lremovexattr,
//! fremovexattr. Storage is the file system's ([`Inode::get_xattr`](crate::Inode::get_xattr)
//! and friends; tmpfs keeps them in a [`crate::xattr::XattrMap`]).
//!
//! Order, as Linux 6.13+ (`path_setxattrat` and its siblings, which the fd forms share):
//!
//! 1. set: flags other than `XATTR_CREATE`/`XATTR_REPLACE` are `EINVAL` (both together make
//!    any set fail: `EEXIST` or `ENODATA`);
//! 2. the name (not for list): `EFAULT`, or `ERANGE` if empty or 256 bytes or longer;
//! 3. set: a value over 64 KiB is `E2BIG`, then `EFAULT` copying it in;
//! 4. the file: `EBADF` for a closed or `O_PATH` fd; the path walk (the `l` forms do not
//!    follow a final symlink);
//! 5. set and remove: `EROFS` on a read-only mount;
//! 6. the namespace rules of `xattr_permission`: `user.*` exists only on regular files and
//!    directories (`EPERM` to set or remove, `ENODATA` to get elsewhere); `trusted.*` needs
//!    `CAP_SYS_ADMIN`, which root has;
//! 7. the file system: `EOPNOTSUPP` for a namespace it does not keep, `ENODATA` for a missing
//!    attribute, `EEXIST` for `XATTR_CREATE` on an existing one;
//! 8. get and list: a buffer of size 0 asks for the size; a buffer too small is `ERANGE`
//!    (a buffer of 64 KiB or more cannot be too small); `EFAULT` copying out.
//!
//! Files without a name (pipes, eventfds) have no attributes: get and set are `EOPNOTSUPP`,
//! list is empty, as for Linux's pipefs and anonymous inodes.

use super::{copy_path, io_file, lookup_at};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::mount::Location;
use crate::node::FileKind;
use crate::xattr::{USER_PREFIX, XattrSet};
use alloc::vec;
use alloc::vec::Vec;
use linux_raw_sys::general::{
    XATTR_CREATE, XATTR_LIST_MAX, XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX,
};
use oxv_abi::linux::fs::AT_FDCWD;
use oxv_abi::user::CStrError;
use oxv_abi::{Errno, SysResult, UserBuf, UserCStr, UserMemory};

/// Which file an xattr call is about.
#[derive(Copy, Clone)]
enum Which {
    /// A path; `follow`: follow a final symlink (not the `l` forms).
    Path { path: UserCStr, follow: bool },
    /// An fd.
    Fd(i32),
}

/// The file, resolved: its location, or a file without a name of this kind.
enum File {
    Named(Location),
    Nameless(FileKind),
}

impl File {
    fn kind(&self) -> FileKind {
        match self {
            File::Named(l) => l.inode().kind(),
            File::Nameless(k) => *k,
        }
    }
}

fn resolve(
    cx: &FsContext,
    files: &FdTable,
    mem: &dyn UserMemory,
    which: Which,
) -> Result<File, Errno> {
    match which {
        Which::Fd(fd) => {
            let file = io_file(files, fd)?;
            Ok(match file.location() {
                Some(l) => File::Named(l.clone()),
                None => File::Nameless(file.stat()?.kind),
            })
        }
        Which::Path { path, follow } => {
            let p = copy_path(mem, path)?;
            if p.is_empty() {
                return Err(Errno::ENOENT);
            }
            Ok(File::Named(lookup_at(cx, files, AT_FDCWD, &p, follow)?))
        }
    }
}

/// Copies an attribute name in (Linux's `import_xattr_name`).
fn copy_name(mem: &dyn UserMemory, name: UserCStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; XATTR_NAME_MAX as usize + 1];
    match mem.read_cstr(name.0, &mut buf) {
        Ok(0) | Err(CStrError::TooLong) => Err(Errno::ERANGE),
        Ok(n) => {
            buf.truncate(n);
            Ok(buf)
        }
        Err(CStrError::Fault(_)) => Err(Errno::EFAULT),
    }
}

/// Whether `name` is a `user.*` attribute on a file that cannot have one.
fn user_attr_refused(name: &[u8], kind: FileKind) -> bool {
    name.starts_with(USER_PREFIX) && !matches!(kind, FileKind::Regular | FileKind::Directory)
}

/// Copies `data` out to `buf` as getxattr/listxattr do: size 0 asks for the length.
fn copy_out(mem: &mut dyn UserMemory, buf: UserBuf, data: &[u8], max: u32) -> SysResult {
    if buf.len == 0 {
        return Ok(data.len());
    }
    if data.len() > buf.len.min(max as usize) {
        return Err(if buf.len >= max as usize {
            Errno::E2BIG
        } else {
            Errno::ERANGE
        });
    }
    mem.copy_out(buf.addr, data)?;
    Ok(data.len())
}

fn set(
    cx: &FsContext,
    files: &FdTable,
    mem: &dyn UserMemory,
    which: Which,
    name: UserCStr,
    value: UserBuf,
    flags: i32,
) -> SysResult {
    let how = match flags as u32 {
        0 => XattrSet::Any,
        XATTR_CREATE => XattrSet::Create,
        XATTR_REPLACE => XattrSet::Replace,
        f if f == XATTR_CREATE | XATTR_REPLACE => XattrSet::Neither,
        _ => return Err(Errno::EINVAL),
    };
    let name = copy_name(mem, name)?;
    if value.len > XATTR_SIZE_MAX as usize {
        return Err(Errno::E2BIG);
    }
    let mut data = vec![0u8; value.len];
    if !data.is_empty() {
        mem.copy_in(value.addr, &mut data)?;
    }
    let file = resolve(cx, files, mem, which)?;
    let File::Named(loc) = &file else {
        return Err(if user_attr_refused(&name, file.kind()) {
            Errno::EPERM
        } else {
            Errno::EOPNOTSUPP
        });
    };
    loc.check_writable()?;
    if user_attr_refused(&name, file.kind()) {
        return Err(Errno::EPERM);
    }
    loc.inode()
        .set_xattr(&name, Some(&data), how, cx.vfs().now())?;
    Ok(0)
}

fn get(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    which: Which,
    name: UserCStr,
    value: UserBuf,
) -> SysResult {
    let name = copy_name(mem, name)?;
    let file = resolve(cx, files, mem, which)?;
    if user_attr_refused(&name, file.kind()) {
        return Err(Errno::ENODATA);
    }
    let File::Named(loc) = &file else {
        return Err(Errno::EOPNOTSUPP);
    };
    let data = loc.inode().get_xattr(&name)?;
    copy_out(mem, value, &data, XATTR_SIZE_MAX)
}

fn list(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    which: Which,
    out: UserBuf,
) -> SysResult {
    let names = match resolve(cx, files, mem, which)? {
        File::Named(loc) => loc.inode().list_xattr()?,
        File::Nameless(_) => Vec::new(),
    };
    copy_out(mem, out, &names, XATTR_LIST_MAX)
}

fn remove(
    cx: &FsContext,
    files: &FdTable,
    mem: &dyn UserMemory,
    which: Which,
    name: UserCStr,
) -> SysResult {
    let name = copy_name(mem, name)?;
    let file = resolve(cx, files, mem, which)?;
    let File::Named(loc) = &file else {
        return Err(if user_attr_refused(&name, file.kind()) {
            Errno::EPERM
        } else {
            Errno::EOPNOTSUPP
        });
    };
    loc.check_writable()?;
    if user_attr_refused(&name, file.kind()) {
        return Err(Errno::EPERM);
    }
    loc.inode()
        .set_xattr(&name, None, XattrSet::Replace, cx.vfs().now())?;
    Ok(0)
}

fn path(path: UserCStr, follow: bool) -> Which {
    Which::Path { path, follow }
}

/// setxattr(2).
#[allow(clippy::too_many_arguments)]
pub fn setxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    name: UserCStr,
    value: UserBuf,
    flags: i32,
) -> SysResult {
    set(cx, files, mem, path(pathname, true), name, value, flags)
}

/// lsetxattr(2).
#[allow(clippy::too_many_arguments)]
pub fn lsetxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    name: UserCStr,
    value: UserBuf,
    flags: i32,
) -> SysResult {
    set(cx, files, mem, path(pathname, false), name, value, flags)
}

/// fsetxattr(2).
pub fn fsetxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    name: UserCStr,
    value: UserBuf,
    flags: i32,
) -> SysResult {
    set(cx, files, mem, Which::Fd(fd), name, value, flags)
}

/// getxattr(2).
pub fn getxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    name: UserCStr,
    value: UserBuf,
) -> SysResult {
    get(cx, files, mem, path(pathname, true), name, value)
}

/// lgetxattr(2).
pub fn lgetxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    name: UserCStr,
    value: UserBuf,
) -> SysResult {
    get(cx, files, mem, path(pathname, false), name, value)
}

/// fgetxattr(2).
pub fn fgetxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    name: UserCStr,
    value: UserBuf,
) -> SysResult {
    get(cx, files, mem, Which::Fd(fd), name, value)
}

/// listxattr(2).
pub fn listxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    out: UserBuf,
) -> SysResult {
    list(cx, files, mem, path(pathname, true), out)
}

/// llistxattr(2).
pub fn llistxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    out: UserBuf,
) -> SysResult {
    list(cx, files, mem, path(pathname, false), out)
}

/// flistxattr(2).
pub fn flistxattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    out: UserBuf,
) -> SysResult {
    list(cx, files, mem, Which::Fd(fd), out)
}

/// removexattr(2).
pub fn removexattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    name: UserCStr,
) -> SysResult {
    remove(cx, files, mem, path(pathname, true), name)
}

/// lremovexattr(2).
pub fn lremovexattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    pathname: UserCStr,
    name: UserCStr,
) -> SysResult {
    remove(cx, files, mem, path(pathname, false), name)
}

/// fremovexattr(2).
pub fn fremovexattr(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    name: UserCStr,
) -> SysResult {
    remove(cx, files, mem, Which::Fd(fd), name)
}
