/*
 * oxv's vDSO ("linux-vdso.so.1"): clock_gettime(2), gettimeofday(2), time(2),
 * clock_getres(2) and getcpu(2) answered in user mode, the calls Linux's x86_64 vDSO serves
 * (vdso(7)). glibc and musl find it through AT_SYSINFO_EHDR and look the functions up by
 * their versioned names (LINUX_2.6).
 *
 * The clocks are oxv's TscClock (crates/sched/src/clock.rs) evaluated on the data the kernel
 * publishes in the vvar page (vvar.h), with the same integer math, so a vDSO reading equals
 * the system call's at the same TSC value:
 *
 *   monotonic = ((tsc - boot_ticks) * mult) >> shift        (0 while tsc < boot_ticks)
 *   realtime  = realtime at boot (sec, nsec) + monotonic
 *   coarse    = the same with monotonic rounded down to a multiple of coarse_ns
 *
 * MONOTONIC_RAW and BOOTTIME equal MONOTONIC and TAI equals REALTIME, as in the kernel. Any
 * other clock (the CPU-time clocks, the _ALARM clocks, invalid ids), a page the kernel has not
 * filled in, a page of another layout version, or a TSC the kernel says is unusable makes the
 * function issue the real system call and return its result (0 or -errno, like Linux's vDSO,
 * which musl and glibc expect).
 *
 * Position independence: nothing here needs a relocation. The vvar page is reached
 * RIP-relatively through `oxv_vvar_page`, which the linker script places one page below the
 * image's first byte; the kernel maps the data page exactly there.
 *
 * Not in this file on purpose: no libc, no globals, no stack protector, and no call to
 * anything outside it (the link uses --no-undefined to prove it).
 */
#include <asm/unistd.h>
#include <linux/time.h>
#include <stdint.h>

#include "vvar.h"

#define NSEC_PER_SEC 1000000000ull

/*
 * The kernel version in the "Linux" ELF note. Old glibc reads it from the vDSO instead of
 * calling uname(2) to decide whether the kernel is new enough; it must match the release
 * oxv's uname(2) reports (6.1.0-oxv, crates/kernel/src/syscall/info.rs).
 */
#define OXV_LINUX_VERSION_CODE ((6 << 16) | (1 << 8) | 0)

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

__asm__(".pushsection .note.Linux, \"a\", @note\n"
	".balign 4\n"
	".long 6, 4, 0\n" /* namesz ("Linux" and its NUL), descsz, type */
	".asciz \"Linux\"\n"
	".balign 4\n"
	".long " STRINGIFY(OXV_LINUX_VERSION_CODE) "\n"
	".popsection\n");

/* One page below the image (vdso.lds). Hidden, so the reference is RIP-relative. */
extern const struct oxv_vvar oxv_vvar_page __attribute__((visibility("hidden")));

/* The page changes under us: every read is a real load, in program order. */
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define barrier() __asm__ volatile("" ::: "memory")

static inline long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The TSC, not read before the loads that precede it (the sequence counter). */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Waits for an even sequence number: the kernel is not in the middle of an update. */
static inline uint32_t seq_begin(const struct oxv_vvar *v)
{
	uint32_t seq;
	while ((seq = READ_ONCE(v->seq)) & 1)
		__builtin_ia32_pause();
	barrier();
	return seq;
}

/* Whether the reads since seq_begin saw one consistent version of the page. */
static inline int seq_retry(const struct oxv_vvar *v, uint32_t seq)
{
	barrier();
	return READ_ONCE(v->seq) != seq;
}

static inline int layout_matches(const struct oxv_vvar *v)
{
	return READ_ONCE(v->version) == OXV_VVAR_VERSION &&
	       READ_ONCE(v->size) == sizeof(struct oxv_vvar);
}

struct clocks {
	uint64_t mono_ns;
	int64_t rt_sec;
	uint64_t rt_nsec;
};

