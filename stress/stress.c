// stress: millions of random system calls with random arguments, to show that no sequence of
// calls an app can make brings the kernel down or corrupts the app's own memory.
//
// Build:  gcc -static -O2 -pthread -o stress stress.c        (or musl-gcc -static)
// Run:    ./stress [-s SEED] [-n CALLS] [-t SECONDS] [-p PROCESSES] [-T THREADS [-C]] [-v]
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
// -C (with -T) adds thread churn: threads end (return, pthread_exit, raw SYS_exit, SYS_exit
// from a signal handler) and are replaced (pthread_create, raw clone with the thread
// flags) during the run, block in futex/read/poll/nanosleep while others end, signal each
// other, fork, and exec the program again; see "thread churn" below and README.md.
//
// Output (stdout): the seed first, then one summary line and an errno histogram:
//   stress: seed=S calls=N ok=A err=B bad=0 canary=ok seconds=T
// (with -T, a line per thread first, and the summary line says threads=N: see README.md)
//   stress: errors EFAULT=.. EINVAL=.. ...
// Exit status 0 when every invariant held, 1 otherwise.
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<linux/futex.h>)
#include <linux/futex.h>
#else  // musl-gcc without the kernel's headers: futex(2)'s values
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

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
    uint64_t canary_sum;          // of the canary mapping (filled once, before the calls)
    uint64_t stack_sum;           // of the stack canary of the thread now in the slot
    struct { uint64_t addr, len; } mapped[64];
    unsigned mapped_next;
    uint64_t done, n_ok, n_err, n_bad, errs[4096];
    int canary_ok;
    double secs;
    // With -C (thread churn) the worker is a slot that successive threads fill: each runs
    // a random number of calls (its life), then ends, and another thread takes over the
    // slot's stream (rng), figures and canary mapping.
    uint64_t rng;
    atomic_int alive;     // a thread holds the slot
    atomic_int finished;  // the slot's calls are all made: no new thread for it
    atomic_int die;       // another thread asked this one to end (with SIGUSR1)
    int next_raw;         // the slot's next thread is a raw clone (they alternate)
    double vacant_since;
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
static int churn;  // -C: threads end and are replaced, fork and execve during the run
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

#define FNV_BASIS 0xcbf29ce484222325ull
static uint64_t bss_sum;  // of canary_bss, filled once before the calls

// The canaries of the calling thread: its slot's mapping, the shared bss region and the
// region of its own stack that no call is given.
static int canaries_ok(void) {
    return sum_bytes(FNV_BASIS, me->canary, CANARY_SIZE) == me->canary_sum &&
           sum_bytes(FNV_BASIS, canary_bss, sizeof canary_bss) == bss_sum &&
           sum_bytes(FNV_BASIS, me->stack_canary, STACK_CANARY_SIZE) == me->stack_sum;
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
        // The churn's own signals keep their handler (SIGUSR1) and SIG_IGN (SIGUSR2).
        if (churn && (sig == SIGUSR1 || sig == SIGUSR2)) a[1] = 0;
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

// The soft RLIMIT_FSIZE every reset puts back: a file (a memfd has no size limit of its own)
// filled by one sendfile(2) of 2 GiB of holes would fill RAM, and Linux OOM-kills then.
#define FILE_CAP (64ull << 20)

static void reset_files(void) {
    struct rlimit cap = {FILE_CAP, RLIM_INFINITY};
    syscall(SYS_setrlimit, RLIMIT_FSIZE, &cap);
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
static uint64_t life_mean = 2000;  // -L
static uint64_t fork_every = 20000;  // -F
static int nested;                 // -x

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
        else if (!strcmp(argv[i], "-C")) churn = 1;
        else if (!strcmp(argv[i], "-L") && i + 1 < argc) life_mean = strtoull(argv[++i], 0, 0);
        else if (!strcmp(argv[i], "-F") && i + 1 < argc) fork_every = strtoull(argv[++i], 0, 0);
        else if (!strcmp(argv[i], "-x")) nested = 1;
        else if (!strcmp(argv[i], "-v")) verbose_from = 0;
        else if (!strcmp(argv[i], "-V") && i + 1 < argc) verbose_from = strtoull(argv[++i], 0, 0);
        else {
            out("usage: stress [-s SEED] [-n CALLS] [-t SECONDS] [-p PROCESSES] [-T THREADS]\n"
                "              [-C [-L LIFE] [-F FORK_EVERY]] [-v | -V FROM]\n");
            return 2;
        }
    }
    if (!seed) seed = (uint64_t)time(0) ^ ((uint64_t)getpid() << 32);
    // -p N: N processes at once (each its own seed, seed+k, and directory), so that on
    // several vCPUs the kernel takes calls from several CPUs concurrently. The parent only
    // waits: it makes no random calls of its own (a random wait4 could reap a child).
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (life_mean < 1) life_mean = 1;
#ifndef __GLIBC__
    // The churn reuses pthread stacks once glibc's pd->tid is cleared and restores glibc's
    // clear_child_tid before a pthread ends; musl's threads work differently.
    if (churn) {
        out("stress: -C needs a glibc build\n");
        return 2;
    }
#endif
    if (churn && threads < 2) threads = 2;
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
    uint64_t life;  // -C: mean calls per thread life
    uint64_t fork_every;  // -C: a fork every this many calls per thread, on average
    double start;
    int nested;     // -x: a short run exec'd by a churn run's child (no chroot, own subdir)
};
static struct plan plan;

// ---- one random call --------------------------------------------------------------------

static __thread char who_buf[16];  // "TK ": the prefix of a thread's progress and -v lines

