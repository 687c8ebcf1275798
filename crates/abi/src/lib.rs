#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod cmdline;
pub mod errno;
pub mod exec;
pub mod linux;
pub mod script;
pub mod stack;
pub mod strace;
pub mod syscall;
pub mod user;

pub use errno::{Errno, SysResult};
pub use syscall::{Syscall, SyscallArgs, Sysno};
pub use user::{Fault, UserAddr, UserBuf, UserCStr, UserMemory, UserPtr};
