use super::*;
use crate::testing::XorShift;
use std::collections::HashSet;
use std::vec;
use std::vec::Vec;

fn addr(pfn: u64) -> PhysAddr {
    PhysAddr::new(pfn * PAGE_SIZE as u64)
}

/// An allocator whose span starts at `base_pfn`, with frames `[base_pfn, base_pfn + n)` added.
fn allocator(meta: &mut Vec<FrameMeta>, base_pfn: u64, n: u64) -> FrameAllocator<'_> {
    meta.resize(n as usize, FrameMeta::UNUSED);
    let mut a = FrameAllocator::new(PhysFrame::from_number(base_pfn), meta);
    assert_eq!(
        a.add_range(addr(base_pfn)..addr(base_pfn + n)),
        Ok(n as usize)
    );
    a
}

fn free_shape(a: &FrameAllocator<'_>) -> Vec<usize> {
    (0..=MAX_ORDER).map(|k| a.free_blocks(k)).collect()
}

#[test]
fn span_and_metadata_size() {
    let ram = [addr(1)..PhysAddr::new(0x9f800), addr(256)..addr(1024)];
    let span = FrameSpan::covering(&ram).unwrap();
    assert_eq!(span.base, PhysFrame::from_number(1));
    assert_eq!(span.frames, 1023);
    assert_eq!(span.metadata_bytes(), 1023 * 12);
    // Ranges without a whole frame contribute nothing.
    assert_eq!(
        FrameSpan::covering(&[PhysAddr::new(10)..PhysAddr::new(4000)]),
        None
    );
    assert_eq!(FrameSpan::covering(&[]), None);
}

#[test]
fn add_range_builds_maximal_aligned_blocks() {
    let mut meta = Vec::new();
    // 1 MiB .. 4 MiB: frames 256..1024. Largest aligned blocks: 256 (order 8) at 256,
    // 512 (order 9) at 512.
    let a = allocator(&mut meta, 256, 768);
    assert_eq!(a.free_blocks(8), 1);
    assert_eq!(a.free_blocks(9), 1);
    assert_eq!(a.free_frames(), 768);
    assert_eq!(a.total_frames(), 768);
}

#[test]
fn adjacent_ranges_coalesce() {
    let mut meta = vec![FrameMeta::UNUSED; 1024];
    let mut a = FrameAllocator::new(PhysFrame::from_number(0), &mut meta);
    a.add_range(addr(0)..addr(512)).unwrap();
    a.add_range(addr(512)..addr(1024)).unwrap();
    assert_eq!(a.free_blocks(MAX_ORDER), 1);
    assert_eq!(a.free_frames(), 1024);
}

#[test]
fn add_range_twice_or_outside_is_refused() {
    let mut meta = Vec::new();
    let mut a = allocator(&mut meta, 0, 64);
    assert_eq!(
        a.add_range(addr(10)..addr(12)),
        Err(FrameError::AlreadyAdded(PhysFrame::from_number(10)))
    );
    assert_eq!(
        a.add_range(addr(60)..addr(70)),
        Err(FrameError::OutOfRange(PhysFrame::from_number(69)))
    );
    assert_eq!(a.free_frames(), 64);
}

#[test]
fn add_range_except_skips_reserved_frames() {
    let mut meta = vec![FrameMeta::UNUSED; 64];
    let mut a = FrameAllocator::new(PhysFrame::from_number(0), &mut meta);
    // Reserve frames 4..6 (partly into 6) and 40..41.
    let reserved = [addr(4)..PhysAddr::new(6 * 4096 + 1), addr(40)..addr(41)];
    assert_eq!(
        a.add_range_except(addr(0)..addr(64), &reserved),
        Ok(64 - 3 - 1)
    );
    let mut got = HashSet::new();
    while let Some(f) = a.allocate(0) {
        got.insert(f.number());
    }
    for reserved_pfn in [4, 5, 6, 40] {
        assert!(
            !got.contains(&reserved_pfn),
            "reserved frame {reserved_pfn} was handed out"
        );
    }
    assert_eq!(got.len(), 60);
}

