//! Boot: from the first Rust instruction to the app's first instruction.
//!
//! 1. Parse PVH start_info; set up the CPU (GDT/TSS/IDT, SYSCALL, SSE/AVX, SMEP/SMAP).
//! 2. Memory: the kernel's page tables, the frame allocator, the heap.
//! 3. The command line ([`oxv_abi::cmdline::BootArgs`]): console layout, options, argv, env.
//! 4. Time (TSC calibration, RTC) and randomness.
//! 5. The file system: the initramfs unpacked into a tmpfs root (or an ext2 disk as the
//!    root, `disk=/`), `/dev`, `/proc`, `/tmp`, disks on their mount points, and the console
//!    on fds 0-2.
//! 6. Exec argv[0] into a fresh address space and enter it in ring 3.
//!
//! Any failure here is reported as a clear message and an exit record (status 127 when the
//! program is missing, 126 when it cannot be executed), never a hang.

use crate::arch::gdt::{USER_CS, USER_DS};
use crate::arch::trap::TrapFrame;
use crate::arch::user_pt::UserPageTable;
use crate::arch::{
    apic, context, cpu, paging, percpu, pvh, syscall as arch_syscall, trap as arch_trap, usercopy,
};
use crate::devices::{ConsoleDevice, KernelClock, KernelEntropy, Stream};
use crate::exec::{self, CpuAux};
use crate::mem::{self, KernelFrames};
use crate::process::{self, Family, ImageInfo, LifeState, MmSlot, Process, UserSpace};
use crate::procinfo::KernelProcessInfo;
use crate::sched;
use crate::sync::SleepMutex;
use crate::thread::{KernelStack, Thread, ThreadRef};
use crate::timers::Timers;
use crate::{console, random, syscall, time};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize};
use oxv_abi::cmdline::BootArgs;
use oxv_abi::linux::fs::{OpenFlags, Winsize};
use oxv_mm::AddressSpace;
use oxv_sched::rlimit::Rlimits;
use oxv_sched::signal::{SigActions, SigQueue, ThreadSignals};
use oxv_vfs::devfs::{self, DevfsDevices};
use oxv_vfs::device::Terminal;
use oxv_vfs::procfs::ProcFs;
use oxv_vfs::sysfs::SysFs;
use oxv_vfs::tmpfs::{FileMemory, Tmpfs, TmpfsLimits};
use oxv_vfs::tty::JobControl;
use oxv_vfs::{
    DeviceId, FdTable, FileSystem, FsContext, MountFlags, OpenFile, RealtimeClock, SetAttr, Vfs,
    initramfs,
};
use spin::Mutex;

/// Size of the app thread's kernel stack.
const KERNEL_STACK_ORDER: u8 = 2; // 16 KiB

