//! Changing images through oxv, then checking them with e2fsck and debugfs.

use super::*;
use crate::ReadBuf;
use crate::node::SetAttr;
use oxv_abi::Errno;
use oxv_abi::linux::fs::RenameFlags;

fn small_tree(scratch: &Scratch) -> PathBuf {
    let root = scratch.path("src");
    std::fs::create_dir_all(root.join("old/inner")).expect("mkdir");
    std::fs::write(root.join("old/a"), pattern(10, 3000)).expect("write");
    std::fs::write(root.join("old/inner/b"), pattern(11, 70_000)).expect("write");
    std::fs::write(root.join("keep"), b"keep me\n").expect("write");
    root
}

fn mkdir(dir: &dyn Inode, name: &str) -> Arc<dyn Inode> {
    dir.create(name.as_bytes(), NewNode::Directory, &attrs(0o755))
        .expect("mkdir")
}

/// Every kind of change, then e2fsck, debugfs and a second mount must agree.
fn change_everything(block_size: usize) {
    let scratch = Scratch::new("write");
    let src = small_tree(&scratch);
    let (disk, fs) = mount(mke2fs(&scratch, Some(&src), 8 * 1024, block_size, &[]));
    let root = fs.root();

    let new = mkdir(&*root, "new");
    let sizes = [0usize, 100, 13 * 1024, 300 * 1024, 2 << 20];
    for (i, &len) in sizes.iter().enumerate() {
        put_file(&*new, &std::format!("f{len}"), &pattern(i as u64, len));
    }
    // Sparse: a hole before 5 MiB and a byte at 60 MiB (double/triple indirect at 1 KiB).
    let sparse = put_file(&*new, "sparse", b"");
    sparse
        .write_at(WritePos::At(5 << 20), &WriteBuf::kernel(b"five"), NOW)
        .unwrap();
    sparse
        .write_at(WritePos::At(60 << 20), &WriteBuf::kernel(b"sixty"), NOW)
        .unwrap();
    root.create(b"fastlink", NewNode::Symlink(b"new/f100"), &attrs(0o777))
        .unwrap();
    let long_target = "d/".repeat(100);
    root.create(
        b"slowlink",
        NewNode::Symlink(long_target.as_bytes()),
        &attrs(0o777),
    )
    .unwrap();
    new.create(
        b"tty",
        NewNode::CharDevice(DeviceId::new(4, 64)),
        &attrs(0o620),
    )
    .unwrap();
    new.create(
        b"big-dev",
        NewNode::BlockDevice(DeviceId::new(259, 300)),
        &attrs(0o600),
    )
    .unwrap();
    new.create(b"pipe", NewNode::Fifo, &attrs(0o600)).unwrap();
    let keep = root.lookup(b"keep").unwrap();
    new.link(b"keep-link", &*keep, NOW).unwrap();

    // Overwrite the middle of a file from the image; shrink and regrow another.
    let b = walk(&fs, "old/inner/b").unwrap();
    b.write_at(WritePos::At(1000), &WriteBuf::kernel(&[0xee; 5000]), NOW)
        .unwrap();
    let a = walk(&fs, "old/a").unwrap();
    let t = |size| SetAttr {
        size: Some(size),
        mtime: Some(NOW),
        ctime: NOW,
        ..SetAttr::default()
    };
    a.set_attr(&t(100)).unwrap();
    a.set_attr(&t(9000)).unwrap();

    // Renames: within a directory, across, over an existing file, a directory elsewhere.
    let old = root.lookup(b"old").unwrap();
    new.rename(b"f100", &*new, b"renamed", RenameFlags::empty(), NOW)
        .unwrap();
    new.rename(b"f0", &*old, b"moved-here", RenameFlags::empty(), NOW)
        .unwrap();
    put_file(&*old, "victim", b"to be replaced");
    new.rename(b"f13312", &*old, b"victim", RenameFlags::empty(), NOW)
        .unwrap();
    old.rename(b"inner", &*new, b"inner-moved", RenameFlags::empty(), NOW)
        .unwrap();
    // Removals.
    new.unlink(b"f307200", NOW).unwrap();
    mkdir(&*new, "gone");
    new.rmdir(b"gone", NOW).unwrap();
    fs.sync().unwrap();

    let image = disk.contents();
    assert_clean(&scratch, &image);
    // debugfs sees the same bytes and the same structure.
    let cat = debugfs(&scratch, &image, "cat /new/f2097152");
    assert_eq!(checksum(&cat), checksum(&pattern(4, 2 << 20)));
    let cat = debugfs(&scratch, &image, "cat /new/inner-moved/b");
    let mut want = pattern(11, 70_000);
    want[1000..6000].fill(0xee);
    assert_eq!(cat, want);
    let cat = debugfs(&scratch, &image, "cat /old/a");
    let mut want = pattern(10, 100);
    want.resize(9000, 0);
    assert_eq!(cat, want, "the truncated tail reads back as zeros");
    let stat = String::from_utf8(debugfs(&scratch, &image, "stat /new/tty")).unwrap();
    assert!(stat.contains("Device major/minor number: 04:64"), "{stat}");
    let stat = String::from_utf8(debugfs(&scratch, &image, "stat /keep")).unwrap();
    assert!(stat.contains("Links: 2"), "{stat}");
    let ls = String::from_utf8(debugfs(&scratch, &image, "ls -p /new")).unwrap();
    assert!(
        !ls.contains("/gone/") && ls.contains("/inner-moved/"),
        "{ls}"
    );

    // A fresh mount sees what this one saw.
    let mut before = Vec::new();
    snapshot(&fs.root(), "", &mut before);
    let again = remount(&disk);
    let mut after = Vec::new();
    snapshot(&again.root(), "", &mut after);
    assert_eq!(before, after);
    assert_eq!(
        walk(&again, "new/inner-moved")
            .unwrap()
            .parent()
            .unwrap()
            .ino(),
        new.ino()
    );
    let s = walk(&again, "new/sparse").unwrap();
    let mut buf = [0u8; 5];
    s.read_at(60 << 20, &mut ReadBuf::kernel(&mut buf)).unwrap();
    assert_eq!(&buf, b"sixty");
    assert_eq!(
        walk(&again, "new/big-dev").unwrap().metadata().rdev,
        DeviceId::new(259, 300)
    );
}

