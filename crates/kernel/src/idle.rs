//! What the CPU does while the app waits (for input, a timeout).
//!
//! No interrupt source is wired yet (the local APIC timer and the UART interrupt come with the
//! scheduler), so waiting spins with `pause`. This is correct but burns the vCPU; the issue
//! notes and `docs/architecture.md` say so.

/// One short wait step.
pub fn relax() {
    for _ in 0..64 {
        core::hint::spin_loop();
    }
}
