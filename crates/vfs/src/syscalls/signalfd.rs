//! signalfd(2), signalfd4(2). The file is [`crate::signalfd`]; the embedder's
//! [`SignalSource`] supplies the signals.
//!
//! Error order, as Linux's `fs/signalfd.c`: `sizemask` other than 8 is `EINVAL`; the mask is
//! copied in (`EFAULT`); flags other than `SFD_CLOEXEC`/`SFD_NONBLOCK` are `EINVAL`. With
//! `fd` = -1 a new signalfd is made (its fd returned); otherwise `fd` must be a signalfd
//! (`EBADF` if not open, `EINVAL` if another kind of file), whose mask is replaced; `fd` is
//! returned.

use crate::blocker::Blocker;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::signalfd::{SFD_CLOEXEC, SFD_NONBLOCK, SignalFd, SignalSource};
use alloc::sync::Arc;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::linux::signal::{SIGSET_SIZE, SigSet};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// signalfd(2).
pub fn signalfd(
    files: &FdTable,
    mem: &dyn UserMemory,
    source: &Arc<dyn SignalSource>,
    blocker: &Arc<dyn Blocker>,
    fd: i32,
    mask: UserPtr<SigSet>,
    sizemask: usize,
) -> SysResult {
    signalfd4(files, mem, source, blocker, fd, mask, sizemask, 0)
}

/// signalfd4(2).
#[allow(clippy::too_many_arguments)]
pub fn signalfd4(
    files: &FdTable,
    mem: &dyn UserMemory,
    source: &Arc<dyn SignalSource>,
    blocker: &Arc<dyn Blocker>,
    fd: i32,
    mask: UserPtr<SigSet>,
    sizemask: usize,
    flags: u32,
) -> SysResult {
    if sizemask != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let set = mask.read(mem)?;
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd == -1 {
        let sfd = SignalFd::new(set, source.clone(), blocker.clone());
        let status = OpenFlags::RDWR | (OpenFlags::from_bits_retain(flags) & OpenFlags::NONBLOCK);
        let file = OpenFile::new_pseudo(sfd, status);
        return Ok(files.insert(file, flags & SFD_CLOEXEC != 0)? as usize);
    }
    let file = super::io_file(files, fd)?;
    let sfd = file
        .ops()
        .as_any()
        .and_then(|a| a.downcast_ref::<SignalFd>())
        .ok_or(Errno::EINVAL)?;
    sfd.set_mask(set);
    Ok(fd as usize)
}
