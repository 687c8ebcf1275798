// stress: millions of random system calls with random arguments, to show that no sequence of
// calls an app can make brings the kernel down or corrupts the app's own memory.
//
// Build:  gcc -static -O2 -pthread -o stress stress.c        (or musl-gcc -static)
// Run:    ./stress [-s SEED] [-n CALLS] [-t SECONDS] [-p PROCESSES] [-T THREADS] [-v]
//         cargo oxv run --mem 512M --timeout 600 -- ./stress -s SEED -n CALLS
//
// Each call is drawn from a table of system calls (most of Linux's, including every one oxv
// decodes, plus numbers Linux does not define), with arguments drawn per kind: pointers into
// mapped, unmapped, read-only, guard-page-straddling, non-canonical and kernel memory; fds
// that are open, closed, negative or huge; random flags, lengths, offsets and modes; paths
// that exist, do not, loop or are too long. Calls that would legitimately end or block the
// process, or that could harm the host when the program runs there as root (reboot, mount,
// module loading, setting the clock, signalling other processes, sleeping without a timeout,
// closing stdout...), are left out or have those arguments constrained: see README.md.
//
// Invariants checked: every result is a value or a Linux errno (a kernel-internal code such
// as -ERESTARTSYS leaking out is counted as "bad"); a canary region the app never passes to
// the kernel keeps its checksum (verified every 4096 calls and at the end).
//
// -T N runs N threads in one process: they share the fds, the arena, the playground and the
// read-only page, each draws from its own random stream (derived from the seed) and keeps
// its own canaries (a mapping and a region of its own stack), and the random memory calls
// still only remap the playground, so no thread's stack, TLS or canary can be unmapped or
// reprotected by another's random call. -p and -T combine (N processes of M threads).
//
// Output (stdout): the seed first, then one summary line and an errno histogram:
//   stress: seed=S calls=N ok=A err=B bad=0 canary=ok seconds=T
// (with -T, a line per thread first, and the summary line says threads=N: see README.md)
//   stress: errors EFAULT=.. EINVAL=.. ...
// Exit status 0 when every invariant held, 1 otherwise.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARENA_SIZE (1u << 20)
#define PLAY_SIZE (16u << 20)
#define CANARY_SIZE (256u << 10)
#define PAGE 4096ul

// ---- randomness (xorshift64*; the seed makes a run reproducible) ----------------------

static __thread uint64_t rng_state;  // each thread its own stream
static int in_oxv;  // running on oxv (uname release ends in -oxv), not on a Linux host
static int chrooted;  // confined to its directory (root on a host)

static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

// splitmix64: spreads a seed and a thread number into an unrelated starting state.
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }
static int one_in(uint64_t n) { return below(n) == 0; }

// ---- memory the program owns ----------------------------------------------------------

static unsigned char *arena;      // read-write scratch the kernel may write anywhere in
static unsigned char *play;       // 16 MiB the memory calls may remap, protect, unmap
static unsigned char *ro_page;    // a read-only page
static unsigned char canary_bss[64 << 10];  // shared by the threads, never written
static uint64_t initial_brk;

#define MAX_THREADS 16
#define STACK_CANARY_SIZE (16u << 10)
#define OWN_SIZE (64u << 10)

// One thread of random calls: its canaries (never passed to the kernel: they must never
// change), the mappings its calls created, and its figures.
struct worker {
    int index;
    uint64_t seed;
    pid_t tid;
    unsigned char *canary;        // CANARY_SIZE bytes of its own mapping
    unsigned char *stack_canary;  // STACK_CANARY_SIZE bytes of its own stack
    uint64_t canary_sum;
    struct { uint64_t addr, len; } mapped[64];
    unsigned mapped_next;
    uint64_t done, n_ok, n_err, n_bad, errs[4096];
    int canary_ok;
    double secs;
    // Where it builds the structures it passes (iovecs, sigactions, rlimits, pollfds), with
    // threads: in the shared arena, another thread's call could rewrite them between their
    // checks and the call (a handler address for an ignored signal, an iovec base pointing
    // at a stack a get_robust_list or arch_prctl(ARCH_GET_FS) wrote into the arena).
    unsigned char own[OWN_SIZE] __attribute__((aligned(64)));
    // The only place rseq(2) may register: its rseq_cs stays 0, so the kernel never aborts
    // into a random critical section (a registration on arena bytes is a legitimate SIGSEGV
    // at the next preemption, when the libc has not registered first: musl).
    unsigned char rseq_area[64] __attribute__((aligned(32)));
};
static struct worker workers[MAX_THREADS];
static __thread struct worker *me;
static int n_threads = 1;
static atomic_int go, finished;

// Room for a structure (at most 256 bytes) at `off` of the arena (one thread), or of the
// thread's own buffer (several threads: see `own`), keeping the offset's alignment.
static unsigned char *struct_at(uint64_t off) {
    if (n_threads <= 1) return arena + off;
    return me->own + off % (OWN_SIZE / 2);
}

static uint64_t sum_bytes(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i += 8) h = (h ^ *(const uint64_t *)(p + i)) * 0x100000001b3ull;
    return h;
}

static uint64_t checksum(void) {
    uint64_t h = 0xcbf29ce484222325ull;
    h = sum_bytes(h, me->canary, CANARY_SIZE);
    h = sum_bytes(h, canary_bss, sizeof canary_bss);
    return sum_bytes(h, me->stack_canary, STACK_CANARY_SIZE);
}

// Random bytes for the arena, never '/', so a random "path" stays in the current directory.
static void refill_arena(void) {
    for (size_t i = 0; i < ARENA_SIZE; i += 8) {
        uint64_t v = rnd();
        memcpy(arena + i, &v, 8);
    }
    for (size_t i = 0; i < ARENA_SIZE; i++)
        if (arena[i] == '/') arena[i] = 'x';
}

// ---- argument pools -------------------------------------------------------------------

