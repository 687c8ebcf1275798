//! poll and ppoll over files, the console and bad fds, with a fake blocker.

use super::*;
use oxv_abi::linux::fs::{PollEvents, Pollfd};
use oxv_abi::linux::time::Timespec;

const IN: i16 = PollEvents::IN.bits() as i16;
const OUT_EV: i16 = PollEvents::OUT.bits() as i16;
const NVAL: i16 = PollEvents::NVAL.bits() as i16;

fn put(w: &mut World, entries: &[(i32, i16)]) -> UserPtr<Pollfd> {
    for (i, &(fd, events)) in entries.iter().enumerate() {
        let p = UserPtr::<Pollfd>::new(OUT).add(i as u64);
        p.write(
            &mut w.mem,
            &Pollfd {
                fd,
                events,
                revents: 0x5555,
            },
        )
        .unwrap();
    }
    UserPtr::new(OUT)
}

fn revents(w: &World, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            UserPtr::<Pollfd>::new(OUT)
                .add(i as u64)
                .read(&w.mem)
                .unwrap()
                .revents
        })
        .collect()
}

fn poll(
    w: &mut World,
    b: &dyn crate::Blocker,
    fds: UserPtr<Pollfd>,
    n: u32,
    timeout: i32,
) -> SysResult {
    poll::poll(&w.files, &mut w.mem, b, fds, n, timeout)
}

#[test]
fn readiness_of_each_kind_of_fd() {
    let mut w = World::new();
    let f = w.fd("/etc/motd", RDONLY);
    let p = w.fd("/etc", OpenFlags::PATH);
    let fds = put(
        &mut w,
        &[
            (f, IN | OUT_EV),
            (0, IN),
            (1, OUT_EV),
            (-1, IN),
            (99, IN),
            (p, IN),
        ],
    );
    let b = FakeBlocker::new();
    assert_eq!(poll(&mut w, &b, fds, 6, 0), Ok(4));
    let r = revents(&w, 6);
    assert_eq!(r[0], IN | OUT_EV, "regular files are always ready");
    assert_eq!(r[1], 0, "no console input");
    assert_eq!(r[2], OUT_EV);
    assert_eq!(
        r[3], 0,
        "negative fds are skipped and their revents cleared"
    );
    assert_eq!(r[4], NVAL);
    assert_eq!(r[5], NVAL, "an O_PATH fd is not pollable");
    assert_eq!(b.waits(), 0);
}

#[test]
fn timeouts() {
    let mut w = World::new();
    let fds = put(&mut w, &[(0, IN)]);
    let b = FakeBlocker::new();
    assert_eq!(
        poll(&mut w, &b, fds, 1, 0),
        Ok(0),
        "a zero timeout does not wait"
    );
    assert_eq!(b.waits(), 0);
    assert_eq!(poll(&mut w, &b, fds, 1, 250), Ok(0));
    assert_eq!(b.waits(), 1);
    assert_eq!(
        crate::Blocker::now_ns(&b),
        250_000_000,
        "waited until the deadline"
    );
    assert_eq!(revents(&w, 1), [0]);
    // No timeout and nothing ever ready: only a signal ends it.
    assert_eq!(poll(&mut w, &b, fds, 1, -1), Err(Errno::EINTR));
}

#[test]
fn waking_up_when_input_arrives() {
    let mut w = World::new();
    let console = w.console.clone();
    let b = FakeBlocker::on_wait(move |n| {
        if n == 3 {
            console.push_input(b"k");
        }
    });
    let fds = put(&mut w, &[(0, IN), (1, 0)]);
    assert_eq!(poll(&mut w, &b, fds, 2, -1), Ok(1));
    assert_eq!(b.waits(), 3, "spurious wakeups are absorbed");
    assert_eq!(revents(&w, 2), [IN, 0]);
    w.console.end_input();
    let fds = put(&mut w, &[(0, 0)]);
    assert_eq!(poll(&mut w, &FakeBlocker::new(), fds, 1, 0), Ok(1));
    assert_eq!(
        revents(&w, 1),
        [PollEvents::HUP.bits() as i16],
        "HUP is reported unasked"
    );
}

#[test]
fn poll_errors() {
    let mut w = World::new();
    let b = FakeBlocker::new();
    assert_eq!(
        poll(&mut w, &b, UserPtr::new(UNMAPPED), 1, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        poll(&mut w, &b, UserPtr::new(OUT), 1025, 0),
        Err(Errno::EINVAL),
        "more than RLIMIT_NOFILE"
    );
    assert_eq!(poll(&mut w, &b, UserPtr::new(UNMAPPED), 0, 0), Ok(0));
    w.mem.map(0x60_000, 0x1000, false);
    let f = w.fd("/etc/motd", RDONLY);
    let fds = UserPtr::<Pollfd>::new(0x60_000);
    w.mem.poke(
        0x60_000,
        zerocopy::IntoBytes::as_bytes(&Pollfd {
            fd: f,
            events: IN,
            revents: 0,
        }),
    );
    assert_eq!(
        poll(&mut w, &b, fds, 1, 0),
        Err(Errno::EFAULT),
        "revents cannot be written back"
    );
}

#[test]
fn ppoll_reads_and_updates_its_timeout() {
    let mut w = World::new();
    let fds = put(&mut w, &[(0, IN)]);
    let ts = UserPtr::<Timespec>::new(OUT + 0x100);
    ts.write(
        &mut w.mem,
        &Timespec {
            tv_sec: 1,
            tv_nsec: 500,
        },
    )
    .unwrap();
    let b = FakeBlocker::new();
    assert_eq!(poll::ppoll(&w.files, &mut w.mem, &b, fds, 1, ts), Ok(0));
    assert_eq!(crate::Blocker::now_ns(&b), 1_000_000_500);
    assert_eq!(
        ts.read(&w.mem).unwrap(),
        Timespec {
            tv_sec: 0,
            tv_nsec: 0
        },
        "no time left"
    );
    // Ready at once: the whole timeout is left.
    w.console.push_input(b"x");
    ts.write(
        &mut w.mem,
        &Timespec {
            tv_sec: 2,
            tv_nsec: 0,
        },
    )
    .unwrap();
    assert_eq!(poll::ppoll(&w.files, &mut w.mem, &b, fds, 1, ts), Ok(1));
    assert_eq!(
        ts.read(&w.mem).unwrap(),
        Timespec {
            tv_sec: 2,
            tv_nsec: 0
        }
    );
    ts.write(
        &mut w.mem,
        &Timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000_000,
        },
    )
    .unwrap();
    assert_eq!(
        poll::ppoll(&w.files, &mut w.mem, &b, fds, 1, ts),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        poll::ppoll(&w.files, &mut w.mem, &b, fds, 1, UserPtr::new(UNMAPPED)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        poll::ppoll(&w.files, &mut w.mem, &b, fds, 1, UserPtr::new(0)),
        Ok(1),
        "null: no timeout"
    );
    // A read-only timeout is not an error: the update is skipped, as on Linux.
    w.mem.poke(
        RO,
        zerocopy::IntoBytes::as_bytes(&Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        }),
    );
    assert_eq!(
        poll::ppoll(&w.files, &mut w.mem, &b, fds, 1, UserPtr::new(RO)),
        Ok(1)
    );
}
