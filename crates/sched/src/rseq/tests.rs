use super::*;
use oxv_abi::user::fake::FakeUserMemory;
use zerocopy::IntoBytes;

const AREA: u64 = 0x10_0000;
const CS: u64 = 0x10_0040;
const CODE: u64 = 0x40_0000;
const SIG: u32 = 0x5305_3053;

/// Memory with the area page and a code page holding the signature before `CODE + 0x100`.
fn mem() -> FakeUserMemory {
    let mut m = FakeUserMemory::new();
    m.map(AREA, 4096, true).map(CODE, 4096, false);
    m.poke(CODE + 0xfc, &SIG.to_ne_bytes());
    m
}

fn reg() -> Registration {
    Registration {
        area: UserAddr::new(AREA),
        len: ORIG_RSEQ_SIZE,
        sig: SIG,
    }
}

fn u32_at(m: &FakeUserMemory, a: u64) -> u32 {
    u32::from_ne_bytes(m.peek(a, 4).try_into().unwrap())
}

fn u64_at(m: &FakeUserMemory, a: u64) -> u64 {
    u64::from_ne_bytes(m.peek(a, 8).try_into().unwrap())
}

/// A section `[CODE, CODE + 0x40)` aborting to `CODE + 0x100`, named by the area.
fn with_section(m: &mut FakeUserMemory, cs: RseqCs) {
    m.poke(CS, cs.as_bytes());
    m.poke(AREA + 8, &CS.to_ne_bytes());
}

fn section() -> RseqCs {
    RseqCs {
        version: 0,
        flags: 0,
        start_ip: CODE,
        post_commit_offset: 0x40,
        abort_ip: CODE + 0x100,
    }
}

fn call(
    m: &mut FakeUserMemory,
    cur: Option<Registration>,
    area: u64,
    len: u32,
    flags: u32,
    sig: u32,
) -> Result<Option<Registration>, Errno> {
    rseq(m, cur, UserAddr::new(area), len, flags, sig)
}

#[test]
fn registration_takes_the_original_aligned_area_only() {
    let m = &mut mem();
    assert_eq!(call(m, None, AREA, 32, 0, SIG), Ok(Some(reg())));
    assert_eq!(call(m, None, AREA, 16, 0, SIG), Err(Errno::EINVAL));
    assert_eq!(
        call(m, None, AREA, 64, 0, SIG),
        Err(Errno::EINVAL),
        "6.1: one size"
    );
    assert_eq!(call(m, None, AREA + 8, 32, 0, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, None, AREA, 32, 2, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, None, USER_END, 32, 0, SIG), Err(Errno::EFAULT));
    // Registration writes nothing: the CPU fields come with the return to user space.
    assert_eq!(m.peek(AREA, 32), [0; 32]);
}

#[test]
fn a_second_registration_is_ebusy_einval_or_eperm() {
    let m = &mut mem();
    let cur = Some(reg());
    assert_eq!(call(m, cur, AREA, 32, 0, SIG), Err(Errno::EBUSY));
    assert_eq!(call(m, cur, AREA + 32, 32, 0, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, cur, AREA, 64, 0, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, cur, AREA, 32, 0, SIG + 1), Err(Errno::EPERM));
}

#[test]
fn unregistration_must_match_and_resets_the_cpu_fields() {
    let m = &mut mem();
    let cur = Some(reg());
    let un = FLAG_UNREGISTER;
    assert_eq!(call(m, None, AREA, 32, un, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, cur, AREA + 32, 32, un, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, cur, AREA, 64, un, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, cur, AREA, 32, un | 2, SIG), Err(Errno::EINVAL));
    assert_eq!(call(m, cur, AREA, 32, un, SIG + 1), Err(Errno::EPERM));
    resume(m, &reg(), CODE, 3).unwrap();
    assert_eq!(call(m, cur, AREA, 32, un, SIG), Ok(None));
    assert_eq!(
        (u32_at(m, AREA), u32_at(m, AREA + 4)),
        (0, CPU_ID_UNINITIALIZED)
    );
}

#[test]
fn resume_writes_the_cpu_and_leaves_ip_alone_without_a_section() {
    let m = &mut mem();
    assert_eq!(resume(m, &reg(), CODE + 8, 5), Ok(None));
    assert_eq!((u32_at(m, AREA), u32_at(m, AREA + 4)), (5, 5));
}

#[test]
fn inside_the_section_resume_goes_to_the_abort_address_and_clears_the_pointer() {
    for ip in [CODE, CODE + 0x3f] {
        let m = &mut mem();
        with_section(m, section());
        assert_eq!(
            resume(m, &reg(), ip, 1),
            Ok(Some(CODE + 0x100)),
            "ip {ip:#x}"
        );
        assert_eq!(u64_at(m, AREA + 8), 0);
        assert_eq!(u32_at(m, AREA + 4), 1);
    }
}

#[test]
fn outside_the_section_the_pointer_is_cleared_and_ip_kept() {
    for ip in [CODE - 1, CODE + 0x40, CODE + 0x100] {
        let m = &mut mem();
        with_section(m, section());
        assert_eq!(resume(m, &reg(), ip, 0), Ok(None), "ip {ip:#x}");
        assert_eq!(u64_at(m, AREA + 8), 0);
    }
    // Flags only matter inside.
    let m = &mut mem();
    with_section(
        m,
        RseqCs {
            flags: 1,
            ..section()
        },
    );
    assert_eq!(resume(m, &reg(), CODE + 0x40, 0), Ok(None));
}

#[test]
fn a_bad_descriptor_is_an_error_for_sigsegv() {
    let bad = [
        RseqCs {
            version: 1,
            ..section()
        },
        RseqCs {
            flags: 1,
            ..section()
        },
        RseqCs {
            abort_ip: CODE + 0x10,
            ..section()
        },
        RseqCs {
            start_ip: USER_END,
            ..section()
        },
        RseqCs {
            post_commit_offset: u64::MAX,
            ..section()
        },
        RseqCs {
            abort_ip: CODE + 0x200,
            ..section()
        }, // no signature before it
    ];
    for cs in bad {
        let m = &mut mem();
        with_section(m, cs);
        assert_eq!(
            resume(m, &reg(), CODE + 8, 0),
            Err(ResumeError::Invalid),
            "{cs:?}"
        );
    }
    let m = &mut mem();
    with_section(m, section());
    let other_sig = Registration {
        sig: SIG + 1,
        ..reg()
    };
    assert_eq!(
        resume(m, &other_sig, CODE + 0x80, 0),
        Err(ResumeError::Invalid),
        "signature checked outside the section too"
    );
    m.poke(AREA + 8, &USER_END.to_ne_bytes());
    assert_eq!(resume(m, &reg(), CODE, 0), Err(ResumeError::Invalid));
    m.poke(AREA + 8, &0x9000_0000u64.to_ne_bytes());
    assert!(matches!(
        resume(m, &reg(), CODE, 0),
        Err(ResumeError::Fault(_))
    ));
    let gone = Registration {
        area: UserAddr::new(0x7000_0000),
        ..reg()
    };
    assert!(matches!(
        resume(m, &gone, CODE, 0),
        Err(ResumeError::Fault(_))
    ));
}
