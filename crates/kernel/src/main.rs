//! The oxv unikernel.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("oxv-kernel is a unikernel: build it with --target x86_64-unknown-none (`cargo oxv run` does)");
    std::process::exit(2);
}
