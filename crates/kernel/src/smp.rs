//! Several CPUs: bringing up the APs, the kernel lock, cross-CPU kicks and TLB shootdowns.
//!
//! # The kernel lock
//! The kernel was written for one CPU: it runs with interrupts off and is not preemptible,
//! so kernel code never raced with other kernel code. With several CPUs it keeps that
//! property through one lock that a CPU holds whenever it runs kernel code (the Linux 2.0
//! "big kernel lock"): the app's threads run in ring 3 on every CPU at once, while system
//! calls, faults and interrupt handling take turns. A CPU takes the lock on entry from ring 3
//! (system call, exception, interrupt) or out of the idle `hlt`, and gives it back on the way
//! to ring 3 or into `hlt`. The lock belongs to the CPU, not to a thread: a thread that
//! switches away leaves it to the next thread on the same CPU, and the context switch is
//! complete before the lock is released, so another CPU never picks up a half-saved thread.
//! With one CPU online the lock is skipped (one load and a branch on the system-call path).
//!
//! Finer locking (per-subsystem locks, a lock per CPU run queue) can replace it piece by piece;
//! spin locks are all taken with interrupts off already, because kernel code always runs
//! with interrupts off.
//!
//! # Calls without the kernel lock
//! Two kinds of system call run without it. The light path ([`crate::syscall::fast`]) takes
//! no lock at all. The socket data calls ([`crate::syscall::unlocked`]: read, write, readv,
//! writev, recvfrom, sendto, sendmsg, recvmsg, sendmmsg, recvmmsg on TCP, UDP and `AF_UNIX`
//! sockets; off with the command line option `nounlockednet`) take spin locks, so they, and
//! everything they can meet, follow these rules:
//!
//! 1. **The lock before anything non-trivial.** Such a call takes the kernel lock with
//!    [`lock`] before it blocks (the blocker's `parker`, with [`lock_halting`], which waits
//!    halted instead of spinning), raises a signal, runs the
//!    return-to-user work, drops the last reference to a file, or resolves a page fault
//!    (the trap path takes it), and keeps it until it returns to ring 3 (the exit releases it
//!    if this CPU holds it: [`unlock_if_held`]). So a context switch still always happens
//!    with the lock held, and a thread switched out under it resumes expecting it.
//! 2. **Never [`lock`] while holding a spin lock.** The one exception is forced: a user
//!    copy may fault under a socket's staging lock, and the fault waits for the kernel lock.
//!    So nobody may spin on a staging lock: it is taken with `oxv_net::socket::lock_stage`,
//!    which on a miss calls [`yield_to_kernel_lock`] (take the kernel lock, or, already
//!    holding it, [`relax`] so the faulting holder can have it).
//! 3. **Spin locks in one order** (a CPU with interrupts off may spin on each; outer first):
//!    fd table (alone: the file is cloned out) · socket options (alone) · TCP socket state
//!    (then the stack) · staging buffer → stack (`oxv_net` `Shared`) → TCP connection
//!    (`ConnLock`; a data call takes it alone) or UDP set (`DgramLock`; a data call takes it
//!    under the UDP socket's state, without the stack) → changed-socket lists → NIC/loopback
//!    queues → kernel heap → frame allocator; UDP: staging buffer → socket state → stack;
//!    `AF_UNIX`: staging buffer → receive queue (`rx`), the connection (`st`), the options
//!    and the name space each alone. After the stack lock is dropped: readiness queue
//!    (`PollQueue`) → epoll ready list / epoll queue → scheduler (`SCHED`, wake-ups) →
//!    kick IPIs; and the net poll timer (`net::TIMER`) → scheduler (app timers). The
//!    scheduler lock is innermost: nothing under it takes a lock above. Locked code that
//!    takes several of these follows the same order (NIC interrupt and timer poll: stack,
//!    then queues and scheduler after releasing it; epoll: ready list released before a
//!    file's poll, which takes socket state then the stack).
//! 4. **No spin on what a shootdown initiator holds.** [`shootdown`] waits, with
//!    interrupts off, for every CPU with user translations, and a CPU in an unlocked call
//!    has interrupts off until it returns, so it answers late (or at once once it waits for
//!    the kernel lock). No lock an unlocked call takes may be held across a shootdown: the
//!    initiators hold only the address-space locks (user mappings) or none (kernel stacks
//!    freed by a thread's last reference, never dropped under the locks above).
//! 5. **No shootdown, no OOM kill, no file release without the lock.** An unlocked call
//!    frees no mapping; it drops its file reference under the lock when it is the last.
//!    `oxv_net` calls its serialize hook (which takes the lock) before it looks up or drops
//!    files passed with `SCM_RIGHTS`, drops the last reference to an `AF_UNIX` socket, or
//!    walks the file system for an `AF_UNIX` path.
//!
//! The next subsystem taken off the lock must fit its locks into rule 3 and keep rules 1,
//! 2, 4 and 5.
//!
//! # Kicks
//! A CPU running an app thread in ring 3 or halted in its idle loop only looks at the run
//! queues, pending signals and kill requests when it enters the kernel. Making a thread
//! runnable, raising a signal or killing a thread therefore sends [`apic::KICK_VECTOR`] to
//! the idle CPU whose queue the thread joined (to run it), to a busy CPU whose slice is over
//! while its queue waits (to switch, see [`crate::sched`]), or to the CPUs running app
//! threads (to notice the signal on their way back to ring 3).
//!
//! # Device interrupts
//! The I/O APIC sends each device line to one CPU, chosen when the line is routed
//! ([`device_irq_cpu`]): the virtio devices round-robin over the online CPUs starting at
//! CPU 1, so with several CPUs no one CPU takes every device's interrupts, and the first
//! device goes to a CPU other than the one the app's first thread starts on (CPU 0). Under
//! the kernel lock the handlers still run one at a time, whichever CPU takes them; what
//! the spread buys is that a CPU running app code in ring 3 is not stopped for every
//! packet or disk completion meant for another, and that an idle CPU, rather than a busy
//! one, often does the handling. Each line keeps its one CPU (no reordering of one
//! device's interrupts, its handler's data stays in that CPU's cache). The serial port's
//! line stays on the boot CPU (typed input is rare). A woken thread is then placed as any
//! other wake-up ([`crate::sched`]): on its last CPU if that one is idle (kicked), so a
//! thread waiting for a device on CPU 0 costs one kick more than if CPU 0 had taken the
//! interrupt itself.
//!
//! # TLB shootdowns
//! When the kernel changes or removes a user mapping, every other CPU that has a user
//! address space loaded gets [`apic::TLB_VECTOR`] and flushes its non-global TLB entries;
//! the changing CPU waits for all of them before it goes on (and so before the frames are
//! freed). The IPI is handled without the kernel lock (the sender holds it). A CPU that is
//! spinning for the lock with interrupts off cannot take the IPI, but it cannot touch user
//! memory either until it has the lock: it counts as done, and flushes as soon as it gets
//! the lock.

