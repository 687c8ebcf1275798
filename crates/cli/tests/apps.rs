//! App tests: unmodified programs from the host (Debian 12 packages and a dynamically
//! linked C program built here) run in oxv by their host path, and their real output is
//! checked. See docs/apps.md for the table of results.
//!
//! Every test is `#[ignore]`d: they are slow (each boots a VM, Python's image is 70 MiB)
//! and need the packages installed. Run them with `cargo oxv test --apps` (which installs
//! busybox-static, sqlite3, lua5.4 and python3 with apt when missing), or directly:
//!
//! ```text
//! cargo test -p oxv-cli --test apps -- --ignored --test-threads=1
//! ```
//!
//! Set `OXV_KERNEL` to boot a prebuilt kernel (`oxv test` does). A program missing from the
//! host fails its test with the package to install. Servers (redis, nginx, lighttpd) run in
//! the guest with `-p` and are driven from the host through QEMU's port forwarding.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Per-run limit: generous for TCG on a busy 2-core machine (Python starts in ~8 s).
const TIMEOUT_SECS: &str = "180";

/// Runs the built `oxv` with `args` (after the subcommand) and `stdin`.
fn oxv(subcommand: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxv"));
    cmd.arg(subcommand);
    if subcommand == "run" {
        cmd.args(["--timeout", TIMEOUT_SECS]);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxv");
    let mut pipe = child.stdin.take().expect("piped stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The guest may exit without reading everything; a broken pipe is fine then.
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for oxv");
    writer.join().expect("stdin writer");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts the run exited with `status`, showing everything it printed otherwise.
#[track_caller]
fn assert_status(out: &Output, status: i32) {
    assert_eq!(
        out.status.code(),
        Some(status),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The host program at `path`, or a failure naming the package that provides it.
#[track_caller]
fn host_program(path: &'static str, package: &str) -> &'static str {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: apt-get install {package} (cargo oxv test --apps does)"
    );
    path
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("apps")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

fn gcc(args: &[&str]) {
    let out = Command::new("gcc")
        .args(args)
        .output()
        .expect("gcc is installed (oxv test installs it)");
    assert!(
        out.status.success(),
        "gcc {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn busybox_static_shell_and_applets() {
    let busybox = host_program("/bin/busybox", "busybox-static");
    let data = scratch("busybox");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("a.txt"), "pear\napple\nfig\n").unwrap();
    std::fs::write(data.join("sub/b.txt"), "abc").unwrap();
    let mapping = format!("{}:/data", data.display());

    let out = oxv(
        "run",
        &[
            busybox,
            "sh",
            "-c",
            "x=6; echo \"$((x * 7))\"; for w in a b c; do printf '%s-' \"$w\"; done; echo; \
             test -d /tmp && echo tmp-is-a-dir; cd /tmp && pwd; exit 5",
        ],
        b"",
    );
    assert_status(&out, 5);
    assert_eq!(stdout(&out), "42\na-b-c-\ntmp-is-a-dir\n/tmp\n");

    let out = oxv(
        "run",
        &["--file", &mapping, busybox, "sort", "/data/a.txt"],
        b"",
    );
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "apple\nfig\npear\n");

    let out = oxv(
        "run",
        &["--file", &mapping, busybox, "cat", "/data/sub/b.txt"],
        b"",
    );
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "abc");

    // sha256("abc"), FIPS 180-2 appendix B.1.
    let out = oxv(
        "run",
        &["--file", &mapping, busybox, "sha256sum", "/data/sub/b.txt"],
        b"",
    );
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  /data/sub/b.txt\n"
    );

    let out = oxv(
        "run",
        &[
            "--file", &mapping, busybox, "find", "/data", "-name", "*.txt",
        ],
        b"",
    );
    assert_status(&out, 0);
    let text = stdout(&out);
    let mut found: Vec<&str> = text.lines().collect();
    found.sort();
    assert_eq!(found, ["/data/a.txt", "/data/sub/b.txt"]);

    let out = oxv("run", &["--file", &mapping, busybox, "ls", "/data"], b"");
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "a.txt\nsub\n");

    let out = oxv("run", &[busybox, "sort", "-r"], b"b\nc\na\n");
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "c\nb\na\n");
}

/// Issue 10's "what it must show": busybox sh forks, execs and waits like on Linux. Each
/// pipeline stage, `$(...)` and `( ... )` is a forked child; the statuses come from wait4.
#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn busybox_shell_pipelines_substitution_statuses_and_jobs() {
    let busybox = host_program("/bin/busybox", "busybox-static");
    let out = oxv(
        "run",
        &[busybox, "sh", "-c", "echo a b c | busybox wc -w"],
        b"",
    );
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "3\n");

    let script = "echo a b c | busybox wc -w; \
                  echo $(echo hi | busybox tr a-z A-Z); \
                  printf 'b\\na\\nc\\n' | busybox sort | busybox head -n 2 | busybox tr '\\n' ,; echo; \
                  busybox false; echo \"false=$?\"; \
                  busybox ls /nonexistent 2>/dev/null; echo \"ls=$?\"; \
                  (exit 7); echo \"subshell=$?\"; \
                  busybox sleep 1 & p=$!; echo started; wait $p; echo \"waited=$?\"; \
                  (exit 3) & wait $!; echo \"background=$?\"; \
                  exit 4";
    let out = oxv("run", &[busybox, "sh", "-c", script], b"");
    assert_status(&out, 4);
    assert_eq!(
        stdout(&out),
        "3\nHI\na,b,\nfalse=1\nls=1\nsubshell=7\nstarted\nwaited=0\nbackground=3\n"
    );
}

