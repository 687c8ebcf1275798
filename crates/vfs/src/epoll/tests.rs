//! epoll tests: the interest list (add, modify, delete, close), the three triggering modes,
//! exclusive wake-ups, nesting, and waiting with a fake and a threaded blocker.

use super::*;
use crate::eventfd::EventFd;
use crate::fake::FakeBlocker;
use crate::fake::threads::ThreadBlocker;
use crate::io::{ReadBuf, WriteBuf};
use crate::pipe::Pipe;
use crate::time::Timestamp;
use oxv_abi::linux::fs::OpenFlags;

fn blocker() -> Arc<dyn Blocker> {
    Arc::new(FakeBlocker::new())
}

fn efd(init: u64) -> Arc<OpenFile> {
    OpenFile::new_pseudo(
        EventFd::new(init, false, blocker()),
        OpenFlags::RDWR | OpenFlags::NONBLOCK,
    )
}

fn epfile() -> Arc<OpenFile> {
    OpenFile::new_pseudo(Epoll::new(), OpenFlags::RDWR)
}

fn ep(f: &OpenFile) -> &Epoll {
    Epoll::of(f).unwrap()
}

fn ev(events: u32, data: u64) -> EpollEvent {
    EpollEvent { events, data }
}

fn add(e: &OpenFile, fd: i32, f: &Arc<OpenFile>, events: u32) -> Result<(), Errno> {
    ep(e).ctl(fd, f, Ctl::Add(ev(events, fd as u64)))
}

/// (data, events) of what a harvest returns.
fn harvest(e: &OpenFile, max: usize) -> Vec<(u64, u32)> {
    ep(e)
        .harvest(max)
        .into_iter()
        .map(|x| {
            let (d, v) = (x.data, x.events);
            (d, v)
        })
        .collect()
}

fn put(f: &OpenFile, v: u64) {
    f.write(&WriteBuf::kernel(&v.to_ne_bytes())).unwrap();
}

fn take(f: &OpenFile) -> u64 {
    let mut b = [0u8; 8];
    f.read(&mut ReadBuf::kernel(&mut b)).unwrap();
    u64::from_ne_bytes(b)
}

// ---- The interest list ----

#[test]
fn add_modify_delete_and_their_errors() {
    let e = epfile();
    let a = efd(0);
    assert_eq!(add(&e, 3, &a, EPOLLIN), Ok(()));
    assert_eq!(add(&e, 3, &a, EPOLLIN), Err(Errno::EEXIST));
    assert_eq!(
        add(&e, 4, &a, EPOLLIN),
        Ok(()),
        "the same file under another fd is another item"
    );
    assert_eq!(
        ep(&e).ctl(5, &a, Ctl::Mod(ev(EPOLLOUT, 0))),
        Err(Errno::ENOENT)
    );
    assert_eq!(ep(&e).ctl(3, &a, Ctl::Mod(ev(EPOLLOUT, 9))), Ok(()));
    assert!(
        ep(&e)
            .items()
            .contains(&(3, EPOLLOUT | EPOLLERR | EPOLLHUP, 9))
    );
    assert_eq!(ep(&e).ctl(3, &a, Ctl::Del), Ok(()));
    assert_eq!(ep(&e).ctl(3, &a, Ctl::Del), Err(Errno::ENOENT));
    assert_eq!(ep(&e).len(), 1);
}

#[test]
fn files_without_a_poll_queue_and_self_watching_are_refused() {
    let e = epfile();
    let dir = crate::tmpfs::Tmpfs::new(crate::node::DeviceId::new(0, 1), Timestamp::EPOCH);
    let plain = OpenFile::new(
        crate::file::DirectoryFile::new(crate::mount::FileSystem::root(&*dir)),
        OpenFlags::empty(),
        None,
    );
    assert_eq!(add(&e, 3, &plain, EPOLLIN), Err(Errno::EPERM));
    assert_eq!(add(&e, 4, &e, EPOLLIN), Err(Errno::EINVAL));
}

