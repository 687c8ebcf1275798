//! Path resolution, as path_resolution(7) describes Linux's.
//!
//! A [`Walker`] turns a byte path into a [`Location`], starting at the process root for
//! absolute paths and at a given directory (cwd or dirfd) for relative ones:
//!
//! - repeated slashes count as one; `.` stays; `..` goes up, stays put at the process root,
//!   and climbs out of a mounted file system to the directory it covers;
//! - stepping onto a directory something is mounted on enters that mount's root;
//! - every component but the last must be a directory (`ENOTDIR`); a missing one is `ENOENT`;
//!   a component longer than `NAME_MAX` (255) bytes is `ENAMETOOLONG` (paths of `PATH_MAX` bytes
//!   or more never get here: copying them in already fails);
//! - symlinks are followed in the middle of a path always, and in the last component unless
//!   the caller says not to (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, lstat(2)); a trailing slash
//!   forces following and requires a directory (`ENOTDIR`). At most [`MAX_SYMLINKS`] (40) links
//!   are followed per resolution, counting across the calls made with one `Walker`; more is
//!   `ELOOP`. An empty link target is `ENOENT`;
//! - an empty path is `ENOENT`; callers that accept `AT_EMPTY_PATH` handle it before;
//! - openat2(2)'s `RESOLVE_*` flags ([`Resolve`], [`Walker::restrict`]) restrict a walk as
//!   Linux's `LOOKUP_NO_XDEV`, `LOOKUP_NO_MAGICLINKS`, `LOOKUP_NO_SYMLINKS`, `LOOKUP_BENEATH`
//!   and `LOOKUP_IN_ROOT` do.
//!
//! Calls that create or remove a name use [`Walker::resolve_parent`], which stops before the
//! last component and reports it (with `.`, `..` and `/` told apart, since each call refuses
//! them with its own errno). Permission checks are absent: oxv runs one root user, who may
//! search any directory.

use crate::inotify::Entry;
use crate::mount::{Location, Vfs};
use crate::node::FileKind;
use alloc::borrow::Cow;
use alloc::vec::Vec;
use oxv_abi::Errno;
use oxv_abi::linux::fs::NAME_MAX;

/// Most symlinks one resolution follows (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;

/// The last component of a path resolved with [`Walker::resolve_parent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastComponent {
    /// An ordinary name (valid for [`Inode`](crate::Inode) methods).
    Name(Vec<u8>),
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path was only slashes (`/`).
    Root,
}

/// A path resolved up to its last component.
#[derive(Clone, Debug)]
pub struct ParentAndName {
    /// The directory that holds (or would hold) the last component.
    pub dir: Location,
    /// The last component.
    pub last: LastComponent,
    /// Whether the path ended in one or more slashes after it.
    pub trailing_slash: bool,
}

enum Mode {
    Follow,
    NoFollow,
    Parent,
}

enum Walked {
    Node(Location),
    Parent(ParentAndName),
}

bitflags::bitflags! {
    /// openat2(2)'s `RESOLVE_*` restrictions on a walk (see [`Walker::restrict`]).
    #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
    pub struct Resolve: u64 {
        /// No mount crossing anywhere in the walk, symlinks included: `EXDEV`.
        const NO_XDEV = linux_raw_sys::general::RESOLVE_NO_XDEV as u64;
        /// No magic links (`/proc/<pid>/{exe,cwd,fd/N}`): `ELOOP`.
        const NO_MAGICLINKS = linux_raw_sys::general::RESOLVE_NO_MAGICLINKS as u64;
        /// No symlinks at all: `ELOOP`.
        const NO_SYMLINKS = linux_raw_sys::general::RESOLVE_NO_SYMLINKS as u64;
        /// Stay beneath the starting directory: an absolute path or symlink, `..` above the
        /// start, or a magic link is `EXDEV`.
        const BENEATH = linux_raw_sys::general::RESOLVE_BENEATH as u64;
        /// Treat the starting directory as the root (`/`, `..` and absolute symlinks stay
        /// in it); magic links are `EXDEV`.
        const IN_ROOT = linux_raw_sys::general::RESOLVE_IN_ROOT as u64;
        /// Only what needs no I/O: openat2 refuses creating and truncating opens with
        /// `EAGAIN`; every walk of these in-memory trees counts as cached.
        const CACHED = linux_raw_sys::general::RESOLVE_CACHED as u64;
    }
}

