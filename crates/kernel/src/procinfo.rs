//! What `/proc` shows: [`KernelProcessInfo`] renders procfs's files from the process table,
//! the memory manager, the scheduler's CPU accounting and the frame allocator.
//!
//! Every file is rendered into a buffer of its own with the locks it needs held only while
//! rendering; procfs copies to user memory afterwards (that copy may fault, and a fault takes
//! the address-space lock). Figures the kernel does not keep (fault counts, start times,
//! load averages of a tickless single app) are 0, as on an idle Linux.

use crate::arch::cpu;
use crate::process::{self, LifeState, Process};
use crate::sched;
use crate::syscall::info;
use crate::thread::State;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;
use oxv_abi::linux::system::{RLIM_INFINITY, RlimitResource};
use oxv_mm::aspace::proc::MemoryUsage;
use oxv_vfs::epoll::Epoll;
use oxv_vfs::eventfd::EventFd;
use oxv_vfs::file::OpenFile;
use oxv_vfs::names;
use oxv_vfs::node::FileKind;
use oxv_vfs::procfs::{PidFile, ProcessInfo, SystemFile};
use oxv_vfs::signalfd::SignalFd;
use oxv_vfs::timerfd::TimerFd;

/// Clock ticks per second in `stat` files (`sysconf(_SC_CLK_TCK)`, AT_CLKTCK).
const USER_HZ: u64 = 100;

/// The kernel's [`ProcessInfo`]: every process of the process table.
pub struct KernelProcessInfo;

impl ProcessInfo for KernelProcessInfo {
    fn current_pid(&self) -> u32 {
        process::current().pid as u32
    }

    fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = process::all().iter().map(|p| p.pid as u32).collect();
        pids.sort_unstable();
        pids
    }

    fn exe_path(&self, pid: u32) -> Option<Vec<u8>> {
        Some(find(pid)?.image.lock().exe.clone())
    }

    fn cwd(&self, pid: u32) -> Option<Vec<u8>> {
        let p = find(pid)?;
        names::path_of_file(&p.fs, &p.fs.cwd())
    }

    fn pid_file(&self, pid: u32, file: PidFile) -> Option<Vec<u8>> {
        let p = find(pid)?;
        Some(match file {
            PidFile::Cmdline => p.image.lock().cmdline.clone(),
            PidFile::Environ => p.image.lock().environ.clone(),
            PidFile::Maps => render(|out| match live_mm(&p) {
                Some(mm) => mm.lock().render_maps(out),
                None => Ok(()),
            }),
            PidFile::Smaps => render(|out| match live_mm(&p) {
                Some(mm) => mm.lock().render_smaps(&crate::mem::KernelFrames, out),
                None => Ok(()),
            }),
            PidFile::Status => render(|out| status(&p, out)),
            PidFile::Stat => render(|out| stat(&p, out)),
            PidFile::Limits => render(|out| limits(&p, out)),
            PidFile::Mounts => render(|out| mounts(&p.fs, out)),
            PidFile::MountInfo => render(|out| mountinfo(&p.fs, out)),
        })
    }

    fn fds(&self, pid: u32) -> Option<Vec<(u32, Vec<u8>)>> {
        let p = find(pid)?;
        let mut out = Vec::new();
        for fd in p.files.fds() {
            if let Ok(file) = p.files.get(fd) {
                out.push((fd as u32, link_of(&p, &file)));
            }
        }
        Some(out)
    }

    fn system_file(&self, file: SystemFile) -> Vec<u8> {
        render(|out| match file {
            SystemFile::Meminfo => crate::mem::meminfo(&system_usage()).render(out),
            SystemFile::Cpuinfo => cpuinfo(out),
            SystemFile::Stat => system_stat(out),
            SystemFile::Uptime => {
                let t = cpu_times();
                let (s, cs) = secs_centis(t.now);
                let (is, ics) = secs_centis(t.idle);
                writeln!(out, "{s}.{cs:02} {is}.{ics:02}")
            }
            SystemFile::Loadavg => {
                let n = process::count();
                writeln!(out, "0.00 0.00 0.00 1/{n} {}", process::current().pid)
            }
            SystemFile::Version => writeln!(
                out,
                "Linux version {} (oxv unikernel) {}",
                info::RELEASE,
                info::VERSION
            ),
            SystemFile::Filesystems => {
                out.write_str("nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n")?;
                out.write_str("nodev\tpipefs\nnodev\tsockfs\n\text2\n")
            }
            SystemFile::Mounts => mounts(&process::current().fs, out),
            SystemFile::Interrupts => interrupts(out),
        })
    }

    fn sysctl(&self, name: &str) -> Vec<u8> {
        render(|out| match name {
            "fs/file-max" => writeln!(out, "{}", i64::MAX),
            "fs/nr_open" => writeln!(out, "{}", oxv_sched::rlimit::NR_OPEN),
            "fs/pipe-max-size" => writeln!(out, "{}", 1 << 20),
            "kernel/cap_last_cap" => writeln!(out, "{}", linux_raw_sys::general::CAP_LAST_CAP),
            "kernel/domainname" => writeln!(out, "(none)"),
            "kernel/hostname" => writeln!(out, "oxv"),
            "kernel/ngroups_max" => writeln!(out, "{}", linux_raw_sys::general::NGROUPS_MAX),
            "kernel/osrelease" => writeln!(out, "{}", info::RELEASE),
            "kernel/ostype" => writeln!(out, "Linux"),
            // Linux's PID_MAX_LIMIT for 64-bit kernels.
            "kernel/pid_max" => writeln!(out, "{}", 4 * 1024 * 1024),
            "kernel/random/boot_id" => writeln!(out, "{}", uuid(boot_id())),
            "kernel/random/uuid" => {
                let mut b = [0u8; 16];
                crate::random::fill(&mut b);
                writeln!(out, "{}", uuid(b))
            }
            "kernel/threads-max" => {
                let nproc = process::current()
                    .limits
                    .lock()
                    .get(RlimitResource::Nproc)
                    .rlim_max;
                // Linux sets the initial RLIMIT_NPROC to half of threads-max.
                writeln!(out, "{}", nproc.saturating_mul(2))
            }
            "kernel/version" => writeln!(out, "{}", info::VERSION),
            "net/core/somaxconn" => writeln!(out, "4096"),
            "vm/overcommit_memory" => writeln!(out, "0"),
            _ => Ok(()),
        })
    }
}

