//! libFuzzer target: arbitrary kernel command lines through every parser oxv's boot runs on
//! one (`oxv_fuzz_harness::cmdline`). Seeds: `seeds-cmdline/`; run with
//! `run.sh --target cmdline SECONDS`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = oxv_fuzz_harness::cmdline::run(data) {
        panic!("oxv command-line invariant broken: {v}");
    }
});
