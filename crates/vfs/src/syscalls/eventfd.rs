//! eventfd(2), eventfd2(2). The counter itself is [`crate::eventfd`].
//!
//! eventfd2's flags are `EFD_SEMAPHORE`, `EFD_CLOEXEC` and `EFD_NONBLOCK` (others `EINVAL`);
//! eventfd(2) is eventfd2 without flags. The file is open read-write.

use crate::blocker::Blocker;
use crate::eventfd::{EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, EventFd};
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use alloc::sync::Arc;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::{Errno, SysResult};

/// eventfd(2).
pub fn eventfd(files: &FdTable, blocker: &Arc<dyn Blocker>, initval: u32) -> SysResult {
    eventfd2(files, blocker, initval, 0)
}

/// eventfd2(2).
pub fn eventfd2(
    files: &FdTable,
    blocker: &Arc<dyn Blocker>,
    initval: u32,
    flags: u32,
) -> SysResult {
    if flags & !(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let efd = EventFd::new(initval as u64, flags & EFD_SEMAPHORE != 0, blocker.clone());
    let status = OpenFlags::RDWR | (OpenFlags::from_bits_retain(flags) & OpenFlags::NONBLOCK);
    let file = OpenFile::new_pseudo(efd, status);
    Ok(files.insert(file, flags & EFD_CLOEXEC != 0)? as usize)
}
