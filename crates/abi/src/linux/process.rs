//! Process and thread creation: `clone(2)` flags and clone3's `struct clone_args`.

use linux_raw_sys::general as raw;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

macro_rules! flags {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "`")]
            pub const $name: u64 = raw::$name as u64;
        )*
    };
}

flags! {
    CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK,
    CLONE_PARENT, CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID, CLONE_DETACHED, CLONE_UNTRACED, CLONE_CHILD_SETTID, CLONE_NEWCGROUP,
    CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_IO,
    CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP, CLONE_NEWTIME,
}

/// The low byte of clone(2)'s flags: the signal sent to the parent when the child exits.
pub const CSIGNAL: u64 = 0xff;

/// The smallest `struct clone_args` clone3(2) accepts.
pub const CLONE_ARGS_SIZE_VER0: usize = raw::CLONE_ARGS_SIZE_VER0 as usize;

/// clone3(2)'s argument block (the latest version this crate knows, 88 bytes).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CloneArgs {
    /// `CLONE_*` flags (without the exit signal).
    pub flags: u64,
    /// Where to store a pidfd (`CLONE_PIDFD`).
    pub pidfd: u64,
    /// `CLONE_CHILD_SETTID` / `CLONE_CHILD_CLEARTID` address.
    pub child_tid: u64,
    /// `CLONE_PARENT_SETTID` address.
    pub parent_tid: u64,
    /// Signal to the parent at the child's exit.
    pub exit_signal: u64,
    /// Lowest address of the child's stack.
    pub stack: u64,
    /// Size of the child's stack.
    pub stack_size: u64,
    /// `CLONE_SETTLS` value.
    pub tls: u64,
    /// PIDs to request (namespaces).
    pub set_tid: u64,
    /// Entries at `set_tid`.
    pub set_tid_size: u64,
    /// cgroup fd (`CLONE_INTO_CGROUP`).
    pub cgroup: u64,
}

const _: () = assert!(core::mem::size_of::<CloneArgs>() == raw::CLONE_ARGS_SIZE_VER2 as usize);
const _: () = assert!(core::mem::size_of::<CloneArgs>() == core::mem::size_of::<raw::clone_args>());
const _: () =
    assert!(core::mem::offset_of!(CloneArgs, tls) == core::mem::offset_of!(raw::clone_args, tls));
const _: () = assert!(
    core::mem::offset_of!(CloneArgs, cgroup) == core::mem::offset_of!(raw::clone_args, cgroup)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(CLONE_VM, 0x100);
        assert_eq!(CLONE_THREAD, 0x10000);
        assert_eq!(CLONE_CLEAR_SIGHAND, 1 << 32);
        assert_eq!(CLONE_ARGS_SIZE_VER0, 64);
    }
}
