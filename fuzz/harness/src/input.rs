//! The byte format of a fuzz input: a sequence of operations, each a tag byte and a body.
//!
//! The format is designed so that random bytes mostly decode to plausible calls, and so that
//! saved inputs keep their meaning: tables here are append-only.
//!
//! ```text
//! input := op*                     (decoding stops at the first incomplete op, or at MAX_OPS)
//! op    := tag:u8 body, by tag % 5:
//!   0  syscall     nr:u16le arg×6        the number is Linux's x86_64 number
//!   1  poke        off:u16le len:u8 bytes[len]   the kernel writes bytes into the scratch
//!                                        region (ignoring its protection; skipped if unmapped)
//!   2  poke-str    off:u16le idx:u8      writes STRINGS[idx % n] and a NUL into scratch
//!   3  touch       arg access:u8         a user page fault at arg (access % 3: read, write,
//!                                        execute), resolved by AddressSpace::handle_fault
//!   4  raw         nr:u64le a:u64le×6    a syscall with every register raw (high garbage in
//!                                        rax and in int arguments)
//! arg   := kind:u8 payload, by kind % 8:
//!   0  raw u64le                         1  i8, sign-extended
//!   2  u32le, zero-extended              3  SCRATCH_BASE + u16le
//!   4  the result of the k-th previous call (k:u8; 0 is the last), 0 if none
//!   5  SPECIAL[k % n] (k:u8)             6  VMA-relative: vmas[i % n].start + pages·4096
//!                                           (i:u8, pages:u8)
//!   7  a size (b:u8): 1 << b for b < 64, else (b - 64) pages
//! ```

use oxv_abi::user::USER_END;

/// Where the writable scratch region starts (the usual target of pointers).
pub const SCRATCH_BASE: u64 = 0x1000_0000;
/// Its size: 16 pages.
pub const SCRATCH_LEN: u64 = 0x1_0000;
/// A read-only region (4 pages) holding a copy of some strings.
pub const RO_BASE: u64 = 0x1100_0000;
/// Its size.
pub const RO_LEN: u64 = 0x4000;
/// The top of the main stack (128 KiB mapped, grows down to 8 MiB).
pub const STACK_TOP: u64 = 0x7fff_f000_0000;
/// Where the program break starts.
pub const BRK_BASE: u64 = 0x0200_0000;
/// Where non-fixed mmaps go (top-down below it).
pub const MMAP_BASE: u64 = 0x7f00_0000_0000;

/// Addresses and values that are edge cases somewhere. Append only.
pub const SPECIAL: &[u64] = &[
    0,
    1,
    0xfff,
    SCRATCH_BASE + SCRATCH_LEN - 1, // the last scratch byte: anything longer straddles
    SCRATCH_BASE + SCRATCH_LEN,     // just past scratch: unmapped
    RO_BASE,
    STACK_TOP - 8,
    STACK_TOP - 0x2_0000,           // the lowest mapped stack page
    STACK_TOP - 0x80_0000 - 0x1000, // below the stack limit
    BRK_BASE,
    USER_END - 8,
    USER_END - 0x1000,
    USER_END,
    0xffff_8000_0000_0000, // the kernel's direct map
    0xffff_ffff_8000_0000, // the kernel image
    u64::MAX,
    u64::MAX - 4095,
    (-100i64) as u64, // AT_FDCWD
    u32::MAX as u64,
    0x8000_0000,
    1 << 32,
    i64::MAX as u64,
    SCRATCH_BASE,
    0x10000, // vm.mmap_min_addr
    0xffff,
    MMAP_BASE,
    0x7fff_ffff_f000,
    4096,
    0x7fff_f000, // MAX_RW_COUNT
];