// Draws one call and its arguments, issues it, and counts the result in `me`.
static void one_call(uint64_t done) {
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
        char line[512];
        snprintf(line, sizeof line, "%s%llu: %ld(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)\n",
                 who_buf, (unsigned long long)done, nr,
                 (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
                 (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5]);
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

// ---- thread churn (-C) ------------------------------------------------------------------
//
// Each worker slot is filled by successive threads. A thread runs a random number of calls
// (its life, `plan.life` on average), then ends by one of: returning from its start
// function, pthread_exit(3) from inside the call loop, a raw SYS_exit from inside the loop,
// returning into the raw clone trampoline (which calls SYS_exit), or SYS_exit from a SIGUSR1
// handler when another thread asked it to die (tgkill). Another thread (a worker at its
// next check, else the main thread) then creates a replacement for the slot, with
// pthread_create(3) or a raw clone(2) with the thread flags (CLONE_SETTLS on a copy of the
// creator's TLS; CLONE_CHILD_CLEARTID, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID at random).
//
// Stacks: every thread of the churn runs on a stack of ours, carved before the calls start
// from one mapping with a PROT_NONE page under each (no mapping is created during the run,
// so none can land in a hole the random calls made in the playground). A stack is reused
// only once its last thread is gone: the kernel cleared its clear_child_tid word (pthreads:
// glibc's pd->tid; raw clones with CLONE_CHILD_CLEARTID), or the thread set a flag in its
// last instructions before SYS_exit with every signal blocked. A free stack is filled with
// a pattern that is checked when it is taken again: a write into a dead thread's stack (a
// late clear_child_tid, a signal frame) fails the run.
//
// Also during the run: threads block for a while in futex(2), read(2) on a pipe, poll(2)
// and nanosleep(2) while others end, are created or signalled; a thread now and then forks
// (the child makes a few hundred random calls, then _exit; the parent waits for it), and
// one fork in eight runs a short stress run of the program itself instead (the child
// creates a thread that execve(2)s /proc/self/exe while the child's first thread sleeps).

#define CHURN_STACK (256u << 10)
#define STACKS_PER_SLOT 3
#define N_STACKS (MAX_THREADS * STACKS_PER_SLOT)
enum { KIND_PTHREAD, KIND_RAW };

struct stack_rec {
    unsigned char *base;  // CHURN_STACK bytes, a PROT_NONE page under them
    atomic_int used;
    atomic_int leaving;   // its thread is on its way out: reap once it is gone
    atomic_int exited;    // set by raw_exit just before SYS_exit
    int *_Atomic gone_tid;  // cleared by the kernel when the thread is gone, or 0
    int kind, cleartid;
    size_t tls_above;       // a raw clone's: from its thread pointer to the top of its copy
    atomic_int ctid, ptid;  // a raw clone's CLONE_CHILD_CLEARTID and PARENT_SETTID words
    atomic_int watched;     // a thread waits on ctid (watch_exit)
    _Atomic double left_at; // when its thread called leave()
    struct worker *w;
};
static struct stack_rec stacks[N_STACKS];
static __thread struct stack_rec *my_stack;
static __thread unsigned char *my_top;  // the top of this thread's stack (its TLS is under it)
static __thread int in_read;            // blocked in read(2) on the pipe (see `readers`)
static __thread struct stack_rec *watching;  // the stack whose ctid this thread waits on
static __thread int in_loop;  // its stack canary is set up: it may end in a handler
static int tid_off;                     // offset of glibc's pd->tid in struct pthread
static size_t tls_below;                // static TLS under the thread pointer (PT_TLS)
static atomic_flag spawn_lock = ATOMIC_FLAG_INIT;
static int pipe_r = -1, pipe_w = -1;    // a pipe threads block reading from
static atomic_int readers, bell;        // readers blocked on the pipe; a futex word
static int exe_fd = -1;                 // the program, for execveat (fd 1020)
static atomic_int stack_corrupted;

static struct {
    atomic_ullong created_pthread, created_raw, create_failed;
    atomic_ullong end_return, end_pthread_exit, end_raw_exit, end_raw_return, end_in_handler;
    atomic_ullong end_cleartid, kills, handled, blocks, forks, fork_failed, fork_bad, execs,
        exec_bad, exec_skipped, watched, lost_wakeups;
    atomic_int fork_errno;  // of the last failed fork
} churn_stats;

// The raw clone: flags, child stack, ptid, ctid, tls, then fn and its argument (the 7th
// argument, on the stack). The child calls fn(arg) on its stack, then SYS_exit(0).
extern long stress_clone(unsigned long flags, void *stack, atomic_int *ptid, atomic_int *ctid,
                         unsigned long tls, void (*fn)(void *), void *arg);
// Sets *flag to 1, then SYS_exit(0), using no stack in between.
extern void raw_exit(atomic_int *flag) __attribute__((noreturn));
__asm__(".text\n"
        ".globl stress_clone\n"
        ".type stress_clone,@function\n"
        "stress_clone:\n"
        "    mov 8(%rsp), %rax\n"
        "    and $-16, %rsi\n"
        "    sub $16, %rsi\n"
        "    mov %r9, 0(%rsi)\n"
        "    mov %rax, 8(%rsi)\n"
        "    mov %rcx, %r10\n"
        "    mov $56, %eax\n"
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jnz 1f\n"
        "    xor %ebp, %ebp\n"
        "    pop %rax\n"
        "    pop %rdi\n"
        "    call *%rax\n"
        "    mov $60, %eax\n"
        "    xor %edi, %edi\n"
        "    syscall\n"
        "    ud2\n"
        "1:  ret\n"
        ".size stress_clone, .-stress_clone\n"
        ".globl raw_exit\n"
        ".type raw_exit,@function\n"
        "raw_exit:\n"
        "    movl $1, (%rdi)\n"
        "    mov $60, %eax\n"
        "    xor %edi, %edi\n"
        "    syscall\n"
        "    ud2\n"
        ".size raw_exit, .-raw_exit\n");

static unsigned char stack_pattern(const struct stack_rec *s) {
    return (unsigned char)(0xa5 ^ (s - stacks));
}

static void fill_stack(struct stack_rec *s) {
    memset(s->base, stack_pattern(s), CHURN_STACK);
}

static int stack_intact(const struct stack_rec *s) {
    uint64_t want;
    memset(&want, stack_pattern(s), 8);
    for (size_t i = 0; i < CHURN_STACK; i += 8)
        if (*(const uint64_t *)(s->base + i) != want) return 0;
    return 1;
}

static void block_signals(sigset_t *old) {
    sigset_t all;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, old, 8);
}

static void restore_signals(const sigset_t *old) {
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, 0, 8);
}

