//! umask(2): never fails; keeps only the permission bits (`mask & 0777`).

use crate::context::FsContext;
use oxv_abi::SysResult;

/// umask(2): sets the file-creation mask and returns the previous one.
pub fn umask(cx: &FsContext, mask: u32) -> SysResult {
    Ok(cx.set_umask(mask) as usize)
}
