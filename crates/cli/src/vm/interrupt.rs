//! Catching Ctrl-C (and SIGTERM, SIGHUP) while a VM runs, so `oxv` can stop QEMU and
//! remove its temporary files instead of dying with them left behind.
//!
//! The handler only records the signal number; the run loop polls [`pending`]. Handlers are
//! installed for the duration of a [`Guard`] and the default action is restored after, so
//! the rest of `oxv` (builds, the test suite) keeps the usual "Ctrl-C ends everything".

use std::sync::atomic::{AtomicI32, Ordering};

static PENDING: AtomicI32 = AtomicI32::new(0);
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn record(sig: libc::c_int) {
    // An atomic store is async-signal-safe.
    PENDING.store(sig, Ordering::SeqCst);
}

/// While alive, SIGINT, SIGTERM and SIGHUP are recorded instead of ending the process.
pub struct Guard(());

impl Guard {
    /// Installs the handlers.
    pub fn install() -> Guard {
        let handler = record as extern "C" fn(libc::c_int);
        for sig in SIGNALS {
            // SAFETY: `record` is async-signal-safe (one atomic store) and has the signature
            // of a sighandler_t; `sig` is a valid catchable signal.
            unsafe { libc::signal(sig, handler as libc::sighandler_t) };
        }
        Guard(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for sig in SIGNALS {
            // SAFETY: restoring the default disposition of a valid signal has no preconditions.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
}

/// The signal received since the guard was installed, if any.
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}
