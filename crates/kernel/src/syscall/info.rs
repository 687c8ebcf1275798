//! Process identity, system information and the small per-process settings: uname, sysinfo,
//! getrandom, arch_prctl, robust lists, CPU affinity, prctl, and the clocks' glue.

use crate::arch::cpu::{self, msr};
use crate::process::Process;
use crate::sched;
use crate::thread::ThreadRef;
use core::sync::atomic::Ordering;
use oxv_abi::linux::system::{ArchPrctlCode, Sysinfo, Utsname};
use oxv_abi::linux::time::{ClockId, Timespec};
use oxv_abi::{Errno, SysResult, UserAddr, UserBuf, UserMemory, UserPtr};
use oxv_sched::syscalls::time::{Interrupted, Sleeper};

/// What uname(2) reports. The release is a Linux version glibc and musl accept, marked as
/// oxv's; programs that parse it see a 6.1 kernel.
pub const RELEASE: &str = "6.1.0-oxv";
pub const VERSION: &str = concat!("#1 SMP oxv ", env!("CARGO_PKG_VERSION"));

/// uname(2).
pub fn uname(mem: &mut dyn UserMemory, buf: UserPtr<Utsname>) -> SysResult {
    let u = Utsname::new(
        b"Linux",
        b"oxv",
        RELEASE.as_bytes(),
        VERSION.as_bytes(),
        b"x86_64",
        b"(none)",
    );
    buf.write(mem, &u)?;
    Ok(0)
}

/// sysinfo(2).
pub fn sysinfo(mem: &mut dyn UserMemory, info: UserPtr<Sysinfo>) -> SysResult {
    let (free, total) = crate::mem::frame_stats();
    let s = Sysinfo {
        uptime: (crate::time::monotonic_ns() / 1_000_000_000) as i64,
        totalram: total as u64 * 4096,
        freeram: free as u64 * 4096,
        procs: 1,
        mem_unit: 1,
        ..Default::default()
    };
    info.write(mem, &s)?;
    Ok(0)
}

const GRND_NONBLOCK: u32 = 1;
const GRND_RANDOM: u32 = 2;
const GRND_INSECURE: u32 = 4;

/// getrandom(2): the kernel CSPRNG is seeded at boot, so it never blocks.
pub fn getrandom(mem: &mut dyn UserMemory, buf: UserBuf, flags: u32) -> SysResult {
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let buf = buf.clamp(oxv_abi::linux::fs::MAX_RW_COUNT);
    let mut chunk = [0u8; 256];
    let mut done = 0usize;
    while done < buf.len {
        let n = (buf.len - done).min(chunk.len());
        crate::random::fill(&mut chunk[..n]);
        if mem.copy_out(buf.skip(done).addr, &chunk[..n]).is_err() {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EFAULT)
            };
        }
        done += n;
    }
    Ok(done)
}

/// arch_prctl(2): the FS and GS bases.
pub fn arch_prctl(mem: &mut dyn UserMemory, code: u32, addr: u64) -> SysResult {
    match ArchPrctlCode::try_from(code)? {
        ArchPrctlCode::SetFs => {
            if addr >= oxv_abi::user::USER_END {
                return Err(Errno::EPERM);
            }
            cpu::set_fs_base(addr);
            Ok(0)
        }
        ArchPrctlCode::GetFs => {
            // The MSR, not a saved copy: with FSGSBASE the app may have changed it itself.
            UserPtr::<u64>::new(addr).write(mem, &cpu::rdmsr(msr::FS_BASE))?;
            Ok(0)
        }
        ArchPrctlCode::SetGs => {
            if addr >= oxv_abi::user::USER_END {
                return Err(Errno::EPERM);
            }
            // While the kernel runs, the app's GS base waits in KERNEL_GS_BASE.
            // SAFETY: KERNEL_GS_BASE is architectural and the value is a canonical user
            // address (checked above).
            unsafe { cpu::wrmsr(msr::KERNEL_GS_BASE, addr) };
            Ok(0)
        }
        ArchPrctlCode::GetGs => {
            UserPtr::<u64>::new(addr).write(mem, &cpu::rdmsr(msr::KERNEL_GS_BASE))?;
            Ok(0)
        }
    }
}

/// sizeof(struct robust_list_head).
const ROBUST_LIST_HEAD_SIZE: usize = 24;

/// set_robust_list(2): recorded for the calling thread.
pub fn set_robust_list(head: UserAddr, len: usize) -> SysResult {
    if len != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    crate::sched::current()
        .robust_list
        .store(head.get(), Ordering::Relaxed);
    Ok(0)
}

/// get_robust_list(2).
pub fn get_robust_list(
    p: &Process,
    mem: &mut dyn UserMemory,
    pid: i32,
    head: UserPtr<u64>,
    len: UserPtr<u64>,
) -> SysResult {
    let t = if pid == 0 {
        crate::sched::current()
    } else {
        crate::sched::with(|s| s.thread(pid)).ok_or(Errno::ESRCH)?
    };
    let _ = p;
    len.write(mem, &(ROBUST_LIST_HEAD_SIZE as u64))?;
    head.write(mem, &t.robust_list.load(Ordering::Relaxed))?;
    Ok(0)
}

