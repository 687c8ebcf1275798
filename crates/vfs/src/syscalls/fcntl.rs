//! fcntl(2): `F_DUPFD`, `F_DUPFD_CLOEXEC`, `F_GETFD`, `F_SETFD`, `F_GETFL`, `F_SETFL`; any other
//! command is `EINVAL` (locks, leases, pipe sizes, owners: not yet).
//!
//! As Linux: `EBADF` first; on an `O_PATH` fd only the dup and `F_GETFD`/`F_SETFD`/`F_GETFL`
//! commands work (others `EBADF`); `F_DUPFD` with a minimum at or above `RLIMIT_NOFILE` is
//! `EINVAL`, and `EMFILE` if no fd is free above it; `F_GETFL` reports the access mode, the
//! status flags and `O_LARGEFILE`; `F_SETFL` changes only `O_APPEND`, `O_NONBLOCK`, `O_ASYNC`,
//! `O_DIRECT` and `O_NOATIME`, and ignores other bits.

use crate::fd_table::FdTable;
use oxv_abi::linux::fs::{
    F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, OpenFlags,
};
use oxv_abi::{Errno, SysResult};

/// fcntl(2).
pub fn fcntl(files: &FdTable, fd: i32, cmd: u32, arg: u64) -> SysResult {
    let file = files.get(fd)?;
    if file.is_path_only()
        && !matches!(cmd, F_DUPFD | F_DUPFD_CLOEXEC | F_GETFD | F_SETFD | F_GETFL)
    {
        return Err(Errno::EBADF);
    }
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = usize::try_from(arg).map_err(|_| Errno::EINVAL)?;
            Ok(files.insert_from(min, file, cmd == F_DUPFD_CLOEXEC)? as usize)
        }
        F_GETFD => Ok(if files.cloexec(fd)? {
            FD_CLOEXEC as usize
        } else {
            0
        }),
        F_SETFD => {
            files.set_cloexec(fd, arg & FD_CLOEXEC as u64 != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(file.flags().bits() as usize),
        F_SETFL => {
            file.set_flags(OpenFlags::from_bits_retain(arg as u32));
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
