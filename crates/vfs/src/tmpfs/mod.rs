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
//! kernel abort. There is no size limit yet (Linux's `size=` option).
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
//! in both directories, never in neither); a rename within one directory is. Reads and writes
//! copy to and from user memory under the file's lock, so a page fault taken during the copy
//! must not need that lock (true today: nothing maps tmpfs files yet; mmap of files will need
//! a bounce or a page-cache design).

use crate::io::{ReadBuf, WriteBuf, WritePos, Written};
use crate::mount::FileSystem;
use crate::node::{
    DeviceId, DirEntry, DirSink, FileKind, Inode, Metadata, NewAttrs, NewNode, SetAttr,
};
use crate::time::Timestamp;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use oxv_abi::Errno;
use oxv_abi::linux::fs::RenameFlags;
use spin::Mutex;

/// Size of a data page.
const PAGE: u64 = 4096;
/// Largest file size (Linux's `MAX_LFS_FILESIZE` on 64-bit).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// The size a directory entry adds to `st_size` (Linux's `BOGO_DIRENT_SIZE`).
const DIRENT_SIZE: u64 = 20;
/// The first cookie given to a directory entry; 0 and 1 are `.` and `..`.
const FIRST_COOKIE: u64 = 2;

/// Shared by every inode of one tmpfs.
struct Shared {
    dev: DeviceId,
    next_ino: AtomicU64,
    namespace: Mutex<()>,
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

    /// An empty tmpfs whose root directory has permission bits `perm`.
    pub fn with_root_perm(dev: DeviceId, perm: u32, now: Timestamp) -> Arc<Tmpfs> {
        let shared = Arc::new(Shared {
            dev,
            next_ino: AtomicU64::new(1),
            namespace: Mutex::new(()),
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
        });
        root.state.lock().attrs.nlink = 2;
        Arc::new(Tmpfs { shared, root })
    }

    /// The number of inodes created so far (root included).
    pub fn inodes_created(&self) -> u64 {
        self.shared.next_ino.load(Ordering::Relaxed) - 1
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
    File(Pages),
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

struct Pages {
    size: u64,
    pages: BTreeMap<u64, Box<[u8]>>,
}

impl Pages {
    fn alloc_page() -> Result<Box<[u8]>, Errno> {
        let mut v = Vec::new();
        v.try_reserve_exact(PAGE as usize)
            .map_err(|_| Errno::ENOSPC)?;
        v.resize(PAGE as usize, 0);
        Ok(v.into_boxed_slice())
    }

    /// Drops the data at and past `len`: whole pages beyond it, and the tail of the page it
    /// falls in, so growing the file again exposes zeros.
    fn discard_from(&mut self, len: u64) {
        let first_dead = len.div_ceil(PAGE);
        let _ = self.pages.split_off(&first_dead);
        if len % PAGE != 0
            && let Some(page) = self.pages.get_mut(&(len / PAGE))
        {
            page[(len % PAGE) as usize..].fill(0);
        }
    }

    fn read(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        if offset >= self.size {
            return Ok(0);
        }
        let n = (dst.len() as u64).min(self.size - offset) as usize;
        let mut done = 0usize;
        while done < n {
            let pos = offset + done as u64;
            let in_page = (pos % PAGE) as usize;
            let k = (n - done).min(PAGE as usize - in_page);
            let r = match self.pages.get(&(pos / PAGE)) {
                Some(page) => dst.fill(done, &page[in_page..in_page + k]),
                None => dst.fill_zeros(done, k),
            };
            match r {
                Ok(got) => {
                    done += got;
                    if got < k {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn write(&mut self, start: u64, src: &WriteBuf<'_>) -> Result<usize, Errno> {
        if start >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let n = (src.len() as u64).min(MAX_FILE_SIZE - start) as usize;
        let mut done = 0usize;
        let mut failure = None;
        while done < n {
            let pos = start + done as u64;
            let in_page = (pos % PAGE) as usize;
            let k = (n - done).min(PAGE as usize - in_page);
            let page = match self.pages.entry(pos / PAGE) {
                alloc::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                alloc::collections::btree_map::Entry::Vacant(e) => match Self::alloc_page() {
                    Ok(p) => e.insert(p),
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                },
            };
            match src.fetch(done, &mut page[in_page..in_page + k]) {
                Ok(got) => {
                    done += got;
                    if got < k {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let end = start + done as u64;
        if done < n && end >= self.size {
            // A short write may have left bytes (or empty pages) past the new end.
            self.size = self.size.max(end);
            self.discard_from(self.size);
        }
        self.size = self.size.max(end);
        match failure {
            Some(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }
}

/// A tmpfs inode.
pub(crate) struct Node {
    ino: u64,
    kind: FileKind,
    fs: Arc<Shared>,
    this: Weak<Node>,
    state: Mutex<State>,
}

impl Node {
    fn new(
        fs: &Arc<Shared>,
        kind: FileKind,
        attrs: &NewAttrs,
        body: impl FnOnce(&Weak<Node>) -> Body,
    ) -> Arc<Node> {
        let ino = fs.next_ino.fetch_add(1, Ordering::Relaxed);
        Arc::new_cyclic(|this| Node {
            ino,
            kind,
            fs: fs.clone(),
            this: this.clone(),
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
        })
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

impl Inode for Node {
    fn as_any(&self) -> &dyn Any {
        self
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
            Body::File(p) => (p.size, p.pages.len() as u64 * (PAGE / 512)),
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
        if let Some(size) = attr.size {
            match &mut st.body {
                Body::File(p) => {
                    if size > MAX_FILE_SIZE {
                        return Err(Errno::EFBIG);
                    }
                    if size < p.size {
                        p.discard_from(size);
                    }
                    p.size = size;
                }
                Body::Dir(_) => return Err(Errno::EISDIR),
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
        Ok(())
    }

    fn read_at(&self, offset: u64, dst: &mut ReadBuf<'_>) -> Result<usize, Errno> {
        match &self.state.lock().body {
            Body::File(p) => p.read(offset, dst),
            _ => Err(self.wrong_kind_for_data()),
        }
    }

    fn write_at(
        &self,
        pos: WritePos,
        src: &WriteBuf<'_>,
        now: Timestamp,
    ) -> Result<Written, Errno> {
        let mut st = self.state.lock();
        let State { attrs, body } = &mut *st;
        let Body::File(p) = body else {
            return Err(self.wrong_kind_for_data());
        };
        let start = match pos {
            WritePos::At(o) => o,
            WritePos::Append => p.size,
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
                NewNode::Regular => Body::File(Pages {
                    size: 0,
                    pages: BTreeMap::new(),
                }),
                NewNode::Symlink(target) => Body::Symlink(target.into()),
                _ => Body::Special,
            });
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

    fn read_link(&self) -> Result<Vec<u8>, Errno> {
        match &self.state.lock().body {
            Body::Symlink(t) => Ok(t.to_vec()),
            _ => Err(Errno::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests;
