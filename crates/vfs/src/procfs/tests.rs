use super::*;
use crate::fake::FakeProcess;

fn proc() -> Arc<ProcFs> {
    ProcFs::new(
        FakeProcess::new(42, b"/bin/app", &[b"app", b"-v"]),
        DeviceId::new(0, 9),
        Timestamp::EPOCH,
    )
}

fn read_all(node: &Arc<dyn Inode>) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = node.read_at(0, &mut ReadBuf::kernel(&mut buf)).unwrap();
    buf[..n].to_vec()
}

fn names(dir: &Arc<dyn Inode>) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    dir.read_dir(0, &mut |e| {
        v.push(e.name.to_vec());
        true
    })
    .unwrap();
    v
}

#[test]
fn self_exe_and_cwd_links() {
    let root = proc().root();
    assert_eq!(root.lookup(b"self").unwrap().read_link().unwrap(), b"42");
    let pid = root.lookup(b"42").unwrap();
    assert_eq!(pid.kind(), FileKind::Directory);
    assert_eq!(
        pid.lookup(b"exe").unwrap().read_link().unwrap(),
        b"/bin/app"
    );
    assert_eq!(pid.lookup(b"cwd").unwrap().read_link().unwrap(), b"/");
    assert_eq!(pid.lookup(b"nope").err(), Some(Errno::ENOENT));
    assert_eq!(pid.parent().unwrap().ino(), ROOT_INO);
}

#[test]
fn every_process_has_a_directory() {
    let root = proc().root();
    // The fake has the current process 42 and its child 43.
    let child = root.lookup(b"43").unwrap();
    assert_eq!(
        child.lookup(b"exe").unwrap().read_link().unwrap(),
        b"/bin/child"
    );
    assert_ne!(child.ino(), root.lookup(b"42").unwrap().ino());
    assert_eq!(root.lookup(b"44").err(), Some(Errno::ENOENT));
    assert_eq!(
        root.lookup(b"042").err(),
        Some(Errno::ENOENT),
        "not a canonical pid"
    );
    assert_eq!(
        names(&root),
        [
            &b"."[..],
            b"..",
            b"cpuinfo",
            b"filesystems",
            b"interrupts",
            b"loadavg",
            b"meminfo",
            b"mounts",
            b"stat",
            b"uptime",
            b"version",
            b"self",
            b"sys",
            b"42",
            b"43"
        ]
    );
}

#[test]
fn cmdline_reads_at_offsets() {
    let cmd = proc()
        .root()
        .lookup(b"42")
        .unwrap()
        .lookup(b"cmdline")
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(cmd.read_at(0, &mut ReadBuf::kernel(&mut buf)), Ok(7));
    assert_eq!(&buf[..7], b"app\0-v\0");
    assert_eq!(cmd.read_at(4, &mut ReadBuf::kernel(&mut buf)), Ok(3));
    assert_eq!(cmd.read_at(100, &mut ReadBuf::kernel(&mut buf)), Ok(0));
    assert_eq!(cmd.metadata().size, 0);
}

#[test]
fn pid_and_system_files_come_from_the_info() {
    let root = proc().root();
    let pid = root.lookup(b"42").unwrap();
    assert_eq!(
        read_all(&pid.lookup(b"maps").unwrap()),
        b"00400000-00401000 r-xp 00000000 00:01 2 /bin/app\n"
    );
    assert_eq!(read_all(&pid.lookup(b"status").unwrap()), b"Pid:\t42\n");
    assert_eq!(
        read_all(&root.lookup(b"meminfo").unwrap()),
        b"MemTotal: 1 kB\n"
    );
    let f = pid.lookup(b"smaps").unwrap();
    assert_eq!(f.kind(), FileKind::Regular);
    assert_eq!(f.metadata().size, 0, "like Linux, proc files report size 0");
    assert_eq!(root.lookup(b"maps").err(), Some(Errno::ENOENT));
}

#[test]
fn fd_directory_lists_links() {
    let fd = proc().root().lookup(b"42").unwrap().lookup(b"fd").unwrap();
    assert_eq!(fd.kind(), FileKind::Directory);
    assert_eq!(names(&fd), [&b"."[..], b"..", b"0", b"3"]);
    assert_eq!(fd.lookup(b"3").unwrap().read_link().unwrap(), b"pipe:[7]");
    assert_eq!(fd.lookup(b"1").err(), Some(Errno::ENOENT));
    assert_eq!(
        fd.parent().unwrap().ino(),
        proc().root().lookup(b"42").unwrap().ino()
    );
}

#[test]
fn listing_resumes_at_cursor() {
    let pid = proc().root().lookup(b"42").unwrap();
    let mut rest = Vec::new();
    pid.read_dir(5, &mut |e| {
        rest.push((e.name.to_vec(), e.next));
        true
    })
    .unwrap();
    assert_eq!(rest[0], (b"cmdline".to_vec(), 6));
    assert_eq!(rest.len(), 9);
}

#[test]
fn proc_sys_is_a_tree_of_read_only_sysctls() {
    let root = proc().root();
    let sys = root.lookup(b"sys").unwrap();
    assert_eq!(sys.kind(), FileKind::Directory);
    assert_eq!(
        names(&sys),
        [&b"."[..], b"..", b"fs", b"kernel", b"net", b"vm"]
    );
    assert_eq!(sys.parent().unwrap().ino(), root.ino());
    let kernel = sys.lookup(b"kernel").unwrap();
    let random = kernel.lookup(b"random").unwrap();
    assert_eq!(random.parent().unwrap().ino(), kernel.ino());
    let uuid = random.lookup(b"uuid").unwrap();
    assert_eq!(uuid.kind(), FileKind::Regular);
    assert_eq!(uuid.metadata().perm, 0o444);
    assert_eq!(uuid.parent().err(), Some(Errno::ENOTDIR));
    let mut buf = [0u8; 64];
    let n = uuid.read_at(0, &mut ReadBuf::kernel(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"kernel/random/uuid\n");
    assert_eq!(kernel.lookup(b"nope").err(), Some(Errno::ENOENT));
    assert_eq!(uuid.lookup(b"x").err(), Some(Errno::ENOTDIR));
    let core = sys.lookup(b"net").unwrap().lookup(b"core").unwrap();
    assert_eq!(names(&core), [&b"."[..], b"..", b"somaxconn"]);
    // Every listed sysctl resolves, and inode numbers are distinct.
    let mut inos = std::collections::BTreeSet::new();
    for path in SYSCTLS {
        let mut node = sys.clone();
        for part in path.split('/') {
            node = node.lookup(part.as_bytes()).unwrap();
        }
        assert!(inos.insert(node.ino()), "{path}");
    }
}
