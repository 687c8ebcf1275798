//! The metrics of `oxv bench`, what measures each, and with what arguments.
//!
//! Every metric in the report is listed here, in report order. Most are measured by a C
//! program of `bench/` that prints its own result line ([`Kind::Program`]); `boot` and
//! `boot_guest` come from the runs of `bench/hello.c`; `min_ram_hello` from a bisection on
//! the guest memory; `kernel_size` from the kernel files. Iteration counts are chosen so
//! that under TCG each program measures for tens to hundreds of milliseconds (`--quick`
//! about a fifth of that), long enough to dwarf clock reads and warm-up, short enough that
//! the Linux guest's boot stays the larger cost of a run.

use super::stats::Better;
use super::stream::Direction;

/// How a metric is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The wall time of a whole QEMU run of `hello` (host clock).
    BootWall,
    /// `hello`'s `boot_guest` line (guest clock).
    BootGuest,
    /// A program's result line.
    Program {
        /// The program (a `bench/NAME.c`).
        program: &'static str,
        /// Its arguments after argv[0], for a full run.
        args: &'static [&'static str],
        /// Same, for `--quick`.
        quick_args: &'static [&'static str],
        /// vCPUs the VM needs.
        cpus: u32,
    },
    /// Requests per second of a host load generator against a guest HTTP server.
    HttpRps,
    /// MB/s of one TCP stream between the host and the same guest server.
    HostStream(Direction),
    /// The smallest `--mem` at which `hello` runs.
    MinRam,
    /// The size of the kernel file QEMU is given.
    KernelSize,
}

/// One metric of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name in the report (and the `name=` of its result line).
    pub name: &'static str,
    /// Its unit in wall-clock runs.
    pub unit: &'static str,
    /// Which direction is better.
    pub better: Better,
    /// How it is measured.
    pub kind: Kind,
    /// What it means, for `docs/performance.md` and `--help`.
    pub meaning: &'static str,
}

impl Metric {
    /// Whether an instruction-counting run gives this metric a meaningful figure. Not the
    /// multi-vCPU ones: under `-icount` QEMU runs the vCPUs in turn on one host thread, so
    /// nothing runs in parallel (and Linux 6.1 hangs bringing up its second CPU there).
    /// `http_rps`'s is the guest's busy time per request (see `bench/mod.rs`).
    pub fn has_icount(&self) -> bool {
        match self.kind {
            Kind::BootGuest | Kind::HttpRps => true,
            Kind::Program { cpus, .. } => cpus == 1,
            _ => false,
        }
    }
}

const fn program(
    program: &'static str,
    args: &'static [&'static str],
    quick_args: &'static [&'static str],
    cpus: u32,
) -> Kind {
    Kind::Program {
        program,
        args,
        quick_args,
        cpus,
    }
}

/// The program behind `boot`, `boot_guest` and `min_ram_hello`.
pub const HELLO: &str = "hello";
/// The Linux guest's init.
pub const LINUX_INIT: &str = "linux_init";
/// The static HTTP server behind `http_rps`, `tcp_host_to_guest` and `tcp_guest_to_host`.
pub const HTTP_SERVER: &str = "http_server";

