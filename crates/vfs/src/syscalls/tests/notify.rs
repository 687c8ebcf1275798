//! inotify: the calls, and the events the file system calls generate.

use super::*;
use crate::blocker::Blocker;
use crate::fake::FakeBlocker;
use crate::inotify::{IN_CLOEXEC, IN_NONBLOCK, mask::*};
use oxv_abi::linux::fs::{FIONREAD, PollEvents};

fn blocker() -> Arc<dyn Blocker> {
    Arc::new(FakeBlocker::new())
}

fn init(w: &World) -> i32 {
    inotify::inotify_init1(&w.cx, &w.files, &blocker(), IN_NONBLOCK).unwrap() as i32
}

fn add(w: &mut World, fd: i32, p: &str, m: u32) -> SysResult {
    let path = w.path(p);
    inotify::inotify_add_watch(&w.cx, &w.files, &mut w.mem, fd, path, m)
}

/// Every queued event as (wd, mask, cookie, name).
fn events(w: &mut World, fd: i32) -> Vec<(i32, u32, u32, String)> {
    let mut out = Vec::new();
    let Ok(bytes) = w.read(fd, 4096) else {
        return out;
    };
    let mut at = 0;
    while at < bytes.len() {
        let word = |i: usize| u32::from_ne_bytes(bytes[at + i..at + i + 4].try_into().unwrap());
        let len = word(12) as usize;
        assert_eq!(len % 16, 0, "names are padded to 16 bytes");
        let name = &bytes[at + 16..at + 16 + len];
        let name = name.split(|&b| b == 0).next().unwrap();
        out.push((
            word(0) as i32,
            word(4),
            word(8),
            String::from_utf8_lossy(name).into(),
        ));
        at += 16 + len;
    }
    out
}

fn names(evs: &[(i32, u32, u32, String)]) -> Vec<(u32, &str)> {
    evs.iter().map(|e| (e.1, e.3.as_str())).collect()
}

#[test]
fn init_flags_and_an_empty_queue() {
    let mut w = World::new();
    let b = blocker();
    assert_eq!(
        inotify::inotify_init1(&w.cx, &w.files, &b, 1),
        Err(Errno::EINVAL)
    );
    let fd = inotify::inotify_init1(&w.cx, &w.files, &b, IN_NONBLOCK | IN_CLOEXEC).unwrap() as i32;
    assert_eq!(w.files.cloexec(fd), Ok(true));
    assert_eq!(w.read(fd, 64), Err(Errno::EAGAIN));
    assert!(w.files.get(fd).unwrap().ops().poll().is_empty());
    let plain = inotify::inotify_init(&w.cx, &w.files, &b).unwrap() as i32;
    assert_eq!(w.files.cloexec(plain), Ok(false));
}

