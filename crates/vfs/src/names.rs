//! Finding a name for an open file: the path `/proc/<pid>/maps` shows for a mapped file.
//!
//! Linux keeps the name a file was opened by (its dentry) and prints it with `d_path`. oxv's
//! files do not know their names: directories know their parents (so [`path_of`] climbs from
//! a directory), but a regular file may have several links and none. [`path_of_file`] looks
//! for one: it searches the file system the file lives on, from the root of its mount, for a
//! directory entry with the file's inode number, and returns the first path found (in
//! directory order, depth first). An unlinked file has no path (`None`); Linux would show its
//! last name with ` (deleted)`.
//!
//! The search reads directories only (their locks, never a regular file's), and it costs a
//! walk of the mount's tree, so callers cache the answer.

use crate::context::FsContext;
use crate::mount::Location;
use crate::node::FileKind;
use crate::syscalls::cwd::path_of;
use alloc::vec::Vec;

/// A path naming `file` as seen from the process root of `cx`; see the [module docs](self).
/// For a directory this is [`path_of`].
pub fn path_of_file(cx: &FsContext, file: &Location) -> Option<Vec<u8>> {
    if file.is_dir() {
        return path_of(cx, file).ok();
    }
    let ino = file.inode().ino();
    let top = file.with_inode(file.mount().fs().root());
    // Depth-first over (directory, its path below the mount root).
    let mut stack: Vec<(Location, Vec<u8>)> = alloc::vec![(top.clone(), Vec::new())];
    let mut found = None;
    while let Some((dir, rel)) = stack.pop() {
        let mut subdirs = Vec::new();
        let listed = dir.inode().read_dir(0, &mut |e| {
            if e.name == b"." || e.name == b".." {
                return true;
            }
            if e.ino == ino && e.kind != FileKind::Directory {
                found = Some(join(&rel, e.name));
                return false;
            }
            if e.kind == FileKind::Directory {
                subdirs.push(e.name.to_vec());
            }
            true
        });
        if let Some(rel) = found.take() {
            let mut path = path_of(cx, &top).ok()?;
            if !path.ends_with(b"/") {
                path.push(b'/');
            }
            path.extend_from_slice(&rel);
            return Some(path);
        }
        if listed.is_err() {
            continue;
        }
        // Reversed, so that the first subdirectory is searched first.
        for name in subdirs.into_iter().rev() {
            if let Ok(child) = dir.inode().lookup(&name) {
                let child_rel = join(&rel, &name);
                stack.push((dir.with_inode(child), child_rel));
            }
        }
    }
    None
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    if !dir.is_empty() {
        p.extend_from_slice(dir);
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeClock;
    use crate::mount::{FileSystem, MountFlags, Vfs};
    use crate::node::{DeviceId, NewAttrs, NewNode};
    use crate::time::{RealtimeClock, Timestamp};
    use crate::tmpfs::Tmpfs;

    fn attrs() -> NewAttrs {
        NewAttrs {
            perm: 0o755,
            uid: 0,
            gid: 0,
            now: Timestamp::EPOCH,
        }
    }

    #[test]
    fn finds_files_in_subdirectories_and_across_mounts() {
        let clock = FakeClock::at(0);
        let root = Tmpfs::new(DeviceId::new(0, 1), clock.now());
        let vfs = Vfs::new(root, clock);
        let cx = FsContext::new(vfs.clone());
        let usr = cx.mkdir_all(b"/usr/lib", 0o755).unwrap();
        usr.inode()
            .create(b"libz.so", NewNode::Regular, &attrs())
            .unwrap();
        cx.mkdir_all(b"/a/b", 0o755).unwrap();
        let top = cx.lookup(b"/", true).unwrap();
        top.inode()
            .create(b"top", NewNode::Regular, &attrs())
            .unwrap();

        let lib = cx.lookup(b"/usr/lib/libz.so", true).unwrap();
        assert_eq!(path_of_file(&cx, &lib).unwrap(), b"/usr/lib/libz.so");
        let t = cx.lookup(b"/top", true).unwrap();
        assert_eq!(path_of_file(&cx, &t).unwrap(), b"/top");
        let dir = cx.lookup(b"/a/b", true).unwrap();
        assert_eq!(path_of_file(&cx, &dir).unwrap(), b"/a/b");

        // A file on a file system mounted at /mnt is named through the mount point.
        let mnt = cx.mkdir_all(b"/mnt", 0o755).unwrap();
        let other = Tmpfs::new(vfs.anon_device(), vfs.now());
        other
            .root()
            .create(b"data", NewNode::Regular, &attrs())
            .unwrap();
        vfs.mount(other, &mnt, MountFlags::empty()).unwrap();
        let data = cx.lookup(b"/mnt/data", true).unwrap();
        assert_eq!(path_of_file(&cx, &data).unwrap(), b"/mnt/data");

        // Unlinked: no name left.
        usr.inode().unlink(b"libz.so", Timestamp::EPOCH).unwrap();
        assert_eq!(path_of_file(&cx, &lib), None);
    }
}
