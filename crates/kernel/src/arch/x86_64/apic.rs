//! The local APIC (timer, end-of-interrupt) and the I/O APIC (routing device IRQs to a CPU
//! the caller names, see `crate::smp::device_irq_cpu`).
//!
//! xAPIC through MMIO, because QEMU 7.2's TCG has no x2APIC. The kernel is tickless and arms
//! the timer for its next deadline (a sleeper's wake-up, or the end of a time slice when
//! several threads want the CPU), in one of two modes:
//!
//! - **TSC-deadline**, where the CPU offers it (CPUID.01H:ECX bit 24; KVM does): the deadline
//!   is written as a TSC value to `IA32_TSC_DEADLINE`. No bus-clock calibration error, no
//!   32-bit counter limit, and re-arming is one `wrmsr`. Before the kernel relies on it, the
//!   boot CPU checks once that a deadline really raises the interrupt (a hypervisor that
//!   advertises the mode but does not deliver would leave every sleeper asleep); if not, it
//!   falls back to one-shot mode.
//! - **One-shot**, elsewhere (QEMU's TCG refuses TSC-deadline): the timer counts APIC bus
//!   ticks, calibrated against the TSC at boot.

use super::cpu::{self, rdmsr};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Interrupt vector of the local APIC timer.
pub const TIMER_VECTOR: u8 = 0xef;
/// Interrupt vector of spurious local APIC interrupts (no EOI).
pub const SPURIOUS_VECTOR: u8 = 0xff;
/// Vector the I/O APIC delivers ISA IRQ `n` on.
pub const fn isa_vector(irq: u8) -> u8 {
    0x30 + irq
}

const IA32_APIC_BASE: u32 = 0x1b;
const REG_ID: usize = 0x20;
const REG_EOI: usize = 0xb0;
const REG_SVR: usize = 0xf0;
const REG_LVT_TIMER: usize = 0x320;
const REG_TIMER_INIT: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3e0;
const LVT_MASKED: u32 = 1 << 16;
const REG_ICR_LOW: usize = 0x300;
const REG_ICR_HIGH: usize = 0x310;
/// ICR delivery status: the previous IPI has not been accepted yet.
const ICR_PENDING: u32 = 1 << 12;
const ICR_INIT: u32 = 5 << 8;
const ICR_STARTUP: u32 = 6 << 8;
const ICR_ASSERT: u32 = 1 << 14;
const ICR_LEVEL: u32 = 1 << 15;

/// Interrupt vector of the "look at your run queue / pending signals" IPI.
pub const KICK_VECTOR: u8 = 0xf0;
/// Interrupt vector of the TLB shootdown IPI.
pub const TLB_VECTOR: u8 = 0xf1;

static LAPIC_VA: AtomicU64 = AtomicU64::new(0);
static IOAPIC_VA: AtomicU64 = AtomicU64::new(0);
/// APIC timer ticks per second (divide by 1).
static TIMER_HZ: AtomicU64 = AtomicU64::new(0);
/// Whether the timer runs in TSC-deadline mode (set once by [`init`], before the APs start).
static TSC_DEADLINE: AtomicBool = AtomicBool::new(false);
/// TSC ticks per second, for converting a delay into a TSC deadline.
static TSC_HZ: AtomicU64 = AtomicU64::new(0);

const IA32_TSC_DEADLINE: u32 = 0x6e0;
/// LVT timer mode field (bits 17-18): TSC-deadline.
const LVT_TSC_DEADLINE: u32 = 0b10 << 17;
/// CPUID.01H:ECX: the local APIC timer supports TSC-deadline mode.
const CPUID_TSC_DEADLINE: u32 = 1 << 24;
/// The interrupt request register: eight 32-bit registers, 16 bytes apart.
const REG_IRR: usize = 0x200;

fn lapic_reg(off: usize) -> *mut u32 {
    (LAPIC_VA.load(Ordering::Relaxed) as usize + off) as *mut u32
}

fn read(off: usize) -> u32 {
    // SAFETY: LAPIC_VA maps the local APIC's register page uncached (set in `init` before
    // any use); `off` is a register offset inside that page, aligned to 16 bytes.
    unsafe { lapic_reg(off).read_volatile() }
}

fn write(off: usize, v: u32) {
    // SAFETY: as in `read`.
    unsafe { lapic_reg(off).write_volatile(v) }
}