use crate::arch::percpu::{self, CpuShared, MAX_CPUS};
use crate::arch::{apic, cpu, paging, smp as arch_smp};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use oxv_sched::kernel_lock::KernelLock;

/// The kernel lock (see the module doc).
static KERNEL_LOCK: KernelLock<MAX_CPUS> = KernelLock::new();
/// Whether more than one CPU runs (the kernel lock and IPIs are in use).
static SMP: AtomicBool = AtomicBool::new(false);

/// Whether several CPUs run.
#[inline(always)]
pub fn active() -> bool {
    SMP.load(Ordering::Relaxed)
}

fn me() -> &'static CpuShared {
    &percpu::this_cpu().shared
}

/// Takes the kernel lock for this CPU unless it holds it already (or runs alone). Returns
/// whether it was taken here, i.e. whether the caller must [`unlock`].
#[inline(always)]
pub fn lock() -> bool {
    if !active() {
        return false;
    }
    lock_slow()
}

#[inline(never)]
fn lock_slow() -> bool {
    let me = me();
    if me.holds_kernel_lock.load(Ordering::Relaxed) {
        return false;
    }
    me.waiting_kernel_lock.store(true, Ordering::SeqCst);
    KERNEL_LOCK.lock_spinning();
    me.waiting_kernel_lock.store(false, Ordering::SeqCst);
    me.holds_kernel_lock.store(true, Ordering::Relaxed);
    // A shootdown that counted on us while we waited: flush before touching user memory.
    if me.tlb_pending.swap(false, Ordering::SeqCst) {
        flush_local();
    }
    true
}