/// Strings for paths and names. Append only.
pub const STRINGS: &[&[u8]] = &[
    b"/",
    b"/tmp",
    b"/tmp/a",
    b"/tmp/b",
    b"/tmp/dir",
    b"/tmp/dir/x",
    b"/data/small",
    b"/data/dir",
    b"/data/link",
    b"/data/loop",
    b"/dev/null",
    b"/dev/zero",
    b"/dev/full",
    b"/dev/urandom",
    b"/dev/tty",
    b"/dev/console",
    b"/proc/self/exe",
    b"/proc/self/cmdline",
    b"/proc/self",
    b"/proc",
    b"..",
    b".",
    b"",
    b"a",
    b"dir/../a",
    b"/tmp/a/",
    b"//tmp///a",
    b"/tmp/../tmp/./a",
    b"/nonexistent/x",
    b"/dev/stdin",
    b"/etc/passwd",
    b"/tmp/link",
    b"/data/small/x",
    b"/tmp/dir/..",
];

/// One argument register, as encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A raw value.
    Raw(u64),
    /// A small signed value.
    Small(i8),
    /// A 32-bit value, zero-extended.
    U32(u32),
    /// `SCRATCH_BASE + offset`.
    Scratch(u16),
    /// The result of the `k`-th previous call (0: the last one).
    Result(u8),
    /// `SPECIAL[k % n]`.
    Special(u8),
    /// `vmas[i % n].start + pages * 4096`.
    Vma(u8, u8),
    /// `1 << b` for `b < 64`, else `(b - 64)` pages.
    Size(u8),
}

/// A user-mode access that faults.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

/// One operation of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A system call with encoded arguments.
    Syscall {
        /// The number (`rax`).
        nr: u16,
        /// The six argument registers.
        args: [Arg; 6],
    },
    /// The kernel writes `bytes` at `SCRATCH_BASE + off`.
    Poke {
        /// Offset in the scratch region.
        off: u16,
        /// The bytes (at most 255).
        bytes: Vec<u8>,
    },
    /// The kernel writes `STRINGS[idx % n]` and a NUL at `SCRATCH_BASE + off`.
    PokeStr {
        /// Offset in the scratch region.
        off: u16,
        /// Index in [`STRINGS`].
        idx: u8,
    },
    /// A user page fault.
    Touch {
        /// The faulting address.
        addr: Arg,
        /// The access.
        access: Access,
    },
    /// A system call with raw registers.
    Raw {
        /// `rax`.
        nr: u64,
        /// `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`.
        args: [u64; 6],
    },
}

impl Op {
    /// A syscall whose registers are all raw values.
    pub fn raw_syscall(nr: u64, args: [u64; 6]) -> Op {
        Op::Raw { nr, args }
    }
}

struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.data.split_first_chunk::<N>()?;
        self.data = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.bytes::<1>().map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.bytes().map(u16::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.bytes().map(u64::from_le_bytes)
    }

    fn arg(&mut self) -> Option<Arg> {
        Some(match self.u8()? % 8 {
            0 => Arg::Raw(self.u64()?),
            1 => Arg::Small(self.u8()? as i8),
            2 => Arg::U32(u32::from_le_bytes(self.bytes()?)),
            3 => Arg::Scratch(self.u16()?),
            4 => Arg::Result(self.u8()?),
            5 => Arg::Special(self.u8()?),
            6 => Arg::Vma(self.u8()?, self.u8()?),
            _ => Arg::Size(self.u8()?),
        })
    }

    fn op(&mut self) -> Option<Op> {
        Some(match self.u8()? % 5 {
            0 => {
                let nr = self.u16()?;
                let mut args = [Arg::Raw(0); 6];
                for a in &mut args {
                    *a = self.arg()?;
                }
                Op::Syscall { nr, args }
            }
            1 => {
                let off = self.u16()?;
                let len = self.u8()? as usize;
                let bytes = self.data.get(..len)?.to_vec();
                self.data = &self.data[len..];
                Op::Poke { off, bytes }
            }
            2 => Op::PokeStr {
                off: self.u16()?,
                idx: self.u8()?,
            },
            3 => Op::Touch {
                addr: self.arg()?,
                access: match self.u8()? % 3 {
                    0 => Access::Read,
                    1 => Access::Write,
                    _ => Access::Execute,
                },
            },
            _ => {
                let nr = self.u64()?;
                let mut args = [0u64; 6];
                for a in &mut args {
                    *a = self.u64()?;
                }
                Op::Raw { nr, args }
            }
        })
    }
}