/// A random id for this boot (`/proc/sys/kernel/random/boot_id`).
fn boot_id() -> [u8; 16] {
    static ID: spin::Once<[u8; 16]> = spin::Once::new();
    *ID.call_once(|| {
        let mut b = [0u8; 16];
        crate::random::fill(&mut b);
        b
    })
}

/// `bytes` as an RFC 4122 version-4 UUID (the form Linux's random/uuid files print).
fn uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{byte:02x}");
    }
    s
}

fn find(pid: u32) -> Option<Arc<Process>> {
    process::lookup(i32::try_from(pid).ok()?)
}

fn render(f: impl FnOnce(&mut String) -> core::fmt::Result) -> Vec<u8> {
    let mut out = String::new();
    // Writing into a String cannot fail; a renderer's own error leaves what it wrote.
    let _ = f(&mut out);
    out.into_bytes()
}

/// A zombie has given up its memory as far as userspace can tell (Linux shows empty maps).
fn live_mm(p: &Process) -> Option<process::Mm> {
    match *p.life.lock() {
        LifeState::Zombie(_) => None,
        _ => Some(p.mm.get()),
    }
}

fn secs_centis(ns: u64) -> (u64, u64) {
    (ns / 1_000_000_000, ns % 1_000_000_000 / 10_000_000)
}

fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

/// The `/proc/<pid>/fd/N` target: the path of a file with a name, Linux's pseudo names for
/// pipes, sockets and anonymous-inode files.
fn link_of(p: &Process, file: &OpenFile) -> Vec<u8> {
    if let Some(loc) = file.location() {
        return names::path_of_file(&p.fs, loc).unwrap_or_else(|| b"(deleted)".to_vec());
    }
    let ops = file.ops();
    let anon = ops.as_any().and_then(|any| {
        if any.is::<EventFd>() {
            Some("[eventfd]")
        } else if any.is::<TimerFd>() {
            Some("[timerfd]")
        } else if any.is::<SignalFd>() {
            Some("[signalfd]")
        } else if any.is::<Epoll>() {
            Some("[eventpoll]")
        } else if any.is::<crate::syscall::pidfd::PidFd>() {
            Some("[pidfd]")
        } else {
            None
        }
    });
    let name = match (anon, ops.stat()) {
        (Some(kind), _) => format!("anon_inode:{kind}"),
        (None, Ok(m)) if m.kind == FileKind::Fifo => format!("pipe:[{}]", m.ino),
        (None, Ok(m)) if m.kind == FileKind::Socket => format!("socket:[{}]", m.ino),
        (None, Ok(m)) => format!("anon_inode:[{}]", m.ino),
        (None, Err(_)) => String::from("anon_inode:[unknown]"),
    };
    name.into_bytes()
}