/// Whether this CPU holds the kernel lock (false with one CPU, where it is not used).
#[inline(always)]
pub fn holds_lock() -> bool {
    active() && me().holds_kernel_lock.load(Ordering::Relaxed)
}

/// Releases the kernel lock if this CPU holds it: the way out of a call that started
/// without it and may have taken it part-way (see "Calls without the kernel lock").
#[inline(always)]
pub fn unlock_if_held() {
    if holds_lock() {
        unlock();
    }
}

/// Whether socket data calls may run without the kernel lock (kernel command line
/// `nounlockednet` turns it off: every call takes the lock, as before).
static UNLOCKED_NET: AtomicBool = AtomicBool::new(true);

/// Sets whether socket data calls may run without the kernel lock.
pub fn set_unlocked_net(on: bool) {
    UNLOCKED_NET.store(on, Ordering::Relaxed);
}

/// Whether socket data calls may run without the kernel lock.
#[inline(always)]
pub fn unlocked_net() -> bool {
    UNLOCKED_NET.load(Ordering::Relaxed)
}

/// Called where an unlocked call finds a lock it wants busy and must not just spin (see
/// "Calls without the kernel lock"): a CPU without the kernel lock takes it (and keeps it
/// until the call returns to ring 3); one holding it lets other CPUs in for a moment.
/// Call with no spin lock held.
pub fn yield_to_kernel_lock() {
    if !active() {
        return;
    }
    if !lock() {
        relax();
    }
}

/// Releases the kernel lock (taken by [`lock`], which returned true).
#[inline(always)]
pub fn unlock() {
    if active() {
        me().holds_kernel_lock.store(false, Ordering::Relaxed);
        KERNEL_LOCK.unlock(this_cpu_index(), kick_cpu);
    }
}

/// Takes the kernel lock for the idle loop after a halt. Where [`lock`] spins, this halts
/// until the holder's [`unlock`] kicks it: in a VM a spinning vCPU takes host CPU time from
/// the vCPU that holds the lock, and a woken idle CPU often finds the lock held by the CPU
/// that woke it.
pub fn lock_from_idle() {
    if !active() {
        return;
    }
    let me = me();
    KERNEL_LOCK.lock_halting(this_cpu_index(), crate::idle_clock::halt);
    me.holds_kernel_lock.store(true, Ordering::Relaxed);
    if me.tlb_pending.swap(false, Ordering::SeqCst) {
        flush_local();
    }
}

/// The task-priority class a thread waiting in [`lock_halting`] sets: only the kick and the
/// shootdown IPI get through. Any other handler (the timer, a device) would take the
/// kernel lock itself, spinning, on the waiting thread's kernel stack; held back, it runs
/// once this CPU has the lock and opens interrupts again (the idle loop's halt, or the
/// return to ring 3).
const LOCK_WAIT_PRIORITY: u8 = (apic::KICK_VECTOR >> 4) - 1;
const _: () = assert!(
    apic::TLB_VECTOR >> 4 > LOCK_WAIT_PRIORITY
        && apic::TIMER_VECTOR >> 4 <= LOCK_WAIT_PRIORITY
        && crate::virtio::LAST_VECTOR >> 4 <= LOCK_WAIT_PRIORITY
        && apic::isa_vector(15) >> 4 <= LOCK_WAIT_PRIORITY
);