#[test]
fn exclusive_rules() {
    let e = epfile();
    let a = efd(0);
    assert_eq!(
        add(&e, 3, &a, EPOLLIN | EPOLLRDHUP | EPOLLEXCLUSIVE),
        Err(Errno::EINVAL)
    );
    assert_eq!(add(&e, 3, &a, EPOLLIN | EPOLLEXCLUSIVE), Ok(()));
    assert_eq!(
        ep(&e).ctl(3, &a, Ctl::Mod(ev(EPOLLIN, 0))),
        Err(Errno::EINVAL),
        "an exclusive item cannot be modified"
    );
    assert_eq!(
        ep(&e).ctl(3, &a, Ctl::Mod(ev(EPOLLIN | EPOLLEXCLUSIVE, 0))),
        Err(Errno::EINVAL)
    );
    let inner = epfile();
    assert_eq!(
        add(&e, 4, &inner, EPOLLIN | EPOLLEXCLUSIVE),
        Err(Errno::EINVAL)
    );
}

#[test]
fn closing_the_last_copy_of_a_file_removes_its_item() {
    let e = epfile();
    let a = efd(1);
    let dup = a.clone();
    add(&e, 3, &a, EPOLLIN).unwrap();
    drop(a);
    assert_eq!(harvest(&e, 8), [(3, EPOLLIN)], "a dup'ed copy keeps it");
    drop(dup);
    assert_eq!(harvest(&e, 8), []);
    assert!(ep(&e).items().is_empty());
    let b = efd(0);
    assert_eq!(add(&e, 3, &b, EPOLLIN), Ok(()), "the fd can be added again");
}

// ---- Level-triggered ----

#[test]
fn level_triggered_reports_while_ready() {
    let e = epfile();
    let a = efd(0);
    add(&e, 3, &a, EPOLLIN).unwrap();
    assert_eq!(harvest(&e, 8), []);
    put(&a, 2);
    assert_eq!(harvest(&e, 8), [(3, EPOLLIN)]);
    assert_eq!(
        harvest(&e, 8),
        [(3, EPOLLIN)],
        "still ready, reported again"
    );
    take(&a);
    assert_eq!(harvest(&e, 8), []);
    assert_eq!(
        ep(&e).state.ready.lock().len(),
        0,
        "dropped from the ready list"
    );
}

#[test]
fn maxevents_leaves_the_rest_for_later_in_order() {
    let e = epfile();
    let files: Vec<_> = (0..5).map(|_| efd(1)).collect();
    for (i, f) in files.iter().enumerate() {
        add(&e, 10 + i as i32, f, EPOLLIN).unwrap();
    }
    let first: Vec<u64> = harvest(&e, 2).into_iter().map(|x| x.0).collect();
    assert_eq!(first, [10, 11]);
    let next: Vec<u64> = harvest(&e, 2).into_iter().map(|x| x.0).collect();
    assert_eq!(next, [12, 13], "the ones not yet reported come first");
}

// ---- Edge-triggered ----

#[test]
fn edge_triggered_reports_once_per_change() {
    let e = epfile();
    let a = efd(0);
    add(&e, 3, &a, EPOLLIN | EPOLLET).unwrap();
    put(&a, 1);
    assert_eq!(harvest(&e, 8), [(3, EPOLLIN)]);
    assert_eq!(harvest(&e, 8), [], "no new edge");
    put(&a, 1);
    assert_eq!(harvest(&e, 8), [(3, EPOLLIN)], "a new write is a new edge");
}

#[test]
fn edge_triggered_pipe_hangup() {
    let e = epfile();
    let (r, w) = Pipe::new(blocker(), Timestamp::EPOCH).open_ends(OpenFlags::NONBLOCK);
    add(&e, 3, &r, EPOLLIN | EPOLLRDHUP | EPOLLET).unwrap();
    w.write(&WriteBuf::kernel(b"x")).unwrap();
    assert_eq!(harvest(&e, 8), [(3, EPOLLIN)]);
    drop(w);
    assert_eq!(
        harvest(&e, 8),
        [(3, EPOLLIN | EPOLLHUP)],
        "pipes never say RDHUP"
    );
}

// ---- One-shot ----

#[test]
fn oneshot_disables_until_modified() {
    let e = epfile();
    let a = efd(1);
    add(&e, 3, &a, EPOLLIN | EPOLLONESHOT).unwrap();
    assert_eq!(harvest(&e, 8), [(3, EPOLLIN)]);
    put(&a, 1);
    assert_eq!(harvest(&e, 8), [], "disabled");
    ep(&e)
        .ctl(3, &a, Ctl::Mod(ev(EPOLLIN | EPOLLONESHOT, 7)))
        .unwrap();
    assert_eq!(
        harvest(&e, 8),
        [(7, EPOLLIN)],
        "re-armed, and ready at once"
    );
}