static void lock_spawn(sigset_t *old) {
    block_signals(old);
    while (atomic_flag_test_and_set(&spawn_lock)) sched_yield();
}

static void unlock_spawn(const sigset_t *old) {
    atomic_flag_clear(&spawn_lock);
    restore_signals(old);
}

static int time_over(void) { return plan.limit > 0 && now_s() - plan.start > plan.limit; }

// Ends the calling thread of the churn (signals already blocked). Returns only for the
// ways out that return up the stack (to the pthread start function or the clone
// trampoline): then the caller returns.
static void leave(int in_handler) {
    struct worker *w = me;
    struct stack_rec *s = my_stack;
    if (!canaries_ok()) w->canary_ok = 0;
    if (in_read) atomic_fetch_sub(&readers, 1), in_read = 0;
    if (watching) atomic_store(&watching->watched, 0), watching = 0;
    atomic_store(&s->left_at, now_s());
    int done = w->done >= plan.total || time_over();
    if (done) w->secs = now_s() - plan.start;
    int how = (int)below(4);
    w->rng = rng_state;
    if (s->kind == KIND_PTHREAD) {
        // Back to glibc's own clear_child_tid (its random calls may have moved it): the
        // stack is reused once the kernel clears pd->tid.
        syscall(SYS_set_tid_address, s->gone_tid);
        atomic_fetch_add(how & 1 ? &churn_stats.end_pthread_exit : &churn_stats.end_return, 1);
        atomic_store(&s->leaving, 1);
        if (done) atomic_store(&w->finished, 1);
        atomic_store(&w->alive, 0);  // from here on, *w belongs to the next thread
        if (how & 1) pthread_exit(0);
        return;
    }
    if (s->cleartid) {
        syscall(SYS_set_tid_address, &s->ctid);
        atomic_fetch_add(&churn_stats.end_cleartid, 1);
    }
    if (in_handler) atomic_fetch_add(&churn_stats.end_in_handler, 1);
    int back = s->cleartid && !in_handler && (how & 1);
    atomic_fetch_add(back ? &churn_stats.end_raw_return : &churn_stats.end_raw_exit, 1);
    atomic_store(&s->leaving, 1);
    if (done) atomic_store(&w->finished, 1);
    atomic_store(&w->alive, 0);
    if (back) return;
    static atomic_int ignored;
    raw_exit(s->cleartid ? &ignored : &s->exited);
}

// SIGUSR1: handled. A thread asked to die (`die`) ends here if it is a raw clone (SYS_exit
// from the handler, in the middle of whatever call it was in); a pthread at its next call.
static void on_usr1(int sig) {
    (void)sig;
    atomic_fetch_add(&churn_stats.handled, 1);
    // (Not before call_loop set up this thread's stack canary: leave() checks it. The loop
    // sees `die` at its first call.)
    if (!me || !my_stack || !in_loop || !atomic_load(&me->die) || my_stack->kind != KIND_RAW)
        return;
    sigset_t old;
    block_signals(&old);
    leave(1);  // a raw clone never returns from it here (no `back` in a handler)
}

static void life(void);

// The thread pointer: %fs:0 holds it (x86_64 TLS ABI).
static unsigned char *thread_pointer(void) {
    unsigned char *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}


static void *pthread_entry(void *arg) {
    struct stack_rec *s = arg;
    s->gone_tid = (int *)((char *)pthread_self() + tid_off);
    my_stack = s;
    my_top = s->base + CHURN_STACK;
    life();
    return 0;
}

static void raw_entry(void *arg) {
    struct stack_rec *s = arg;
    my_stack = s;
    my_top = thread_pointer() + s->tls_above;
    life();
}

// Builds the TLS of a raw clone at the top of `s`: a copy of the caller's static TLS and
// thread control block (everything from under the thread pointer to the top of its stack),
// with the self pointers moved. Returns the new thread pointer; `*sp` the stack below it.
static unsigned char *copy_tls(struct stack_rec *s, unsigned char **sp) {
    unsigned char *tp = thread_pointer();
    size_t above = (size_t)(my_top - tp);
    unsigned char *top = s->base + CHURN_STACK;
    unsigned char *ntp = (unsigned char *)((uintptr_t)(top - above) & ~(uintptr_t)63);
    memcpy(ntp - tls_below, tp - tls_below, tls_below + above);
    s->tls_above = above;
    *(unsigned char **)ntp = ntp;  // tcb (glibc) / self (musl)
#ifdef __GLIBC__
    *(unsigned char **)(ntp + 16) = ntp;  // tcbhead_t.self
#endif
    *sp = ntp - tls_below - 256;
    return ntp;
}

