//! Guest tests: boot oxv in QEMU with small static programs and check what comes out.
//!
//! Each test is `#[ignore]`d so that a plain `cargo test` stays fast and needs no QEMU; run
//! them with `cargo oxv test --only guest`, or directly:
//!
//! ```text
//! cargo test -p oxv-cli --test guest -- --ignored --test-threads=2
//! ```
//!
//! They run the built `oxv` binary (`oxv run --timeout ...`) and assert on its stdout,
//! stderr and exit status. Test programs are C, compiled with `gcc -static` into this
//! test's temporary directory. Set `OXV_KERNEL` to boot a prebuilt kernel (`oxv test` does).
//!
//! The `stub_kernel_*` tests boot `tests/stub_kernel.s` instead of oxv: a few dozen
//! instructions that speak the protocol, so the CLI's plumbing (channels, stdin framing,
//! records, panic reports, timeouts) is tested even while the real kernel cannot run.

mod common;

use common::unique;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Per-run limit: generous for TCG on a busy 2-core machine, short enough to fail a hang.
const TIMEOUT_SECS: &str = "60";

fn build_c(name: &str, source: &str) -> PathBuf {
    common::build_c("guest", name, source)
}

/// A static Rust program built from `source` with the toolchain running the tests.
fn build_rust(name: &str, source: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("guest")
        .join(name);
    std::fs::create_dir_all(&dir).expect("create the test's build directory");
    let src = unique(&dir.join(format!("{name}.rs")));
    std::fs::write(&src, source).expect("write the Rust source");
    let bin = dir.join(name);
    let tmp = unique(&bin);
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args([
            "-O",
            "--edition",
            "2021",
            "--crate-name",
            "guest_program",
            "-C",
            "target-feature=+crt-static",
            "-o",
        ])
        .arg(&tmp)
        .arg(&src)
        .output()
        .expect("rustc runs");
    assert!(
        out.status.success(),
        "rustc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).expect("move the binary into place");
    let _ = std::fs::remove_file(&src);
    bin.canonicalize().expect("the binary exists")
}

/// Runs `oxv run --timeout 60 ARGS...` with `stdin` as its input.
fn oxv_run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(["run", "--timeout", TIMEOUT_SECS])
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

/// A readable account of a run, for assertion messages.
fn show(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn path_str(p: &std::path::Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

const HELLO: &str = r#"
#include <stdio.h>
int main(void) { printf("hello from oxv\n"); return 0; }
"#;

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn demo_boots_and_prints_its_banner() {
    let out = oxv_run(&[], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout.contains("oxv") && stdout.contains("uname"),
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn static_hello_prints_exactly_and_exits_0() {
    let bin = build_c("hello", HELLO);
    let out = oxv_run(&[path_str(&bin)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(out.stdout, b"hello from oxv\n", "{}", show(&out));
}

/// A fork bomb under `RLIMIT_NPROC` 64: every process forks in a loop until fork fails with
/// `EAGAIN` (reported through a pipe), then the app kills the whole group, reaps everything
/// (orphans come to pid 1, the app) and forks once more. Guest only: on the host, root is not
/// bound by `RLIMIT_NPROC`.
const FORK_BOMB: &str = r#"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    struct rlimit rl = { 64, 64 };
    int fds[2], st, reaped = 0;
    char c;
    setrlimit(RLIMIT_NPROC, &rl);
    pipe(fds);
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        close(fds[0]);
        for (;;) {
            pid_t p = fork();
            if (p < 0 && errno == EAGAIN) { write(fds[1], "E", 1); usleep(20000); }
            else if (p < 0) { write(fds[1], "X", 1); pause(); }
        }
    }
    setpgid(leader, leader);
    close(fds[1]);
    if (read(fds[0], &c, 1) != 1 || c != 'E') { printf("no EAGAIN (%c)\n", c); return 1; }
    kill(-leader, SIGKILL);
    while (wait(&st) > 0) reaped++;
    printf("EAGAIN seen; reaped %s; ECHILD %d\n", reaped >= 60 ? "60+" : "too few", errno == ECHILD);
    pid_t again = fork();
    if (again == 0) _exit(7);
    waitpid(again, &st, 0);
    printf("healthy %d\n", WEXITSTATUS(st));
    return 0;
}
"#;

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_fork_bomb_hits_rlimit_nproc_and_the_kernel_stays_healthy() {
    let bin = build_c("fork_bomb", FORK_BOMB);
    let out = oxv_run(&[path_str(&bin)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "EAGAIN seen; reaped 60+; ECHILD 1\nhealthy 7\n",
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_kernel_stack_overflow_hits_its_guard_page() {
    // The self-test recurses on a fresh kernel stack: the guard page below it must turn the
    // overflow into a named panic (exit 101), not silent corruption or a hang.
    let bin = build_c("never_runs", "int main(void) { return 0; }\n");
    let out = oxv_run(&["--selftest", "stack-overflow", path_str(&bin)], b"");
    let log = show(&out);
    assert_eq!(out.status.code(), Some(101), "{log}");
    assert!(
        log.contains("kernel stack overflow (guard page 0xffffc"),
        "{log}"
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn rust_std_threads_and_channels_match_linux() {
    // Differential: the same static Rust binary (std threads, mpsc and sync channels,
    // Mutex/Condvar, Barrier, RwLock, scoped threads, thread-locals, a panic caught by join,
    // sleep, park/unpark) prints the same on the host and in oxv.
    let bin = build_rust("rust_threads", include_str!("programs/rust_threads.rs"));
    let host = Command::new(&bin)
        .env_clear()
        .output()
        .expect("run on the host");
    assert!(host.status.success(), "host: {}", show(&host));
    let out = oxv_run(&[path_str(&bin)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&host.stdout),
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn exit_status_42_propagates() {
    let bin = build_c("exit42", "int main(void) { return 42; }\n");
    let out = oxv_run(&[path_str(&bin)], b"");
    assert_eq!(out.status.code(), Some(42), "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn stderr_goes_to_stderr_not_stdout() {
    let bin = build_c(
        "streams",
        r#"
#include <unistd.h>
int main(void) {
    write(1, "to-out\n", 7);
    write(2, "to-err\n", 7);
    write(1, "out-again\n", 10);
    return 0;
}
"#,
    );
    let out = oxv_run(&[path_str(&bin)], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(out.stdout, b"to-out\nout-again\n", "{}", show(&out));
    assert!(stderr.contains("to-err\n"), "{}", show(&out));
}

const CAT: &str = r#"
#include <unistd.h>
int main(void) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0) return 0;
        if (n < 0) return 3;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, n - off);
            if (w <= 0) return 4;
            off += w;
        }
    }
}
"#;

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn piped_stdin_reaches_the_app_byte_exact_then_eof() {
    let bin = build_c("cat", CAT);
    // 0xFF alone, doubled, and followed by 0x00 (the end-of-input escape on the wire), NULs,
    // UTF-8, and no final newline; then a block of every byte value.
    let mut input = b"a\xffb\xff\xffc\xff\x00d\x00\xc3\xa9 end".to_vec();
    input.extend((0..=255u8).cycle().take(3000));
    let out = oxv_run(&[path_str(&bin)], &input);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        out.stdout == input,
        "stdin differs: got {} bytes, sent {}\n{}",
        out.stdout.len(),
        input.len(),
        show(&out)
    );

    let empty = oxv_run(&[path_str(&bin)], b"");
    assert_eq!(empty.status.code(), Some(0), "{}", show(&empty));
    assert!(empty.stdout.is_empty(), "{}", show(&empty));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn args_with_spaces_quotes_utf8_percent_and_equals_arrive_intact() {
    let bin = build_c(
        "args",
        r#"
#include <stdio.h>
int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("[%s]\n", argv[i]);
    return argc;
}
"#,
    );
    let args = [
        "a b",
        "\"quoted\"",
        "'single'",
        "ünïcødé ✓",
        "100%",
        "%s%n%20",
        "a=b=c",
        "",
        "--flag",
        "-x",
        "back\\slash",
        "--",
    ];
    let mut cmd = vec!["--", path_str(&bin)];
    cmd.extend(args);
    let out = oxv_run(&cmd, b"");
    let mut expected = format!("[{}]\n", path_str(&bin));
    for a in args {
        expected.push_str(&format!("[{a}]\n"));
    }
    assert_eq!(
        out.status.code(),
        Some(args.len() as i32 + 1),
        "{}",
        show(&out)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected,
        "{}",
        show(&out)
    );
}

const PRINTENV: &str = r#"
#include <stdio.h>
extern char **environ;
int main(void) {
    for (char **e = environ; *e; e++) printf("%s\n", *e);
    return 0;
}
"#;

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn the_environment_is_exactly_what_env_gives() {
    let bin = build_c("printenv", PRINTENV);
    let out = oxv_run(
        &[
            "--env",
            "A=1",
            "--env",
            "B=x=y",
            "--env",
            "C=with space",
            "--env",
            "D=ü%",
            "--env",
            "EMPTY=",
            path_str(&bin),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "A=1\nB=x=y\nC=with space\nD=ü%\nEMPTY=\n",
        "{}",
        show(&out)
    );

    let none = oxv_run(&[path_str(&bin)], b"");
    assert_eq!(none.status.code(), Some(0), "{}", show(&none));
    assert!(
        none.stdout.is_empty(),
        "nothing implicit in the environment\n{}",
        show(&none)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_corrupted_elf_is_refused_before_booting() {
    let bin = build_c("truncated", HELLO);
    let bytes = std::fs::read(&bin).expect("read the binary");
    let truncated = bin.with_file_name("truncated-half");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write the truncated copy");
    let out = oxv_run(&[path_str(&truncated)], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr.contains("oxv: error:") && stderr.contains("not a runnable Linux x86_64 ELF"),
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_dynamic_binary_runs_with_its_loader_and_libc() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("guest")
        .join("dynamic");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("dynamic.c");
    std::fs::write(&src, HELLO).unwrap();
    let bin = dir.join("dynamic");
    let gcc = Command::new("gcc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(
        gcc.status.success(),
        "{}",
        String::from_utf8_lossy(&gcc.stderr)
    );
    // oxv packs the interpreter and libc (crates/cli/tests/apps.rs tests more).
    let out = oxv_run(&[path_str(&bin)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(out.stdout, b"hello from oxv\n", "{}", show(&out));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn strace_prints_decoded_syscalls_to_stderr() {
    let bin = build_c("strace-hello", HELLO);
    let out = oxv_run(&["--strace", path_str(&bin)], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        out.stdout,
        b"hello from oxv\n",
        "strace output must not reach stdout\n{}",
        show(&out)
    );
    assert!(
        stderr.contains("write(1, ") && stderr.contains("exit_group("),
        "{}",
        show(&out)
    );
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn a_null_dereference_is_sigsegv_139() {
    let bin = build_c(
        "segv",
        r#"
#include <stdio.h>
int main(void) {
    volatile int *volatile p = 0;
    printf("before\n");
    fflush(stdout);
    *p = 1;
    return 0;
}
"#,
    );
    let out = oxv_run(&[path_str(&bin)], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(139), "{}", show(&out));
    assert_eq!(out.stdout, b"before\n", "{}", show(&out));
    assert!(
        stderr.contains("killed by SIGSEGV (address 0x0"),
        "{}",
        show(&out)
    );
}

/// Two threads pass a token back and forth by spinning on a shared counter (no system call
/// in the loop) and, half-way, ask getcpu(2) and the vDSO's sched_getcpu(3) where they run.
/// Both spin at that moment, so with two CPUs they must be on different ones.
const TWO_CPUS: &str = r#"
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>
static atomic_int turn;
static int rounds;
static unsigned cpu_of[2];
static int vdso_of[2];
static void pass_token(int me) {
    for (int i = 0; i < rounds; i++) {
        while (atomic_load(&turn) % 2 != me)
            ;
        if (i == rounds / 2) {
            syscall(SYS_getcpu, &cpu_of[me], 0, 0);
            vdso_of[me] = sched_getcpu();
        }
        atomic_fetch_add(&turn, 1);
    }
}
static void *second(void *arg) { (void)arg; pass_token(1); return 0; }
int main(int argc, char **argv) {
    rounds = argc > 1 ? atoi(argv[1]) : 2000;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    printf("cpus %d\n", CPU_COUNT(&set));
    pthread_t t;
    if (pthread_create(&t, 0, second, 0) != 0) return 2;
    pass_token(0);
    pthread_join(t, 0);
    printf("turns %d\n", atomic_load(&turn));
    printf("different cpus: %s\n", cpu_of[0] != cpu_of[1] ? "yes" : "no");
    printf("vdso agrees: %s\n", vdso_of[0] == (int)cpu_of[0] && vdso_of[1] == (int)cpu_of[1] ? "yes" : "no");
    return 0;
}
"#;

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn two_cpus_run_two_threads_at_the_same_time() {
    let bin = build_c("two_cpus", TWO_CPUS);
    let out = oxv_run(&["--cpus", "2", path_str(&bin)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cpus 2\nturns 4000\ndifferent cpus: yes\nvdso agrees: yes\n",
        "{}",
        show(&out)
    );
    // One CPU: the same program completes by preemption (each pass waits for the end of a
    // time slice, hence fewer rounds), always on the one CPU: the test tells them apart.
    let out = oxv_run(&["--cpus", "1", path_str(&bin), "20"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cpus 1\nturns 40\ndifferent cpus: no\nvdso agrees: yes\n",
        "{}",
        show(&out)
    );
}

/// A thread on CPU 1 writes a page in a loop while CPU 0 makes the page read-only: once
/// mprotect(2) returns, no write may land (CPU 1's TLB was shot down) and the writer gets
/// SIGSEGV. Without the shootdown, CPU 1 keeps writing through its stale TLB entry.
const SHOOTDOWN: &str = r#"
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static volatile long *page;
static atomic_int started;
static volatile sig_atomic_t faulted;
static void on_segv(int sig) { (void)sig; faulted = 1; syscall(SYS_exit, 0); }
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof s, &s); }
static void *writer(void *arg) {
    (void)arg;
    pin(1);
    atomic_store(&started, 1);
    for (;;) page[0]++;
    return 0;
}
int main(void) {
    pin(0);
    page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    signal(SIGSEGV, on_segv);
    pthread_t t;
    pthread_create(&t, 0, writer, 0);
    while (!atomic_load(&started)) ;
    while (page[0] < 100000) ;
    mprotect((void *)page, 4096, PROT_READ);
    long at = page[0];
    struct timespec ms = {0, 10000000};
    for (int i = 0; i < 500 && !faulted; i++) nanosleep(&ms, 0);
    long later = page[0];
    printf("writer faulted: %s\n", faulted ? "yes" : "no");
    printf("writes after mprotect returned: %ld\n", later - at);
    /* /proc/interrupts counted the shootdown IPI on CPU 1 and timer ticks somewhere. */
    FILE *f = fopen("/proc/interrupts", "r");
    char line[256];
    long tlb1 = -1, loc = -1;
    while (f && fgets(line, sizeof line, f)) {
        long c0, c1;
        if (sscanf(line, " TLB: %ld %ld", &c0, &c1) == 2) tlb1 = c1;
        if (sscanf(line, " LOC: %ld %ld", &c0, &c1) == 2) loc = c0 + c1;
    }
    printf("shootdown counted on cpu 1: %s\n", tlb1 > 0 ? "yes" : "no");
    printf("timer interrupts counted: %s\n", loc > 0 ? "yes" : "no");
    return 0;
}
"#;

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn mprotect_on_one_cpu_stops_writes_on_the_other() {
    let bin = build_c("shootdown", SHOOTDOWN);
    let out = oxv_run(&["--cpus", "2", path_str(&bin)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "writer faulted: yes\nwrites after mprotect returned: 0\n\
         shootdown counted on cpu 1: yes\ntimer interrupts counted: yes\n",
        "{}",
        show(&out)
    );
}

/// Assembles the stub kernel (tests/stub_kernel.s) with binutils, once per variant.
fn stub_kernel(panic: bool) -> PathBuf {
    let name = if panic { "stub-panic" } else { "stub" };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("guest")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/stub_kernel.s");
    let obj = unique(&dir.join("stub.o"));
    let elf = dir.join("stub.elf");
    let elf_tmp = unique(&elf);
    let mut asm = Command::new("as");
    asm.arg("--32").arg("-o").arg(&obj).arg(&src);
    if panic {
        asm.args(["--defsym", "PANIC=1"]);
    }
    let out = asm.output().expect("as (binutils) must be installed");
    assert!(
        out.status.success(),
        "as: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("ld")
        // The note right after the code: left to ld's default it lands at 128 MiB, and
        // `oxv run` rightly refuses an image that does not fit in the guest's RAM.
        .args([
            "-m",
            "elf_i386",
            "-Ttext=0x100000",
            "--section-start=.note.pvh=0x102000",
            "-o",
        ])
        .arg(&elf_tmp)
        .arg(&obj)
        .output()
        .expect("ld");
    assert!(
        out.status.success(),
        "ld: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&elf_tmp, &elf).expect("move the stub kernel into place");
    let _ = std::fs::remove_file(&obj);
    elf
}

/// Runs `oxv run` on the stub kernel (any static ELF will do as the program).
fn oxv_run_stub(kernel: &std::path::Path, args: &[&str], stdin: &[u8]) -> Output {
    let program = build_c("stub-program", HELLO);
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .env("OXV_KERNEL", kernel)
        .args(["run", "--timeout", TIMEOUT_SECS])
        .args(args)
        .arg(&program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxv");
    let mut pipe = child.stdin.take().expect("piped stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for oxv");
    writer.join().expect("stdin writer");
    out
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn stub_kernel_channels_records_and_stdin_framing_work_on_both_machines() {
    let kernel = stub_kernel(false);
    let input = b"a\xffb\xff\x00c\n".to_vec();
    for machine in ["microvm", "q35"] {
        let out = oxv_run_stub(&kernel, &["--machine", machine], &input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{machine}: {}", show(&out));
        assert_eq!(out.stdout, input, "{machine}: {}", show(&out));
        assert_eq!(
            stderr,
            "stub: to stderr\n",
            "{machine}: the log is quiet on success\n{}",
            show(&out)
        );
    }
    let out = oxv_run_stub(&kernel, &["--verbose"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{}", show(&out));
    for expected in [
        "oxv: accel: ",
        "stub: early message on COM1",
        "stub: hello on the kernel log",
        "kernel entry to app: 12 µs",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing\n{}",
            show(&out)
        );
    }
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn stub_kernel_panic_is_reported_with_a_symbolized_backtrace() {
    let out = oxv_run_stub(&stub_kernel(true), &[], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{}", show(&out));
    assert!(
        stderr.contains("stub: hello on the kernel log"),
        "the log is dumped on failure\n{}",
        show(&out)
    );
    assert!(stderr.contains("stub: something broke"), "{}", show(&out));
    assert!(stderr.contains("_start+0x5"), "{}", show(&out));
}

#[test]
#[ignore = "boots QEMU; run with --ignored"]
fn stub_kernel_timeout_is_124_and_a_closed_stdout_is_141() {
    // The stub waits for end of input forever: only the timeout can end it.
    let kernel = stub_kernel(false);
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .env("OXV_KERNEL", &kernel)
        .args(["run", "--timeout", "1"])
        .arg(build_c("stub-program", HELLO))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxv");
    let _stdin_kept_open = child.stdin.take();
    let out = child.wait_with_output().expect("wait for oxv");
    assert_eq!(out.status.code(), Some(124), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("timed out after 1 s"),
        "{}",
        show(&out)
    );

    // Our stdout closed under a running app: the run ends at once, quietly, as SIGPIPE would.
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .env("OXV_KERNEL", &kernel)
        .args(["run", "--timeout", TIMEOUT_SECS])
        .arg(build_c("stub-program", HELLO))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxv");
    drop(child.stdout.take());
    let mut pipe = child.stdin.take().expect("piped stdin");
    // Endless input keeps the stub echoing; the writer stops when oxv goes away.
    let writer = std::thread::spawn(move || while pipe.write_all(&[b'x'; 4096]).is_ok() {});
    let out = child.wait_with_output().expect("wait for oxv");
    writer.join().expect("stdin writer");
    assert_eq!(out.status.code(), Some(141), "{}", show(&out));
    assert!(out.stderr.is_empty(), "{}", show(&out));
}
