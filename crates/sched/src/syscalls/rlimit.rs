//! getrlimit(2), setrlimit(2) and prlimit64(2) over an [`Rlimits`] table.
//!
//! On x86_64 `struct rlimit` and `struct rlimit64` are the same bytes, so all three calls
//! take [`Rlimit64`]. The checks and their order follow Linux's `kernel/sys.c`
//! (`do_prlimit` and the three syscalls).

use crate::rlimit::Rlimits;
use oxv_abi::linux::system::{Rlimit64, RlimitResource};
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};

/// getrlimit(2): writes the limits of `resource` to `rlim`.
///
/// Linux's order: `resource >= RLIM_NLIMITS` is `EINVAL`; then `rlim` is written (`EFAULT`).
pub fn getrlimit(
    limits: &Rlimits,
    mem: &mut dyn UserMemory,
    resource: u32,
    rlim: UserPtr<Rlimit64>,
) -> SysResult {
    let resource = RlimitResource::try_from(resource)?;
    rlim.write(mem, &limits.get(resource))?;
    Ok(0)
}

/// setrlimit(2): sets the limits of `resource` from `rlim`.
///
/// Linux's order: `rlim` is copied in (`EFAULT`); then `resource >= RLIM_NLIMITS` is
/// `EINVAL`; then the new limits are checked (see [`Rlimits::set`]: `EINVAL`, `EPERM`).
pub fn setrlimit(
    limits: &mut Rlimits,
    mem: &dyn UserMemory,
    resource: u32,
    rlim: UserPtr<Rlimit64>,
) -> SysResult {
    let new = rlim.read(mem)?;
    let resource = RlimitResource::try_from(resource)?;
    limits.set(resource, new)?;
    Ok(0)
}

