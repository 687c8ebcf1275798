//! What every terminal shares, the console ([`crate::device::Terminal`]) and the pty slaves
//! ([`crate::pty`]) alike: the seam to the embedder's processes ([`TtySignals`]), a
//! terminal's job control ([`JobControl`]: its controlling session, its foreground process
//! group, and what a process outside that group may do), and the `ISIG` keys
//! ([`signal_key`]).
//!
//! Job control follows credentials(7) ("job control"), termios(3) (`TOSTOP`), ioctl_tty(2)
//! and Linux's `drivers/tty/tty_jobctrl.c`. Only a caller whose session has the terminal as
//! its controlling terminal and whose process group is not the foreground group is checked
//! ([`JobControl::check`]); any other caller, and any caller while the terminal has no
//! session or no foreground group, goes ahead. For a checked caller:
//!
//! - if it blocks or ignores the signal the operation would raise, a read fails with `EIO`
//!   (`SIGTTIN`) and the rest goes ahead (`SIGTTOU`);
//! - else, if its group is orphaned (no member has a parent in another group of the same
//!   session), the operation fails with `EIO`: nobody could continue a stopped group;
//! - else the signal goes to its whole group (`si_code` `SI_KERNEL`) and the operation fails
//!   with `EINTR`, which the embedder turns into Linux's `-ERESTARTSYS`: restarted after a
//!   stop and `SIGCONT`, or after a handler with `SA_RESTART` ([`ioctl_restarts`]).
//!
//! Which operations are checked is the terminal's business: reads (`SIGTTIN`), writes with
//! `TOSTOP` set, and the ioctls that change the terminal (`SIGTTOU`,
//! [`JobControl::check_ioctl`]).
//!
//! The controlling-terminal ioctls ([`JobControl::ioctl`]) are Linux's `TIOCGPGRP`,
//! `TIOCSPGRP`, `TIOCSCTTY`, `TIOCNOTTY` and `TIOCGSID`. Not here, because the embedder does
//! not tell which terminal a process holds: a process keeps no controlling terminal of its
//! own, its session's is the terminal whose session is its session. So `TIOCSCTTY` does not
//! refuse a leader whose session holds another terminal, `TIOCNOTTY` by a process that is
//! not the session leader changes nothing (Linux detaches that one process), opening a
//! terminal never makes it the controlling terminal, and `TIOCSCTTY` never steals a terminal
//! another live session holds (Linux does with argument 1 and `CAP_SYS_ADMIN`).

use linux_raw_sys::general as raw;
use linux_raw_sys::ioctl as rawio;
use oxv_abi::linux::fs::{TCSETS, TCSETSF, TCSETSW, TIOCGPGRP, TIOCSPGRP, Termios};
use oxv_abi::linux::signal::Signal;
use oxv_abi::{Errno, SysResult, UserMemory, UserPtr};
use spin::Mutex;

/// How a terminal reaches processes, which the VFS does not own: the embedder raises the
/// signals and knows the caller.
pub trait TtySignals: Send + Sync {
    /// Raises `sig` on every process of group `pgrp` (Linux's `kill_pgrp` from the tty
    /// layer: `si_code` `SI_KERNEL`). A group with no process left is no error.
    fn signal_group(&self, pgrp: i32, sig: Signal);

    /// The calling process's pid, group and session, for the controlling-terminal ioctls and
    /// job control; `None` if there is no caller (then nothing is checked).
    fn caller(&self) -> Option<TtyCaller>;

    /// Whether the calling thread blocks `sig` or its process ignores it (`SIG_IGN`), as
    /// Linux's `is_ignored` in the tty layer.
    fn caller_refuses(&self, sig: Signal) -> bool;

    /// Whether process group `pgrp` is orphaned: no live member has a parent in another
    /// group of the same session (POSIX; Linux's `will_become_orphaned_pgrp`).
    fn group_orphaned(&self, pgrp: i32) -> bool;

    /// The session of process group `pgrp`, `None` if no live process is in it (`TIOCSPGRP`
    /// refuses such a group with `ESRCH`, one of another session with `EPERM`).
    fn group_session(&self, pgrp: i32) -> Option<i32>;
}

/// A [`TtySignals`] for an embedder without processes: raises nothing, has no caller (so
/// nothing is checked).
pub struct NoTtySignals;

impl TtySignals for NoTtySignals {
    fn signal_group(&self, _pgrp: i32, _sig: Signal) {}

    fn caller(&self) -> Option<TtyCaller> {
        None
    }

    fn caller_refuses(&self, _sig: Signal) -> bool {
        false
    }

    fn group_orphaned(&self, _pgrp: i32) -> bool {
        false
    }

    fn group_session(&self, _pgrp: i32) -> Option<i32> {
        None
    }
}

/// The calling process as its terminal sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TtyCaller {
    /// Its pid (the session leader's is the session's id).
    pub pid: i32,
    /// Its process group.
    pub pgrp: i32,
    /// Its session (the session leader's pid).
    pub session: i32,
}

impl TtyCaller {
    fn is_session_leader(&self) -> bool {
        self.pid == self.session
    }
}

