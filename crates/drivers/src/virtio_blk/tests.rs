use super::*;
use crate::virtio::fake::{Device, FakeHal, FakeTransport, FakeWait, Queue};
use std::boxed::Box;
use std::sync::Mutex as StdMutex;
use std::vec;
use std::vec::Vec;
use virtio_drivers::transport::DeviceStatus;

/// What the fake disk saw and holds.
#[derive(Default)]
struct Disk {
    data: Vec<u8>,
    flushes: u32,
    /// Data bytes per request, in order.
    requests: Vec<(u32, usize)>,
    /// Fail requests touching this sector with VIRTIO_BLK_S_IOERR.
    bad_sector: Option<u64>,
}

struct FakeDisk(Arc<StdMutex<Disk>>);

impl Device for FakeDisk {
    fn process(&mut self, queues: &mut [Queue], q: u16) -> bool {
        let queue = &mut queues[q as usize];
        let mut used = false;
        while let Some(chain) = queue.pop_avail() {
            let mut disk = self.0.lock().unwrap();
            let req = chain.readable();
            let kind = u32::from_le_bytes(req[0..4].try_into().unwrap());
            let sector = u64::from_le_bytes(req[8..16].try_into().unwrap());
            let payload = &req[16..];
            let room = chain.writable_len() - 1;
            let at = sector as usize * SECTOR_SIZE;
            let len = if kind == 0 { room } else { payload.len() };
            let count = len.div_ceil(SECTOR_SIZE) as u64;
            let bad = disk
                .bad_sector
                .is_some_and(|b| b >= sector && b < sector + count);
            disk.requests.push((kind, len));
            let (status, written) = match kind {
                _ if bad => (STATUS_IOERR, 0),
                0 if at + room <= disk.data.len() => {
                    chain.write(0, &disk.data[at..at + room]);
                    (STATUS_OK, room)
                }
                1 if at + payload.len() <= disk.data.len() => {
                    disk.data[at..at + payload.len()].copy_from_slice(payload);
                    (STATUS_OK, 0)
                }
                0 | 1 => (STATUS_IOERR, 0),
                4 => {
                    disk.flushes += 1;
                    (STATUS_OK, 0)
                }
                8 => {
                    chain.write(0, b"oxv-disk\0");
                    (STATUS_OK, 9)
                }
                _ => (STATUS_UNSUPP, 0),
            };
            chain.write(room, &[status]);
            queue.push_used(chain.head, written as u32 + 1);
            used = true;
        }
        used
    }
}

const VERSION_1: u64 = 1 << 32;

fn config(sectors: u64, size_max: u32) -> Vec<u8> {
    let mut c = vec![0u8; 64];
    c[0..8].copy_from_slice(&sectors.to_le_bytes());
    c[8..12].copy_from_slice(&size_max.to_le_bytes());
    c
}

struct Rig {
    blk: VirtioBlk<FakeHal, FakeTransport>,
    disk: Arc<StdMutex<Disk>>,
    transport: FakeTransport,
    wait: Arc<FakeWait>,
}

fn rig(sectors: u64, features: u64, size_max: u32) -> Rig {
    let disk = Arc::new(StdMutex::new(Disk {
        data: vec![0; sectors as usize * SECTOR_SIZE],
        ..Disk::default()
    }));
    let transport = FakeTransport::new(
        DeviceType::Block,
        features,
        config(sectors, size_max),
        1,
        Box::new(FakeDisk(disk.clone())),
    );
    let wait = FakeWait::new(&transport);
    let blk = VirtioBlk::<FakeHal, _>::new(transport.clone(), wait.clone()).expect("set up");
    Rig {
        blk,
        disk,
        transport,
        wait,
    }
}

#[test]
fn setup_negotiates_only_known_features_and_reads_capacity() {
    let offered = VERSION_1 | Features::FLUSH.bits() | (1 << 28) | (1 << 10);
    let r = rig(64, offered, 0);
    let s = r.transport.state.lock().unwrap();
    assert_eq!(s.driver_features, VERSION_1 | Features::FLUSH.bits());
    assert!(!s.queues[0].event_idx);
    assert!(
        s.status
            .contains(DeviceStatus::DRIVER_OK | DeviceStatus::FEATURES_OK)
    );
    drop(s);
    assert_eq!(r.blk.sector_count(), 64);
    assert_eq!(r.blk.capacity(), 64 * 512);
    assert!(!r.blk.read_only());
    assert!(r.blk.has_write_cache());
}

#[test]
fn setup_refuses_another_device_type() {
    let transport = FakeTransport::new(
        DeviceType::Network,
        0,
        config(1, 0),
        1,
        Box::new(FakeDisk(Default::default())),
    );
    let wait = FakeWait::new(&transport);
    assert!(matches!(
        VirtioBlk::<FakeHal, _>::new(transport, wait),
        Err(SetupError::NotBlock(DeviceType::Network))
    ));
}

#[test]
fn sectors_round_trip() {
    let r = rig(16, VERSION_1, 0);
    let data: Vec<u8> = (0..3 * SECTOR_SIZE).map(|i| (i % 251) as u8).collect();
    r.blk.write_sectors(5, &data).unwrap();
    assert_eq!(&r.disk.lock().unwrap().data[5 * 512..8 * 512], &data[..]);
    let mut back = vec![0u8; 3 * SECTOR_SIZE];
    r.blk.read_sectors(5, &mut back).unwrap();
    assert_eq!(back, data);
    let stats = r.blk.stats();
    assert_eq!(
        (stats.requests, stats.read_bytes, stats.written_bytes),
        (2, 1536, 1536)
    );
}