/// Every metric, in report order.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "boot",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::BootWall,
        meaning: "whole QEMU run of a static hello, from spawning QEMU to its exit (host clock)",
    },
    Metric {
        name: "boot_guest",
        unit: "ms",
        better: Better::Lower,
        kind: Kind::BootGuest,
        meaning: "CLOCK_BOOTTIME read at the start of hello's main: kernel entry to app main \
                  on oxv; on Linux from the start of its clock (early setup_arch), so the \
                  few ms before that are not counted",
    },
    Metric {
        name: "null_syscall",
        unit: "ns",
        better: Better::Lower,
        kind: program("null_syscall", &["200000"], &["20000"], 1),
        meaning: "getppid() through syscall(3) in a loop, per call",
    },
    Metric {
        name: "vdso_clock_gettime",
        unit: "ns",
        better: Better::Lower,
        kind: program("vdso_clock_gettime", &["200000"], &["20000"], 1),
        meaning: "clock_gettime(CLOCK_MONOTONIC) as glibc makes it (the vDSO if the kernel \
                  maps one, else the system call), per call",
    },
    Metric {
        name: "futex_pingpong_same_cpu",
        unit: "ns",
        better: Better::Lower,
        kind: program("futex_pingpong", &["same", "10000"], &["same", "2000"], 1),
        meaning: "two threads pinned to one CPU pass a token with FUTEX_WAKE/FUTEX_WAIT, per \
                  round trip",
    },
    Metric {
        name: "futex_pingpong_cross_cpu",
        unit: "ns",
        better: Better::Lower,
        kind: program("futex_pingpong", &["cross", "10000"], &["cross", "2000"], 2),
        meaning: "the same with the threads pinned to two CPUs (a 2-vCPU VM), per round trip",
    },
    Metric {
        name: "wakeup_latency",
        unit: "ns",
        better: Better::Lower,
        kind: program("wakeup_latency", &["300"], &["100"], 1),
        meaning: "one thread spins while another sleeps 1 ms (clock_nanosleep to an absolute \
                  deadline), both on CPU 0: median time from the deadline to the sleeper \
                  running again (the note gives p99 and max)",
    },
    Metric {
        name: "wakeup_latency_crowded",
        unit: "ns",
        better: Better::Lower,
        kind: program("wakeup_latency", &["300", "3"], &["100", "3"], 1),
        meaning: "as wakeup_latency with three threads spinning on CPU 0, so two CPU-bound \
                  threads wait in its queue when the sleeper wakes: whether a woken thread \
                  goes ahead of them",
    },
    Metric {
        name: "page_fault_minor",
        unit: "ns",
        better: Better::Lower,
        kind: program("page_fault_minor", &["1024", "8"], &["1024", "2"], 1),
        meaning: "first write to each 4 KiB page of a fresh anonymous mapping (no huge \
                  pages), per fault",
    },
    Metric {
        name: "mmap_munmap",
        unit: "ns",
        better: Better::Lower,
        kind: program("mmap_munmap", &["5000"], &["1000"], 1),
        meaning: "mmap of one anonymous 4 KiB page then munmap, untouched, per pair",
    },
    Metric {
        name: "file_create_unlink",
        unit: "ns",
        better: Better::Lower,
        kind: program("file_create_unlink", &["10000"], &["2000"], 1),
        meaning: "open(O_CREAT|O_EXCL) + close + unlink of an empty file in /tmp, per cycle",
    },
    Metric {
        name: "file_random_read",
        unit: "ns",
        better: Better::Lower,
        kind: program("file_random_read", &["16", "20000"], &["16", "4000"], 1),
        meaning: "pread of 4 KiB at a random page-aligned offset of a 16 MiB file in /tmp \
                  already read once (served from memory), per read",
    },
    Metric {
        name: "pipe_throughput",
        unit: "MB/s",
        better: Better::Higher,
        kind: program("pipe_throughput", &["64", "16"], &["16", "16"], 1),
        meaning: "one thread writes 16 KiB chunks into a non-blocking pipe and reads them back",
    },
    Metric {
        name: "tcp_loopback_throughput",
        unit: "MB/s",
        better: Better::Higher,
        kind: program("tcp_loopback_throughput", &["64", "64"], &["16", "64"], 1),
        meaning: "one thread sends 64 KiB chunks over a TCP connection on 127.0.0.1 and \
                  receives them",
    },
    Metric {
        name: "tcp_stream_2cpu",
        unit: "MB/s",
        better: Better::Higher,
        kind: program(
            "tcp_loopback_throughput",
            &["64", "64", "threads"],
            &["16", "64", "threads"],
            2,
        ),
        meaning: "a sender thread write(2)s 64 KiB chunks over a TCP connection on 127.0.0.1 \
                  and a receiver thread read(2)s them, both blocking, in a 2-vCPU VM",
    },
    Metric {
        name: "udp_flows_2cpu",
        unit: "MB/s",
        better: Better::Higher,
        kind: program("udp_flows", &["64"], &["16"], 2),
        meaning: "two UDP flows on 127.0.0.1 at once, each a writer thread sending 8 KiB \
                  datagrams (at most 8 unread) and a reader thread receiving them, in a \
                  2-vCPU VM",
    },
    Metric {
        name: "tcp_idle_connections",
        unit: "ns",
        better: Better::Lower,
        kind: program(
            "tcp_idle_connections",
            &["5000", "400"],
            &["1000", "400"],
            1,
        ),
        meaning: "1-byte ping-pong over a TCP connection on 127.0.0.1 with 400 other \
                  established loopback connections idle, per round trip (the note gives the \
                  figure with none idle)",
    },
    Metric {
        name: "fork_exit_wait",
        unit: "ns",
        better: Better::Lower,
        kind: program("fork_wait", &["1000"], &["200"], 1),
        meaning: "fork() of a small static program, the child _exit(0)s at once, the parent \
                  waitpid()s for it, per iteration",
    },
    Metric {
        name: "posix_spawn_wait",
        unit: "ns",
        better: Better::Lower,
        kind: program("spawn_wait", &["300"], &["60"], 1),
        meaning: "posix_spawn() of the program itself (a small static binary that returns at \
                  once) then waitpid(), per iteration",
    },
    Metric {
        name: "http_rps",
        unit: "req/s",
        better: Better::Higher,
        kind: Kind::HttpRps,
        meaning: "a host load generator (8 keep-alive connections, 2 threads, one request in \
                  flight on each) against bench/http_server.c in the guest through QEMU user \
                  networking's hostfwd, complete responses per second",
    },
    Metric {
        name: "tcp_host_to_guest",
        unit: "MB/s",
        better: Better::Higher,
        kind: Kind::HostStream(Direction::HostToGuest),
        meaning: "one TCP stream from the host into the same guest server (POST /sink: the \
                  server reads 64 KiB at a time and throws the bytes away) through the same \
                  port forward, 64 MiB (16 with --quick) after 4 MiB not counted",
    },
    Metric {
        name: "tcp_guest_to_host",
        unit: "MB/s",
        better: Better::Higher,
        kind: Kind::HostStream(Direction::GuestToHost),
        meaning: "one TCP stream from the same guest server to the host (GET /stream/N: the \
                  server writes 64 KiB at a time), as tcp_host_to_guest the other way",
    },
    Metric {
        name: "min_ram_hello",
        unit: "MiB",
        better: Better::Lower,
        kind: Kind::MinRam,
        meaning: "smallest guest memory (QEMU -m) at which the static hello still runs, by \
                  bisection",
    },
    Metric {
        name: "kernel_size",
        unit: "MiB",
        better: Better::Lower,
        kind: Kind::KernelSize,
        meaning: "size of the kernel as shipped: oxv's ELF, Debian's compressed vmlinuz",
    },
];

