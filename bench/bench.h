/* Shared helpers of the oxv benchmark programs (the .c files of bench/).
 *
 * Every program prints machine-readable lines on stdout, read by `oxv bench`
 * (crates/cli/src/bench/output.rs):
 *
 *   oxv-bench name=NAME value=V unit=UNIT [note=free text to the end of the line]
 *   oxv-bench name=NAME unsupported reason=free text to the end of the line
 *
 * The same static binary runs on oxv and in the Linux guest, with the same argv.
 * Times come from CLOCK_MONOTONIC; under QEMU's -icount the guest clock counts
 * executed instructions (shift=0: one per nanosecond), so the host reports those
 * figures as instructions.
 */
#ifndef OXV_BENCH_H
#define OXV_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* CLOCK_BOOTTIME at the start of main: oxv counts it from kernel entry, Linux
 * from the start of its clock (early in setup_arch). Printed as boot_guest. */
static inline void bench_boot_mark(void)
{
	struct timespec t;
	clock_gettime(CLOCK_BOOTTIME, &t);
	printf("oxv-bench name=boot_guest value=%.3f unit=ms\n",
	       (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6);
}

/* A result line; a clock coarser than 1 us (e.g. Linux on jiffies) makes the
 * figure doubtful, so it says so in the note. */
static inline void bench_result_note(const char *name, double value, const char *unit,
				     const char *note)
{
	struct timespec res = {0, 0};
	clock_getres(CLOCK_MONOTONIC, &res);
	double res_ns = (double)res.tv_sec * 1e9 + (double)res.tv_nsec;
	printf("oxv-bench name=%s value=%.3f unit=%s", name, value, unit);
	if (res_ns > 1000 && note)
		printf(" note=coarse clock (resolution %.0f ns); %s\n", res_ns, note);
	else if (res_ns > 1000)
		printf(" note=coarse clock (resolution %.0f ns)\n", res_ns);
	else if (note)
		printf(" note=%s\n", note);
	else
		printf("\n");
}

static inline void bench_result(const char *name, double value, const char *unit)
{
	bench_result_note(name, value, unit, NULL);
}

/* The benchmark cannot run here: `what` failed with `err`. Exits 0: an
 * unsupported feature is a result, not a crash. */
static inline void bench_unsupported(const char *name, const char *what, int err)
{
	printf("oxv-bench name=%s unsupported reason=%s failed: %s (errno %d)\n", name, what,
	       strerror(err), err);
	fflush(stdout);
	exit(0);
}

/* argv[i] as a positive count, or `fallback`. */
static inline long bench_arg(int argc, char **argv, int i, long fallback)
{
	if (argc > i) {
		long v = strtol(argv[i], NULL, 10);
		if (v > 0)
			return v;
	}
	return fallback;
}

#endif
