//! File locks from user space: fcntl(2) `F_GETLK`/`F_SETLK`/`F_SETLKW`, the OFD variants
//! `F_OFD_GETLK`/`F_OFD_SETLK`/`F_OFD_SETLKW`, and flock(2). The locks themselves are
//! [`crate::locks`]; this module decodes `struct flock` and checks arguments in Linux's order.
//!
//! fcntl (Linux's `do_fcntl`, `fcntl_getlk`, `fcntl_setlk`, `flock_to_posix_lock`): `EBADF`
//! for a closed fd or an `O_PATH` one; `EFAULT` copying the `struct flock` in; `EINVAL` for
//! F_GETLK with an `l_type` other than `F_RDLCK`/`F_WRLCK`; then the range: `EINVAL` for a bad
//! `l_whence`, `EOVERFLOW` when `l_start` or `l_len` runs past `OFFSET_MAX`, `EINVAL` for a
//! start before byte 0; `EINVAL` for an unknown `l_type`; F_SETLK needs the fd open for reading
//! to set a read lock and for writing to set a write lock (`EBADF`); the OFD commands need
//! `l_pid == 0` (`EINVAL`). A conflict is `EAGAIN`; `F_SETLKW` waits instead (`EINTR` on a
//! signal, `EDEADLK` when waiting would deadlock). F_GETLK writes the first conflicting lock
//! back (`l_whence = SEEK_SET`, `l_len = 0` for "to the end", `l_pid = -1` for an OFD lock), or
//! only `l_type = F_UNLCK` when there is none.
//!
//! flock (Linux's `SYSCALL_DEFINE2(flock)`): `LOCK_MAND` is ignored (returns 0, as Linux
//! since 5.15); an operation other than `LOCK_SH`, `LOCK_EX` or `LOCK_UN` (with `LOCK_NB`) is
//! `EINVAL` before the fd is looked at; then `EBADF` for a closed or `O_PATH` fd, and for an
//! fd opened with access mode 3 (neither read nor write) unless unlocking.

use crate::blocker::Blocker;
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::locks::{LockKind, LockOwner, OFFSET_MAX, RecordRequest, file_id, file_owner, key_of};
use linux_raw_sys::general as g;
use oxv_abi::linux::fs::{SEEK_CUR, SEEK_END, SEEK_SET};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The caller of a lock call: the pid F_GETLK reports for its locks, and how it waits.
#[derive(Copy, Clone)]
pub struct LockCaller<'a> {
    /// The calling process's id.
    pub pid: i32,
    /// How the calling thread blocks (`F_SETLKW`, flock(2) without `LOCK_NB`).
    pub blocker: &'a dyn Blocker,
}