/// prlimit64(2): reads and/or sets the limits of `resource` for process `pid`, which must be
/// 0 or `self_pid` (the only process).
///
/// Linux's order: `new` (if not null) is copied in (`EFAULT`); any other `pid` is `ESRCH`;
/// `resource >= RLIM_NLIMITS` is `EINVAL`; the new limits are checked and stored (see
/// [`Rlimits::set`]); then the previous limits are copied out to `old` if not null (`EFAULT`,
/// with the new limits kept).
pub fn prlimit64(
    limits: &mut Rlimits,
    mem: &mut dyn UserMemory,
    pid: i32,
    resource: u32,
    new: UserPtr<Rlimit64>,
    old: UserPtr<Rlimit64>,
    self_pid: i32,
) -> SysResult {
    let new = if new.is_null() {
        None
    } else {
        Some(new.read(mem)?)
    };
    if pid != 0 && pid != self_pid {
        return Err(Errno::ESRCH);
    }
    let resource = RlimitResource::try_from(resource)?;
    let previous = match new {
        Some(new) => limits.set(resource, new)?,
        None => limits.get(resource),
    };
    if !old.is_null() {
        old.write(mem, &previous)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rlimit::NR_OPEN;
    use crate::syscalls::test_memory::{BAD, RO, RW, memory};
    use oxv_abi::linux::system::RLIM_INFINITY;
    use oxv_abi::user::fake::FakeUserMemory;

    const GIB: u64 = 1 << 30;
    const SELF: i32 = 1;
    const STACK: u32 = 3;
    const NOFILE: u32 = 7;
    const NLIMITS: u32 = 16;

    fn null() -> UserPtr<Rlimit64> {
        UserPtr::new(0)
    }

    fn at(addr: u64) -> UserPtr<Rlimit64> {
        UserPtr::new(addr)
    }

    fn lim(cur: u64, max: u64) -> Rlimit64 {
        Rlimit64 {
            rlim_cur: cur,
            rlim_max: max,
        }
    }

    fn put(mem: &mut FakeUserMemory, addr: u64, v: Rlimit64) {
        at(addr)
            .write(mem, &v)
            .expect("test writes a writable page");
    }

    fn get(mem: &FakeUserMemory, addr: u64) -> Rlimit64 {
        at(addr).read(mem).expect("test reads mapped memory")
    }

    #[test]
    fn resource_numbers_used_here_are_linux_ones() {
        assert_eq!(RlimitResource::try_from(STACK), Ok(RlimitResource::Stack));
        assert_eq!(RlimitResource::try_from(NOFILE), Ok(RlimitResource::Nofile));
        assert_eq!(RlimitResource::ALL.len() as u32, NLIMITS);
    }

    // ---- getrlimit / setrlimit ----------------------------------------------------------

    #[test]
    fn getrlimit_reports_the_table() {
        let (l, mut mem) = (Rlimits::new(GIB), memory());
        assert_eq!(getrlimit(&l, &mut mem, NOFILE, at(RW)), Ok(0));
        assert_eq!(get(&mem, RW), lim(1024, 4096));
        assert_eq!(getrlimit(&l, &mut mem, STACK, at(RW)), Ok(0));
        assert_eq!(get(&mem, RW), lim(8 << 20, RLIM_INFINITY));
    }

    #[test]
    fn getrlimit_einval_before_efault() {
        let (l, mut mem) = (Rlimits::new(GIB), memory());
        assert_eq!(
            getrlimit(&l, &mut mem, NLIMITS, at(BAD)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            getrlimit(&l, &mut mem, u32::MAX, at(RW)),
            Err(Errno::EINVAL)
        );
        assert_eq!(getrlimit(&l, &mut mem, NOFILE, at(RO)), Err(Errno::EFAULT));
        assert_eq!(getrlimit(&l, &mut mem, NOFILE, null()), Err(Errno::EFAULT));
    }

    #[test]
    fn setrlimit_stores_new_limits() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        put(&mut mem, RW, lim(4096, 65_536));
        assert_eq!(setrlimit(&mut l, &mem, NOFILE, at(RW)), Ok(0));
        assert_eq!(l.get(RlimitResource::Nofile), lim(4096, 65_536));
        // Read-only memory is fine: it is only read.
        mem.poke(RO, &[0; 16]);
        assert_eq!(setrlimit(&mut l, &mem, STACK, at(RO)), Ok(0));
        assert_eq!(l.get(RlimitResource::Stack), lim(0, 0));
    }

    #[test]
    fn setrlimit_efault_then_einval_then_limit_checks() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        let before = l.clone();
        assert_eq!(
            setrlimit(&mut l, &mem, NLIMITS, at(BAD)),
            Err(Errno::EFAULT)
        );
        put(&mut mem, RW, lim(2, 1));
        assert_eq!(setrlimit(&mut l, &mem, NLIMITS, at(RW)), Err(Errno::EINVAL));
        assert_eq!(setrlimit(&mut l, &mem, STACK, at(RW)), Err(Errno::EINVAL));
        put(&mut mem, RW, lim(1, NR_OPEN + 1));
        assert_eq!(setrlimit(&mut l, &mem, NOFILE, at(RW)), Err(Errno::EPERM));
        assert_eq!(l, before);
    }

    // ---- prlimit64 ----------------------------------------------------------------------

    #[test]
    fn prlimit_sets_and_returns_the_old_limits() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        put(&mut mem, RW, lim(2048, 8192));
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NOFILE, at(RW), at(RW + 16), SELF),
            Ok(0)
        );
        assert_eq!(get(&mem, RW + 16), lim(1024, 4096));
        assert_eq!(l.get(RlimitResource::Nofile), lim(2048, 8192));
        // By our own pid, query only.
        assert_eq!(
            prlimit64(&mut l, &mut mem, SELF, NOFILE, null(), at(RW + 32), SELF),
            Ok(0)
        );
        assert_eq!(get(&mem, RW + 32), lim(2048, 8192));
        // Same buffer for new and old.
        put(&mut mem, RW, lim(1, 2));
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NOFILE, at(RW), at(RW), SELF),
            Ok(0)
        );
        assert_eq!(get(&mem, RW), lim(2048, 8192));
        // Neither: only validates.
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NOFILE, null(), null(), SELF),
            Ok(0)
        );
    }

    #[test]
    fn prlimit_raising_the_hard_limit_is_allowed_for_root() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        put(&mut mem, RW, lim(NR_OPEN, NR_OPEN));
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NOFILE, at(RW), null(), SELF),
            Ok(0)
        );
        assert_eq!(l.soft(RlimitResource::Nofile), NR_OPEN);
    }

    #[test]
    fn prlimit_efault_on_new_comes_first() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        assert_eq!(
            prlimit64(&mut l, &mut mem, 999, NLIMITS, at(BAD), null(), SELF),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn prlimit_esrch_beats_einval() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        put(&mut mem, RW, lim(2, 1));
        for pid in [2, -1, i32::MIN, 999] {
            assert_eq!(
                prlimit64(&mut l, &mut mem, pid, NLIMITS, at(RW), at(BAD), SELF),
                Err(Errno::ESRCH)
            );
        }
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NLIMITS, null(), at(RW), SELF),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn prlimit_limit_checks_come_before_old() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        put(&mut mem, RW, lim(2, 1));
        mem.poke(RW + 16, &[0xcc; 16]);
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, STACK, at(RW), at(RW + 16), SELF),
            Err(Errno::EINVAL)
        );
        assert_eq!(mem.peek(RW + 16, 16), [0xcc; 16], "old untouched on error");
        put(&mut mem, RW, lim(1, NR_OPEN + 1));
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NOFILE, at(RW), at(RW + 16), SELF),
            Err(Errno::EPERM)
        );
        assert_eq!(l.get(RlimitResource::Nofile), lim(1024, 4096));
    }

    #[test]
    fn prlimit_keeps_the_new_limit_if_old_faults() {
        let (mut l, mut mem) = (Rlimits::new(GIB), memory());
        put(&mut mem, RW, lim(100, 200));
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NOFILE, at(RW), at(RO), SELF),
            Err(Errno::EFAULT)
        );
        assert_eq!(l.get(RlimitResource::Nofile), lim(100, 200));
        assert_eq!(
            prlimit64(&mut l, &mut mem, 0, NOFILE, null(), at(BAD), SELF),
            Err(Errno::EFAULT)
        );
    }
}
