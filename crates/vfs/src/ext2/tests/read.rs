//! Reading what `mke2fs -d` wrote.

use super::*;
use crate::ReadBuf;
use std::os::unix::fs::{PermissionsExt, symlink};

/// A host tree exercising every way a file can be laid out: empty, inline-size, exactly 12
/// blocks, single/double indirect, sparse, fast and slow symlinks, hard links, a FIFO, a
/// directory big enough to span many blocks, odd permissions.
fn host_tree(scratch: &Scratch) -> PathBuf {
    let root = scratch.path("src");
    let mk = |p: &str| std::fs::create_dir_all(root.join(p)).expect("mkdir");
    mk("sub/deeper");
    mk("big");
    let put = |p: &str, data: &[u8]| std::fs::write(root.join(p), data).expect("write");
    put("empty", b"");
    put("small", b"hello, ext2\n");
    put("twelve", &pattern(1, 12 * 1024));
    put("indirect", &pattern(2, 200 * 1024));
    put("double", &pattern(3, 1100 * 1024));
    put("sub/deeper/note", b"deep\n");
    for i in 0..300 {
        put(
            &std::format!("big/entry-with-a-longish-name-{i:04}"),
            i.to_string().as_bytes(),
        );
    }
    // Sparse: data at 0, a hole, data at 3 MiB.
    let mut f = std::fs::File::create(root.join("sparse")).expect("create");
    use std::io::{Seek, SeekFrom, Write};
    f.write_all(b"head").expect("write");
    f.seek(SeekFrom::Start(3 << 20)).expect("seek");
    f.write_all(b"tail").expect("write");
    drop(f);
    symlink("small", root.join("fast")).expect("symlink");
    symlink("x".repeat(200), root.join("slow")).expect("symlink");
    std::fs::hard_link(root.join("small"), root.join("small-again")).expect("link");
    let made = Command::new("mkfifo")
        .args(["-m", "640"])
        .arg(root.join("fifo"))
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    std::fs::set_permissions(root.join("twelve"), std::fs::Permissions::from_mode(0o4755))
        .expect("chmod");
    root
}

fn check_tree(block_size: usize, index_dirs: bool) {
    let scratch = Scratch::new("read");
    let src = host_tree(&scratch);
    let mut image = mke2fs(&scratch, Some(&src), 8 * 1024, block_size, &[]);
    if index_dirs {
        e2fsck_index_dirs(&scratch, &mut image);
    }
    let (_disk, fs) = mount(image);
    let mut ours = Vec::new();
    snapshot(&fs.root(), "", &mut ours);
    ours.retain(|(p, _)| !p.starts_with("/lost+found"));
    let mut theirs = Vec::new();
    host_snapshot(&src, "", &mut theirs);
    assert_eq!(ours, theirs, "block size {block_size}");

    // Hard links share an inode; link counts and sizes are what Linux reports.
    let a = walk(&fs, "small").unwrap();
    let b = walk(&fs, "small-again").unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.metadata().nlink, 2);
    let sub = walk(&fs, "sub").unwrap().metadata();
    assert_eq!(sub.nlink, 3);
    assert_eq!(sub.size, block_size as u64);
    assert_eq!(walk(&fs, "twelve").unwrap().metadata().perm, 0o4755);

    // Sparse file: holes read as zeros and take no blocks.
    let sparse = walk(&fs, "sparse").unwrap();
    let m = sparse.metadata();
    assert_eq!(m.size, (3 << 20) + 4);
    assert!(
        m.blocks * 512 < 64 * 1024,
        "holes are not allocated: {} sectors",
        m.blocks
    );
    let mut mid = [1u8; 100];
    assert_eq!(
        sparse.read_at(1 << 20, &mut ReadBuf::kernel(&mut mid)),
        Ok(100)
    );
    assert!(mid.iter().all(|&b| b == 0));

    // A read across a block boundary and a read past the end.
    let double = walk(&fs, "double").unwrap();
    let want = pattern(3, 1100 * 1024);
    let mut buf = alloc::vec![0u8; 5000];
    let at = 700 * 1024 - 100;
    assert_eq!(
        double.read_at(at as u64, &mut ReadBuf::kernel(&mut buf)),
        Ok(5000)
    );
    assert_eq!(&buf[..], &want[at..at + 5000]);
    assert_eq!(
        double.read_at(want.len() as u64, &mut ReadBuf::kernel(&mut buf)),
        Ok(0)
    );

    // `..` of a subdirectory and of the root.
    let deeper = walk(&fs, "sub/deeper").unwrap();
    assert_eq!(
        deeper.parent().unwrap().ino(),
        walk(&fs, "sub").unwrap().ino()
    );
    assert_eq!(fs.root().parent().unwrap().ino(), 2);
    assert_eq!(
        fs.root().lookup(b"nope").err(),
        Some(oxv_abi::Errno::ENOENT)
    );
    assert_eq!(
        walk(&fs, "small").unwrap().lookup(b"x").err(),
        Some(oxv_abi::Errno::ENOTDIR)
    );

    // Timestamps come from mke2fs (E2FSPROGS_FAKE_TIME does not apply to -d copies, which
    // keep the host's times): at least they are in the past and not zero.
    assert!(walk(&fs, "small").unwrap().metadata().mtime.secs > 0);
}

