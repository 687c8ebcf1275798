//! # oxv-fuzz-harness: oxv's syscall layer under arbitrary input, on the host
//!
//! This crate runs a sequence of system calls, decoded from arbitrary bytes, through the same
//! path the kernel takes: raw registers → [`oxv_abi::Syscall::decode`] → the real handlers of
//! `oxv-vfs` (files), `oxv-net` (sockets), `oxv-mm` (memory) and `oxv-sched` (signals, time,
//! limits, futexes) → a result.
//! The process the calls act on is built the way the kernel builds it at boot (a tmpfs root
//! unpacked from an initramfs, `/dev`, `/proc`, `/tmp`, a terminal on fds 0-2, an address space
//! with a stack, a heap and two data regions), but every hardware seam is a fake, so a run is
//! deterministic and needs no VM. User memory is `oxv-mm`'s own software view of that address
//! space ([`oxv_mm::UserAccess`]): a pointer the app passes is checked against the VMAs the
//! earlier calls of the same input created, and a copy into an untouched page faults it in.
//!
//! After every call the harness checks ([`check`]):
//!
//! 1. no panic (the fuzzer and the replay tests catch them) and bounded work (a per-input
//!    time limit: libFuzzer's `-timeout`, the replay tests' watchdog);
//! 2. the result is a value that cannot be mistaken for an error (below `-4095`), or an
//!    [`oxv_abi::Errno`];
//! 3. the fd table: every fd below the limit, a new fd is the lowest free one (at or above the
//!    `F_DUPFD` minimum), and only the calls that create or close fds change the set;
//! 4. the address space: VMAs sorted, non-empty, page aligned, disjoint and inside the user
//!    half; every page-table entry inside a VMA with that VMA's permissions; the resident count
//!    and the frame allocator agree with the page table (no frame leaked or freed twice);
//! 5. the signal state: `SIGKILL` and `SIGSTOP` never blocked, never given a handler, never in
//!    a handler mask; only known `SA_*` flags kept;
//! 6. limits: soft at most hard; the umask fits in `0o777`; the cwd is a directory;
//! 7. the futex table ([`world::FakeThreads`]): the calling thread is runnable, every
//!    runnable fake thread is queued nowhere and every parked one on exactly one key (a
//!    futex_waitv(2) caller is on each of its keys only while the call runs), each key's
//!    count matches its queue, no empty queue is kept, and no wake takes a thread that was
//!    not parked;
//! 8. the PI futexes: a thread parked in `FUTEX_LOCK_PI` is a PI waiter of its lock only, one
//!    parked in `FUTEX_WAIT_REQUEUE_PI` is queued on the condition's key or (requeued) on the
//!    lock's PI waiters, never both; a PI futex's kernel state has a waiter (or an owner
//!    still to write its TID after a dead owner), its owner is not among its waiters, and
//!    the lock word holds the owner's TID and `FUTEX_WAITERS` unless the app wrote the word
//!    since ([`check::PiWords`]); a lock call that returns 0 leaves the caller's TID in the
//!    word.
//!
//! At the end of the input every woken thread finishes its PI call, every parked thread's
//! wait is ended, and the futex table, PI state included, must be empty (no waiter leaked); the address space is torn down and every frame must be back in
//! the allocator; then every fd is closed and no memfd page or timerfd timer may remain.
//!
//! What it does not reach: calls the kernel crate implements itself (kill/tgkill, pidfd_*, uname, sysinfo, getrandom, getcpu, arch_prctl, prctl, madvise,
//! robust lists, affinity) are counted as "not hosted" and skipped; they are covered by the
//! guest stress program instead (`stress/`). futex(2) (PI operations included) and
//! futex_waitv(2) run oxv-sched's handlers, the kernel's, over four fake threads that park
//! on a `FUTEX_WAIT` or a contended PI lock and take turns (the rules are in
//! `route/futex.rs`; exit(2) replaces the current thread by one with a new TID after
//! passing the PI locks it owns to their waiters, the owner-died path); a wait never really blocks, so races
//! between a waiter and a waker on two CPUs are not explored. Sockets (`oxv-net`, over a
//! loopback stack on the harness's clock), epoll, select, splice, locks, memfds, timerfds and
//! signalfds are routed too (see [`route`]). The input format is in [`input`]; [`strace`] turns `--strace` output into
//! inputs for the seed corpus.
//!
//! ```
//! use oxv_fuzz_harness::{Options, input::Op, run_ops};
//! // getpid is hosted nowhere (the kernel answers it), close(99) is EBADF: both fine.
//! let ops = vec![Op::raw_syscall(3, [99, 0, 0, 0, 0, 0])];
//! let report = run_ops(&ops, &Options::strict()).expect("no invariant broken");
//! assert_eq!(report.errors, 1);
//! ```

