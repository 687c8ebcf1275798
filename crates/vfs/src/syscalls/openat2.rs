//! openat2(2): openat(2) with an extensible `struct open_how` and `RESOLVE_*` restrictions on
//! the path walk. Compat test: compat-tests/openat2.c.
//!
//! As Linux's `sys_openat2` and `build_open_flags`, in this order:
//!
//! - `size` below the first version of `struct open_how` (24 bytes) is `EINVAL`, above a page
//!   `E2BIG`; the struct is copied in (`EFAULT`), and bytes past the fields this kernel knows
//!   must be zero (`E2BIG`), so newer callers fail loudly on an older kernel;
//! - stricter than openat(2): unknown `flags` bits (the upper 32 included) or `resolve` bits
//!   are `EINVAL`, as are `RESOLVE_BENEATH | RESOLVE_IN_ROOT`, a `mode` with bits outside
//!   07777, a nonzero `mode` without `O_CREAT` or `O_TMPFILE`, `O_CREAT | O_DIRECTORY`,
//!   `O_TMPFILE` without write access, and `O_PATH` with anything but `O_DIRECTORY`,
//!   `O_NOFOLLOW` and `O_CLOEXEC`; `RESOLVE_CACHED` with `O_CREAT`, `O_TRUNC` or `O_TMPFILE`
//!   is `EAGAIN`;
//! - then the path (`EFAULT`, `ENAMETOOLONG`, `ENOENT` if empty), `EMFILE`, the dirfd (not
//!   looked at for an absolute path unless `RESOLVE_IN_ROOT`), and the walk with the
//!   restrictions of [`Resolve`]: `EXDEV` for leaving the scope or a
//!   mount, `ELOOP` for a forbidden symlink.
//!
//! Everything these file systems hold is in memory, so `RESOLVE_CACHED` lookups never fail
//! with `EAGAIN` for want of a cached dentry (Linux may; it never must).

use super::{check_user_range, copy_nonempty_path, dirfd_location, start_of};
use crate::context::FsContext;
use crate::fd_table::FdTable;
use crate::walk::Resolve;
use oxv_abi::linux::fs::{OpenFlags, S_IALLUGO};
use oxv_abi::{Errno, SysResult, UserAddr, UserBuf, UserCStr, UserMemory};

/// `OPEN_HOW_SIZE_VER0`: the first (and current) size of `struct open_how`.
pub const OPEN_HOW_SIZE: usize = core::mem::size_of::<linux_raw_sys::general::open_how>();
const _: () = assert!(OPEN_HOW_SIZE == 24);
/// The largest `size` accepted (a page, as Linux).
const MAX_SIZE: usize = 4096;

/// The fields of `struct open_how`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenHow {
    /// `O_*` flags.
    pub flags: u64,
    /// Creation mode.
    pub mode: u64,
    /// `RESOLVE_*` flags.
    pub resolve: u64,
}

/// Copies `struct open_how` of `size` bytes in, as Linux's `copy_struct_from_user`.
pub fn copy_open_how(mem: &dyn UserMemory, how: UserAddr, size: usize) -> Result<OpenHow, Errno> {
    if size < OPEN_HOW_SIZE {
        return Err(Errno::EINVAL);
    }
    if size > MAX_SIZE {
        return Err(Errno::E2BIG);
    }
    check_user_range(UserBuf::new(how.get(), size as u64))?;
    let mut bytes = [0u8; OPEN_HOW_SIZE];
    mem.copy_in(how, &mut bytes)?;
    // The tail, a chunk at a time (the whole range is in the user half: no overflow).
    let mut chunk = [0u8; 64];
    let mut at = OPEN_HOW_SIZE;
    while at < size {
        let n = (size - at).min(chunk.len());
        mem.copy_in(UserAddr::new(how.get() + at as u64), &mut chunk[..n])?;
        if chunk[..n].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        at += n;
    }
    let field = |i: usize| {
        let raw: [u8; 8] = bytes[i * 8..i * 8 + 8]
            .try_into()
            .expect("each field is 8 bytes");
        u64::from_ne_bytes(raw)
    };
    Ok(OpenHow {
        flags: field(0),
        mode: field(1),
        resolve: field(2),
    })
}

/// Linux's `build_open_flags` for openat2: the open flags, the mode and the walk's
/// restrictions, or the `EINVAL`/`EAGAIN` the [module docs](self) list.
pub fn check_open_how(how: &OpenHow) -> Result<(OpenFlags, u32, Resolve), Errno> {
    let raw = u32::try_from(how.flags).map_err(|_| Errno::EINVAL)?;
    let flags = OpenFlags::from_bits(raw).ok_or(Errno::EINVAL)?;
    let resolve = Resolve::from_bits(how.resolve).ok_or(Errno::EINVAL)?;
    if resolve.contains(Resolve::BENEATH | Resolve::IN_ROOT) {
        return Err(Errno::EINVAL);
    }
    let tmpfile_bit = OpenFlags::TMPFILE - OpenFlags::DIRECTORY;
    let creates = flags.intersects(OpenFlags::CREAT | tmpfile_bit);
    let mode = if creates {
        if how.mode & !(S_IALLUGO as u64) != 0 {
            return Err(Errno::EINVAL);
        }
        how.mode as u32
    } else if how.mode != 0 {
        return Err(Errno::EINVAL);
    } else {
        0
    };
    if flags.contains(OpenFlags::CREAT | OpenFlags::DIRECTORY) {
        return Err(Errno::EINVAL);
    }
    if flags.intersects(tmpfile_bit)
        && (!flags.contains(OpenFlags::DIRECTORY) || flags.access_bits() == 0)
    {
        return Err(Errno::EINVAL);
    }
    let path_flags = OpenFlags::PATH | OpenFlags::DIRECTORY | OpenFlags::NOFOLLOW;
    if flags.contains(OpenFlags::PATH) && !(flags - OpenFlags::CLOEXEC - path_flags).is_empty() {
        return Err(Errno::EINVAL);
    }
    if resolve.contains(Resolve::CACHED)
        && flags.intersects(OpenFlags::TRUNC | OpenFlags::CREAT | tmpfile_bit)
    {
        return Err(Errno::EAGAIN);
    }
    Ok((flags, mode, resolve))
}

/// openat2(2).
pub fn openat2(
    cx: &FsContext,
    files: &FdTable,
    mem: &mut dyn UserMemory,
    dirfd: i32,
    path: UserCStr,
    how: UserAddr,
    size: usize,
) -> SysResult {
    let how = copy_open_how(mem, how, size)?;
    let (flags, mode, resolve) = check_open_how(&how)?;
    let path = copy_nonempty_path(mem, path)?;
    if !files.has_free_fd() {
        return Err(Errno::EMFILE);
    }
    let absolute = path.first() == Some(&b'/');
    if absolute && resolve.contains(Resolve::BENEATH) {
        return Err(Errno::EXDEV);
    }
    let start = if resolve.contains(Resolve::IN_ROOT) {
        dirfd_location(cx, files, dirfd, &path)?
    } else {
        start_of(cx, files, dirfd, &path)?
    };
    let mut walker = cx.walker();
    walker.restrict(resolve, &start);
    // Under IN_ROOT an absolute path starts at the dirfd, which the walker now treats as /.
    let file = super::open::open_walk(cx, &mut walker, &start, &path, flags, mode)?;
    Ok(files.insert(file, flags.contains(OpenFlags::CLOEXEC))? as usize)
}
