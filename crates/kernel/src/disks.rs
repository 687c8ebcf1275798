//! The ext2 file systems on virtio-blk disks: mounting one (at boot for `disk=` and the root
//! disk, or by mount(2)), the registry of every one mounted, and writing them all back when
//! the VM stops.
//!
//! One [`Ext2`] per disk, whoever mounted it: mount(2) of a disk already open finds it here
//! (through the VFS's shared instances) rather than opening a second one on the same blocks.
//! Not here: which path a disk is mounted on (boot's command line, or the app's mount(2)).

use crate::mem;
use crate::sched;
use crate::thread::ThreadRef;
use alloc::sync::Arc;
use alloc::vec::Vec;
use oxv_vfs::ext2::{Ext2, MountError, MountOptions};
use oxv_vfs::{DeviceId, Timestamp};
use spin::Mutex;

/// Every ext2 file system mounted from a disk, in mount order.
static MOUNTED: Mutex<Vec<Arc<Ext2>>> = Mutex::new(Vec::new());

/// Why a disk could not be mounted.
pub enum DiskMountError {
    /// No virtio-blk disk has that number.
    NoSuchDisk,
    /// The disk does not hold an ext2 file system oxv can mount.
    Ext2(MountError),
}

/// Mounts disk `n` as ext2, read-only if asked or if the device is, with frames for its
/// files' shared mappings, and registers it for [`sync_all`] and memory reclaim.
pub fn mount_ext2(n: usize, read_only: bool, now: Timestamp) -> Result<Arc<Ext2>, DiskMountError> {
    let disk = crate::virtio::disk(n).ok_or(DiskMountError::NoSuchDisk)?;
    let options = MountOptions {
        read_only: read_only || disk.read_only(),
        // An eighth of RAM for the buffer cache, between 1 and 64 MiB.
        cache_bytes: (mem::frame_stats().1 * 4096 / 8).clamp(1 << 20, 64 << 20),
        sleeper: Arc::new(FsSleeper::default()),
    };
    let dev = oxv_vfs::block::file::disk_device(n as u32);
    let fs = Ext2::mount(disk, dev, options, now).map_err(DiskMountError::Ext2)?;
    fs.set_page_memory(Arc::new(mem::PageCacheFrames));
    // Its clean cached blocks and pages are the first memory given back under pressure.
    let cache: Arc<dyn oxv_vfs::shrink::CacheShrinker> = fs.clone();
    mem::register_shrinker(Arc::downgrade(&cache));
    // A file system only this registry still holds was unmounted and released (umount2(2));
    // the VFS mounts the disk again through this call. Keeping it would grow the registry
    // with every mount and umount, and leave `find` a stale instance to write back. (They
    // are dropped after the lock is let go: freeing a cache is not done under a spin lock.)
    let released: Vec<Arc<Ext2>> = {
        let mut mounted = MOUNTED.lock();
        let (held, released) = core::mem::take(&mut *mounted)
            .into_iter()
            .partition(|old| Arc::strong_count(old) > 1);
        *mounted = held;
        mounted.push(fs.clone());
        released
    };
    drop(released);
    Ok(fs)
}

/// The mounted ext2 file system on the disk with device number `dev`: the newest, if an
/// older one is still held (a lazily detached mount with files open).
pub fn find(dev: DeviceId) -> Option<Arc<Ext2>> {
    use oxv_vfs::FileSystem;
    MOUNTED
        .lock()
        .iter()
        .rev()
        .find(|fs| fs.device() == dev)
        .cloned()
}

/// Writes back every disk file system and marks it cleanly unmounted: called when the VM is
/// about to stop, so that what the app wrote without fsync(2) is on the disk too.
pub fn sync_all() {
    let disks = MOUNTED.lock().clone();
    for fs in disks {
        if let Err(e) = fs.unmount() {
            crate::kprintln!("oxv: writing back a disk failed: {e}");
        }
    }
}

/// How threads wait for an ext2 lock held by a thread asleep on the disk: in the scheduler,
/// on a wait queue (the kernel is not preemptible, so spinning there would never end).
#[derive(Default)]
struct FsSleeper {
    waiters: Mutex<oxv_sched::waitq::WaitQueue<ThreadRef>>,
}

impl oxv_vfs::ext2::Sleeper for FsSleeper {
    fn wait_until(&self, ready: &mut dyn FnMut() -> bool) {
        // The idle thread (boot) cannot sleep; nothing else runs then, so this only spins
        // if a lock was leaked.
        if sched::with_running(|t| t.is_idle()) {
            while !ready() {
                core::hint::spin_loop();
            }
            return;
        }
        loop {
            // `ready` runs under the scheduler lock, as `wake_all`'s wake-ups do: an unlock
            // between the check and the sleep is not missed.
            let slept = sched::block_if(None, |_, me| {
                if ready() {
                    return false;
                }
                self.waiters.lock().push(me.clone());
                true
            });
            match slept {
                None => return,
                Some(crate::thread::Wake::Event) => {}
                // Not interruptible: a signal or a kill is acted on after the operation.
                Some(_) => {
                    self.waiters.lock().remove(&sched::current());
                }
            }
        }
    }

    fn wake_all(&self) {
        let woken = self.waiters.lock().wake_all();
        if !woken.is_empty() {
            sched::with(|s| {
                for t in &woken {
                    s.wake(t, crate::thread::Wake::Event);
                }
            });
        }
    }
}
