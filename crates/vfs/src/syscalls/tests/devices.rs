//! The console on fds 0-2, devfs and procfs, through the syscalls.

use super::*;
use oxv_abi::linux::fs::{TCGETS, TCSETS, TIOCGPGRP, TIOCGWINSZ, Termios, Winsize};

fn ioctl(w: &mut World, fd: i32, req: u32, arg: u64) -> SysResult {
    ioctl::ioctl(&w.files, &mut w.mem, fd, req, arg)
}

#[test]
fn console_on_stdio() {
    let mut w = World::new();
    assert_eq!(w.write(1, b"hello\n"), Ok(6));
    assert_eq!(w.write(2, b"oops\n"), Ok(5));
    assert_eq!(w.console.output(), b"hello\r\noops\r\n");
    w.console.push_input(b"typed\n");
    assert_eq!(w.read(0, 100).unwrap(), b"typed\n");
    assert_eq!(
        w.read(0, 100),
        Err(Errno::EINTR),
        "the fake's stand-in for blocking"
    );
    w.console.end_input();
    assert_eq!(w.read(0, 100).unwrap(), b"");
    let st = w.fstat(0).unwrap();
    assert_eq!(st.st_mode, oxv_abi::linux::fs::S_IFCHR | 0o620);
}

#[test]
fn console_tty_ioctls() {
    let mut w = World::new();
    assert_eq!(ioctl(&mut w, 1, TCGETS, OUT), Ok(0));
    let t = UserPtr::<Termios>::new(OUT).read(&w.mem).unwrap();
    assert_eq!(t, Termios::linux_default());
    assert_eq!(ioctl(&mut w, 1, TIOCGWINSZ, OUT), Ok(0));
    let ws = UserPtr::<Winsize>::new(OUT).read(&w.mem).unwrap();
    assert_eq!((ws.ws_row, ws.ws_col), (25, 80));
    assert_eq!(ioctl(&mut w, 0, TIOCGPGRP, OUT), Ok(0));
    assert_eq!(UserPtr::<i32>::new(OUT).read(&w.mem), Ok(1));
    assert_eq!(ioctl(&mut w, 1, TCGETS, UNMAPPED), Err(Errno::EFAULT));
    assert_eq!(ioctl(&mut w, 1, TCSETS, UNMAPPED), Err(Errno::EFAULT));
    // /dev/tty is the same terminal: settings made through it show on fd 1.
    let tty = w.fd("/dev/tty", RDWR);
    let mut raw = t;
    raw.c_lflag = 0;
    UserPtr::<Termios>::new(OUT)
        .write(&mut w.mem, &raw)
        .unwrap();
    assert_eq!(ioctl(&mut w, tty, TCSETS, OUT), Ok(0));
    assert_eq!(ioctl(&mut w, 1, TCGETS, OUT + 64), Ok(0));
    assert_eq!(
        UserPtr::<Termios>::new(OUT + 64)
            .read(&w.mem)
            .unwrap()
            .c_lflag,
        0
    );
    assert_eq!(w.write(tty, b"via tty\n"), Ok(8));
    assert!(w.console.output().ends_with(b"via tty\r\n"));
}

#[test]
fn nonblocking_console() {
    let mut w = World::new();
    UserPtr::<i32>::new(OUT).write(&mut w.mem, &1).unwrap();
    assert_eq!(ioctl(&mut w, 0, oxv_abi::linux::fs::FIONBIO, OUT), Ok(0));
    assert_eq!(w.read(0, 10), Err(Errno::EAGAIN));
    assert!(
        w.files.get(2).unwrap().is_nonblocking(),
        "fds 0-2 share one open file"
    );
}

