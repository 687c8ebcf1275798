//! tmpfs: a file system that lives in memory, like Linux's tmpfs (mm/shmem.c) without swap.
//!
//! It holds directories, regular files, symlinks and device/FIFO/socket nodes, and supports
//! everything [`Inode`] offers: create, link, unlink, rmdir, rename (within one tmpfs),
//! truncate, and reads and writes anywhere. It serves as the root file system (filled from the
//! initramfs with [`crate::initramfs::unpack`]), as `/tmp`, and as the store behind devfs.
//!
//! Regular files are sparse: data is kept in 4 KiB pages allocated on first write, so a hole
//! (left by seeking past the end, or by truncate growing a file) costs nothing and reads as
//! zeros; `st_blocks` counts the pages. An allocation failure is `ENOSPC` rather than a
//! kernel abort. Each instance has Linux's limits ([`limits`]): pages of data (`size=`, by
//! default half of the RAM its [`FileMemory`] reports) and inodes (`nr_inodes=`), both shown
//! by statfs(2) and changed by a remount; past them writes, fallocate(2) and inode creation
//! are `ENOSPC` and a shared-mapping fault is `SIGBUS`. The pages are frames of
//! RAM from a [`FileMemory`] ([`data`] and [`memory`]), and they are also the file's page
//! cache: `MAP_SHARED` mappings map them ([`Inode::page_cache`]), so mappings, read(2) and
//! write(2) always see the same bytes.
//!
//! Directory listings use per-directory cookies: each entry gets an increasing number when it
//! is inserted, and a getdents64(2) cursor is "the next cookie to report", so a listing in
//! progress survives creations and removals. A directory reports a size of 20 bytes per entry,
//! `.` and `..` included, as Linux's tmpfs does.
//!
//! Locking: each inode has a lock over its attributes and contents; every operation that
//! changes a directory's entries also takes the file system's namespace lock first, so
//! rename(2) and rmdir(2) see a stable tree. Locks nest only namespace → directory → child.
//! A cross-directory rename is not atomic to concurrent lookups (the name is briefly visible
//! in both directories, never in neither); a rename within one directory is. Writes hold the
//! file's lock while they copy from user memory (so concurrent writes do not interleave), and
//! a page fault taken during the copy never needs that lock: faults in shared mappings only
//! take the lock of the file's page map, which no one holds across a user copy (see [`data`]).

use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::mount::{FileSystem, FsStats};
use crate::node::{
    DeviceId, DirEntry, DirSink, FileKind, Inode, Metadata, NewAttrs, NewNode, SetAttr,
};
use crate::time::Timestamp;
use crate::write_access::WriteCount;
use crate::xattr::{self, XattrMap, XattrSet};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use data::FileData;
use limits::Usage;
use oxv_abi::Errno;
use oxv_abi::linux::fs::RenameFlags;
use oxv_mm::SharedMapSource;
use spin::Mutex;

pub mod data;
pub mod limits;
pub mod memory;

pub use limits::{TmpfsLimits, UsageFigures};
pub use memory::{FileMemory, HeapMemory};

/// The block size reported by stat(2).
const PAGE: u64 = 4096;
/// The size a directory entry adds to `st_size` (Linux's `BOGO_DIRENT_SIZE`).
const DIRENT_SIZE: u64 = 20;
/// The first cookie given to a directory entry; 0 and 1 are `.` and `..`.
const FIRST_COOKIE: u64 = 2;

/// Shared by every inode of one tmpfs.
struct Shared {
    dev: DeviceId,
    next_ino: AtomicU64,
    namespace: Mutex<()>,
    memory: Arc<dyn FileMemory>,
    usage: Arc<Usage>,
}

/// A tmpfs instance. See the [module docs](self).
pub struct Tmpfs {
    shared: Arc<Shared>,
    root: Arc<Node>,
}

impl Tmpfs {
    /// An empty tmpfs with device number `dev` and a root directory of mode 0755 (a root file
    /// system; use [`Tmpfs::with_root_perm`] with 0o1777 for `/tmp`).
    pub fn new(dev: DeviceId, now: Timestamp) -> Arc<Tmpfs> {
        Self::with_root_perm(dev, 0o755, now)
    }

    /// An empty tmpfs whose root directory has permission bits `perm`, keeping file data on
    /// the heap ([`HeapMemory`]).
    pub fn with_root_perm(dev: DeviceId, perm: u32, now: Timestamp) -> Arc<Tmpfs> {
        Self::with_memory(dev, perm, now, Arc::new(HeapMemory::new()))
    }