#[test]
fn exhaustion_returns_none_and_recovers() {
    let mut meta = Vec::new();
    let mut a = allocator(&mut meta, 3, 100);
    let mut got = Vec::new();
    while let Some(f) = a.allocate(0) {
        got.push(f);
    }
    assert_eq!(got.len(), 100);
    assert_eq!(a.free_frames(), 0);
    assert_eq!(a.allocate(0), None);
    assert_eq!(a.allocate(3), None);
    a.free(got.pop().unwrap()).unwrap();
    assert!(a.allocate(0).is_some());
    // Too large an order is never satisfiable.
    assert_eq!(a.allocate(MAX_ORDER + 1), None);
}

#[test]
fn large_block_unavailable_when_fragmented() {
    let mut meta = Vec::new();
    let mut a = allocator(&mut meta, 0, 16);
    let f = a.allocate(0).unwrap();
    assert_eq!(
        a.allocate(4),
        None,
        "one used frame splits the only 16-frame block"
    );
    assert!(a.allocate(3).is_some());
    a.free(f).unwrap();
}

#[test]
fn double_free_and_stray_frees_are_detected() {
    let mut meta = Vec::new();
    let mut a = allocator(&mut meta, 0, 64);
    let block = a.allocate(2).unwrap();
    let interior = PhysFrame::from_number(block.number() + 1);
    assert_eq!(a.free(interior), Err(FrameError::NotAllocated(interior)));
    let before = a.free_frames();
    a.free(block).unwrap();
    assert_eq!(a.free_frames(), before + 4);
    let shape = free_shape(&a);
    assert_eq!(a.free(block), Err(FrameError::NotAllocated(block)));
    assert_eq!(a.release(block), Err(FrameError::NotAllocated(block)));
    assert_eq!(free_shape(&a), shape, "a refused free must change nothing");
    let outside = PhysFrame::from_number(1000);
    assert_eq!(a.free(outside), Err(FrameError::OutOfRange(outside)));
    assert_eq!(a.free_frames(), 64);
}

#[test]
fn reference_counts() {
    let mut meta = Vec::new();
    let mut a = allocator(&mut meta, 0, 8);
    let f = a.allocate_frame().unwrap();
    assert_eq!(a.ref_count(f), Some(1));
    assert_eq!(a.add_ref(f), Ok(2));
    assert_eq!(a.free(f), Err(FrameError::Shared(f)));
    assert_eq!(a.release(f), Ok(1));
    assert_eq!(a.free_frames(), 7);
    assert_eq!(a.release(f), Ok(0));
    assert_eq!(a.free_frames(), 8);
    assert_eq!(a.ref_count(f), None);
    assert_eq!(a.add_ref(f), Err(FrameError::NotAllocated(f)));
}

#[test]
fn metadata_from_bytes() {
    let mut storage = [0u32; 3 * 16]; // 16 entries, 4-byte aligned
    let bytes: &mut [u8] = zerocopy::IntoBytes::as_mut_bytes(&mut storage[..]);
    let mut a = FrameAllocator::from_bytes(PhysFrame::from_number(0), bytes).unwrap();
    assert_eq!(a.span().frames, 16);
    a.add_range(addr(0)..addr(16)).unwrap();
    assert_eq!(a.free_blocks(4), 1);

    let mut storage = [0u32; 8];
    let bytes: &mut [u8] = zerocopy::IntoBytes::as_mut_bytes(&mut storage[..]);
    assert_eq!(
        FrameAllocator::from_bytes(PhysFrame::from_number(0), &mut bytes[1..]).unwrap_err(),
        MetadataError::Misaligned
    );
}