#[test]
fn reads_mke2fs_images_with_1k_blocks() {
    if have_e2fsprogs("reads_mke2fs_images_with_1k_blocks") {
        check_tree(1024, false);
    }
}

#[test]
fn reads_mke2fs_images_with_4k_blocks() {
    if have_e2fsprogs("reads_mke2fs_images_with_4k_blocks") {
        check_tree(4096, false);
    }
}

#[test]
fn reads_hashed_directories_linearly() {
    if have_e2fsprogs("reads_hashed_directories_linearly") {
        check_tree(1024, true);
    }
}

#[test]
fn listing_resumes_at_any_cursor() {
    if !have_e2fsprogs("listing_resumes_at_any_cursor") {
        return;
    }
    let scratch = Scratch::new("cursor");
    let src = host_tree(&scratch);
    let (_disk, fs) = mount(mke2fs(&scratch, Some(&src), 8 * 1024, 1024, &[]));
    let big = walk(&fs, "big").unwrap();
    // Read one entry per call, as a getdents64 with a tiny buffer would.
    let mut cursor = 0;
    let mut names = Vec::new();
    loop {
        let mut got = None;
        big.read_dir(cursor, &mut |e| {
            if got.is_some() {
                return false;
            }
            got = Some((e.name.to_vec(), e.next));
            true
        })
        .unwrap();
        match got {
            Some((n, next)) => {
                names.push(n);
                cursor = next;
            }
            None => break,
        }
    }
    assert_eq!(names.len(), 302);
    assert_eq!(&names[..2], &[b".".to_vec(), b"..".to_vec()]);
    // A cursor in the middle of a record resumes at the next record.
    let mut first = None;
    big.read_dir(1, &mut |e| {
        first = Some(e.name.to_vec());
        false
    })
    .unwrap();
    assert_eq!(first.as_deref(), Some(&b".."[..]));
}

#[test]
fn refuses_ext4_and_mounts_unknown_ro_features_read_only() {
    if !have_e2fsprogs("refuses_ext4_and_mounts_unknown_ro_features_read_only") {
        return;
    }
    let scratch = Scratch::new("features");
    let image = mke2fs(&scratch, None, 4096, 4096, &["-O", "extent,64bit,flex_bg"]);
    let err = Ext2::mount(
        Arc::new(RamDisk::from_image(image)),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .err()
    .expect("ext4 features are refused");
    assert_eq!(
        std::format!("{err}"),
        "unsupported ext2 features: extent 64bit flex_bg"
    );

    let image = mke2fs(&scratch, None, 4096, 1024, &["-O", "huge_file,dir_nlink"]);
    let disk = Arc::new(RamDisk::from_image(image));
    let err = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .err()
    .expect("read-write refused");
    assert!(
        matches!(err, super::super::MountError::ReadOnlyFeatures(_)),
        "{err}"
    );
    let ro = MountOptions {
        read_only: true,
        ..MountOptions::default()
    };
    let fs = Ext2::mount(disk, DeviceId::new(8, 1), ro, NOW).expect("read-only is fine");
    assert_eq!(
        fs.root()
            .create(b"x", NewNode::Regular, &attrs(0o644))
            .err(),
        Some(oxv_abi::Errno::EROFS)
    );
}

#[test]
fn refuses_garbage() {
    let disk = Arc::new(RamDisk::new(2048));
    let err = Ext2::mount(disk, DeviceId::new(8, 1), MountOptions::default(), NOW)
        .err()
        .expect("zeros are not ext2");
    assert_eq!(err, super::super::MountError::NotExt2);
}