/*
 * Reads the TSC and the clock data as one snapshot: the monotonic time, with `coarse` rounded
 * down to the last tick, and with `wall` the realtime at boot too. Only the fields asked for
 * are read (each call site is specialized: these are constants there). 0: the vDSO may not
 * serve clocks. The kernel guarantees the rest of the page's invariants for this layout
 * version (0 <= realtime_nsec < 1e9, the fixed shift OXV_VVAR_SHIFT).
 */
static inline __attribute__((always_inline)) int read_clocks(struct clocks *c, int wall,
							     int coarse)
{
	const struct oxv_vvar *v = &oxv_vvar_page;
	uint32_t seq, usable;
	uint64_t boot, mult, tsc, tick = 0;

	do {
		seq = seq_begin(v);
		usable = layout_matches(v) && (READ_ONCE(v->flags) & OXV_VVAR_CLOCKS);
		boot = READ_ONCE(v->boot_ticks);
		mult = READ_ONCE(v->mult);
		if (wall) {
			c->rt_sec = READ_ONCE(v->realtime_sec);
			c->rt_nsec = READ_ONCE(v->realtime_nsec);
		}
		if (coarse)
			tick = READ_ONCE(v->coarse_ns);
		tsc = rdtsc_ordered();
	} while (seq_retry(v, seq));

	if (!usable || (coarse && tick == 0))
		return 0;
	/* TscClock::monotonic_ns: saturating subtraction, 64x64->128 multiply, shift, truncate. */
	uint64_t ticks = tsc > boot ? tsc - boot : 0;
	c->mono_ns = (uint64_t)(((unsigned __int128)ticks * mult) >> OXV_VVAR_SHIFT);
	if (coarse)
		c->mono_ns -= c->mono_ns % tick; /* the time at the last tick */
	return 1;
}

static inline void split_monotonic(uint64_t ns, int64_t *sec, uint64_t *nsec)
{
	*sec = (int64_t)(ns / NSEC_PER_SEC);
	*nsec = ns % NSEC_PER_SEC;
}

/*
 * Realtime at `mono_ns`: the boot wall time plus the monotonic time, carried like a timespec.
 * The kernel keeps realtime_sec far enough from the int64 limits that this cannot overflow.
 */
static inline void wall_time(const struct clocks *c, uint64_t mono_ns, int64_t *sec,
			     uint64_t *nsec)
{
	uint64_t n = c->rt_nsec + mono_ns % NSEC_PER_SEC;
	int64_t s = c->rt_sec + (int64_t)(mono_ns / NSEC_PER_SEC);
	if (n >= NSEC_PER_SEC) {
		n -= NSEC_PER_SEC;
		s++;
	}
	*sec = s;
	*nsec = n;
}

/* The clocks computed here; anything else goes to the kernel. */
static inline int served_here(int clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
	case CLOCK_TAI:
		return 1;
	default:
		return 0;
	}
}

static inline int is_coarse(int clk)
{
	return clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE;
}

/*
 * CLOCK_MONOTONIC in a function of its own: it needs no callee-saved register, so it saves
 * none (the other clocks' code in __vdso_clock_gettime needs some).
 */
static __attribute__((noinline)) int monotonic_gettime(struct timespec *ts)
{
	struct clocks c;
	int64_t sec;
	uint64_t nsec;

	if (!read_clocks(&c, 0, 0))
		return (int)syscall2(__NR_clock_gettime, CLOCK_MONOTONIC, (long)ts);
	split_monotonic(c.mono_ns, &sec, &nsec);
	ts->tv_sec = sec;
	ts->tv_nsec = (long)nsec;
	return 0;
}