// Creates a thread for slot `w` on a free stack (spawn lock held, signals blocked).
static int spawn(struct worker *w, int kind) {
    struct stack_rec *s = 0;
    for (int i = 0; i < N_STACKS && !s; i++)
        if (!atomic_load(&stacks[i].used)) s = &stacks[i];
    if (!s) return 0;
    if (!stack_intact(s)) {
        atomic_store(&stack_corrupted, 1);
        fill_stack(s);
    }
    if (!my_top) kind = KIND_PTHREAD;  // the main thread: no TLS of ours to copy
    // A raw clone's thread descriptor is a copy of another thread's: glibc's pthread_create
    // (and fork) must not take it for its own.
    if (my_stack && my_stack->kind == KIND_RAW) kind = KIND_RAW;
    atomic_store(&s->used, 1);
    atomic_store(&s->leaving, 0);
    atomic_store(&s->exited, 0);
    s->gone_tid = 0;
    s->kind = kind;
    s->w = w;
    atomic_store(&w->die, 0);
    atomic_store(&w->alive, 1);
    // Random calls may have lowered RLIMIT_NPROC: a legitimate EAGAIN, not what we test.
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    syscall(SYS_setrlimit, RLIMIT_NPROC, &unlimited);
    int ok;
    if (kind == KIND_PTHREAD) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstack(&attr, s->base, CHURN_STACK);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        ok = pthread_create(&t, &attr, pthread_entry, s) == 0;
        pthread_attr_destroy(&attr);
        if (ok) atomic_fetch_add(&churn_stats.created_pthread, 1);
    } else {
        unsigned char *sp, *tp = copy_tls(s, &sp);
        unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                              CLONE_SYSVSEM | CLONE_SETTLS;
        s->cleartid = one_in(2);
        if (s->cleartid) flags |= CLONE_CHILD_CLEARTID, s->gone_tid = (int *)&s->ctid;
        if (one_in(2)) flags |= CLONE_PARENT_SETTID;
        if (one_in(4)) flags |= CLONE_CHILD_SETTID;
        atomic_store(&s->ctid, -1);
        atomic_store(&s->ptid, 0);
        long r = stress_clone(flags, sp, &s->ptid, &s->ctid, (unsigned long)tp, raw_entry, s);
        ok = r > 0;
        if (ok && (flags & CLONE_PARENT_SETTID) && atomic_load(&s->ptid) != r)
            atomic_store(&stack_corrupted, 1);  // the kernel must have stored the tid first
        if (ok) atomic_fetch_add(&churn_stats.created_raw, 1);
    }
    if (!ok) {
        atomic_fetch_add(&churn_stats.create_failed, 1);
        atomic_store(&w->alive, 0);
        w->vacant_since = now_s();
        fill_stack(s);
        atomic_store(&s->used, 0);
    }
    return ok;
}

// Frees the stacks whose threads are gone (spawn lock held).
static void reap(void) {
    for (int i = 0; i < N_STACKS; i++) {
        struct stack_rec *s = &stacks[i];
        if (!atomic_load(&s->used) || !atomic_load(&s->leaving)) continue;
        int gone = s->kind == KIND_PTHREAD || s->cleartid
                       ? atomic_load((atomic_int *)s->gone_tid) == 0
                       : atomic_load(&s->exited);
        if (!gone) continue;
        fill_stack(s);
        atomic_store(&s->used, 0);
    }
}

// Creates threads for the slots nobody holds (at most one per call from a worker; the
// main thread only fills slots vacant for 50 ms, so the workers create most threads).
static void fill_slots(int from_main) {
    sigset_t old;
    lock_spawn(&old);
    reap();
    double now = now_s();
    for (int k = 0; k < n_threads; k++) {
        struct worker *w = &workers[k];
        if (atomic_load(&w->alive) || atomic_load(&w->finished)) continue;
        if (w->vacant_since == 0) w->vacant_since = now;
        if (from_main && now - w->vacant_since < 0.05) continue;
        // Pthreads and raw clones alternate in a slot. (A raw clone leaves the pthreads to
        // the others, see spawn; the main thread makes only pthreads.)
        int kind = w->next_raw && !from_main ? KIND_RAW : KIND_PTHREAD;
        if (kind == KIND_PTHREAD && my_stack && my_stack->kind == KIND_RAW) continue;
        if (spawn(w, kind)) w->vacant_since = 0, w->next_raw = kind == KIND_PTHREAD;
        if (!from_main) break;
    }
    unlock_spawn(&old);
}

// Waits, like pthread_join, for a raw clone with CLONE_CHILD_CLEARTID to end: the kernel
// clears its ctid word and wakes one waiter. A wait that times out although the word was
// cleared long before (0.5 s of a 1 s wait) is a lost wake-up.
static void watch_exit(void) {
    struct stack_rec *s = 0;
    for (int i = 0, at = (int)below(N_STACKS); i < N_STACKS && !s; i++) {
        struct stack_rec *c = &stacks[(at + i) % N_STACKS];
        if (c != my_stack && atomic_load(&c->used) && c->kind == KIND_RAW && c->cleartid) s = c;
    }
    if (!s) return;
    int v = atomic_load(&s->ctid);
    if (v == 0 || atomic_exchange(&s->watched, 1)) return;  // Linux wakes only one waiter
    watching = s;
    atomic_fetch_add(&churn_stats.watched, 1);
    struct timespec t = {1, 0};
    long r = syscall(SYS_futex, &s->ctid, FUTEX_WAIT, v, &t, 0, 0);
    if (r == -1 && errno == ETIMEDOUT && atomic_load(&s->ctid) == 0 &&
        now_s() - atomic_load(&s->left_at) > 0.5)
        atomic_fetch_add(&churn_stats.lost_wakeups, 1);
    atomic_store(&s->watched, 0);
    watching = 0;
}

