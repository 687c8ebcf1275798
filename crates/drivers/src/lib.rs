//! # oxv-drivers: small device drivers for Rust unikernels
//!
//! Drivers for the legacy PC devices a VM offers before any bus is probed, each generic over
//! a narrow hardware seam so that it runs against a fake in host tests:
//!
//! - [`port::PortIo`]: x86 I/O-port access. The embedder implements it with `in`/`out`
//!   instructions; [`port::fake::FakePorts`] records accesses for tests.
//! - [`uart16550::Uart16550`]: the 16550 serial port (COM1..4), polled.
//! - [`debugcon::DebugCon`]: QEMU's `isa-debugcon` byte sink (one port write per byte, never
//!   drops data, no flow control needed).
//! - [`debug_exit::DebugExit`]: QEMU's `isa-debug-exit`, which ends the VM.
//! - [`rtc::CmosRtc`]: the MC146818 real-time clock, read once at boot for `CLOCK_REALTIME`.
//! - [`pit::Pit`]: the 8254 timer, used as a reference to calibrate the TSC.
//! - [`pic`]: masks the legacy 8259 interrupt controllers.
//!
//! And the virtio devices, over the rings and transports of [`virtio_drivers`] (re-exported):
//!
//! - [`virtio_blk::VirtioBlk`]: a disk, as an [`oxv_vfs::block::BlockDevice`];
//! - [`virtio_net::VirtioNet`]: an Ethernet interface, as an [`oxv_net::nic::Nic`];
//! - [`virtio`]: what they share: [`virtio::InterruptWait`], through which a request sleeps
//!   until the device interrupts, the `virtio_mmio.device=` command-line parser, and
//!   [`virtio::notify::NotifyQueue`], a virtqueue with notification suppression by flags or
//!   by event index (`VIRTIO_F_EVENT_IDX`), for which the embedder's `Hal` also implements
//!   [`virtio::notify::DmaMemory`].
//!
//! A virtio driver is generic over the embedder's `virtio_drivers::Hal` (DMA memory) and a
//! `Transport` (MMIO or PCI), and is tested on the host against a device played by the test
//! (`virtio/fake.rs`). Probing buses and routing interrupts is the embedder's job.
//!
//! The crate holds no global state; the embedder owns every driver instance. The legacy
//! drivers do not allocate; the virtio ones allocate their rings and buffers once, at setup.
//! `unsafe` is confined to the two virtio driver modules, where buffers are lent to a device,
//! and to `virtio::notify`, which reads and writes the rings' event indexes.
//!
//! ## Example
//!
//! ```
//! use oxv_drivers::{debugcon::DebugCon, port::fake::FakePorts};
//!
//! let ports = FakePorts::new();
//! let out = DebugCon::new(&ports, 0xe9);
//! out.write(b"hi");
//! assert_eq!(ports.written(0xe9), b"hi");
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod debug_exit;
pub mod debugcon;
pub mod pic;
pub mod pit;
pub mod port;
pub mod rtc;
pub mod uart16550;
pub mod virtio;
/// The virtio-drivers crate the virtio drivers are built on, for embedders' `Hal` and transports.
pub use virtio_drivers;
#[allow(unsafe_code)]
// Sharing caller buffers with a device: virtqueue add/pop (see the SAFETY notes).
pub mod virtio_blk;
#[allow(unsafe_code)] // Receive and transmit buffers owned by the driver while the device has them.
pub mod virtio_net;