#[test]
fn every_change_is_clean_for_e2fsck_with_1k_blocks() {
    if have_e2fsprogs("every_change_is_clean_for_e2fsck_with_1k_blocks") {
        change_everything(1024);
    }
}

#[test]
fn every_change_is_clean_for_e2fsck_with_4k_blocks() {
    if have_e2fsprogs("every_change_is_clean_for_e2fsck_with_4k_blocks") {
        change_everything(4096);
    }
}

#[test]
fn changed_hashed_directories_stay_valid() {
    if !have_e2fsprogs("changed_hashed_directories_stay_valid") {
        return;
    }
    let scratch = Scratch::new("htree");
    let src = scratch.path("src");
    std::fs::create_dir_all(src.join("big")).unwrap();
    for i in 0..400 {
        std::fs::write(src.join(std::format!("big/name-{i:05}")), b"x").unwrap();
    }
    let mut image = mke2fs(&scratch, Some(&src), 4096, 1024, &[]);
    e2fsck_index_dirs(&scratch, &mut image);
    let stat = String::from_utf8(debugfs(&scratch, &image, "stat /big")).unwrap();
    assert!(
        stat.contains("Flags: 0x1000"),
        "the directory is indexed: {stat}"
    );
    let (disk, fs) = mount(image);
    let big = walk(&fs, "big").unwrap();
    for i in 0..100 {
        big.unlink(std::format!("name-{:05}", i * 3).as_bytes(), NOW)
            .unwrap();
    }
    for i in 0..150 {
        put_file(&*big, &std::format!("added-{i}"), b"y");
    }
    big.rename(b"name-00001", &*big, b"renamed", RenameFlags::empty(), NOW)
        .unwrap();
    fs.sync().unwrap();
    let image = disk.contents();
    assert_clean(&scratch, &image);
    let stat = String::from_utf8(debugfs(&scratch, &image, "stat /big")).unwrap();
    assert!(
        stat.contains("Flags: 0x0"),
        "the stale index is dropped: {stat}"
    );
    assert_eq!(list(&*big).len(), 400 - 100 + 150);
}

