//! # oxv-abi: the Linux x86_64 system-call ABI for Rust kernels
//!
//! `oxv-abi` is the `-api` crate of the oxv unikernel: it holds the types that every subsystem
//! shares at the system-call boundary, and nothing that runs a system call. It gives:
//!
//! - [`Errno`] and [`SysResult`]: the Linux error numbers, as an enum with the real values;
//! - [`user`]: user pointers ([`UserPtr`], [`UserBuf`], [`UserCStr`]) that are checked only
//!   when a [`UserMemory`] copies through them, so a bad pointer is `EFAULT`, never a crash;
//!
//! It needs nothing from its embedder but `alloc`. It is `no_std` and contains no `unsafe`.
//!
//! ## Design principles
//!
//! 1. Decoding never fails: a syscall's registers become typed values without touching memory;
//!    checks happen when memory is copied, in the order Linux makes them.
//! 2. Numbers and layouts come from `linux-raw-sys` and `syscalls`, or are pinned to them by
//!    compile-time asserts; none is written by hand in a subsystem.
//! 3. Raw `#[repr(C)]` structs are views; typed Rust values are what handlers work with.
//!
//! ## Example
//!
//! ```
//! use oxv_abi::{Errno, UserMemory, UserPtr, user::fake::FakeUserMemory};
//!
//! let mut mem = FakeUserMemory::new();
//! mem.map(0x1000, 0x1000, true);
//! let p: UserPtr<u32> = UserPtr::new(0x1000);
//! p.write(&mut mem, &7).unwrap();
//! assert_eq!(p.read(&mem), Ok(7));
//! // An unmapped pointer is a fault, which handlers turn into EFAULT with `?`.
//! let bad: UserPtr<u32> = UserPtr::new(0x9000);
//! assert_eq!(bad.read(&mem).map_err(Errno::from), Err(Errno::EFAULT));
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod cmdline;
pub mod errno;
pub mod exec;
pub mod linux;
pub mod stack;
pub mod strace;
pub mod syscall;
pub mod user;

pub use errno::{Errno, SysResult};
pub use user::{Fault, UserAddr, UserBuf, UserCStr, UserMemory, UserPtr};
