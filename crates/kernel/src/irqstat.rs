//! Interrupt counts per CPU, for `/proc/interrupts` and the `intr` line of `/proc/stat`.
//!
//! Every interrupt the trap entry takes is counted on the CPU that took it, by vector: the
//! ISA lines (the serial port), the virtio lines, and the local ones (APIC timer, the
//! "look at your queue" kick, TLB shootdowns, spurious). Exceptions are not interrupts and
//! are not counted. A count is one relaxed atomic add on a line of the taking CPU's own
//! row, so counting costs no shared cache line.
//!
//! What it is not: an interrupt-rate monitor or a balancer (device lines stay where
//! `crate::smp::device_irq_cpu` put them).

use crate::arch::apic;
use crate::arch::percpu::{self, MAX_CPUS};
use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};

/// The first ISA vector (`apic::isa_vector(0)`) and how many ISA lines there are.
const ISA_FIRST: u8 = apic::isa_vector(0);
const ISA_LINES: usize = 16;
const VIRTIO_FIRST: u8 = crate::virtio::FIRST_VECTOR;
const VIRTIO_LINES: usize = (crate::virtio::LAST_VECTOR - crate::virtio::FIRST_VECTOR) as usize + 1;

/// The local interrupts, as `/proc/interrupts` names them (Linux's x86 abbreviations).
const LOCAL: [(u8, &str, &str); 4] = [
    (apic::TIMER_VECTOR, "LOC", "Local timer interrupts"),
    (apic::SPURIOUS_VECTOR, "SPU", "Spurious interrupts"),
    (apic::KICK_VECTOR, "RES", "Rescheduling interrupts"),
    (apic::TLB_VECTOR, "TLB", "TLB shootdowns"),
];

const SLOTS: usize = ISA_LINES + VIRTIO_LINES + LOCAL.len();

const _: () = assert!(ISA_FIRST as usize + ISA_LINES <= VIRTIO_FIRST as usize);

static COUNTS: [[AtomicU32; SLOTS]; MAX_CPUS] =
    [const { [const { AtomicU32::new(0) }; SLOTS] }; MAX_CPUS];

/// The counter slot of `vector`, if it is an interrupt that is counted.
fn slot(vector: u64) -> Option<usize> {
    let v = u8::try_from(vector).ok()?;
    if (ISA_FIRST..ISA_FIRST + ISA_LINES as u8).contains(&v) {
        return Some((v - ISA_FIRST) as usize);
    }
    if (VIRTIO_FIRST..VIRTIO_FIRST + VIRTIO_LINES as u8).contains(&v) {
        return Some(ISA_LINES + (v - VIRTIO_FIRST) as usize);
    }
    LOCAL
        .iter()
        .position(|&(lv, _, _)| lv == v)
        .map(|i| ISA_LINES + VIRTIO_LINES + i)
}

/// Counts an interrupt of `vector` on this CPU (exceptions and unknown vectors are ignored).
#[inline]
pub fn count(vector: u64) {
    if let Some(s) = slot(vector) {
        let cpu = percpu::this_cpu().cpu_id as usize;
        COUNTS[cpu % MAX_CPUS][s].fetch_add(1, Ordering::Relaxed);
    }
}

fn count_of(cpu: usize, vector: u8) -> u32 {
    slot(u64::from(vector)).map_or(0, |s| COUNTS[cpu][s].load(Ordering::Relaxed))
}

/// Interrupts taken since boot on every CPU (the `intr` total of `/proc/stat`).
pub fn total() -> u64 {
    let cpus = percpu::online().min(MAX_CPUS);
    COUNTS[..cpus]
        .iter()
        .flat_map(|row| row.iter())
        .map(|c| u64::from(c.load(Ordering::Relaxed)))
        .sum()
}

/// A device line for `/proc/interrupts`: its vector, GSI, trigger and the names of what
/// it serves.
pub struct DeviceLine {
    /// The vector the I/O APIC delivers it on.
    pub vector: u8,
    /// Its global system interrupt number (Linux's IRQ number for I/O APIC lines).
    pub gsi: u32,
    /// `edge` or `fasteoi` (level), as Linux prints the flow handler.
    pub flow: &'static str,
    /// The devices on the line, e.g. `virtio-net`.
    pub names: String,
}

/// `/proc/interrupts` (proc(5)): a header of CPUs, one row per device line, then the local
/// interrupts, in Linux's x86 layout.
pub fn render(out: &mut String, lines: &[DeviceLine]) -> core::fmt::Result {
    let cpus = percpu::online().clamp(1, MAX_CPUS);
    // Linux: the number column is `prec` (3 here) wide, the header indented by prec + 8.
    write!(out, "{:11}", "")?;
    for n in 0..cpus {
        write!(out, "CPU{n:<8}")?;
    }
    writeln!(out)?;
    for l in lines {
        write!(out, "{:>3}: ", l.gsi)?;
        for n in 0..cpus {
            write!(out, "{:>10} ", count_of(n, l.vector))?;
        }
        writeln!(
            out,
            " {:>8} {:>3}-{:<8}  {}",
            "IO-APIC", l.gsi, l.flow, l.names
        )?;
    }
    write!(out, "{:>3}: ", "NMI")?;
    for _ in 0..cpus {
        write!(out, "{:>10} ", 0)?;
    }
    writeln!(out, "  Non-maskable interrupts")?;
    for &(vector, short, long) in &LOCAL {
        write!(out, "{short:>3}: ")?;
        for n in 0..cpus {
            write!(out, "{:>10} ", count_of(n, vector))?;
        }
        writeln!(out, "  {long}")?;
    }
    writeln!(out, "{:>3}: {:>10}", "ERR", 0)
}
