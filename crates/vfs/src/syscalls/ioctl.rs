//! ioctl(2): the generic requests Linux's `do_vfs_ioctl` handles for every file, then the
//! file's own.
//!
//! Generic: `FIOCLEX`/`FIONCLEX` set and clear `FD_CLOEXEC`; `FIONBIO` and `FIOASYNC` read an
//! `int` and set or clear `O_NONBLOCK`/`O_ASYNC`; `FIONREAD` on a regular file writes the bytes
//! between the offset and the end. Everything else goes to [`FileOps::ioctl`](crate::FileOps::ioctl),
//! which is `ENOTTY` unless the file knows the request (a terminal knows the tty ones), or,
//! for `TIOCGPTPEER`, which makes a new fd, to [`crate::pty::open_peer`].
//! An `O_PATH` fd is `EBADF`.

use super::io_file;
use crate::fd_table::FdTable;
use crate::node::FileKind;
use oxv_abi::linux::fs::{FIOASYNC, FIOCLEX, FIONBIO, FIONCLEX, FIONREAD, OpenFlags};
use oxv_abi::{SysResult, UserMemory, UserPtr};

/// ioctl(2).
pub fn ioctl(
    files: &FdTable,
    mem: &mut dyn UserMemory,
    fd: i32,
    request: u32,
    arg: u64,
) -> SysResult {
    let file = io_file(files, fd)?;
    match request {
        FIOCLEX | FIONCLEX => {
            files.set_cloexec(fd, request == FIOCLEX)?;
            Ok(0)
        }
        FIONBIO | FIOASYNC => {
            let on = UserPtr::<i32>::new(arg).read(mem)? != 0;
            let flag = if request == FIONBIO {
                OpenFlags::NONBLOCK
            } else {
                OpenFlags::ASYNC
            };
            let mut flags = file.flags();
            flags.set(flag, on);
            file.set_flags(flags);
            Ok(0)
        }
        FIONREAD
            if file
                .location()
                .is_some_and(|l| l.inode().kind() == FileKind::Regular) =>
        {
            let size = file.stat()?.size;
            let left = size.saturating_sub(file.position()).min(i32::MAX as u64) as i32;
            UserPtr::<i32>::new(arg).write(mem, &left)?;
            Ok(0)
        }
        linux_raw_sys::ioctl::TIOCGPTPEER => crate::pty::open_peer(files, &file, arg),
        _ => file.ops().ioctl(request, arg, mem),
    }
}