#[test]
fn memory_and_random_devices() {
    let mut w = World::new();
    let null = w.fd("/dev/null", RDWR);
    assert_eq!(w.read(null, 10).unwrap(), b"");
    assert_eq!(w.write(null, b"discard"), Ok(7));
    // /dev/null does not read the buffer: even an unmapped one is fine.
    assert_eq!(
        read_write::write(&w.files, &mut w.mem, null, UserBuf::new(UNMAPPED, 5)),
        Ok(5)
    );
    let zero = w.fd("/dev/zero", RDONLY);
    w.mem.poke(BUF, &[0xff; 16]);
    assert_eq!(w.read(zero, 16).unwrap(), [0; 16]);
    let full = w.fd("/dev/full", WRONLY);
    assert_eq!(w.write(full, b"x"), Err(Errno::ENOSPC));
    let rnd = w.fd("/dev/urandom", RDONLY);
    let a = w.read(rnd, 32).unwrap();
    let b = w.read(rnd, 32).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    let r = w.fd("/dev/random", RDONLY);
    assert_eq!(w.read(r, 8).unwrap().len(), 8);
    assert_eq!(w.open("/dev/console", RDWR, 0).map(|_| ()), Ok(()));
    assert!(w.stat("/dev/shm").is_ok());
}

#[test]
fn device_nodes_without_drivers_are_enxio() {
    let mut w = World::new();
    // A node for a device number no driver registered (like an initramfs /dev entry).
    let tmp = w.cx.lookup(b"/tmp", true).unwrap();
    let attrs = crate::NewAttrs {
        perm: 0o600,
        uid: 0,
        gid: 0,
        now: Timestamp::EPOCH,
    };
    tmp.inode()
        .create(
            b"ttyS9",
            crate::NewNode::CharDevice(DeviceId::new(4, 73)),
            &attrs,
        )
        .unwrap();
    tmp.inode()
        .create(
            b"sda",
            crate::NewNode::BlockDevice(DeviceId::new(8, 0)),
            &attrs,
        )
        .unwrap();
    tmp.inode()
        .create(b"fifo", crate::NewNode::Fifo, &attrs)
        .unwrap();
    assert_eq!(w.open("/tmp/ttyS9", RDWR, 0), Err(Errno::ENXIO));
    assert_eq!(w.open("/tmp/sda", RDWR, 0), Err(Errno::ENXIO));
    assert_eq!(w.open("/tmp/fifo", RDONLY, 0), Err(Errno::ENXIO));
    assert!(w.open("/tmp/ttyS9", OpenFlags::PATH, 0).is_ok());
    // A node made by hand for a registered number opens the driver.
    tmp.inode()
        .create(
            b"mynull",
            crate::NewNode::CharDevice(DeviceId::new(1, 3)),
            &attrs,
        )
        .unwrap();
    let fd = w.fd("/tmp/mynull", RDWR);
    assert_eq!(w.write(fd, b"x"), Ok(1));
}

#[test]
fn stdio_links_and_procfs() {
    let mut w = World::new();
    assert_eq!(w.readlink("/dev/stdout").unwrap(), b"/proc/self/fd/1");
    assert_eq!(w.readlink("/dev/fd").unwrap(), b"/proc/self/fd");
    assert_eq!(
        w.open("/dev/stdin", RDONLY, 0),
        Err(Errno::ENOENT),
        "/proc/self/fd is not there yet"
    );
    assert_eq!(w.readlink("/proc/self").unwrap(), b"1");
    assert_eq!(w.readlink("/proc/1/exe").unwrap(), b"/bin/app");
    assert_eq!(w.contents("/proc/self/cmdline").unwrap(), b"app\0--flag\0");
    assert_eq!(
        w.stat("/proc/self/exe").unwrap().st_size,
        8,
        "stat follows exe to the binary"
    );
    let fd = w.fd("/proc", RDONLY);
    let n = getdents::getdents64(&w.files, &mut w.mem, fd, UserBuf::new(BUF, 4096)).unwrap();
    // ., .., stat, self, sys, 1, 2 take 24 bytes each; the eight longer system file names 32.
    assert_eq!(
        n,
        7 * 24 + 8 * 32,
        "., .., the system files, self, 1 and its child 2"
    );
    assert_eq!(
        w.contents("/proc/self/maps").unwrap(),
        b"00400000-00401000 r-xp 00000000 00:01 2 /bin/app\n"
    );
    assert_eq!(
        w.open("/proc/self/cmdline", WRONLY, 0)
            .map(|fd| w.write(fd as i32, b"x")),
        Ok(Err(Errno::EINVAL))
    );
    assert_eq!(
        w.mkdir("/proc/x", 0o755),
        Err(Errno::EPERM),
        "procfs creates nothing"
    );
    w.chdir("/proc/self").unwrap();
    assert_eq!(w.getcwd().unwrap(), "/proc/1");
}