// Blocks for up to a few milliseconds, in one of the calls a thread ends or is created
// around: futex wait, read(2) on the pipe (the main thread feeds it), poll, nanosleep, a
// wait for a raw clone to end (watch_exit).
static void block_a_while(void) {
    atomic_fetch_add(&churn_stats.blocks, 1);
    switch (below(6)) {
    case 0: {
        int v = atomic_load(&bell);
        struct timespec t = {0, 100000 + (long)below(3000000)};
        syscall(SYS_futex, &bell, one_in(2) ? FUTEX_WAIT_PRIVATE : FUTEX_WAIT, v, &t, 0, 0);
        break;
    }
    case 1: {
        char c;
        in_read = 1;
        atomic_fetch_add(&readers, 1);
        syscall(SYS_read, pipe_r, &c, 1);
        if (in_read) atomic_fetch_sub(&readers, 1), in_read = 0;
        break;
    }
    case 2: {
        struct pollfd p = {pipe_r, POLLIN, 0};
        syscall(SYS_poll, &p, 1, 1 + (int)below(3));
        break;
    }
    case 3:
        watch_exit();
        break;
    case 4:
        atomic_fetch_add(&bell, 1);
        syscall(SYS_futex, &bell, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
        break;
    default: {
        struct timespec t = {0, 100000 + (long)below(2000000)};
        syscall(SYS_nanosleep, &t, 0);
    }
    }
}

// Asks another slot's thread to end (SIGUSR1 with `die`), or signals it with SIGUSR1
// (handled) or SIGUSR2 (ignored; both end the process by default).
static void signal_sibling(void) {
    struct worker *w = &workers[below(n_threads)];
    if (w == me || !atomic_load(&w->alive)) return;
    int sig = one_in(3) ? SIGUSR2 : SIGUSR1;
    if (sig == SIGUSR1 && one_in(2)) atomic_store(&w->die, 1);
    atomic_fetch_add(&churn_stats.kills, 1);
    syscall(SYS_tgkill, (int)syscall(SYS_getpid), w->tid, sig);
}

static char *nested_argv[] = {"stress", "-x", "-s", 0, "-n", "1500", "-T", "2", 0};
static char *nested_envp[] = {0};

static void exec_thread(void *arg) {
    (void)arg;
    sigset_t none;
    sigemptyset(&none);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);
    long r;
    if (exe_fd >= 0)
        r = syscall(SYS_execveat, exe_fd, "", nested_argv, nested_envp, AT_EMPTY_PATH);
    else
        r = syscall(SYS_execve, "/proc/self/exe", nested_argv, nested_envp);
    // Failed: 128 + errno as the exit status, for the parent's report.
    syscall(SYS_exit_group, r < 0 && errno < 128 ? 128 + errno : 3);
}

// In a forked child: runs a short stress run of the program itself (its output into a
// file), execve'd from a second thread so that the exec also ends the child's first
// thread, asleep meanwhile. Never returns.
static void exec_child(void) {
    // The limits the random calls set are inherited: a low RLIMIT_DATA would stop the new
    // program before main (its TLS comes from the break).
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    static const int res[] = {RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_CORE, RLIMIT_NOFILE,
                              RLIMIT_MEMLOCK, RLIMIT_NPROC, RLIMIT_MSGQUEUE};
    // A random call may have lowered a hard limit, which (on a host without
    // CAP_SYS_RESOURCE) cannot be raised again: then no exec (exit status 4, as for every
    // way the random calls can legitimately stop this exec).
    // (Not an infinite RLIMIT_NOFILE: above fs.nr_open, Linux refuses it even to root.)
    struct rlimit files = {4096, 4096};
    for (size_t i = 0; i < sizeof res / sizeof *res; i++)
        if (syscall(SYS_setrlimit, res[i], res[i] == RLIMIT_NOFILE ? &files : &unlimited) != 0)
            syscall(SYS_exit_group, 4);
    // The new run makes its directory in the current one: ours (a random chdir may have
    // left the process anywhere; a random rename may have moved our directory away).
    if (syscall(SYS_chdir, home) != 0) syscall(SYS_exit_group, 4);
    // In oxv, fchmod on the fixed fd of /proc/self/exe may have taken its x bits away.
    if (in_oxv) syscall(SYS_fchmod, exe_fd, 0755);
    int fd = (int)syscall(SYS_open, "nested.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || syscall(SYS_dup2, fd, 1) != 1 || syscall(SYS_dup2, fd, 2) != 2)
        syscall(SYS_exit_group, 4);  // no exec without somewhere for its output to go
    static char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)(rnd() >> 1));
    nested_argv[3] = seed;
    // A stack that was free when the child was forked is the child's to use.
    struct stack_rec *s = 0;
    for (int i = 0; i < N_STACKS && !s; i++)
        if (!atomic_load(&stacks[i].used)) s = &stacks[i];
    if (s) {
        unsigned char *sp, *tp = copy_tls(s, &sp);
        long r = stress_clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                  CLONE_SYSVSEM | CLONE_SETTLS,
                              sp, 0, 0, (unsigned long)tp, exec_thread, 0);
        if (r > 0)
            for (;;) {
                struct timespec t = {0, 1000000};
                syscall(SYS_nanosleep, &t, 0);
            }
    }
    exec_thread(0);
}

