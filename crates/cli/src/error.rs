//! The errors `oxv` reports before or around a run, and the exit status each one maps to.
//!
//! Outcomes of a run that booted (the app's status, a kernel panic, a timeout) are not errors
//! here: `run` reports those itself. What is here is everything that stops `oxv` from booting
//! or finishing its job: bad arguments, unreadable or unsupported programs, a missing QEMU, a
//! failed build. All of them exit with status 2 ([`EXIT_USAGE`]) except where noted, so a
//! caller can tell "nothing ran" from the app's own statuses (which are mostly small numbers,
//! but can be anything in 0..=255).

use std::io;
use std::path::PathBuf;

/// Usage or input error: nothing was booted (protocol.md, "CLI exit statuses").
pub const EXIT_USAGE: u8 = 2;
/// The kernel panicked.
pub const EXIT_PANIC: u8 = 101;
/// The VM stopped without an exit record (triple fault, QEMU failure).
pub const EXIT_NO_RECORD: u8 = 102;
/// `--timeout` expired.
pub const EXIT_TIMEOUT: u8 = 124;
/// A `test` or `compat` run that had failures (like `cargo test`).
pub const EXIT_FAILED: u8 = 1;

/// An error that ends `oxv` with a message (`oxv: error: ...`) and a non-zero status.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A command-line value that clap's parsers could not reject on their own.
    #[error("{0}")]
    Usage(String),
    /// The program to run could not be read.
    #[error("cannot read program {}: {source}", path.display())]
    ReadProgram {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The program is not an ELF file that oxv can load.
    #[error("{}: not a runnable Linux x86_64 ELF executable: {reason}", path.display())]
    BadElf {
        /// The program's path.
        path: PathBuf,
        /// What the ELF check found wrong.
        reason: String,
    },
    /// The program's interpreter or libraries are missing or unusable (the message names
    /// every missing library and what needs it).
    #[error(transparent)]
    Libraries(#[from] crate::deps::DepsError),
    /// A bundle directory is incomplete or malformed.
    #[error("bundle {}: {reason}", dir.display())]
    Bundle {
        /// The bundle directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file or directory to put in the initramfs is missing or unusable.
    #[error("{context}: {source}")]
    HostFile {
        /// Which file, and what was being done with it.
        context: String,
        /// Why.
        source: io::Error,
    },
    /// Two things want the same path in the guest in incompatible ways.
    #[error("guest path {path}: {reason}")]
    GuestPath {
        /// The guest path.
        path: String,
        /// The conflict.
        reason: String,
    },
    /// Something the host must have is missing and could not be installed.
    #[error("{0}")]
    Setup(String),
    /// A build (cargo, a C compiler) failed; its output has already been printed.
    #[error("{0}")]
    Build(String),
    /// `--accel kvm` was asked for but KVM cannot be used.
    #[error("--accel kvm: cannot open /dev/kvm read-write: {0}")]
    Kvm(io::Error),
    /// A host operation oxv needs (temp dirs, sockets, spawning) failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why.
        source: io::Error,
    },
}

impl CliError {
    /// The process exit status this error ends `oxv` with.
    pub fn exit_code(&self) -> u8 {
        EXIT_USAGE
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
