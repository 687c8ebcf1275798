#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod clock;
pub mod cpu_lock;
pub mod futex;
pub mod kernel_lock;
pub mod rlimit;
pub mod rseq;
pub mod runqueue;
pub mod signal;
pub mod sleep;
pub mod syscalls;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod timer;
pub mod waitq;