#[test]
fn add_watch_errors_in_linux_order() {
    let mut w = World::new();
    let fd = init(&w);
    assert_eq!(
        add(&mut w, 999, "/tmp", CREATE | MASK_ADD | MASK_CREATE),
        Err(Errno::EINVAL)
    );
    assert_eq!(add(&mut w, 999, "/tmp", 0), Err(Errno::EINVAL));
    assert_eq!(
        add(&mut w, 999, "/tmp", CREATE | (1 << 12)),
        Err(Errno::EINVAL)
    );
    assert_eq!(add(&mut w, 999, "/tmp", CREATE), Err(Errno::EBADF));
    assert_eq!(
        add(&mut w, 0, "/tmp", CREATE),
        Err(Errno::EINVAL),
        "not an inotify fd"
    );
    assert_eq!(add(&mut w, fd, "/nope", CREATE), Err(Errno::ENOENT));
    assert_eq!(
        add(&mut w, fd, "/etc/motd", CREATE | ONLYDIR),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(add(&mut w, fd, "/tmp", CREATE), Ok(1));
    assert_eq!(
        add(&mut w, fd, "/tmp", DELETE),
        Ok(1),
        "same inode, same wd"
    );
    assert_eq!(
        add(&mut w, fd, "/tmp", CREATE | MASK_CREATE),
        Err(Errno::EEXIST)
    );
    assert_eq!(add(&mut w, fd, "/etc/motd.link", OPEN | DONT_FOLLOW), Ok(2));
    assert_eq!(
        add(&mut w, fd, "/etc/motd", OPEN),
        Ok(3),
        "the link itself was watched"
    );
    assert_eq!(
        inotify::inotify_rm_watch(&w.files, fd, 9),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        inotify::inotify_rm_watch(&w.files, 0, 1),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        inotify::inotify_rm_watch(&w.files, 99, 1),
        Err(Errno::EBADF)
    );
}

#[test]
fn a_directory_watch_hears_its_entries() {
    let mut w = World::new();
    let fd = init(&w);
    let all = CREATE
        | DELETE
        | MODIFY
        | ATTRIB
        | MOVED_FROM
        | MOVED_TO
        | OPEN
        | CLOSE_WRITE
        | CLOSE_NOWRITE;
    assert_eq!(add(&mut w, fd, "/tmp", all), Ok(1));
    let f = w.fd("/tmp/a", CREAT | WRONLY);
    w.write(f, b"one").unwrap();
    w.write(f, b"two").unwrap();
    w.close(f).unwrap();
    let r = w.fd("/tmp/a", RDONLY);
    w.close(r).unwrap();
    let path = w.path("/tmp/a");
    chmod::chmod(&w.cx, &w.files, &mut w.mem, path, 0o600).unwrap();
    let (from, to) = (w.path("/tmp/a"), w.path("/tmp/b"));
    rename::rename(&w.cx, &w.files, &mut w.mem, from, to).unwrap();
    let d = w.path("/tmp/sub");
    mkdir::mkdir(&w.cx, &w.files, &mut w.mem, d, 0o755).unwrap();
    unlink::rmdir(&w.cx, &w.files, &mut w.mem, d).unwrap();
    let b = w.path("/tmp/b");
    unlink::unlink(&w.cx, &w.files, &mut w.mem, b).unwrap();

    let evs = events(&mut w, fd);
    assert_eq!(
        names(&evs),
        [
            (CREATE, "a"),
            (OPEN, "a"),
            (MODIFY, "a"),
            (CLOSE_WRITE, "a"),
            (OPEN, "a"),
            (CLOSE_NOWRITE, "a"),
            (ATTRIB, "a"),
            (MOVED_FROM, "a"),
            (MOVED_TO, "b"),
            (CREATE | ISDIR, "sub"),
            (DELETE | ISDIR, "sub"),
            (DELETE, "b"),
        ]
    );
    assert!(evs.iter().all(|e| e.0 == 1));
    assert_ne!(evs[7].2, 0, "a move has a cookie");
    assert_eq!(evs[7].2, evs[8].2, "shared by both halves");
    assert_eq!(w.read(fd, 64), Err(Errno::EAGAIN));
}

#[test]
fn reads_take_whole_records_and_fionread_counts_them() {
    let mut w = World::new();
    let fd = init(&w);
    add(&mut w, fd, "/tmp", CREATE).unwrap();
    w.fd("/tmp/x", CREAT | WRONLY);
    w.fd("/tmp/yy", CREAT | WRONLY);
    assert!(
        w.files
            .get(fd)
            .unwrap()
            .ops()
            .poll()
            .contains(PollEvents::IN)
    );
    ioctl::ioctl(&w.files, &mut w.mem, fd, FIONREAD, OUT).unwrap();
    assert_eq!(
        w.mem.peek(OUT, 4),
        64u32.to_ne_bytes(),
        "two records of 16 + 16"
    );
    assert_eq!(
        w.read(fd, 31),
        Err(Errno::EINVAL),
        "the first record does not fit"
    );
    assert_eq!(w.read(fd, 40).unwrap().len(), 32, "only whole records");
    assert_eq!(w.read(fd, 64).unwrap().len(), 32);
}

#[test]
fn oneshot_rm_watch_and_deleting_the_watched_file_end_a_watch() {
    let mut w = World::new();
    let fd = init(&w);
    w.fd("/tmp/f", CREAT | WRONLY);
    assert_eq!(add(&mut w, fd, "/tmp/f", OPEN | ONESHOT), Ok(1));
    assert_eq!(add(&mut w, fd, "/tmp/f", CLOSE_NOWRITE | MASK_ADD), Ok(1));
    w.fd("/tmp/f", RDONLY);
    w.fd("/tmp/f", RDONLY);
    assert_eq!(names(&events(&mut w, fd)), [(OPEN, ""), (IGNORED, "")]);

    assert_eq!(add(&mut w, fd, "/tmp", CREATE), Ok(2));
    assert_eq!(inotify::inotify_rm_watch(&w.files, fd, 2), Ok(0));
    assert_eq!(
        inotify::inotify_rm_watch(&w.files, fd, 2),
        Err(Errno::EINVAL)
    );
    w.fd("/tmp/g", CREAT | WRONLY);
    assert_eq!(events(&mut w, fd), [(2, IGNORED, 0, String::new())]);

    w.fd("/tmp/h", CREAT | WRONLY);
    assert_eq!(
        add(&mut w, fd, "/tmp/h", ATTRIB | DELETE_SELF | MODIFY),
        Ok(3)
    );
    let h = w.path("/tmp/h");
    truncate::truncate(&w.cx, &w.files, &mut w.mem, h, 5).unwrap();
    unlink::unlink(&w.cx, &w.files, &mut w.mem, h).unwrap();
    assert_eq!(
        names(&events(&mut w, fd)),
        [(MODIFY, ""), (ATTRIB, ""), (DELETE_SELF, ""), (IGNORED, "")]
    );
    assert_eq!(
        inotify::inotify_rm_watch(&w.files, fd, 3),
        Err(Errno::EINVAL)
    );
    assert!(!w.vfs.watches().is_active(), "no watch left");
}

#[test]
fn closing_the_instance_drops_its_watches() {
    let mut w = World::new();
    let fd = init(&w);
    add(&mut w, fd, "/tmp", CREATE).unwrap();
    assert!(w.vfs.watches().is_active());
    w.close(fd).unwrap();
    assert!(!w.vfs.watches().is_active());
}

#[test]
fn listing_a_watched_directory_is_open_access_close() {
    let mut w = World::new();
    let fd = init(&w);
    add(&mut w, fd, "/tmp", OPEN | ACCESS | CLOSE_NOWRITE).unwrap();
    let d = w.fd("/tmp", RDONLY | OpenFlags::DIRECTORY);
    for _ in 0..2 {
        getdents::getdents64(&w.files, &mut w.mem, d, UserBuf::new(BUF, 4096)).unwrap();
    }
    w.close(d).unwrap();
    assert_eq!(
        names(&events(&mut w, fd)),
        [
            (OPEN | ISDIR, ""),
            (ACCESS | ISDIR, ""),
            (CLOSE_NOWRITE | ISDIR, "")
        ],
        "the two listings merge"
    );
}