// Forks; the child makes a few hundred random calls and exits (or, one time in eight from a
// pthread, runs the program again: exec_child); the parent waits for it.
static void fork_child(void) {
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);  // not killed while a child of ours is running
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &usr1, &old, 8);
    int exec = my_stack->kind == KIND_PTHREAD && one_in(8) && !plan.nested;
    atomic_fetch_add(&churn_stats.forks, 1);
    // libc's fork from a pthread (its atfork work); a raw clone(SIGCHLD) from a raw clone,
    // whose copied thread descriptor glibc's fork must not walk.
    pid_t pid = my_stack->kind == KIND_PTHREAD ? fork()
                                               : (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        if (exec) exec_child();
        uint64_t n = 100 + below(500);
        for (uint64_t i = 0; i < n; i++) one_call(UINT64_MAX - 1);
        syscall(SYS_exit_group, canaries_ok() ? 0 : 1);
    }
    if (pid < 0) {
        atomic_fetch_add(&churn_stats.fork_failed, 1);
        atomic_store(&churn_stats.fork_errno, errno);
    } else {
        if (exec) atomic_fetch_add(&churn_stats.execs, 1);
        int st = 0;
        long r;
        do r = syscall(SYS_wait4, pid, &st, 0, 0);
        while (r == -1 && errno == EINTR);
        // (ECHILD: a random rt_sigaction set SIGCHLD to SIG_IGN, so the child was reaped.)
        if (r == pid && exec && WIFEXITED(st) && WEXITSTATUS(st) == 4) {
            atomic_fetch_add(&churn_stats.exec_skipped, 1);
        } else if (r == pid && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            atomic_fetch_add(exec ? &churn_stats.exec_bad : &churn_stats.fork_bad, 1);
            char line[128];
            snprintf(line, sizeof line, "stress: %s child %d: wait status %#x\n",
                     exec ? "exec" : "fork", pid, st);
            out(line);
        }
    }
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
}

// The random calls of one thread (or of the process, without -T): `me` is set. With -C,
// until the end of this thread's life, then the thread ends (see leave()).
static void call_loop(void) {
    // Part of this thread's own stack that no call is ever given: a random call that wrote
    // into another thread's stack (or the kernel switching stacks wrongly) would show here.
    unsigned char stack_canary[STACK_CANARY_SIZE] __attribute__((aligned(8)));
    for (size_t i = 0; i < sizeof stack_canary; i++)
        stack_canary[i] = (unsigned char)(i * 29 + (unsigned)me->index * 7 + 1);
    me->stack_canary = stack_canary;
    me->stack_sum = sum_bytes(FNV_BASIS, stack_canary, STACK_CANARY_SIZE);
    in_loop = 1;
    if (n_threads > 1) snprintf(who_buf, sizeof who_buf, "T%d ", me->index);
    uint64_t life_left = churn ? 1 + below(2 * plan.life) : UINT64_MAX;
    uint64_t done = me->done;
    for (; done < plan.total; done++) {
        if ((done & 4095) == 0 && done) {
            if (!canaries_ok()) {
                me->canary_ok = 0;
                break;
            }
            reset_files();
            refill_arena();
            if (time_over()) break;
            if ((done & ((1 << 17) - 1)) == 0) {
                // (Not libc's setrlimit: musl's signals every thread to apply it.)
                struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
                syscall(SYS_setrlimit, RLIMIT_FSIZE, &unlimited);
                char line[128];
                snprintf(line, sizeof line, "stress: %s%llu calls\n", who_buf,
                         (unsigned long long)done);
                if (write(2, line, strlen(line)) < 0) { /* stderr gone: keep going */ }
            }
        }
        if (churn) {
            if (--life_left == 0 || atomic_load(&me->die)) {
                me->done = done;
                sigset_t old;
                block_signals(&old);
                leave(0);
                return;
            }
            if ((done & 255) == 0) fill_slots(0);
            if (one_in(1000)) block_a_while();
            if (one_in(3000)) signal_sibling();
            if (!plan.nested && plan.fork_every && one_in(plan.fork_every)) fork_child();
        }
        one_call(done);
        me->done = done + 1;  // (a thread may end in a signal handler: see on_usr1)
    }
    me->done = done;
    if (churn) {
        sigset_t old;
        block_signals(&old);
        leave(0);
        return;
    }
    me->secs = now_s() - plan.start;
    if (!canaries_ok()) me->canary_ok = 0;
}

// A thread of the churn: takes over its slot's stream and figures, then makes calls.
static void life(void) {
    struct stack_rec *s = my_stack;
    // (A raw clone's TLS is a copy of its creator's: none of the creator's state.)
    in_loop = 0;
    in_read = 0;
    watching = 0;
    me = s->w;
    rng_state = me->rng;
    me->tid = (pid_t)syscall(SYS_gettid);
    sigset_t none;
    sigemptyset(&none);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);  // the creator's was all blocked
    while (!atomic_load(&go)) sched_yield();
    call_loop();
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

// ---- churn set-up and the main thread's part --------------------------------------------

// Offsets of the words equal to the caller's tid in its thread descriptor (glibc: pd->tid).
struct tid_scan {
    unsigned char *top;
    int n, off[16];
};

static void *scan_tid(void *arg) {
    struct tid_scan *r = arg;
    int tid = (int)syscall(SYS_gettid);
    unsigned char *pd = (unsigned char *)pthread_self();
    for (size_t off = 0; pd + off + 4 <= r->top && r->n < 16; off += 4)
        if (*(int *)(pd + off) == tid) r->off[r->n++] = (int)off;
    return 0;
}