    /// An empty tmpfs whose root directory has permission bits `perm`, keeping file data in
    /// frames of `memory` (a kernel's RAM, so that files can be mapped shared), with Linux's
    /// default limits for the RAM `memory` reports ([`TmpfsLimits::half_of_ram`]; none if it
    /// reports none).
    pub fn with_memory(
        dev: DeviceId,
        perm: u32,
        now: Timestamp,
        memory: Arc<dyn FileMemory>,
    ) -> Arc<Tmpfs> {
        let limits = memory
            .total_pages()
            .map_or(TmpfsLimits::UNLIMITED, TmpfsLimits::half_of_ram);
        Self::with_limits(dev, perm, now, memory, limits)
    }

    /// [`with_memory`](Self::with_memory) with the given limits (`TmpfsLimits::UNLIMITED` for
    /// memfd's files, as Linux's internal shm mount has none).
    pub fn with_limits(
        dev: DeviceId,
        perm: u32,
        now: Timestamp,
        memory: Arc<dyn FileMemory>,
        limits: TmpfsLimits,
    ) -> Arc<Tmpfs> {
        // Limited once the root is in, which even `nr_inodes=1` must have room for.
        let usage = Arc::new(Usage::new(TmpfsLimits::UNLIMITED, memory.total_pages()));
        let shared = Arc::new(Shared {
            dev,
            next_ino: AtomicU64::new(1),
            namespace: Mutex::new(()),
            memory,
            usage,
        });
        let attrs = NewAttrs {
            perm,
            uid: 0,
            gid: 0,
            now,
        };
        let root = Node::new(&shared, FileKind::Directory, &attrs, |this| {
            // The root is its own parent.
            Body::Dir(Dir::new(this.clone()))
        })
        .expect("a new tmpfs has room for its root");
        shared.usage.set_limits(limits);
        root.state.lock().attrs.nlink = 2;
        Arc::new(Tmpfs { shared, root })
    }

    /// The number of inodes created so far (root included).
    pub fn inodes_created(&self) -> u64 {
        self.shared.next_ino.load(Ordering::Relaxed) - 1
    }

    /// The limits, and the pages and inodes in use.
    pub fn usage(&self) -> UsageFigures {
        self.shared.usage.figures()
    }

    /// The machine's RAM in pages, as the tmpfs's [`FileMemory`] reports it (for `size=N%`).
    pub fn ram_pages(&self) -> Option<u64> {
        self.shared.usage.ram_pages()
    }

    /// Sets the limits of a tmpfs being set up (a new mount's `size=` and `nr_inodes=`, or
    /// the root once the initramfs is in it), whatever is in use.
    pub fn set_limits(&self, limits: TmpfsLimits) {
        self.shared.usage.set_limits(limits);
    }

    /// A remount's new limits (`None` keeps one), with Linux's checks (`shmem_reconfigure`):
    /// `EINVAL` and nothing changed if a limit is below what is in use, or would limit what
    /// was unlimited; 0 lifts a limit.
    pub fn reconfigure(&self, blocks: Option<u64>, inodes: Option<u64>) -> Result<(), Errno> {
        self.shared.usage.reconfigure(blocks, inodes)
    }
}

