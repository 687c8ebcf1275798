//! pidfds: file descriptors that name a process (pidfd_open(2), `CLONE_PIDFD`), and the calls
//! that take them: pidfd_send_signal(2), pidfd_getfd(2) and `waitid(P_PIDFD)`.
//!
//! A pidfd refers to the process, not to its pid number, so it never names a later process
//! that reuses the pid. It polls readable once the process has ended (a zombie, or reaped),
//! as Linux 6.1's `pidfd_poll`; read(2) is `EINVAL`. Only thread-group leaders have pidfds
//! (no `PIDFD_THREAD`).

use crate::process::{self, LifeState, Process};
use crate::sched;
use alloc::sync::{Arc, Weak};
use core::any::Any;
use linux_raw_sys::general as raw;
use oxv_abi::linux::fs::{OpenFlags, PollEvents};
use oxv_abi::{Errno, SysResult};
use oxv_vfs::eventfd::anon_metadata;
use oxv_vfs::fd_table::FdTable;
use oxv_vfs::file::{FileOps, OpenFile};
use oxv_vfs::node::Metadata;
use oxv_vfs::readiness::PollQueue;

/// `PIDFD_NONBLOCK`: the pidfd's `O_NONBLOCK` (waitid(P_PIDFD) on a live process is `EAGAIN`).
const PIDFD_NONBLOCK: u32 = raw::O_NONBLOCK;

/// Every pidfd watches this one queue: process exits are rare, and each poller rechecks its
/// own process.
static EXITS: spin::Once<PollQueue> = spin::Once::new();

fn exits() -> &'static PollQueue {
    EXITS.call_once(PollQueue::new)
}

/// A process ended (became a zombie or was reaped): pidfd pollers look again. Cheap when no
/// pidfd exists.
pub fn notify_exit() {
    if let Some(q) = EXITS.get() {
        q.notify(PollEvents::IN | PollEvents::RDNORM);
    }
}

/// An open pidfd.
pub struct PidFd {
    pid: i32,
    // Weak: a pidfd must not keep a reaped process's memory and files alive.
    process: Weak<Process>,
}

impl PidFd {
    /// The process, unless it has been reaped.
    pub fn process(&self) -> Option<Arc<Process>> {
        self.process.upgrade()
    }

    fn ended(&self) -> bool {
        self.process()
            .is_none_or(|p| matches!(*p.life.lock(), LifeState::Zombie(_)))
    }
}

impl FileOps for PidFd {
    fn stat(&self) -> Result<Metadata, Errno> {
        Ok(anon_metadata())
    }

    fn poll(&self) -> PollEvents {
        if self.ended() {
            PollEvents::IN | PollEvents::RDNORM
        } else {
            PollEvents::empty()
        }
    }

    fn poll_queue(&self) -> Option<&PollQueue> {
        Some(exits())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// A new pidfd for `target` in `files`, always close-on-exec.
pub fn install(files: &FdTable, target: &Arc<Process>, nonblock: bool) -> Result<i32, Errno> {
    let ops = Arc::new(PidFd {
        pid: target.pid,
        process: Arc::downgrade(target),
    });
    let mut status = OpenFlags::RDWR;
    if nonblock {
        status |= OpenFlags::NONBLOCK;
    }
    files.insert(OpenFile::new_pseudo(ops, status), true)
}

/// The pidfd behind `fd` (`EBADF` for a closed fd or another kind of file), with the open
/// file (for its `O_NONBLOCK`).
pub fn lookup(files: &FdTable, fd: i32) -> Result<(Arc<OpenFile>, i32, Weak<Process>), Errno> {
    let file = files.get(fd)?;
    let (pid, weak) = {
        let pidfd = file
            .ops()
            .as_any()
            .and_then(|a| a.downcast_ref::<PidFd>())
            .ok_or(Errno::EBADF)?;
        (pidfd.pid, pidfd.process.clone())
    };
    Ok((file, pid, weak))
}

/// pidfd_open(2).
pub fn pidfd_open(p: &Process, pid: i32, flags: u32) -> SysResult {
    if flags & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let Some(target) = process::lookup(pid) else {
        // A thread's id that is not its process's: Linux 6.1 refuses it as not a leader.
        return Err(if sched::with(|s| s.thread(pid)).is_some() {
            Errno::EINVAL
        } else {
            Errno::ESRCH
        });
    };
    Ok(install(&p.files, &target, flags & PIDFD_NONBLOCK != 0)? as usize)
}

/// pidfd_getfd(2): a duplicate of `targetfd` of the pidfd's process, close-on-exec.
pub fn pidfd_getfd(p: &Process, pidfd: i32, targetfd: i32, flags: u32) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (_, _, weak) = lookup(&p.files, pidfd)?;
    let target = weak.upgrade().ok_or(Errno::ESRCH)?;
    // A process that has ended has no files any more (Linux: its task's files are gone).
    if !matches!(*target.life.lock(), LifeState::Alive) {
        return Err(Errno::EBADF);
    }
    let file = target.files.get(targetfd)?;
    Ok(p.files.insert(file, true)? as usize)
}
