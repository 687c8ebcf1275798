//! The shared job control on its own, with the caller and the process groups of
//! [`FakeTtySignals`]: session 42 (groups 42 and 43), the caller its leader.

use super::*;
use crate::fake::FakeTtySignals;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use oxv_abi::user::fake::FakeUserMemory;

const PGRP_ARG: u64 = 0x1000;

fn setup() -> (Arc<FakeTtySignals>, JobControl, FakeUserMemory) {
    let rec = FakeTtySignals::new();
    let jobs = JobControl::new(rec.clone());
    let mut mem = FakeUserMemory::new();
    mem.map(PGRP_ARG, 0x1000, true);
    (rec, jobs, mem)
}

fn ioctl(jobs: &JobControl, mem: &mut FakeUserMemory, request: u32, value: i32) -> SysResult {
    UserPtr::<i32>::new(PGRP_ARG).write(mem, &value).unwrap();
    jobs.check_ioctl(request, true)?;
    jobs.ioctl(true, request, PGRP_ARG, mem)
        .expect("a job-control ioctl")
}

fn read_arg(mem: &FakeUserMemory) -> i32 {
    UserPtr::<i32>::new(PGRP_ARG).read(mem).unwrap()
}

#[test]
fn the_ioctl_numbers_are_linuxs() {
    assert_eq!(
        (
            TIOCGPGRP,
            TIOCSPGRP,
            rawio::TIOCSCTTY,
            rawio::TIOCNOTTY,
            rawio::TIOCGSID
        ),
        (0x540f, 0x5410, 0x540e, 0x5422, 0x5429)
    );
}

#[test]
fn only_a_session_leader_takes_a_terminal_and_then_its_group_is_the_foreground() {
    let (rec, jobs, mut mem) = setup();
    // Before TIOCSCTTY the terminal is nobody's: no pgrp, no session for its caller.
    assert_eq!(ioctl(&jobs, &mut mem, TIOCGPGRP, 0), Err(Errno::ENOTTY));
    assert_eq!(
        ioctl(&jobs, &mut mem, rawio::TIOCGSID, 0),
        Err(Errno::ENOTTY)
    );
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 42), Err(Errno::ENOTTY));
    rec.caller.lock().pid = 50;
    assert_eq!(
        ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0),
        Err(Errno::EPERM),
        "not a session leader"
    );
    rec.caller.lock().pid = 42;
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0), Ok(0));
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0), Ok(0), "again");
    assert_eq!((jobs.session(), jobs.foreground()), (42, 42));
    assert_eq!(ioctl(&jobs, &mut mem, TIOCGPGRP, 0), Ok(0));
    assert_eq!(read_arg(&mem), 42);
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCGSID, 0), Ok(0));
    assert_eq!(read_arg(&mem), 42);
    // Another session's leader may not take it while session 42 lives.
    *rec.caller.lock() = TtyCaller {
        pid: 60,
        pgrp: 60,
        session: 60,
    };
    assert_eq!(
        ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        ioctl(&jobs, &mut mem, TIOCGPGRP, 0),
        Err(Errno::ENOTTY),
        "not its controlling terminal"
    );
    // Once session 42's leader group is gone, it may.
    rec.groups.lock().retain(|&(g, _)| g != 42);
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0), Ok(0));
    assert_eq!((jobs.session(), jobs.foreground()), (60, 60));
    assert_eq!(rec.take(), []);
}

#[test]
fn tiocspgrp_takes_only_a_live_group_of_the_callers_session() {
    let (rec, jobs, mut mem) = setup();
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0), Ok(0));
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, -1), Err(Errno::EINVAL));
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 77), Err(Errno::ESRCH));
    rec.groups.lock().push((77, 70));
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 77), Err(Errno::EPERM));
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 43), Ok(0));
    assert_eq!(jobs.foreground(), 43);
    // Now the caller (group 42) is in the background: TIOCSPGRP raises SIGTTOU on it.
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 42), Err(Errno::EINTR));
    assert_eq!(rec.take(), [(42, Signal::SIGTTOU)]);
    // An orphaned group gets ENOTTY (tiocspgrp), one that blocks SIGTTOU goes ahead.
    rec.orphaned.store(true, Ordering::Relaxed);
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 42), Err(Errno::ENOTTY));
    rec.refuses.lock().push(Signal::SIGTTOU);
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 42), Ok(0));
    assert_eq!((jobs.foreground(), rec.take()), (42, alloc::vec![]));
}