static const char *const paths[] = {
    "a", "b", "dir", "dir/a", "dir/../b", "lnk", "loop", "", ".", "..", "/", "a/", "////",
    // Not /proc/self/exe: oxv lets it be truncated while it runs (bug 7, repro/etxtbsy.c).
    "/proc/self/cmdline", "/proc/self/maps", "/proc", "/dev/null",
    "/dev/zero", "/dev/urandom", "/dev/full", "/tmp", "/tmp/x", "nonexistent/x", "a/b/c/d",
    "dir/a/../../a", "/tmp/oxv-stress-dir",
};
static char long_name[300];
static char long_path[5000];

// A pointer: mostly into memory that works, often not.
static uint64_t any_ptr(void) {
    switch (below(16)) {
    case 0: return 0;
    case 1: case 2: case 3: case 4: return (uint64_t)arena + below(ARENA_SIZE);
    case 5: return (uint64_t)arena + (below(ARENA_SIZE / 8) * 8);
    case 6: return (uint64_t)arena + ARENA_SIZE - below(64);  // straddles the guard page
    case 7: case 8: return (uint64_t)play + below(PLAY_SIZE);
    case 9: return (uint64_t)ro_page + below(PAGE);
    case 10: return below(0x10000);                            // low, unmapped
    case 11: return 0xffff800000000000ull + below(1ull << 40); // the kernel's direct map
    case 12: return 0xffffffff80000000ull + below(1u << 30);   // the kernel image
    case 13: return 0x0000800000000000ull + below(1ull << 40); // non-canonical
    case 14: return (uint64_t)-1 - below(64);
    default: return (uint64_t)arena + below(64);
    }
}

static uint64_t path_ptr(void) {
    switch (below(8)) {
    case 0: case 1: case 2: case 3: {
        const char *p = paths[below(sizeof paths / sizeof *paths)];
        // Without a chroot, absolute paths would name the host's files.
        return (uint64_t)(p[0] == '/' && !in_oxv && !chrooted ? "a" : p);
    }
    case 4: return (uint64_t)long_name;
    case 5: return one_in(2) ? (uint64_t)long_path : (uint64_t)long_path + 4000;
    default: return any_ptr();
    }
}

static int fixed_fds[8];

// An fd argument; never 0-2 unless `std_ok` (stdout and stderr carry the report).
static uint64_t fd_arg(int std_ok) {
    int fd;
    switch (below(10)) {
    case 0: fd = -1; break;
    case 1: fd = AT_FDCWD; break;
    case 2: fd = 0x7fffffff; break;
    case 3: fd = (int)rnd(); break;
    case 4: case 5: fd = fixed_fds[below(8)]; break;
    default: fd = 3 + (int)below(30); break;
    }
    if (!std_ok && fd >= 0 && fd <= 2) fd += 3;
    // stdin is a host object on a host (often /dev/null itself): only in oxv.
    if (std_ok && in_oxv && one_in(20)) fd = 0;
    else if (fd >= 0 && fd <= 2) fd += 3;
    uint64_t v = (uint32_t)fd;
    if (one_in(8)) v |= rnd() << 32;  // garbage above an int, which the kernel ignores
    return v;
}

static uint64_t len_arg(void) {
    switch (below(10)) {
    case 0: return 0;
    case 1: case 2: return below(64);
    case 3: case 4: return below(PAGE * 2);
    case 5: return PAGE;
    case 6: return below(ARENA_SIZE);
    case 7: return (uint64_t)-1;
    case 8: return 0x7ffff000;
    default: return rnd() >> below(64);
    }
}

static uint64_t flags_arg(void) {
    switch (below(4)) {
    case 0: return 0;
    case 1: return 1ull << below(32);
    case 2: return rnd() & rnd() & 0xffffffff;
    default: return rnd();
    }
}

static uint64_t int_arg(void) {
    return one_in(4) ? rnd() : (uint64_t)(int64_t)((int)below(70) - 3);
}

static uint64_t off_arg(void) {
    switch (below(6)) {
    case 0: return 0;
    case 1: return below(PAGE * 4);
    case 2: return below(64) * PAGE;
    case 3: return (uint64_t)-(int64_t)below(PAGE);
    case 4: return 1ull << below(64);
    default: return rnd();
    }
}

// Timespecs/timevals that keep sleeps short (or invalid): the call must come back.
static struct timespec short_times[6];

// A relative timeout of at most 100 µs, an invalid one, or one that faults.
static uint64_t timeout_ptr(void) {
    static const int relative_ok[] = {0, 1, 2, 4, 5};  // not [3], one second
    switch (below(6)) {
    case 0: return 0xffff800000000000ull;  // faults
    case 1: return (uint64_t)ro_page + PAGE - 8;  // straddles into unmapped memory
    default: return (uint64_t)&short_times[relative_ok[below(5)]];
    }
}

// An address for calls that change mappings: only the playground, or addresses that fail.
static uint64_t mem_target(void) {
    switch (below(8)) {
    case 0: return 0;
    case 1: return 0xffff800000000000ull + below(64) * PAGE;
    case 2: return (uint64_t)play + below(PLAY_SIZE);  // unaligned, mostly
    case 3: return 0x0000800000000000ull;
    default: return (uint64_t)play + below(PLAY_SIZE / PAGE) * PAGE;
    }
}

static uint64_t mem_len(void) {
    switch (below(6)) {
    case 0: return 0;
    case 1: return below(PAGE * 8);
    case 2: return (uint64_t)-1;
    default: return (1 + below(256)) * PAGE;
    }
}

// An iovec array in the arena, its entries pointing anywhere `any_ptr` does.
static uint64_t iovec_ptr(void) {
    if (one_in(4)) return any_ptr();
    uint64_t *iov = (uint64_t *)struct_at(below(ARENA_SIZE / 16 - 64) * 16);
    for (int i = 0; i < 16; i++) {
        iov[2 * i] = any_ptr();
        iov[2 * i + 1] = len_arg() & (one_in(2) ? 0xfff : ~0ull);
    }
    return (uint64_t)iov;
}

static uint64_t count_arg(void) {
    switch (below(5)) {
    case 0: return 0;
    case 1: case 2: return 1 + below(16);
    case 3: return 1025;
    default: return rnd();
    }
}

