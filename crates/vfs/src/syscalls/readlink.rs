//! readlink(2), readlinkat(2).
//!
//! As Linux (`do_readlinkat`): a `bufsiz` (a C `int`) that is not positive is `EINVAL` before
//! anything else; the target is copied without a NUL and cut to the buffer, and its
//! copied length returned. A path that is not a symlink is `EINVAL`; an empty path means the
//! dirfd itself (an `O_PATH | O_NOFOLLOW` fd on a symlink), and is `ENOENT` if that is not a
//! symlink.

use super::{copy_path, dirfd_location, lookup_at};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::node::FileKind;
use oxv_abi::linux::fs::AT_FDCWD;
use oxv_abi::{Errno, SysResult, UserAddr, UserCStr, UserMemory};

/// readlink(2).
pub fn readlink(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    path: UserCStr,
    buf: UserAddr,
    bufsiz: i32,
) -> SysResult {
    readlinkat(cx, files, mem, AT_FDCWD, path, buf, bufsiz)
}

/// readlinkat(2).
#[allow(clippy::too_many_arguments)]
pub fn readlinkat(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    buf: UserAddr,
    bufsiz: i32,
) -> SysResult {
    if bufsiz <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = copy_path(mem, path)?;
    let loc = if path.is_empty() {
        dirfd_location(cx, files, dirfd, &path)?
    } else {
        lookup_at(cx, files, dirfd, &path, false)?
    };
    if loc.inode().kind() != FileKind::Symlink {
        return Err(if path.is_empty() {
            Errno::ENOENT
        } else {
            Errno::EINVAL
        });
    }
    let target = loc.inode().read_link()?;
    let n = target.len().min(bufsiz as usize);
    mem.copy_out(buf, &target[..n])?;
    Ok(n)
}
