//! Path resolution, rule by rule (path_resolution(7)).

use super::*;
use crate::fake::FakeClock;
use crate::io::{WriteBuf, WritePos};
use crate::mount::{FileSystem, MountFlags};
use crate::node::{DeviceId, Inode, NewAttrs, NewNode};
use crate::time::Timestamp;
use crate::tmpfs::Tmpfs;
use alloc::format;
use alloc::sync::Arc;

const ATTRS: NewAttrs = NewAttrs {
    perm: 0o755,
    uid: 0,
    gid: 0,
    now: Timestamp::EPOCH,
};

fn mkdir(dir: &Arc<dyn Inode>, name: &str) -> Arc<dyn Inode> {
    dir.create(name.as_bytes(), NewNode::Directory, &ATTRS)
        .unwrap()
}

fn file(dir: &Arc<dyn Inode>, name: &str) -> Arc<dyn Inode> {
    let f = dir
        .create(name.as_bytes(), NewNode::Regular, &ATTRS)
        .unwrap();
    f.write_at(
        WritePos::At(0),
        &WriteBuf::kernel(name.as_bytes()),
        Timestamp::EPOCH,
    )
    .unwrap();
    f
}

fn symlink(dir: &Arc<dyn Inode>, name: &str, target: &str) {
    dir.create(name.as_bytes(), NewNode::Symlink(target.as_bytes()), &ATTRS)
        .unwrap();
}

/// / { a/ { b/ { f }, lf -> b/f, up -> .., abs -> /a/b }, file, loop1 -> loop2, loop2 -> loop1,
///     dangling -> nowhere, mnt/ }
fn tree() -> (Arc<Vfs>, Arc<dyn Inode>) {
    let fs = Tmpfs::new(DeviceId::new(0, 1), Timestamp::EPOCH);
    let root = fs.root();
    let a = mkdir(&root, "a");
    let b = mkdir(&a, "b");
    file(&b, "f");
    symlink(&a, "lf", "b/f");
    symlink(&a, "up", "..");
    symlink(&a, "abs", "/a/b");
    file(&root, "file");
    symlink(&root, "loop1", "loop2");
    symlink(&root, "loop2", "loop1");
    symlink(&root, "dangling", "nowhere");
    mkdir(&root, "mnt");
    (Vfs::new(fs, FakeClock::at(0)), root)
}

fn walker(vfs: &Vfs) -> Walker<'_> {
    Walker::new(vfs, vfs.root())
}

fn ino_of(vfs: &Vfs, path: &str) -> Result<u64, Errno> {
    walker(vfs)
        .resolve(&vfs.root(), path.as_bytes(), true)
        .map(|l| l.inode().ino())
}

fn kind_of(vfs: &Vfs, path: &str, follow: bool) -> Result<FileKind, Errno> {
    walker(vfs)
        .resolve(&vfs.root(), path.as_bytes(), follow)
        .map(|l| l.inode().kind())
}

#[test]
fn dots_and_slashes() {
    let (vfs, root) = tree();
    let root_ino = root.ino();
    let b = ino_of(&vfs, "/a/b").unwrap();
    assert_eq!(ino_of(&vfs, "/"), Ok(root_ino));
    assert_eq!(ino_of(&vfs, "///"), Ok(root_ino));
    assert_eq!(ino_of(&vfs, "//a///b//"), Ok(b));
    assert_eq!(ino_of(&vfs, "/a/./b/."), Ok(b));
    assert_eq!(ino_of(&vfs, "/a/b/../b"), Ok(b));
    assert_eq!(
        ino_of(&vfs, "/.."),
        Ok(root_ino),
        "`..` at the root stays there"
    );
    assert_eq!(ino_of(&vfs, "/../../a/.."), Ok(root_ino));
    assert_eq!(ino_of(&vfs, "."), Ok(root_ino));
    assert_eq!(ino_of(&vfs, "a/b"), Ok(b), "relative to the start");
}