#[test]
fn bad_shapes_never_reach_the_device() {
    let r = rig(4, VERSION_1, 0);
    let mut buf = [0u8; 512];
    assert_eq!(r.blk.read_sectors(4, &mut buf), Err(BlockError::OutOfRange));
    assert_eq!(
        r.blk.read_sectors(0, &mut buf[..100]),
        Err(BlockError::Unaligned)
    );
    assert_eq!(
        r.blk.write_sectors(u64::MAX, &buf),
        Err(BlockError::OutOfRange)
    );
    assert!(r.disk.lock().unwrap().requests.is_empty());
}

#[test]
fn transfers_are_split_at_size_max() {
    let r = rig(32, VERSION_1 | Features::SIZE_MAX.bits(), 1024);
    assert_eq!(r.blk.max_transfer(), 1024);
    let data = vec![7u8; 4096 + 512];
    r.blk.write_sectors(1, &data).unwrap();
    let sizes: Vec<_> = r
        .disk
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(sizes, [1024, 1024, 1024, 1024, 512]);
    assert_eq!(&r.disk.lock().unwrap().data[512..512 + 4608], &data[..]);
}

#[test]
fn flush_reaches_the_device_only_when_it_caches() {
    let r = rig(8, VERSION_1 | Features::FLUSH.bits(), 0);
    r.blk.flush().unwrap();
    assert_eq!(r.disk.lock().unwrap().flushes, 1);
    assert_eq!(r.blk.stats().flushes, 1);

    let r = rig(8, VERSION_1, 0);
    r.blk.flush().unwrap();
    assert!(r.disk.lock().unwrap().requests.is_empty());
}

#[test]
fn read_only_disk_refuses_writes_before_the_device() {
    let r = rig(8, VERSION_1 | Features::RO.bits(), 0);
    assert!(r.blk.read_only());
    assert_eq!(r.blk.write_sectors(0, &[1; 512]), Err(BlockError::ReadOnly));
    assert_eq!(r.blk.flush(), Err(BlockError::ReadOnly));
    assert!(r.disk.lock().unwrap().requests.is_empty());
    let mut buf = [0u8; 512];
    assert_eq!(r.blk.read_sectors(0, &mut buf), Ok(()));
}

#[test]
fn device_errors_are_io_errors_and_the_queue_keeps_working() {
    let r = rig(8, VERSION_1, 0);
    r.disk.lock().unwrap().bad_sector = Some(3);
    let mut buf = [0u8; 1024];
    assert_eq!(r.blk.read_sectors(2, &mut buf), Err(BlockError::Io));
    assert_eq!(r.blk.write_sectors(3, &buf[..512]), Err(BlockError::Io));
    assert_eq!(r.blk.read_sectors(4, &mut buf), Ok(()));
    assert_eq!(r.blk.stats().errors, 2);
}

#[test]
fn requests_sleep_until_the_interrupt() {
    let r = rig(8, VERSION_1, 0);
    r.transport.state.lock().unwrap().deferred = true;
    r.disk.lock().unwrap().data[512] = 0x5a;
    let mut buf = [0u8; 512];
    r.blk.read_sectors(1, &mut buf).unwrap();
    assert_eq!(buf[0], 0x5a);
    assert_eq!(*r.wait.sleeps.lock().unwrap(), 1);

    // The interrupt handler acknowledges the device and wakes the waiters once.
    let wakes = *r.wait.wakes.lock().unwrap();
    assert!(r.blk.handle_interrupt());
    assert_eq!(*r.wait.wakes.lock().unwrap(), wakes + 1);
    assert!(!r.blk.handle_interrupt(), "nothing left to acknowledge");
}

#[test]
fn event_idx_is_taken_when_offered_and_each_request_still_kicks_and_interrupts() {
    let r = rig(8, VERSION_1 | Features::EVENT_IDX.bits(), 0);
    assert!(r.transport.state.lock().unwrap().queues[0].event_idx);
    r.transport.state.lock().unwrap().deferred = true;
    let mut buf = [0u8; 512];
    for sector in 0..5 {
        r.blk.read_sectors(sector, &mut buf).unwrap();
        assert!(r.blk.handle_interrupt());
    }
    let s = r.transport.state.lock().unwrap();
    // One kick and one interrupt per request: the device is idle when each is submitted.
    assert_eq!(s.notifications.len(), 5);
    assert_eq!(s.interrupts.len(), 5);
}

#[test]
fn serial_number_comes_from_get_id() {
    let r = rig(8, VERSION_1, 0);
    let (id, len) = r.blk.serial().unwrap();
    assert_eq!(&id[..len], b"oxv-disk");
}

#[test]
fn max_transfer_is_whole_sectors() {
    assert_eq!(max_transfer(0), DEFAULT_MAX_TRANSFER);
    assert_eq!(max_transfer(1000), 512);
    assert_eq!(max_transfer(100), 512);
    assert_eq!(max_transfer(u32::MAX), DEFAULT_MAX_TRANSFER);
}
