//! The fd table: small integers naming [`OpenFile`]s, with the per-fd `FD_CLOEXEC` flag.
//!
//! Semantics follow Linux (`fs/file.c`): a new fd is the lowest free one; the table holds at
//! most `RLIMIT_NOFILE` fds (1024 by default) and a new fd at or above the limit is `EMFILE`;
//! dup2(2) onto an open fd closes it first, atomically. Threads created with `CLONE_FILES`
//! share one table (the kernel shares the `Arc`); fork(2) copies it with [`FdTable::fork`].
//!
//! A closed [`OpenFile`] is dropped after the table lock is released, so a file's drop never
//! runs under it.

use crate::file::OpenFile;
use crate::fsize::FileSizeLimit;
use crate::locks::ProcessLocks;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::fs::NR_OPEN_DEFAULT;
use spin::RwLock;

#[derive(Clone)]
struct Slot {
    file: Arc<OpenFile>,
    cloexec: bool,
}

#[derive(Clone)]
struct Table {
    slots: Vec<Option<Slot>>,
    limit: usize,
}

impl Table {
    fn lowest_free_from(&self, min: usize) -> Option<usize> {
        (min..self.limit).find(|&fd| self.slots.get(fd).is_none_or(|s| s.is_none()))
    }

    fn put(&mut self, fd: usize, slot: Slot) -> Option<Slot> {
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd].replace(slot)
    }

    fn slot(&self, fd: i32) -> Option<&Slot> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get(fd))
            .and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, fd: i32) -> Option<&mut Slot> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get_mut(fd))
            .and_then(Option::as_mut)
    }
}

/// A process's fds. See the [module docs](self).
pub struct FdTable {
    table: RwLock<Table>,
    /// The POSIX record locks this table's owner holds: closing an fd of a locked inode
    /// releases them (see [`crate::locks`]).
    locks: ProcessLocks,
    /// The owner's soft `RLIMIT_FSIZE` (see [`crate::fsize`]): the table is what every file
    /// system call has of its process.
    file_size_limit: FileSizeLimit,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    /// An empty table with the default limit ([`NR_OPEN_DEFAULT`], 1024).
    pub fn new() -> Self {
        Self::with_limit(NR_OPEN_DEFAULT)
    }

    /// An empty table holding fds `0..limit`.
    pub fn with_limit(limit: usize) -> Self {
        FdTable {
            table: RwLock::new(Table {
                slots: Vec::new(),
                limit,
            }),
            locks: ProcessLocks::new(),
            file_size_limit: FileSizeLimit::default(),
        }
    }

    /// The owner's `RLIMIT_FSIZE`, which its writes must keep within.
    pub fn file_size_limit(&self) -> &FileSizeLimit {
        &self.file_size_limit
    }

    /// The `RLIMIT_NOFILE` in force: fds must be below it.
    pub fn limit(&self) -> usize {
        self.table.read().limit
    }

    /// Sets the limit (setrlimit(2)); open fds above it stay open, as on Linux.
    pub fn set_limit(&self, limit: usize) {
        self.table.write().limit = limit;
    }

