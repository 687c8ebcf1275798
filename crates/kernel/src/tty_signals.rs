//! The signals terminals (the console and the ptys) raise (oxv-vfs's [`TtySignals`]): the `ISIG` keys, `SIGWINCH`
//! and the hangup go to every live process of a group, as Linux's `kill_pgrp` from the tty
//! layer, with `si_code` `SI_KERNEL`; and what the terminal's job control asks about the
//! caller (its group and session, whether it refuses `SIGTTIN`/`SIGTTOU`, whether its group
//! is orphaned). Stopping and continuing the group is [`crate::jobctl`]'s.

use crate::process;
use crate::sched;
use crate::signal::raise_on_process;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::{SIG_IGN, Signal};
use oxv_vfs::tty::{TtyCaller, TtySignals};

/// The kernel's [`TtySignals`].
pub struct KernelTtySignals;

impl TtySignals for KernelTtySignals {
    fn signal_group(&self, pgrp: i32, sig: Signal) {
        let info = SigInfo::from_process(sig.number() as i32, code::SI_KERNEL, 0, 0);
        for p in process::all() {
            if p.family.lock().pgid == pgrp && p.life_status().is_none() {
                raise_on_process(&p, sig, info);
            }
        }
    }

    fn caller(&self) -> Option<TtyCaller> {
        let p = process::current();
        let family = p.family.lock();
        Some(TtyCaller {
            pid: p.pid,
            pgrp: family.pgid,
            session: family.sid,
        })
    }

    fn caller_refuses(&self, sig: Signal) -> bool {
        let blocked = sched::current().signals.lock().blocked().contains(sig);
        blocked || process::current().actions.lock().action(sig).handler == SIG_IGN
    }

    fn group_orphaned(&self, pgrp: i32) -> bool {
        crate::jobctl::group_orphaned(pgrp)
    }

    fn group_session(&self, pgrp: i32) -> Option<i32> {
        process::all().iter().find_map(|p| {
            let (pgid, sid) = {
                let f = p.family.lock();
                (f.pgid, f.sid)
            };
            (pgid == pgrp && p.life_status().is_none()).then_some(sid)
        })
    }
}
