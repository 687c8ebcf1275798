//! Whole-system and per-process information: uname(2)'s `struct new_utsname`, sysinfo(2)'s
//! `struct sysinfo`, the rlimits of getrlimit(2)/prlimit64(2), and arch_prctl(2)'s codes.
//!
//! getrlimit(2) and setrlimit(2) take `struct rlimit` (two `unsigned long`), prlimit64(2)
//! takes `struct rlimit64` (two `u64`); on x86_64 these are the same bytes, so both use
//! [`Rlimit64`].
//!
//! `linux-raw-sys` has no `ARCH_*` constant except `ARCH_SET_FS`; the others are defined from
//! it, following `arch/x86/include/uapi/asm/prctl.h` (`0x1001..=0x1004`).

use crate::errno::Errno;
use linux_raw_sys::general as raw;
use linux_raw_sys::system as sys;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The size of each [`Utsname`] field, including its NUL (`__NEW_UTS_LEN + 1`).
pub const UTS_FIELD_LEN: usize = sys::__NEW_UTS_LEN as usize + 1;

/// `struct new_utsname` (uname(2)): six NUL-terminated fields of 65 bytes.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Utsname {
    /// Operating system name (`"Linux"` for compatibility).
    pub sysname: [u8; UTS_FIELD_LEN],
    /// Host name.
    pub nodename: [u8; UTS_FIELD_LEN],
    /// Kernel release (glibc checks it against its minimum kernel version).
    pub release: [u8; UTS_FIELD_LEN],
    /// Kernel version string.
    pub version: [u8; UTS_FIELD_LEN],
    /// Hardware name (`"x86_64"`).
    pub machine: [u8; UTS_FIELD_LEN],
    /// NIS domain name.
    pub domainname: [u8; UTS_FIELD_LEN],
}

const _: () = {
    use core::mem::{offset_of, size_of};
    type U = sys::new_utsname;
    assert!(size_of::<Utsname>() == size_of::<U>());
    assert!(offset_of!(Utsname, nodename) == offset_of!(U, nodename));
    assert!(offset_of!(Utsname, release) == offset_of!(U, release));
    assert!(offset_of!(Utsname, version) == offset_of!(U, version));
    assert!(offset_of!(Utsname, machine) == offset_of!(U, machine));
    assert!(offset_of!(Utsname, domainname) == offset_of!(U, domainname));
};

impl Utsname {
    /// Builds the struct from its six fields, each truncated to 64 bytes and NUL-padded.
    pub fn new(
        sysname: &[u8],
        nodename: &[u8],
        release: &[u8],
        version: &[u8],
        machine: &[u8],
        domainname: &[u8],
    ) -> Utsname {
        Utsname {
            sysname: uts_field(sysname),
            nodename: uts_field(nodename),
            release: uts_field(release),
            version: uts_field(version),
            machine: uts_field(machine),
            domainname: uts_field(domainname),
        }
    }
}

/// A field value truncated to `UTS_FIELD_LEN - 1` bytes, so a NUL always ends it.
fn uts_field(v: &[u8]) -> [u8; UTS_FIELD_LEN] {
    let mut f = [0u8; UTS_FIELD_LEN];
    let n = v.len().min(UTS_FIELD_LEN - 1);
    f[..n].copy_from_slice(&v[..n]);
    f
}

/// `RLIM_INFINITY` / `RLIM64_INFINITY`: no limit.
pub const RLIM_INFINITY: u64 = u64::MAX;

const _: () = {
    // linux-raw-sys spells both as the `int` -1 ("~0UL" in the header).
    assert!(raw::RLIM_INFINITY as i64 as u64 == RLIM_INFINITY);
    assert!(raw::RLIM64_INFINITY as i64 as u64 == RLIM_INFINITY);
};

/// `struct rlimit64` (and, on x86_64, `struct rlimit`): soft and hard limits.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Rlimit64 {
    /// Soft limit (what the kernel enforces).
    pub rlim_cur: u64,
    /// Hard limit (ceiling for the soft limit).
    pub rlim_max: u64,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Rlimit64>() == size_of::<raw::rlimit64>());
    assert!(offset_of!(Rlimit64, rlim_max) == offset_of!(raw::rlimit64, rlim_max));
    assert!(size_of::<Rlimit64>() == size_of::<raw::rlimit>());
    assert!(offset_of!(Rlimit64, rlim_max) == offset_of!(raw::rlimit, rlim_max));
};

impl Rlimit64 {
    /// Both limits infinite.
    pub const INFINITE: Rlimit64 = Rlimit64 {
        rlim_cur: RLIM_INFINITY,
        rlim_max: RLIM_INFINITY,
    };

