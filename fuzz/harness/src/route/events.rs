//! Readiness, data movement between files, locks and event files (oxv-vfs), routed as the
//! kernel's dispatch (`crates/kernel/src/syscall/mod.rs`) and its `signal.rs` (the calls that
//! take a temporary signal mask) route them: select/pselect6, epoll, sendfile, splice, tee, vmsplice,
//! flock, memfd_create, timerfd and signalfd.

use super::{restore_mask, shared, swap_in_mask};
use crate::world::Process;
use oxv_abi::{SysResult, Syscall, UserMemory, UserPtr};
use oxv_vfs::Blocker;
use oxv_vfs::signalfd::SignalSource;
use oxv_vfs::syscalls as fs;
use oxv_vfs::timerfd::TimerFdClock;
use std::sync::Arc;

/// Routes `call` if it is one of this module's; `None` otherwise.
#[allow(clippy::too_many_lines)]
pub(super) fn route(
    p: &mut Process,
    mem: &mut dyn UserMemory,
    call: &Syscall,
) -> Option<SysResult> {
    use Syscall as S;
    let blocker = p.blocker.clone();
    Some(match *call {
        S::Select {
            nfds,
            readfds,
            writefds,
            exceptfds,
            timeout,
        } => {
            let sets = fs::select::FdSets {
                read: readfds,
                write: writefds,
                except: exceptfds,
            };
            fs::select::select(&p.files, mem, &blocker, nfds, sets, timeout)
        }
        S::Pselect6 {
            nfds,
            readfds,
            writefds,
            exceptfds,
            timeout,
            sigmask,
        } => {
            let sets = fs::select::FdSets {
                read: readfds,
                write: writefds,
                except: exceptfds,
            };
            // The sixth argument points to `{ sigset_t *ss; size_t ss_len; }`, read first.
            let (mask_ptr, mask_size) = if sigmask.is_null() {
                (0, 0)
            } else {
                match UserPtr::<[u64; 2]>::new(sigmask.get()).read(mem) {
                    Ok(pack) => (pack[0], pack[1] as usize),
                    Err(e) => return Some(Err(e.into())),
                }
            };
            (|| {
                let rel = fs::select::pselect6_timeout(mem, timeout)?;
                let saved = swap_in_mask(p, mem, UserPtr::new(mask_ptr), mask_size)?;
                let r = fs::select::pselect6_with_timeout(
                    &p.files, mem, &blocker, nfds, sets, timeout, rel,
                );
                restore_mask(p, saved);
                r
            })()
        }
        S::EpollCreate { size } => fs::epoll::epoll_create(&p.files, size),
        S::EpollCreate1 { flags } => fs::epoll::epoll_create1(&p.files, flags),
        S::EpollCtl {
            epfd,
            op,
            fd,
            event,
        } => fs::epoll::epoll_ctl(&p.files, mem, epfd, op, fd, UserPtr::new(event.get())),
        S::EpollWait {
            epfd,
            events,
            maxevents,
            timeout,
        } => fs::epoll::epoll_wait(&p.files, mem, &blocker, epfd, events, maxevents, timeout),
        S::EpollPwait {
            epfd,
            events,
            maxevents,
            timeout,
            sigmask,
            sigsetsize,
        } => (|| {
            let saved = swap_in_mask(p, mem, sigmask, sigsetsize)?;
            let r =
                fs::epoll::epoll_wait(&p.files, mem, &blocker, epfd, events, maxevents, timeout);
            restore_mask(p, saved);
            r
        })(),
        S::EpollPwait2 {
            epfd,
            events,
            maxevents,
            timeout,
            sigmask,
            sigsetsize,
        } => (|| {
            let rel = fs::epoll::pwait2_timeout(mem, timeout)?;
            let saved = swap_in_mask(p, mem, sigmask, sigsetsize)?;
            let r = fs::epoll::epoll_pwait2(&p.files, mem, &blocker, epfd, events, maxevents, rel);
            restore_mask(p, saved);
            r
        })(),
        S::Sendfile {
            out_fd,
            in_fd,
            offset,
            count,
        } => fs::sendfile::sendfile(&p.files, mem, &blocker, out_fd, in_fd, offset, count),
        S::Splice {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        } => fs::splice::splice(
            &p.files, mem, &blocker, fd_in, off_in, fd_out, off_out, len, flags,
        ),
        S::Tee {
            fd_in,
            fd_out,
            len,
            flags,
        } => fs::splice::tee(&p.files, &blocker, fd_in, fd_out, len, flags),
        S::Vmsplice {
            fd,
            iov,
            nr_segs,
            flags,
        } => fs::splice::vmsplice(&p.files, mem, &blocker, fd, iov, nr_segs, flags),
        S::Flock { fd, operation } => {
            let caller = fs::lock::LockCaller {
                pid: crate::world::PID,
                blocker: &blocker,
            };
            fs::lock::flock(&p.cx, &p.files, caller, fd, operation)
        }
        S::MemfdCreate { name, flags } => {
            fs::memfd::memfd_create(&p.cx, &p.files, mem, &p.memfd_memory(), name, flags)
        }
        S::TimerfdCreate { clockid, flags } => {
            let timers: Arc<dyn TimerFdClock> = p.timers.clone();
            fs::timerfd::timerfd_create(&p.files, &timers, &shared(&blocker), clockid, flags)
        }
        S::TimerfdSettime {
            fd,
            flags,
            new_value,
            old_value,
        } => fs::timerfd::timerfd_settime(&p.files, mem, fd, flags, new_value, old_value),
        S::TimerfdGettime { fd, curr_value } => {
            fs::timerfd::timerfd_gettime(&p.files, mem, fd, curr_value)
        }
        S::Signalfd { fd, mask, sizemask } => {
            let source: Arc<dyn SignalSource> = p.signal_source.clone();
            fs::signalfd::signalfd(
                &p.files,
                mem,
                &source,
                &shared(&blocker),
                fd,
                mask,
                sizemask,
            )
        }
        S::Signalfd4 {
            fd,
            mask,
            sizemask,
            flags,
        } => {
            let source: Arc<dyn SignalSource> = p.signal_source.clone();
            let blocker: Arc<dyn Blocker> = shared(&blocker);
            fs::signalfd::signalfd4(&p.files, mem, &source, &blocker, fd, mask, sizemask, flags)
        }
        _ => return None,
    })
}
