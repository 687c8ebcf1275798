//! Restartable sequences: rseq(2) registration and what the return to user space does for a
//! registered thread.
//!
//! A thread registers a `struct rseq` area in its own memory. The kernel keeps the area's
//! `cpu_id_start`/`cpu_id` fields equal to the CPU the thread runs on, so libcs read the CPU
//! number with one load (glibc's `sched_getcpu`). A thread may also name a critical section
//! (a `struct rseq_cs`: start, length, abort address) in the area's `rseq_cs` field while it
//! runs it; if the thread is preempted, migrated or interrupted by a signal inside it, the
//! kernel moves its instruction pointer to the abort address before it runs user code again,
//! so per-CPU data updated by the section is never updated half on one CPU and half on
//! another.
//!
//! Semantics follow Linux 6.1 (`kernel/rseq.c`), the release oxv reports:
//! - registration takes exactly the original 32-byte area, aligned to 32 bytes; a second
//!   registration of the same area is `EBUSY`, of another area or length `EINVAL`, with
//!   another signature `EPERM`; unregistration must name the same area, length (`EINVAL`)
//!   and signature (`EPERM`) and resets the CPU fields to "uninitialized";
//! - a `rseq_cs` descriptor with a version other than 0, any flag (the restart-inhibiting
//!   flags are deprecated and refused since 6.0), a range leaving the user half, an abort
//!   address inside its own range, or an abort address not preceded by the registered
//!   signature is an error: the kernel forces `SIGSEGV` on the thread, as Linux does;
//! - the descriptor pointer is cleared whenever the kernel looks at it, in the section or
//!   not.
//!
//! What it is not: the kernel's bookkeeping of when to look (on a switch away, a migration
//! or a signal delivery) and the `SIGSEGV` itself belong to the embedder, which calls
//! [`resume`] on the way back to user space. The newer fields (`node_id`, `mm_cid`, Linux
//! 6.3) are not written, as in 6.1.

use oxv_abi::user::USER_END;
use oxv_abi::{Errno, Fault, UserAddr, UserMemory, UserPtr};

/// The size of the original `struct rseq`, the one size registration accepts (Linux 6.1).
pub const ORIG_RSEQ_SIZE: u32 = 32;
/// `RSEQ_FLAG_UNREGISTER`.
pub const FLAG_UNREGISTER: u32 = 1;
/// `RSEQ_CPU_ID_UNINITIALIZED`, the `cpu_id` of an unregistered area.
pub const CPU_ID_UNINITIALIZED: u32 = -1i32 as u32;

// `struct rseq` field offsets (include/uapi/linux/rseq.h).
const OFF_CPU_ID_START: u64 = 0;
const OFF_CPU_ID: u64 = 4;
const OFF_RSEQ_CS: u64 = 8;

/// `struct rseq_cs`: one critical section.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable,
    zerocopy::KnownLayout,
)]
#[repr(C)]
pub struct RseqCs {
    /// Must be 0.
    pub version: u32,
    /// Must be 0 (the `RSEQ_CS_FLAG_NO_RESTART_*` flags are refused).
    pub flags: u32,
    /// The first instruction of the section.
    pub start_ip: u64,
    /// The section's length: it ends at `start_ip + post_commit_offset` (excluded).
    pub post_commit_offset: u64,
    /// Where an interrupted section resumes; the 4 bytes before it hold the signature.
    pub abort_ip: u64,
}

const _: () = assert!(core::mem::size_of::<RseqCs>() == 32);

/// A thread's registered area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The `struct rseq` in the thread's memory.
    pub area: UserAddr,
    /// Its registered length.
    pub len: u32,
    /// The signature that must precede every abort address.
    pub sig: u32,
}