#[test]
fn background_reads_and_changes_are_checked_and_foreground_ones_are_not() {
    let (rec, jobs, mut mem) = setup();
    // No session yet: nothing is checked.
    assert_eq!(jobs.check(Signal::SIGTTIN), Ok(()));
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0), Ok(0));
    assert_eq!(jobs.check(Signal::SIGTTIN), Ok(()), "the foreground");
    rec.caller.lock().pgrp = 43;
    assert_eq!(jobs.check(Signal::SIGTTIN), Err(Errno::EINTR));
    assert_eq!(jobs.check(Signal::SIGTTOU), Err(Errno::EINTR));
    assert_eq!(rec.take(), [(43, Signal::SIGTTIN), (43, Signal::SIGTTOU)]);
    rec.refuses
        .lock()
        .extend([Signal::SIGTTIN, Signal::SIGTTOU]);
    assert_eq!(
        jobs.check(Signal::SIGTTIN),
        Err(Errno::EIO),
        "a refused SIGTTIN"
    );
    assert_eq!(jobs.check(Signal::SIGTTOU), Ok(()), "a refused SIGTTOU");
    rec.refuses.lock().clear();
    rec.orphaned.store(true, Ordering::Relaxed);
    assert_eq!(jobs.check(Signal::SIGTTIN), Err(Errno::EIO));
    assert_eq!(jobs.check_ioctl(TCSETSW, true), Err(Errno::EIO));
    assert_eq!(
        jobs.check_ioctl(rawio::TCFLSH, false),
        Ok(()),
        "a master's flush"
    );
    assert_eq!(
        jobs.check_ioctl(TIOCGPGRP, true),
        Ok(()),
        "reads nothing changes"
    );
    assert_eq!(rec.take(), []);
    // Another session's process is not checked.
    rec.caller.lock().session = 7;
    assert_eq!(jobs.check(Signal::SIGTTIN), Ok(()));
}

#[test]
fn tiocnotty_by_the_leader_hangs_up_the_foreground_and_frees_the_terminal() {
    let (rec, jobs, mut mem) = setup();
    assert_eq!(
        ioctl(&jobs, &mut mem, rawio::TIOCNOTTY, 0),
        Err(Errno::ENOTTY),
        "not its terminal"
    );
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0), Ok(0));
    assert_eq!(
        jobs.ioctl(false, rawio::TIOCNOTTY, 0, &mut mem),
        Some(Err(Errno::ENOTTY)),
        "a pty master is nobody's terminal"
    );
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 43), Ok(0));
    // A member that is not the leader: nothing changes.
    rec.caller.lock().pid = 44;
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCNOTTY, 0), Ok(0));
    assert_eq!((jobs.session(), rec.take()), (42, alloc::vec![]));
    rec.caller.lock().pid = 42;
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCNOTTY, 0), Ok(0));
    assert_eq!(rec.take(), [(43, Signal::SIGHUP), (43, Signal::SIGCONT)]);
    assert_eq!((jobs.session(), jobs.foreground()), (0, 0));
    assert_eq!(
        ioctl(&jobs, &mut mem, rawio::TIOCGSID, 0),
        Err(Errno::ENOTTY)
    );
}

#[test]
fn a_masters_view_answers_anyone() {
    let (rec, jobs, mut mem) = setup();
    assert_eq!(ioctl(&jobs, &mut mem, rawio::TIOCSCTTY, 0), Ok(0));
    rec.caller.lock().session = 7;
    assert_eq!(
        jobs.ioctl(false, TIOCGPGRP, PGRP_ARG, &mut mem),
        Some(Ok(0))
    );
    assert_eq!(read_arg(&mem), 42);
    assert_eq!(
        jobs.ioctl(false, rawio::TIOCGSID, PGRP_ARG, &mut mem),
        Some(Ok(0))
    );
    assert_eq!(jobs.ioctl(false, TCSETS, 0, &mut mem), None, "not ours");
}

#[test]
fn without_a_caller_nothing_is_checked() {
    let jobs = JobControl::controlling(Arc::new(NoTtySignals), 1, 1);
    let mut mem = FakeUserMemory::new();
    mem.map(PGRP_ARG, 0x1000, true);
    assert_eq!(jobs.check(Signal::SIGTTIN), Ok(()));
    assert_eq!(ioctl(&jobs, &mut mem, TIOCSPGRP, 5), Ok(0));
    assert_eq!(ioctl(&jobs, &mut mem, TIOCGPGRP, 0), Ok(0));
    assert_eq!(read_arg(&mem), 5);
}

#[test]
fn signal_keys_follow_isig_and_the_control_characters() {
    let mut t = Termios::linux_default();
    assert_eq!(signal_key(&t, 0x03), Some(Signal::SIGINT));
    assert_eq!(signal_key(&t, 0x1c), Some(Signal::SIGQUIT));
    assert_eq!(signal_key(&t, 0x1a), Some(Signal::SIGTSTP));
    assert_eq!(signal_key(&t, b'c'), None);
    t.c_cc[raw::VINTR as usize] = b'x';
    t.c_cc[raw::VQUIT as usize] = 0;
    assert_eq!(signal_key(&t, b'x'), Some(Signal::SIGINT));
    assert_eq!(signal_key(&t, 0x03), None);
    assert_eq!(signal_key(&t, 0), None, "a disabled key is no NUL key");
    t.c_lflag &= !raw::ISIG;
    assert_eq!(signal_key(&t, 0x1a), None);
}
