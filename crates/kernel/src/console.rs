//! The kernel's byte channels to the host: app stdout/stderr, the kernel log, and stdin.
//!
//! Two layouts (see `docs/architecture.md`, "Console"):
//! - **plain** (the default, for plain QEMU `-serial stdio`): everything on COM1;
//! - **split** (`console=split`, what `cargo oxv run` asks for): app stdout, app stderr and the
//!   kernel log each on their own QEMU debugcon port, so the host can keep them apart byte
//!   for byte; stdin arrives on COM1, framed so that end-of-input can be signalled.
//!
//! Control records (app exit status, fatal signals, panics) are log lines that start with
//! the byte 0x1e and `oxv:`; the host CLI turns them into its exit status and messages.

use crate::arch::port::X86Ports;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use oxv_drivers::debugcon::DebugCon;
use oxv_drivers::uart16550::{COM1, Uart16550};

/// Debugcon port for the app's stdout in split mode.
pub const STDOUT_PORT: u16 = 0xe9;
/// Debugcon port for the app's stderr in split mode.
pub const STDERR_PORT: u16 = 0xea;
/// Debugcon port for the kernel log in split mode.
pub const KLOG_PORT: u16 = 0xeb;

static SPLIT: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicBool = AtomicBool::new(false);
static LOG_LOCK: spin::Mutex<()> = spin::Mutex::new(());

const UART: Uart16550<X86Ports> = Uart16550::new(X86Ports, COM1);

/// Initializes COM1. Called first thing at boot.
pub fn init_early() {
    UART.init();
}

/// Switches to the split layout (after the command line asked for it).
pub fn set_split(on: bool) {
    SPLIT.store(on, Ordering::Relaxed);
}

/// Enables verbose kernel logging.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Whether verbose logging is on.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Whether the split layout is on.
pub fn is_split() -> bool {
    SPLIT.load(Ordering::Relaxed)
}

fn split() -> bool {
    is_split()
}

/// Writes to the app's stdout.
pub fn write_stdout(bytes: &[u8]) {
    if split() {
        DebugCon::new(X86Ports, STDOUT_PORT).write(bytes);
    } else {
        UART.write(bytes);
    }
}

/// Writes to the app's stderr.
pub fn write_stderr(bytes: &[u8]) {
    if split() {
        DebugCon::new(X86Ports, STDERR_PORT).write(bytes);
    } else {
        UART.write(bytes);
    }
}

/// Writes raw bytes to the kernel log.
pub fn write_log(bytes: &[u8]) {
    if split() {
        DebugCon::new(X86Ports, KLOG_PORT).write(bytes);
    } else {
        UART.write(bytes);
    }
}

struct LogWriter;

impl fmt::Write for LogWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_log(s.as_bytes());
        Ok(())
    }
}

/// Formats one log line (used by [`kprintln!`]). Lines are never interleaved.
pub fn log_fmt(args: fmt::Arguments<'_>) {
    let _guard = LOG_LOCK.lock();
    let _ = fmt::write(&mut LogWriter, args);
}

/// Formats a log line without taking the log lock: for the panic path, which may have
/// interrupted a holder of the lock.
pub fn log_fmt_unlocked(args: fmt::Arguments<'_>) {
    let _ = fmt::write(&mut LogWriter, args);
}

/// Prints a line to the kernel log.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::console::log_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints a line to the kernel log when `verbose` is on.
#[macro_export]
macro_rules! kdebug {
    ($($arg:tt)*) => {
        if $crate::console::verbose() {
            $crate::console::log_fmt(format_args!("{}\n", format_args!($($arg)*)))
        }
    };
}

/// Emits a control record: `\x1eoxv:<kind> <fields>`.
#[macro_export]
macro_rules! record {
    ($kind:literal) => {
        $crate::console::log_fmt(format_args!("\x1eoxv:{}\n", $kind))
    };
    ($kind:literal, $($arg:tt)*) => {
        $crate::console::log_fmt(format_args!("\x1eoxv:{} {}\n", $kind, format_args!($($arg)*)))
    };
}
