//! virtio devices: finding them, routing their interrupts, and handing them to the rest of
//! the kernel.
//!
//! Discovery (VIRTIO 1.2, 4.1 and 4.2):
//!
//! - **virtio-mmio** (QEMU's `microvm`, Firecracker): the VMM lists each device on the kernel
//!   command line as `virtio_mmio.device=<size>@<base>:<gsi>`, appended after everything else;
//!   boot splits those entries off before decoding the line
//!   ([`oxv_drivers::virtio::split_mmio_devices`]) and passes them to [`init`].
//! - **virtio-pci** (QEMU's `q35`, `pc`): bus 0 is scanned through the legacy configuration
//!   ports ([`pci::PortCam`]); the firmware has assigned the BARs. The device's INTx pin is
//!   routed as q35's chipset wires it ([`oxv_drivers::virtio::q35_intx_gsi`]); no MSI-X.
//!
//! Interrupts: each device's GSI goes, level-triggered, through the I/O APIC to a vector of
//! its own in [`FIRST_VECTOR`]..=[`LAST_VECTOR`] (devices sharing a PCI line share the
//! vector), on the CPU [`crate::smp::device_irq_cpu`] gives it (the lines take the online
//! CPUs in turn). The handler ([`interrupt`]) acknowledges the device before the EOI,
//! wakes the threads sleeping on its requests, and for the NIC calls the network stack's
//! wake-up ([`set_net_wakeup`]).
//!
//! What the kernel takes from here:
//!
//! - disks: [`disk`]`(n)` is the n-th disk as an `Arc<dyn BlockDevice>`, in the order the host
//!   tool attached them (it names disk n `oxv-disk<n>` through virtio-blk's serial number);
//!   `/dev/vda`, `/dev/vdb`... are made from them;
//! - the NIC: [`take_nic`] once, by the network stack; [`net_offloads`] says what the device
//!   computes for it.
//!
//! DMA: the kernel's [`KernelHal`] shares buffers in place when the device can reach them,
//! and otherwise bounces them through a static pool from which each device reserves, when
//! probed, the slots it can have in flight (`hal.rs`, counting in `bounce.rs`); a disk's data
//! buffers that the device cannot reach are staged by [`disk::StagedDisk`] first. So no
//! request allocates memory to reach the device, and memory pressure cannot fail one.
//!
//! Drivers themselves are in `oxv-drivers` ([`oxv_drivers::virtio_blk`],
//! [`oxv_drivers::virtio_net`]); this module is the machine-specific glue.

mod bounce;
mod disk;
mod hal;
mod pci;

use crate::arch::apic;
use crate::sched;
use crate::thread::{ThreadRef, Wake};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use oxv_drivers::virtio::{InterruptWait, MmioDevice, q35_intx_gsi};
use oxv_drivers::virtio_blk::VirtioBlk;
use oxv_drivers::virtio_drivers::device::rng::VirtIORng;
use oxv_drivers::virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use oxv_drivers::virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, PciRoot};
use oxv_drivers::virtio_drivers::transport::pci::{PciTransport, virtio_device_type};
use oxv_drivers::virtio_drivers::transport::{DeviceType, SomeTransport, Transport};
use oxv_drivers::virtio_net::{NetInterrupt, Offloads, VirtioNet};
use oxv_net::nic::Nic;
use oxv_sched::waitq::WaitQueue;
use oxv_vfs::block::BlockDevice;
use spin::Mutex;

pub use hal::KernelHal;

/// Either transport.
type AnyTransport = SomeTransport<'static>;
/// A virtio-blk disk as the kernel holds it.
type Disk = VirtioBlk<KernelHal, AnyTransport>;
/// The virtio-net interface as the kernel holds it.
type Net = VirtioNet<KernelHal, AnyTransport>;

/// The first interrupt vector given to virtio devices (after the ISA vectors 0x30..0x3f).
pub const FIRST_VECTOR: u8 = 0x40;
/// The last one.
pub const LAST_VECTOR: u8 = 0x5f;
/// The serial-number prefix by which the host tool orders disks (`oxv-disk0`, ...).
const DISK_SERIAL_PREFIX: &[u8] = b"oxv-disk";
/// How long a request sleeps before it looks at the device again without an interrupt: a
/// safety net for a lost or misrouted interrupt (a slow request, such as a flush that waits
/// for the host's fdatasync, just sleeps again).
const WAIT_RECHECK_NS: u64 = 10_000_000;

/// Sleeping until a device answers: a wait queue its interrupt handler wakes.
struct DeviceWait {
    waiters: Mutex<WaitQueue<ThreadRef>>,
}

