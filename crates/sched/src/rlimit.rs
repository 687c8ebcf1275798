//! Resource limits as getrlimit(2), setrlimit(2) and prlimit(2) see them.
//!
//! [`Rlimits`] is the per-process table of `RLIM_NLIMITS` soft/hard pairs. Its starting values
//! are Linux's `INIT_RLIMITS` (`include/asm-generic/resource.h`) plus the two that
//! `fork_init` sizes from memory (`RLIMIT_NPROC`, `RLIMIT_SIGPENDING`): what a program started
//! by a Linux init sees when nothing (no shell `ulimit`, no systemd `LimitNOFILE=`) changed
//! them.
//!
//! `RLIMIT_NOFILE` is 1024 soft / 4096 hard (`INR_OPEN_CUR` / `INR_OPEN_MAX`). systemd and
//! container runtimes often raise the hard limit (to 524288, or more), but the kernel's value
//! is what a process sees with nothing in between, which is oxv's situation; the soft limit,
//! which programs actually run into, is 1024 either way. An embedder that wants other values
//! sets them with [`Rlimits::set`].
//!
//! The table only records limits. Enforcing one (`RLIMIT_NOFILE` in the fd table,
//! `RLIMIT_STACK` in the stack layout, the CPU-time signals of `RLIMIT_CPU`, ...) is the
//! business of the subsystem that owns the resource.
//!
//! The app runs as root, so raising a hard limit needs no privilege check: with
//! `CAP_SYS_RESOURCE` Linux allows it too.

use core::fmt;
use linux_raw_sys::general as raw;
use oxv_abi::Errno;
use oxv_abi::linux::system::{RLIM_INFINITY, Rlimit64, RlimitResource};

/// Linux's default `fs.nr_open` (`sysctl_nr_open` in `fs/file.c`): the largest hard
/// `RLIMIT_NOFILE` anyone may set, root included.
pub const NR_OPEN: u64 = 1024 * 1024;

/// `MQ_BYTES_MAX` (`include/uapi/linux/mqueue.h`): the initial `RLIMIT_MSGQUEUE`. Not in
/// `linux-raw-sys`, so written out here.
pub const MQ_BYTES_MAX: u64 = 819_200;

/// The x86_64 kernel stack size (`THREAD_SIZE`, 16 KiB without KASAN), which Linux uses to
/// size its thread limit.
const THREAD_SIZE: u64 = 16 * 1024;

/// Linux's floor on the thread limit (`MIN_THREADS` in `kernel/fork.c`).
const MIN_THREADS: u64 = 20;

/// Why setrlimit(2) or prlimit(2) refused a new limit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RlimitError {
    /// The soft limit exceeds the hard limit (`EINVAL`).
    SoftAboveHard(Rlimit64),
    /// A hard `RLIMIT_NOFILE` above [`NR_OPEN`] (`EPERM`, even for root).
    AboveNrOpen(u64),
}

impl fmt::Display for RlimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RlimitError::SoftAboveHard(l) => {
                write!(
                    f,
                    "soft limit {} above hard limit {}",
                    l.rlim_cur, l.rlim_max
                )
            }
            RlimitError::AboveNrOpen(max) => {
                write!(
                    f,
                    "RLIMIT_NOFILE hard limit {max} above fs.nr_open ({NR_OPEN})"
                )
            }
        }
    }
}

impl core::error::Error for RlimitError {}

impl From<RlimitError> for Errno {
    fn from(e: RlimitError) -> Errno {
        match e {
            RlimitError::SoftAboveHard(_) => Errno::EINVAL,
            RlimitError::AboveNrOpen(_) => Errno::EPERM,
        }
    }
}

const RLIM_NLIMITS: usize = raw::RLIM_NLIMITS as usize;

/// The resource limits of the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rlimits {
    limits: [Rlimit64; RLIM_NLIMITS],
}

impl Rlimits {
    /// Linux's initial limits for a machine with `ram_bytes` of usable memory (it decides
    /// `RLIMIT_NPROC` and `RLIMIT_SIGPENDING`; both come out as `ram_bytes / 256 KiB`, at
    /// least 10).
    pub fn new(ram_bytes: u64) -> Rlimits {
        let both = |n: u64| Rlimit64 {
            rlim_cur: n,
            rlim_max: n,
        };
        let inf = Rlimit64::INFINITE;
        // Linux's fork_init: a thread limit such that kernel stacks use at most 1/8 of memory,
        // half of which a single user may have.
        let max_threads =
            (ram_bytes / (THREAD_SIZE * 8)).clamp(MIN_THREADS, raw::FUTEX_TID_MASK as u64);
        let nproc = both(max_threads / 2);
        let mut limits = [inf; RLIM_NLIMITS];
        for &r in RlimitResource::ALL {
            limits[r as usize] = match r {
                RlimitResource::Cpu
                | RlimitResource::Fsize
                | RlimitResource::Data
                | RlimitResource::Rss
                | RlimitResource::As
                | RlimitResource::Locks
                | RlimitResource::Rttime => inf,
                RlimitResource::Stack => Rlimit64 {
                    rlim_cur: raw::_STK_LIM as u64,
                    rlim_max: RLIM_INFINITY,
                },
                RlimitResource::Core => Rlimit64 {
                    rlim_cur: 0,
                    rlim_max: RLIM_INFINITY,
                },
                RlimitResource::Nproc | RlimitResource::Sigpending => nproc,
                RlimitResource::Nofile => Rlimit64 {
                    rlim_cur: raw::INR_OPEN_CUR as u64,
                    rlim_max: raw::INR_OPEN_MAX as u64,
                },
                RlimitResource::Memlock => both(raw::MLOCK_LIMIT as u64),
                RlimitResource::Msgqueue => both(MQ_BYTES_MAX),
                RlimitResource::Nice | RlimitResource::Rtprio => both(0),
            };
        }
        Rlimits { limits }
    }

