//! `RLIMIT_FSIZE`: the largest file a process may make, as Linux enforces it.
//!
//! Linux checks it in two places, and oxv's file system calls go through the same two
//! functions here:
//!
//! - a write to a regular file (write(2), pwrite(2), the vectored calls, and the writes that
//!   sendfile(2), copy_file_range(2) and splice(2) do), Linux's `generic_write_check_limits`:
//!   a write that starts at or past the limit fails with `EFBIG` and sends `SIGXFSZ` to the
//!   calling thread; one that crosses it is cut short at the limit, without a signal. An empty
//!   write(2) is never refused. [`check_write`], [`check_write_from`]. sendfile(2) and
//!   splice(2) also send `SIGXFSZ` when the limit cut them short (see [`exceeded`]);
//!   copy_file_range(2) cuts its count before copying, so it does not.
//! - a new size for a regular file (truncate(2), ftruncate(2), fallocate(2)), Linux's
//!   `inode_newsize_ok`: growing a file past the limit is `EFBIG` and `SIGXFSZ`; shrinking,
//!   or growing up to the limit itself, is allowed. [`check_new_size`].
//!
//! Pipes, sockets and devices have no file size: they are never limited.
//!
//! The limit lives in the [`FdTable`] (the process's soft limit, kept there by the kernel's
//! setrlimit(2) like `RLIMIT_NOFILE`), so every file system call has it at hand; the signal
//! is the kernel's business, reached through [`set_sigxfsz_hook`].

use crate::fd_table::FdTable;
use crate::file::OpenFile;
use crate::node::FileKind;
use core::sync::atomic::{AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::OpenFlags;
use oxv_abi::linux::system::RLIM_INFINITY;

/// A process's soft `RLIMIT_FSIZE` in bytes ([`RLIM_INFINITY`]: none).
pub struct FileSizeLimit(AtomicU64);

impl Default for FileSizeLimit {
    fn default() -> Self {
        FileSizeLimit(AtomicU64::new(RLIM_INFINITY))
    }
}

impl FileSizeLimit {
    /// The limit in bytes.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the limit (setrlimit(2)).
    pub fn set(&self, bytes: u64) {
        self.0.store(bytes, Ordering::Relaxed);
    }
}

/// What the embedder runs when a call passes the limit: the kernel sends `SIGXFSZ` to the
/// calling thread.
static SIGXFSZ: spin::Once<fn()> = spin::Once::new();

/// Sets what a call that passes the limit runs (once). Without it (unit tests, the fuzz
/// harness), such a call only fails with `EFBIG`.
pub fn set_sigxfsz_hook(f: fn()) {
    SIGXFSZ.call_once(|| f);
}

/// `EFBIG`, after sending `SIGXFSZ`. Also for a splice-style write (sendfile(2), splice(2))
/// that the limit cut short: Linux's `iter_file_splice_write` tries the rest of what it
/// holds, at the limit, so the caller gets its short count and the signal.
pub(crate) fn exceeded() -> Errno {
    if let Some(f) = SIGXFSZ.get() {
        f();
    }
    Errno::EFBIG
}

/// How many of `count` bytes a write at `pos` may write under `limit` (Linux's
/// `generic_write_check_limits`): all of them below it, up to the limit for a write that
/// crosses it, `None` for a write that starts at or past it.
pub fn writable_under(limit: u64, pos: u64, count: usize) -> Option<usize> {
    if limit == RLIM_INFINITY {
        return Some(count);
    }
    let room = limit.checked_sub(pos).filter(|&r| r > 0)?;
    Some(usize::try_from(room).map_or(count, |r| count.min(r)))
}

/// How many of `count` bytes the calling process may write to `file` at `pos`: see the
/// [module docs](self). `EFBIG` (and `SIGXFSZ`) for a write to a regular file at or past
/// the limit, even an empty one (copy_file_range(2) checks before it knows how much there
/// is to copy).
pub fn check_write(
    files: &FdTable,
    file: &OpenFile,
    pos: u64,
    count: usize,
) -> Result<usize, Errno> {
    let limit = files.file_size_limit().get();
    if limit == RLIM_INFINITY || !is_regular(file)? {
        return Ok(count);
    }
    writable_under(limit, pos, count).ok_or_else(exceeded)
}

/// [`check_write`] for the write calls: the write starts at `at` (pwrite(2)), or at the
/// file's offset (write(2)); at its end for `O_APPEND`, either way.
pub fn check_write_from(
    files: &FdTable,
    file: &OpenFile,
    at: Option<u64>,
    count: usize,
) -> Result<usize, Errno> {
    // An empty write succeeds before any check, as Linux's `generic_write_checks`.
    if count == 0 || files.file_size_limit().get() == RLIM_INFINITY || !file.ops().is_positioned() {
        return Ok(count);
    }
    let pos = if file.flags().contains(OpenFlags::APPEND) {
        file.stat()?.size
    } else {
        at.unwrap_or_else(|| file.position())
    };
    check_write(files, file, pos, count)
}

/// Whether the calling process may make a regular file of `size` bytes `new_size` bytes
/// long: see the [module docs](self).
pub fn check_new_size(files: &FdTable, size: u64, new_size: u64) -> Result<(), Errno> {
    let limit = files.file_size_limit().get();
    if new_size > size && limit != RLIM_INFINITY && new_size > limit {
        return Err(exceeded());
    }
    Ok(())
}

fn is_regular(file: &OpenFile) -> Result<bool, Errno> {
    Ok(file.stat()?.kind == FileKind::Regular)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_limit_everything_is_written() {
        assert_eq!(writable_under(100, 0, 50), Some(50));
        assert_eq!(writable_under(100, 50, 50), Some(50));
    }

    #[test]
    fn a_write_crossing_the_limit_stops_there() {
        assert_eq!(writable_under(100, 90, 50), Some(10));
        assert_eq!(writable_under(100, 99, usize::MAX), Some(1));
    }

    #[test]
    fn a_write_at_or_past_the_limit_is_refused() {
        assert_eq!(writable_under(100, 100, 1), None);
        assert_eq!(writable_under(100, 1 << 40, 1), None);
        assert_eq!(writable_under(0, 0, 1), None);
    }

    #[test]
    fn no_limit_limits_nothing() {
        assert_eq!(writable_under(RLIM_INFINITY, u64::MAX - 1, 7), Some(7));
    }

    #[test]
    fn the_table_starts_unlimited_and_forks_keep_the_limit() {
        let t = FdTable::new();
        assert_eq!(t.file_size_limit().get(), RLIM_INFINITY);
        t.file_size_limit().set(4096);
        assert_eq!(t.fork().file_size_limit().get(), 4096);
    }

    #[test]
    fn growing_past_the_limit_is_refused_shrinking_is_not() {
        let t = FdTable::new();
        t.file_size_limit().set(100);
        assert_eq!(check_new_size(&t, 0, 100), Ok(()));
        assert_eq!(check_new_size(&t, 0, 101), Err(Errno::EFBIG));
        assert_eq!(check_new_size(&t, 500, 200), Ok(()));
        assert_eq!(check_new_size(&t, 500, 500), Ok(()));
    }
}