/// The one-letter state and its word, as `ps` reads them.
fn state_of(p: &Process) -> (char, &'static str) {
    match *p.life.lock() {
        LifeState::Zombie(_) => return ('Z', "zombie"),
        LifeState::Exiting(_) => return ('X', "dead"),
        LifeState::Alive => {}
    }
    if p.stopped.load(Ordering::Relaxed) {
        return ('T', "stopped");
    }
    let running = p
        .thread_list()
        .iter()
        .any(|t| matches!(t.state(), State::Running | State::Ready));
    if running {
        ('R', "running")
    } else {
        ('S', "sleeping")
    }
}

fn comm(p: &Process) -> String {
    let c = *p.comm.lock();
    let len = c.iter().position(|&b| b == 0).unwrap_or(c.len());
    String::from_utf8_lossy(&c[..len]).into_owned()
}

fn usage_of(p: &Process) -> MemoryUsage {
    live_mm(p)
        .map(|mm| mm.lock().memory_usage())
        .unwrap_or_default()
}

/// What the address spaces of all processes hold, for `/proc/meminfo` (an address space
/// shared by a vfork child counts once).
fn system_usage() -> MemoryUsage {
    let mut total = MemoryUsage::default();
    let mut seen: Vec<usize> = Vec::new();
    for p in process::all() {
        let Some(mm) = live_mm(&p) else { continue };
        let key = Arc::as_ptr(&mm) as usize;
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let u = mm.lock().memory_usage();
        total.anon_pages += u.anon_pages;
        total.file_pages += u.file_pages;
        total.shmem_pages += u.shmem_pages;
        total.locked_pages += u.locked_pages;
        total.anon_huge_pages += u.anon_huge_pages;
        total.committed_bytes += u.committed_bytes;
        total.page_table_frames += u.page_table_frames;
    }
    total
}

fn status(p: &Process, out: &mut String) -> core::fmt::Result {
    let (letter, word) = state_of(p);
    let (pgid, sid) = {
        let f = p.family.lock();
        (f.pgid, f.sid)
    };
    let u = usage_of(p);
    let kb = |pages: u64| pages * 4;
    let rss = u.anon_pages + u.file_pages + u.shmem_pages;
    writeln!(out, "Name:\t{}", comm(p))?;
    writeln!(out, "Umask:\t{:04o}", p.fs.umask())?;
    writeln!(out, "State:\t{letter} ({word})")?;
    writeln!(out, "Tgid:\t{}", p.pid)?;
    writeln!(out, "Ngid:\t0")?;
    writeln!(out, "Pid:\t{}", p.pid)?;
    writeln!(out, "PPid:\t{}", p.ppid.load(Ordering::Relaxed))?;
    writeln!(out, "TracerPid:\t0")?;
    writeln!(out, "Uid:\t0\t0\t0\t0")?;
    writeln!(out, "Gid:\t0\t0\t0\t0")?;
    writeln!(
        out,
        "FDSize:\t{}",
        p.files.fds().last().map_or(64, |&m| (m + 64) & !63)
    )?;
    writeln!(out, "Groups:\t")?;
    writeln!(out, "NStgid:\t{}", p.pid)?;
    writeln!(out, "NSpid:\t{}", p.pid)?;
    writeln!(out, "NSpgid:\t{pgid}")?;
    writeln!(out, "NSsid:\t{sid}")?;
    writeln!(out, "VmLck:\t{:>8} kB", kb(u.locked_pages))?;
    writeln!(out, "VmRSS:\t{:>8} kB", kb(rss))?;
    writeln!(out, "RssAnon:\t{:>8} kB", kb(u.anon_pages))?;
    writeln!(out, "RssFile:\t{:>8} kB", kb(u.file_pages))?;
    writeln!(out, "RssShmem:\t{:>8} kB", kb(u.shmem_pages))?;
    writeln!(out, "VmPTE:\t{:>8} kB", kb(u.page_table_frames))?;
    writeln!(out, "Threads:\t{}", p.threads.load(Ordering::Relaxed))?;
    writeln!(out, "Cpus_allowed:\t1")?;
    writeln!(out, "Cpus_allowed_list:\t0")
}

