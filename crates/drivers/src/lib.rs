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
//! The crate holds no global state and does not allocate; the embedder owns every driver
//! instance. virtio devices (block, net, console, rng) come later, over `virtio-drivers`.
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
