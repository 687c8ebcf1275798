//! The kernel side of signalfd(2): [`KernelSignals`] takes pending signals of the calling
//! thread for oxv-vfs's signalfd files, and [`notify`], called whenever a signal is raised,
//! tells the files' readers and pollers to look again.
//!
//! A `siginfo` becomes a `signalfd_siginfo` as Linux's `signalfd_copyinfo` does, by the
//! layout its `si_code` implies: kill(2) and the kernel give `ssi_pid`/`ssi_uid`; tkill(2),
//! sigqueue(3) and other negative codes add the value (`ssi_int`, `ssi_ptr`); a POSIX
//! timer gives its id (`ssi_tid`), overrun count and value; a fault gives `ssi_addr`.

use crate::sched;
use crate::signal::{dequeue, pending_for};
use alloc::sync::Arc;
use oxv_abi::linux::fs::PollEvents;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::{SigSet, Signal};
use oxv_vfs::readiness::PollQueue;
use oxv_vfs::signalfd::{SignalSource, SignalfdSiginfo};

static QUEUE: spin::Once<PollQueue> = spin::Once::new();

fn queue() -> &'static PollQueue {
    QUEUE.call_once(PollQueue::new)
}

/// A signal was raised: signalfd readers and pollers look again. Cheap when nobody watches.
pub fn notify() {
    if let Some(q) = QUEUE.get() {
        q.notify(PollEvents::IN | PollEvents::RDNORM);
    }
}

/// The signals of the calling thread, for signalfds.
pub struct KernelSignals;

/// The source for signalfd(2).
pub fn source() -> Arc<dyn SignalSource> {
    Arc::new(KernelSignals)
}

fn is_fault(sig: i32) -> bool {
    [
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
        Signal::SIGTRAP,
    ]
    .iter()
    .any(|s| s.number() as i32 == sig)
}

/// `signalfd_siginfo` from a `siginfo`, field by field as the code's layout says.
pub fn to_signalfd(info: &SigInfo) -> SignalfdSiginfo {
    let mut s = SignalfdSiginfo {
        ssi_signo: info.si_signo as u32,
        ssi_errno: info.si_errno,
        ssi_code: info.si_code,
        ..SignalfdSiginfo::default()
    };
    let (lo, hi) = (info.fields[0] as u32, (info.fields[0] >> 32) as u32);
    let value = info.fields[1];
    let c = info.si_code;
    if c > code::SI_USER && c < code::SI_KERNEL && is_fault(info.si_signo) {
        s.ssi_addr = info.fields[0];
    } else if c == code::SI_TIMER {
        s.ssi_tid = lo;
        s.ssi_overrun = hi;
        s.ssi_ptr = value;
        s.ssi_int = value as i32;
    } else if c < 0 {
        s.ssi_pid = lo;
        s.ssi_uid = hi;
        s.ssi_ptr = value;
        s.ssi_int = value as i32;
    } else {
        s.ssi_pid = lo;
        s.ssi_uid = hi;
    }
    s
}

impl SignalSource for KernelSignals {
    fn dequeue(&self, mask: SigSet) -> Option<SignalfdSiginfo> {
        let me = sched::current();
        dequeue(&me, mask).map(|(_, info)| to_signalfd(&info))
    }

    fn pending(&self, mask: SigSet) -> bool {
        sched::with_running(|me| pending_for(me).0 & mask.0 != 0)
    }

    fn queue(&self) -> &PollQueue {
        queue()
    }
}