static int churn_setup(void) {
#ifdef __GLIBC__
    // One malloc arena (a second thread's first malloc would map a new one), and room in
    // it for every DTV and tcache the replacement threads allocate, so that malloc never
    // moves the break during the run (random brk calls stay above it).
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    void *volatile room = malloc(8 << 20);  // (volatile: GCC drops a free(malloc(n)))
    free(room);
#endif

    // The static TLS under the thread pointer: PT_TLS rounded to its alignment (x86_64 TLS
    // variant II), and some slack.
    const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
    for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++)
        if (ph[i].p_type == PT_TLS) {
            uint64_t align = ph[i].p_align ? ph[i].p_align : 1;
            tls_below = (ph[i].p_memsz + align - 1) / align * align;
        }
    tls_below = (tls_below + 64 + 63) & ~(size_t)63;

    unsigned char *zone = mmap(0, N_STACKS * (CHURN_STACK + PAGE), PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zone == MAP_FAILED) {
        out("stress: cannot map the churn's stacks\n");
        return 0;
    }
    for (int i = 0; i < N_STACKS; i++) {
        unsigned char *guard = zone + (size_t)i * (CHURN_STACK + PAGE);
        mprotect(guard, PAGE, PROT_NONE);
        stacks[i].base = guard + PAGE;
        fill_stack(&stacks[i]);
    }

    // Where pd->tid is: the offset that holds the tid in two threads.
    struct tid_scan scans[2] = {{stacks[0].base + CHURN_STACK, 0, {0}},
                                {stacks[1].base + CHURN_STACK, 0, {0}}};
    for (int i = 0; i < 2; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstack(&attr, stacks[i].base, CHURN_STACK);
        pthread_t t;
        if (pthread_create(&t, &attr, scan_tid, &scans[i]) == 0) pthread_join(t, 0);
        pthread_attr_destroy(&attr);
    }
    tid_off = -1;
    for (int a = 0; a < scans[0].n && tid_off < 0; a++)
        for (int b = 0; b < scans[1].n; b++)
            if (scans[0].off[a] == scans[1].off[b]) {
                tid_off = scans[0].off[a];
                break;
            }
    fill_stack(&stacks[0]);
    fill_stack(&stacks[1]);
    if (tid_off < 0) {
        out("stress: cannot find the tid in glibc's thread descriptor\n");
        return 0;
    }

    int p[2];
    if (pipe(p) != 0) {
        out("stress: cannot create its pipe\n");
        return 0;
    }
    // Out of the random calls' fd range (3-32, 999-1006) and of reset_files' (3-127).
    pipe_r = (int)syscall(SYS_dup2, p[0], 1010);
    pipe_w = (int)syscall(SYS_dup2, p[1], 1011);
    close(p[0]);
    close(p[1]);
    fcntl(pipe_w, F_SETFL, O_NONBLOCK);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, 0);
    signal(SIGUSR2, SIG_IGN);

    // The first thread of every slot, created by the main thread; they start together.
    sigset_t old;
    lock_spawn(&old);
    int started = 0;
    for (int k = 0; k < n_threads; k++) {
        started += spawn(&workers[k], KIND_PTHREAD);
        workers[k].next_raw = 1;
    }
    unlock_spawn(&old);
    if (started != n_threads) {
        out("stress: cannot create its threads\n");
        return 0;
    }
    for (int k = 0; k < n_threads; k++)
        while (!workers[k].tid) sched_yield();
    return 1;
}