    /// setrlimit(2)'s check: the soft limit may not exceed the hard limit (`EINVAL`).
    pub const fn validate(self) -> Result<Rlimit64, Errno> {
        if self.rlim_cur > self.rlim_max {
            Err(Errno::EINVAL)
        } else {
            Ok(self)
        }
    }
}

macro_rules! rlimits {
    ($($variant:ident = $name:ident),* $(,)?) => {
        /// A resource getrlimit(2) and prlimit64(2) know (`RLIMIT_*`).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum RlimitResource {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                $variant = raw::$name,
            )*
        }

        impl RlimitResource {
            /// Every resource, in numeric order (`RLIM_NLIMITS` of them).
            pub const ALL: &'static [RlimitResource] = &[$(RlimitResource::$variant),*];

            /// The Linux name (`"RLIMIT_NOFILE"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(RlimitResource::$variant => stringify!($name),)*
                }
            }
        }

        impl TryFrom<u32> for RlimitResource {
            type Error = Errno;
            /// `EINVAL` for `resource >= RLIM_NLIMITS`, as getrlimit(2) returns.
            fn try_from(r: u32) -> Result<RlimitResource, Errno> {
                $(
                    if r == raw::$name {
                        return Ok(RlimitResource::$variant);
                    }
                )*
                Err(Errno::EINVAL)
            }
        }
    };
}

rlimits! {
    Cpu = RLIMIT_CPU,
    Fsize = RLIMIT_FSIZE,
    Data = RLIMIT_DATA,
    Stack = RLIMIT_STACK,
    Core = RLIMIT_CORE,
    Rss = RLIMIT_RSS,
    Nproc = RLIMIT_NPROC,
    Nofile = RLIMIT_NOFILE,
    Memlock = RLIMIT_MEMLOCK,
    As = RLIMIT_AS,
    Locks = RLIMIT_LOCKS,
    Sigpending = RLIMIT_SIGPENDING,
    Msgqueue = RLIMIT_MSGQUEUE,
    Nice = RLIMIT_NICE,
    Rtprio = RLIMIT_RTPRIO,
    Rttime = RLIMIT_RTTIME,
}

const _: () = assert!(RlimitResource::ALL.len() == raw::RLIM_NLIMITS as usize);

/// `struct sysinfo` (sysinfo(2)), with the C struct's implicit padding made explicit.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Sysinfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// 1, 5 and 15 minute load averages, scaled by `1 << SI_LOAD_SHIFT`.
    pub loads: [u64; 3],
    /// Total usable memory, in `mem_unit`s.
    pub totalram: u64,
    /// Free memory.
    pub freeram: u64,
    /// Shared memory.
    pub sharedram: u64,
    /// Memory used by buffers.
    pub bufferram: u64,
    /// Total swap.
    pub totalswap: u64,
    /// Free swap.
    pub freeswap: u64,
    /// Number of processes.
    pub procs: u16,
    /// Explicit padding (`pad` in the C struct).
    pub pad: u16,
    /// Implicit padding before `totalhigh`, always 0.
    pub _pad2: u32,
    /// Total high memory (0 on 64-bit).
    pub totalhigh: u64,
    /// Free high memory.
    pub freehigh: u64,
    /// Size of the unit the memory fields count, in bytes.
    pub mem_unit: u32,
    /// Implicit tail padding (the C struct's `_f` is empty on 64-bit), always 0.
    pub _tail: u32,
}

/// `SI_LOAD_SHIFT`: the fixed-point shift of [`Sysinfo::loads`].
pub const SI_LOAD_SHIFT: u32 = sys::SI_LOAD_SHIFT;

const _: () = {
    use core::mem::{offset_of, size_of};
    type S = sys::sysinfo;
    assert!(size_of::<Sysinfo>() == size_of::<S>());
    assert!(offset_of!(Sysinfo, loads) == offset_of!(S, loads));
    assert!(offset_of!(Sysinfo, totalram) == offset_of!(S, totalram));
    assert!(offset_of!(Sysinfo, freeswap) == offset_of!(S, freeswap));
    assert!(offset_of!(Sysinfo, procs) == offset_of!(S, procs));
    assert!(offset_of!(Sysinfo, pad) == offset_of!(S, pad));
    assert!(offset_of!(Sysinfo, totalhigh) == offset_of!(S, totalhigh));
    assert!(offset_of!(Sysinfo, freehigh) == offset_of!(S, freehigh));
    assert!(offset_of!(Sysinfo, mem_unit) == offset_of!(S, mem_unit));
};

