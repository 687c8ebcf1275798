//! The initial process stack: `argc`, `argv`, `envp` and the auxiliary vector, laid out as
//! the System V x86_64 ABI (§3.4.1, "Initial Stack and Register State") specifies and as
//! Linux's `fs/binfmt_elf.c` builds it.
//!
//! [`build_initial_stack`] returns the bytes of `[sp, stack_top)`; the kernel copies them to
//! the top of the new stack mapping and starts the program with `rsp = sp`. From high to low
//! addresses the image holds:
//!
//! ```text
//! stack_top ->  8 zero bytes (end marker)
//!               execfn string            <- AT_EXECFN
//!               envp strings, envp[0] lowest
//!               argv strings, argv[0] lowest
//!               (align 16) platform string  <- AT_PLATFORM
//!               16 random bytes          <- AT_RANDOM
//!               (padding so that sp is 16-byte aligned)
//!               auxv pairs ..., (AT_NULL, 0)
//!               envp[0..], NULL
//!               argv[0..], NULL
//! sp         -> argc
//! ```
//!
//! The caller passes the auxiliary vector entries that describe the program and the machine
//! (`AT_PHDR`, `AT_PHENT`, `AT_PHNUM`, `AT_PAGESZ`, `AT_ENTRY`, `AT_BASE`, `AT_FLAGS`, the ids,
//! `AT_SECURE`, `AT_HWCAP`, `AT_HWCAP2`, `AT_CLKTCK`, `AT_MINSIGSTKSZ`, `AT_SYSINFO_EHDR`);
//! this module adds `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` (when the platform string is not
//! empty) and the final `AT_NULL`, because only it knows where those strings land.
//!
//! Limits, as Linux applies them with the default 8 MiB `RLIMIT_STACK`: each string,
//! including its NUL, is at most [`MAX_ARG_STRLEN`] bytes; the strings plus one pointer per
//! argument and variable take at most [`ARG_MAX`] bytes. Both give `E2BIG`. An empty `argv`
//! gets `""` as `argv[0]`, as Linux does since 5.18, so `argv[0]` always exists.

use crate::errno::Errno;
use crate::user::USER_END;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

/// The `AT_*` keys of the auxiliary vector (getauxval(3)), as `u64` like the vector itself.
pub mod auxv {
    macro_rules! at_keys {
        ($($name:ident),* $(,)?) => {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: u64 = linux_raw_sys::auxvec::$name as u64;
            )*
        };
    }

    at_keys! {
        AT_NULL, AT_IGNORE, AT_EXECFD, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS,
        AT_ENTRY, AT_NOTELF, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK,
        AT_SECURE, AT_BASE_PLATFORM, AT_RANDOM, AT_HWCAP2, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN,
        AT_EXECFN, AT_SYSINFO_EHDR, AT_MINSIGSTKSZ,
    }
}

use auxv::{AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};

/// The longest argument or environment string, including its NUL (Linux: 32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// The most bytes the strings plus their pointers may take: a quarter of the default 8 MiB
/// stack limit, which is what Linux allows then.
pub const ARG_MAX: usize = 2 * 1024 * 1024;

const WORD: u64 = 8;

/// The initial stack, ready to copy to `[sp, sp + bytes.len())`, which ends at `stack_top`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    /// The memory from `sp` up to `stack_top`.
    pub bytes: Vec<u8>,
    /// The initial stack pointer (16-byte aligned; `argc` is here).
    pub sp: u64,
    /// Where the argument strings are (Linux's `arg_start..arg_end`, for
    /// `/proc/self/cmdline`).
    pub arg_strings: Range<u64>,
    /// Where the environment strings are (`env_start..env_end`).
    pub env_strings: Range<u64>,
}

/// Why an initial stack could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    /// A string (with its NUL) is longer than [`MAX_ARG_STRLEN`].
    #[error("a {len}-byte argument or environment string exceeds MAX_ARG_STRLEN")]
    StringTooLong {
        /// Its length, without the NUL.
        len: usize,
    },
    /// The strings and pointers together exceed [`ARG_MAX`].
    #[error("arguments and environment take more than ARG_MAX bytes")]
    TooBig,
    /// A string contains a NUL byte, so the program would see it cut short.
    #[error("an argument or environment string contains a NUL byte")]
    InteriorNul,
    /// The caller passed a key this module fills in itself.
    #[error("auxv key {0} is filled in by build_initial_stack")]
    ReservedAuxvKey(u64),
    /// `stack_top` is not 16-byte aligned, is above the user half, or is too low for the image.
    #[error("stack top {0:#x} is misaligned, not in user space, or too low")]
    BadStackTop(u64),
}

