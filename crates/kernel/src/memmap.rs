//! Boot memory: which physical ranges are free RAM, and a bump allocator over them used
//! until the buddy allocator exists.
//!
//! Free RAM is the memory map's RAM minus what boot left in it: the first MiB (firmware
//! tables, PVH's start_info, command line and memory map live there), the kernel image, and
//! the initramfs. The result is a sorted list of page-aligned ranges.

use crate::arch::pvh::{BootInfo, E820_RAM};
use core::ops::Range;

const MAX_RANGES: usize = 64;
const PAGE: u64 = 4096;

/// Sorted, disjoint, page-aligned ranges of free RAM.
#[derive(Clone)]
pub struct FreeRam {
    ranges: [Range<u64>; MAX_RANGES],
    n: usize,
}

impl FreeRam {
    /// Free RAM according to `info`, minus `reserved` ranges (any alignment).
    pub fn new(info: &BootInfo, reserved: &[Range<u64>]) -> FreeRam {
        let mut out = FreeRam {
            ranges: core::array::from_fn(|_| 0..0),
            n: 0,
        };
        for r in info
            .regions()
            .iter()
            .filter(|r| r.kind == E820_RAM && r.size > 0)
        {
            let start = r.addr.next_multiple_of(PAGE);
            let end = (r.addr.saturating_add(r.size)) & !(PAGE - 1);
            if start < end {
                out.push(start..end);
            }
        }
        for res in reserved {
            out.remove(res.start & !(PAGE - 1)..res.end.next_multiple_of(PAGE));
        }
        out.ranges[..out.n].sort_by_key(|r| r.start);
        out
    }

    fn push(&mut self, r: Range<u64>) {
        if self.n < MAX_RANGES {
            self.ranges[self.n] = r;
            self.n += 1;
        }
    }

    fn remove(&mut self, cut: Range<u64>) {
        let mut i = 0;
        while i < self.n {
            let r = self.ranges[i].clone();
            if cut.end <= r.start || cut.start >= r.end {
                i += 1;
                continue;
            }
            // Replace r by the parts outside `cut`.
            let (left, right) = (r.start..cut.start.max(r.start), cut.end.min(r.end)..r.end);
            self.ranges[i] = 0..0;
            let mut parts = 0;
            if left.start < left.end {
                self.ranges[i] = left;
                parts += 1;
            }
            if right.start < right.end {
                if parts == 0 {
                    self.ranges[i] = right;
                } else {
                    self.push(right);
                }
                parts += 1;
            }
            if parts == 0 {
                self.ranges[i] = self.ranges[self.n - 1].clone();
                self.n -= 1;
            } else {
                i += 1;
            }
        }
    }

    /// The ranges.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges[..self.n]
    }

    /// Takes `len` bytes (page multiple) of contiguous memory from the start of the first
    /// range large enough.
    pub fn take(&mut self, len: u64) -> Option<u64> {
        self.take_below(len, u64::MAX)
    }

    /// Like [`FreeRam::take`], but only memory that ends at or below `limit`.
    pub fn take_below(&mut self, len: u64, limit: u64) -> Option<u64> {
        let len = len.next_multiple_of(PAGE);
        let r = self.ranges[..self.n]
            .iter_mut()
            .find(|r| r.end - r.start >= len && r.start.saturating_add(len) <= limit)?;
        let pa = r.start;
        r.start += len;
        Some(pa)
    }
}