#[test]
fn fsynced_data_survives_a_crash() {
    let disk = Arc::new(RamDisk::new(8 * 2048)); // 8 MiB
    super::super::format(&*disk, &super::super::FormatOptions::default(), NOW).unwrap();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let dir = mkdir(&*fs.root(), "data");
    let data = pattern(7, 1 << 20);
    let f = put_file(&*dir, "synced", &data);
    fs.sync().unwrap();
    // More changes, never synced: lost in the crash, without damaging what was synced.
    f.write_at(WritePos::Append, &WriteBuf::kernel(&[1; 50_000]), NOW)
        .unwrap();
    put_file(&*dir, "unsynced", &pattern(8, 300_000));
    dir.unlink(b"synced", NOW).unwrap();
    disk.crash();
    let durable = disk.durable_contents();
    if have_e2fsprogs("fsynced_data_survives_a_crash") {
        assert_clean(&Scratch::new("crash"), &durable);
    }
    let again = Ext2::mount(
        Arc::new(RamDisk::from_image(durable)),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let f = walk(&again, "data/synced").unwrap();
    assert_eq!(read_all(&*f), data);
    assert_eq!(walk(&again, "data/unsynced").err(), Some(Errno::ENOENT));
}

#[test]
fn a_full_disk_gives_enospc_and_stays_consistent() {
    let disk = Arc::new(RamDisk::new(2 * 1024)); // 1 MiB
    super::super::format(&*disk, &super::super::FormatOptions::default(), NOW).unwrap();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let free_before = fs.stats().free_blocks;
    let f = put_file(&*fs.root(), "hog", b"");
    let chunk = pattern(3, 64 * 1024);
    let mut total = 0u64;
    loop {
        match f.write_at(WritePos::Append, &WriteBuf::kernel(&chunk), NOW) {
            Ok(w) if w.count == chunk.len() => total += w.count as u64,
            Ok(w) => {
                total += w.count as u64;
            }
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                break;
            }
        }
    }
    assert!(total > 800 * 1024, "most of the disk was usable: {total}");
    assert_eq!(fs.stats().free_blocks, 0);
    assert_eq!(f.metadata().size, total);
    // Creating a directory needs a block: ENOSPC, and no half-made inode stays behind.
    let inodes = fs.stats().free_files;
    assert_eq!(
        fs.root()
            .create(b"d", NewNode::Directory, &attrs(0o755))
            .err(),
        Some(Errno::ENOSPC)
    );
    assert_eq!(fs.stats().free_files, inodes);
    fs.sync().unwrap();
    if have_e2fsprogs("a_full_disk_gives_enospc_and_stays_consistent") {
        assert_clean(&Scratch::new("full"), &disk.contents());
    }
    drop(f);
    fs.root().unlink(b"hog", NOW).unwrap();
    assert_eq!(fs.stats().free_blocks, free_before);
    fs.sync().unwrap();
    if have_e2fsprogs("a_full_disk_gives_enospc_and_stays_consistent") {
        assert_clean(&Scratch::new("full"), &disk.contents());
    }
}

#[test]
fn an_unlinked_open_file_lives_until_released() {
    let disk = Arc::new(RamDisk::new(4 * 1024));
    super::super::format(&*disk, &super::super::FormatOptions::default(), NOW).unwrap();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let free = fs.stats();
    let f = put_file(&*fs.root(), "tmp", &pattern(1, 100_000));
    fs.root().unlink(b"tmp", NOW).unwrap();
    assert_eq!(fs.root().lookup(b"tmp").err(), Some(Errno::ENOENT));
    assert_eq!(f.metadata().nlink, 0);
    assert_eq!(read_all(&*f), pattern(1, 100_000), "still readable");
    assert!(fs.stats().free_blocks < free.free_blocks);
    drop(f);
    // The next operation frees it.
    assert_eq!(fs.stats().free_blocks, free.free_blocks);
    assert_eq!(fs.stats().free_files, free.free_files);
    fs.sync().unwrap();
    if have_e2fsprogs("an_unlinked_open_file_lives_until_released") {
        assert_clean(&Scratch::new("orphan"), &disk.contents());
    }
}