fn stat(p: &Process, out: &mut String) -> core::fmt::Result {
    let (letter, _) = state_of(p);
    let (pgid, sid) = {
        let f = p.family.lock();
        (f.pgid, f.sid)
    };
    let u = usage_of(p);
    let utime = ticks(sched::process_cpu_ns(p));
    let cutime =
        ticks(crate::time::clock().ticks_to_ns(p.children_cpu_ticks.load(Ordering::Relaxed)));
    let threads = p.threads.load(Ordering::Relaxed);
    let rss = u.anon_pages + u.file_pages + u.shmem_pages;
    // Fields 1-24 of proc(5); the rest (signal masks, addresses, exit code...) are 0.
    write!(
        out,
        "{} ({}) {letter} {} {pgid} {sid} 0 -1 4194304 0 0 0 0 {utime} 0 {cutime} 0 20 0 \
         {threads} 0 0 {} {rss} {RLIM_INFINITY}",
        p.pid,
        comm(p),
        p.ppid.load(Ordering::Relaxed),
        u.committed_bytes,
    )?;
    for _ in 25..=52 {
        out.write_str(" 0")?;
    }
    out.write_char('\n')
}

fn limits(p: &Process, out: &mut String) -> core::fmt::Result {
    let limits = p.limits.lock().clone();
    writeln!(
        out,
        "{:<25} {:<20} {:<20} {:<10}",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    )?;
    for &r in RlimitResource::ALL {
        let (name, unit) = limit_label(r);
        let l = limits.get(r);
        let show = |v: u64| {
            if v == RLIM_INFINITY {
                String::from("unlimited")
            } else {
                format!("{v}")
            }
        };
        writeln!(
            out,
            "{name:<25} {:<20} {:<20} {unit:<10}",
            show(l.rlim_cur),
            show(l.rlim_max)
        )?;
    }
    Ok(())
}

fn limit_label(r: RlimitResource) -> (&'static str, &'static str) {
    use RlimitResource as R;
    match r {
        R::Cpu => ("Max cpu time", "seconds"),
        R::Fsize => ("Max file size", "bytes"),
        R::Data => ("Max data size", "bytes"),
        R::Stack => ("Max stack size", "bytes"),
        R::Core => ("Max core file size", "bytes"),
        R::Rss => ("Max resident set", "bytes"),
        R::Nproc => ("Max processes", "processes"),
        R::Nofile => ("Max open files", "files"),
        R::Memlock => ("Max locked memory", "bytes"),
        R::As => ("Max address space", "bytes"),
        R::Locks => ("Max file locks", "locks"),
        R::Sigpending => ("Max pending signals", "signals"),
        R::Msgqueue => ("Max msgqueue size", "bytes"),
        R::Nice => ("Max nice priority", ""),
        R::Rtprio => ("Max realtime priority", ""),
        R::Rttime => ("Max realtime timeout", "us"),
    }
}