// Signals this program may have sent to itself or the host may send it: their handlers stay
// SIG_DFL or SIG_IGN, never a random address.
static int sent_signal(int sig) {
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT || sig == SIGPIPE ||
           sig == SIGXFSZ || sig == SIGXCPU || sig == SIGIO || sig == SIGSEGV || sig == SIGBUS ||
           sig == SIGILL || sig == SIGFPE || sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS ||
           sig == SIGALRM || sig == SIGVTALRM || sig == SIGPROF || sig == SIGTERM || sig == SIGINT ||
           sig == SIGHUP || sig == SIGQUIT || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

// Signals a call can raise against us whose default action ends the process: they stay
// ignored (set up in main, and any new disposition for them is SIG_IGN).
static int kept_ignored(int sig) {
    return sig == SIGPIPE || sig == SIGXFSZ || sig == SIGXCPU || sig == SIGIO || sig == SIGALRM ||
           sig == SIGVTALRM || sig == SIGPROF;
}

// ---- the call table -------------------------------------------------------------------

// Argument kinds: f fd (not 0-2), F fd (stdin allowed), p pointer, s path, l length,
// x flags, i int, o offset, m mode, T timeout pointer, v iovec array, n count, a mapping
// address, L mapping length, u raw random, 0 zero, P pid (self, 0 or none), c clock id.
struct call { long nr; const char *args; };

static const struct call calls[] = {
    {SYS_read, "Fpl"}, {SYS_write, "fpl"}, {SYS_open, "sxm"}, {SYS_close, "f"},
    {SYS_stat, "sp"}, {SYS_fstat, "Fp"}, {SYS_lstat, "sp"}, {SYS_poll, "pn0"},
    {SYS_lseek, "foi"}, {SYS_mmap, "*"}, {SYS_mprotect, "aLx"}, {SYS_munmap, "aL"},
    {SYS_brk, "*"}, {SYS_rt_sigaction, "*"}, {SYS_rt_sigprocmask, "ippl"}, {SYS_ioctl, "fup"},
    {SYS_pread64, "Fplo"}, {SYS_pwrite64, "fplo"}, {SYS_readv, "Fvn"}, {SYS_writev, "fvn"},
    {SYS_access, "si"}, {SYS_sched_yield, ""}, {SYS_mremap, "*"}, {SYS_msync, "aLx"},
    {SYS_mincore, "aLp"}, {SYS_madvise, "*"}, {SYS_dup, "F"}, {SYS_dup2, "ff"},
    {SYS_nanosleep, "TT"}, {SYS_getpid, ""}, {SYS_getitimer, "ip"}, {SYS_sendfile, "ffpl"},
    {SYS_kill, "*"}, {SYS_uname, "p"}, {SYS_fcntl, "*"}, {SYS_flock, "*"}, {SYS_fsync, "f"},
    {SYS_fdatasync, "f"}, {SYS_truncate, "so"}, {SYS_ftruncate, "fo"}, {SYS_getdents64, "fpl"},
    {SYS_getcwd, "pl"}, {SYS_chdir, "s"}, {SYS_fchdir, "f"}, {SYS_rename, "ss"},
    {SYS_mkdir, "sm"}, {SYS_rmdir, "s"}, {SYS_creat, "sm"}, {SYS_link, "ss"},
    {SYS_unlink, "s"}, {SYS_symlink, "ss"}, {SYS_readlink, "spl"}, {SYS_chmod, "sm"},
    {SYS_fchmod, "fm"}, {SYS_umask, "m"}, {SYS_gettimeofday, "pp"}, {SYS_getrlimit, "ip"},
    {SYS_getrusage, "ip"}, {SYS_sysinfo, "p"}, {SYS_times, "p"}, {SYS_getuid, ""},
    {SYS_getgid, ""}, {SYS_geteuid, ""}, {SYS_getegid, ""}, {SYS_getppid, ""},
    {SYS_getpgrp, ""}, {SYS_getgroups, "lp"}, {SYS_getpgid, "P"}, {SYS_getsid, "P"},
    {SYS_capget, "pp"}, {SYS_rt_sigpending, "pl"}, {SYS_sigaltstack, "pp"},
    {SYS_utime, "sp"}, {SYS_statfs, "sp"}, {SYS_fstatfs, "fp"}, {SYS_getpriority, "iP"},
    {SYS_sched_getparam, "Pp"}, {SYS_sched_getscheduler, "P"},
    {SYS_sched_get_priority_max, "i"}, {SYS_sched_rr_get_interval, "Pp"},
    {SYS_prctl, "*"}, {SYS_arch_prctl, "*"}, {SYS_setrlimit, "*"}, {SYS_gettid, ""},
    {SYS_readahead, "fol"}, {SYS_getxattr, "sspl"}, {SYS_listxattr, "spl"},
    {SYS_setxattr, "sspli"}, {SYS_fgetxattr, "fspl"}, {SYS_time, "p"}, {SYS_futex, "*"},
    {SYS_sched_getaffinity, "Plp"}, {SYS_getdents64, "Fpl"}, {SYS_set_tid_address, "p"},
    {SYS_fadvise64, "foli"}, {SYS_clock_gettime, "cp"}, {SYS_clock_getres, "cp"},
    {SYS_clock_nanosleep, "*"}, {SYS_tgkill, "*"}, {SYS_utimes, "sp"},
    {SYS_openat, "fsxm"}, {SYS_mkdirat, "fsm"}, {SYS_fchownat, "fsiix"},
    {SYS_newfstatat, "fspx"}, {SYS_unlinkat, "fsx"}, {SYS_renameat, "fsfs"},
    {SYS_linkat, "fsfsx"}, {SYS_symlinkat, "sfs"}, {SYS_readlinkat, "fspl"},
    {SYS_fchmodat, "fsm"}, {SYS_faccessat, "fsi"}, {SYS_pselect6, "*"}, {SYS_ppoll, "*"},
    {SYS_set_robust_list, "pl"}, {SYS_get_robust_list, "Ppp"}, {SYS_splice, "fpfplx"},
    {SYS_utimensat, "fspx"}, {SYS_dup3, "ffx"}, {SYS_preadv, "Fvno"}, {SYS_pwritev, "fvno"},
    {SYS_prlimit64, "*"}, {SYS_getcpu, "ppp"}, {SYS_renameat2, "fsfsx"},
    {SYS_getrandom, "plx"}, {SYS_memfd_create, "sx"}, {SYS_copy_file_range, "fpfplx"},
    {SYS_preadv2, "Fvnox"}, {SYS_pwritev2, "fvnox"}, {SYS_statx, "fsxxp"},
    {SYS_rseq, "plxu"}, {SYS_sync_file_range, "foox"}, {SYS_tkill, "*"},
#ifdef SYS_faccessat2
    {SYS_faccessat2, "fsix"},
#endif
#ifdef SYS_close_range
    {SYS_close_range, "*"},
#endif
#ifdef SYS_openat2
    {SYS_openat2, "fspl"},
#endif
    {-1, "uuuuuu"},  // a number Linux does not define
};
#define NCALLS (sizeof calls / sizeof *calls)

// ---- constraints that keep the process alive and the host safe ------------------------

static const long wait_ops[] = {0, 6, 9, 11, 13};  // FUTEX_WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2

static void special_args(long nr, uint64_t a[6]) {
    switch (nr) {
    case SYS_mmap: {
        a[0] = one_in(3) ? mem_target() : any_ptr();
        a[1] = one_in(4) ? len_arg() : (1 + below(64)) * PAGE;
        a[2] = below(8) | (one_in(16) ? rnd() : 0);
        a[3] = (one_in(3) ? MAP_SHARED : MAP_PRIVATE) | (one_in(2) ? MAP_ANONYMOUS : 0);
        if (one_in(4)) a[3] |= 1ull << below(24);
        if (one_in(16)) a[3] = rnd();
        // Replacing memory is only allowed in the playground; elsewhere it must fail.
        if ((a[3] & MAP_FIXED) && !(a[0] >= (uint64_t)play && a[0] < (uint64_t)play + PLAY_SIZE))
            a[3] = (a[3] & ~(uint64_t)MAP_FIXED) | MAP_FIXED_NOREPLACE;
        if ((a[3] & MAP_FIXED) && a[0] + a[1] > (uint64_t)play + PLAY_SIZE)
            a[1] = (uint64_t)play + PLAY_SIZE - (a[0] & ~(PAGE - 1));
        if (a[1] > (16u << 20)) a[3] &= ~(uint64_t)(MAP_POPULATE | MAP_LOCKED);
        a[4] = fd_arg(0);
        a[5] = one_in(3) ? off_arg() : below(8) * PAGE;
        break;
    }
    case SYS_mprotect: case SYS_munmap: case SYS_msync:
        a[0] = mem_target();
        if (a[0] >= (uint64_t)play && a[0] < (uint64_t)play + PLAY_SIZE &&
            a[0] + (a[1] > PLAY_SIZE ? PLAY_SIZE : a[1]) > (uint64_t)play + PLAY_SIZE)
            a[1] = (uint64_t)play + PLAY_SIZE - a[0];
        if (a[0] >= (uint64_t)play && a[0] < (uint64_t)play + PLAY_SIZE && a[1] > PLAY_SIZE)
            a[1] = (uint64_t)play + PLAY_SIZE - a[0];
        break;
    case SYS_madvise:
        a[0] = mem_target();
        a[1] = one_in(4) ? mem_len() : below(16) * PAGE;
        if (a[0] >= (uint64_t)play && a[0] + a[1] > (uint64_t)play + PLAY_SIZE)
            a[1] = (uint64_t)play + PLAY_SIZE - a[0];
        a[2] = below(30);  // below MADV_HWPOISON (100): poisoning pages is not an app's business
        break;
    case SYS_mremap:
        a[0] = mem_target();
        a[1] = below(16) * PAGE;
        a[2] = one_in(4) ? len_arg() : below(16) * PAGE;
        a[3] = below(8);  // MAYMOVE, FIXED, DONTUNMAP
        a[4] = mem_target();
        if (a[0] < (uint64_t)play || a[0] + a[1] > (uint64_t)play + PLAY_SIZE ||
            a[4] < (uint64_t)play || a[4] + a[2] > (uint64_t)play + PLAY_SIZE)
            a[3] &= ~3ull, a[0] = 0xffff800000000000ull, a[2] = a[1];
        break;
    case SYS_brk:
        // Below the initial break is glibc's TLS: only at or above it (or absurd values).
        a[0] = one_in(4) ? (one_in(2) ? 0 : 0xffff800000000000ull)
                         : initial_brk + below(64) * PAGE + below(PAGE);
        break;
    case SYS_rt_sigaction: {
        int sig = (int)below(66);
        a[0] = (uint64_t)(int64_t)sig;
        uint64_t *act = (uint64_t *)struct_at(below(ARENA_SIZE / 32 - 1) * 32);
        act[0] = sent_signal(sig) ? below(2) : (one_in(2) ? below(2) : rnd());
        if (kept_ignored(sig)) act[0] = 1;  // SIG_IGN: their default action ends the process
        act[1] = rnd() & ~0x08000000ull;  // no SA_ONSTACK handler jumps onto a random stack
        act[2] = rnd();
        act[3] = rnd();
        a[1] = one_in(8) ? any_ptr() : (uint64_t)act;
        if (sent_signal(sig) && a[1] != (uint64_t)act) a[1] = 0;
        a[2] = any_ptr();
        a[3] = one_in(8) ? len_arg() : 8;
        break;
    }
    case SYS_kill: case SYS_tkill: case SYS_tgkill: {
        // Only ourselves, or a pid nobody has; only signals that do nothing by default.
        static const int harmless[] = {0, SIGCHLD, SIGURG, SIGWINCH, SIGCONT};
        int self = (int)syscall(SYS_getpid);
        int pid = one_in(2) ? self : 0x3ffffff0 + (int)below(8);
        // With threads, tkill/tgkill also aim at a sibling (or the waiting main thread).
        int tid = pid;
        if (n_threads > 1 && pid == self && one_in(2)) tid = workers[below(n_threads)].tid;
        int sig = harmless[below(5)];
        if (one_in(8)) sig = 65 + (int)below(100);  // invalid
        if (nr == SYS_tgkill) { a[0] = pid; a[1] = tid; a[2] = sig; }
        else { a[0] = nr == SYS_tkill ? tid : pid; a[1] = sig; }
        break;
    }
    case SYS_fcntl: {
        static const int cmds[] = {F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL,
                                   F_GETLK, F_SETLK, F_OFD_GETLK, F_OFD_SETLK, F_GETPIPE_SZ, 1100,
                                   -1};
        a[0] = fd_arg(0);
        a[1] = (uint64_t)(int64_t)cmds[below(13)];
        a[2] = one_in(2) ? any_ptr() : int_arg();
        break;
    }
    case SYS_flock:
        a[0] = fd_arg(0);
        a[1] = (below(16) | LOCK_NB);  // never wait for a lock another fd of ours holds
        break;
    case SYS_prctl: {
        static const int opts[] = {PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_GET_NAME, PR_SET_NAME,
                                   PR_GET_PDEATHSIG, PR_GET_TIMERSLACK, PR_GET_NO_NEW_PRIVS,
                                   PR_GET_THP_DISABLE, PR_GET_CHILD_SUBREAPER, 1000, -1};
        a[0] = (uint64_t)(int64_t)opts[below(11)];
        a[1] = one_in(2) ? any_ptr() : below(3);
        break;
    }
    case SYS_arch_prctl: {
        // Only queries: setting FS would pull the TLS out from under libc, ARCH_SET_CPUID
        // would make CPUID fault, ARCH_MAP_VDSO_* would map over memory.
        static const uint64_t codes[] = {0x1003 /* GET_FS */, 0x1004 /* GET_GS */,
                                         0x1011 /* GET_CPUID */, 0x1021, 0x1022, 0x4001,
                                         0x7777 /* invalid */, 0};
        a[0] = codes[below(8)];
        a[1] = any_ptr();
        break;
    }
    case SYS_ioctl:
        a[0] = fd_arg(0);
        if (!in_oxv) {
            // On a host as root, a random ioctl on a file can reach the file system's own
            // (EXT4_IOC_SHUTDOWN...): only terminal and generic file requests there.
            static const uint64_t safe[] = {0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */,
                                            0x541b /* FIONREAD */, 0x5451 /* FIOCLEX */,
                                            0x5450 /* FIONCLEX */, 0x5a5a0000};
            a[1] = safe[below(6)] | (one_in(4) ? rnd() << 32 : 0);
        }
        a[2] = any_ptr();
        break;
    case SYS_setrlimit: case SYS_prlimit64: {
        // Not CPU or RTTIME (their signals end the process); only our own limits.
        // Not STACK or AS either: a stack that cannot grow any more is a legitimate SIGSEGV.
        static const int res[] = {RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_CORE, RLIMIT_NOFILE,
                                  RLIMIT_MEMLOCK, RLIMIT_NPROC, RLIMIT_MSGQUEUE, 16, -1};
        uint64_t *lim = (uint64_t *)struct_at(below(ARENA_SIZE / 16 - 1) * 16);
        lim[0] = one_in(2) ? (uint64_t)-1 : rnd() >> below(64);
        lim[1] = one_in(2) ? (uint64_t)-1 : rnd() >> below(64);
        int r = res[below(9)];
        // The report goes to stdout, maybe a file: FSIZE's hard limit stays, its soft limit is
        // restored before the report.
        if (r == RLIMIT_FSIZE) lim[1] = (uint64_t)-1;
        // (A random limit from any_ptr() may lower FSIZE's hard limit for good: not for it.)
        int any_ok = r != RLIMIT_FSIZE && one_in(4);
        if (nr == SYS_setrlimit) {
            a[0] = (uint64_t)(int64_t)r;
            a[1] = any_ok ? any_ptr() : (uint64_t)lim;
        } else {
            a[0] = one_in(2) ? 0 : (uint64_t)syscall(SYS_getpid);
            a[1] = (uint64_t)(int64_t)r;
            a[2] = one_in(2) ? 0 : (any_ok ? any_ptr() : (uint64_t)lim);
            a[3] = any_ptr();
        }
        break;
    }
    case SYS_futex: {
        a[0] = any_ptr();
        a[1] = below(16) | (one_in(2) ? 128 : 0) | (one_in(4) ? 256 : 0);
        if (one_in(16)) a[1] = rnd();
        a[2] = one_in(2) ? 0 : rnd();
        for (size_t i = 0; i < sizeof wait_ops / sizeof *wait_ops; i++)
            if ((a[1] & 127) == (uint64_t)wait_ops[i]) a[3] = (uint64_t)&short_times[below(3)];
        if (!((a[1] & 127) == 0 || (a[1] & 127) == 9 || (a[1] & 127) == 6 ||
              (a[1] & 127) == 11 || (a[1] & 127) == 13))
            a[3] = rnd();
        a[4] = any_ptr();
        a[5] = rnd();
        if (((a[1] & 127) == 9 || (a[1] & 127) == 0) && (a[1] & 256) && one_in(2))
            a[3] = (uint64_t)&short_times[3];  // an absolute realtime deadline in the past
        break;
    }
    case SYS_clock_nanosleep:
        a[0] = below(12);
        a[1] = below(2);  // TIMER_ABSTIME: the pool's times are all in the past or tiny
        a[2] = timeout_ptr();
        a[3] = any_ptr();
        if (a[0] == CLOCK_PROCESS_CPUTIME_ID || a[0] == CLOCK_THREAD_CPUTIME_ID) {
            // A sleeping process uses no CPU time: only an absolute time already past returns.
            a[1] = TIMER_ABSTIME;
            a[2] = (uint64_t)&short_times[0];
        }
        break;
    case SYS_pselect6: {
        a[0] = below(40);
        a[1] = any_ptr(); a[2] = any_ptr(); a[3] = any_ptr();
        a[4] = timeout_ptr();
        a[5] = one_in(2) ? 0 : any_ptr();
        break;
    }
    case SYS_ppoll: {
        uint32_t *fds = (uint32_t *)struct_at(below(ARENA_SIZE / 8 - 64) * 8);
        for (int i = 0; i < 16; i++) {
            fds[2 * i] = (uint32_t)fd_arg(1);
            fds[2 * i + 1] = (uint32_t)rnd() & 0xffff;
        }
        a[0] = one_in(4) ? any_ptr() : (uint64_t)fds;
        a[1] = count_arg();
        a[2] = timeout_ptr();
        a[3] = one_in(2) ? 0 : any_ptr();
        a[4] = one_in(4) ? len_arg() : 8;
        break;
    }
    case SYS_rseq:
        // (No new random draws: the sequence of calls stays that of earlier versions.)
        if (a[3] & 1) {
            a[0] = (uint64_t)me->rseq_area;
            if (a[3] & 2) a[1] = 32;
            a[2] &= 1;  // register, or RSEQ_FLAG_UNREGISTER
        } else {
            a[2] = 1;  // unregistering what is not registered: EINVAL
        }
        break;
#ifdef SYS_close_range
    case SYS_close_range:
        a[0] = 3 + below(40);
        a[1] = a[0] + below(40);
        a[2] = below(8);
        break;
#endif
    default:
        break;
    }
    if (nr == SYS_poll) a[2] = below(2);  // milliseconds: 0 or 1
}

static uint64_t arg_of(char kind) {
    switch (kind) {
    case 'f': return fd_arg(0);
    case 'F': return fd_arg(1);
    case 'p': return any_ptr();
    case 's': return path_ptr();
    case 'l': return len_arg();
    case 'x': return flags_arg();
    case 'i': return int_arg();
    case 'o': return off_arg();
    case 'm': return one_in(4) ? rnd() : below(010000);
    case 'T': return timeout_ptr();
    case 'v': return iovec_ptr();
    case 'n': return count_arg();
    case 'a': return mem_target();
    case 'L': return mem_len();
    case 'P': return one_in(2) ? 0 : (one_in(2) ? (uint64_t)syscall(SYS_getpid) : 0x3ffffff0);
    case 'c': return one_in(8) ? rnd() : below(16);
    case '0': return 0;
    default: return rnd();
    }
}

static long undefined_nr(void) {
    // Numbers Linux leaves undefined: the end of the 335-423 gap, and 600-1023 (past the
    // table, without the x32 bit). Not the start of the gap: hypervisor sandboxes use it.
    return one_in(2) ? 400 + (long)below(424 - 400) : 600 + (long)below(424);
}

// ---- bookkeeping ----------------------------------------------------------------------

static const char *home = ".";

static void reset_files(void) {
    syscall(SYS_chdir, home);
    for (int fd = 3; fd < 128; fd++) syscall(SYS_close, fd);
    static const char *const names[] = {"a", "b", "dir/a", "big"};
    for (int i = 0; i < 4; i++) {
        int fd = (int)syscall(SYS_open, names[i], O_RDWR | O_CREAT, 0644);
        if (fd >= 0) {
            syscall(SYS_ftruncate, fd, 0);
            syscall(SYS_pwrite64, fd, arena, 8192, 0);
            syscall(SYS_close, fd);
        }
    }
}

static void out(const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(1, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static double now_s(void) {
    struct timespec t;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int run(uint64_t seed, uint64_t total, double limit, uint64_t verbose_from, int threads);

int main(int argc, char **argv) {
    uint64_t seed = 0, total = 1000000;
    double limit = 0;
    uint64_t verbose_from = UINT64_MAX;
    int procs = 1, threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc) seed = strtoull(argv[++i], 0, 0);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) total = strtoull(argv[++i], 0, 0);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) limit = strtod(argv[++i], 0);
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) procs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-T") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-v")) verbose_from = 0;
        else if (!strcmp(argv[i], "-V") && i + 1 < argc) verbose_from = strtoull(argv[++i], 0, 0);
        else {
            out("usage: stress [-s SEED] [-n CALLS] [-t SECONDS] [-p PROCESSES] [-T THREADS]\n"
                "              [-v | -V FROM]\n");
            return 2;
        }
    }
    if (!seed) seed = (uint64_t)time(0) ^ ((uint64_t)getpid() << 32);
    // -p N: N processes at once (each its own seed, seed+k, and directory), so that on
    // several vCPUs the kernel takes calls from several CPUs concurrently. The parent only
    // waits: it makes no random calls of its own (a random wait4 could reap a child).
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (procs <= 1) return run(seed, total, limit, verbose_from, threads);
    if (procs > 64) procs = 64;
    pid_t kids[64];
    int n_kids = 0, failed = 0;
    for (int k = 0; k < procs; k++) {
        pid_t pid = fork();
        if (pid == 0) return run(seed + (uint64_t)k, total, limit, verbose_from, threads);
        if (pid > 0) kids[n_kids++] = pid;
        else failed++;
    }
    for (int k = 0; k < n_kids; k++) {
        int st = 0;
        if (waitpid(kids[k], &st, 0) != kids[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
    }
    char line[128];
    snprintf(line, sizeof line, "stress: processes=%d failed=%d\n", procs, failed);
    out(line);
    return failed ? 1 : 0;
}

struct plan {
    uint64_t total;
    double limit;
    uint64_t verbose_from;
};
static struct plan plan;

// The random calls of one thread (or of the process, without -T): `me` is set.
static void call_loop(void) {
    // Part of this thread's own stack that no call is ever given: a random call that wrote
    // into another thread's stack (or the kernel switching stacks wrongly) would show here.
    unsigned char stack_canary[STACK_CANARY_SIZE] __attribute__((aligned(8)));
    for (size_t i = 0; i < sizeof stack_canary; i++)
        stack_canary[i] = (unsigned char)(i * 29 + (unsigned)me->index * 7 + 1);
    me->stack_canary = stack_canary;
    me->canary_sum = checksum();
    char line[512];
    const char *who = "";
    char who_buf[16];
    if (n_threads > 1) {
        snprintf(who_buf, sizeof who_buf, "T%d ", me->index);
        who = who_buf;
    }
    double start = now_s();
    uint64_t done = 0;
    for (; done < plan.total; done++) {
        if ((done & 4095) == 0 && done) {
            if (checksum() != me->canary_sum) break;
            reset_files();
            refill_arena();
            if (plan.limit > 0 && now_s() - start > plan.limit) break;
            if ((done & ((1 << 17) - 1)) == 0) {
                // (Not libc's setrlimit: musl's signals every thread to apply it.)
                struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
                syscall(SYS_setrlimit, RLIMIT_FSIZE, &unlimited);
                snprintf(line, sizeof line, "stress: %s%llu calls\n", who, (unsigned long long)done);
                if (write(2, line, strlen(line)) < 0) { /* stderr gone: keep going */ }
            }
        }
        const struct call *c = &calls[below(NCALLS)];
        long nr = c->nr < 0 ? undefined_nr() : c->nr;
        uint64_t a[6] = {0};
        if (c->args[0] == '*') {
            for (int i = 0; i < 6; i++) a[i] = rnd();
        } else {
            for (int i = 0; c->args[i] && i < 6; i++) a[i] = arg_of(c->args[i]);
            for (int i = (int)strlen(c->args); i < 6; i++) a[i] = one_in(4) ? rnd() : 0;
        }
        special_args(nr, a);
        if (done >= plan.verbose_from) {
            snprintf(line, sizeof line, "%s%llu: %ld(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)\n",
                     who, (unsigned long long)done, nr, (unsigned long long)a[0],
                     (unsigned long long)a[1], (unsigned long long)a[2], (unsigned long long)a[3],
                     (unsigned long long)a[4], (unsigned long long)a[5]);
            if (write(2, line, strlen(line)) < 0) { /* ignore */ }
        }
        long r;
        __asm__ volatile(
            "mov %5, %%r10\n\tmov %6, %%r8\n\tmov %7, %%r9\n\tsyscall"
            : "=a"(r)
            : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5])
            : "rcx", "r11", "r10", "r8", "r9", "memory");
        if (r < 0 && r > -4096) {
            me->n_err++;
            me->errs[-r]++;
            if (-r > 133) me->n_bad++;  // not a Linux errno: a kernel-internal code leaked out
        } else {
            me->n_ok++;
            if (nr == SYS_mmap || nr == SYS_mremap) {
                // Keep the mappings the calls create bounded: unmap the oldest of 64 (exactly
                // what was created: its neighbours may be ours, or another thread's).
                uint64_t m = (uint64_t)r, len = nr == SYS_mmap ? a[1] : a[2];
                int inside = m >= (uint64_t)play && m < (uint64_t)play + PLAY_SIZE;
                if (!inside && len) {
                    unsigned k = me->mapped_next;
                    if (me->mapped[k].addr) syscall(SYS_munmap, me->mapped[k].addr, me->mapped[k].len);
                    me->mapped[k].addr = m;
                    me->mapped[k].len = (len + PAGE - 1) & ~(PAGE - 1);
                    me->mapped_next = (k + 1) % 64;
                }
            }
        }
    }
    me->secs = now_s() - start;
    me->done = done;
    me->canary_ok = checksum() == me->canary_sum;
}