/// The metric called `name`.
pub fn find(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// Every program the bench builds: the benchmarks and the Linux init.
pub fn programs() -> Vec<&'static str> {
    let mut names = vec![HELLO, LINUX_INIT, HTTP_SERVER];
    for m in METRICS {
        if let Kind::Program { program, .. } = m.kind {
            if !names.contains(&program) {
                names.push(program);
            }
        }
    }
    names
}

/// The unit of a figure from an instruction-counting run: the guest's nanoseconds are
/// instructions there (`-icount shift=0`).
pub fn icount_unit(unit: &str) -> String {
    match unit {
        "ns" => "insn".into(),
        "ms" => "Minsn".into(),
        "MB/s" => "MB/Ginsn".into(),
        "req/s" => "req/Ginsn".into(),
        other => format!("{other} (icount)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_include_the_issue_list() {
        for (i, m) in METRICS.iter().enumerate() {
            assert!(
                METRICS[..i].iter().all(|o| o.name != m.name),
                "{} twice",
                m.name
            );
        }
        for name in [
            "boot",
            "boot_guest",
            "null_syscall",
            "vdso_clock_gettime",
            "futex_pingpong_same_cpu",
            "futex_pingpong_cross_cpu",
            "page_fault_minor",
            "mmap_munmap",
            "file_create_unlink",
            "file_random_read",
            "pipe_throughput",
            "tcp_loopback_throughput",
            "http_rps",
            "min_ram_hello",
            "kernel_size",
        ] {
            assert!(find(name).is_some(), "{name} missing");
        }
    }

    #[test]
    fn every_program_has_a_source_in_bench() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench");
        for p in programs() {
            assert!(dir.join(format!("{p}.c")).is_file(), "bench/{p}.c missing");
        }
    }

    #[test]
    fn icount_units() {
        assert_eq!(icount_unit("ns"), "insn");
        assert_eq!(icount_unit("MB/s"), "MB/Ginsn");
        assert_eq!(icount_unit("req/s"), "req/Ginsn");
        assert!(find("http_rps").is_some_and(|m| m.has_icount()));
        assert!(find("boot").is_some_and(|m| !m.has_icount()));
        assert!(find("null_syscall").is_some_and(|m| m.has_icount()));
        assert!(find("futex_pingpong_cross_cpu").is_some_and(|m| !m.has_icount()));
        assert!(find("tcp_host_to_guest").is_some_and(|m| !m.has_icount()));
    }
}
