//! Device errors: reported as `EIO`, never a panic, and nothing half-written is trusted.

use super::*;
use crate::block::FaultyDisk;
use oxv_abi::Errno;

fn formatted() -> Arc<FaultyDisk<RamDisk>> {
    let disk = RamDisk::new(4 * 1024);
    super::super::format(&disk, &super::super::FormatOptions::default(), NOW).unwrap();
    Arc::new(FaultyDisk::new(disk))
}

#[test]
fn failed_sync_reports_eio_and_a_later_sync_completes() {
    let disk = formatted();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    put_file(&*fs.root(), "f", &pattern(1, 40_000));
    disk.fail_flushes(true);
    assert_eq!(fs.sync(), Err(Errno::EIO));
    disk.fail_flushes(false);
    disk.fail_writes_after(3);
    assert_eq!(fs.sync(), Err(Errno::EIO));
    disk.fail_writes_after(u64::MAX);
    fs.sync().unwrap();
    let again = remount(disk.inner());
    assert_eq!(read_all(&*walk(&again, "f").unwrap()), pattern(1, 40_000));
    if have_e2fsprogs("failed_sync_reports_eio_and_a_later_sync_completes") {
        assert_clean(&Scratch::new("eio"), &disk.inner().durable_contents());
    }
}

#[test]
fn unreadable_blocks_are_eio() {
    let disk = formatted();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let f = put_file(&*fs.root(), "f", &pattern(2, 10_000));
    fs.sync().unwrap();
    drop(f);
    drop(fs);
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let f = walk(&fs, "f").unwrap();
    let block = {
        let mut st = fs.shared.lock();
        let raw = st.read_inode(f.ino() as u32).unwrap();
        st.map_block(&raw, 3).unwrap()
    };
    disk.fail_sector(block as u64 * 2);
    // A read across it stops there with the bytes before it (Linux's short count); one that
    // starts in it fails.
    let mut buf = alloc::vec![0u8; 10_000];
    assert_eq!(
        f.read_at(0, &mut crate::ReadBuf::kernel(&mut buf)),
        Ok(3 * 1024)
    );
    assert_eq!(
        f.read_at(3 * 1024 + 5, &mut crate::ReadBuf::kernel(&mut buf)),
        Err(Errno::EIO)
    );
    // The blocks before it are fine.
    let mut head = alloc::vec![0u8; 3 * 1024];
    assert_eq!(
        f.read_at(0, &mut crate::ReadBuf::kernel(&mut head)),
        Ok(3 * 1024)
    );
    assert_eq!(head, pattern(2, 3 * 1024));
}

/// A corrupt indirect pointer (off the disk) fails the reads that reach it, not the ones
/// before it: read-ahead past the request used to map it and fail them all (found by the
/// guest test `ext2_corrupt`).
#[test]
fn a_broken_indirect_pointer_fails_only_reads_that_reach_it() {
    let disk = formatted();
    let fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let f = put_file(&*fs.root(), "f", &pattern(3, 20 * 1024));
    fs.sync().unwrap();
    {
        let mut st = fs.shared.lock();
        let mut raw = st.read_inode(f.ino() as u32).unwrap();
        raw.i_block[super::super::layout::DIRECT_BLOCKS].set(0x7fff_ffff);
        st.write_inode(f.ino() as u32, &raw).unwrap();
    }
    fs.sync().unwrap();
    drop((f, fs));
    // A new mount: nothing of the file is cached, so a read reads ahead.
    let fs = Ext2::mount(disk, DeviceId::new(8, 1), MountOptions::default(), NOW).unwrap();
    let f = walk(&fs, "f").unwrap();
    let mut head = alloc::vec![0u8; 4 * 1024];
    assert_eq!(
        f.read_at(0, &mut crate::ReadBuf::kernel(&mut head)),
        Ok(4 * 1024)
    );
    assert_eq!(head, pattern(3, 4 * 1024));
    let mut all = alloc::vec![0u8; 20 * 1024];
    assert_eq!(
        f.read_at(0, &mut crate::ReadBuf::kernel(&mut all)),
        Ok(12 * 1024),
        "a short read up to the indirect range"
    );
    assert_eq!(
        f.read_at(12 * 1024, &mut crate::ReadBuf::kernel(&mut all)),
        Err(Errno::EIO)
    );
}