/// Takes the kernel lock, as [`lock`], for a thread about to park
/// ([`crate::devices::KernelBlocker`]): it tries once and, when another CPU holds the lock,
/// halts until that CPU's [`unlock`] kicks it, as the idle loop does. The holder is often the
/// thread this one waits for, just woken from its own park; a spinning vCPU would take
/// host CPU time from the holder's. Interrupts are open while halted, to the kick and the
/// shootdown IPI only (see [`LOCK_WAIT_PRIORITY`]). Call with no spin lock held. Returns
/// whether it was taken here.
pub fn lock_halting() -> bool {
    if !active() {
        return false;
    }
    let me = me();
    if me.holds_kernel_lock.load(Ordering::Relaxed) {
        return false;
    }
    if !KERNEL_LOCK.try_lock() {
        // As for a spinning CPU: shootdowns and the OOM killer do not wait for this one,
        // which touches no user memory before it has the lock (and flushes then).
        me.waiting_kernel_lock.store(true, Ordering::SeqCst);
        let priority = cpu::task_priority();
        cpu::set_task_priority(LOCK_WAIT_PRIORITY);
        KERNEL_LOCK.lock_halting(this_cpu_index(), cpu::idle_halt);
        cpu::set_task_priority(priority);
        me.waiting_kernel_lock.store(false, Ordering::SeqCst);
    }
    me.holds_kernel_lock.store(true, Ordering::Relaxed);
    if me.tlb_pending.swap(false, Ordering::SeqCst) {
        flush_local();
    }
    true
}

/// Lets other CPUs into the kernel for a moment (a thread that waits for another CPU's
/// thread in a loop, like exec waiting for its siblings to die, must not keep the lock).
pub fn relax() {
    if active() && me().holds_kernel_lock.load(Ordering::Relaxed) {
        unlock();
        for _ in 0..64 {
            core::hint::spin_loop();
        }
        lock();
    }
}

/// How many device lines [`device_irq_cpu`] has placed.
static DEVICE_LINES: AtomicUsize = AtomicUsize::new(0);

/// The CPU to take the interrupts of the next device line routed, as (CPU number, APIC
/// id): round-robin over the online CPUs, starting at CPU 1 (see the module doc). Call after
/// the APs are up.
pub fn device_irq_cpu() -> (usize, u32) {
    let online = percpu::online().max(1);
    let k = DEVICE_LINES.fetch_add(1, Ordering::Relaxed);
    let n = (1 + k) % online;
    match percpu::cpu(n) {
        Some(c) => (n, c.apic_id.load(Ordering::Relaxed)),
        None => (0, apic::id()),
    }
}

/// Sends a kick to CPU `n`.
pub fn kick_cpu(n: usize) {
    if let Some(c) = percpu::cpu(n) {
        apic::send_ipi(c.apic_id.load(Ordering::Relaxed), apic::KICK_VECTOR);
    }
}

fn this_cpu_index() -> usize {
    percpu::this_cpu().cpu_id as usize
}

/// A signal was raised or a thread killed: every other CPU running an app thread looks at
/// its pending work on its way back to ring 3.
pub fn kick_busy_cpus() {
    if !active() {
        return;
    }
    let me = this_cpu_index();
    for n in (0..percpu::online()).filter(|&n| n != me) {
        if percpu::cpu(n).is_some_and(|c| !c.shared.idle.load(Ordering::Relaxed)) {
            kick_cpu(n);
        }
    }
}

fn flush_local() {
    // SAFETY: reloading CR3 with its current value only drops non-global translations.
    unsafe { cpu::set_cr3(cpu::cr3()) };
}

/// The TLB shootdown IPI's handler (runs without the kernel lock): flush, then report done.
pub fn tlb_interrupt() {
    let me = me();
    if me.tlb_pending.load(Ordering::SeqCst) {
        flush_local();
        me.tlb_pending.store(false, Ordering::SeqCst);
    }
    apic::eoi();
}

/// Makes every other CPU drop its user translations, and waits until they have (or cannot
/// use them before flushing). Called with the kernel lock held, after this CPU changed a
/// user mapping.
pub fn shootdown() {
    if !active() {
        return;
    }
    let me = this_cpu_index();
    let mut asked = [false; MAX_CPUS];
    for (n, was_asked) in asked.iter_mut().enumerate().take(percpu::online()) {
        let Some(c) = percpu::cpu(n).filter(|_| n != me) else {
            continue;
        };
        if c.shared.user_root.load(Ordering::SeqCst) == 0 {
            continue; // only the kernel's tables loaded: no user translations cached
        }
        c.shared.tlb_pending.store(true, Ordering::SeqCst);
        apic::send_ipi(c.apic_id.load(Ordering::Relaxed), apic::TLB_VECTOR);
        *was_asked = true;
    }
    for (n, _) in asked.iter().enumerate().filter(|(_, a)| **a) {
        let Some(c) = percpu::cpu(n) else { continue };
        while c.shared.tlb_pending.load(Ordering::SeqCst)
            && !c.shared.waiting_kernel_lock.load(Ordering::SeqCst)
        {
            core::hint::spin_loop();
        }
    }
}