/// Boot, then run the app. Never returns.
pub fn start(start_info: u64, entry_tsc: u64) -> ! {
    console::init_early();
    let info = match pvh::BootInfo::parse(start_info) {
        Ok(i) => i,
        // Nothing to run: say why (the console works already) and end the VM.
        Err(e) => fail(2, format_args!("oxv: cannot boot: {e:?}")),
    };
    let features = cpu::Features::detect();
    paging::set_features(features.nx, features.pge);
    percpu::init_bsp();
    arch_trap::init();
    oxv_drivers::pic::remap_and_mask(&crate::arch::port::X86Ports, 0x20);
    let xcr0 = cpu::enable_features(&features);
    usercopy::set_smap(features.smap);
    arch_syscall::init();
    let free = mem::init(&info);

    let raw_cmdline = {
        let (pa, len) = info.cmdline;
        // SAFETY: the command line is RAM the memory map reported, reserved from the frame
        // allocator by `mem::init` and mapped by the direct map; it is only read here.
        unsafe { core::slice::from_raw_parts(paging::phys_to_virt(pa) as *const u8, len) }
    };
    // A VMM appends its virtio-mmio devices after the app's argv: take them off first.
    let (raw_cmdline, virtio_mmio) = oxv_drivers::virtio::split_mmio_devices(raw_cmdline);
    let args = BootArgs::decode_bytes(raw_cmdline);
    if let Ok(a) = &args {
        console::set_split(a.option("console") == Some(Some(&b"split"[..])));
        console::set_verbose(a.has_option("verbose"));
        syscall::set_strace(a.has_option("strace"));
    }
    crate::devices::set_stdin_framed(console::is_split());
    let args = match args {
        Ok(a) => a,
        Err(e) => fail(2, format_args!("oxv: bad kernel command line: {e}")),
    };
    kdebug!(
        "oxv: kaslr: kernel base {:#x} (slide {:#x})",
        crate::arch::kernel_map::image_offset(),
        crate::arch::boot::kaslr_slide()
    );
    let t_mem = cpu::rdtsc();
    time::init(&features, entry_tsc, args.tsc_khz());
    context::init_fpu(xcr0);
    if !apic::init(time::clock().hz(), mem::map_mmio) {
        fail(2, format_args!("oxv: no local APIC"));
    }
    sched::init();
    crate::arch::smp::set_tsc_aux(0);
    // Before the other CPUs start: their stacks may need it in a VM sized to its image.
    mem::release_low_memory();
    let cpus = start_cpus(&info, features.nx);
    kdebug!("oxv: {cpus} CPUs online");
    crate::vdso_mapping::init(cpus);
    // The I/O APIC sits at its architectural default on QEMU's machines (ACPI's MADT would
    // name it; reading it comes with SMP bring-up).
    let stdin_irq = crate::devices::enable_stdin_interrupt(0xfec0_0000);
    kdebug!(
        "oxv: apic timer {} MHz, {} mode, stdin {}",
        apic::timer_hz() / 1_000_000,
        if apic::tsc_deadline() {
            "TSC-deadline"
        } else {
            "one-shot"
        },
        if stdin_irq {
            "interrupt-driven"
        } else {
            "polled"
        }
    );
    crate::virtio::init(&virtio_mmio);
    if args.has_option("net_selftest") {
        crate::virtio::net_selftest();
    }
    if args.option("selftest") == Some(Some(b"stack-overflow")) {
        stack_overflow_selftest();
    }
    let t_time = cpu::rdtsc();
    let device_seed = crate::virtio::take_entropy();
    let hw_seeded = random::init(|| cpu::hw_random(&features), cpu::rdtsc, device_seed);
    crate::net::init();
    crate::net::attach_nic(&args);
    kdebug!(
        "oxv: {} MiB free, smep {} smap {} nx {} xcr0 {:#x}, rng {}, hypervisor {:?}, rsdp {:#x}",
        free >> 20,
        features.smep,
        features.smap,
        features.nx,
        xcr0,
        match (hw_seeded, device_seed.is_some()) {
            (true, true) => "rdseed/rdrand + virtio-rng",
            (true, false) => "rdseed/rdrand",
            (false, true) => "virtio-rng + tsc",
            (false, false) => "tsc only",
        },
        core::str::from_utf8(&features.hv_vendor)
            .unwrap_or("?")
            .trim_end_matches('\0'),
        info.rsdp
    );

    let (ws_row, ws_col) = args.winsize().unwrap_or((24, 80));
    let winsize = Winsize {
        ws_row,
        ws_col,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let ttys = args.option("tty").flatten().unwrap_or(b"");
    let is_tty = |fd: u8| {
        if console::is_split() {
            ttys.contains(&(b'0' + fd))
        } else {
            true
        }
    };

    let t_rng = cpu::rdtsc();
    // The console is the controlling terminal of the app's session (pid 1's, with its group
    // in the foreground), as a program a shell runs finds its terminal. Its devices (fds
    // 0-2, /dev/console, /dev/tty) are one terminal: one set of settings, one job control.
    let console = Terminal::with_jobs(
        Arc::new(ConsoleDevice::new(Stream::Console, Some(winsize))),
        JobControl::controlling(
            Arc::new(crate::tty_signals::KernelTtySignals),
            process::INIT_PID,
            process::INIT_PID,
        ),
    );
    let (cx, initrd_bytes) = build_fs(&info, &args, console.clone());
    mount_disks(&cx, &args);
    crate::net::write_resolver_files(&cx);
    let t_fs = cpu::rdtsc();
    let files = FdTable::new();
    oxv_vfs::fsize::set_sigxfsz_hook(crate::syscall::resource::raise_sigxfsz);
    for (fd, stream) in [
        (0u8, Stream::Stdin),
        (1, Stream::Stdout),
        (2, Stream::Stderr),
    ] {
        let dev = ConsoleDevice::new(stream, is_tty(fd).then_some(winsize));
        let term = Terminal::sharing(Arc::new(dev), &console);
        if stream == Stream::Stdin && is_tty(fd) {
            // Typed input: its ISIG keys raise signals as they arrive.
            crate::devices::set_typed_input(term.clone());
        }
        let flags = match stream {
            Stream::Stdin => OpenFlags::empty(),
            _ => OpenFlags::WRONLY,
        };
        let flags = if is_tty(fd) { OpenFlags::RDWR } else { flags };
        files
            .insert(OpenFile::new(term.open(), flags, None), false)
            .expect("fds 0-2 are free at boot");
    }
    kdebug!("oxv: initramfs {} KiB unpacked", initrd_bytes / 1024);

    let path = args.argv[0].clone();
    let program = match cx.open(&path, OpenFlags::empty(), 0) {
        Ok(f) => f,
        Err(e) => fail(
            127,
            format_args!("oxv: {}: {}", String::from_utf8_lossy(&path), e),
        ),
    };

    let stack_top = exec::stack_top();
    let pt = UserPageTable::new(mem::kernel_page_table(), &mut KernelFrames)
        .expect("a frame for the app's page table");
    let root = pt.root();
    let mut mm = AddressSpace::new(pt, exec::aspace_config(stack_top));
    let cpu_aux = exec::init_cpu_aux(CpuAux {
        hwcap: features.hwcap as u64,
        hwcap2: if features.fsgsbase { 2 } else { 0 },
        minsigstksz: minsigstksz(&features),
    });
    let argv: Vec<&[u8]> = args.argv.iter().map(|a| a.as_slice()).collect();
    let envp: Vec<&[u8]> = args.env.iter().map(|a| a.as_slice()).collect();
    let entry = match process::with_platform(|plat| {
        exec::load(
            &mut mm, plat, &cx, program, &path, &argv, &envp, stack_top, cpu_aux,
        )
    }) {
        Ok(e) => e,
        Err(e) => fail(
            126,
            format_args!(
                "oxv: {}: cannot execute: {}",
                String::from_utf8_lossy(&path),
                e
            ),
        ),
    };

    let mut cmdline = Vec::new();
    for a in &args.argv {
        cmdline.extend_from_slice(a);
        cmdline.push(0);
    }
    mount_proc(&cx);
    let mut environ = Vec::new();
    for e in &args.env {
        environ.extend_from_slice(e);
        environ.push(0);
    }
    let init = Arc::new(Process {
        pid: process::INIT_PID,
        mm: MmSlot::new(Arc::new(SleepMutex::new(UserSpace::new(mm)))),
        fs: Arc::new(cx),
        files: Arc::new(files),
        actions: Mutex::new(SigActions::new()),
        shared_signals: Mutex::new(SigQueue::new()),
        shared_pending: AtomicBool::new(false),
        limits: Mutex::new(Rlimits::new(mem::frame_stats().1 as u64 * 4096)),
        comm: Mutex::new(comm_of(&args.argv[0])),
        image: Mutex::new(ImageInfo {
            exe: path,
            cmdline,
            environ,
        }),
        ppid: AtomicI32::new(0),
        family: Mutex::new(Family {
            pgid: process::INIT_PID,
            sid: process::INIT_PID,
            children: BTreeMap::new(),
            did_exec: false,
        }),
        life: Mutex::new(LifeState::Alive),
        exit_signal: None,
        threads: AtomicUsize::new(1),
        cpu_ticks: AtomicU64::new(0),
        children_cpu_ticks: AtomicU64::new(0),
        child_waiters: Mutex::new(Vec::new()),
        vfork_parent: Mutex::new(None),
        timers: Mutex::new(Timers::new()),
        stopped: AtomicBool::new(false),
        child_event: Mutex::new(None),
    });
    process::register(init.clone());

    let t_exec = cpu::rdtsc();
    let us = |a: u64, b: u64| time::clock().ticks_to_ns(b.saturating_sub(a)) / 1000;
    kdebug!(
        "oxv: boot phases (µs): cpu+memory {} | clock calibration {} | rng {} | file system {} | exec {}",
        us(entry_tsc, t_mem),
        us(t_mem, t_time),
        us(t_time, t_rng),
        us(t_rng, t_fs),
        us(t_fs, t_exec)
    );
    // The new tables share the kernel half (UserPageTable::new) and live in the process,
    // which lives forever.
    crate::smp::load_root(root.0);

    // The app's first thread: it enters ring 3 at the program's entry on its initial stack.
    let kstack = mem::alloc_kernel_stack(KERNEL_STACK_ORDER)
        .unwrap_or_else(|| mem::out_of_memory_at_boot("the app's kernel stack"));
    let frame = TrapFrame {
        rip: entry.rip,
        rsp: entry.rsp,
        rflags: 0x202,
        cs: USER_CS as u64,
        ss: USER_DS as u64,
        ..Default::default()
    };
    // SAFETY: `kstack` is a fresh kernel stack of KERNEL_STACK_ORDER pages.
    let rsp = unsafe { context::prepare_new_stack(kstack, &frame) };
    let fpu = context::FpuState::capture().expect("memory for the first thread's FPU state");
    let main = Thread::new(
        1,
        KernelStack {
            top: kstack,
            order: KERNEL_STACK_ORDER,
        },
        rsp,
        fpu,
        ThreadSignals::new(),
        init,
        root.0,
    );
    sched::spawn(ThreadRef(Arc::new(main)));

    let us = time::clock().ticks_to_ns(cpu::rdtsc() - entry_tsc) / 1000;
    record!("boot", "entry_to_app_us={}", us);
    sched::idle_loop()
}

/// Starts the other CPUs the firmware lists, unless PVH's data lies where the AP start-up
/// code goes; returns how many CPUs run.
fn start_cpus(info: &pvh::BootInfo, nx: bool) -> usize {
    let low = crate::arch::smp::LOW_RANGE;
    let (cmd, cmd_len) = info.cmdline;
    let clash = |start: u64, len: u64| start < low.end && start + len > low.start;
    if clash(info.start_info, 64) || clash(cmd, cmd_len as u64 + 1) {
        kdebug!("oxv: PVH data in the AP start-up pages: one CPU");
        return 1;
    }
    crate::smp::start_aps(info.rsdp, nx)
}

/// Builds the root file system, from the initramfs or, with `disk=/`, an ext2 disk, and
/// mounts /dev and /tmp (/proc and /sys come with the process, [`mount_proc`]).
fn build_fs(info: &pvh::BootInfo, args: &BootArgs, console: Arc<Terminal>) -> (FsContext, usize) {
    let clock = Arc::new(KernelClock);
    let now = clock.now();
    let root_disk = crate::virtio::root_disk(args);
    // File pages are frames of RAM, so MAP_SHARED mappings of files share them.
    // Unlimited while the initramfs goes in; limited below.
    let tmpfs_root = Tmpfs::with_limits(
        DeviceId::new(0, 1),
        0o755,
        now,
        Arc::new(mem::FileFrames),
        TmpfsLimits::UNLIMITED,
    );
    let mut initrd_bytes = 0;
    if let (Some(n), Some(m)) = (root_disk, info.initrd) {
        // The disk is the root: an initramfs given as well is not unpacked over it (that
        // would write it to the disk at every boot).
        kdebug!("oxv: the root is disk {n}; the initramfs is ignored");
        mem::release_boot_range(m.addr, m.addr + m.size);
    } else if let Some(m) = info.initrd {
        // The archive's pages go back to the allocator as the unpacking moves past them, so
        // the files reuse them: the peak is about the larger of the archive and its files.
        // SAFETY: the module is RAM reported by the VMM, reserved from the frame allocator and
        // mapped by the direct map; nothing but this reader touches it from here on.
        let mut archive = unsafe { mem::BootRangeReader::new(m.addr, m.size as usize) };
        match initramfs::unpack_from(&mut archive, &tmpfs_root.root(), now) {
            Ok(_) => {}
            Err(initramfs::UnpackError::Fs {
                errno: oxv_abi::Errno::ENOSPC | oxv_abi::Errno::ENOMEM,
                ..
            }) => mem::out_of_memory_at_boot("unpacking the initramfs"),
            Err(e) => fail(2, format_args!("oxv: bad initramfs: {e}")),
        }
        initrd_bytes = m.size as usize;
        // The rest of the archive (the pages not released yet) goes back here.
        drop(archive);
        mem::check_boot_reserve("after unpacking the initramfs");
    }
    // Linux's initramfs root is a tmpfs of half of RAM, image included; here the image's
    // files are not charged, so what the app writes (/tmp is on this root) gets half of RAM
    // whatever the image's size, and a large image still boots.
    if let Some(ram) = mem::FileFrames.total_pages() {
        let (used, half) = (tmpfs_root.usage(), TmpfsLimits::half_of_ram(ram));
        tmpfs_root.set_limits(TmpfsLimits {
            blocks: used.blocks + half.blocks,
            inodes: used.inodes + half.inodes,
        });
    }
    let (root, read_only_root): (Arc<dyn FileSystem>, bool) = match root_disk {
        Some(n) => {
            let fs = mount_ext2(n, b"/", now);
            let read_only = fs.is_read_only();
            (fs, read_only)
        }
        None => (tmpfs_root, false),
    };
    let vfs = Vfs::new(root, clock);
    let cx = FsContext::new(vfs.clone());
    for dir in [&b"/dev"[..], b"/proc", b"/sys"] {
        must(cx.mkdir_all(dir, 0o755).map(|_| ()), "mount points");
    }
    if read_only_root {
        // After the mount points: a read-only disk must have them already (ext2 refuses).
        vfs.root().mount().set_flags(MountFlags::READ_ONLY);
    }
    // On the initramfs root, /tmp is part of the (writable, in-memory) root: files the image
    // put under /tmp stay visible, as they would on a Linux root file system. On a disk root
    // it is a tmpfs of its own, as on most Linux systems: scratch files never reach the disk.
    let tmp = must(cx.mkdir_all(b"/tmp", 0o1777), "/tmp");
    if root_disk.is_some() {
        let fs = Tmpfs::with_memory(vfs.anon_device(), 0o1777, now, Arc::new(mem::FileFrames));
        must(vfs.mount(fs, &tmp, MountFlags::empty()).map(|_| ()), "/tmp");
    } else {
        let attr = SetAttr {
            perm: Some(0o1777),
            uid: None,
            gid: None,
            size: None,
            atime: None,
            mtime: None,
            ctime: now,
        };
        must(tmp.inode().set_attr(&attr), "/tmp");
    }
    let devfs = must(
        devfs::build(
            &vfs,
            DevfsDevices {
                console,
                entropy: Arc::new(KernelEntropy),
                memory: Arc::new(mem::FileFrames),
            },
        ),
        "/dev",
    );
    for n in 0..crate::virtio::disk_count() {
        if let Some(disk) = crate::virtio::disk(n) {
            must(devfs::add_disk(&vfs, &devfs, n, disk), "/dev/vd*");
        }
    }
    let pty_blocker = Arc::new(crate::devices::KernelBlocker);
    let pty_signals = Arc::new(crate::tty_signals::KernelTtySignals);
    must(
        devfs::add_ptys_with_signals(&vfs, &devfs, pty_blocker, pty_signals),
        "/dev/pts",
    );
    must(
        vfs.mount(
            devfs,
            &must(cx.lookup(b"/dev", true), "/dev"),
            MountFlags::empty(),
        )
        .map(|_| ()),
        "/dev",
    );
    // /dev/shm is a tmpfs of its own (half of RAM, nosuid,nodev), as Linux distributions
    // mount it: POSIX shared memory maps its files shared, so their pages must be frames.
    let shm = Tmpfs::with_memory(vfs.anon_device(), 0o1777, now, Arc::new(mem::FileFrames));
    let shm_at = must(cx.lookup(b"/dev/shm", true), "/dev/shm");
    let shm_flags = MountFlags::NO_SUID | MountFlags::NO_DEV;
    must(vfs.mount(shm, &shm_at, shm_flags).map(|_| ()), "/dev/shm");
    (cx, initrd_bytes)
}

fn must<T>(r: Result<T, oxv_abi::Errno>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => fail(2, format_args!("oxv: cannot set up {what}: {e}")),
    }
}