/// Builds apps/dynhello into a scratch directory; returns (bin/dynhello, lib dir).
fn build_dynhello() -> (PathBuf, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../apps/dynhello");
    let dir = scratch("dynhello");
    let (bin, lib) = (dir.join("bin"), dir.join("lib"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    gcc(&[
        "-shared",
        "-fPIC",
        "-Wl,-soname,libgreet.so",
        "-o",
        &s(&lib.join("libgreet.so")),
        &s(&src.join("greet.c")),
    ]);
    gcc(&[
        "-shared",
        "-fPIC",
        "-o",
        &s(&lib.join("libplugin.so")),
        &s(&src.join("plugin.c")),
    ]);
    gcc(&[
        "-O1",
        "-pthread",
        "-o",
        &s(&bin.join("dynhello")),
        &s(&src.join("main.c")),
        "-L",
        &s(&lib),
        "-lgreet",
        "-lm",
        "-ldl",
        "-Wl,-rpath,$ORIGIN/../lib",
        "-Wl,--disable-new-dtags",
    ]);
    (bin.join("dynhello"), lib)
}

const DYNHELLO_OUTPUT: &str = "hello from libgreet (call 1)\nhello from libgreet (call 2)\n\
sqrt(2) = 1.414214\nuid 0 is root\nplugin says 42\ntls: thread 107, main 7\nfile: 2 args\n\
argv[1] = arg\n";

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn dynamic_glibc_program_with_rpath_dlopen_and_threads() {
    let (exe, lib) = build_dynhello();
    // On the host first: the expected output is Linux's.
    let host = Command::new(&exe).arg("arg").output().unwrap();
    assert_eq!(host.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&host.stdout), DYNHELLO_OUTPUT);
    // libplugin is only dlopen'ed: the library directory goes in with --dir.
    let out = oxv(
        "run",
        &["--dir", lib.to_str().unwrap(), exe.to_str().unwrap(), "arg"],
        b"",
    );
    assert_status(&out, 3);
    assert_eq!(stdout(&out), DYNHELLO_OUTPUT);
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn a_missing_library_is_named_before_booting() {
    let (exe, lib) = build_dynhello();
    std::fs::remove_file(lib.join("libgreet.so")).unwrap();
    let out = oxv("run", &[exe.to_str().unwrap()], b"");
    assert_status(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shared libraries not found: libgreet.so (needed by"),
        "{err}"
    );
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn sqlite3_database_file_without_locking() {
    let sqlite3 = host_program("/usr/bin/sqlite3", "sqlite3");
    // nolock=1: the same file I/O without fcntl(F_SETLK) (see the locking test below).
    let sql = "create table t(id integer primary key, name text);\n\
               insert into t(name) values ('one'), ('two'), ('three');\n\
               select id, upper(name) from t where id > 1 order by id;\n\
               select count(*), sum(length(name)) from t;\n";
    let out = oxv(
        "run",
        &[sqlite3, "file:/tmp/test.db?nolock=1"],
        sql.as_bytes(),
    );
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "2|TWO\n3|THREE\n3|11\n");
}

/// Asserts `e2fsck -fn` finds nothing to fix in `img`.
#[track_caller]
fn assert_fsck_clean(img: &Path) {
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(img)
        .output()
        .expect("e2fsck (e2fsprogs) must be installed");
    assert!(
        out.status.success(),
        "e2fsck -fn {}:\n{}{}",
        img.display(),
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The file at `path` in the ext2 image `img`, copied out with debugfs into `to`.
fn debugfs_dump(img: &Path, path: &str, to: &Path) {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("dump {path} {}", to.display()))
        .arg(img)
        .output()
        .expect("debugfs (e2fsprogs) must be installed");
    assert!(
        out.status.success() && to.is_file(),
        "debugfs dump {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn sqlite3_database_file_with_locks_and_wal() {
    // A WAL database on an ext2 disk, used by two processes at once: the shell's `.shell`
    // runs a second sqlite3 (through /bin/sh, busybox) while the first holds the database
    // open in WAL mode, so they share the write-ahead log through fcntl locks and the
    // MAP_SHARED `-shm` index. The disk is checked and read on the host afterwards.
    let sqlite3 = host_program("/usr/bin/sqlite3", "sqlite3");
    let busybox = host_program("/bin/busybox", "busybox-static");
    let dir = scratch("sqlite-wal");
    let img = dir.join("data.img");
    common::mke2fs(&img, "32M", &[], None);
    let disk = format!("{}:/data", img.display());
    let sh = format!("{busybox}:/bin/sh");
    let sql = "pragma journal_mode=wal;\ncreate table t(x);\ninsert into t values (1), (2);\n\
               .shell /usr/bin/sqlite3 /data/wal.db \"insert into t values (4); \
               select 'child', sum(x) from t;\"\n\
               insert into t values (8);\nselect sum(x) from t;\npragma integrity_check;\n";
    let out = oxv(
        "run",
        &["--disk", &disk, "--file", &sh, sqlite3, "/data/wal.db"],
        sql.as_bytes(),
    );
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "wal\nchild|7\n15\nok\n");

    // After the VM: the file system is consistent and the host's sqlite3 reads the
    // database (the last connection checkpointed the log into it).
    assert_fsck_clean(&img);
    let db = dir.join("wal.db");
    debugfs_dump(&img, "/wal.db", &db);
    let host = Command::new(sqlite3)
        .arg(&db)
        .arg("select group_concat(x) from t; pragma integrity_check; pragma journal_mode;")
        .output()
        .unwrap();
    assert_status(&host, 0);
    assert_eq!(stdout(&host), "1,2,4,8\nok\nwal\n");

    // A second boot reads what the first wrote.
    let out = oxv(
        "run",
        &[
            "--disk",
            &disk,
            sqlite3,
            "/data/wal.db",
            "select count(*), sum(x) from t;",
        ],
        b"",
    );
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "4|15\n");
    assert_fsck_clean(&img);
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn lua_script_with_tables_strings_and_files() {
    let lua = host_program("/usr/bin/lua5.4", "lua5.4");
    let script = r##"
local t = {}
for i = 1, 5 do t[#t + 1] = i * i end
print(table.concat(t, ","))
print(string.format("%d %s %.3f", 6 * 7, ("ab"):rep(3), math.pi))
local f = assert(io.open("/tmp/lua.txt", "w"))
f:write("line one\nline two\n")
f:close()
local n = 0
for line in io.lines("/tmp/lua.txt") do n = n + #line end
print("chars", n)
print(select("#", 1, nil, 3), type(os.time()), _VERSION)
os.exit(4)
"##;
    let out = oxv("run", &[lua, "-"], script.as_bytes());
    assert_status(&out, 4);
    assert_eq!(
        stdout(&out),
        "1,4,9,16,25\n42 ababab 3.142\nchars\t16\n3\tnumber\tLua 5.4\n"
    );
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn python3_script_with_a_thread_files_and_extension_modules() {
    let python = host_program("/usr/bin/python3", "python3");
    // The standard library is read at run time: it goes in with --dir. hashlib and json
    // load extension modules (lib-dynload) whose libraries oxv packs too (libcrypto).
    let version = std::fs::canonicalize(python).unwrap();
    let name = version.file_name().unwrap().to_str().unwrap();
    let stdlib = format!("/usr/lib/{name}");
    let script = r#"
import hashlib, json, os, sys, threading
results = []
def work(n):
    results.append(sum(i * i for i in range(n)))
t = threading.Thread(target=work, args=(1000,))
t.start(); t.join()
with open("/tmp/py.json", "w") as f:
    json.dump({"squares": results, "pid_is_int": isinstance(os.getpid(), int)}, f)
with open("/tmp/py.json") as f:
    data = json.load(f)
print(data["squares"][0], data["pid_is_int"])
print(hashlib.sha256(b"abc").hexdigest()[:16])
print(sorted(os.listdir("/tmp")))
sys.exit(6)
"#;
    let out = oxv("run", &["--dir", &stdlib, python, "-"], script.as_bytes());
    assert_status(&out, 6);
    assert_eq!(
        stdout(&out),
        "332833500 True\nba7816bf8f01cfea\n['py.json']\n"
    );
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn bundles_boot_with_plain_qemu_and_with_oxv_boot() {
    let (exe, lib) = build_dynhello();
    let bundle = scratch("bundle").join("dynhello");
    let out = oxv(
        "image",
        &[
            "-o",
            bundle.to_str().unwrap(),
            "--dir",
            lib.to_str().unwrap(),
            "--timeout",
            TIMEOUT_SECS,
            "--",
            exe.to_str().unwrap(),
            "arg",
        ],
        b"",
    );
    assert_status(&out, 0);
    for file in [
        "oxv-kernel",
        "initramfs.cpio",
        "cmdline",
        "bundle.conf",
        "run.sh",
        "firecracker.json",
    ] {
        assert!(
            bundle.join(file).is_file(),
            "{file} missing from the bundle"
        );
    }
    // run.sh needs nothing but the bundle: run it from elsewhere, with a clean environment.
    let run = Command::new(bundle.join("run.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_status(&run, 3);
    assert_eq!(stdout(&run), DYNHELLO_OUTPUT);

    let out = oxv("boot", &[bundle.to_str().unwrap()], b"");
    assert_status(&out, 3);
    assert_eq!(stdout(&out), DYNHELLO_OUTPUT);

    // Stdin reaches the app through run.sh, 0xff bytes and end of input included.
    let busybox = host_program("/bin/busybox", "busybox-static");
    let od = scratch("bundle-od").join("od");
    let out = oxv(
        "image",
        &["-o", od.to_str().unwrap(), busybox, "od", "-An", "-tx1"],
        b"",
    );
    assert_status(&out, 0);
    let mut child = Command::new(od.join("run.sh"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"ab\xffc").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_status(&out, 0);
    assert_eq!(stdout(&out).trim(), "61 62 ff 63");
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn disk_image_bundles_keep_what_the_app_writes_across_boots() {
    // The root file system is the bundle's ext2 disk: each boot appends a line to /state
    // and shows the file, so the second boot (by the other launcher) sees both lines. /tmp
    // is a tmpfs on top, empty at every boot. The run options travel with the bundle: a
    // second disk (copied in as disk1.img, mounted on /data), user networking with a port
    // forward, a virtio-rng device and 2 vCPUs.
    let busybox = host_program("/bin/busybox", "busybox-static");
    let work = scratch("bundle-disk");
    let data = work.join("data.img");
    common::mke2fs(&data, "8M", &[], None);
    let bundle = work.join("state");
    let out = oxv(
        "image",
        &[
            "-o",
            bundle.to_str().unwrap(),
            "--disk-image",
            "--disk",
            &format!("{}:/data", data.display()),
            "-p",
            "18099:80",
            "--rng",
            "--cpus",
            "2",
            "--timeout",
            TIMEOUT_SECS,
            "--",
            busybox,
            "sh",
            "-c",
            "echo boot >> /state; cat /state; ls /tmp; echo scratch > /tmp/x; \
             grep -c ' / ext2 rw' /proc/mounts; echo data >> /data/log",
        ],
        b"",
    );
    assert_status(&out, 0);
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        warnings.contains("Firecracker cannot forward host ports: -p 18099:80 left out"),
        "{warnings}"
    );
    assert!(!bundle.join("initramfs.cpio").exists());
    let root = bundle.join("rootfs.ext2");
    assert_fsck_clean(&root);
    let conf = std::fs::read_to_string(bundle.join("bundle.conf")).unwrap();
    assert!(
        conf.contains(
            "CPUS=2\nMACHINE=microvm\nTIMEOUT=180\nINITRD=\nDISKS=rootfs.ext2,disk1.img\n\
             NET=user\nPORTS=tcp:18099:80\nRNG=1\n"
        ),
        "{conf}"
    );
    let json = std::fs::read_to_string(bundle.join("firecracker.json")).unwrap();
    assert!(json.contains("\"path_on_host\": \"rootfs.ext2\""), "{json}");
    assert!(!json.contains("initrd_path"), "{json}");

    let run = Command::new(bundle.join("run.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_status(&run, 0);
    assert_eq!(stdout(&run), "boot\n1\n");
    let out = oxv("boot", &[bundle.to_str().unwrap()], b"");
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "boot\nboot\n1\n");
    // The kernel marked the file systems clean at power-off.
    for (img, path, text) in [
        (&root, "/state", "boot\nboot\n"),
        (&bundle.join("disk1.img"), "/log", "data\ndata\n"),
    ] {
        assert_fsck_clean(img);
        let copy = work.join("out");
        let _ = std::fs::remove_file(&copy);
        debugfs_dump(img, path, &copy);
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), text);
    }
    // The original disk was copied, not used.
    assert_fsck_clean(&data);
    let dump = Command::new("debugfs")
        .args(["-R", "stat /log"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&dump.stderr).contains("File not found"),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
}

/// Unpacks a newc archive into `dir` (directories, files with their modes, symlinks).
fn unpack(archive: &[u8], dir: &Path) {
    use oxv_vfs::FileKind;
    use std::os::unix::fs::PermissionsExt;
    for entry in oxv_vfs::initramfs::Reader::new(archive) {
        let entry = entry.expect("a valid archive");
        let path = dir.join(std::str::from_utf8(entry.name).unwrap());
        match entry.kind() {
            Some(FileKind::Directory) => std::fs::create_dir_all(&path).unwrap(),
            Some(FileKind::Regular) => {
                std::fs::write(&path, entry.data).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(entry.perm()))
                    .unwrap();
            }
            Some(FileKind::Symlink) => {
                let target = std::str::from_utf8(entry.data).unwrap();
                std::os::unix::fs::symlink(target, &path).unwrap();
            }
            other => panic!("unexpected entry {other:?} in the archive"),
        }
    }
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn a_rootfs_directory_runs_its_own_dynamic_program() {
    // A root file system made from a bundle's initramfs: the program, its loader and
    // libraries (behind the same symlinks as on the host), /etc.
    let (exe, lib) = build_dynhello();
    let work = scratch("rootfs");
    let bundle = work.join("bundle");
    let out = oxv(
        "image",
        &[
            "-o",
            bundle.to_str().unwrap(),
            "--dir",
            lib.to_str().unwrap(),
            exe.to_str().unwrap(),
        ],
        b"",
    );
    assert_status(&out, 0);
    let root = work.join("root");
    std::fs::create_dir_all(&root).unwrap();
    unpack(
        &std::fs::read(bundle.join("initramfs.cpio")).unwrap(),
        &root,
    );
    // The program is found inside the root (by its path there), not on the host.
    let out = oxv(
        "run",
        &[
            "--rootfs",
            root.to_str().unwrap(),
            exe.to_str().unwrap(),
            "arg",
        ],
        b"",
    );
    assert_status(&out, 3);
    assert_eq!(stdout(&out), DYNHELLO_OUTPUT);
    // A library missing from the root is named, even though the host has it.
    let libc = std::fs::canonicalize("/lib/x86_64-linux-gnu/libc.so.6").unwrap();
    std::fs::remove_file(root.join(libc.strip_prefix("/").unwrap())).unwrap();
    let out = oxv(
        "run",
        &["--rootfs", root.to_str().unwrap(), exe.to_str().unwrap()],
        b"",
    );
    assert_status(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("libc.so.6 (needed by"), "{err}");
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn dynamic_musl_program_runs_through_musls_loader() {
    if Command::new("musl-gcc").arg("--version").output().is_err() {
        eprintln!("musl-gcc is not installed (Debian: musl-tools); skipped");
        return;
    }
    let dir = scratch("musl");
    let src = dir.join("m.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <math.h>\n\
         int main(int c, char **v) { volatile double x = 2; printf(\"%s %.3f\\n\", v[c - 1], sqrt(x)); return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("m");
    let out = Command::new("musl-gcc")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .arg("-lm")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = oxv("run", &[exe.to_str().unwrap(), "musl"], b"");
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "musl 1.414\n");
}

/// A server running in oxv with a host port forwarded to it; killed when dropped.
struct GuestServer {
    child: Child,
    port: u16,
}

impl GuestServer {
    /// Boots `oxv run -p FREE:guest_port ARGS...` in the background.
    fn start(guest_port: u16, args: &[&str]) -> GuestServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free host port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_oxv"))
            .args(["run", "--timeout", TIMEOUT_SECS, "-p"])
            .arg(format!("{port}:{guest_port}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn oxv");
        GuestServer { child, port }
    }

    /// Sends `request` on a new connection and returns everything the server answers before
    /// it closes (or `idle` passes with nothing new); retried until the guest is up (QEMU
    /// accepts on the host side at once, then resets while nothing listens in the guest).
    fn exchange(&mut self, request: &[u8], until: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("the guest server exited early ({status}):\n{err}");
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let mut got = Vec::new();
                if s.write_all(request).is_ok() {
                    let mut buf = [0u8; 4096];
                    while !until(&got) {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                }
                if until(&got) {
                    return got;
                }
            }
            assert!(Instant::now() < deadline, "the guest server never answered");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Waits for the VM to end by itself and returns its output.
    fn wait(mut self) -> Output {
        let child = std::mem::replace(
            &mut self.child,
            Command::new("true").spawn().expect("spawn true"),
        );
        child.wait_with_output().expect("wait for oxv")
    }
}

impl Drop for GuestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(server: &mut GuestServer, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.0\r\nHost: oxv\r\n\r\n");
    let complete = |b: &[u8]| {
        let text = String::from_utf8_lossy(b);
        text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
            head.lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .and_then(|n| n.trim().parse::<usize>().ok())
                })
                .is_some_and(|n| body.len() >= n)
        })
    };
    String::from_utf8_lossy(&server.exchange(req.as_bytes(), complete)).into_owned()
}

/// A document root and the page the web-server tests fetch.
fn web_root(name: &str) -> (PathBuf, String) {
    let dir = scratch(name);
    std::fs::create_dir_all(dir.join("www/sub")).unwrap();
    let page = format!("<h1>{name} in oxv</h1>\n");
    std::fs::write(dir.join("www/index.html"), &page).unwrap();
    std::fs::write(dir.join("www/sub/data.txt"), "x".repeat(100_000)).unwrap();
    (dir, page)
}

#[track_caller]
fn assert_http(response: &str, status: &str, body: Option<&str>) {
    assert!(
        response.starts_with("HTTP/1.") && response[9..].starts_with(status),
        "expected {status}: {response:.300}"
    );
    if let Some(body) = body {
        assert!(
            response.ends_with(body),
            "expected body {body:?}: {response:.300}"
        );
    }
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn redis_server_answers_redis_cli_and_redis_benchmark_from_the_host() {
    let redis = host_program("/usr/bin/redis-server", "redis-server");
    let bench = host_program("/usr/bin/redis-benchmark", "redis-tools");
    let mut server = GuestServer::start(
        6379,
        &[
            redis,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ],
    );
    let reply = |want: &'static [u8]| move |b: &[u8]| b.ends_with(want);
    assert_eq!(server.exchange(b"PING\r\n", reply(b"\r\n")), b"+PONG\r\n");
    let set = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    assert_eq!(server.exchange(set, reply(b"\r\n")), b"+OK\r\n");
    let get = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    assert_eq!(
        server.exchange(get, reply(b"value\r\n")),
        b"$5\r\nvalue\r\n"
    );
    let out = Command::new(bench)
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(["-n", "500", "-c", "4", "-t", "set,get,incr,lpush", "-q"])
        .output()
        .expect("run redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "redis-benchmark: {text}");
    for op in ["SET", "GET", "INCR", "LPUSH"] {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("{op}: ")) && l.contains("requests per second")),
            "no {op} figure: {text}"
        );
    }
    // INCR ran 500 times on the benchmark's counter key (no -r: one fixed key).
    let incr = b"*2\r\n$3\r\nGET\r\n$20\r\ncounter:__rand_int__\r\n";
    assert_eq!(
        server.exchange(incr, reply(b"\r\n500\r\n")),
        b"$3\r\n500\r\n"
    );
    let shutdown = b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n";
    let _ = server.exchange(shutdown, |_: &[u8]| true);
    let out = server.wait();
    assert_status(&out, 0);
    assert!(
        stdout(&out).contains("Ready to accept connections"),
        "{}",
        stdout(&out)
    );
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn nginx_serves_static_files_to_the_host() {
    let nginx = host_program("/usr/sbin/nginx", "nginx-light");
    let (dir, page) = web_root("nginx");
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        "worker_processes 1;\ndaemon off;\nmaster_process off;\nerror_log stderr;\n\
         pid /tmp/nginx.pid;\nevents { worker_connections 64; }\n\
         http {\n  access_log off;\n  client_body_temp_path /tmp/body;\n\
         proxy_temp_path /tmp/proxy;\n  fastcgi_temp_path /tmp/fastcgi;\n\
         uwsgi_temp_path /tmp/uwsgi;\n  scgi_temp_path /tmp/scgi;\n\
         server { listen 8080; root /srv; }\n}\n",
    )
    .unwrap();
    let file = format!("{}:/etc/oxv/nginx.conf", conf.display());
    let www = format!("{}:/srv", dir.join("www").display());
    let mut server = GuestServer::start(
        8080,
        &[
            "--file",
            &file,
            "--dir",
            &www,
            nginx,
            "-c",
            "/etc/oxv/nginx.conf",
            "-p",
            "/tmp",
        ],
    );
    assert_http(&http_get(&mut server, "/index.html"), "200", Some(&page));
    let big = http_get(&mut server, "/sub/data.txt");
    assert_http(&big, "200", Some(&"x".repeat(100_000)));
    assert_http(&http_get(&mut server, "/missing"), "404", None);
}

#[test]
#[ignore = "boots VMs; run with `cargo oxv test --apps`"]
fn lighttpd_serves_static_files_to_the_host() {
    let lighttpd = host_program("/usr/sbin/lighttpd", "lighttpd");
    let (dir, page) = web_root("lighttpd");
    let conf = dir.join("lighttpd.conf");
    std::fs::write(
        &conf,
        "server.document-root = \"/srv\"\nserver.port = 8080\nserver.modules = ( )\n\
         server.upload-dirs = ( \"/tmp\" )\n\
         mimetype.assign = ( \".html\" => \"text/html\", \".txt\" => \"text/plain\" )\n\
         index-file.names = ( \"index.html\" )\n",
    )
    .unwrap();
    let file = format!("{}:/etc/oxv/lighttpd.conf", conf.display());
    let www = format!("{}:/srv", dir.join("www").display());
    let mut server = GuestServer::start(
        8080,
        &[
            "--file",
            &file,
            "--dir",
            &www,
            lighttpd,
            "-D",
            "-f",
            "/etc/oxv/lighttpd.conf",
        ],
    );
    assert_http(&http_get(&mut server, "/"), "200", Some(&page));
    let big = http_get(&mut server, "/sub/data.txt");
    assert_http(&big, "200", Some(&"x".repeat(100_000)));
    assert_http(&http_get(&mut server, "/missing"), "404", None);
}
