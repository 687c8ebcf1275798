//! pipe(2), pipe2(2). The pipe itself is [`crate::pipe`].
//!
//! As Linux's `do_pipe2`: flags other than `O_CLOEXEC`, `O_NONBLOCK` and `O_DIRECT` are
//! `EINVAL` (`O_NOTIFICATION_PIPE`, Linux's watch queues, is `ENOPKG`, what a kernel built
//! without them says); both fds are allocated (`EMFILE`), then their numbers are copied out,
//! and if that faults neither fd stays open (`EFAULT`).

use crate::blocker::Blocker;
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::pipe::Pipe;
use alloc::sync::Arc;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// pipe(2).
pub fn pipe(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &Arc<dyn Blocker>,
    pipefd: UserPtr<[i32; 2]>,
) -> SysResult {
    pipe2(cx, files, mem, blocker, pipefd, 0)
}

/// pipe2(2).
pub fn pipe2(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    blocker: &Arc<dyn Blocker>,
    pipefd: UserPtr<[i32; 2]>,
    flags: u32,
) -> SysResult {
    let allowed = OpenFlags::CLOEXEC | OpenFlags::NONBLOCK | OpenFlags::DIRECT | OpenFlags::EXCL;
    if flags & !allowed.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = OpenFlags::from_bits_retain(flags);
    if flags.contains(OpenFlags::EXCL) {
        return Err(Errno::ENOPKG);
    }
    let cloexec = flags.contains(OpenFlags::CLOEXEC);
    let (reader, writer) = Pipe::new(blocker.clone(), cx.vfs().now()).open_ends(flags);
    let r = files.insert(reader, cloexec)?;
    let w = match files.insert(writer, cloexec) {
        Ok(w) => w,
        Err(e) => {
            drop(files.remove(r));
            return Err(e);
        }
    };
    if let Err(fault) = pipefd.write(mem, &[r, w]) {
        drop(files.remove(r));
        drop(files.remove(w));
        return Err(fault.into());
    }
    Ok(0)
}