pub mod capped_heap;
pub mod check;
pub mod cmdline;
pub mod ext2;
pub mod input;
pub mod route;
pub mod seeds;
pub mod strace;
pub mod world;

use input::Op;
use world::World;

/// How strictly to treat known bugs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Fail on the bugs already reported (docs/robustness.md, "Bugs found") instead of
    /// stepping around them. The replay tests use strict mode; long fuzzing campaigns use the
    /// lenient one so that a known bug does not hide new ones.
    pub strict: bool,
}

impl Options {
    /// Every invariant checked, known bugs included.
    pub const fn strict() -> Options {
        Options { strict: true }
    }

    /// Known bugs are stepped around (see [`Options::strict`]).
    pub const fn lenient() -> Options {
        Options { strict: false }
    }

    /// Strict unless `OXV_FUZZ_KNOWN_BUGS=allow` is set in the environment.
    pub fn from_env() -> Options {
        Options {
            strict: std::env::var_os("OXV_FUZZ_KNOWN_BUGS").is_none_or(|v| v != "allow"),
        }
    }
}

/// What one input did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// System calls routed to a real handler.
    pub calls: usize,
    /// Of those, how many returned an errno.
    pub errors: usize,
    /// Calls the kernel answers itself (not hosted here).
    pub not_hosted: usize,
    /// Page-fault operations.
    pub faults: usize,
}

/// An invariant that did not hold: which operation broke it and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Index of the operation in the input.
    pub op: usize,
    /// The operation, as decoded.
    pub what: String,
    /// The broken invariant.
    pub message: String,
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "op {} ({}): {}", self.op, self.what, self.message)
    }
}

/// The most operations taken from one input (bounded work per input).
pub const MAX_OPS: usize = 256;

/// Decodes `data` and runs it (see [`run_ops`]).
pub fn run_bytes(data: &[u8], options: &Options) -> Result<Report, Violation> {
    run_ops(&input::decode(data), options)
}

/// Runs `ops` on a fresh process and checks every invariant after each one.
pub fn run_ops(ops: &[Op], options: &Options) -> Result<Report, Violation> {
    let mut world = World::new(*options);
    let mut report = Report::default();
    check::all(&mut world, None).map_err(|message| Violation {
        op: 0,
        what: "initial state".into(),
        message,
    })?;
    for (i, op) in ops.iter().take(MAX_OPS).enumerate() {
        let violation = |message| Violation {
            op: i,
            what: format!("{op:?}"),
            message,
        };
        let before = check::FdSnapshot::take(&world);
        let pi_words = check::PiWords::take(&mut world);
        let effect = route::apply(&mut world, op, &mut report).map_err(violation)?;
        pi_words.note_app_writes(&mut world);
        check::all(&mut world, Some((&before, &effect))).map_err(violation)?;
    }
    world.teardown().map_err(|message| Violation {
        op: ops.len().min(MAX_OPS),
        what: "teardown".into(),
        message,
    })?;
    Ok(report)
}