/// Whether ioctl `request` on a terminal goes through the job-control check, so that its
/// `EINTR` is Linux's `-ERESTARTSYS` (restarted after a stop and `SIGCONT`, or after a
/// handler with `SA_RESTART`).
pub fn ioctl_restarts(request: u32) -> bool {
    matches!(
        request,
        TCSETS | TCSETSW | TCSETSF | TIOCSPGRP | rawio::TCFLSH | rawio::TCXONC
    )
}

/// The signal the byte `c` raises as input to a terminal with settings `t`: with `ISIG`,
/// `VINTR` is `SIGINT`, `VQUIT` `SIGQUIT` and `VSUSP` `SIGTSTP` (n_tty's
/// `n_tty_receive_signal_char`); a control character set to 0 is disabled. `None` for any
/// other byte, and for every byte without `ISIG`.
pub fn signal_key(t: &Termios, c: u8) -> Option<Signal> {
    if t.c_lflag & raw::ISIG == 0 || c == 0 {
        return None;
    }
    [
        (raw::VINTR, Signal::SIGINT),
        (raw::VQUIT, Signal::SIGQUIT),
        (raw::VSUSP, Signal::SIGTSTP),
    ]
    .into_iter()
    .find(|&(i, _)| t.c_cc[i as usize] == c)
    .map(|(_, sig)| sig)
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Owner {
    /// The session whose controlling terminal this is (its leader's pid); 0 for none.
    session: i32,
    /// The foreground process group; 0 for none.
    foreground: i32,
}

/// One terminal's job control: which session it is the controlling terminal of, its
/// foreground group, and the checks of the [module docs](self). Every open file of the
/// terminal shares it (the console's fds 0-2, `/dev/console` and `/dev/tty`; a pty's slaves
/// and master).
pub struct JobControl {
    signals: alloc::sync::Arc<dyn TtySignals>,
    owner: Mutex<Owner>,
}

impl JobControl {
    /// Job control over `signals`, for a terminal that is nobody's controlling terminal yet.
    pub fn new(signals: alloc::sync::Arc<dyn TtySignals>) -> JobControl {
        JobControl {
            signals,
            owner: Mutex::new(Owner::default()),
        }
    }

    /// Job control for a terminal that is already the controlling terminal of `session`,
    /// with `foreground` in the foreground (a console the embedder's first process starts
    /// on, as a program a shell runs finds its terminal).
    pub fn controlling(
        signals: alloc::sync::Arc<dyn TtySignals>,
        session: i32,
        foreground: i32,
    ) -> JobControl {
        JobControl {
            signals,
            owner: Mutex::new(Owner {
                session,
                foreground,
            }),
        }
    }

    /// The embedder's side.
    pub fn signals(&self) -> &dyn TtySignals {
        &*self.signals
    }

    /// The foreground process group; 0 for none.
    pub fn foreground(&self) -> i32 {
        self.owner.lock().foreground
    }

    /// The session whose controlling terminal this is; 0 for none.
    pub fn session(&self) -> i32 {
        self.owner.lock().session
    }

    /// Makes the foreground group `pgrp`, unchecked (the embedder's or a test's say).
    pub fn set_foreground(&self, pgrp: i32) {
        self.owner.lock().foreground = pgrp;
    }

    /// Raises `sig` on the foreground group, if there is one (the `ISIG` keys, `SIGWINCH`).
    pub fn signal_foreground(&self, sig: Signal) {
        let pgrp = self.foreground();
        if pgrp > 0 {
            self.signals.signal_group(pgrp, sig);
        }
    }

    /// The hangup of a pty whose master closed (Linux's `tty_signal_session_leader`):
    /// `SIGHUP`, then `SIGCONT`, for the group of the session's leader (Linux sends them to
    /// the leader alone, which is usually all its group holds). The terminal is nobody's
    /// controlling terminal afterwards.
    pub fn hang_up(&self) {
        let session = core::mem::take(&mut *self.owner.lock()).session;
        if session > 0 {
            self.signals.signal_group(session, Signal::SIGHUP);
            self.signals.signal_group(session, Signal::SIGCONT);
        }
    }

    /// Whether the caller may touch the terminal in a way that raises `sig` (`SIGTTIN` or
    /// `SIGTTOU`) from the background. `EIO` or `EINTR` (after raising `sig` on the caller's
    /// group) when it may not; see the [module docs](self).
    pub fn check(&self, sig: Signal) -> Result<(), Errno> {
        let owner = *self.owner.lock();
        if owner.session == 0 || owner.foreground == 0 {
            return Ok(());
        }
        let Some(me) = self.signals.caller() else {
            return Ok(());
        };
        if me.session != owner.session || me.pgrp == owner.foreground {
            return Ok(());
        }
        if self.signals.caller_refuses(sig) {
            return if sig == Signal::SIGTTIN {
                Err(Errno::EIO)
            } else {
                Ok(())
            };
        }
        if self.signals.group_orphaned(me.pgrp) {
            return Err(Errno::EIO);
        }
        self.signals.signal_group(me.pgrp, sig);
        Err(Errno::EINTR)
    }

    /// The `SIGTTOU` check of ioctl `request`, if it changes the terminal (`TCSETS*`,
    /// `TIOCSPGRP`, and with `flushes` `TCFLSH` and `TCXONC`): Linux's `tty_check_change`,
    /// with `tiocspgrp`'s `ENOTTY` for an orphaned group.
    pub fn check_ioctl(&self, request: u32, flushes: bool) -> Result<(), Errno> {
        let changes_terminal = match request {
            TCSETS | TCSETSW | TCSETSF | TIOCSPGRP => true,
            rawio::TCFLSH | rawio::TCXONC => flushes,
            _ => false,
        };
        if !changes_terminal {
            return Ok(());
        }
        match self.check(Signal::SIGTTOU) {
            Err(Errno::EIO) if request == TIOCSPGRP => Err(Errno::ENOTTY),
            r => r,
        }
    }

    /// The controlling-terminal ioctls, as Linux's `tiocgpgrp`, `tiocspgrp`, `tiocsctty`,
    /// `tiocnotty` and `tiocgsid`; `None` for any other request. `on_terminal` is true on
    /// the terminal itself (the console, a pty slave), where a caller whose session does not
    /// hold it gets `ENOTTY` for `TIOCGPGRP` and `TIOCGSID`; false on a pty master, which
    /// answers anyone and is nobody's controlling terminal (`TIOCNOTTY` is `ENOTTY` there).
    /// Call [`JobControl::check_ioctl`] first.
    pub fn ioctl(
        &self,
        on_terminal: bool,
        request: u32,
        arg: u64,
        mem: &mut dyn UserMemory,
    ) -> Option<SysResult> {
        let r = match request {
            TIOCGPGRP => self.get_pgrp(on_terminal, arg, mem),
            TIOCSPGRP => self.set_pgrp(arg, mem),
            rawio::TIOCSCTTY => self.take_as_controlling(),
            rawio::TIOCNOTTY => self.give_up(on_terminal),
            rawio::TIOCGSID => self.get_sid(on_terminal, arg, mem),
            _ => return None,
        };
        Some(r)
    }

    /// Whether the caller's session holds this terminal (true without a caller).
    fn held_by_caller(&self) -> bool {
        let session = self.session();
        self.signals
            .caller()
            .is_none_or(|me| session != 0 && me.session == session)
    }

    fn get_pgrp(&self, on_terminal: bool, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        if on_terminal && !self.held_by_caller() {
            return Err(Errno::ENOTTY);
        }
        UserPtr::<i32>::new(arg).write(mem, &self.foreground())?;
        Ok(0)
    }

    fn set_pgrp(&self, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        let pgrp = UserPtr::<i32>::new(arg).read(mem)?;
        if pgrp < 0 {
            return Err(Errno::EINVAL);
        }
        if let Some(me) = self.signals.caller() {
            if me.session != self.session() || self.session() == 0 {
                return Err(Errno::ENOTTY);
            }
            match self.signals.group_session(pgrp) {
                None => return Err(Errno::ESRCH),
                Some(s) if s != me.session => return Err(Errno::EPERM),
                Some(_) => {}
            }
        }
        self.set_foreground(pgrp);
        Ok(0)
    }

    fn take_as_controlling(&self) -> SysResult {
        let Some(me) = self.signals.caller() else {
            return Ok(0);
        };
        let mut owner = self.owner.lock();
        if me.is_session_leader() && owner.session == me.session {
            return Ok(0);
        }
        if !me.is_session_leader() {
            return Err(Errno::EPERM);
        }
        // A session whose leader's group has no live member is gone: Linux cleared the
        // terminal's session when its leader exited. (The lock order is terminal, then the
        // embedder's process locks; nothing takes them the other way round.)
        if owner.session != 0 && self.signals.group_session(owner.session) == Some(owner.session) {
            return Err(Errno::EPERM);
        }
        *owner = Owner {
            session: me.session,
            foreground: me.pgrp,
        };
        Ok(0)
    }

    fn give_up(&self, on_terminal: bool) -> SysResult {
        let Some(me) = self.signals.caller() else {
            return Ok(0);
        };
        if !on_terminal || !self.held_by_caller() {
            return Err(Errno::ENOTTY);
        }
        if me.is_session_leader() {
            // Linux's disassociate_ctty: the foreground group is hung up and continued,
            // and the terminal is nobody's any more.
            let old = core::mem::take(&mut *self.owner.lock());
            if old.foreground > 0 {
                self.signals.signal_group(old.foreground, Signal::SIGHUP);
                self.signals.signal_group(old.foreground, Signal::SIGCONT);
            }
        }
        Ok(0)
    }

    fn get_sid(&self, on_terminal: bool, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
        if on_terminal && !self.held_by_caller() {
            return Err(Errno::ENOTTY);
        }
        let session = self.session();
        if session == 0 {
            return Err(Errno::ENOTTY);
        }
        UserPtr::<i32>::new(arg).write(mem, &session)?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests;
