//! tmpfs, operation by operation, through the [`Inode`] interface only.

use super::*;
use crate::io::WriteBuf;
use alloc::vec;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

fn attrs(perm: u32, now: i64) -> NewAttrs {
    NewAttrs {
        perm,
        uid: 0,
        gid: 0,
        now: t(now),
    }
}

fn fresh() -> (Arc<Tmpfs>, Arc<dyn Inode>) {
    let fs = Tmpfs::new(DeviceId::new(0, 7), t(1));
    let root = fs.root();
    (fs, root)
}

fn write(n: &Arc<dyn Inode>, at: u64, data: &[u8]) -> Written {
    n.write_at(WritePos::At(at), &WriteBuf::kernel(data), t(5))
        .unwrap()
}

fn read_all(n: &Arc<dyn Inode>) -> Vec<u8> {
    let mut buf = vec![0u8; n.metadata().size as usize];
    let got = n.read_at(0, &mut ReadBuf::kernel(&mut buf)).unwrap();
    buf.truncate(got);
    buf
}

fn names(dir: &Arc<dyn Inode>, from: u64) -> Vec<(Vec<u8>, u64)> {
    let mut out = Vec::new();
    dir.read_dir(from, &mut |e| {
        out.push((e.name.to_vec(), e.next));
        true
    })
    .unwrap();
    out
}

mod files {
    use super::*;

    #[test]
    fn write_read_and_grow() {
        let (_, root) = fresh();
        let f = root
            .create(b"f", NewNode::Regular, &attrs(0o644, 2))
            .unwrap();
        assert_eq!(write(&f, 0, b"hello"), Written { count: 5, end: 5 });
        assert_eq!(write(&f, 3, b"p me"), Written { count: 4, end: 7 });
        assert_eq!(read_all(&f), b"help me");
        let m = f.metadata();
        assert_eq!(
            (m.size, m.blocks, m.mtime, m.ctime, m.atime),
            (7, 8, t(5), t(5), t(2))
        );
        let mut small = [0u8; 3];
        assert_eq!(f.read_at(5, &mut ReadBuf::kernel(&mut small)), Ok(2));
        assert_eq!(&small[..2], b"me");
        assert_eq!(f.read_at(7, &mut ReadBuf::kernel(&mut small)), Ok(0));
        assert_eq!(f.read_at(u64::MAX, &mut ReadBuf::kernel(&mut small)), Ok(0));
    }

    #[test]
    fn holes_read_as_zeros_and_cost_nothing() {
        let (_, root) = fresh();
        let f = root
            .create(b"sparse", NewNode::Regular, &attrs(0o644, 2))
            .unwrap();
        write(&f, 3 * PAGE + 10, b"tail");
        let m = f.metadata();
        assert_eq!(m.size, 3 * PAGE + 14);
        assert_eq!(m.blocks, PAGE / 512, "one page allocated");
        let data = read_all(&f);
        assert!(data[..(3 * PAGE + 10) as usize].iter().all(|&b| b == 0));
        assert_eq!(&data[(3 * PAGE + 10) as usize..], b"tail");
        // A write straddling pages.
        write(&f, PAGE - 2, b"abcd");
        assert_eq!(
            &read_all(&f)[(PAGE - 2) as usize..(PAGE + 2) as usize],
            b"abcd"
        );
    }

    #[test]
    fn append_and_limits() {
        let (_, root) = fresh();
        let f = root
            .create(b"log", NewNode::Regular, &attrs(0o644, 2))
            .unwrap();
        write(&f, 0, b"one");
        let w = f
            .write_at(WritePos::Append, &WriteBuf::kernel(b"two"), t(6))
            .unwrap();
        assert_eq!(w, Written { count: 3, end: 6 });
        assert_eq!(read_all(&f), b"onetwo");
        let empty = f
            .write_at(WritePos::At(100), &WriteBuf::kernel(b""), t(9))
            .unwrap();
        assert_eq!(empty, Written { count: 0, end: 100 });
        assert_eq!(f.metadata().mtime, t(6), "an empty write changes nothing");
        assert_eq!(
            f.write_at(WritePos::At(i64::MAX as u64), &WriteBuf::kernel(b"x"), t(9)),
            Err(Errno::EFBIG)
        );
        let w = f
            .write_at(
                WritePos::At(i64::MAX as u64 - 1),
                &WriteBuf::kernel(b"xy"),
                t(9),
            )
            .unwrap();
        assert_eq!(w.count, 1, "cut at the maximum size");
    }