/// Mounts each disk the command line gives a mount point (`disk=/mnt`, see
/// [`crate::virtio::DISK_OPTION`]) as ext2, read-only when the device is (`--disk IMG:MNT:ro`).
/// The root disk (`disk=/`) was mounted by [`build_fs`] already.
fn mount_disks(cx: &FsContext, args: &BootArgs) {
    for (n, point) in crate::virtio::disk_mount_points(args).iter().enumerate() {
        let Some(point) = point else { continue };
        if Some(n) == crate::virtio::root_disk(args) {
            continue;
        }
        let fs = mount_ext2(n, point, cx.vfs().now());
        let read_only = fs.is_read_only();
        let at = must(cx.mkdir_all(point, 0o755), "disk mount point");
        let flags = if read_only {
            MountFlags::READ_ONLY
        } else {
            MountFlags::empty()
        };
        // As mount(2) would show it: `/dev/vdb /data ext2 rw,relatime`.
        let name = oxv_vfs::block::file::disk_name(n).unwrap_or_default();
        let source = [b"/dev/".as_slice(), &name].concat();
        cx.vfs().mount_from(fs, &at, flags, &source);
    }
}

/// Mounts disk `n` as ext2 (read-only when the device is) for mount point `point`. A disk
/// that is missing, not ext2, or uses features oxv lacks stops the boot with the reason.
fn mount_ext2(n: usize, point: &[u8], now: oxv_vfs::Timestamp) -> Arc<oxv_vfs::ext2::Ext2> {
    let path = String::from_utf8_lossy(point);
    let fs = match crate::disks::mount_ext2(n, false, now) {
        Ok(fs) => fs,
        Err(crate::disks::DiskMountError::NoSuchDisk) => fail(
            2,
            format_args!("oxv: disk {n} for {path}: no such virtio-blk device"),
        ),
        Err(crate::disks::DiskMountError::Ext2(e)) => {
            fail(2, format_args!("oxv: cannot mount disk {n} on {path}: {e}"))
        }
    };
    kdebug!(
        "oxv: disk {n} (ext2{}) mounted on {path}",
        if fs.is_read_only() { ", read-only" } else { "" }
    );
    fs
}