/// Decodes an input (never fails: an incomplete last op is dropped).
pub fn decode(data: &[u8]) -> Vec<Op> {
    let mut r = Reader { data };
    let mut ops = Vec::new();
    while ops.len() < crate::MAX_OPS {
        match r.op() {
            Some(op) => ops.push(op),
            None => break,
        }
    }
    ops
}

fn encode_arg(a: &Arg, out: &mut Vec<u8>) {
    match *a {
        Arg::Raw(v) => {
            out.push(0);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Arg::Small(v) => out.extend_from_slice(&[1, v as u8]),
        Arg::U32(v) => {
            out.push(2);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Arg::Scratch(o) => {
            out.push(3);
            out.extend_from_slice(&o.to_le_bytes());
        }
        Arg::Result(k) => out.extend_from_slice(&[4, k]),
        Arg::Special(k) => out.extend_from_slice(&[5, k]),
        Arg::Vma(i, p) => out.extend_from_slice(&[6, i, p]),
        Arg::Size(b) => out.extend_from_slice(&[7, b]),
    }
}

/// Encodes operations so that [`decode`] gives them back.
pub fn encode(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Syscall { nr, args } => {
                out.push(0);
                out.extend_from_slice(&nr.to_le_bytes());
                for a in args {
                    encode_arg(a, &mut out);
                }
            }
            Op::Poke { off, bytes } => {
                out.push(1);
                out.extend_from_slice(&off.to_le_bytes());
                let bytes = &bytes[..bytes.len().min(255)];
                out.push(bytes.len() as u8);
                out.extend_from_slice(bytes);
            }
            Op::PokeStr { off, idx } => {
                out.push(2);
                out.extend_from_slice(&off.to_le_bytes());
                out.push(*idx);
            }
            Op::Touch { addr, access } => {
                out.push(3);
                encode_arg(addr, &mut out);
                out.push(match access {
                    Access::Read => 0,
                    Access::Write => 1,
                    Access::Execute => 2,
                });
            }
            Op::Raw { nr, args } => {
                out.push(4);
                out.extend_from_slice(&nr.to_le_bytes());
                for a in args {
                    out.extend_from_slice(&a.to_le_bytes());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_is_identity() {
        let ops = vec![
            Op::Syscall {
                nr: 257,
                args: [
                    Arg::Special(17),
                    Arg::Scratch(0x40),
                    Arg::U32(0o102),
                    Arg::Small(-1),
                    Arg::Result(0),
                    Arg::Vma(1, 2),
                ],
            },
            Op::Poke {
                off: 3,
                bytes: vec![1, 2, 3],
            },
            Op::PokeStr { off: 9, idx: 4 },
            Op::Touch {
                addr: Arg::Size(70),
                access: Access::Execute,
            },
            Op::Raw {
                nr: u64::MAX,
                args: [1, 2, 3, 4, 5, 6],
            },
            Op::Syscall {
                nr: 0,
                args: [Arg::Raw(u64::MAX); 6],
            },
        ];
        assert_eq!(decode(&encode(&ops)), ops);
    }

    #[test]
    fn truncated_input_drops_the_last_op() {
        let ops = vec![
            Op::PokeStr { off: 1, idx: 2 },
            Op::PokeStr { off: 3, idx: 4 },
        ];
        let bytes = encode(&ops);
        assert_eq!(decode(&bytes[..bytes.len() - 1]), ops[..1]);
        assert!(decode(&[]).is_empty());
    }

    #[test]
    fn any_bytes_decode() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..200 {
            let data: Vec<u8> = (0..512)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let ops = decode(&data);
            assert!(ops.len() <= crate::MAX_OPS);
            assert_eq!(decode(&encode(&ops)), ops);
        }
    }
}