    /// The open file behind `fd` (`EBADF` if none).
    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        self.table
            .read()
            .slot(fd)
            .map(|s| s.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free fd (`EMFILE` if none is below the limit).
    pub fn insert(&self, file: Arc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
        self.insert_from(0, file, cloexec)
            .map_err(|_| Errno::EMFILE)
    }

    /// Installs `file` at the lowest free fd `>= min` (F_DUPFD): `EINVAL` if `min` is at or
    /// above the limit, `EMFILE` if no fd is free.
    pub fn insert_from(
        &self,
        min: usize,
        file: Arc<OpenFile>,
        cloexec: bool,
    ) -> Result<i32, Errno> {
        let mut t = self.table.write();
        if min >= t.limit {
            return Err(Errno::EINVAL);
        }
        let fd = t.lowest_free_from(min).ok_or(Errno::EMFILE)?;
        t.put(fd, Slot { file, cloexec });
        Ok(fd as i32)
    }

    /// Whether an fd below the limit is free (open(2) checks this before walking the path,
    /// so a full table is `EMFILE` whatever the path).
    pub fn has_free_fd(&self) -> bool {
        self.table.read().lowest_free_from(0).is_some()
    }

    /// Installs `file` at exactly `fd`, closing what was there (dup2(2)/dup3(2)): `EBADF` if
    /// `fd` is negative or at or above the limit. Returns the file that was replaced, for the
    /// caller to drop.
    pub fn install(
        &self,
        fd: i32,
        file: Arc<OpenFile>,
        cloexec: bool,
    ) -> Result<Option<Arc<OpenFile>>, Errno> {
        let mut t = self.table.write();
        let idx = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        if idx >= t.limit {
            return Err(Errno::EBADF);
        }
        let old = t.put(idx, Slot { file, cloexec }).map(|s| s.file);
        drop(t);
        if let Some(f) = &old {
            self.locks.closed(f);
        }
        Ok(old)
    }

    /// close(2): removes `fd` (`EBADF` if not open) and returns its file.
    pub fn remove(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        let mut t = self.table.write();
        let idx = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let slot = t
            .slots
            .get_mut(idx)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        drop(t);
        self.locks.closed(&slot.file);
        Ok(slot.file)
    }

    /// Whether `fd` has `FD_CLOEXEC`.
    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        self.table
            .read()
            .slot(fd)
            .map(|s| s.cloexec)
            .ok_or(Errno::EBADF)
    }

    /// Sets or clears `FD_CLOEXEC` on `fd`.
    pub fn set_cloexec(&self, fd: i32, on: bool) -> Result<(), Errno> {
        let mut t = self.table.write();
        t.slot_mut(fd).map(|s| s.cloexec = on).ok_or(Errno::EBADF)
    }

    /// execve(2): closes every fd with `FD_CLOEXEC`; returns the files closed, for the caller
    /// to drop outside any lock.
    pub fn close_on_exec(&self) -> Vec<Arc<OpenFile>> {
        let mut t = self.table.write();
        let mut closed = Vec::new();
        for slot in t.slots.iter_mut() {
            if slot.as_ref().is_some_and(|s| s.cloexec) {
                closed.extend(slot.take().map(|s| s.file));
            }
        }
        drop(t);
        for f in &closed {
            self.locks.closed(f);
        }
        closed
    }

    /// A copy for fork(2): the same open files (shared offsets), the same flags.
    pub fn fork(&self) -> FdTable {
        let t = FdTable {
            table: RwLock::new(self.table.read().clone()),
            locks: ProcessLocks::new(),
            file_size_limit: FileSizeLimit::default(),
        };
        t.file_size_limit.set(self.file_size_limit.get());
        t
    }

    /// The size of the table as Linux would have grown it (`fdt->max_fds`): 64 fds, then 128
    /// times a power of two, enough for the highest fd ever installed. select(2) looks at no
    /// more fds than this.
    pub fn max_fds(&self) -> usize {
        let len = self.table.read().slots.len();
        if len <= 64 {
            64
        } else {
            (len / 128 + 1).next_power_of_two() * 128
        }
    }

    /// Closes every fd in `first..=last` (close_range(2) without flags); returns the files
    /// closed, for the caller to drop outside any lock.
    pub fn remove_range(&self, first: u32, last: u32) -> Vec<Arc<OpenFile>> {
        let mut t = self.table.write();
        let end = (last as usize).saturating_add(1).min(t.slots.len());
        let start = (first as usize).min(end);
        let closed: Vec<Arc<OpenFile>> = t.slots[start..end]
            .iter_mut()
            .filter_map(|s| s.take().map(|s| s.file))
            .collect();
        drop(t);
        for f in &closed {
            self.locks.closed(f);
        }
        closed
    }

