//! The kernel's random numbers: a ChaCha20 keystream (RFC 8439 block function) keyed from the
//! CPU's hardware generator (RDSEED, else RDRAND) mixed with TSC jitter, rekeyed from its own
//! output every block batch so a later state leak does not reveal earlier output.
//!
//! Serves AT_RANDOM, getrandom(2), /dev/urandom and address-space randomization. A CPU with
//! neither RDSEED nor RDRAND falls back to TSC samples alone, and the boot log says so.

use spin::Mutex;

/// A ChaCha20-based generator.
pub struct ChaCha {
    key: [u32; 8],
    counter: u64,
}

fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// The ChaCha20 block function: 64 bytes of keystream for (key, counter, nonce).
pub fn chacha20_block(key: &[u32; 8], counter: u32, nonce: &[u32; 3]) -> [u8; 64] {
    let mut init = [0u32; 16];
    init[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    init[4..12].copy_from_slice(key);
    init[12] = counter;
    init[13..16].copy_from_slice(nonce);
    let mut s = init;
    for _ in 0..10 {
        quarter(&mut s, 0, 4, 8, 12);
        quarter(&mut s, 1, 5, 9, 13);
        quarter(&mut s, 2, 6, 10, 14);
        quarter(&mut s, 3, 7, 11, 15);
        quarter(&mut s, 0, 5, 10, 15);
        quarter(&mut s, 1, 6, 11, 12);
        quarter(&mut s, 2, 7, 8, 13);
        quarter(&mut s, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for i in 0..16 {
        out[i * 4..i * 4 + 4].copy_from_slice(&s[i].wrapping_add(init[i]).to_le_bytes());
    }
    out
}

impl ChaCha {
    /// A generator keyed with `seed`.
    pub fn new(seed: [u64; 4]) -> ChaCha {
        let mut key = [0u32; 8];
        for (i, w) in seed.iter().enumerate() {
            key[2 * i] = *w as u32;
            key[2 * i + 1] = (*w >> 32) as u32;
        }
        ChaCha { key, counter: 0 }
    }

    /// Fills `buf` with keystream, then rekeys (fast key erasure).
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(64) {
            let block = self.next_block();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        let k = self.next_block();
        for (i, w) in self.key.iter_mut().enumerate() {
            *w = u32::from_le_bytes([k[i * 4], k[i * 4 + 1], k[i * 4 + 2], k[i * 4 + 3]]);
        }
    }

    fn next_block(&mut self) -> [u8; 64] {
        self.counter = self.counter.wrapping_add(1);
        let nonce = [(self.counter >> 32) as u32, 0, 0];
        chacha20_block(&self.key, self.counter as u32, &nonce)
    }

    /// A random u64.
    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }
}

static RNG: Mutex<Option<ChaCha>> = Mutex::new(None);

/// Seeds the kernel generator. `hw` yields hardware random words when the CPU has them;
/// `device` is seed material from a virtio-rng device, when the VM has one. Returns whether
/// the CPU's generator took part.
pub fn init(
    mut hw: impl FnMut() -> Option<u64>,
    mut tsc: impl FnMut() -> u64,
    device: Option<[u8; 32]>,
) -> bool {
    let mut seed = [0u64; 4];
    let mut from_hw = true;
    if let Some(bytes) = device {
        for (w, chunk) in seed.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
    }
    for w in seed.iter_mut() {
        // TSC jitter is always mixed in; hardware words when available.
        let mut v = tsc().rotate_left(17) ^ tsc().wrapping_mul(0x9e37_79b9_7f4a_7c15);
        match hw() {
            Some(h) => v ^= h,
            None => from_hw = false,
        }
        *w ^= v;
    }
    *RNG.lock() = Some(ChaCha::new(seed));
    from_hw
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    RNG.lock()
        .as_mut()
        .expect("random::init runs at boot")
        .fill(buf);
}

/// A random u64.
pub fn next_u64() -> u64 {
    RNG.lock()
        .as_mut()
        .expect("random::init runs at boot")
        .next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8439_block_test_vector() {
        // RFC 8439 section 2.3.2.
        let key: [u32; 8] = core::array::from_fn(|i| {
            u32::from_le_bytes([
                (4 * i) as u8,
                (4 * i + 1) as u8,
                (4 * i + 2) as u8,
                (4 * i + 3) as u8,
            ])
        });
        let nonce = [0x0900_0000, 0x4a00_0000, 0x0000_0000];
        let out = chacha20_block(&key, 1, &nonce);
        assert_eq!(&out[..8], &[0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15]);
        assert_eq!(
            &out[56..],
            &[0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e]
        );
    }

    #[test]
    fn output_differs_between_calls() {
        let mut r = ChaCha::new([1, 2, 3, 4]);
        let (a, b) = (r.next_u64(), r.next_u64());
        assert_ne!(a, b);
        let mut big = [0u8; 200];
        r.fill(&mut big);
        assert!(big.iter().any(|&x| x != 0));
    }
}