impl DeviceWait {
    fn new() -> Arc<DeviceWait> {
        Arc::new(DeviceWait {
            waiters: Mutex::new(WaitQueue::new()),
        })
    }
}

impl InterruptWait for DeviceWait {
    fn wait_until(&self, done: &mut dyn FnMut() -> bool) {
        // At boot the code running is the idle thread, which cannot sleep: poll (the device
        // completes on QEMU's I/O thread meanwhile).
        if sched::with_running(|t| t.is_idle()) {
            while !done() {
                core::hint::spin_loop();
            }
            return;
        }
        loop {
            let deadline = crate::time::monotonic_ns() + WAIT_RECHECK_NS;
            // `done` runs under the scheduler lock with interrupts off, so the device's
            // interrupt cannot come between the check and the sleep.
            let slept = sched::block_if(Some(deadline), |_, me| {
                if done() {
                    return false;
                }
                self.waiters.lock().push(me.clone());
                true
            });
            match slept {
                None => return,
                Some(Wake::Event) => {}
                // A timeout or a signal: the request is still in flight, so wait on.
                Some(_) => {
                    self.waiters.lock().remove(&sched::current());
                }
            }
        }
    }

    fn wake(&self) {
        let woken = self.waiters.lock().wake_all();
        if !woken.is_empty() {
            sched::with(|s| {
                for t in &woken {
                    s.wake(t, Wake::Event);
                }
            });
        }
    }
}

/// Who gets a vector's interrupt.
enum Handler {
    Disk(Arc<Disk>),
    Net(NetInterrupt<KernelHal, AnyTransport>),
}

struct Route {
    vector: u8,
    gsi: u32,
    handlers: Vec<Handler>,
    /// Bit n set once CPU n took an interrupt of this vector (logged the first time, so a
    /// verbose run shows where each device's interrupts land).
    seen_on: AtomicU64,
}

static ROUTES: Mutex<Vec<Route>> = Mutex::new(Vec::new());
/// Disks by order key (the `n` of `oxv-disk<n>`, or discovery order after those).
static DISKS: Mutex<Vec<(u32, Arc<disk::StagedDisk>)>> = Mutex::new(Vec::new());
static NIC: Mutex<Option<Net>> = Mutex::new(None);
static NET_OFFLOADS: Mutex<Option<Offloads>> = Mutex::new(None);
/// Seed bytes read from a virtio-rng device at probe time, for [`crate::random`].
static ENTROPY: Mutex<Option<[u8; 32]>> = Mutex::new(None);

/// The seed bytes a virtio-rng device gave at boot, once (`None` without such a device).
pub fn take_entropy() -> Option<[u8; 32]> {
    ENTROPY.lock().take()
}
static NET_WAKEUP: Mutex<Option<fn()>> = Mutex::new(None);

/// How an interrupt line is wired.
#[derive(Copy, Clone, Debug)]
struct Line {
    gsi: u32,
    /// PCI INTx lines are active-low; virtio-mmio lines active-high.
    active_low: bool,
}

