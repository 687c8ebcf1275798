//! # oxv-net: Linux sockets for Rust kernels
//!
//! `oxv-net` will hold oxv's socket layer: TCP and UDP over smoltcp, loopback, AF_UNIX, with
//! Linux semantics, as VFS files. The walking skeleton gives its lowest layer, the seam every
//! network device plugs into:
//!
//! - [`nic::Nic`]: a network interface as the socket layer sees it — send one frame, take
//!   one received frame, report capabilities. Drivers (virtio-net) implement it; the stack
//!   never touches hardware.
//! - [`nic::Loopback`]: an in-memory interface whose sent frames come back as received ones,
//!   for `127.0.0.1` and for tests.
//!
//! Socket system calls return `ENOSYS` until the networking issue lands (see
//! `docs/syscalls.md`).
//!
//! ## Example
//!
//! ```
//! use oxv_net::nic::{Loopback, Nic};
//!
//! let mut lo = Loopback::new(1500);
//! lo.transmit(b"frame").unwrap();
//! let mut buf = [0u8; 1500];
//! let n = lo.receive(&mut buf).unwrap().unwrap();
//! assert_eq!(&buf[..n], b"frame");
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod nic;
