/*
 * The vvar page: the data the kernel publishes for the vDSO, one page mapped read-only right
 * below the vDSO image in every process.
 *
 * This is the C mirror of `VvarData` in crates/kernel/src/vdso.rs. The two must agree field
 * for field: both sides pin every offset with compile-time asserts, the kernel stores
 * OXV_VVAR_VERSION and sizeof(struct oxv_vvar) in the page, and the vDSO falls back to real
 * system calls when either differs from what it was built with (so a stale image is slow,
 * never wrong). Change the layout: change both files and bump the version on both sides.
 *
 * Concurrency: a single kernel writer follows a sequence-counter protocol. It makes `seq`
 * odd, rewrites the fields, then makes `seq` even again. A reader takes an even `seq`, reads
 * what it needs, and retries if `seq` changed meanwhile.
 */
#ifndef OXV_VVAR_H
#define OXV_VVAR_H

#include <stdint.h>

#define OXV_VVAR_VERSION 1u

/*
 * The kernel's fixed-point shift (ns = ticks * mult >> OXV_VVAR_SHIFT), part of this layout
 * version: the page's `shift` field always holds it, and the vDSO uses the constant.
 */
#define OXV_VVAR_SHIFT 40

/* flags: the TSC is readable in ring 3 and the clock fields are valid. */
#define OXV_VVAR_CLOCKS 1u

/* getcpu_mode: where __vdso_getcpu finds the CPU and NUMA node. */
#define OXV_GETCPU_SYSCALL 0u /* ask the kernel */
#define OXV_GETCPU_PAGE 1u    /* the `cpu` and `node` fields (one CPU) */
#define OXV_GETCPU_RDTSCP 2u  /* IA32_TSC_AUX, which the kernel sets to node << 12 | cpu */

struct oxv_vvar {
	uint32_t seq;           /* odd while the kernel rewrites the page */
	uint32_t version;       /* OXV_VVAR_VERSION */
	uint32_t size;          /* sizeof(struct oxv_vvar) */
	uint32_t flags;         /* OXV_VVAR_* */
	uint64_t boot_ticks;    /* TSC at kernel entry: CLOCK_MONOTONIC 0 */
	uint64_t mult;          /* ns = (ticks - boot_ticks) * mult >> shift */
	uint32_t shift;
	uint32_t getcpu_mode;   /* OXV_GETCPU_* */
	int64_t realtime_sec;   /* CLOCK_REALTIME at boot_ticks ... */
	uint64_t realtime_nsec; /* ... split like a timespec: 0 <= nsec < 1e9 */
	uint64_t hres_ns;       /* clock_getres of the precise clocks */
	uint64_t coarse_ns;     /* clock_getres and tick of the _COARSE clocks */
	uint32_t cpu;           /* OXV_GETCPU_PAGE */
	uint32_t node;
};

_Static_assert(__builtin_offsetof(struct oxv_vvar, seq) == 0, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, version) == 4, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, size) == 8, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, flags) == 12, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, boot_ticks) == 16, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, mult) == 24, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, shift) == 32, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, getcpu_mode) == 36, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, realtime_sec) == 40, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, realtime_nsec) == 48, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, hres_ns) == 56, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, coarse_ns) == 64, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, cpu) == 72, "vvar layout");
_Static_assert(__builtin_offsetof(struct oxv_vvar, node) == 76, "vvar layout");
_Static_assert(sizeof(struct oxv_vvar) == 80, "vvar layout");

#endif