#[test]
fn missing_and_non_directories() {
    let (vfs, _) = tree();
    assert_eq!(ino_of(&vfs, ""), Err(Errno::ENOENT));
    assert_eq!(ino_of(&vfs, "/nope"), Err(Errno::ENOENT));
    assert_eq!(ino_of(&vfs, "/nope/x"), Err(Errno::ENOENT));
    assert_eq!(ino_of(&vfs, "/file/x"), Err(Errno::ENOTDIR));
    assert_eq!(ino_of(&vfs, "/file/"), Err(Errno::ENOTDIR));
    assert_eq!(ino_of(&vfs, "/file/."), Err(Errno::ENOTDIR));
    assert_eq!(ino_of(&vfs, "/file/.."), Err(Errno::ENOTDIR));
    assert!(ino_of(&vfs, "/file").is_ok());
}

#[test]
fn component_length_limit() {
    let (vfs, _) = tree();
    let long = "x".repeat(256);
    assert_eq!(ino_of(&vfs, &format!("/{long}")), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        ino_of(&vfs, &format!("/{long}/a")),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        ino_of(&vfs, &format!("/{}", "x".repeat(255))),
        Err(Errno::ENOENT)
    );
    // A missing directory earlier in the path is reported first, as on Linux.
    assert_eq!(ino_of(&vfs, &format!("/nope/{long}")), Err(Errno::ENOENT));
}

#[test]
fn symlinks_in_the_middle_and_at_the_end() {
    let (vfs, _) = tree();
    let f = ino_of(&vfs, "/a/b/f").unwrap();
    assert_eq!(ino_of(&vfs, "/a/lf"), Ok(f));
    assert_eq!(
        ino_of(&vfs, "/a/abs/f"),
        Ok(f),
        "absolute target restarts at the root"
    );
    assert_eq!(
        ino_of(&vfs, "/a/up/a/b/f"),
        Ok(f),
        "relative target resolves from the link's dir"
    );
    assert_eq!(kind_of(&vfs, "/a/lf", false), Ok(FileKind::Symlink));
    assert_eq!(kind_of(&vfs, "/a/abs", false), Ok(FileKind::Symlink));
    assert_eq!(
        kind_of(&vfs, "/a/abs/", false),
        Ok(FileKind::Directory),
        "a trailing slash follows"
    );
    assert_eq!(kind_of(&vfs, "/a/lf/", true), Err(Errno::ENOTDIR));
    assert_eq!(kind_of(&vfs, "/dangling", true), Err(Errno::ENOENT));
    assert_eq!(kind_of(&vfs, "/dangling", false), Ok(FileKind::Symlink));
}

#[test]
fn symlink_loops_and_the_forty_link_limit() {
    let (vfs, root) = tree();
    assert_eq!(ino_of(&vfs, "/loop1"), Err(Errno::ELOOP));
    assert_eq!(ino_of(&vfs, "/loop1/x"), Err(Errno::ELOOP));
    assert_eq!(kind_of(&vfs, "/loop1", false), Ok(FileKind::Symlink));
    // A chain of n links: c0 -> c1 -> ... -> c(n-1) -> file.
    let chain = |prefix: &str, n: usize| {
        for i in 0..n {
            let target = if i + 1 == n {
                "file".into()
            } else {
                format!("{prefix}{}", i + 1)
            };
            symlink(&root, &format!("{prefix}{i}"), &target);
        }
    };
    chain("ok", MAX_SYMLINKS as usize);
    chain("long", MAX_SYMLINKS as usize + 1);
    assert_eq!(kind_of(&vfs, "/ok0", true), Ok(FileKind::Regular));
    assert_eq!(kind_of(&vfs, "/long0", true), Err(Errno::ELOOP));
    assert_eq!(kind_of(&vfs, "/long1", true), Ok(FileKind::Regular));
}