    /// Sets `FD_CLOEXEC` on every open fd in `first..=last` (`CLOSE_RANGE_CLOEXEC`).
    pub fn set_cloexec_range(&self, first: u32, last: u32) {
        let mut t = self.table.write();
        let end = (last as usize).saturating_add(1).min(t.slots.len());
        let start = (first as usize).min(end);
        for s in t.slots[start..end].iter_mut().flatten() {
            s.cloexec = true;
        }
    }

    /// The POSIX locks of this table's owner (see [`crate::locks`]).
    pub fn locks(&self) -> &ProcessLocks {
        &self.locks
    }

    /// The open fds, ascending.
    pub fn fds(&self) -> Vec<i32> {
        let t = self.table.read();
        t.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as i32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::PathFile;
    use crate::mount::FileSystem;
    use crate::node::DeviceId;
    use crate::time::Timestamp;
    use crate::tmpfs::Tmpfs;
    use oxv_abi::linux::fs::OpenFlags;

    fn file() -> Arc<OpenFile> {
        let fs = Tmpfs::new(DeviceId::new(0, 1), Timestamp::EPOCH);
        OpenFile::new(PathFile::new(fs.root()), OpenFlags::PATH, None)
    }

    #[test]
    fn lowest_free_and_limit() {
        let t = FdTable::with_limit(3);
        assert_eq!(t.insert(file(), false), Ok(0));
        assert_eq!(t.insert(file(), false), Ok(1));
        assert_eq!(t.insert(file(), true), Ok(2));
        assert_eq!(t.insert(file(), false), Err(Errno::EMFILE));
        assert!(!t.has_free_fd());
        t.remove(1).unwrap();
        assert_eq!(t.insert(file(), false), Ok(1));
        assert_eq!(t.insert_from(3, file(), false), Err(Errno::EINVAL));
        assert_eq!(t.insert_from(2, file(), false), Err(Errno::EMFILE));
        assert_eq!(t.fds(), [0, 1, 2]);
    }

    #[test]
    fn install_replaces_and_checks_range() {
        let t = FdTable::with_limit(8);
        let a = file();
        assert_eq!(t.install(5, a.clone(), true).unwrap().map(|_| ()), None);
        assert!(Arc::ptr_eq(&t.get(5).unwrap(), &a));
        assert_eq!(t.cloexec(5), Ok(true));
        assert!(
            t.install(5, file(), false)
                .unwrap()
                .is_some_and(|old| Arc::ptr_eq(&old, &a))
        );
        assert_eq!(t.cloexec(5), Ok(false));
        assert_eq!(t.install(8, file(), false).err(), Some(Errno::EBADF));
        assert_eq!(t.install(-1, file(), false).err(), Some(Errno::EBADF));
        assert_eq!(t.insert(file(), false), Ok(0));
    }

    #[test]
    fn cloexec_and_exec() {
        let t = FdTable::new();
        t.insert(file(), false).unwrap();
        t.insert(file(), true).unwrap();
        t.set_cloexec(0, true).unwrap();
        t.set_cloexec(1, false).unwrap();
        assert_eq!(t.set_cloexec(7, true), Err(Errno::EBADF));
        assert_eq!(t.close_on_exec().len(), 1);
        assert_eq!(t.fds(), [1]);
        assert_eq!(t.get(0).err(), Some(Errno::EBADF));
        assert_eq!(t.get(-5).err(), Some(Errno::EBADF));
        assert_eq!(t.remove(0).err(), Some(Errno::EBADF));
    }

    #[test]
    fn fork_shares_files_not_slots() {
        let t = FdTable::new();
        let f = file();
        t.insert(f.clone(), false).unwrap();
        let child = t.fork();
        child.remove(0).unwrap();
        assert!(Arc::ptr_eq(&t.get(0).unwrap(), &f));
        assert_eq!(child.get(0).err(), Some(Errno::EBADF));
    }
}
