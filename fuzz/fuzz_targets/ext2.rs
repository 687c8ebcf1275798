//! libFuzzer target: arbitrary ext2 images through oxv's ext2 driver (issue #9). An input is
//! an image with its trailing zeros cut off (`oxv_fuzz_harness::ext2`); it is mounted
//! read-write, walked, changed, synced, mounted again and walked again by
//! `oxv_vfs::ext2::exercise`. A panic, an errno no file system answers, or a hang
//! (`-timeout`) is a crash. Seeds: `seeds-ext2/` (`ext2-seeds.sh`); run with
//! `run.sh --target ext2 SECONDS`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxv_fuzz_harness::capped_heap::CappedHeap;

/// As in the syscall target: a driver that sizes an allocation by an on-disk field fails an
/// allocation (an abort libFuzzer reports) instead of exhausting the host.
#[global_allocator]
static HEAP: CappedHeap = CappedHeap::new(1 << 30);

fuzz_target!(|data: &[u8]| {
    if let Err(v) = oxv_fuzz_harness::ext2::run(data) {
        panic!("oxv ext2 invariant broken: {v}");
    }
});