/// `ARCH_SET_GS`: set the `gs` base.
pub const ARCH_SET_GS: u32 = raw::ARCH_SET_FS - 1;
/// `ARCH_SET_FS`: set the `fs` base (the TLS pointer; every libc calls it at start-up).
pub const ARCH_SET_FS: u32 = raw::ARCH_SET_FS;
/// `ARCH_GET_FS`: store the `fs` base at the `unsigned long *` argument.
pub const ARCH_GET_FS: u32 = raw::ARCH_SET_FS + 1;
/// `ARCH_GET_GS`: store the `gs` base at the `unsigned long *` argument.
pub const ARCH_GET_GS: u32 = raw::ARCH_SET_FS + 2;

/// The arch_prctl(2) codes oxv implements.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ArchPrctlCode {
    /// `ARCH_SET_GS`
    SetGs = ARCH_SET_GS,
    /// `ARCH_SET_FS`
    SetFs = ARCH_SET_FS,
    /// `ARCH_GET_FS`
    GetFs = ARCH_GET_FS,
    /// `ARCH_GET_GS`
    GetGs = ARCH_GET_GS,
}

impl ArchPrctlCode {
    /// The Linux name (`"ARCH_SET_FS"`).
    pub const fn name(self) -> &'static str {
        match self {
            ArchPrctlCode::SetGs => "ARCH_SET_GS",
            ArchPrctlCode::SetFs => "ARCH_SET_FS",
            ArchPrctlCode::GetFs => "ARCH_GET_FS",
            ArchPrctlCode::GetGs => "ARCH_GET_GS",
        }
    }
}

impl TryFrom<u32> for ArchPrctlCode {
    type Error = Errno;
    /// `EINVAL` for other codes (the CET, CPUID and AMX codes), as Linux returns for
    /// codes it does not know; callers probing for CET treat that as "unsupported".
    fn try_from(code: u32) -> Result<ArchPrctlCode, Errno> {
        match code {
            ARCH_SET_GS => Ok(ArchPrctlCode::SetGs),
            ARCH_SET_FS => Ok(ArchPrctlCode::SetFs),
            ARCH_GET_FS => Ok(ArchPrctlCode::GetFs),
            ARCH_GET_GS => Ok(ArchPrctlCode::GetGs),
            _ => Err(Errno::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utsname_fields_are_truncated_and_terminated() {
        let long = [b'x'; 100];
        let u = Utsname::new(b"Linux", &long, b"6.1.0-oxv", b"#1", b"x86_64", b"");
        assert_eq!(&u.sysname[..6], b"Linux\0");
        assert_eq!(u.nodename[63], b'x');
        assert_eq!(u.nodename[64], 0, "the last byte is always NUL");
        assert_eq!(u.as_bytes().len(), 390);
        assert_eq!(&u.as_bytes()[4 * 65..4 * 65 + 7], b"x86_64\0");
    }

    #[test]
    fn rlimit_resources_match_linux() {
        assert_eq!(RlimitResource::try_from(3), Ok(RlimitResource::Stack));
        assert_eq!(RlimitResource::try_from(7), Ok(RlimitResource::Nofile));
        assert_eq!(RlimitResource::try_from(16), Err(Errno::EINVAL));
        assert_eq!(RlimitResource::try_from(u32::MAX), Err(Errno::EINVAL));
        for (i, r) in RlimitResource::ALL.iter().enumerate() {
            assert_eq!(*r as u32, i as u32, "{} out of order", r.name());
        }
        assert_eq!(
            Rlimit64 {
                rlim_cur: 2,
                rlim_max: 1
            }
            .validate(),
            Err(Errno::EINVAL)
        );
        assert!(Rlimit64::INFINITE.validate().is_ok());
    }

    #[test]
    fn sysinfo_is_112_bytes_with_mem_unit_at_104() {
        let s = Sysinfo {
            uptime: 5,
            mem_unit: 1,
            procs: 1,
            ..Default::default()
        };
        let b = s.as_bytes();
        assert_eq!(b.len(), 112);
        assert_eq!(b[0], 5);
        assert_eq!(b[80], 1, "procs");
        assert_eq!(b[104], 1, "mem_unit");
    }

    #[test]
    fn arch_prctl_codes() {
        assert_eq!(ARCH_SET_GS, 0x1001);
        assert_eq!(ARCH_GET_GS, 0x1004);
        assert_eq!(ArchPrctlCode::try_from(0x1002), Ok(ArchPrctlCode::SetFs));
        assert_eq!(
            ArchPrctlCode::try_from(0x3001),
            Err(Errno::EINVAL),
            "ARCH_CET_STATUS"
        );
        assert_eq!(ArchPrctlCode::try_from(0), Err(Errno::EINVAL));
        assert_eq!(ArchPrctlCode::GetFs.name(), "ARCH_GET_FS");
    }
}