/// rseq(2) for a thread whose registration is `current`, running on CPU `cpu`: the
/// registration it has afterwards. A new registration's CPU fields are not written here:
/// the embedder calls [`resume`] before the thread returns to user space, as Linux does.
pub fn rseq(
    mem: &mut dyn UserMemory,
    current: Option<Registration>,
    area: UserAddr,
    len: u32,
    flags: u32,
    sig: u32,
) -> Result<Option<Registration>, Errno> {
    if flags & FLAG_UNREGISTER != 0 {
        if flags & !FLAG_UNREGISTER != 0 {
            return Err(Errno::EINVAL);
        }
        let reg = current
            .filter(|r| r.area == area && r.len == len)
            .ok_or(Errno::EINVAL)?;
        if reg.sig != sig {
            return Err(Errno::EPERM);
        }
        write_cpu(mem, area, 0, CPU_ID_UNINITIALIZED)?;
        return Ok(None);
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some(reg) = current {
        if reg.area != area || reg.len != len {
            return Err(Errno::EINVAL);
        }
        if reg.sig != sig {
            return Err(Errno::EPERM);
        }
        return Err(Errno::EBUSY);
    }
    if len != ORIG_RSEQ_SIZE || area.get() % u64::from(ORIG_RSEQ_SIZE) != 0 {
        return Err(Errno::EINVAL);
    }
    if !area.range_is_user(u64::from(len)) {
        return Err(Errno::EFAULT);
    }
    Ok(Some(Registration { area, len, sig }))
}

/// Why [`resume`] failed: the embedder forces `SIGSEGV` on the thread for either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeError {
    /// The area, the descriptor or the signature could not be read or written.
    Fault(Fault),
    /// The descriptor is invalid, or the signature before its abort address is wrong.
    Invalid,
}

impl From<Fault> for ResumeError {
    fn from(f: Fault) -> Self {
        ResumeError::Fault(f)
    }
}

/// What the return to user space does for a registered thread that was preempted, migrated
/// or is about to run a signal handler (Linux's `rseq_handle_notify_resume`): if `ip` is
/// inside the critical section the area names, returns the abort address to resume at;
/// clears the area's descriptor pointer; writes `cpu` into the CPU fields.
pub fn resume(
    mem: &mut dyn UserMemory,
    reg: &Registration,
    ip: u64,
    cpu: u32,
) -> Result<Option<u64>, ResumeError> {
    let new_ip = fixup(mem, reg, ip)?;
    write_cpu(mem, reg.area, cpu, cpu)?;
    Ok(new_ip)
}

/// The instruction-pointer part of [`resume`]: the abort address if `ip` is inside the
/// section the area names; clears the area's descriptor pointer.
pub fn fixup(
    mem: &mut dyn UserMemory,
    reg: &Registration,
    ip: u64,
) -> Result<Option<u64>, ResumeError> {
    let cs_ptr = field(reg.area, OFF_RSEQ_CS)?;
    let cs_addr = UserPtr::<u64>::new(cs_ptr.get()).read(mem)?;
    if cs_addr == 0 {
        return Ok(None);
    }
    let cs = descriptor(mem, reg, cs_addr)?;
    let inside = ip.wrapping_sub(cs.start_ip) < cs.post_commit_offset;
    if inside && cs.flags != 0 {
        return Err(ResumeError::Invalid);
    }
    UserPtr::<u64>::new(cs_ptr.get()).write(mem, &0)?;
    Ok(inside.then_some(cs.abort_ip))
}

/// Reads and checks the descriptor at `cs_addr` (Linux's `rseq_get_rseq_cs`; its flags
/// matter only inside the section).
fn descriptor(
    mem: &mut dyn UserMemory,
    reg: &Registration,
    cs_addr: u64,
) -> Result<RseqCs, ResumeError> {
    if cs_addr >= USER_END {
        return Err(ResumeError::Invalid);
    }
    let cs = UserPtr::<RseqCs>::new(cs_addr).read(mem)?;
    let end = cs.start_ip.checked_add(cs.post_commit_offset);
    let in_user = |a: u64| a < USER_END;
    if cs.version != 0
        || !in_user(cs.start_ip)
        || !end.is_some_and(in_user)
        || cs.abort_ip.wrapping_sub(cs.start_ip) < cs.post_commit_offset
        || cs.abort_ip < 4
    {
        return Err(ResumeError::Invalid);
    }
    let sig = UserPtr::<u32>::new(cs.abort_ip - 4).read(mem)?;
    if sig != reg.sig {
        return Err(ResumeError::Invalid);
    }
    Ok(cs)
}

fn field(area: UserAddr, off: u64) -> Result<UserAddr, Fault> {
    area.checked_add(off).ok_or(Fault { addr: area })
}

/// Writes `cpu_id_start` and `cpu_id` of the area at `area` (the CPU-field part of
/// [`resume`], or the reset of unregistration).
pub fn write_cpu(
    mem: &mut dyn UserMemory,
    area: UserAddr,
    start: u32,
    cpu: u32,
) -> Result<(), Fault> {
    UserPtr::<u32>::new(field(area, OFF_CPU_ID_START)?.get()).write(mem, &start)?;
    UserPtr::<u32>::new(field(area, OFF_CPU_ID)?.get()).write(mem, &cpu)
}

#[cfg(test)]
mod tests;