/// Resolves paths within one process's view: its root, the mount tree of a [`Vfs`], and a
/// symlink budget shared by every call made through this walker.
pub struct Walker<'v> {
    vfs: &'v Vfs,
    root: Location,
    links_left: u32,
    resolve: Resolve,
    entry: Option<Entry>,
}

impl<'v> Walker<'v> {
    /// A walker for a process whose root directory is `root`.
    pub fn new(vfs: &'v Vfs, root: Location) -> Self {
        Walker {
            vfs,
            root,
            links_left: MAX_SYMLINKS,
            resolve: Resolve::empty(),
            entry: None,
        }
    }

    /// The directory and name of the last component the last walk ended on, kept only while
    /// some inotify watch exists (for the events the directory hears, see
    /// [`crate::inotify`]); `None` for `.`, `..` and `/`.
    pub fn take_entry(&mut self) -> Option<Entry> {
        self.entry.take()
    }

    /// Applies openat2(2)'s restrictions to every later walk; with `BENEATH` or `IN_ROOT`,
    /// `start` (the dirfd) becomes the walk's root. The caller refuses unknown bits and
    /// `BENEATH | IN_ROOT`.
    pub fn restrict(&mut self, resolve: Resolve, start: &Location) {
        self.resolve = resolve;
        if resolve.intersects(Resolve::BENEATH | Resolve::IN_ROOT) {
            self.root = start.clone();
        }
    }

    /// The checks before following the symlink `link` (already counted) whose target is
    /// `target`, found in directory `from` (Linux's `pick_link` and `nd_jump_link`):
    /// `ELOOP` for any symlink under `NO_SYMLINKS` and a magic link under `NO_MAGICLINKS`,
    /// `EXDEV` for a magic link under a scope, and for an absolute target that jumps out of
    /// the scope (`BENEATH`) or to another mount (`NO_XDEV`).
    pub fn check_link(&self, from: &Location, link: &Location, target: &[u8]) -> Result<(), Errno> {
        let r = self.resolve;
        if r.is_empty() {
            return Ok(());
        }
        if r.contains(Resolve::NO_SYMLINKS) {
            return Err(Errno::ELOOP);
        }
        let scoped = r.intersects(Resolve::BENEATH | Resolve::IN_ROOT);
        if link.inode().is_magic_link() {
            if r.contains(Resolve::NO_MAGICLINKS) {
                return Err(Errno::ELOOP);
            }
            if scoped {
                return Err(Errno::EXDEV);
            }
        }
        if target.first() == Some(&b'/') {
            if r.contains(Resolve::BENEATH) {
                return Err(Errno::EXDEV);
            }
            if r.contains(Resolve::NO_XDEV) && from.mount().id() != self.root.mount().id() {
                return Err(Errno::EXDEV);
            }
        }
        Ok(())
    }

    /// `EXDEV` for a step from `from` to `to` onto another mount under `NO_XDEV`.
    fn check_step(&self, from: &Location, to: &Location) -> Result<(), Errno> {
        if self.resolve.contains(Resolve::NO_XDEV) && from.mount().id() != to.mount().id() {
            Err(Errno::EXDEV)
        } else {
            Ok(())
        }
    }

    /// The location `path` names, starting at `start` if it is relative. With `follow_last`
    /// false, a symlink in the last component is returned itself (unless a trailing slash
    /// follows it).
    pub fn resolve(
        &mut self,
        start: &Location,
        path: &[u8],
        follow_last: bool,
    ) -> Result<Location, Errno> {
        let mode = if follow_last {
            Mode::Follow
        } else {
            Mode::NoFollow
        };
        match self.walk(start, path, mode)? {
            Walked::Node(loc) => Ok(loc),
            Walked::Parent(_) => unreachable!("only Mode::Parent yields a parent"),
        }
    }

    /// The directory that holds the last component of `path`, and that component. The last
    /// component is neither looked up nor followed.
    pub fn resolve_parent(
        &mut self,
        start: &Location,
        path: &[u8],
    ) -> Result<ParentAndName, Errno> {
        match self.walk(start, path, Mode::Parent)? {
            Walked::Parent(p) => Ok(p),
            Walked::Node(_) => unreachable!("Mode::Parent always yields a parent"),
        }
    }

    /// Counts one followed symlink against the budget: `ELOOP` when it is spent.
    pub fn count_link(&mut self) -> Result<(), Errno> {
        if self.links_left == 0 {
            return Err(Errno::ELOOP);
        }
        self.links_left -= 1;
        Ok(())
    }