/// Finds the virtio devices (the `mmio` ones the command line listed, and those on PCI bus
/// 0), sets them up and routes their interrupts. Call once at boot, after the local APIC and
/// the scheduler are up.
pub fn init(mmio: &[MmioDevice]) {
    for dev in mmio {
        if (dev.base & 4095) + dev.size > 4096 {
            kdebug!("virtio: {:#x}: window crosses a page, skipped", dev.base);
            continue;
        }
        let Some(va) = crate::mem::map_mmio(dev.base) else {
            kdebug!("virtio: cannot map {:#x}", dev.base);
            continue;
        };
        let Some(header) = NonNull::new(va as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: `va` maps the device's register window (at most one page, checked above)
        // uncached for the kernel's lifetime, and nothing else in the kernel accesses it.
        let transport = match unsafe { MmioTransport::new(header, dev.size as usize) } {
            Ok(t) => t,
            Err(e) => {
                kdebug!("virtio: {:#x}: {e}", dev.base);
                continue;
            }
        };
        let line = Line {
            gsi: dev.irq,
            active_low: false,
        };
        let version = transport.version();
        kdebug!(
            "virtio: mmio {:#x} gsi {} ({:?})",
            dev.base,
            dev.irq,
            version
        );
        probe(SomeTransport::Mmio(transport), line);
    }
    probe_pci();
    DISKS.lock().sort_by_key(|(key, _)| *key);
    let (reserved, lent) = hal::bounce_pool_use();
    // Nothing is in flight after probing: a slot still lent is a device that kept a buffer.
    kdebug!(
        "virtio: {reserved} of {} bounce slots reserved, {lent} lent",
        hal::POOL_SLOTS
    );
}

/// Scans PCI bus 0 for virtio functions.
fn probe_pci() {
    let mut root = PciRoot::new(pci::PortCam);
    let devices: Vec<_> = root
        .enumerate_bus(0)
        .filter(|(_, info)| virtio_device_type(info).is_some())
        .collect();
    for (df, info) in devices {
        let (_, command) = root.get_status_command(df);
        root.set_command(
            df,
            command | Command::MEMORY_SPACE | Command::BUS_MASTER | Command::IO_SPACE,
        );
        let pin = (pci::PortCam.read_word(df, pci::INTERRUPT_DWORD) >> 8) as u8;
        let Some(gsi) = q35_intx_gsi(df.device, pin) else {
            kdebug!("virtio: pci {df}: no interrupt pin, skipped");
            continue;
        };
        match PciTransport::new::<KernelHal, _>(&mut root, df) {
            Ok(t) => {
                kdebug!("virtio: pci {df} {info} gsi {gsi}");
                probe(
                    SomeTransport::Pci(t),
                    Line {
                        gsi,
                        active_low: true,
                    },
                );
            }
            Err(e) => kdebug!("virtio: pci {df}: {e}"),
        }
    }
}

/// Sets up the driver for one device and routes its interrupt.
fn probe(transport: AnyTransport, line: Line) {
    match transport.device_type() {
        DeviceType::Block => {
            // Before the first request (the serial number below): its header and status are
            // on this stack and bounce.
            if !hal::reserve_bounce_slots(hal::SLOTS_PER_DISK) {
                return kdebug!("virtio-blk: no bounce slots left (too many disks), skipped");
            }
            let staged = VirtioBlk::new(transport, DeviceWait::new())
                .map_err(|e| kdebug!("virtio-blk: {e}"))
                .and_then(|disk| {
                    disk::StagedDisk::new(Arc::new(disk))
                        .ok_or_else(|| kdebug!("virtio-blk: no memory for a staging buffer"))
                });
            let Ok(staged) = staged else {
                // The device is dropped unused: its slots are free for another.
                return hal::unreserve_bounce_slots(hal::SLOTS_PER_DISK);
            };
            let disk = staged.inner().clone();
            if !route(line, Handler::Disk(disk.clone())) {
                kdebug!("virtio-blk: no interrupt route; requests will poll");
            }
            let serial = disk.serial();
            let serial = serial.as_ref().map_or(&[][..], |(id, n)| &id[..*n]);
            let mut disks = DISKS.lock();
            let key = serial
                .strip_prefix(DISK_SERIAL_PREFIX)
                .and_then(|n| core::str::from_utf8(n).ok()?.parse::<u32>().ok())
                .unwrap_or(1000 + disks.len() as u32);
            kdebug!(
                "virtio-blk: {} sectors ({} MiB){}{}, serial {:?}",
                disk.sector_count(),
                disk.capacity() >> 20,
                if disk.read_only() { ", read-only" } else { "" },
                if disk.has_write_cache() {
                    ", write cache"
                } else {
                    ""
                },
                core::str::from_utf8(serial).unwrap_or("?")
            );
            disks.push((key, Arc::new(staged)));
        }
        DeviceType::Network => {
            if NIC.lock().is_some() {
                kdebug!("virtio-net: a second interface, ignored");
                return;
            }
            match VirtioNet::new(transport) {
                Ok(net) => {
                    route(line, Handler::Net(net.interrupt()));
                    let m = net.mac();
                    kdebug!(
                        "virtio-net: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, mtu {}, link {}, {:?}",
                        m[0],
                        m[1],
                        m[2],
                        m[3],
                        m[4],
                        m[5],
                        net.mtu(),
                        if net.link_up() { "up" } else { "down" },
                        net.offloads()
                    );
                    *NET_OFFLOADS.lock() = Some(net.offloads());
                    *NIC.lock() = Some(net);
                }
                Err(e) => kdebug!("virtio-net: {e}"),
            }
        }
        DeviceType::EntropySource => {
            // Read once, by polling, to seed the kernel generator; the device is not kept.
            // The seed is on this stack, so it bounces: a slot for the read in flight.
            if !hal::reserve_bounce_slots(hal::SLOTS_PER_RNG) {
                return kdebug!("virtio-rng: no bounce slot left, skipped");
            }
            read_seed(transport);
            hal::unreserve_bounce_slots(hal::SLOTS_PER_RNG);
        }
        other => kdebug!("virtio: {other:?} device, no driver"),
    }
}

/// Reads [`ENTROPY`]'s seed from the virtio-rng device behind `transport`, by polling.
fn read_seed(transport: AnyTransport) {
    let mut rng = match VirtIORng::<KernelHal, AnyTransport>::new(transport) {
        Ok(rng) => rng,
        Err(e) => return kdebug!("virtio-rng: {e}"),
    };
    let mut seed = [0u8; 32];
    let mut filled = 0;
    // A device may return fewer bytes than asked; a few tries fill the seed.
    for _ in 0..8 {
        match rng.request_entropy(&mut seed[filled..]) {
            Ok(n) => filled += n.min(seed.len() - filled),
            Err(e) => {
                kdebug!("virtio-rng: {e}");
                break;
            }
        }
        if filled == seed.len() {
            *ENTROPY.lock() = Some(seed);
            break;
        }
    }
    kdebug!("virtio-rng: {filled} seed bytes");
}

/// Routes `line` to a vector (its own, or the one already serving the line) and adds
/// `handler` to it. False if no vector or I/O APIC pin was available.
fn route(line: Line, handler: Handler) -> bool {
    let mut routes = ROUTES.lock();
    if let Some(r) = routes.iter_mut().find(|r| r.gsi == line.gsi) {
        r.handlers.push(handler);
        return true;
    }
    let vector = FIRST_VECTOR as usize + routes.len();
    if vector > LAST_VECTOR as usize {
        return false;
    }
    let vector = vector as u8;
    // Each line to a CPU of its own, in turn (see `crate::smp`'s "Device interrupts").
    let (cpu, apic_id) = crate::smp::device_irq_cpu();
    if !apic::route_gsi(
        line.gsi,
        vector,
        line.active_low,
        apic_id,
        crate::mem::map_mmio,
    ) {
        return false;
    }
    kdebug!("virtio: gsi {} -> cpu {cpu} vector {vector:#x}", line.gsi);
    routes.push(Route {
        vector,
        gsi: line.gsi,
        handlers: alloc::vec![handler],
        seen_on: AtomicU64::new(0),
    });
    true
}

/// The routed virtio lines, for `/proc/interrupts`.
pub fn irq_lines() -> Vec<crate::irqstat::DeviceLine> {
    ROUTES
        .lock()
        .iter()
        .map(|r| crate::irqstat::DeviceLine {
            vector: r.vector,
            gsi: r.gsi,
            flow: "fasteoi",
            names: r
                .handlers
                .iter()
                .map(|h| match h {
                    Handler::Disk(_) => "virtio-blk",
                    Handler::Net(_) => "virtio-net",
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect()
}

/// The virtio-net device's counters (kicks, interrupts, frames), if there is one.
pub fn net_stats() -> Option<oxv_drivers::virtio_net::NetStats> {
    ROUTES.lock().iter().find_map(|r| {
        r.handlers.iter().find_map(|h| match h {
            Handler::Net(n) => Some(n.stats()),
            Handler::Disk(_) => None,
        })
    })
}

/// Whether `vector` belongs to a virtio device.
pub fn owns_vector(vector: u64) -> bool {
    (u64::from(FIRST_VECTOR)..=u64::from(LAST_VECTOR)).contains(&vector)
}

/// A virtio vector's interrupt: acknowledges its devices (before the EOI, since the line is
/// level-triggered) and wakes whoever waits on them.
pub fn interrupt(vector: u64) {
    let mut net = false;
    let cpu = crate::arch::percpu::this_cpu().cpu_id;
    for r in ROUTES
        .lock()
        .iter()
        .filter(|r| u64::from(r.vector) == vector)
    {
        if r.seen_on.fetch_or(1 << cpu, Ordering::Relaxed) & (1 << cpu) == 0 {
            kdebug!("virtio: gsi {} interrupts cpu {cpu}", r.gsi);
        }
        for h in &r.handlers {
            match h {
                Handler::Disk(d) => {
                    d.handle_interrupt();
                }
                Handler::Net(n) => net |= n.handle(),
            }
        }
    }
    apic::eoi();
    if net {
        if let Some(wake) = *NET_WAKEUP.lock() {
            wake();
        }
    }
}

/// The n-th disk (0 is `/dev/vda`), in the order the host attached them.
pub fn disk(n: usize) -> Option<Arc<dyn BlockDevice>> {
    let disks = DISKS.lock();
    let (_, d) = disks.get(n)?;
    Some(d.clone() as Arc<dyn BlockDevice>)
}

/// How many disks there are.
pub fn disk_count() -> usize {
    DISKS.lock().len()
}

/// The NIC, for the network stack: `Some` once, `None` afterwards or without one. Frames
/// arriving raise an interrupt that calls the function given to [`set_net_wakeup`]; the stack
/// then calls [`Nic::receive`] until it returns `None`.
#[allow(
    dead_code,
    reason = "the network stack takes the NIC once it is wired in"
)]
pub fn take_nic() -> Option<Box<dyn Nic + Send>> {
    let net = NIC.lock().take()?;
    Some(Box::new(net))
}

/// What the NIC computes for the stack (checksums), if there is one.
#[allow(dead_code, reason = "the network stack reads it once it is wired in")]
pub fn net_offloads() -> Option<Offloads> {
    *NET_OFFLOADS.lock()
}

/// Sets what the NIC's interrupt calls (in interrupt context, interrupts off: it must only
/// wake threads, e.g. the network stack's poller, never block).
#[allow(
    dead_code,
    reason = "the network stack registers its poller once it is wired in"
)]
pub fn set_net_wakeup(wake: fn()) {
    *NET_WAKEUP.lock() = Some(wake);
}

/// The kernel-option key the host tool uses to tell where disk n is mounted: one `disk` option
/// per attached disk, in order; `disk=/mnt` mounts it there, a bare `disk` attaches it
/// unmounted (readable as `/dev/vdX`), and `disk=/` makes it the root file system (see
/// [`root_disk`]). Whether it is read-only is the device's own flag
/// (`VIRTIO_BLK_F_RO`, from `--disk IMG:MNT:ro`).
#[allow(
    dead_code,
    reason = "read by the disk mounting at boot once ext2 is wired in"
)]
pub const DISK_OPTION: &str = "disk";