impl StackError {
    /// The errno execve(2) reports: `E2BIG` for size limits, `EINVAL` otherwise.
    pub const fn to_errno(&self) -> Errno {
        match self {
            StackError::StringTooLong { .. } | StackError::TooBig => Errno::E2BIG,
            _ => Errno::EINVAL,
        }
    }
}

impl From<StackError> for Errno {
    fn from(e: StackError) -> Errno {
        e.to_errno()
    }
}

/// Builds the initial stack image below `stack_top`. See the module docs for the layout,
/// the auxv entries added here, and the limits.
pub fn build_initial_stack(
    stack_top: u64,
    argv: &[&[u8]],
    envp: &[&[u8]],
    auxv: &[(u64, u64)],
    execfn: &[u8],
    platform: &[u8],
    random: &[u8; 16],
) -> Result<StackImage, StackError> {
    if stack_top % 16 != 0 || stack_top > USER_END {
        return Err(StackError::BadStackTop(stack_top));
    }
    if let Some(&(key, _)) = auxv
        .iter()
        .find(|(k, _)| matches!(*k, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM))
    {
        return Err(StackError::ReservedAuxvKey(key));
    }
    let empty_argv: [&[u8]; 1] = [b""];
    let argv = if argv.is_empty() {
        &empty_argv[..]
    } else {
        argv
    };

    // Limits first, so that the sizes below cannot overflow.
    let mut strings = 0usize;
    for s in argv.iter().chain(envp).chain([&execfn, &platform]) {
        if s.contains(&0) {
            return Err(StackError::InteriorNul);
        }
        if s.len() + 1 > MAX_ARG_STRLEN {
            return Err(StackError::StringTooLong { len: s.len() });
        }
        strings += s.len() + 1;
    }
    let pointers = (argv.len() + envp.len()) * WORD as usize;
    if strings.saturating_add(pointers) > ARG_MAX {
        return Err(StackError::TooBig);
    }

    // Addresses, from the top down. All values are bounded by ARG_MAX plus the auxv, so only
    // the final subtraction from stack_top can fail.
    let top = stack_top as i128;
    let strlen = |s: &[u8]| (s.len() + 1) as i128;
    let execfn_at = top - WORD as i128 - strlen(execfn);
    let env_len: i128 = envp.iter().map(|s| strlen(s)).sum();
    let arg_len: i128 = argv.iter().map(|s| strlen(s)).sum();
    let env_start = execfn_at - env_len;
    let arg_start = env_start - arg_len;
    let platform_at = (arg_start & !15)
        - if platform.is_empty() {
            0
        } else {
            strlen(platform)
        };
    let random_at = platform_at - 16;
    let aux_pairs = auxv.len() + 3 + usize::from(!platform.is_empty());
    let table_words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * aux_pairs;
    let sp = (random_at - (table_words as i128) * WORD as i128) & !15;
    if sp < 0 {
        return Err(StackError::BadStackTop(stack_top));
    }
    let sp = sp as u64;

    let mut bytes = vec![0u8; (stack_top - sp) as usize];
    let mut put = |addr: i128, data: &[u8]| {
        let at = (addr as u64 - sp) as usize;
        bytes[at..at + data.len()].copy_from_slice(data);
    };
    put(execfn_at, execfn);
    let mut words: Vec<u64> = Vec::with_capacity(table_words);
    words.push(argv.len() as u64);
    let mut at = arg_start;
    for s in argv {
        put(at, s);
        words.push(at as u64);
        at += strlen(s);
    }
    words.push(0);
    for s in envp {
        put(at, s);
        words.push(at as u64);
        at += strlen(s);
    }
    words.push(0);
    if !platform.is_empty() {
        put(platform_at, platform);
    }
    put(random_at, random);
    for &(k, v) in auxv {
        words.extend([k, v]);
    }
    words.extend([AT_RANDOM, random_at as u64, AT_EXECFN, execfn_at as u64]);
    if !platform.is_empty() {
        words.extend([AT_PLATFORM, platform_at as u64]);
    }
    words.extend([AT_NULL, 0]);
    debug_assert_eq!(words.len(), table_words, "table size computed above");
    for (i, w) in words.iter().enumerate() {
        put(sp as i128 + (i as i128) * WORD as i128, &w.to_le_bytes());
    }
    Ok(StackImage {
        bytes,
        sp,
        arg_strings: arg_start as u64..env_start as u64,
        env_strings: env_start as u64..execfn_at as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::auxv::*;
    use super::*;

    const TOP: u64 = 0x7fff_ffff_f000;

    /// What a program's start-up code reads back from the image.
    struct Parsed {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    fn word(img: &StackImage, addr: u64) -> u64 {
        let at = (addr - img.sp) as usize;
        u64::from_le_bytes(img.bytes[at..at + 8].try_into().unwrap())
    }

    fn cstr(img: &StackImage, addr: u64) -> Vec<u8> {
        let at = (addr - img.sp) as usize;
        let len = img.bytes[at..]
            .iter()
            .position(|&b| b == 0)
            .expect("NUL-terminated");
        img.bytes[at..at + len].to_vec()
    }

    fn parse(img: &StackImage) -> Parsed {
        assert_eq!(img.sp % 16, 0, "sp must be 16-byte aligned at entry");
        assert_eq!(img.sp + img.bytes.len() as u64, TOP);
        let argc = word(img, img.sp);
        let mut p = img.sp + 8;
        let argv = (0..argc).map(|i| cstr(img, word(img, p + 8 * i))).collect();
        p += 8 * argc;
        assert_eq!(word(img, p), 0, "argv ends with NULL");
        p += 8;
        let mut envp = Vec::new();
        while word(img, p) != 0 {
            envp.push(cstr(img, word(img, p)));
            p += 8;
        }
        p += 8;
        let mut auxv = Vec::new();
        loop {
            let (k, v) = (word(img, p), word(img, p + 8));
            auxv.push((k, v));
            p += 16;
            if k == AT_NULL {
                break;
            }
        }
        Parsed { argv, envp, auxv }
    }

    fn aux(p: &Parsed, key: u64) -> Option<u64> {
        p.auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    const RANDOM: [u8; 16] = *b"0123456789abcdef";

    #[test]
    fn layout_round_trips() {
        let argv: [&[u8]; 3] = [b"/bin/prog", b"-v", b""];
        let envp: [&[u8]; 2] = [b"HOME=/", b"A=b=c"];
        let caller_aux = [
            (AT_PAGESZ, 4096),
            (AT_PHDR, 0x40_0040),
            (AT_ENTRY, 0x40_1000),
        ];
        let img = build_initial_stack(
            TOP,
            &argv,
            &envp,
            &caller_aux,
            b"/bin/prog",
            b"x86_64",
            &RANDOM,
        )
        .unwrap();
        let p = parse(&img);
        assert_eq!(p.argv, argv.map(<[u8]>::to_vec));
        assert_eq!(p.envp, envp.map(<[u8]>::to_vec));
        assert_eq!(&p.auxv[..3], &caller_aux);
        assert_eq!(p.auxv.last(), Some(&(AT_NULL, 0)));
        let random_at = aux(&p, AT_RANDOM).unwrap();
        let at = (random_at - img.sp) as usize;
        assert_eq!(img.bytes[at..at + 16], RANDOM);
        assert_eq!(cstr(&img, aux(&p, AT_EXECFN).unwrap()), b"/bin/prog");
        assert_eq!(cstr(&img, aux(&p, AT_PLATFORM).unwrap()), b"x86_64");
        // execfn sits at the very top, below the 8-byte end marker.
        assert_eq!(aux(&p, AT_EXECFN).unwrap(), TOP - 8 - 10);
        assert_eq!(word(&img, TOP - 8), 0);
        // The string areas hold exactly the NUL-separated strings.
        let args = &img.bytes
            [(img.arg_strings.start - img.sp) as usize..(img.arg_strings.end - img.sp) as usize];
        assert_eq!(args, b"/bin/prog\0-v\0\0");
        let env = &img.bytes
            [(img.env_strings.start - img.sp) as usize..(img.env_strings.end - img.sp) as usize];
        assert_eq!(env, b"HOME=/\0A=b=c\0");
    }

    #[test]
    fn alignment_holds_for_every_shape() {
        for nargs in 0..5usize {
            for nenv in 0..4usize {
                for strlen in [0usize, 1, 7, 8, 15, 16, 17] {
                    let s = vec![b'a'; strlen];
                    let argv: Vec<&[u8]> = (0..nargs).map(|_| &s[..]).collect();
                    let envp: Vec<&[u8]> = (0..nenv).map(|_| &s[..]).collect();
                    for platform in [&b""[..], b"x86_64"] {
                        let img = build_initial_stack(
                            TOP,
                            &argv,
                            &envp,
                            &[(AT_PAGESZ, 4096)],
                            &s,
                            platform,
                            &RANDOM,
                        )
                        .unwrap();
                        let p = parse(&img);
                        assert_eq!(p.argv.len(), nargs.max(1));
                        assert_eq!(p.envp.len(), nenv);
                        assert_eq!(aux(&p, AT_PLATFORM).is_some(), !platform.is_empty());
                        let r = aux(&p, AT_RANDOM).unwrap();
                        assert!(
                            r > img.sp + 8 * (p.argv.len() + nenv) as u64,
                            "random above the table"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn empty_argv_gets_an_empty_argv0() {
        let img = build_initial_stack(TOP, &[], &[], &[], b"/x", b"", &RANDOM).unwrap();
        let p = parse(&img);
        assert_eq!(p.argv, vec![Vec::<u8>::new()]);
    }

    #[test]
    fn limits_are_e2big() {
        let long = vec![b'a'; MAX_ARG_STRLEN];
        let e = build_initial_stack(TOP, &[&long], &[], &[], b"/x", b"", &RANDOM).unwrap_err();
        assert_eq!(
            e,
            StackError::StringTooLong {
                len: MAX_ARG_STRLEN
            }
        );
        assert_eq!(e.to_errno(), Errno::E2BIG);
        let fits = vec![b'a'; MAX_ARG_STRLEN - 1];
        assert!(build_initial_stack(TOP, &[&fits], &[], &[], b"/x", b"", &RANDOM).is_ok());
        let many: Vec<&[u8]> = (0..20).map(|_| &fits[..]).collect();
        let e = build_initial_stack(TOP, &many, &[], &[], b"/x", b"", &RANDOM).unwrap_err();
        assert_eq!(e, StackError::TooBig);
        // Pointers count too: 300k empty variables are 2.4 MB of envp pointers.
        let empties: Vec<&[u8]> = vec![b""; 300_000];
        assert_eq!(
            build_initial_stack(TOP, &[], &empties, &[], b"/x", b"", &RANDOM),
            Err(StackError::TooBig)
        );
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let r = |top, argv: &[&[u8]], aux: &[(u64, u64)]| {
            build_initial_stack(top, argv, &[], aux, b"/x", b"", &RANDOM)
        };
        assert_eq!(
            r(TOP + 8, &[b"a"], &[]),
            Err(StackError::BadStackTop(TOP + 8))
        );
        assert_eq!(
            r(USER_END + 16, &[b"a"], &[]),
            Err(StackError::BadStackTop(USER_END + 16))
        );
        assert_eq!(r(64, &[b"a"], &[]), Err(StackError::BadStackTop(64)));
        assert_eq!(r(TOP, &[b"a\0b"], &[]), Err(StackError::InteriorNul));
        assert_eq!(
            r(TOP, &[b"a"], &[(AT_RANDOM, 1)]),
            Err(StackError::ReservedAuxvKey(AT_RANDOM))
        );
        assert_eq!(
            r(TOP, &[b"a"], &[(AT_NULL, 0)]),
            Err(StackError::ReservedAuxvKey(AT_NULL))
        );
        assert_eq!(StackError::InteriorNul.to_errno(), Errno::EINVAL);
    }

    #[test]
    fn auxv_keys_are_linux_values() {
        assert_eq!(
            (AT_PHDR, AT_ENTRY, AT_RANDOM, AT_EXECFN, AT_SYSINFO_EHDR),
            (3, 9, 25, 31, 33)
        );
    }
}