    #[test]
    fn truncate_discards_and_zero_fills() {
        let (_, root) = fresh();
        let f = root
            .create(b"f", NewNode::Regular, &attrs(0o644, 2))
            .unwrap();
        write(&f, 0, &[0xaa; 5000]);
        f.set_attr(&SetAttr {
            size: Some(10),
            ctime: t(7),
            ..SetAttr::default()
        })
        .unwrap();
        assert_eq!(f.metadata().blocks, 8);
        f.set_attr(&SetAttr {
            size: Some(6000),
            ctime: t(7),
            ..SetAttr::default()
        })
        .unwrap();
        let data = read_all(&f);
        assert_eq!(data.len(), 6000);
        assert!(data[..10].iter().all(|&b| b == 0xaa));
        assert!(
            data[10..].iter().all(|&b| b == 0),
            "old bytes must not come back"
        );
        assert_eq!(f.metadata().ctime, t(7));
        assert_eq!(
            root.set_attr(&SetAttr {
                size: Some(0),
                ..SetAttr::default()
            }),
            Err(Errno::EISDIR)
        );
    }

    #[test]
    fn data_ops_on_other_kinds() {
        let (_, root) = fresh();
        let mut b = [0u8; 4];
        assert_eq!(
            root.read_at(0, &mut ReadBuf::kernel(&mut b)),
            Err(Errno::EISDIR)
        );
        let l = root
            .create(b"l", NewNode::Symlink(b"x"), &attrs(0o777, 2))
            .unwrap();
        assert_eq!(
            l.read_at(0, &mut ReadBuf::kernel(&mut b)),
            Err(Errno::EINVAL)
        );
        assert_eq!(l.read_link().unwrap(), b"x");
        assert_eq!(l.metadata().size, 1);
        assert_eq!(root.read_link(), Err(Errno::EINVAL));
        assert_eq!(
            root.create(b"e", NewNode::Symlink(b""), &attrs(0o777, 2))
                .err(),
            Some(Errno::ENOENT)
        );
        let d = root
            .create(
                b"null",
                NewNode::CharDevice(DeviceId::new(1, 3)),
                &attrs(0o666, 2),
            )
            .unwrap();
        assert_eq!(d.metadata().rdev, DeviceId::new(1, 3));
        assert_eq!(d.metadata().mode(), 0o20666);
    }
}

mod directories {
    use super::*;