// The main thread during a churn run: feeds the pipe, fills slots the workers left vacant,
// reaps stacks; at the end, waits until every thread is gone. Returns 0 if a thread never
// ended or a churn invariant failed.
static int churn_main(void) {
    plan.start = now_s();
    atomic_store(&go, 1);
    double all_finished = 0;
    int ok = 1;
    for (;;) {
        struct timespec two_ms = {0, 2000000};
        nanosleep(&two_ms, 0);
        int n = atomic_load(&readers);
        static const char bytes[MAX_THREADS] = {0};
        if (n > 0) syscall(SYS_write, pipe_w, bytes, n > MAX_THREADS ? MAX_THREADS : n);
        fill_slots(1);
        int finished_slots = 0, busy = 0;
        for (int k = 0; k < n_threads; k++) finished_slots += atomic_load(&workers[k].finished);
        for (int i = 0; i < N_STACKS; i++) busy += atomic_load(&stacks[i].used);
        if (finished_slots < n_threads) continue;
        if (!busy) break;
        if (all_finished == 0) all_finished = now_s();
        if (now_s() - all_finished > 20) {
            char line[128];
            snprintf(line, sizeof line, "stress: %d thread(s) never ended\n", busy);
            out(line);
            ok = 0;
            break;
        }
    }
    for (int k = 0; k < n_threads; k++)
        if (workers[k].secs == 0) workers[k].secs = now_s() - plan.start;
    for (int i = 0; i < N_STACKS; i++)
        if (!atomic_load(&stacks[i].used) && !stack_intact(&stacks[i])) stack_corrupted = 1;
    unsigned long long created =
        churn_stats.created_pthread + churn_stats.created_raw,
        ended = churn_stats.end_return + churn_stats.end_pthread_exit + churn_stats.end_raw_exit +
                churn_stats.end_raw_return;
    char line[1024];
    snprintf(line, sizeof line,
             "stress: churn threads created=%llu (pthread_create %llu, clone %llu) failed=%llu "
             "ended=%llu (return %llu, pthread_exit %llu, SYS_exit %llu, clone return %llu; "
             "in a signal handler %llu, with CLONE_CHILD_CLEARTID %llu) signals=%llu "
             "handled=%llu blocks=%llu forks=%llu fork_failed=%llu (errno %d) fork_bad=%llu execs=%llu "
             "exec_skipped=%llu exec_bad=%llu exit_waits=%llu lost_wakeups=%llu stacks=%s\n",
             created, (unsigned long long)churn_stats.created_pthread,
             (unsigned long long)churn_stats.created_raw,
             (unsigned long long)churn_stats.create_failed, ended,
             (unsigned long long)churn_stats.end_return,
             (unsigned long long)churn_stats.end_pthread_exit,
             (unsigned long long)churn_stats.end_raw_exit,
             (unsigned long long)churn_stats.end_raw_return,
             (unsigned long long)churn_stats.end_in_handler,
             (unsigned long long)churn_stats.end_cleartid, (unsigned long long)churn_stats.kills,
             (unsigned long long)churn_stats.handled, (unsigned long long)churn_stats.blocks,
             (unsigned long long)churn_stats.forks, (unsigned long long)churn_stats.fork_failed,
             (int)churn_stats.fork_errno,
             (unsigned long long)churn_stats.fork_bad, (unsigned long long)churn_stats.execs,
             (unsigned long long)churn_stats.exec_skipped, (unsigned long long)churn_stats.exec_bad,
             (unsigned long long)churn_stats.watched, (unsigned long long)churn_stats.lost_wakeups, stack_corrupted ? "CORRUPTED" : "intact");
    out(line);
    if (created != ended || churn_stats.fork_bad || churn_stats.exec_bad || stack_corrupted ||
        churn_stats.lost_wakeups)
        ok = 0;
    return ok;
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
    plan = (struct plan){total, limit, verbose_from, life_mean, fork_every, 0, nested};
    {
        char uts[6 * 65];
        in_oxv = syscall(SYS_uname, uts) == 0 && strstr(uts + 2 * 65, "oxv") != 0;
    }
    char line[512];
    if (threads > 1 && churn)
        snprintf(line, sizeof line, "stress: seed=%llu calls=%llu threads=%d churn life=%llu\n",
                 (unsigned long long)seed, (unsigned long long)total, threads,
                 (unsigned long long)plan.life);
    else if (threads > 1)
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
        if (w->canary != MAP_FAILED) w->canary_sum = sum_bytes(FNV_BASIS, w->canary, CANARY_SIZE);
        w->canary_ok = 1;
        w->rng = w->seed ? w->seed : 1;
    }
    if (arena == MAP_FAILED || play == MAP_FAILED || ro_page == MAP_FAILED) {
        out("stress: cannot map memory\n");
        return 1;
    }
    mprotect(arena + ARENA_SIZE, PAGE, PROT_NONE);
    memcpy(ro_page, "a\0/dev/null\0", 12);
    mprotect(ro_page, PAGE, PROT_READ);
    for (size_t i = 0; i < sizeof canary_bss; i++) canary_bss[i] = (unsigned char)(i * 17 + 3);
    bss_sum = sum_bytes(FNV_BASIS, canary_bss, sizeof canary_bss);
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
    // (-x, a run exec'd by a churn run's child: a directory in its parent's, no chroot.)
    char dir[512], cwd[256];
    if (nested && getcwd(cwd, sizeof cwd))
        snprintf(dir, sizeof dir, "%s/nested-%llu", strcmp(cwd, "/") ? cwd : "",
                 (unsigned long long)seed);
    else
        snprintf(dir, sizeof dir, "/tmp/oxv-stress-%llu", (unsigned long long)seed);
    mkdir(dir, 0755);
    if (chdir(dir) != 0) {
        out("stress: cannot enter its directory\n");
        return 1;
    }
    home = dir;
    // The churn's execve of the program itself: an fd on it, opened before any chroot. (By
    // path, the random calls could get in the way: moving the directories on the way to it,
    // with relative paths after a random chdir, or through symlinks they made.)
    int exe = churn && !nested ? open("/proc/self/exe", O_RDONLY | O_CLOEXEC) : -1;
    if (exe >= 0) exe_fd = (int)syscall(SYS_dup3, exe, 1020, O_CLOEXEC);
    if (exe >= 0) close(exe);
    if (!in_oxv && !nested && getuid() == 0 && syscall(SYS_chroot, ".") == 0) {
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
    int churn_ok = 1;
    if (threads <= 1) {
        me = &workers[0];
        initial_brk = (uint64_t)syscall(SYS_brk, 0);
        plan.start = now_s();
        call_loop();
        total_w = workers[0];
    } else if (churn) {
        me = 0;
        for (int k = 0; k < threads; k++) {
            snprintf(line, sizeof line, "stress: thread=%d seed=%llu\n", k,
                     (unsigned long long)workers[k].seed);
            out(line);
        }
        if (!churn_setup()) return 1;
        // Every thread's TLS and bookkeeping is allocated, malloc has room for the
        // replacements' (churn_setup): the break may move from here on.
        initial_brk = (uint64_t)syscall(SYS_brk, 0);
        churn_ok = churn_main();
        total_w.canary_ok = 1;
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
        plan.start = now_s();
        atomic_store(&go, 1);
        while (atomic_load(&finished) < threads) {
            struct timespec ten_ms = {0, 10000000};
            nanosleep(&ten_ms, 0);
        }
        total_w.canary_ok = 1;
    }
    if (threads > 1) {
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
    return total_w.canary_ok && total_w.n_bad == 0 && churn_ok ? 0 : 1;
}
