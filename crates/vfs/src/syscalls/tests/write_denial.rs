//! ETXTBSY: writers of a file and programs running from it exclude each other (see
//! [`crate::write_access`]); exec's side is played by a [`DenyWrite`] on the inode.

use super::*;
use crate::write_access::DenyWrite;

fn inode_of(w: &World, p: &str) -> Arc<dyn crate::Inode> {
    w.cx.lookup(p.as_bytes(), true).unwrap().inode().clone()
}

fn truncate(w: &mut World, p: &str, len: i64) -> SysResult {
    let path = w.path(p);
    truncate::truncate(&w.cx, &w.files, &mut w.mem, path, len)
}

#[test]
fn a_running_program_cannot_be_opened_for_writing_or_truncated() {
    let mut w = World::new();
    let app = inode_of(&w, "/bin/app");
    let running = DenyWrite::get(&app).unwrap();
    for flags in [WRONLY, RDWR, RDONLY | OpenFlags::TRUNC, WRONLY | CREAT] {
        assert_eq!(
            w.open("/bin/app", flags, 0),
            Err(Errno::ETXTBSY),
            "{flags:?}"
        );
    }
    assert_eq!(truncate(&mut w, "/bin/app", 0), Err(Errno::ETXTBSY));
    assert_eq!(
        truncate(&mut w, "/bin/app", -1),
        Err(Errno::EINVAL),
        "EINVAL first"
    );
    assert_eq!(
        w.stat("/bin/app").unwrap().st_size,
        8,
        "nothing was truncated"
    );
    let fd = w.fd("/bin/app", RDONLY);
    assert_eq!(w.read(fd, 4).unwrap(), b"\x7fELF");
    assert!(
        w.open("/bin/app", OpenFlags::PATH | RDWR, 0).is_ok(),
        "O_PATH drops the access mode"
    );
    // A second program from the same file is fine.
    let again = DenyWrite::get(&app).unwrap();
    drop(running);
    assert_eq!(
        w.open("/bin/app", WRONLY, 0),
        Err(Errno::ETXTBSY),
        "one still runs"
    );
    drop(again);
    let fd = w.fd("/bin/app", WRONLY);
    assert_eq!(w.write(fd, b"!"), Ok(1));
}

#[test]
fn a_file_open_for_writing_cannot_be_run_until_its_last_writer_closes() {
    let mut w = World::new();
    let a = w.fd("/tmp/prog", CREAT | WRONLY);
    let b = w.fd("/tmp/prog", RDWR);
    let shared = dup::dup(&w.files, b).unwrap() as i32;
    let prog = inode_of(&w, "/tmp/prog");
    assert_eq!(
        prog.write_count().unwrap().writers(),
        2,
        "a dup shares its file's access"
    );
    assert_eq!(DenyWrite::get(&prog).err(), Some(Errno::ETXTBSY));
    w.close(a).unwrap();
    w.close(b).unwrap();
    assert_eq!(
        DenyWrite::get(&prog).err(),
        Some(Errno::ETXTBSY),
        "the dup still writes"
    );
    w.close(shared).unwrap();
    let running = DenyWrite::get(&prog).unwrap();
    assert!(prog.write_count().unwrap().is_denied());
    drop(running);
    assert_eq!(truncate(&mut w, "/tmp/prog", 0), Ok(0));
}

#[test]
fn read_only_opens_and_failed_opens_leave_no_writer() {
    let mut w = World::new();
    let motd = inode_of(&w, "/etc/motd");
    let fd = w.fd("/etc/motd", RDONLY | OpenFlags::TRUNC);
    assert_eq!(
        motd.write_count().unwrap().writers(),
        0,
        "O_TRUNC writes only while opening"
    );
    assert_eq!(w.stat("/etc/motd").unwrap().st_size, 0);
    assert_eq!(
        w.open("/etc/motd", WRONLY | OpenFlags::DIRECTORY, 0),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(motd.write_count().unwrap().writers(), 0);
    w.close(fd).unwrap();
    assert!(DenyWrite::get(&motd).is_ok());
}