int __vdso_clock_gettime(int clk, struct timespec *ts)
{
	struct clocks c;
	int64_t sec;
	uint64_t nsec;

	/*
	 * One specialized read per kind of clock: each reads only what it needs. CLOCK_MONOTONIC,
	 * what programs time themselves with, is tested first, without the switch's jump table.
	 */
	if (__builtin_expect(clk == CLOCK_MONOTONIC, 1))
		return monotonic_gettime(ts);
	switch (clk) {
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
		if (!read_clocks(&c, 0, 0))
			goto kernel;
		split_monotonic(c.mono_ns, &sec, &nsec);
		break;
	case CLOCK_MONOTONIC_COARSE:
		if (!read_clocks(&c, 0, 1))
			goto kernel;
		split_monotonic(c.mono_ns, &sec, &nsec);
		break;
	case CLOCK_REALTIME:
	case CLOCK_TAI:
		if (!read_clocks(&c, 1, 0))
			goto kernel;
		wall_time(&c, c.mono_ns, &sec, &nsec);
		break;
	case CLOCK_REALTIME_COARSE:
		if (!read_clocks(&c, 1, 1))
			goto kernel;
		wall_time(&c, c.mono_ns, &sec, &nsec);
		break;
	default:
		goto kernel;
	}
	ts->tv_sec = sec;
	ts->tv_nsec = (long)nsec;
	return 0;
kernel:
	return (int)syscall2(__NR_clock_gettime, clk, (long)ts);
}

int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz)
{
	struct clocks c;
	int64_t sec;
	uint64_t nsec;

	if (!read_clocks(&c, 1, 0))
		return (int)syscall2(__NR_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		wall_time(&c, c.mono_ns, &sec, &nsec);
		tv->tv_sec = sec;
		tv->tv_usec = (long)(nsec / 1000);
	}
	if (tz) {
		/* The kernel keeps no time zone (Linux's default sys_tz). */
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

__kernel_old_time_t __vdso_time(__kernel_old_time_t *t)
{
	struct clocks c;
	int64_t sec;
	uint64_t nsec;

	if (!read_clocks(&c, 1, 0))
		return syscall2(__NR_time, (long)t, 0);
	wall_time(&c, c.mono_ns, &sec, &nsec);
	if (t)
		*t = sec;
	return sec;
}

int __vdso_clock_getres(int clk, struct timespec *res)
{
	const struct oxv_vvar *v = &oxv_vvar_page;
	uint32_t seq, ok;
	uint64_t ns;

	if (!served_here(clk))
		return (int)syscall2(__NR_clock_getres, clk, (long)res);
	do {
		seq = seq_begin(v);
		ok = layout_matches(v);
		ns = is_coarse(clk) ? READ_ONCE(v->coarse_ns) : READ_ONCE(v->hres_ns);
	} while (seq_retry(v, seq));
	if (!ok || ns == 0)
		return (int)syscall2(__NR_clock_getres, clk, (long)res);
	if (res) {
		res->tv_sec = (__kernel_old_time_t)(ns / NSEC_PER_SEC);
		res->tv_nsec = (long)(ns % NSEC_PER_SEC);
	}
	return 0;
}

/* The third argument is Linux's ignored `struct getcpu_cache *`. */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	const struct oxv_vvar *v = &oxv_vvar_page;
	uint32_t seq, ok, mode, c, n;

	do {
		seq = seq_begin(v);
		ok = layout_matches(v);
		mode = READ_ONCE(v->getcpu_mode);
		c = READ_ONCE(v->cpu);
		n = READ_ONCE(v->node);
	} while (seq_retry(v, seq));

	if (!ok || (mode != OXV_GETCPU_PAGE && mode != OXV_GETCPU_RDTSCP))
		return syscall3(__NR_getcpu, (long)cpu, (long)node, (long)cache);
	if (mode == OXV_GETCPU_RDTSCP) {
		/* IA32_TSC_AUX is per CPU, so this stays right when the thread migrates. */
		unsigned aux;
		__builtin_ia32_rdtscp(&aux);
		c = aux & 0xfff;
		n = aux >> 12;
	}
	if (cpu)
		*cpu = c;
	if (node)
		*node = n;
	return 0;
}

/* Linux exports the same functions under the libc names too (weak, same version). */
int clock_gettime(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval *, struct timezone *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
__kernel_old_time_t time(__kernel_old_time_t *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