fn cpuinfo(out: &mut String) -> core::fmt::Result {
    let vendor = {
        let r = cpu::cpuid(0, 0);
        let mut v = Vec::with_capacity(12);
        for w in [r.ebx, r.edx, r.ecx] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        String::from_utf8_lossy(&v).into_owned()
    };
    let sig = cpu::cpuid(1, 0).eax;
    let family = (sig >> 8) & 0xf;
    let family = if family == 0xf {
        family + ((sig >> 20) & 0xff)
    } else {
        family
    };
    let model = ((sig >> 4) & 0xf) | (((sig >> 16) & 0xf) << 4);
    let mut brand = Vec::with_capacity(48);
    if cpu::cpuid(0x8000_0000, 0).eax >= 0x8000_0004 {
        for leaf in 0x8000_0002..=0x8000_0004 {
            let r = cpu::cpuid(leaf, 0);
            for w in [r.eax, r.ebx, r.ecx, r.edx] {
                brand.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    let brand = String::from_utf8_lossy(&brand);
    let brand = brand.trim_matches(char::from(0)).trim();
    let mhz = crate::time::clock().hz() / 1_000_000;
    let cpus = crate::arch::percpu::online();
    for n in 0..cpus {
        let apic = crate::arch::percpu::cpu(n).map_or(0, |c| c.apic_id.load(Ordering::Relaxed));
        cpuinfo_one(
            out,
            n,
            cpus,
            apic,
            &vendor,
            (family, model, sig & 0xf),
            brand,
            mhz,
        )?;
    }
    Ok(())
}

/// One processor's paragraph of /proc/cpuinfo (every CPU is a core of one package).
#[allow(clippy::too_many_arguments)]
fn cpuinfo_one(
    out: &mut String,
    n: usize,
    cpus: usize,
    apic: u32,
    vendor: &str,
    (family, model, stepping): (u32, u32, u32),
    brand: &str,
    mhz: u64,
) -> core::fmt::Result {
    writeln!(out, "processor\t: {n}")?;
    writeln!(out, "vendor_id\t: {vendor}")?;
    writeln!(out, "cpu family\t: {family}")?;
    writeln!(out, "model\t\t: {model}")?;
    writeln!(out, "model name\t: {brand}")?;
    writeln!(out, "stepping\t: {stepping}")?;
    writeln!(out, "cpu MHz\t\t: {mhz}.000")?;
    writeln!(out, "physical id\t: 0")?;
    writeln!(out, "siblings\t: {cpus}")?;
    writeln!(out, "core id\t\t: {n}")?;
    writeln!(out, "cpu cores\t: {cpus}")?;
    writeln!(out, "apicid\t\t: {apic}")?;
    writeln!(out, "fpu\t\t: yes")?;
    writeln!(out, "wp\t\t: yes")?;
    writeln!(out)
}

/// Where the CPUs' time went since boot, in ns, summed over the online CPUs.
struct CpuTimes {
    /// Time since boot (one CPU's worth).
    now: u64,
    /// CPU time of every process (at most what is not idle).
    user: u64,
    /// Time the CPUs sat halted with nothing to run ([`crate::idle_clock`]).
    idle: u64,
    /// The rest: kernel work no process is charged for (the boot, interrupts taken while a
    /// CPU was idle), `/proc/stat`'s system column.
    system: u64,
    /// Online CPUs.
    cpus: u64,
}

/// Splits `total` ns of CPU time into idle (`halted`, at most `total`), user (`processes`,
/// at most what is left) and the rest.
fn split_cpu_time(total: u64, halted: u64, processes: u64) -> (u64, u64, u64) {
    let idle = halted.min(total);
    let user = processes.min(total - idle);
    (user, idle, total - idle - user)
}

fn cpu_times() -> CpuTimes {
    let now = crate::time::monotonic_ns();
    let processes: u64 = process::all()
        .iter()
        .map(|p| sched::process_cpu_ns(p))
        .sum();
    let cpus = crate::arch::percpu::online() as u64;
    let halted: u64 = (0..cpus as usize).map(crate::idle_clock::halted_ns).sum();
    let (user, idle, system) = split_cpu_time(now * cpus, halted, processes);
    CpuTimes {
        now,
        user,
        idle,
        system,
        cpus,
    }
}

fn system_stat(out: &mut String) -> core::fmt::Result {
    let CpuTimes {
        now,
        user,
        idle,
        system,
        cpus,
    } = cpu_times();
    let realtime = crate::time::clock().realtime_ns(cpu::rdtsc());
    let btime = (realtime - i128::from(now)).max(0) / 1_000_000_000;
    writeln!(
        out,
        "cpu  {} 0 {} {} 0 0 0 0 0 0",
        ticks(user),
        ticks(system),
        ticks(idle)
    )?;
    // Idle time is kept per CPU; the processes' time is not, so it is shared out in
    // proportion to each CPU's busy time (the lines add up to the total line).
    let busy = (now * cpus).saturating_sub(idle).max(1);
    for n in 0..cpus {
        let halted = crate::idle_clock::halted_ns(n as usize).min(now);
        let share = (u128::from(user) * u128::from(now - halted) / u128::from(busy)) as u64;
        let (user, idle, system) = split_cpu_time(now, halted, share);
        writeln!(
            out,
            "cpu{n} {} 0 {} {} 0 0 0 0 0 0",
            ticks(user),
            ticks(system),
            ticks(idle)
        )?;
    }
    writeln!(out, "intr {}", crate::irqstat::total())?;
    writeln!(out, "ctxt 0")?;
    writeln!(out, "btime {btime}")?;
    writeln!(out, "processes {}", process::count())?;
    let running = sched::with(|s| {
        s.threads()
            .filter(|t| matches!(t.state(), State::Running | State::Ready))
            .count()
    });
    writeln!(out, "procs_running {running}")?;
    writeln!(out, "procs_blocked 0")
}

/// /proc/interrupts: the serial line, the virtio lines, then the local interrupts.
fn interrupts(out: &mut String) -> core::fmt::Result {
    let mut lines = alloc::vec![crate::irqstat::DeviceLine {
        vector: crate::arch::apic::isa_vector(crate::devices::COM1_IRQ),
        gsi: u32::from(crate::devices::COM1_IRQ),
        flow: "edge",
        names: String::from("ttyS0"),
    }];
    lines.extend(crate::virtio::irq_lines());
    crate::irqstat::render(out, &lines)
}

/// /proc/mounts (proc(5)): source, mount point, type, the mount's options, `0 0`. The
/// kernel's own mounts show their type as the source, as Linux's usual ones do.
fn mounts(cx: &oxv_vfs::FsContext, out: &mut String) -> core::fmt::Result {
    for m in cx.vfs().mounts() {
        let fs = m.fs().name();
        let at = match m.mountpoint() {
            Some(loc) => oxv_vfs::syscalls::cwd::path_of(cx, &loc).unwrap_or_default(),
            None => b"/".to_vec(),
        };
        let at = escape_mount_field(&at);
        let source = if m.source().is_empty() {
            String::from(fs)
        } else {
            escape_mount_field(m.source())
        };
        writeln!(out, "{source} {at} {fs} {} 0 0", m.flags().options())?;
    }
    Ok(())
}

/// /proc/<pid>/mountinfo (proc(5)): mount id, parent id, `major:minor`, the root of the mount
/// in its file system, the mount point, the mount's options, no optional fields (every mount
/// is private), `-`, type, source, and the file system's options (`rw` or `ro`).
fn mountinfo(cx: &oxv_vfs::FsContext, out: &mut String) -> core::fmt::Result {
    for m in cx.vfs().mounts() {
        let fs = m.fs().name();
        let (parent, at) = match m.mountpoint() {
            Some(loc) => (
                loc.mount().id(),
                oxv_vfs::syscalls::cwd::path_of(cx, &loc).unwrap_or_default(),
            ),
            None => (m.id(), b"/".to_vec()),
        };
        let dev = m.fs().device();
        let root = escape_mount_field(&path_in_fs(m.root(), &m.fs().root()));
        let at = escape_mount_field(&at);
        let source = if m.source().is_empty() {
            String::from(fs)
        } else {
            escape_mount_field(m.source())
        };
        let sb = if m.is_read_only() { "ro" } else { "rw" };
        writeln!(
            out,
            "{} {parent} {}:{} {root} {at} {} - {fs} {source} {sb}",
            m.id(),
            dev.major,
            dev.minor,
            m.flags().options()
        )?;
    }
    Ok(())
}

/// The path of directory `dir` from `top`, the root of its file system (`/` for the root
/// itself; a bind mount's root is deeper).
fn path_in_fs(dir: &Arc<dyn oxv_vfs::Inode>, top: &Arc<dyn oxv_vfs::Inode>) -> Vec<u8> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut cur = dir.clone();
    while cur.ino() != top.ino() && names.len() < 256 {
        let Ok(parent) = cur.parent() else { break };
        let mut found = None;
        let _ = parent.read_dir(0, &mut |e| {
            if e.ino == cur.ino() && e.name != b"." && e.name != b".." {
                found = Some(e.name.to_vec());
                return false;
            }
            true
        });
        let Some(name) = found else { break };
        names.push(name);
        cur = parent;
    }
    let mut path = Vec::new();
    for name in names.iter().rev() {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

/// A field of /proc/mounts: space, tab, newline and backslash as octal escapes (Linux's
/// `mangle`), so that the line still splits on spaces.
fn escape_mount_field(bytes: &[u8]) -> String {
    let mut escaped = alloc::vec::Vec::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => {
                escaped.extend_from_slice(&[
                    b'\\',
                    b'0' + (b >> 6),
                    b'0' + ((b >> 3) & 7),
                    b'0' + (b & 7),
                ]);
            }
            _ => escaped.push(b),
        }
    }
    String::from_utf8_lossy(&escaped).into_owned()
}
