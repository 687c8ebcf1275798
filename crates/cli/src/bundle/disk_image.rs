//! The root disk of a `--disk-image` bundle: an ext2 file system holding the tree the
//! initramfs would hold.
//!
//! It is made with the kernel's own code, on the host: `oxv_vfs::ext2::format` writes an
//! empty file system into a sparse file, `Ext2::mount` opens it, and
//! `oxv_vfs::initramfs::unpack` fills it from the archive `oxv run` would boot, so the two
//! roots cannot differ (modes, symlinks, hard links and times come out the same). The file
//! system is then marked cleanly unmounted, which `e2fsck -fn` checks in the tests. No
//! e2fsprogs needed.
//!
//! Sizes: the files plus a quarter (ext2's inode tables, indirect blocks and directories),
//! plus [`FREE_SPACE`] for what the app writes, unless `--disk-size` says otherwise. The file
//! is sparse, so unused space costs nothing on the host. Blocks are 1 KiB below 512 MiB and
//! 4 KiB from there, as `mke2fs` chooses.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use oxv_vfs::block::file::disk_device;
use oxv_vfs::block::{BlockDevice, BlockError, SECTOR_SIZE, check_transfer};
use oxv_vfs::ext2::{Ext2, FormatOptions, MountOptions};
use oxv_vfs::{FileSystem, Timestamp};

use crate::error::CliError;

/// Free space a disk image gets by default, beyond its files.
pub const FREE_SPACE: u64 = 64 << 20;

/// The default size of a disk image whose archive is `archive_len` bytes, in whole MiB.
pub fn default_size(archive_len: u64) -> u64 {
    (archive_len + archive_len / 4 + FREE_SPACE).next_multiple_of(1 << 20)
}

/// Writes an ext2 image of `size` bytes at `path` holding the tree of the newc `archive`.
pub fn write(path: &Path, archive: &[u8], size: u64) -> Result<(), CliError> {
    let io = |e| CliError::io(format!("cannot write {}", path.display()), e);
    let bad = |what: String| CliError::Usage(format!("disk image {}: {what}", path.display()));
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    let size = size.next_multiple_of(SECTOR_SIZE as u64);
    file.set_len(size).map_err(io)?;
    let disk = Arc::new(FileDisk {
        file,
        sectors: size / SECTOR_SIZE as u64,
    });
    let options = FormatOptions {
        block_size: if size >= 512 << 20 { 4096 } else { 1024 },
        ..FormatOptions::default()
    };
    let now = now();
    oxv_vfs::ext2::format(&*disk, &options, now).map_err(|e| bad(e.to_string()))?;
    let fs = Ext2::mount(disk.clone(), disk_device(0), MountOptions::default(), now)
        .map_err(|e| bad(format!("cannot open the new file system: {e}")))?;
    oxv_vfs::initramfs::unpack(archive, &fs.root(), now).map_err(|e| {
        bad(format!(
            "cannot copy the files in ({e}); a larger --disk-size may help"
        ))
    })?;
    fs.unmount()
        .map_err(|e| bad(format!("cannot write the file system out: {e}")))?;
    disk.file.sync_all().map_err(io)
}

fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: since.as_secs() as i64,
        nanos: since.subsec_nanos(),
    }
}

/// A host file as a disk (its writes go to the page cache; [`write`] syncs at the end).
struct FileDisk {
    file: File,
    sectors: u64,
}

impl BlockDevice for FileDisk {
    fn sector_count(&self) -> u64 {
        self.sectors
    }

    fn read_only(&self) -> bool {
        false
    }

    fn read_sectors(&self, first: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_transfer(self.sectors, first, buf.len())?;
        self.file
            .read_exact_at(buf, first * SECTOR_SIZE as u64)
            .map_err(|_| BlockError::Io)
    }

    fn write_sectors(&self, first: u64, buf: &[u8]) -> Result<(), BlockError> {
        check_transfer(self.sectors, first, buf.len())?;
        self.file
            .write_all_at(buf, first * SECTOR_SIZE as u64)
            .map_err(|_| BlockError::Io)
    }

    fn flush(&self) -> Result<(), BlockError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxv_vfs::FileKind;

    #[test]
    fn the_image_holds_the_archive_and_mounts_clean() {
        let dir = std::env::temp_dir().join(format!("oxv-disk-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut image = crate::image::Image::new();
        image
            .add_bytes("/usr/bin/app", 0o755, b"\x7fELF-ish".to_vec())
            .unwrap();
        image.add_bytes("/big", 0o600, vec![7; 300_000]).unwrap();
        image.add_symlink("/bin", "usr/bin").unwrap();
        image.add_dir("/sys", 0o755).unwrap();
        let archive = image.to_cpio().unwrap();
        let path = dir.join("root.ext2");
        assert_eq!(default_size(1 << 20), 66 << 20);
        write(&path, &archive, 8 << 20).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8 << 20);

        let bytes = std::fs::read(&path).unwrap();
        let disk = Arc::new(oxv_vfs::block::RamDisk::from_image(bytes));
        let fs = Ext2::mount(disk, disk_device(0), MountOptions::default(), now())
            .expect("the image mounts");
        let root = fs.root();
        let app = root.lookup(b"usr").unwrap().lookup(b"bin").unwrap();
        let app = app.lookup(b"app").unwrap();
        assert_eq!(app.metadata().perm, 0o755);
        let mut buf = [0u8; 16];
        let n = app
            .read_at(0, &mut oxv_vfs::ReadBuf::kernel(&mut buf))
            .unwrap();
        assert_eq!(&buf[..n], b"\x7fELF-ish");
        assert_eq!(root.lookup(b"big").unwrap().metadata().size, 300_000);
        assert_eq!(root.lookup(b"bin").unwrap().kind(), FileKind::Symlink);
        for mount_point in [&b"dev"[..], b"proc", b"sys", b"tmp"] {
            assert_eq!(
                root.lookup(mount_point).unwrap().kind(),
                FileKind::Directory
            );
        }
        // Too small for its files: an error, not a panic.
        assert!(write(&dir.join("small.ext2"), &archive, 200 << 10).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