/// Mounts /proc once the process's identity is known.
fn mount_proc(cx: &FsContext) {
    let vfs = cx.vfs();
    let procfs = ProcFs::new(Arc::new(KernelProcessInfo), vfs.anon_device(), vfs.now());
    if let Ok(at) = cx.lookup(b"/proc", true) {
        let _ = vfs.mount(procfs, &at, MountFlags::empty());
    }
    let sysfs = SysFs::new(Arc::new(OnlineCpus), vfs.anon_device(), vfs.now());
    if let Ok(at) = cx.lookup(b"/sys", true) {
        let _ = vfs.mount(sysfs, &at, MountFlags::empty());
    }
}

/// The CPUs `/sys/devices/system/cpu` shows: the ones the scheduler runs on.
struct OnlineCpus;

impl oxv_vfs::sysfs::CpuTopology for OnlineCpus {
    fn online(&self) -> u32 {
        crate::arch::percpu::online().max(1) as u32
    }
}

/// The thread name Linux gives a new process: the basename of argv[0], 15 bytes at most.
fn comm_of(path: &[u8]) -> [u8; 16] {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut c = [0u8; 16];
    let n = base.len().min(15);
    c[..n].copy_from_slice(&base[..n]);
    c
}

/// AT_MINSIGSTKSZ: the signal frame for the enabled XSAVE state plus the rest of the frame,
/// as Linux computes it.
fn minsigstksz(f: &cpu::Features) -> u64 {
    let xsave = if f.xsave {
        cpu::cpuid(0xd, 0).ebx as u64
    } else {
        512
    };
    (xsave + 1024).next_multiple_of(64)
}

/// Reports a boot failure the way a shell reports a command that cannot run, and stops.
fn fail(status: i32, msg: core::fmt::Arguments<'_>) -> ! {
    use core::fmt::Write;
    struct Stderr;
    impl Write for Stderr {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            console::write_stderr(s.as_bytes());
            Ok(())
        }
    }
    let _ = writeln!(Stderr, "{msg}");
    process::end_vm(process::ExitStatus::Exited(status))
}

/// Overflows this kernel stack on purpose (kernel option `selftest=stack-overflow`), to show
/// that the guard page turns it into a clear panic rather than silent corruption.
fn stack_overflow_selftest() {
    let stack = mem::alloc_kernel_stack(KERNEL_STACK_ORDER).expect("a kernel stack for the test");
    kprintln!("oxv: selftest: overflowing a kernel stack");
    // SAFETY: switches rsp to the fresh, unused stack `stack` and recurses there until it
    // faults on the guard page below it; nothing returns (the fault handler panics).
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "2:",
            "push rax",
            "jmp 2b",
            top = in(reg) stack,
            options(noreturn)
        );
    }
}