    /// The entry `name` of directory `dir`, entering whatever is mounted on it (`EXDEV` under
    /// `NO_XDEV` if something is).
    pub fn child(&self, dir: &Location, name: &[u8]) -> Result<Location, Errno> {
        let inode = dir.inode().lookup(name)?;
        let next = self.vfs.cross_mounts(dir.with_inode(inode));
        self.check_step(dir, &next)?;
        Ok(next)
    }

    /// `..` of directory `cur`: itself at the process root, the parent of the covered
    /// directory at the root of a mount.
    pub fn dotdot(&self, cur: &Location) -> Result<Location, Errno> {
        let mut cur = cur.clone();
        loop {
            if cur.same(&self.root) {
                return Ok(cur);
            }
            if cur.is_mount_root() {
                // A mount taken out of the tree (umount2's MNT_DETACH) has no mountpoint:
                // `..` at its root stays there, as on Linux.
                match cur.mount().mountpoint() {
                    Some(mp) => {
                        cur = mp;
                        continue;
                    }
                    None => return Ok(cur),
                }
            }
            let parent = cur.inode().parent()?;
            return Ok(self.vfs.cross_mounts(cur.with_inode(parent)));
        }
    }

    fn walk(&mut self, start: &Location, path: &[u8], mode: Mode) -> Result<Walked, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut buf: Cow<'_, [u8]> = Cow::Borrowed(path);
        let mut i = 0usize;
        let mut cur = if path[0] == b'/' {
            if self.resolve.contains(Resolve::BENEATH) {
                return Err(Errno::EXDEV);
            }
            self.root.clone()
        } else {
            start.clone()
        };
        loop {
            let p: &[u8] = &buf;
            while i < p.len() && p[i] == b'/' {
                i += 1;
            }
            if i == p.len() {
                // Nothing but slashes left: the walk ends on the directory it is at.
                return Ok(match mode {
                    Mode::Parent => Walked::Parent(ParentAndName {
                        dir: cur,
                        last: LastComponent::Root,
                        trailing_slash: false,
                    }),
                    _ => Walked::Node(cur),
                });
            }
            let comp_start = i;
            while i < p.len() && p[i] != b'/' {
                i += 1;
            }
            let comp = &p[comp_start..i];
            let mut after = i;
            while after < p.len() && p[after] == b'/' {
                after += 1;
            }
            let is_last = after == p.len();
            let trailing_slash = is_last && i < p.len();

            if !cur.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if comp.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            if is_last && matches!(mode, Mode::Parent) {
                let last = match comp {
                    b"." => LastComponent::Dot,
                    b".." => LastComponent::DotDot,
                    name => LastComponent::Name(name.to_vec()),
                };
                return Ok(Walked::Parent(ParentAndName {
                    dir: cur,
                    last,
                    trailing_slash,
                }));
            }
            let next = match comp {
                b"." => cur.clone(),
                b".." => {
                    if self.resolve.contains(Resolve::BENEATH) && cur.same(&self.root) {
                        return Err(Errno::EXDEV);
                    }
                    let up = self.dotdot(&cur)?;
                    self.check_step(&cur, &up)?;
                    up
                }
                name => self.child(&cur, name)?,
            };
            let follow = !is_last || trailing_slash || matches!(mode, Mode::Follow);
            if follow && next.inode().kind() == FileKind::Symlink {
                self.count_link()?;
                let target = next.inode().read_link()?;
                self.check_link(&cur, &next, &target)?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                let mut expanded = Vec::with_capacity(target.len() + 1 + (p.len() - after));
                expanded.extend_from_slice(&target);
                if !is_last {
                    expanded.push(b'/');
                    expanded.extend_from_slice(&p[after..]);
                } else if trailing_slash {
                    expanded.push(b'/');
                }
                if target[0] == b'/' {
                    cur = self.root.clone();
                }
                buf = Cow::Owned(expanded);
                i = 0;
                continue;
            }
            if is_last {
                if trailing_slash && !next.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                self.entry = (comp != b"." && comp != b".." && self.vfs.watches().is_active())
                    .then(|| Entry {
                        dir: cur.clone(),
                        name: comp.to_vec(),
                    });
                return Ok(Walked::Node(next));
            }
            cur = next;
            i = after;
        }
    }
}

#[cfg(test)]
mod tests;