#[test]
fn truncation_frees_blocks_and_zeroes_the_tail() {
    let disk = Arc::new(RamDisk::new(16 * 1024));
    super::super::format(&*disk, &super::super::FormatOptions::default(), NOW).unwrap();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let free = fs.stats().free_blocks;
    let f = put_file(&*fs.root(), "t", &pattern(5, 3 << 20));
    let set = |size| {
        f.set_attr(&SetAttr {
            size: Some(size),
            ctime: NOW,
            ..SetAttr::default()
        })
    };
    set(1000).unwrap();
    assert_eq!(f.metadata().blocks, 2, "one 1 KiB block left");
    assert_eq!(fs.stats().free_blocks, free - 1);
    set(70_000).unwrap();
    let data = read_all(&*f);
    assert_eq!(&data[..1000], &pattern(5, 1000)[..]);
    assert!(data[1000..].iter().all(|&b| b == 0));
    assert_eq!(f.metadata().blocks, 2, "growing leaves a hole");
    set(0).unwrap();
    assert_eq!(fs.stats().free_blocks, free);
    assert_eq!(
        fs.root().set_attr(&SetAttr {
            size: Some(0),
            ctime: NOW,
            ..SetAttr::default()
        }),
        Err(Errno::EISDIR)
    );
    fs.sync().unwrap();
    if have_e2fsprogs("truncation_frees_blocks_and_zeroes_the_tail") {
        assert_clean(&Scratch::new("trunc"), &disk.contents());
    }
}

