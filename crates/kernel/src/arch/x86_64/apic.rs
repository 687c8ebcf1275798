//! The local APIC (timer, end-of-interrupt) and the I/O APIC (routing device IRQs to a CPU
//! the caller names, see `crate::smp::device_irq_cpu`).
//!
//! xAPIC through MMIO, because QEMU 7.2's TCG has no x2APIC. The timer runs in one-shot mode:
//! the kernel is tickless and arms it for its next deadline (a sleeper's wake-up, or the end
//! of a time slice when several threads want the CPU). QEMU under TCG offers no TSC-deadline
//! mode, so the timer counts APIC bus ticks, calibrated against the TSC at boot.

use super::cpu::{self, rdmsr};
use core::sync::atomic::{AtomicU64, Ordering};

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
    true
}

/// Enables this AP's local APIC (same registers, same page as the boot CPU's: every CPU
/// sees its own APIC there) with the timer calibrated on the boot CPU. Call after [`init`].
pub fn init_ap() {
    let base = rdmsr(IA32_APIC_BASE);
    // SAFETY: setting the global-enable bit of IA32_APIC_BASE keeps its base address.
    unsafe { cpu::wrmsr(IA32_APIC_BASE, base | (1 << 11)) };
    write(REG_SVR, 0x100 | SPURIOUS_VECTOR as u32);
    write(REG_TIMER_DIVIDE, 0xb); // divide by 1, as calibrated
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);
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
    let ticks = (ns as u128 * timer_hz() as u128 / 1_000_000_000).clamp(1, u32::MAX as u128) as u32;
    write(REG_LVT_TIMER, TIMER_VECTOR as u32);
    write(REG_TIMER_INIT, ticks);
}

/// Stops the timer.
pub fn disarm() {
    write(REG_TIMER_INIT, 0);
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