/// Loads user page-table root `root` on this CPU (0: the kernel's own tables), recording it
/// for shootdowns.
pub fn load_root(root: u64) {
    let loaded = if root == 0 {
        crate::mem::kernel_page_table().0
    } else {
        root
    };
    me().user_root.store(root, Ordering::SeqCst);
    if loaded != cpu::cr3() {
        // SAFETY: `root` is a live address space's page-table root (its process keeps it)
        // or the kernel's own; both map the kernel half.
        unsafe { cpu::set_cr3(loaded) };
    }
}

/// Starts every CPU the ACPI MADT (or, without ACPI, the MP table) lists besides this one;
/// returns how many CPUs are online. Called once by the boot CPU, after the scheduler is set
/// up and before the app starts.
pub fn start_aps(rsdp: u64, nx: bool) -> usize {
    let mut read = |pa, buf: &mut [u8]| {
        paging::read_phys(
            crate::mem::kernel_page_table(),
            pa,
            buf,
            crate::mem::map_mmio,
        )
    };
    let madt = match crate::acpi::read_madt(rsdp, &mut read) {
        Ok(m) => m,
        Err(e) => match crate::mptable::read(&mut read) {
            Some(m) => m,
            None => {
                kdebug!("oxv: no ACPI MADT ({e:?}) and no MP table: one CPU");
                return 1;
            }
        },
    };
    let bsp = apic::id();
    let others: alloc::vec::Vec<u32> = madt
        .apic_ids
        .iter()
        .copied()
        .filter(|&id| id != bsp && id < 255)
        .take(MAX_CPUS - 1)
        .collect();
    if others.is_empty() {
        return 1;
    }
    arch_smp::prepare(crate::mem::kernel_page_table(), nx);
    // From here the kernel lock is in use: the APs wait for it in their idle loops until
    // this CPU halts in its own.
    SMP.store(true, Ordering::SeqCst);
    assert!(lock(), "the boot CPU takes the kernel lock first");
    let mut online = 1;
    for apic_id in others {
        if start_one(online, apic_id) {
            online += 1;
        } else {
            kprintln!("oxv: CPU with APIC id {apic_id} did not start");
        }
    }
    if online == 1 {
        unlock();
        SMP.store(false, Ordering::SeqCst);
    }
    online
}

/// Starts AP number `n` (its APIC id `apic_id`) and waits for it to come online.
fn start_one(n: usize, apic_id: u32) -> bool {
    const STACK_ORDER: u8 = 2; // 16 KiB, as the threads' kernel stacks
    let (Some(stack), Some(df), Some(nmi)) = (
        crate::mem::alloc_kernel_stack(STACK_ORDER),
        crate::mem::alloc_kernel_stack(STACK_ORDER),
        crate::mem::alloc_kernel_stack(STACK_ORDER),
    ) else {
        return false;
    };
    let pc = percpu::new_ap(n, apic_id, df, nmi);
    let start = arch_smp::ApStart {
        apic_id,
        stack_top: stack,
        entry: arch_smp::ap_entry,
        arg: pc as *const percpu::PerCpu as u64,
    };
    let delay_us = |us: u64| {
        let t0 = crate::time::monotonic_ns();
        while crate::time::monotonic_ns() - t0 < us * 1000 {
            core::hint::spin_loop();
        }
    };
    arch_smp::start_ap(&start, &delay_us);
    // TCG runs the AP's first instructions slowly: give it a generous second.
    let t0 = crate::time::monotonic_ns();
    while percpu::online() <= n {
        if crate::time::monotonic_ns() - t0 > 1_000_000_000 {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// The rest of an AP's start, once the arch code has set up its CPU state: it becomes a
/// scheduler CPU with its own idle thread.
pub fn ap_main() -> ! {
    crate::sched::init_cpu();
    lock();
    crate::sched::idle_loop()
}