/// The CPUs the app may run on: every online CPU (they are numbered from 0, at most 64).
fn cpu_mask() -> u64 {
    let n = crate::arch::percpu::online();
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// The thread sched_{get,set}affinity(2) name: 0 or the caller's tid is the caller; another
/// thread of the caller's process by its tid (threads of other processes: ESRCH).
fn affinity_target(p: &Process, pid: i32) -> Result<ThreadRef, Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = sched::current();
    if pid == 0 || pid == me.tid {
        return Ok(me);
    }
    sched::with(|s| s.thread(pid))
        .filter(|t| core::ptr::eq(t.process().as_ref(), p))
        .ok_or(Errno::ESRCH)
}

/// sched_getaffinity(2): the thread's CPUs among the online ones; returns the size of the
/// kernel's mask (8 bytes), as Linux does.
pub fn sched_getaffinity(
    p: &Process,
    mem: &mut dyn UserMemory,
    pid: i32,
    mask: UserBuf,
) -> SysResult {
    if mask.len * 8 < crate::arch::percpu::online() || mask.len % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let t = affinity_target(p, pid)?;
    let mut cpus = t.affinity.load(Ordering::Relaxed) & cpu_mask();
    if cpus == 0 {
        cpus = cpu_mask();
    }
    mem.copy_out(mask.addr, &cpus.to_le_bytes())?;
    Ok(8)
}

/// sched_setaffinity(2): the thread then runs only on the online CPUs of the mask (EINVAL
/// if there are none); the rest of a longer mask is ignored, as CPUs past 64 do not exist.
pub fn sched_setaffinity(
    p: &Process,
    mem: &mut dyn UserMemory,
    pid: i32,
    mask: UserBuf,
) -> SysResult {
    // Linux copies the mask in before it looks the thread up.
    let mut bytes = [0u8; 8];
    let n = mask.len.min(8);
    mem.copy_in(mask.addr, &mut bytes[..n])?;
    let t = affinity_target(p, pid)?;
    let cpus = u64::from_le_bytes(bytes) & cpu_mask();
    if cpus == 0 {
        return Err(Errno::EINVAL);
    }
    sched::set_affinity(&t, cpus);
    Ok(0)
}

const PR_GET_DUMPABLE: i32 = linux_raw_sys::prctl::PR_GET_DUMPABLE as i32;
const PR_SET_DUMPABLE: i32 = linux_raw_sys::prctl::PR_SET_DUMPABLE as i32;
const PR_SET_NAME: i32 = linux_raw_sys::prctl::PR_SET_NAME as i32;
const PR_GET_NAME: i32 = linux_raw_sys::prctl::PR_GET_NAME as i32;
const PR_CAPBSET_READ: i32 = linux_raw_sys::prctl::PR_CAPBSET_READ as i32;

/// prctl(2): the thread name, the dumpable flag and the capability bounding set (the app
/// runs as root with every capability: libcap probes the last one with
/// `PR_CAPBSET_READ`); other options are EINVAL.
pub fn prctl(p: &Process, mem: &mut dyn UserMemory, option: i32, arg2: u64) -> SysResult {
    match option {
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            mem.copy_in(UserAddr::new(arg2), &mut name[..15])
                .or_else(|_| {
                    // A shorter string may end before an unmapped page.
                    mem.read_cstr(UserAddr::new(arg2), &mut name[..15])
                        .map(|_| ())
                        .map_err(|_| Errno::EFAULT)
                })?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(15);
            name[end..].fill(0);
            *p.comm.lock() = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let name = *p.comm.lock();
            mem.copy_out(UserAddr::new(arg2), &name)?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(1),
        PR_CAPBSET_READ if arg2 <= u64::from(linux_raw_sys::general::CAP_LAST_CAP) => Ok(1),
        PR_CAPBSET_READ => Err(Errno::EINVAL),
        PR_SET_DUMPABLE => match arg2 {
            0 | 1 => Ok(0),
            _ => Err(Errno::EINVAL),
        },
        _ => Err(Errno::EINVAL),
    }
}

/// clock_gettime(2): the CPU-time clocks count the time the process's threads (or the
/// calling thread) spent on the CPU.
pub fn clock_gettime(mem: &mut dyn UserMemory, clockid: i32, tp: UserPtr<Timespec>) -> SysResult {
    let clock = crate::time::clock();
    let now = cpu::rdtsc();
    let cpu_ns = if clockid == ClockId::ThreadCputime as i32 {
        crate::sched::thread_cpu_ns(&crate::sched::current())
    } else {
        crate::sched::process_cpu_ns(&crate::process::current())
    };
    oxv_sched::syscalls::time::clock_gettime(clock, now, cpu_ns, mem, clockid, tp)
}

/// Sleeping: the calling thread blocks until the deadline (other threads run meanwhile).
pub struct Sleep;

impl Sleeper for Sleep {
    fn sleep_until_ns(&self, deadline_monotonic_ns: u64) -> Result<(), Interrupted> {
        crate::sched::sleep_until(deadline_monotonic_ns)
            .map_err(|now_monotonic_ns| Interrupted { now_monotonic_ns })
    }
}