    #[test]
    fn create_lookup_and_link_counts() {
        let (fs, root) = fresh();
        assert_eq!(root.metadata().nlink, 2);
        let d = root
            .create(b"d", NewNode::Directory, &attrs(0o755, 3))
            .unwrap();
        root.create(b"f", NewNode::Regular, &attrs(0o644, 3))
            .unwrap();
        assert_eq!(
            root.metadata().nlink,
            3,
            "a subdirectory's `..` links the parent"
        );
        assert_eq!(root.metadata().mtime, t(3));
        assert_eq!(root.metadata().size, 4 * DIRENT_SIZE);
        assert_eq!(root.lookup(b"d").unwrap().ino(), d.ino());
        assert_eq!(root.lookup(b"x").err(), Some(Errno::ENOENT));
        assert_eq!(
            root.create(b"d", NewNode::Regular, &attrs(0o644, 3)).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(d.parent().unwrap().ino(), root.ino());
        assert_eq!(
            root.parent().unwrap().ino(),
            root.ino(),
            "the root is its own parent"
        );
        let f = root.lookup(b"f").unwrap();
        assert_eq!(f.lookup(b"x").err(), Some(Errno::ENOTDIR));
        assert_eq!(
            f.create(b"x", NewNode::Regular, &attrs(0o644, 3)).err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(fs.inodes_created(), 3);
        assert_eq!(d.metadata().dev, DeviceId::new(0, 7));
    }

    #[test]
    fn unlink_and_rmdir() {
        let (_, root) = fresh();
        let d = root
            .create(b"d", NewNode::Directory, &attrs(0o755, 3))
            .unwrap();
        let f = root
            .create(b"f", NewNode::Regular, &attrs(0o644, 3))
            .unwrap();
        d.create(b"inner", NewNode::Regular, &attrs(0o644, 3))
            .unwrap();
        assert_eq!(root.unlink(b"d", t(4)), Err(Errno::EISDIR));
        assert_eq!(root.rmdir(b"f", t(4)), Err(Errno::ENOTDIR));
        assert_eq!(root.rmdir(b"d", t(4)), Err(Errno::ENOTEMPTY));
        assert_eq!(root.unlink(b"nope", t(4)), Err(Errno::ENOENT));
        root.unlink(b"f", t(4)).unwrap();
        assert_eq!(f.metadata().nlink, 0, "the open inode lives on, unlinked");
        write(&f, 0, b"still writable");
        d.unlink(b"inner", t(4)).unwrap();
        root.rmdir(b"d", t(4)).unwrap();
        assert_eq!(root.metadata().nlink, 2);
        assert_eq!(d.metadata().nlink, 0);
        // A removed directory can be neither listed nor extended, and has no `..`.
        assert_eq!(
            d.create(b"x", NewNode::Regular, &attrs(0o644, 3)).err(),
            Some(Errno::ENOENT)
        );
        assert_eq!(d.parent().err(), Some(Errno::ENOENT));
        assert_eq!(d.read_dir(0, &mut |_| true), Err(Errno::ENOENT));
    }

    #[test]
    fn hard_links() {
        let (_, root) = fresh();
        let f = root
            .create(b"f", NewNode::Regular, &attrs(0o644, 3))
            .unwrap();
        root.link(b"g", &*f, t(4)).unwrap();
        assert_eq!(f.metadata().nlink, 2);
        assert_eq!(root.lookup(b"g").unwrap().ino(), f.ino());
        assert_eq!(root.link(b"g", &*f, t(4)), Err(Errno::EEXIST));
        assert_eq!(root.link(b"r", &*root, t(4)), Err(Errno::EPERM));
        let other = Tmpfs::new(DeviceId::new(0, 8), t(1));
        assert_eq!(other.root().link(b"x", &*f, t(4)), Err(Errno::EXDEV));
        root.unlink(b"f", t(5)).unwrap();
        root.unlink(b"g", t(5)).unwrap();
        assert_eq!(
            root.link(b"h", &*f, t(6)),
            Err(Errno::ENOENT),
            "no links to a dead inode"
        );
    }

    #[test]
    fn listing_is_stable_under_changes() {
        let (_, root) = fresh();
        for n in [&b"a"[..], b"b", b"c"] {
            root.create(n, NewNode::Regular, &attrs(0o644, 3)).unwrap();
        }
        let all = names(&root, 0);
        let listed: Vec<_> = all.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(listed, [&b"."[..], b"..", b"a", b"b", b"c"]);
        // Resume after "a", having removed "b" and added "d": "c" and "d" follow, once each.
        let after_a = all[2].1;
        root.unlink(b"b", t(4)).unwrap();
        root.create(b"d", NewNode::Regular, &attrs(0o644, 4))
            .unwrap();
        let rest: Vec<_> = names(&root, after_a).into_iter().map(|(n, _)| n).collect();
        assert_eq!(rest, [b"c".to_vec(), b"d".to_vec()]);
        // A sink that refuses stops the listing without consuming the entry.
        let mut first = None;
        root.read_dir(after_a, &mut |e| {
            first = Some(e.name.to_vec());
            false
        })
        .unwrap();
        assert_eq!(first.as_deref(), Some(&b"c"[..]));
        // `..` of a subdirectory names the parent.
        let d = root
            .create(b"sub", NewNode::Directory, &attrs(0o755, 4))
            .unwrap();
        let mut dotdot = 0;
        d.read_dir(1, &mut |e| {
            dotdot = e.ino;
            false
        })
        .unwrap();
        assert_eq!(dotdot, root.ino());
    }
}

mod rename {
    use super::*;

    fn setup() -> (Arc<dyn Inode>, Arc<dyn Inode>, Arc<dyn Inode>) {
        let (_, root) = fresh();
        let a = root
            .create(b"a", NewNode::Directory, &attrs(0o755, 2))
            .unwrap();
        let b = root
            .create(b"b", NewNode::Directory, &attrs(0o755, 2))
            .unwrap();
        a.create(b"f", NewNode::Regular, &attrs(0o644, 2)).unwrap();
        (root, a, b)
    }

    #[test]
    fn within_and_across_directories() {
        let (root, a, b) = setup();
        let f = a.lookup(b"f").unwrap();
        a.rename(b"f", &*a, b"g", RenameFlags::empty(), t(3))
            .unwrap();
        assert_eq!(a.lookup(b"g").unwrap().ino(), f.ino());
        assert_eq!(a.lookup(b"f").err(), Some(Errno::ENOENT));
        a.rename(b"g", &*b, b"h", RenameFlags::empty(), t(4))
            .unwrap();
        assert_eq!(b.lookup(b"h").unwrap().ino(), f.ino());
        assert_eq!(f.metadata().ctime, t(4));
        // Moving a directory moves its `..` and the link counts.
        root.rename(b"b", &*a, b"b2", RenameFlags::empty(), t(5))
            .unwrap();
        assert_eq!(b.parent().unwrap().ino(), a.ino());
        assert_eq!(root.metadata().nlink, 3);
        assert_eq!(a.metadata().nlink, 3);
        assert_eq!(
            a.rename(b"nope", &*a, b"x", RenameFlags::empty(), t(5)),
            Err(Errno::ENOENT)
        );
    }

    #[test]
    fn replacing_targets() {
        let (root, a, b) = setup();
        let f = a.lookup(b"f").unwrap();
        let victim = b.create(b"v", NewNode::Regular, &attrs(0o644, 2)).unwrap();
        a.rename(b"f", &*b, b"v", RenameFlags::empty(), t(3))
            .unwrap();
        assert_eq!(b.lookup(b"v").unwrap().ino(), f.ino());
        assert_eq!(victim.metadata().nlink, 0);
        // Kind mismatches and non-empty directories.
        let e = root
            .create(b"e", NewNode::Directory, &attrs(0o755, 2))
            .unwrap();
        assert_eq!(
            b.rename(b"v", &*root, b"e", RenameFlags::empty(), t(3)),
            Err(Errno::EISDIR)
        );
        assert_eq!(
            root.rename(b"e", &*b, b"v", RenameFlags::empty(), t(3)),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            root.rename(b"a", &*root, b"b", RenameFlags::empty(), t(3)),
            Err(Errno::ENOTEMPTY)
        );
        // An empty directory is replaced and dies.
        root.rename(b"b", &*root, b"e", RenameFlags::empty(), t(3))
            .unwrap();
        assert_eq!(e.metadata().nlink, 0);
        assert_eq!(
            root.metadata().nlink,
            4,
            "a, e (was b), and the root's own two"
        );
        assert_eq!(
            root.rename(b"a", &*root, b"e", RenameFlags::NOREPLACE, t(3)),
            Err(Errno::EEXIST)
        );
    }

    #[test]
    fn refused_moves() {
        let (root, a, _) = setup();
        let sub = a
            .create(b"sub", NewNode::Directory, &attrs(0o755, 2))
            .unwrap();
        assert_eq!(
            root.rename(b"a", &*sub, b"x", RenameFlags::empty(), t(3)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            root.rename(b"a", &*a, b"x", RenameFlags::empty(), t(3)),
            Err(Errno::EINVAL)
        );
        let other = Tmpfs::new(DeviceId::new(0, 9), t(1));
        assert_eq!(
            root.rename(b"a", &*other.root(), b"x", RenameFlags::empty(), t(3)),
            Err(Errno::EXDEV)
        );
        assert_eq!(
            root.rename(b"a", &*root, b"x", RenameFlags::EXCHANGE, t(3)),
            Err(Errno::EINVAL)
        );
        // A no-op rename onto the same inode.
        a.link(b"f2", &*a.lookup(b"f").unwrap(), t(3)).unwrap();
        a.rename(b"f", &*a, b"f2", RenameFlags::empty(), t(3))
            .unwrap();
        assert!(a.lookup(b"f").is_ok(), "both names stay, as POSIX says");
    }
}

#[test]
fn root_permissions_and_set_attr() {
    let fs = Tmpfs::with_root_perm(DeviceId::new(0, 3), 0o1777, t(1));
    let root = fs.root();
    assert_eq!(root.metadata().mode(), 0o41777);
    root.set_attr(&SetAttr {
        perm: Some(0o700),
        uid: Some(5),
        ctime: t(9),
        ..SetAttr::default()
    })
    .unwrap();
    let m = root.metadata();
    assert_eq!((m.perm, m.uid, m.gid, m.ctime), (0o700, 5, 0, t(9)));
    assert_eq!(fs.name(), "tmpfs");
    assert_eq!(fs.device(), DeviceId::new(0, 3));
}

#[test]
fn shrinking_a_file_past_whole_pages_asks_to_unmap_them() {
    use super::data::unmap_log;
    unmap_log::install();
    let (_, root) = fresh();
    let f = root
        .create(b"f", NewNode::Regular, &attrs(0o644, 2))
        .unwrap();
    write(&f, 0, &[1; 3 * 4096]);
    let object = f.page_cache().expect("a regular file").object_id();
    unmap_log::forget(object);
    let size = |len| SetAttr {
        size: Some(len),
        ctime: t(7),
        ..SetAttr::default()
    };
    f.set_attr(&size(3 * 4096 - 1)).unwrap();
    f.set_attr(&size(4 * 4096)).unwrap();
    assert!(
        unmap_log::requests_for(object).is_empty(),
        "no whole page went"
    );
    f.set_attr(&size(100)).unwrap();
    assert_eq!(unmap_log::requests_for(object), [4096]);
}

mod limits;