impl FileSystem for Tmpfs {
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    fn name(&self) -> &'static str {
        "tmpfs"
    }

    fn device(&self) -> DeviceId {
        self.shared.dev
    }

    /// Linux's `shmem_statfs`: the limits and what is free of them; an unlimited count is 0.
    fn stats(&self) -> FsStats {
        let u = self.usage();
        let mut s = FsStats::without_size(self.name());
        if u.limits.blocks != 0 {
            s.blocks = u.limits.blocks;
            s.free_blocks = u.limits.blocks.saturating_sub(u.blocks);
            s.avail_blocks = s.free_blocks;
        }
        if u.limits.inodes != 0 {
            s.files = u.limits.inodes;
            s.free_files = u.limits.inodes.saturating_sub(u.inodes);
        }
        s
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

struct Attrs {
    perm: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: DeviceId,
    atime: Timestamp,
    mtime: Timestamp,
    ctime: Timestamp,
}

struct State {
    attrs: Attrs,
    body: Body,
}

enum Body {
    Dir(Dir),
    /// A regular file; its data is [`Node::data`].
    File,
    Symlink(Box<[u8]>),
    Special,
}

struct Slot {
    cookie: u64,
    node: Arc<Node>,
}

struct Dir {
    parent: Weak<Node>,
    entries: BTreeMap<Box<[u8]>, Slot>,
    order: BTreeMap<u64, Box<[u8]>>,
    next_cookie: u64,
    removed: bool,
}

impl Dir {
    fn new(parent: Weak<Node>) -> Self {
        Dir {
            parent,
            entries: BTreeMap::new(),
            order: BTreeMap::new(),
            next_cookie: FIRST_COOKIE,
            removed: false,
        }
    }

    fn get(&self, name: &[u8]) -> Option<&Arc<Node>> {
        self.entries.get(name).map(|s| &s.node)
    }

    /// Adds or replaces `name`; a replaced entry is returned and the name gets a new cookie.
    fn insert(&mut self, name: &[u8], node: Arc<Node>) -> Option<Arc<Node>> {
        let old = self.remove(name);
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        let key: Box<[u8]> = name.into();
        self.order.insert(cookie, key.clone());
        self.entries.insert(key, Slot { cookie, node });
        old
    }

    fn remove(&mut self, name: &[u8]) -> Option<Arc<Node>> {
        let slot = self.entries.remove(name)?;
        self.order.remove(&slot.cookie);
        Some(slot.node)
    }
}

/// A tmpfs inode.
pub(crate) struct Node {
    ino: u64,
    kind: FileKind,
    fs: Arc<Shared>,
    this: Weak<Node>,
    /// A regular file's contents. Outside `state`, so that reads and page faults reach them
    /// without the inode lock.
    data: Option<Arc<FileData>>,
    state: Mutex<State>,
    /// Extended attributes (see [`crate::xattr`]).
    xattrs: XattrMap,
    /// Writers and running programs (see [`crate::write_access`]).
    writes: WriteCount,
}

impl Node {
    /// A new inode, charged to the tmpfs (`ENOSPC` past `nr_inodes`; released on drop).
    fn new(
        fs: &Arc<Shared>,
        kind: FileKind,
        attrs: &NewAttrs,
        body: impl FnOnce(&Weak<Node>) -> Body,
    ) -> Result<Arc<Node>, Errno> {
        fs.usage.charge_inode()?;
        let ino = fs.next_ino.fetch_add(1, Ordering::Relaxed);
        let data = (kind == FileKind::Regular)
            .then(|| FileData::new(fs.memory.clone(), fs.usage.clone(), fs.dev, ino));
        Ok(Arc::new_cyclic(|this| Node {
            ino,
            kind,
            fs: fs.clone(),
            this: this.clone(),
            data,
            writes: WriteCount::new(),
            state: Mutex::new(State {
                attrs: Attrs {
                    perm: attrs.perm & 0o7777,
                    uid: attrs.uid,
                    gid: attrs.gid,
                    nlink: if kind == FileKind::Directory { 2 } else { 1 },
                    rdev: DeviceId::default(),
                    atime: attrs.now,
                    mtime: attrs.now,
                    ctime: attrs.now,
                },
                body: body(this),
            }),
            xattrs: XattrMap::new(),
        }))
    }

    fn same_fs(&self, other: &Node) -> bool {
        Arc::ptr_eq(&self.fs, &other.fs)
    }

    fn arc(&self) -> Arc<Node> {
        self.this
            .upgrade()
            .expect("a tmpfs node is only reached through a live Arc")
    }

    /// Runs `f` on this directory's entries (`ENOTDIR` for other kinds).
    fn with_dir<R>(
        &self,
        f: impl FnOnce(&mut Dir, &mut Attrs) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        let mut st = self.state.lock();
        let State { attrs, body } = &mut *st;
        match body {
            Body::Dir(d) => f(d, attrs),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn entry(&self, name: &[u8]) -> Result<Option<Arc<Node>>, Errno> {
        self.with_dir(|d, _| {
            if d.removed {
                Err(Errno::ENOENT)
            } else {
                Ok(d.get(name).cloned())
            }
        })
    }

    fn is_empty_dir(&self) -> bool {
        self.with_dir(|d, _| Ok(d.entries.is_empty()))
            .unwrap_or(false)
    }

    fn parent_node(&self) -> Result<Arc<Node>, Errno> {
        self.with_dir(|d, _| {
            if d.removed {
                Err(Errno::ENOENT)
            } else {
                d.parent.upgrade().ok_or(Errno::ENOENT)
            }
        })
    }

    fn touch_ctime(&self, now: Timestamp, unlinked: bool) {
        let mut st = self.state.lock();
        st.attrs.ctime = now;
        if unlinked {
            // An extra link of a non-directory was charged as an inode (Linux's shmem_unlink).
            if st.attrs.nlink > 1 && self.kind != FileKind::Directory {
                self.fs.usage.release_inode();
            }
            st.attrs.nlink = st.attrs.nlink.saturating_sub(1);
        }
    }

    /// Marks a directory as gone: no entries may be added and `..` no longer resolves.
    fn kill_dir(&self, now: Timestamp) {
        let mut st = self.state.lock();
        st.attrs.nlink = 0;
        st.attrs.ctime = now;
        if let Body::Dir(d) = &mut st.body {
            d.removed = true;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // The last reference: Linux's `shmem_evict_inode` frees the inode's charge here.
        self.fs.usage.release_inode();
    }
}

impl Inode for Node {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn write_count(&self) -> Option<&WriteCount> {
        Some(&self.writes)
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn kind(&self) -> FileKind {
        self.kind
    }

    fn metadata(&self) -> Metadata {
        let st = self.state.lock();
        let (size, blocks) = match &st.body {
            Body::File => self.data.as_ref().map_or((0, 0), |d| d.size_and_blocks()),
            Body::Dir(d) => ((d.entries.len() as u64 + 2) * DIRENT_SIZE, 0),
            Body::Symlink(t) => (t.len() as u64, 0),
            Body::Special => (0, 0),
        };
        let a = &st.attrs;
        Metadata {
            dev: self.fs.dev,
            ino: self.ino,
            kind: self.kind,
            perm: a.perm,
            nlink: a.nlink,
            uid: a.uid,
            gid: a.gid,
            rdev: a.rdev,
            size,
            blocks,
            blksize: PAGE as u32,
            atime: a.atime,
            mtime: a.mtime,
            ctime: a.ctime,
        }
    }

    fn set_attr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let mut st = self.state.lock();
        let mut shrank = false;
        if let Some(size) = attr.size {
            match (&st.body, &self.data) {
                (Body::File, Some(d)) => shrank = d.set_size(size)?,
                (Body::Dir(_), _) => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
        }
        let a = &mut st.attrs;
        if let Some(perm) = attr.perm {
            a.perm = perm & 0o7777;
        }
        if let Some(uid) = attr.uid {
            a.uid = uid;
        }
        if let Some(gid) = attr.gid {
            a.gid = gid;
        }
        if let Some(t) = attr.atime {
            a.atime = t;
        }
        if let Some(t) = attr.mtime {
            a.mtime = t;
        }
        a.ctime = attr.ctime;
        drop(st);
        if let (true, Some(d), Some(size)) = (shrank, &self.data, attr.size) {
            d.unmap_beyond(size);
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        // No inode lock: the copy to user memory may fault into a mapping of this file.
        match &self.data {
            Some(d) => d.read(offset, dst),
            None => Err(self.wrong_kind_for_data()),
        }
    }

    fn write_at(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        now: Timestamp,
    ) -> Result<Written, Errno> {
        let Some(p) = &self.data else {
            return Err(self.wrong_kind_for_data());
        };
        // The inode lock makes each write atomic with respect to other writes and truncation.
        let mut st = self.state.lock();
        let attrs = &mut st.attrs;
        let start = match pos {
            WritePos::At(o) => o,
            WritePos::Append => p.size(),
        };
        if src.is_empty() {
            return Ok(Written {
                count: 0,
                end: start,
            });
        }
        let count = p.write(start, src)?;
        if count > 0 {
            attrs.mtime = now;
            attrs.ctime = now;
        }
        Ok(Written {
            count,
            end: start + count as u64,
        })
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        match self.entry(name)? {
            Some(node) => Ok(node),
            None => Err(Errno::ENOENT),
        }
    }

    fn parent(&self) -> Result<Arc<dyn Inode>, Errno> {
        Ok(self.parent_node()?)
    }

    fn create(
        &self,
        name: &[u8],
        node: NewNode<'_>,
        attrs: &NewAttrs,
    ) -> Result<Arc<dyn Inode>, Errno> {
        if let NewNode::Symlink(target) = node
            && target.is_empty()
        {
            return Err(Errno::ENOENT);
        }
        let _ns = self.fs.namespace.lock();
        self.with_dir(|dir, dir_attrs| {
            if dir.removed {
                return Err(Errno::ENOENT);
            }
            if dir.get(name).is_some() {
                return Err(Errno::EEXIST);
            }
            let kind = node.kind();
            let child = Node::new(&self.fs, kind, attrs, |_| match node {
                NewNode::Directory => Body::Dir(Dir::new(self.this.clone())),
                NewNode::Regular => Body::File,
                NewNode::Symlink(target) => Body::Symlink(target.into()),
                _ => Body::Special,
            })?;
            if let NewNode::CharDevice(rdev) | NewNode::BlockDevice(rdev) = node {
                child.state.lock().attrs.rdev = rdev;
            }
            dir.insert(name, child.clone());
            if kind == FileKind::Directory {
                dir_attrs.nlink += 1;
            }
            dir_attrs.mtime = attrs.now;
            dir_attrs.ctime = attrs.now;
            Ok(child as Arc<dyn Inode>)
        })
    }

    fn link(&self, name: &[u8], target: &dyn Inode, now: Timestamp) -> Result<(), Errno> {
        let target = target.as_any().downcast_ref::<Node>().ok_or(Errno::EXDEV)?;
        if !self.same_fs(target) {
            return Err(Errno::EXDEV);
        }
        if target.kind == FileKind::Directory {
            return Err(Errno::EPERM);
        }
        let _ns = self.fs.namespace.lock();
        self.with_dir(|dir, dir_attrs| {
            if dir.removed {
                return Err(Errno::ENOENT);
            }
            if dir.get(name).is_some() {
                return Err(Errno::EEXIST);
            }
            let mut t = target.state.lock();
            if t.attrs.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            // Linux's shmem_link charges every extra link as an inode.
            self.fs.usage.charge_inode()?;
            t.attrs.nlink += 1;
            t.attrs.ctime = now;
            drop(t);
            dir.insert(name, target.arc());
            dir_attrs.mtime = now;
            dir_attrs.ctime = now;
            Ok(())
        })
    }

    fn unlink(&self, name: &[u8], now: Timestamp) -> Result<(), Errno> {
        let _ns = self.fs.namespace.lock();
        let child = self.with_dir(|dir, dir_attrs| {
            let child = dir.get(name).ok_or(Errno::ENOENT)?;
            if child.kind == FileKind::Directory {
                return Err(Errno::EISDIR);
            }
            let child = dir.remove(name).expect("the entry was just found");
            dir_attrs.mtime = now;
            dir_attrs.ctime = now;
            Ok(child)
        })?;
        child.touch_ctime(now, true);
        Ok(())
    }

    fn rmdir(&self, name: &[u8], now: Timestamp) -> Result<(), Errno> {
        let _ns = self.fs.namespace.lock();
        self.with_dir(|dir, dir_attrs| {
            let child = dir.get(name).ok_or(Errno::ENOENT)?.clone();
            if child.kind != FileKind::Directory {
                return Err(Errno::ENOTDIR);
            }
            if !child.is_empty_dir() {
                return Err(Errno::ENOTEMPTY);
            }
            child.kill_dir(now);
            dir.remove(name);
            dir_attrs.nlink = dir_attrs.nlink.saturating_sub(1);
            dir_attrs.mtime = now;
            dir_attrs.ctime = now;
            Ok(())
        })
    }

    fn rename(
        &self,
        old_name: &[u8],
        new_dir: &dyn Inode,
        new_name: &[u8],
        flags: RenameFlags,
        now: Timestamp,
    ) -> Result<(), Errno> {
        let new_dir = new_dir
            .as_any()
            .downcast_ref::<Node>()
            .ok_or(Errno::EXDEV)?;
        if !self.same_fs(new_dir) {
            return Err(Errno::EXDEV);
        }
        if !(flags - RenameFlags::NOREPLACE).is_empty() {
            return Err(Errno::EINVAL);
        }
        let _ns = self.fs.namespace.lock();
        let moved = self.entry(old_name)?.ok_or(Errno::ENOENT)?;
        let existing = new_dir.entry(new_name)?;
        if existing.is_some() && flags.contains(RenameFlags::NOREPLACE) {
            return Err(Errno::EEXIST);
        }
        if existing.as_ref().is_some_and(|e| Arc::ptr_eq(e, &moved)) {
            return Ok(());
        }
        let moving_dir = moved.kind == FileKind::Directory;
        if moving_dir {
            // The new parent must not be the directory itself or below it.
            let mut cur = new_dir.arc();
            loop {
                if Arc::ptr_eq(&cur, &moved) {
                    return Err(Errno::EINVAL);
                }
                let up = cur.parent_node()?;
                if Arc::ptr_eq(&up, &cur) {
                    break;
                }
                cur = up;
            }
        }
        if let Some(e) = &existing {
            match (moving_dir, e.kind == FileKind::Directory) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !e.is_empty_dir() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        let replaced_dir = existing
            .as_ref()
            .is_some_and(|e| e.kind == FileKind::Directory);
        if core::ptr::eq(self, new_dir) {
            self.with_dir(|dir, attrs| {
                dir.remove(old_name);
                dir.insert(new_name, moved.clone());
                if replaced_dir {
                    attrs.nlink = attrs.nlink.saturating_sub(1);
                }
                attrs.mtime = now;
                attrs.ctime = now;
                Ok(())
            })?;
        } else {
            new_dir.with_dir(|dir, attrs| {
                dir.insert(new_name, moved.clone());
                if moving_dir && !replaced_dir {
                    attrs.nlink += 1;
                }
                attrs.mtime = now;
                attrs.ctime = now;
                Ok(())
            })?;
            self.with_dir(|dir, attrs| {
                dir.remove(old_name);
                if moving_dir {
                    attrs.nlink = attrs.nlink.saturating_sub(1);
                }
                attrs.mtime = now;
                attrs.ctime = now;
                Ok(())
            })?;
            if moving_dir {
                moved.with_dir(|d, _| {
                    d.parent = new_dir.this.clone();
                    Ok(())
                })?;
            }
        }
        moved.touch_ctime(now, false);
        if let Some(e) = existing {
            if replaced_dir {
                e.kill_dir(now)
            } else {
                e.touch_ctime(now, true)
            }
        }
        Ok(())
    }

    fn read_dir(&self, cursor: u64, sink: &mut DirSink<'_>) -> Result<(), Errno> {
        self.with_dir(|dir, _| {
            if dir.removed {
                return Err(Errno::ENOENT);
            }
            if cursor == 0
                && !sink(&DirEntry {
                    ino: self.ino,
                    kind: FileKind::Directory,
                    name: b".",
                    next: 1,
                })
            {
                return Ok(());
            }
            if cursor <= 1 {
                let parent_ino = dir.parent.upgrade().map_or(self.ino, |p| p.ino);
                if !sink(&DirEntry {
                    ino: parent_ino,
                    kind: FileKind::Directory,
                    name: b"..",
                    next: FIRST_COOKIE,
                }) {
                    return Ok(());
                }
            }
            for (&cookie, name) in dir.order.range(cursor.max(FIRST_COOKIE)..) {
                let node = &dir
                    .entries
                    .get(name)
                    .expect("order and entries index the same names")
                    .node;
                if !sink(&DirEntry {
                    ino: node.ino,
                    kind: node.kind,
                    name,
                    next: cookie + 1,
                }) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn page_cache(&self) -> Option<Arc<dyn SharedMapSource>> {
        self.data
            .as_ref()
            .map(|d| d.clone() as Arc<dyn SharedMapSource>)
    }

    fn read_link(&self) -> Result<Vec<u8>, Errno> {
        match &self.state.lock().body {
            Body::Symlink(t) => Ok(t.to_vec()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn get_xattr(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        xattr::tmpfs_get(&self.xattrs, name)
    }

    fn set_xattr(
        &self,
        name: &[u8],
        value: Option<&[u8]>,
        how: XattrSet,
        now: Timestamp,
    ) -> Result<(), Errno> {
        xattr::tmpfs_set(&self.xattrs, name, value, how)?;
        self.state.lock().attrs.ctime = now;
        Ok(())
    }

    fn list_xattr(&self) -> Result<Vec<u8>, Errno> {
        Ok(self.xattrs.list())
    }

    /// Linux's `shmem_fallocate`: allocation (growing the file unless `KEEP_SIZE`) and hole
    /// punching; either stamps mtime and ctime.
    fn allocate(&self, mode: u32, offset: u64, len: u64, now: Timestamp) -> Result<(), Errno> {
        use linux_raw_sys::general::{FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE};
        let Some(d) = &self.data else {
            return Err(Errno::ENODEV);
        };
        if mode & !(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE) != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
        let mut st = self.state.lock();
        if mode & FALLOC_FL_PUNCH_HOLE != 0 {
            d.punch(offset, end)?;
        } else {
            d.allocate(offset, end, mode & FALLOC_FL_KEEP_SIZE != 0)?;
        }
        st.attrs.mtime = now;
        st.attrs.ctime = now;
        Ok(())
    }

    fn seek_data(&self, offset: u64, data: bool) -> Option<u64> {
        match &self.data {
            Some(d) => d.seek_data(offset, data),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests;