/// Maps and enables this CPU's local APIC and calibrates its timer against the TSC (`tsc_hz`).
/// `map` maps one page of device registers and returns its virtual address.
pub fn init(tsc_hz: u64, map: impl Fn(u64) -> Option<u64>) -> bool {
    let base = rdmsr(IA32_APIC_BASE);
    let Some(va) = map(base & 0xf_ffff_f000) else {
        return false;
    };
    LAPIC_VA.store(va, Ordering::Relaxed);
    // SAFETY: setting the global-enable bit of IA32_APIC_BASE keeps its base address.
    unsafe { cpu::wrmsr(IA32_APIC_BASE, base | (1 << 11)) };
    write(REG_SVR, 0x100 | SPURIOUS_VECTOR as u32);
    write(REG_TIMER_DIVIDE, 0xb); // divide by 1
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);

    // Count down from the maximum for ~200 µs of TSC time.
    let window = tsc_hz / 5000;
    write(REG_TIMER_INIT, u32::MAX);
    let t0 = cpu::rdtsc();
    while cpu::rdtsc() - t0 < window {
        core::hint::spin_loop();
    }
    let elapsed_apic = u32::MAX - read(REG_TIMER_CURRENT);
    let elapsed_tsc = cpu::rdtsc() - t0;
    write(REG_TIMER_INIT, 0);
    let hz = (elapsed_apic as u128 * tsc_hz as u128 / elapsed_tsc.max(1) as u128) as u64;
    TIMER_HZ.store(hz.max(1), Ordering::Relaxed);
    TSC_HZ.store(tsc_hz.max(1), Ordering::Relaxed);
    if cpu::cpuid(1, 0).ecx & CPUID_TSC_DEADLINE != 0 && tsc_deadline_fires(tsc_hz) {
        TSC_DEADLINE.store(true, Ordering::Relaxed);
    }
    write(REG_LVT_TIMER, lvt_timer(true));
    true
}

/// The LVT timer entry: the timer's vector in the chosen mode, masked or not.
fn lvt_timer(masked: bool) -> u32 {
    let mode = if TSC_DEADLINE.load(Ordering::Relaxed) {
        LVT_TSC_DEADLINE
    } else {
        0
    };
    mode | TIMER_VECTOR as u32 | if masked { LVT_MASKED } else { 0 }
}

/// Whether a TSC deadline 50 µs ahead raises the timer interrupt within 10 ms. The kernel
/// runs with interrupts off here, so the interrupt stays requested in the IRR (and is taken
/// later, as a harmless early timer tick, when interrupts are first enabled).
fn tsc_deadline_fires(tsc_hz: u64) -> bool {
    write(REG_LVT_TIMER, LVT_TSC_DEADLINE | TIMER_VECTOR as u32);
    let t0 = cpu::rdtsc();
    // SAFETY: IA32_TSC_DEADLINE exists (CPUID said so); writing it only arms this CPU's timer.
    unsafe { cpu::wrmsr(IA32_TSC_DEADLINE, t0 + tsc_hz / 20_000) };
    let irr = REG_IRR + (TIMER_VECTOR as usize / 32) * 0x10;
    let bit = 1u32 << (TIMER_VECTOR % 32);
    let fired = loop {
        if read(irr) & bit != 0 {
            break true;
        }
        if cpu::rdtsc() - t0 > tsc_hz / 100 {
            break false;
        }
        core::hint::spin_loop();
    };
    // SAFETY: as above; zero disarms.
    unsafe { cpu::wrmsr(IA32_TSC_DEADLINE, 0) };
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);
    fired
}

/// Whether the timer runs in TSC-deadline mode (see the module doc).
pub fn tsc_deadline() -> bool {
    TSC_DEADLINE.load(Ordering::Relaxed)
}

/// Enables this AP's local APIC (same registers, same page as the boot CPU's: every CPU
/// sees its own APIC there) with the timer calibrated on the boot CPU. Call after [`init`].
pub fn init_ap() {
    let base = rdmsr(IA32_APIC_BASE);
    // SAFETY: setting the global-enable bit of IA32_APIC_BASE keeps its base address.
    unsafe { cpu::wrmsr(IA32_APIC_BASE, base | (1 << 11)) };
    write(REG_SVR, 0x100 | SPURIOUS_VECTOR as u32);
    write(REG_TIMER_DIVIDE, 0xb); // divide by 1, as calibrated
    write(REG_LVT_TIMER, lvt_timer(true));
    write(REG_TIMER_INIT, 0);
}

/// Writes the interrupt command register: `low` to the CPU with APIC id `dest`, after the
/// previous IPI was accepted.
fn send_icr(dest: u32, low: u32) {
    while read(REG_ICR_LOW) & ICR_PENDING != 0 {
        core::hint::spin_loop();
    }
    write(REG_ICR_HIGH, dest << 24);
    write(REG_ICR_LOW, low);
}

/// Sends a fixed interrupt `vector` to the CPU with APIC id `dest`.
pub fn send_ipi(dest: u32, vector: u8) {
    send_icr(dest, u32::from(vector));
}