/// The mount point of each disk, from the kernel options (see [`DISK_OPTION`]).
#[allow(
    dead_code,
    reason = "read by the disk mounting at boot once ext2 is wired in"
)]
pub fn disk_mount_points(args: &oxv_abi::cmdline::BootArgs) -> Vec<Option<Vec<u8>>> {
    args.options
        .iter()
        .filter(|(k, _)| k == DISK_OPTION)
        .map(|(_, v)| v.clone().filter(|v| !v.is_empty()))
        .collect()
}

/// The disk whose mount point is `/` (the first such), which becomes the root file system
/// in place of the initramfs (`oxv image --disk-image`, `oxv run --disk IMG:/`).
pub fn root_disk(args: &oxv_abi::cmdline::BootArgs) -> Option<usize> {
    disk_mount_points(args)
        .iter()
        .position(|p| p.as_deref() == Some(&b"/"[..]))
}

/// The self-test behind the `net_selftest` kernel option: sends an ARP request for QEMU
/// user networking's gateway (10.0.2.2) and logs the answer. Returns whether one came within
/// a second. Runs at boot, before the NIC is taken.
pub fn net_selftest() -> bool {
    const OUR_IP: [u8; 4] = [10, 0, 2, 15];
    const GATEWAY: [u8; 4] = [10, 0, 2, 2];
    let mut guard = NIC.lock();
    let Some(nic) = guard.as_mut() else {
        kprintln!("oxv: net self-test: no NIC");
        return false;
    };
    let mac = nic.mac();
    let mut request = [0u8; 42];
    request[0..6].fill(0xff);
    request[6..12].copy_from_slice(&mac);
    request[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    // ARP (RFC 826): Ethernet, IPv4, lengths 6 and 4, opcode 1 (request).
    request[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    request[22..28].copy_from_slice(&mac);
    request[28..32].copy_from_slice(&OUR_IP);
    request[38..42].copy_from_slice(&GATEWAY);
    if let Err(e) = nic.transmit(&request) {
        kprintln!("oxv: net self-test: transmit failed: {e}");
        return false;
    }
    nic.flush();
    let start = crate::time::monotonic_ns();
    let mut buf = [0u8; 1514];
    while crate::time::monotonic_ns() - start < 1_000_000_000 {
        let Some(got) = nic.receive(&mut buf) else {
            core::hint::spin_loop();
            continue;
        };
        let Ok(n) = got else { continue };
        let f = &buf[..n];
        if n >= 42 && f[12..14] == [8, 6] && f[20..22] == [0, 2] && f[28..32] == GATEWAY {
            let m = &f[22..28];
            kprintln!(
                "oxv: net self-test: 10.0.2.2 is at {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} ({} µs)",
                m[0],
                m[1],
                m[2],
                m[3],
                m[4],
                m[5],
                (crate::time::monotonic_ns() - start) / 1000
            );
            return true;
        }
    }
    kprintln!("oxv: net self-test: no ARP reply from 10.0.2.2");
    false
}
