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
    let mut buf = alloc::vec![0u8; 10_000];
    assert_eq!(
        f.read_at(0, &mut crate::ReadBuf::kernel(&mut buf)),
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
