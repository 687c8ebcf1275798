//! getcwd(2), chdir(2), fchdir(2).
//!
//! getcwd builds the path by climbing `..` from the cwd to the process root and finding each
//! directory's name in its parent, so it is right after renames. As Linux: `ERANGE` if the
//! buffer cannot hold the path and its NUL (a size of 0 included), `ENOENT` if the cwd has been
//! removed, and the return value is the length including the NUL. chdir and fchdir need a
//! directory (`ENOTDIR`); fchdir accepts an `O_PATH` fd.

use super::{copy_nonempty_path, lookup_at};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::mount::Location;
use alloc::vec::Vec;
use oxv_abi::linux::fs::AT_FDCWD;
use oxv_abi::{Errno, SysResult, UserBuf, UserCStr, UserMemory};

/// getcwd(2).
pub fn getcwd(cx: &FsContext, mem: &mut dyn UserMemory, buf: UserBuf) -> SysResult {
    let cwd = cx.cwd();
    if cwd.inode().metadata().nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let mut path = path_of(cx, &cwd)?;
    path.push(0);
    if path.len() > buf.len {
        return Err(Errno::ERANGE);
    }
    mem.copy_out(buf.addr, &path)?;
    Ok(path.len())
}

/// The absolute path of `loc` as seen from the process root of `cx`. A location outside the
/// process root (after a chroot) is reported from the top of the tree it is in.
pub fn path_of(cx: &FsContext, loc: &Location) -> Result<Vec<u8>, Errno> {
    let root = cx.root();
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut cur = loc.clone();
    loop {
        if cur.same(&root) {
            break;
        }
        if cur.is_mount_root() {
            match cur.mount().mountpoint() {
                Some(mp) => {
                    cur = mp.clone();
                    continue;
                }
                None => break,
            }
        }
        let parent = cur.with_inode(cur.inode().parent()?);
        names.push(name_in(&parent, cur.inode().ino())?);
        cur = parent;
    }
    let mut path = Vec::new();
    for name in names.iter().rev() {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    Ok(path)
}

/// The name under which directory `dir` lists inode `ino` (`ENOENT` if it does not).
fn name_in(dir: &Location, ino: u64) -> Result<Vec<u8>, Errno> {
    let mut found = None;
    dir.inode().read_dir(0, &mut |e| {
        if e.ino == ino && e.name != b"." && e.name != b".." {
            found = Some(e.name.to_vec());
            return false;
        }
        true
    })?;
    found.ok_or(Errno::ENOENT)
}

/// chdir(2).
pub fn chdir(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
) -> SysResult {
    let path = copy_nonempty_path(mem, path)?;
    let loc = lookup_at(cx, files, AT_FDCWD, &path, true)?;
    cx.set_cwd(loc)?;
    Ok(0)
}

/// fchdir(2).
pub fn fchdir(cx: &FsContext, files: &FdTable, fd: i32) -> SysResult {
    let file = files.get(fd)?;
    let loc = file.location().ok_or(Errno::ENOTDIR)?.clone();
    cx.set_cwd(loc)?;
    Ok(0)
}