    /// The soft and hard limit of `resource`.
    pub fn get(&self, resource: RlimitResource) -> Rlimit64 {
        self.limits[resource as usize]
    }

    /// The soft limit of `resource`, the one the kernel enforces.
    pub fn soft(&self, resource: RlimitResource) -> u64 {
        self.get(resource).rlim_cur
    }

    /// Sets `resource` to `new` and returns the previous limits, with Linux's checks
    /// (`do_prlimit`): soft at most hard, and a hard `RLIMIT_NOFILE` at most [`NR_OPEN`].
    /// Raising a hard limit is allowed (the app is root).
    pub fn set(
        &mut self,
        resource: RlimitResource,
        new: Rlimit64,
    ) -> Result<Rlimit64, RlimitError> {
        if new.rlim_cur > new.rlim_max {
            return Err(RlimitError::SoftAboveHard(new));
        }
        if resource == RlimitResource::Nofile && new.rlim_max > NR_OPEN {
            return Err(RlimitError::AboveNrOpen(new.rlim_max));
        }
        Ok(core::mem::replace(&mut self.limits[resource as usize], new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn initial_limits_are_linux_init_rlimits() {
        let l = Rlimits::new(GIB);
        let lim = |cur, max| Rlimit64 {
            rlim_cur: cur,
            rlim_max: max,
        };
        assert_eq!(l.get(RlimitResource::Stack), lim(8 << 20, RLIM_INFINITY));
        assert_eq!(l.get(RlimitResource::Nofile), lim(1024, 4096));
        assert_eq!(l.get(RlimitResource::Core), lim(0, RLIM_INFINITY));
        assert_eq!(l.get(RlimitResource::Memlock), lim(8 << 20, 8 << 20));
        assert_eq!(l.get(RlimitResource::Msgqueue), lim(819_200, 819_200));
        assert_eq!(l.get(RlimitResource::Nice), lim(0, 0));
        assert_eq!(l.get(RlimitResource::Rtprio), lim(0, 0));
        for r in [
            RlimitResource::Cpu,
            RlimitResource::Fsize,
            RlimitResource::Data,
            RlimitResource::Rss,
            RlimitResource::As,
            RlimitResource::Locks,
            RlimitResource::Rttime,
        ] {
            assert_eq!(l.get(r), Rlimit64::INFINITE, "{}", r.name());
        }
        assert_eq!(l.soft(RlimitResource::Nofile), 1024);
    }

    #[test]
    fn nproc_and_sigpending_scale_with_memory() {
        // 1 GiB / (16 KiB * 8) = 8192 threads; half of that per user.
        let l = Rlimits::new(GIB);
        assert_eq!(
            l.get(RlimitResource::Nproc),
            Rlimit64 {
                rlim_cur: 4096,
                rlim_max: 4096
            }
        );
        assert_eq!(
            l.get(RlimitResource::Sigpending),
            l.get(RlimitResource::Nproc)
        );
        assert_eq!(Rlimits::new(16 * GIB).soft(RlimitResource::Nproc), 65_536);
        assert_eq!(
            Rlimits::new(0).soft(RlimitResource::Nproc),
            10,
            "MIN_THREADS / 2"
        );
        assert_eq!(
            Rlimits::new(u64::MAX).soft(RlimitResource::Nproc),
            (raw::FUTEX_TID_MASK / 2) as u64
        );
    }

    #[test]
    fn set_checks_soft_against_hard_and_nofile_against_nr_open() {
        let mut l = Rlimits::new(GIB);
        let before = l.clone();
        let bad = Rlimit64 {
            rlim_cur: 10,
            rlim_max: 9,
        };
        assert_eq!(
            l.set(RlimitResource::Data, bad),
            Err(RlimitError::SoftAboveHard(bad))
        );
        let too_many = Rlimit64 {
            rlim_cur: 1024,
            rlim_max: NR_OPEN + 1,
        };
        assert_eq!(
            l.set(RlimitResource::Nofile, too_many),
            Err(RlimitError::AboveNrOpen(NR_OPEN + 1))
        );
        assert_eq!(l, before, "a refused limit changes nothing");
        assert_eq!(Errno::from(RlimitError::SoftAboveHard(bad)), Errno::EINVAL);
        assert_eq!(Errno::from(RlimitError::AboveNrOpen(0)), Errno::EPERM);
        // Other resources have no ceiling, and raising a hard limit is allowed.
        let big = Rlimit64 {
            rlim_cur: NR_OPEN + 1,
            rlim_max: RLIM_INFINITY,
        };
        assert_eq!(
            l.set(RlimitResource::Memlock, big),
            Ok(before.get(RlimitResource::Memlock))
        );
        let max = Rlimit64 {
            rlim_cur: NR_OPEN,
            rlim_max: NR_OPEN,
        };
        assert_eq!(
            l.set(RlimitResource::Nofile, max),
            Ok(before.get(RlimitResource::Nofile))
        );
        assert_eq!(l.get(RlimitResource::Nofile), max);
    }
}
