//! [`FsContext`]: a process's place in the VFS (Linux's `struct fs_struct`).
//!
//! It holds what path-based calls need besides the fd table: the [`Vfs`], the process's root
//! and current directories, and its umask. Threads created with `CLONE_FS` share one (the
//! kernel shares the `Arc`); fork(2) copies it with [`FsContext::fork`].
//!
//! It also offers the kernel's own entry points into the VFS (open a file by path, create the
//! mountpoint directories at boot), which run the same code as the syscalls.

use crate::file::OpenFile;
use crate::mount::{Location, Vfs};
use crate::node::{NewAttrs, NewNode};
use crate::walk::Walker;
use alloc::sync::Arc;
use oxv_abi::Errno;
use oxv_abi::linux::fs::OpenFlags;
use spin::Mutex;

/// The umask a new process starts with (Linux's init gets 0022).
pub const DEFAULT_UMASK: u32 = 0o022;

#[derive(Clone)]
struct State {
    root: Location,
    cwd: Location,
    umask: u32,
}

/// A process's root, cwd and umask over a shared [`Vfs`]. See the [module docs](self).
pub struct FsContext {
    vfs: Arc<Vfs>,
    state: Mutex<State>,
}

impl FsContext {
    /// A context at the root of `vfs`, with cwd `/` and umask 0022.
    pub fn new(vfs: Arc<Vfs>) -> Self {
        let root = vfs.root();
        FsContext {
            state: Mutex::new(State {
                cwd: root.clone(),
                root,
                umask: DEFAULT_UMASK,
            }),
            vfs,
        }
    }

    /// The VFS.
    pub fn vfs(&self) -> &Arc<Vfs> {
        &self.vfs
    }

    /// The process root directory.
    pub fn root(&self) -> Location {
        self.state.lock().root.clone()
    }

    /// The current directory.
    pub fn cwd(&self) -> Location {
        self.state.lock().cwd.clone()
    }

    /// Changes the current directory (`ENOTDIR` unless `loc` is a directory).
    pub fn set_cwd(&self, loc: Location) -> Result<(), Errno> {
        if !loc.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.state.lock().cwd = loc;
        Ok(())
    }

    /// The umask.
    pub fn umask(&self) -> u32 {
        self.state.lock().umask
    }

    /// Sets the umask to `mask & 0o777` and returns the old one (umask(2)).
    pub fn set_umask(&self, mask: u32) -> u32 {
        core::mem::replace(&mut self.state.lock().umask, mask & 0o777)
    }

    /// A copy for fork(2).
    pub fn fork(&self) -> FsContext {
        FsContext {
            vfs: self.vfs.clone(),
            state: Mutex::new(self.state.lock().clone()),
        }
    }

    /// A path walker for this process (fresh symlink budget).
    pub fn walker(&self) -> Walker<'_> {
        Walker::new(&self.vfs, self.root())
    }

    /// Resolves `path` relative to the cwd.
    pub fn lookup(&self, path: &[u8], follow_last: bool) -> Result<Location, Errno> {
        self.walker().resolve(&self.cwd(), path, follow_last)
    }

    /// Opens `path` (relative to the cwd) as open(2) would, for the kernel's own use (loading
    /// the app's ELF file, its interpreter). `mode` is used with `O_CREAT`, before the umask.
    pub fn open(&self, path: &[u8], flags: OpenFlags, mode: u32) -> Result<Arc<OpenFile>, Errno> {
        crate::syscalls::open::open_at(self, &self.cwd(), path, flags, mode)
    }

    /// Creates directory `path` and any missing parents with permission bits `perm` (umask not
    /// applied), like `mkdir -p`; returns it. For the kernel to make mountpoints at boot.
    pub fn mkdir_all(&self, path: &[u8], perm: u32) -> Result<Location, Errno> {
        let mut walker = self.walker();
        let mut cur = if path.first() == Some(&b'/') {
            self.root()
        } else {
            self.cwd()
        };
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            cur = match walker.resolve(&cur, comp, true) {
                Ok(loc) => loc,
                Err(Errno::ENOENT) => {
                    cur.check_writable()?;
                    let attrs = NewAttrs {
                        perm,
                        uid: 0,
                        gid: 0,
                        now: self.vfs.now(),
                    };
                    let inode = cur.inode().create(comp, NewNode::Directory, &attrs)?;
                    cur.with_inode(inode)
                }
                Err(e) => return Err(e),
            };
            if !cur.is_dir() {
                return Err(Errno::ENOTDIR);
            }
        }
        Ok(cur)
    }
}