#[test]
fn parent_resolution_reports_the_last_component() {
    let (vfs, _) = tree();
    let mut w = walker(&vfs);
    let root = vfs.root();
    let p = w.resolve_parent(&root, b"/a/b/new").unwrap();
    assert_eq!(p.last, LastComponent::Name(b"new".to_vec()));
    assert_eq!(p.dir.inode().ino(), ino_of(&vfs, "/a/b").unwrap());
    assert!(!p.trailing_slash);
    let p = w.resolve_parent(&root, b"/a/new//").unwrap();
    assert!(p.trailing_slash);
    assert_eq!(
        w.resolve_parent(&root, b"/a/.").unwrap().last,
        LastComponent::Dot
    );
    assert_eq!(
        w.resolve_parent(&root, b"/a/..").unwrap().last,
        LastComponent::DotDot
    );
    assert_eq!(
        w.resolve_parent(&root, b"//").unwrap().last,
        LastComponent::Root
    );
    // The last component is not followed, the others are.
    let p = w.resolve_parent(&root, b"/a/abs/lf").unwrap();
    assert_eq!(p.dir.inode().ino(), ino_of(&vfs, "/a/b").unwrap());
    assert_eq!(
        w.resolve_parent(&root, b"/file/x").err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        w.resolve_parent(&root, b"/nope/x").err(),
        Some(Errno::ENOENT)
    );
}

#[test]
fn mounts_are_entered_and_left() {
    let (vfs, root) = tree();
    let other = Tmpfs::new(DeviceId::new(0, 2), Timestamp::EPOCH);
    file(&other.root(), "inside");
    let mnt = walker(&vfs).resolve(&vfs.root(), b"/mnt", true).unwrap();
    let m = vfs.mount(other.clone(), &mnt, MountFlags::empty()).unwrap();
    let inside = walker(&vfs)
        .resolve(&vfs.root(), b"/mnt/inside", true)
        .unwrap();
    assert_eq!(inside.mount().id(), m.id());
    assert_eq!(inside.inode().metadata().dev, DeviceId::new(0, 2));
    let mnt_root = walker(&vfs).resolve(&vfs.root(), b"/mnt", true).unwrap();
    assert!(mnt_root.is_mount_root());
    assert_eq!(mnt_root.inode().ino(), other.root().ino());
    // `..` from the mounted root climbs out to the covered directory's parent.
    let up = walker(&vfs).resolve(&vfs.root(), b"/mnt/..", true).unwrap();
    assert!(up.same(&vfs.root()));
    assert_eq!(up.inode().ino(), root.ino());
    assert_eq!(ino_of(&vfs, "/mnt/../a/b"), ino_of(&vfs, "/a/b"));
    // A later mount on the same place covers the earlier one.
    let third = Tmpfs::new(DeviceId::new(0, 3), Timestamp::EPOCH);
    vfs.mount(third, &mnt, MountFlags::empty()).unwrap();
    assert_eq!(ino_of(&vfs, "/mnt/inside"), Err(Errno::ENOENT));
    assert!(
        vfs.mount(other, &inside, MountFlags::empty()).is_err(),
        "mountpoints are directories"
    );
}

#[test]
fn dotdot_stops_at_a_chroot() {
    let (vfs, _) = tree();
    let a = walker(&vfs).resolve(&vfs.root(), b"/a", true).unwrap();
    let mut w = Walker::new(&vfs, a.clone());
    let up = w.resolve(&a, b"../..", true).unwrap();
    assert!(up.same(&a));
    // Absolute paths and absolute symlinks start at the chroot.
    assert_eq!(
        w.resolve(&a, b"/b/f", true).unwrap().inode().kind(),
        FileKind::Regular
    );
    assert_eq!(
        w.resolve(&a, b"/abs", true).err(),
        Some(Errno::ENOENT),
        "/a/b is not under /a"
    );
}
