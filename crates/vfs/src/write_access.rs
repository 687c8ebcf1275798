//! Write access to a file and its denial while the file runs as a program: Linux's
//! `i_writecount` with `get_write_access`/`deny_write_access`, the mechanism behind `ETXTBSY`.
//!
//! Each inode that supports it keeps one [`WriteCount`]: positive while files are open on it
//! for writing, negative while programs run from it, never both. An open for writing (and a
//! truncation, which writes without an open file: truncate(2), `O_TRUNC` on a read-only open)
//! takes a [`WriteAccess`]; exec takes a [`DenyWrite`] on its program and holds it while the
//! program's image lives (execve(2) of a file open for writing is `ETXTBSY`; so are
//! open(2) for writing, `O_TRUNC` and truncate(2) of a running program, as in
//! execve(2)/open(2)/truncate(2)). Both are guards: dropping one gives its count back, so an
//! [`OpenFile`](crate::OpenFile) holding a `WriteAccess` releases it when its last fd closes.
//!
//! What this is not: a lock. Nothing waits; the loser of a race fails with `ETXTBSY` at once.
//! A file system whose inodes have no count (procfs, devfs: nothing there is executed)
//! returns `None` from [`Inode::write_count`] and its files are never denied. Which images
//! hold a denial (the program, not its dynamic linker, on Linux since 5.15) is the exec code's
//! policy; this module is only the count.
//!
//! An open for writing also counts as a writer of the mount it was opened through
//! ([`WriteAccess::get_at`], Linux's `mnt_want_write` in `file_get_write_access`), which is
//! what makes a remount read-only `EBUSY` while such a file is open ([`Mount::remount`]).
//!
//! The hot path (open and close of a file for writing) costs one uncontended atomic
//! compare-and-swap each way, and one atomic add each way on the mount.

use crate::mount::{Location, Mount};
use crate::node::Inode;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, Ordering};
use oxv_abi::Errno;

/// Linux's `i_writecount`: writers (> 0) or deniers (< 0) of one inode. See the
/// [module docs](self).
#[derive(Debug, Default)]
pub struct WriteCount(AtomicI32);

impl WriteCount {
    /// No writers, no deniers.
    pub const fn new() -> Self {
        WriteCount(AtomicI32::new(0))
    }

    /// Adds a writer: `ETXTBSY` while the file is denied.
    fn get_write(&self) -> Result<(), Errno> {
        self.0
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| {
                (n >= 0).then(|| n.checked_add(1)).flatten()
            })
            .map(drop)
            .map_err(|n| if n < 0 { Errno::ETXTBSY } else { Errno::ENFILE })
    }

    /// Adds a denier: `ETXTBSY` while the file is open for writing.
    fn deny_write(&self) -> Result<(), Errno> {
        self.0
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| {
                (n <= 0).then(|| n.checked_sub(1)).flatten()
            })
            .map(drop)
            .map_err(|n| if n > 0 { Errno::ETXTBSY } else { Errno::ENFILE })
    }

    /// Removes a writer taken by [`WriteCount::get_write`].
    fn put_write(&self) {
        self.0.fetch_sub(1, Ordering::Release);
    }

    /// Removes a denier taken by [`WriteCount::deny_write`].
    fn allow_write(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    /// Files open for writing now (0 while denied).
    pub fn writers(&self) -> u32 {
        self.0.load(Ordering::Relaxed).max(0) as u32
    }

    /// Whether writing is denied now (the file is being run).
    pub fn is_denied(&self) -> bool {
        self.0.load(Ordering::Relaxed) < 0
    }
}

/// One writer of an inode, given back when dropped. See the [module docs](self).
pub struct WriteAccess {
    inode: Arc<dyn Inode>,
    /// The mount it was opened through, whose writer count it holds too.
    mount: Option<MountWrite>,
}

/// One writer of a mount, given back when dropped.
struct MountWrite(Arc<Mount>);

impl Drop for MountWrite {
    fn drop(&mut self) {
        self.0.put_write();
    }
}

impl WriteAccess {
    /// Takes write access to `inode`: `ETXTBSY` while a program runs from it. Always succeeds
    /// for an inode without a [`WriteCount`].
    pub fn get(inode: &Arc<dyn Inode>) -> Result<WriteAccess, Errno> {
        if let Some(count) = inode.write_count() {
            count.get_write()?;
        }
        Ok(WriteAccess {
            inode: inode.clone(),
            mount: None,
        })
    }

    /// Takes write access to the inode at `loc` and counts a writer of its mount, as an open
    /// for writing does: `EROFS` if the mount is read-only, `ETXTBSY` while a program runs
    /// from the inode.
    pub fn get_at(loc: &Location) -> Result<WriteAccess, Errno> {
        loc.mount().get_write()?;
        let mount = MountWrite(loc.mount().clone());
        let mut access = WriteAccess::get(loc.inode())?;
        access.mount = Some(mount);
        Ok(access)
    }
}

impl Drop for WriteAccess {
    fn drop(&mut self) {
        if let Some(count) = self.inode.write_count() {
            count.put_write();
        }
    }
}

impl core::fmt::Debug for WriteAccess {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WriteAccess(ino {})", self.inode.ino())
    }
}

/// A denial of write access to an inode that runs as a program, lifted when dropped. See the
/// [module docs](self).
pub struct DenyWrite {
    inode: Arc<dyn Inode>,
}

impl DenyWrite {
    /// Denies write access to `inode`: `ETXTBSY` while it is open for writing. Always
    /// succeeds for an inode without a [`WriteCount`].
    pub fn get(inode: &Arc<dyn Inode>) -> Result<DenyWrite, Errno> {
        if let Some(count) = inode.write_count() {
            count.deny_write()?;
        }
        Ok(DenyWrite {
            inode: inode.clone(),
        })
    }
}

impl Drop for DenyWrite {
    fn drop(&mut self) {
        if let Some(count) = self.inode.write_count() {
            count.allow_write();
        }
    }
}

impl core::fmt::Debug for DenyWrite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "DenyWrite(ino {})", self.inode.ino())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_and_deniers_exclude_each_other() {
        let c = WriteCount::new();
        c.get_write().unwrap();
        c.get_write().unwrap();
        assert_eq!(c.writers(), 2);
        assert_eq!(c.deny_write(), Err(Errno::ETXTBSY));
        c.put_write();
        assert_eq!(c.deny_write(), Err(Errno::ETXTBSY));
        c.put_write();
        c.deny_write().unwrap();
        c.deny_write().unwrap();
        assert!(c.is_denied());
        assert_eq!(c.get_write(), Err(Errno::ETXTBSY));
        c.allow_write();
        assert_eq!(c.get_write(), Err(Errno::ETXTBSY));
        c.allow_write();
        assert!(!c.is_denied());
        c.get_write().unwrap();
        assert_eq!(c.writers(), 1);
    }

    #[test]
    fn the_count_never_wraps() {
        let c = WriteCount(AtomicI32::new(i32::MAX));
        assert_eq!(c.get_write(), Err(Errno::ENFILE));
        let c = WriteCount(AtomicI32::new(i32::MIN));
        assert_eq!(c.deny_write(), Err(Errno::ENFILE));
    }
}