static void *thread_main(void *arg) {
    me = arg;
    rng_state = me->seed ? me->seed : 1;
    me->tid = (pid_t)syscall(SYS_gettid);
    // Start together, once every thread (stack, TLS, canaries) exists: no mapping of ours
    // is created while random calls run, so none can land in a hole of the playground.
    while (!atomic_load(&go)) sched_yield();
    call_loop();
    atomic_fetch_add(&finished, 1);
    // Return, so the thread exits with whatever clear_child_tid and robust list its random
    // calls left (nobody joins it: the kernel must cope with a random clear_child_tid).
    return 0;
}

static void report(const char *prefix, uint64_t seed, struct worker *w) {
    char line[512];
    snprintf(line, sizeof line,
             "stress: %sseed=%llu calls=%llu ok=%llu err=%llu bad=%llu canary=%s seconds=%.1f\n",
             prefix, (unsigned long long)seed, (unsigned long long)w->done,
             (unsigned long long)w->n_ok, (unsigned long long)w->n_err,
             (unsigned long long)w->n_bad, w->canary_ok ? "ok" : "CORRUPTED", w->secs);
    out(line);
}

static int run(uint64_t seed, uint64_t total, double limit, uint64_t verbose_from, int threads) {
    rng_state = seed ? seed : 1;
    n_threads = threads;
    plan = (struct plan){total, limit, verbose_from};
    {
        char uts[6 * 65];
        in_oxv = syscall(SYS_uname, uts) == 0 && strstr(uts + 2 * 65, "oxv") != 0;
    }
    char line[512];
    if (threads > 1)
        snprintf(line, sizeof line, "stress: seed=%llu calls=%llu threads=%d\n",
                 (unsigned long long)seed, (unsigned long long)total, threads);
    else
        snprintf(line, sizeof line, "stress: seed=%llu calls=%llu\n", (unsigned long long)seed,
                 (unsigned long long)total);
    out(line);

    // Memory: arena + guard page, playground, a read-only page, a canary per thread.
    arena = mmap(0, ARENA_SIZE + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    play = mmap(0, PLAY_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro_page = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int k = 0; k < threads; k++) {
        struct worker *w = &workers[k];
        w->index = k;
        // Not mix(seed + k): with -p, the process of seed + 1 would replay thread 1.
        w->seed = threads > 1 ? mix(mix(seed) + (uint64_t)k) : seed;
        w->canary = mmap(0, CANARY_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (w->canary == MAP_FAILED) arena = MAP_FAILED;
        else
            for (size_t i = 0; i < CANARY_SIZE; i++) w->canary[i] = (unsigned char)(i * 131 + 7 + k);
    }
    if (arena == MAP_FAILED || play == MAP_FAILED || ro_page == MAP_FAILED) {
        out("stress: cannot map memory\n");
        return 1;
    }
    mprotect(arena + ARENA_SIZE, PAGE, PROT_NONE);
    memcpy(ro_page, "a\0/dev/null\0", 12);
    mprotect(ro_page, PAGE, PROT_READ);
    for (size_t i = 0; i < sizeof canary_bss; i++) canary_bss[i] = (unsigned char)(i * 17 + 3);
    refill_arena();
    memset(long_name, 'n', sizeof long_name - 1);
    for (size_t i = 0; i < sizeof long_path - 1; i++) long_path[i] = (i % 2) ? '/' : 'd';
    short_times[0] = (struct timespec){0, 0};
    short_times[1] = (struct timespec){0, 1000};
    short_times[2] = (struct timespec){0, 100000};
    short_times[3] = (struct timespec){1, 0};  // 1970: an absolute time long past
    short_times[4] = (struct timespec){0, 1000000000};  // invalid
    short_times[5] = (struct timespec){-1, 0};  // invalid

    // The signals a random call may raise against us do nothing.
    for (int sig = 1; sig < 32; sig++)
        if (kept_ignored(sig)) signal(sig, SIG_IGN);

    // A directory of our own; as root on a host, also the root (paths cannot leave it).
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/oxv-stress-%llu", (unsigned long long)seed);
    mkdir(dir, 0755);
    if (chdir(dir) != 0) {
        out("stress: cannot enter its directory\n");
        return 1;
    }
    home = dir;
    if (!in_oxv && getuid() == 0 && syscall(SYS_chroot, ".") == 0) {
        home = "/";
        chrooted = 1;
        out("stress: chrooted into its directory\n");
    }
    mkdir("dir", 0755);
    // Long-lived fds. In oxv: devices and procfs files (what they open is the guest's own).
    // On a host: only files of our directory, opened after the chroot, because fchmod,
    // fchownat(AT_EMPTY_PATH), utimensat and friends on an fd reach whatever it names
    // (an fd on the host's /dev/null would let them change /dev/null).
    static const char *const guest_files[] = {"/dev/null", "/dev/zero", "/dev/urandom",
                                              "/dev/full", "/proc/self/cmdline", "/proc/self/exe"};
    static const char *const host_files[] = {"f0", "f1", "f2", "f3", "dir", "."};
    for (int i = 0; i < 6; i++) {
        const char *name = in_oxv ? guest_files[i] : host_files[i];
        int fd = open(name, in_oxv ? O_RDONLY : O_RDWR | O_CREAT, 0644);
        if (fd < 0) fd = open(name, O_RDONLY);
        fixed_fds[i] = fd >= 0 ? (int)syscall(SYS_dup2, fd, 1000 + i) : -1;
        if (fd >= 0) close(fd);
    }
    fixed_fds[6] = 1006;
    fixed_fds[7] = 999;
    symlink("a", "lnk");
    symlink("loop", "loop");
    reset_files();

    struct worker total_w = {0};
    if (threads <= 1) {
        me = &workers[0];
        initial_brk = (uint64_t)syscall(SYS_brk, 0);
        call_loop();
        total_w = workers[0];
    } else {
        me = 0;  // the main thread only waits
        for (int k = 0; k < threads; k++) {
            snprintf(line, sizeof line, "stress: thread=%d seed=%llu\n", k,
                     (unsigned long long)workers[k].seed);
            out(line);
        }
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1u << 20);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int started = 0;
        for (int k = 0; k < threads; k++) {
            pthread_t t;
            if (pthread_create(&t, &attr, thread_main, &workers[k]) == 0) started++;
        }
        if (started != threads) {
            out("stress: cannot create its threads\n");
            return 1;
        }
        // Every thread's TLS and bookkeeping is allocated: the break may move from here on.
        initial_brk = (uint64_t)syscall(SYS_brk, 0);
        while (1) {
            int ready = 1;
            for (int k = 0; k < threads; k++) ready &= workers[k].tid != 0;
            if (ready) break;
            sched_yield();
        }
        atomic_store(&go, 1);
        while (atomic_load(&finished) < threads) {
            struct timespec ten_ms = {0, 10000000};
            nanosleep(&ten_ms, 0);
        }
        total_w.canary_ok = 1;
        for (int k = 0; k < threads; k++) {
            struct worker *w = &workers[k];
            snprintf(line, sizeof line, "thread=%d ", k);
            report(line, w->seed, w);
            total_w.done += w->done;
            total_w.n_ok += w->n_ok;
            total_w.n_err += w->n_err;
            total_w.n_bad += w->n_bad;
            total_w.canary_ok &= w->canary_ok;
            if (w->secs > total_w.secs) total_w.secs = w->secs;
            for (int e = 0; e < 4096; e++) total_w.errs[e] += w->errs[e];
        }
        // The shared bss canary once more, from the main thread.
        for (size_t i = 0; i < sizeof canary_bss; i++)
            if (canary_bss[i] != (unsigned char)(i * 17 + 3)) total_w.canary_ok = 0;
    }
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    syscall(SYS_setrlimit, RLIMIT_FSIZE, &unlimited);
    if (threads > 1) snprintf(line, sizeof line, "threads=%d ", threads);
    else line[0] = 0;
    report(line, seed, &total_w);
    out("stress: errors");
    for (int e = 1; e < 4096; e++) {
        if (!total_w.errs[e]) continue;
#ifdef __GLIBC__
        const char *name = strerrorname_np(e);
#else
        const char *name = 0;
#endif
        if (name) snprintf(line, sizeof line, " %s=%llu", name, (unsigned long long)total_w.errs[e]);
        else snprintf(line, sizeof line, " %d=%llu", e, (unsigned long long)total_w.errs[e]);
        out(line);
    }
    out("\n");
    return total_w.canary_ok && total_w.n_bad == 0 ? 0 : 1;
}