// ---- Error and hang-up are always reported ----

#[test]
fn err_and_hup_come_unasked() {
    let e = epfile();
    let (r, w) = Pipe::new(blocker(), Timestamp::EPOCH).open_ends(OpenFlags::NONBLOCK);
    add(&e, 4, &w, 0).unwrap();
    assert_eq!(harvest(&e, 8), []);
    drop(r);
    assert_eq!(harvest(&e, 8), [(4, EPOLLERR)]);
}

// ---- Exclusive wake-ups ----

#[test]
fn an_exclusive_event_wakes_one_of_two_epolls() {
    let a = efd(0);
    let (e1, e2) = (epfile(), epfile());
    add(&e1, 3, &a, EPOLLIN | EPOLLEXCLUSIVE).unwrap();
    add(&e2, 3, &a, EPOLLIN | EPOLLEXCLUSIVE).unwrap();
    let b = FakeBlocker::new();
    let w1 = Waiter::new(&b);
    let w2 = Waiter::new(&b);
    let _k1 = w1.watch_exclusive(&ep(&e1).state.queue, PollEvents::IN);
    let _k2 = w2.watch_exclusive(&ep(&e2).state.queue, PollEvents::IN);
    put(&a, 1);
    assert!(
        w1.is_woken() ^ w2.is_woken(),
        "exactly one waiter was woken"
    );
}

// ---- Nesting ----

#[test]
fn nested_epolls_report_and_refuse_loops() {
    let (outer, inner) = (epfile(), epfile());
    let a = efd(0);
    add(&inner, 3, &a, EPOLLIN).unwrap();
    add(&outer, 4, &inner, EPOLLIN).unwrap();
    assert_eq!(harvest(&outer, 8), []);
    put(&a, 1);
    assert_eq!(
        harvest(&outer, 8),
        [(4, EPOLLIN)],
        "the inner epoll became readable"
    );
    assert_eq!(add(&inner, 5, &outer, EPOLLIN), Err(Errno::ELOOP));
}

#[test]
fn nesting_deeper_than_the_limit_is_eloop() {
    let chain: Vec<_> = (0..6).map(|_| epfile()).collect();
    let mut result = Ok(());
    for i in 0..5 {
        result = add(&chain[i], 3, &chain[i + 1], EPOLLIN);
        if result.is_err() {
            assert_eq!(i, MAX_NESTS, "the fifth level is refused");
            break;
        }
    }
    assert_eq!(result, Err(Errno::ELOOP));
}

// ---- Waiting ----

#[test]
fn wait_times_out_and_is_interrupted() {
    let e = epfile();
    let b = FakeBlocker::new();
    assert_eq!(ep(&e).wait(&b, 4, Some(0)).map(|v| v.len()), Ok(0));
    assert_eq!(b.waits(), 0, "a zero timeout does not sleep");
    assert_eq!(ep(&e).wait(&b, 4, Some(5_000)).map(|v| v.len()), Ok(0));
    assert_eq!(b.now_ns(), 5_000);
    assert_eq!(ep(&e).wait(&b, 4, None).map(|v| v.len()), Err(Errno::EINTR));
}

#[test]
fn a_thread_in_wait_is_woken_by_another() {
    let e = epfile();
    let a = OpenFile::new_pseudo(
        EventFd::new(0, false, ThreadBlocker::new()),
        OpenFlags::RDWR,
    );
    add(&e, 3, &a, EPOLLIN | EPOLLET).unwrap();
    let a2 = a.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        put(&a2, 1);
    });
    let b = ThreadBlocker::new();
    let got = ep(&e).wait(&*b, 4, None).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!({ got[0].events }, EPOLLIN);
    t.join().unwrap();
}

#[test]
fn dropping_an_epoll_unregisters_its_callbacks() {
    let a = efd(0);
    let e = epfile();
    add(&e, 3, &a, EPOLLIN).unwrap();
    assert!(a.ops().poll_queue().unwrap().has_watchers());
    drop(e);
    assert!(!a.ops().poll_queue().unwrap().has_watchers());
}
