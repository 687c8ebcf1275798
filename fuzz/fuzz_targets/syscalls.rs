//! libFuzzer target: arbitrary syscall sequences through oxv's real handlers
//! (see `harness/src/lib.rs` for what is checked, `run.sh` for how to run it).
//!
//! A broken invariant panics, which libFuzzer reports as a crash and saves under
//! `artifacts/syscalls/`. The heap is capped like a small guest's, so an input that makes the
//! handlers allocate without bound fails an allocation (as in the kernel) instead of
//! exhausting the host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxv_fuzz_harness::Options;
use oxv_fuzz_harness::capped_heap::CappedHeap;
use std::sync::OnceLock;

/// The live heap is capped at 1 GiB, about what a 1 GiB guest could give the handlers.
#[global_allocator]
static HEAP: CappedHeap = CappedHeap::new(1 << 30);

fn options() -> Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    *OPTIONS.get_or_init(Options::from_env)
}

fuzz_target!(|data: &[u8]| {
    if let Err(v) = oxv_fuzz_harness::run_bytes(data, &options()) {
        panic!("oxv invariant broken: {v}");
    }
});
