//! Memory-management constants: `PROT_*`, `MAP_*`, `MADV_*`, `MS_*`, `MREMAP_*`, `MCL_*` and
//! `MLOCK_*`, from `linux-raw-sys`.

macro_rules! consts {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "`")]
            pub const $name: u32 = linux_raw_sys::general::$name;
        )*
    };
}

consts! {
    PROT_READ, PROT_WRITE, PROT_EXEC, PROT_NONE, PROT_GROWSDOWN, PROT_GROWSUP,
    MAP_TYPE, MAP_FIXED, MAP_ANONYMOUS, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB,
    MAP_SYNC, MAP_FIXED_NOREPLACE, MAP_32BIT, MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE,
    MAP_GROWSDOWN, MAP_NORESERVE,
    MS_ASYNC, MS_INVALIDATE, MS_SYNC,
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
    MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_HWPOISON, MADV_SOFT_OFFLINE, MADV_MERGEABLE,
    MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
    MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
    MADV_POPULATE_WRITE, MADV_DONTNEED_LOCKED, MADV_COLLAPSE, MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
    MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP,
    MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT,
}

/// Whether `advice` is a madvise(2) value Linux knows (others are `EINVAL`).
///
/// `MADV_GUARD_INSTALL` and `MADV_GUARD_REMOVE` (Linux 6.13) are left out: oxv has no guard
/// regions, so it answers `EINVAL` like an older kernel, and libcs fall back to mprotect.
pub const fn is_known_advice(advice: i32) -> bool {
    matches!(
        advice as u32,
        MADV_NORMAL
            | MADV_RANDOM
            | MADV_SEQUENTIAL
            | MADV_WILLNEED
            | MADV_DONTNEED
            | MADV_FREE
            | MADV_REMOVE
            | MADV_DONTFORK
            | MADV_DOFORK
            | MADV_HWPOISON
            | MADV_SOFT_OFFLINE
            | MADV_MERGEABLE
            | MADV_UNMERGEABLE
            | MADV_HUGEPAGE
            | MADV_NOHUGEPAGE
            | MADV_DONTDUMP
            | MADV_DODUMP
            | MADV_WIPEONFORK
            | MADV_KEEPONFORK
            | MADV_COLD
            | MADV_PAGEOUT
            | MADV_POPULATE_READ
            | MADV_POPULATE_WRITE
            | MADV_DONTNEED_LOCKED
            | MADV_COLLAPSE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(MAP_ANONYMOUS, 0x20);
        assert_eq!(MADV_DONTNEED, 4);
        assert_eq!((MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP), (1, 2, 4));
        assert_eq!(
            (MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT),
            (1, 2, 4, 1)
        );
        assert!(
            is_known_advice(4)
                && is_known_advice(14)
                && !is_known_advice(7)
                && !is_known_advice(-1)
        );
    }
}
