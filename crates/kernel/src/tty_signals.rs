//! The signals pseudo-terminals raise (oxv-vfs's [`TtySignals`]): the `ISIG` keys and
//! `SIGWINCH` go to every live process of the terminal's foreground group, as Linux's
//! `kill_pgrp` from the tty layer, with `si_code` `SI_KERNEL`.

use crate::process;
use crate::signal::raise_on_process;
use oxv_abi::linux::sigframe::{SigInfo, code};
use oxv_abi::linux::signal::Signal;
use oxv_vfs::pty::TtySignals;

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

    fn caller_group(&self) -> Option<i32> {
        Some(process::current().family.lock().pgid)
    }
}