#[test]
fn namespace_errors_are_linux_errors() {
    let disk = Arc::new(RamDisk::new(4 * 1024));
    super::super::format(&*disk, &super::super::FormatOptions::default(), NOW).unwrap();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let root = fs.root();
    let d = mkdir(&*root, "d");
    let sub = mkdir(&*d, "sub");
    put_file(&*d, "f", b"1");
    put_file(&*root, "g", b"2");
    let none = RenameFlags::empty();
    assert_eq!(
        root.create(b"d", NewNode::Regular, &attrs(0o644)).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(root.rmdir(b"d", NOW), Err(Errno::ENOTEMPTY));
    assert_eq!(root.rmdir(b"g", NOW), Err(Errno::ENOTDIR));
    assert_eq!(root.unlink(b"d", NOW), Err(Errno::EISDIR));
    assert_eq!(root.unlink(b"zz", NOW), Err(Errno::ENOENT));
    assert_eq!(
        root.rename(b"d", &*sub, b"x", none, NOW),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        root.rename(b"g", &*d, b"sub", none, NOW),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        d.rename(b"sub", &*root, b"g", none, NOW),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        root.rename(b"g", &*root, b"d", RenameFlags::NOREPLACE, NOW),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        d.rename(b"f", &*root, b"absent", RenameFlags::EXCHANGE, NOW),
        Err(Errno::ENOENT)
    );
    assert_eq!(root.link(b"dl", &*d, NOW), Err(Errno::EPERM));
    assert_eq!(
        root.create(b"l", NewNode::Symlink(&[b'a'; 1024]), &attrs(0o777))
            .err(),
        Some(Errno::ENAMETOOLONG)
    );
    // Exchange a file and a directory across parents.
    d.rename(b"f", &*root, b"g", RenameFlags::EXCHANGE, NOW)
        .unwrap();
    assert_eq!(read_all(&*walk(&fs, "g").unwrap()), b"1");
    assert_eq!(read_all(&*walk(&fs, "d/f").unwrap()), b"2");
    root.rename(b"d", &*root, b"g", RenameFlags::EXCHANGE, NOW)
        .unwrap();
    assert_eq!(walk(&fs, "g/sub").unwrap().parent().unwrap().ino(), d.ino());
    // The same inode under both names: nothing happens.
    let g = walk(&fs, "d").unwrap();
    root.link(b"d2", &*g, NOW).unwrap();
    root.rename(b"d", &*root, b"d2", none, NOW).unwrap();
    assert!(root.lookup(b"d").is_ok());
    // A removed directory refuses new entries; its node reports ENOENT.
    drop(sub);
    let sub = walk(&fs, "g/sub").unwrap();
    walk(&fs, "g").unwrap().rmdir(b"sub", NOW).unwrap();
    assert_eq!(
        sub.create(b"x", NewNode::Regular, &attrs(0o644)).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(sub.lookup(b"x").err(), Some(Errno::ENOENT));
    assert_eq!(sub.metadata().nlink, 0);
    drop(sub);
    fs.sync().unwrap();
    if have_e2fsprogs("namespace_errors_are_linux_errors") {
        assert_clean(&Scratch::new("errors"), &disk.contents());
    }
}

#[test]
fn attributes_persist_with_nanoseconds() {
    let disk = Arc::new(RamDisk::new(4 * 1024));
    super::super::format(&*disk, &super::super::FormatOptions::default(), NOW).unwrap();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let f = put_file(&*fs.root(), "f", b"x");
    let later = Timestamp {
        secs: 3_000_000_000, // past 2038: uses the epoch bits
        nanos: 987_654_321,
    };
    f.set_attr(&SetAttr {
        perm: Some(0o2750),
        uid: Some(70_000),
        gid: Some(5),
        atime: Some(Timestamp::from_secs(12)),
        mtime: Some(later),
        ctime: later,
        size: None,
    })
    .unwrap();
    fs.sync().unwrap();
    let again = remount(&disk);
    let m = walk(&again, "f").unwrap().metadata();
    assert_eq!((m.perm, m.uid, m.gid), (0o2750, 70_000, 5));
    assert_eq!(m.mtime, later);
    assert_eq!(m.ctime, later);
    assert_eq!(m.atime, Timestamp::from_secs(12));
    assert_eq!(m.nlink, 1);
    assert_eq!(m.blksize, 1024);
    let root = again.root().metadata();
    assert_eq!(root.nlink, 3);
    if have_e2fsprogs("attributes_persist_with_nanoseconds") {
        let scratch = Scratch::new("attrs");
        let image = disk.contents();
        assert_clean(&scratch, &image);
        let stat = String::from_utf8(debugfs(&scratch, &image, "stat /f")).unwrap();
        assert!(stat.contains("Mode:  02750"), "{stat}");
        assert!(stat.contains("User: 70000"), "{stat}");
    }
}

#[test]
fn statfs_counts_match_dumpe2fs() {
    if !have_e2fsprogs("statfs_counts_match_dumpe2fs") {
        return;
    }
    let scratch = Scratch::new("statfs");
    let src = small_tree(&scratch);
    let (disk, fs) = mount(mke2fs(&scratch, Some(&src), 8 * 1024, 1024, &[]));
    put_file(&*fs.root(), "more", &pattern(1, 50_000));
    fs.sync().unwrap();
    let s = fs.stats();
    let image = disk.contents();
    let img = scratch.path("stats.img");
    std::fs::write(&img, &image).unwrap();
    let out = Command::new("dumpe2fs")
        .arg("-h")
        .arg(&img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    assert_eq!(s.free_blocks, field("Free blocks:"));
    assert_eq!(s.free_files, field("Free inodes:"));
    assert_eq!(s.files, field("Inode count:"));
    assert_eq!(
        s.blocks,
        field("Block count:") - field("Overhead clusters:")
    );
    assert_eq!(
        s.avail_blocks,
        s.free_blocks - field("Reserved block count:")
    );
    assert_eq!(s.magic, 0xef53);
}

#[test]
fn concurrent_writers_and_syncs_stay_consistent() {
    let disk = Arc::new(RamDisk::new(32 * 1024));
    super::super::format(&*disk, &super::super::FormatOptions::default(), NOW).unwrap();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let dir = mkdir(&*fs.root(), "shared");
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for round in 0..20u64 {
                    let name = std::format!("t{t}-{round}");
                    let data = pattern(t * 100 + round, 5000 + (round as usize * 997) % 40_000);
                    let f = put_file(&*dir, &name, &data);
                    assert_eq!(read_all(&*f), data, "{name}");
                    if round % 3 == 0 {
                        dir.unlink(name.as_bytes(), NOW).unwrap();
                        assert_eq!(read_all(&*f), data, "{name} after unlink");
                    }
                }
            })
        })
        .collect();
    let syncer = {
        let fs = fs.clone();
        std::thread::spawn(move || {
            for _ in 0..30 {
                fs.sync().unwrap();
                std::thread::yield_now();
            }
        })
    };
    for w in workers {
        w.join().unwrap();
    }
    syncer.join().unwrap();
    assert_eq!(list(&*dir).len(), 4 * 13);
    fs.sync().unwrap();
    if have_e2fsprogs("concurrent_writers_and_syncs_stay_consistent") {
        assert_clean(&Scratch::new("threads"), &disk.contents());
    }
}