/// Sends INIT (assert, level) to the CPU with APIC id `dest`: the first step of starting it.
pub fn send_init(dest: u32) {
    send_icr(dest, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
}

/// Sends a startup IPI: the CPU with APIC id `dest` starts in real mode at `page << 12`.
pub fn send_startup(dest: u32, page: u8) {
    send_icr(dest, ICR_STARTUP | ICR_ASSERT | u32::from(page));
}

/// The calibrated timer frequency in Hz.
pub fn timer_hz() -> u64 {
    TIMER_HZ.load(Ordering::Relaxed)
}

/// This CPU's APIC id.
pub fn id() -> u32 {
    read(REG_ID) >> 24
}

/// Fires the timer interrupt once after `ns` nanoseconds (at least one tick). Longer than the
/// counter allows is clamped; the handler re-arms.
pub fn arm_oneshot(ns: u64) {
    if tsc_deadline() {
        let delta = ticks_after(ns, TSC_HZ.load(Ordering::Relaxed), u64::MAX);
        write(REG_LVT_TIMER, lvt_timer(false));
        // SAFETY: TSC-deadline mode was found working at boot; the write arms this CPU's timer.
        unsafe { cpu::wrmsr(IA32_TSC_DEADLINE, cpu::rdtsc().saturating_add(delta)) };
        return;
    }
    let ticks = ticks_after(ns, timer_hz(), u64::from(u32::MAX)) as u32;
    write(REG_LVT_TIMER, lvt_timer(false));
    write(REG_TIMER_INIT, ticks);
}

/// Ticks of a `hz` clock in `ns` nanoseconds: at least one, at most `max`.
fn ticks_after(ns: u64, hz: u64, max: u64) -> u64 {
    (ns as u128 * hz as u128 / 1_000_000_000).clamp(1, max as u128) as u64
}

/// Stops the timer.
pub fn disarm() {
    if tsc_deadline() {
        // SAFETY: zero disarms a TSC-deadline timer (the mode was found working at boot).
        unsafe { cpu::wrmsr(IA32_TSC_DEADLINE, 0) };
    } else {
        write(REG_TIMER_INIT, 0);
    }
}

/// Signals the end of the interrupt being handled.
pub fn eoi() {
    write(REG_EOI, 0);
}

/// The I/O APIC at `pa`: maps it and routes ISA IRQ `irq` (edge, active high) to vector
/// [`isa_vector`]`(irq)` of the CPU with APIC id `dest`.
pub fn route_isa_irq(pa: u64, irq: u8, dest: u32, map: impl Fn(u64) -> Option<u64>) -> bool {
    if IOAPIC_VA.load(Ordering::Relaxed) == 0 {
        match map(pa) {
            Some(va) => IOAPIC_VA.store(va, Ordering::Relaxed),
            None => return false,
        }
    }
    let va = IOAPIC_VA.load(Ordering::Relaxed);
    let write_reg = |reg: u32, v: u32| {
        // SAFETY: the I/O APIC's page is mapped uncached at `va`; IOREGSEL (offset 0) selects
        // the register that IOWIN (offset 0x10) then writes.
        unsafe {
            ((va) as *mut u32).write_volatile(reg);
            ((va + 0x10) as *mut u32).write_volatile(v);
        }
    };
    let redir = 0x10 + 2 * irq as u32;
    write_reg(redir + 1, dest << 24);
    write_reg(redir, isa_vector(irq) as u32);
    true
}

/// Where the I/O APICs sit on QEMU's machines (ACPI's MADT would say; reading it comes with
/// SMP bring-up): the first serves GSIs 0-23; microvm has a second one for GSIs 24-47.
const IOAPICS: [(u64, u32); 2] = [(0xfec0_0000, 0), (0xfec1_0000, 24)];
/// Inputs per I/O APIC on QEMU (its redirection table size).
const IOAPIC_PINS: u32 = 24;

/// Routes global system interrupt `gsi` to `vector` of the CPU with APIC id `dest` (fixed
/// delivery, physical destination), level-triggered (a device line stays asserted until the
/// driver acknowledges the device), active low or high. `map` maps one page of device
/// registers. False if no I/O APIC serves `gsi`.
pub fn route_gsi(
    gsi: u32,
    vector: u8,
    active_low: bool,
    dest: u32,
    map: impl Fn(u64) -> Option<u64>,
) -> bool {
    let Some(&(pa, base)) = IOAPICS
        .iter()
        .find(|(_, base)| (*base..*base + IOAPIC_PINS).contains(&gsi))
    else {
        return false;
    };
    let Some(va) = map(pa) else {
        return false;
    };
    let write_reg = |reg: u32, v: u32| {
        // SAFETY: the I/O APIC's page is mapped uncached at `va`; IOREGSEL (offset 0) selects
        // the register that IOWIN (offset 0x10) then writes.
        unsafe {
            (va as *mut u32).write_volatile(reg);
            ((va + 0x10) as *mut u32).write_volatile(v);
        }
    };
    const LEVEL: u32 = 1 << 15;
    const ACTIVE_LOW: u32 = 1 << 13;
    let redir = 0x10 + 2 * (gsi - base);
    write_reg(redir + 1, dest << 24);
    let polarity = if active_low { ACTIVE_LOW } else { 0 };
    write_reg(redir, u32::from(vector) | LEVEL | polarity);
    true
}
