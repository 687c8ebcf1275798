//! How long each CPU sat halted with nothing to run: the idle figures of `/proc/stat` and
//! `/proc/uptime`.
//!
//! A CPU is idle from the moment its idle thread halts ([`halt`]: the idle loop, and its
//! wait for the kernel lock) until the next interrupt *enters*, not until the handler
//! returns: interrupt work done while a CPU had nothing to run (a NIC interrupt polling the
//! stack while the app sleeps) is busy time, as Linux counts it. Before, idle was "elapsed
//! time × CPUs minus the processes' CPU time", which put that work in idle.
//!
//! Each CPU writes only its own slot, one cache line of its own; readers on other CPUs see
//! a halt in progress through its start time.
//!
//! Not here: where the busy time went (`crate::procinfo` splits it between the processes'
//! CPU time and the rest).

use crate::arch::cpu;
use crate::arch::percpu::{self, MAX_CPUS};
use core::sync::atomic::{AtomicU64, Ordering};

#[repr(align(64))]
struct Slot {
    /// Halted time closed so far, ns.
    halted: AtomicU64,
    /// Monotonic ns (plus one, so 0 means "not halted") when the halt in progress began.
    since: AtomicU64,
}

static SLOTS: [Slot; MAX_CPUS] = [const {
    Slot {
        halted: AtomicU64::new(0),
        since: AtomicU64::new(0),
    }
}; MAX_CPUS];

fn mine() -> &'static Slot {
    &SLOTS[percpu::this_cpu().cpu_id as usize % MAX_CPUS]
}

/// Halts this CPU until an interrupt (`cpu::idle_halt`), counting the time as idle. For the
/// idle thread only: a thread that halts waiting for something is not idle.
pub fn halt() {
    let slot = mine();
    slot.since
        .store(crate::time::monotonic_ns() + 1, Ordering::Relaxed);
    cpu::idle_halt();
    // No interrupt ended it (an NMI, say, or one that arrived before `hlt`): close it here.
    close(slot);
}

/// Called first on every interrupt entry: ends this CPU's idle period, if it was in one.
#[inline]
pub fn interrupt_entry() {
    let slot = mine();
    if slot.since.load(Ordering::Relaxed) != 0 {
        close(slot);
    }
}

fn close(slot: &Slot) {
    let since = slot.since.swap(0, Ordering::Relaxed);
    if since != 0 {
        let ns = crate::time::monotonic_ns().saturating_sub(since - 1);
        slot.halted.fetch_add(ns, Ordering::Relaxed);
    }
}

/// Time CPU `n` has spent halted since boot, ns, including a halt in progress.
pub fn halted_ns(n: usize) -> u64 {
    let Some(slot) = SLOTS.get(n) else { return 0 };
    let since = slot.since.load(Ordering::Relaxed);
    let closed = slot.halted.load(Ordering::Relaxed);
    let open = if since == 0 {
        0
    } else {
        crate::time::monotonic_ns().saturating_sub(since - 1)
    };
    closed + open
}
