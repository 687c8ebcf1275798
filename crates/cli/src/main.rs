//! `oxv`, the host tool of the oxv unikernel: boots Linux programs in oxv under QEMU
//! (`oxv run`), and runs the project's checks (`oxv test`) and compat suite (`oxv compat`).
//!
//! Run it from the workspace as `cargo oxv ...`. Module map:
//!
//! - [`cli`]: the command line (clap) and its typed values;
//! - [`run`]: `oxv run`, from host-side checks to the exit status; [`payload`] (what goes
//!   in the guest for a program), [`deps`] (its interpreter and libraries),
//!   [`image`] (the initramfs), [`accel`] (KVM or TCG), [`qemu`] (the QEMU command line),
//!   [`vm`] (QEMU, channel sockets, pumps, verdict), [`protocol`] (records, stdin framing),
//!   [`symbolize`] (panic backtraces);
//! - [`bundle`]: `oxv image` (a directory that boots without cargo) and `oxv boot`;
//! - [`suite`]: `oxv test`; [`compat`]: the compat suite; [`bench`]: `oxv bench`;
//! - [`setup`] (installing host requirements), [`workspace`] (paths and cargo builds),
//!   [`size`] (memory sizes), [`error`] (errors and exit statuses).
//!
//! Errors print as `oxv: error: ...` on stderr; usage and input errors exit with 2.

mod accel;
mod bench;
mod bundle;
mod cli;
mod compat;
mod deps;
mod error;
mod host_tsc;
mod image;
mod kaslr;
mod payload;
mod protocol;
mod qemu;
mod run;
mod setup;
mod size;
mod suite;
mod symbolize;
mod vm;
mod workspace;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout with status 0, as clap prints them.
        Err(e) if !e.use_stderr() => e.exit(),
        // Usage errors get the prefix every other refusal has (`oxv: error: ...`), status 2.
        Err(e) => {
            eprint!("oxv: {}", e.render());
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Test(args) => suite::run(args),
        Command::Compat(args) => compat::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Image(args) => bundle::image(args),
        Command::Boot(args) => bundle::boot(args),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("oxv: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