/// `struct flock` as x86_64 Linux lays it out (the same as `struct flock64`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Flock {
    /// `F_RDLCK`, `F_WRLCK` or `F_UNLCK`.
    pub l_type: i16,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`: what `l_start` is relative to.
    pub l_whence: i16,
    /// Padding, copied back as it came.
    pub pad0: u32,
    /// Start of the range.
    pub l_start: i64,
    /// Length (0: to the end of the file; negative: the bytes before `l_start`).
    pub l_len: i64,
    /// The holder's pid (F_GETLK), 0 for the OFD commands.
    pub l_pid: i32,
    /// Padding, copied back as it came.
    pub pad1: u32,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Flock>() == size_of::<g::flock>());
    assert!(offset_of!(Flock, l_type) == offset_of!(g::flock, l_type));
    assert!(offset_of!(Flock, l_whence) == offset_of!(g::flock, l_whence));
    assert!(offset_of!(Flock, l_start) == offset_of!(g::flock, l_start));
    assert!(offset_of!(Flock, l_len) == offset_of!(g::flock, l_len));
    assert!(offset_of!(Flock, l_pid) == offset_of!(g::flock, l_pid));
};

/// Whether `cmd` is one of the fcntl lock commands this module handles.
pub fn is_lock_command(cmd: u32) -> bool {
    matches!(
        cmd,
        g::F_GETLK | g::F_SETLK | g::F_SETLKW | g::F_OFD_GETLK | g::F_OFD_SETLK | g::F_OFD_SETLKW
    )
}

/// Whether `cmd` may wait for a lock (`F_SETLKW`, `F_OFD_SETLKW`): the kernel restarts it
/// after a signal handler with `SA_RESTART`, as Linux does.
pub fn is_blocking_command(cmd: u32) -> bool {
    matches!(cmd, g::F_SETLKW | g::F_OFD_SETLKW)
}

/// fcntl(2) with every command: the lock commands here, the others in
/// [`super::fcntl::fcntl`].
#[allow(clippy::too_many_arguments)]
pub fn fcntl(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    caller: LockCaller<'_>,
    fd: i32,
    cmd: u32,
    arg: u64,
) -> SysResult {
    if !is_lock_command(cmd) {
        return super::fcntl::fcntl(files, fd, cmd, arg);
    }
    let file = files.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    let ptr = UserPtr::<Flock>::new(arg);
    let mut fl = ptr.read(mem)?;
    match cmd {
        g::F_GETLK | g::F_OFD_GETLK => {
            get_lock(cx, files, &file, cmd == g::F_OFD_GETLK, &mut fl)?;
            ptr.write(mem, &fl)?;
            Ok(0)
        }
        _ => set_lock(cx, files, &file, caller, cmd, &fl),
    }
}

/// The byte range `[start, end]` a `struct flock` names for `file` (Linux's
/// `flock_to_posix_lock`), and its lock type (`None`: `F_UNLCK`).
fn decode(file: &OpenFile, fl: &Flock) -> Result<(Option<LockKind>, u64, u64), Errno> {
    let base: i64 = match fl.l_whence as u32 {
        SEEK_SET => 0,
        SEEK_CUR => file.position().min(OFFSET_MAX) as i64,
        SEEK_END => file.stat()?.size.min(OFFSET_MAX) as i64,
        _ => return Err(Errno::EINVAL),
    };
    if fl.l_start > i64::MAX - base {
        return Err(Errno::EOVERFLOW);
    }
    let mut start = base + fl.l_start;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let end = if fl.l_len > 0 {
        if fl.l_len - 1 > i64::MAX - start {
            return Err(Errno::EOVERFLOW);
        }
        start + (fl.l_len - 1)
    } else if fl.l_len < 0 {
        if start + fl.l_len < 0 {
            return Err(Errno::EINVAL);
        }
        let end = start - 1;
        start += fl.l_len;
        end
    } else {
        i64::MAX
    };
    let kind = match fl.l_type as u32 {
        g::F_RDLCK => Some(LockKind::Read),
        g::F_WRLCK => Some(LockKind::Write),
        g::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    Ok((kind, start as u64, end as u64))
}

/// F_GETLK and F_OFD_GETLK: fills `fl` with the first conflicting lock, or sets only its
/// type to `F_UNLCK`.
fn get_lock(
    cx: &FsContext,
    files: &FdTable,
    file: &OpenFile,
    ofd: bool,
    fl: &mut Flock,
) -> Result<(), Errno> {
    if !matches!(fl.l_type as u32, g::F_RDLCK | g::F_WRLCK) {
        return Err(Errno::EINVAL);
    }
    let (kind, start, end) = decode(file, fl)?;
    let kind = kind.expect("F_GETLK takes read or write locks only");
    let owner = if ofd {
        if fl.l_pid != 0 {
            return Err(Errno::EINVAL);
        }
        file_owner(file)
    } else {
        files.locks().owner()
    };
    // Testing needs no context of its own: an inode nobody locked has no conflict.
    let ctx = match file.lock_context() {
        Some(c) => Some(c),
        None => cx.vfs().locks().find(key_of(file)?),
    };
    match ctx.and_then(|c| c.test(owner, kind, start, end)) {
        None => fl.l_type = g::F_UNLCK as i16,
        Some(c) => {
            fl.l_type = match c.kind {
                LockKind::Read => g::F_RDLCK as i16,
                LockKind::Write => g::F_WRLCK as i16,
            };
            fl.l_whence = SEEK_SET as i16;
            fl.l_start = c.start as i64;
            fl.l_len = if c.end == OFFSET_MAX {
                0
            } else {
                (c.end - c.start + 1) as i64
            };
            fl.l_pid = match c.owner {
                LockOwner::OpenFile(_) => -1,
                LockOwner::Process(_) => c.pid,
            };
        }
    }
    Ok(())
}

/// F_SETLK, F_SETLKW and their OFD forms.
fn set_lock(
    cx: &FsContext,
    files: &FdTable,
    file: &OpenFile,
    caller: LockCaller<'_>,
    cmd: u32,
    fl: &Flock,
) -> SysResult {
    let (kind, start, end) = decode(file, fl)?;
    match kind {
        Some(LockKind::Read) if !file.is_readable() => return Err(Errno::EBADF),
        Some(LockKind::Write) if !file.is_writable() => return Err(Errno::EBADF),
        _ => {}
    }
    let ofd = matches!(cmd, g::F_OFD_SETLK | g::F_OFD_SETLKW);
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let owner = if ofd {
        file_owner(file)
    } else {
        files.locks().owner()
    };
    let wait = matches!(cmd, g::F_SETLKW | g::F_OFD_SETLKW).then_some(caller.blocker);
    let registry = cx.vfs().locks();
    let ctx = registry.context_of(file)?;
    let req = RecordRequest {
        owner,
        pid: caller.pid,
        kind,
        start,
        end,
    };
    registry.set_record(&ctx, &req, wait)?;
    if !ofd && kind.is_some() {
        files.locks().note(&ctx);
    }
    Ok(0)
}

/// flock(2).
pub fn flock(
    cx: &FsContext,
    files: &FdTable,
    caller: LockCaller<'_>,
    fd: i32,
    operation: u32,
) -> SysResult {
    if operation & g::LOCK_MAND != 0 {
        return Ok(0);
    }
    let kind = match operation & !g::LOCK_NB {
        g::LOCK_SH => Some(LockKind::Read),
        g::LOCK_EX => Some(LockKind::Write),
        g::LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let file = super::io_file(files, fd)?;
    if kind.is_some() && !file.is_readable() && !file.is_writable() {
        return Err(Errno::EBADF);
    }
    let wait = (operation & g::LOCK_NB == 0).then_some(caller.blocker);
    let registry = cx.vfs().locks();
    let ctx = registry.context_of(&file)?;
    registry.set_flock(&ctx, file_id(&file), kind, wait)?;
    Ok(0)
}