/// Randomized alloc/free against a model: no frame is ever handed out twice, every block is
/// aligned to its size and inside the added range, accounting matches, and freeing everything
/// coalesces back to the initial blocks.
#[test]
fn randomized_against_model() {
    for seed in 1..=20u64 {
        let mut rng = XorShift::new(seed * 0x9e37_79b9);
        let base = 1 + rng.below(300);
        let n = 64 + rng.below(3000);
        let mut meta = Vec::new();
        let mut a = allocator(&mut meta, base, n);
        let initial = free_shape(&a);
        let mut in_use: HashSet<u64> = HashSet::new();
        let mut blocks: Vec<(PhysFrame, u8)> = Vec::new();
        for _ in 0..4000 {
            if blocks.is_empty() || rng.below(100) < 55 {
                let order = match rng.below(10) {
                    0..=5 => 0,
                    6 | 7 => 1,
                    8 => 3,
                    _ => rng.below(u64::from(MAX_ORDER) + 1) as u8,
                };
                match a.allocate(order) {
                    Some(f) => {
                        let pfn = f.number();
                        assert_eq!(pfn % (1 << order), 0, "block not aligned to its size");
                        assert!(pfn >= base && pfn + (1 << order) <= base + n, "outside RAM");
                        for p in pfn..pfn + (1 << order) {
                            assert!(
                                in_use.insert(p),
                                "seed {seed}: frame {p:#x} handed out twice"
                            );
                        }
                        blocks.push((f, order));
                    }
                    None => {
                        // Only acceptable if no free block of that order or larger exists.
                        assert!((order..=MAX_ORDER).all(|k| a.free_blocks(k) == 0));
                    }
                }
            } else {
                let (f, order) = blocks.swap_remove(rng.below(blocks.len() as u64) as usize);
                assert_eq!(a.block_order(f), Some(order));
                a.free(f).unwrap();
                for p in f.number()..f.number() + (1 << order) {
                    in_use.remove(&p);
                }
            }
            assert_eq!(a.free_frames() + in_use.len(), n as usize);
            let listed: usize = (0..=MAX_ORDER).map(|k| a.free_blocks(k) << k).sum();
            assert_eq!(
                listed,
                a.free_frames(),
                "free lists disagree with the free count"
            );
        }
        for (f, _) in blocks.drain(..) {
            a.free(f).unwrap();
        }
        assert_eq!(a.free_frames(), n as usize);
        assert_eq!(
            free_shape(&a),
            initial,
            "seed {seed}: freeing everything must coalesce fully"
        );
    }
}

#[test]
fn huge_blocks_count_whole_then_per_frame_once_split() {
    let mut meta = vec![FrameMeta::UNUSED; 2048];
    let mut a = allocator(&mut meta, 1024, 2048);
    let block = a.allocate_huge().unwrap();
    assert_eq!(block.start_address().as_u64() % (2 << 20), 0);
    assert_eq!(a.huge_ref_count(block), Some(1));
    a.add_ref_huge(block).unwrap();
    assert_eq!(a.huge_ref_count(block), Some(2));
    assert_eq!(
        a.ref_count(block.frame(1)),
        None,
        "interior frames have no count yet"
    );
    a.split_huge(block).unwrap();
    assert_eq!(a.huge_ref_count(block), None);
    assert!((0..512).all(|i| a.ref_count(block.frame(i)) == Some(2)));
    a.split_huge(block).unwrap();
    assert_eq!(
        a.ref_count(block.frame(7)),
        Some(2),
        "splitting again changes nothing"
    );
    // One mapping's release after the split drops one reference on every frame.
    a.release_huge(block).unwrap();
    assert!((0..512).all(|i| a.ref_count(block.frame(i)) == Some(1)));
    // The other mapping lets go page by page; the block merges back when all are free.
    for i in 0..512 {
        assert_eq!(a.release(block.frame(i)), Ok(0));
    }
    assert_eq!(a.free_frames(), 2048);
    assert_eq!(a.free_blocks(MAX_ORDER), 2);
    // A whole block is freed whole.
    let b = a.allocate_huge().unwrap();
    a.release_huge(b).unwrap();
    assert_eq!(a.free_frames(), 2048);
    assert_eq!(
        a.release_huge(b),
        Err(FrameError::NotAllocated(b.frame(0))),
        "double release refused"
    );
    let stats = a.stats();
    assert_eq!((stats.total_frames, stats.free_frames), (2048, 2048));
}

#[test]
fn split_block_works_for_any_order() {
    let mut meta = vec![FrameMeta::UNUSED; 64];
    let mut a = allocator(&mut meta, 64, 64);
    let b = a.allocate(2).unwrap();
    a.split_block(b).unwrap();
    let frames: Vec<PhysFrame> = (0..4)
        .map(|i| PhysFrame::from_number(b.number() + i))
        .collect();
    assert!(frames.iter().all(|&f| a.block_order(f) == Some(0)));
    for f in frames {
        a.free(f).unwrap();
    }
    assert_eq!(a.free_frames(), 64);
    assert_eq!(a.split_block(b), Err(FrameError::NotAllocated(b)));
}
