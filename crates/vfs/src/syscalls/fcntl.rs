//! fcntl(2): `F_DUPFD`, `F_DUPFD_CLOEXEC`, `F_GETFD`, `F_SETFD`, `F_GETFL`, `F_SETFL`,
//! `F_GETPIPE_SZ`, `F_SETPIPE_SZ`, `F_ADD_SEALS`, `F_GET_SEALS`; any other command is `EINVAL` (locks, leases, owners: not
//! yet).
//!
//! As Linux: `EBADF` first; on an `O_PATH` fd only the dup and `F_GETFD`/`F_SETFD`/`F_GETFL`
//! commands work (others `EBADF`); `F_DUPFD` with a minimum at or above `RLIMIT_NOFILE` is
//! `EINVAL`, and `EMFILE` if no fd is free above it; `F_GETFL` reports the access mode, the
//! status flags and `O_LARGEFILE`; `F_SETFL` changes only `O_APPEND`, `O_NONBLOCK`, `O_ASYNC`,
//! `O_DIRECT` and `O_NOATIME`, and ignores other bits. The pipe-size commands are `EBADF` on
//! anything but a pipe; `F_SETPIPE_SZ` takes an `unsigned int` and returns the size it set
//! (see [`Pipe::set_capacity`]). The seal commands are `EINVAL` on anything but a memfd
//! (see [`super::memfd`]).

use crate::fd_table::FdTable;
use crate::pipe::{Pipe, PipeEnd};
use crate::syscalls::memfd::memfd_of;
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
        F_GETPIPE_SZ => Ok(pipe_of(&file)?.capacity()),
        F_SETPIPE_SZ => pipe_of(&file)?.set_capacity(arg as u32 as u64),
        F_GET_SEALS => Ok(memfd_of(&file).ok_or(Errno::EINVAL)?.seals() as usize),
        F_ADD_SEALS => {
            let m = memfd_of(&file).ok_or(Errno::EINVAL)?;
            m.add_seals(file.is_writable(), arg as u32)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `F_GETPIPE_SZ`.
const F_GETPIPE_SZ: u32 = linux_raw_sys::general::F_GETPIPE_SZ;
/// `F_SETPIPE_SZ`.
const F_SETPIPE_SZ: u32 = linux_raw_sys::general::F_SETPIPE_SZ;
/// `F_ADD_SEALS`.
const F_ADD_SEALS: u32 = linux_raw_sys::general::F_ADD_SEALS;
/// `F_GET_SEALS`.
const F_GET_SEALS: u32 = linux_raw_sys::general::F_GET_SEALS;

fn pipe_of(file: &crate::file::OpenFile) -> Result<&Pipe, Errno> {
    file.ops()
        .as_any()
        .and_then(|a| a.downcast_ref::<PipeEnd>())
        .map(|end| &**end.pipe())
        .ok_or(Errno::EBADF)
}
