//! Writes the fuzzer's seed inputs.
//!
//! - `oxv-fuzz-seeds hand DIR`: the hand-written seeds into `DIR/seeds/` and the bug
//!   reproducers into `DIR/regressions/` (as `NAME.bin`).
//! - `oxv-fuzz-seeds strace OUT`: converts an strace log (`cargo oxv run --strace`'s stderr)
//!   read from stdin into the input file `OUT`; prints how many calls it kept.
//! - `oxv-fuzz-seeds ext2 IMAGE OUT`: the `ext2` target's input for an image (its trailing
//!   zeros cut off, see `oxv_fuzz_harness::ext2`); `ext2-seeds.sh` makes the images.

use oxv_fuzz_harness::{input, seeds, strace};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

fn write(dir: &Path, name: &str, ops: &[input::Op]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("{name}.bin")), input::encode(ops))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["hand", dir] => {
            let dir = Path::new(dir);
            seeds::all()
                .iter()
                .try_for_each(|(name, ops)| write(&dir.join("seeds"), name, ops))
                .and_then(|()| {
                    seeds::regressions()
                        .iter()
                        .try_for_each(|(name, ops)| write(&dir.join("regressions"), name, ops))
                })
        }
        ["strace", out] => {
            let mut log = String::new();
            std::io::stdin().read_to_string(&mut log).and_then(|_| {
                let ops = strace::convert(&log);
                let calls = ops
                    .iter()
                    .filter(|o| matches!(o, input::Op::Syscall { .. }))
                    .count();
                println!("{out}: {calls} calls");
                std::fs::write(out, input::encode(&ops))
            })
        }
        ["ext2", image, out] => std::fs::read(image).and_then(|data| {
            let input = oxv_fuzz_harness::ext2::trim(&data);
            println!("{out}: {} of {} bytes", input.len(), data.len());
            std::fs::write(out, input)
        }),
        _ => {
            eprintln!(
                "usage: oxv-fuzz-seeds hand DIR | oxv-fuzz-seeds strace OUT < LOG | \
                 oxv-fuzz-seeds ext2 IMAGE OUT"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oxv-fuzz-seeds: {e}");
            ExitCode::FAILURE
        }
    }
}
