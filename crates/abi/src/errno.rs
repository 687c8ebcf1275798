//! Linux error numbers.
//!
//! [`Errno`] is a closed enum whose discriminants are the x86_64 Linux values, taken from
//! `linux-raw-sys` at compile time rather than written by hand. A handler returns
//! [`SysResult`]; the kernel turns `Err(e)` into `-e` in `rax` in exactly one place.
//!
//! Aliases (`EWOULDBLOCK` = `EAGAIN`, `EDEADLOCK` = `EDEADLK`) are associated constants, as in
//! Linux, so that a value has one name when printed.

use core::fmt;

/// The result of a system call: a non-negative value, or an errno.
pub type SysResult = Result<usize, Errno>;

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        /// A Linux error number (x86_64 values).
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                $name = linux_raw_sys::errno::$name as u16,
            )*
        }

        impl Errno {
            /// Every errno, in numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The symbolic name, as `strace` prints it (`"ENOENT"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The errno with number `n`, if Linux defines one.
            pub const fn from_raw(n: i32) -> Option<Errno> {
                $(
                    if n == linux_raw_sys::errno::$name as i32 {
                        return Some(Errno::$name);
                    }
                )*
                None
            }
        }
    };
}

errnos! {
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM,
    EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE,
    EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE, EDEADLK,
    ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ECHRNG, EL2NSYNC, EL3HLT,
    EL3RST, ELNRNG, EUNATCH, ENOCSI, EL2HLT, EBADE, EBADR, EXFULL, ENOANO, EBADRQC, EBADSLT,
    EBFONT, ENOSTR, ENODATA, ETIME, ENOSR, ENONET, ENOPKG, EREMOTE, ENOLINK, EADV, ESRMNT,
    ECOMM, EPROTO, EMULTIHOP, EDOTDOT, EBADMSG, EOVERFLOW, ENOTUNIQ, EBADFD, EREMCHG, ELIBACC,
    ELIBBAD, ELIBSCN, ELIBMAX, ELIBEXEC, EILSEQ, ERESTART, ESTRPIPE, EUSERS, ENOTSOCK,
    EDESTADDRREQ, EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT,
    EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH,
    ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN, ENOTCONN, ESHUTDOWN, ETOOMANYREFS,
    ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EALREADY, EINPROGRESS, ESTALE, EUCLEAN,
    ENOTNAM, ENAVAIL, EISNAM, EREMOTEIO, EDQUOT, ENOMEDIUM, EMEDIUMTYPE, ECANCELED, ENOKEY,
    EKEYEXPIRED, EKEYREVOKED, EKEYREJECTED, EOWNERDEAD, ENOTRECOVERABLE, ERFKILL, EHWPOISON,
}

impl Errno {
    /// `EWOULDBLOCK` is `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EDEADLOCK` is `EDEADLK` on Linux.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// `ENOTSUP` is `EOPNOTSUPP` on Linux.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The positive number.
    pub const fn raw(self) -> i32 {
        self as i32
    }

    /// The value a system call leaves in `rax` for this error: `-errno` as a register.
    pub const fn as_return(self) -> u64 {
        (-(self as i64)) as u64
    }

    /// Decodes a raw syscall return register: values in `[-4095, -1]` are errors.
    pub const fn from_return(rax: u64) -> Result<u64, Errno> {
        if rax > (-4096i64) as u64 {
            match Errno::from_raw(-(rax as i64) as i32) {
                Some(e) => Err(e),
                None => Err(Errno::EINVAL),
            }
        } else {
            Ok(rax)
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.raw())
    }
}

impl core::error::Error for Errno {}

/// Encodes a handler's result as the `rax` value Linux would return.
pub const fn encode_result(r: SysResult) -> u64 {
    match r {
        Ok(v) => v as u64,
        Err(e) => e.as_return(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux() {
        assert_eq!(Errno::EPERM.raw(), 1);
        assert_eq!(Errno::ENOENT.raw(), 2);
        assert_eq!(Errno::EFAULT.raw(), 14);
        assert_eq!(Errno::ENOSYS.raw(), 38);
        assert_eq!(Errno::EHWPOISON.raw(), 133);
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
    }

    #[test]
    fn all_is_sorted_and_roundtrips() {
        for w in Errno::ALL.windows(2) {
            assert!(w[0].raw() < w[1].raw());
        }
        for &e in Errno::ALL {
            assert_eq!(Errno::from_raw(e.raw()), Some(e));
        }
        assert_eq!(Errno::from_raw(0), None);
        assert_eq!(Errno::from_raw(41), None, "41 is a hole in the Linux table");
        assert_eq!(Errno::from_raw(4096), None);
    }

    #[test]
    fn return_encoding() {
        assert_eq!(encode_result(Ok(5)), 5);
        assert_eq!(encode_result(Err(Errno::ENOENT)), (-2i64) as u64);
        assert_eq!(Errno::from_return((-14i64) as u64), Err(Errno::EFAULT));
        assert_eq!(
            Errno::from_return(0xffff_ffff_ffff_f000),
            Ok(0xffff_ffff_ffff_f000)
        );
    }
}
