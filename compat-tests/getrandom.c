// getrandom(2): fills the whole buffer (requests up to 256 bytes are never
// short), two calls give different bytes, flags 0, GRND_NONBLOCK, GRND_RANDOM
// and GRND_INSECURE are accepted, unknown flags and GRND_RANDOM|GRND_INSECURE
// are EINVAL, a bad buffer is EFAULT, length 0 returns 0. Raw syscalls, so the
// libc wrapper (or a future vDSO path) is not what is tested.
#include "tst.h"

#include <sys/random.h>

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void check_fill(unsigned flags, const char *name)
{
	unsigned char a[256], b[256];
	long ra, rb;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ra = sys3(SYS_getrandom, a, sizeof(a), flags);
	rb = sys3(SYS_getrandom, b, sizeof(b), flags);
	if (ra == (long)sizeof(a) && rb == (long)sizeof(b))
		tpass("getrandom(256, %s) returns 256 twice", name);
	else
		tfail("getrandom(256, %s): returned %ld and %ld", name, ra, rb);
	/* A chance of 2^-2048 to fail on a correct kernel. */
	tst_check(!all_zero(a, sizeof(a)) && !all_zero(b, sizeof(b)),
		  "the buffers are not all zero");
	tst_check(memcmp(a, b, sizeof(a)) != 0, "two calls give different bytes");
}

int main(void)
{
	unsigned char buf[64], big[4096];
	long r;

	check_fill(0, "0");
	check_fill(GRND_NONBLOCK, "GRND_NONBLOCK");
	check_fill(GRND_RANDOM | GRND_NONBLOCK, "GRND_RANDOM|GRND_NONBLOCK");
	check_fill(GRND_INSECURE, "GRND_INSECURE");

	memset(buf, 0xee, sizeof(buf));
	r = sys3(SYS_getrandom, buf, 7, 0);
	tst_check(r == 7, "getrandom(7) returns 7");
	tst_check(buf[7] == 0xee && buf[63] == 0xee, "bytes past the length are untouched");

	r = sys3(SYS_getrandom, big, sizeof(big), 0);
	tst_check(r > 0 && r <= (long)sizeof(big), "getrandom(4096) returns 1..4096 bytes");

	tst_check(sys3(SYS_getrandom, buf, 0, 0) == 0, "getrandom(len 0) returns 0");
	tst_raw_err("getrandom with flag 0x100", sys3(SYS_getrandom, buf, 16, 0x100), EINVAL);
	tst_raw_err("getrandom with flags -1", sys3(SYS_getrandom, buf, 16, -1), EINVAL);
	tst_raw_err("getrandom GRND_RANDOM|GRND_INSECURE",
		    sys3(SYS_getrandom, buf, 16, GRND_RANDOM | GRND_INSECURE), EINVAL);
	tst_raw_err("getrandom into NULL", sys3(SYS_getrandom, NULL, 16, 0), EFAULT);
	tst_raw_err("getrandom into a kernel address",
		    sys3(SYS_getrandom, 0xffff800000000000UL, 16, 0), EFAULT);

	r = getrandom(buf, sizeof(buf), 0);
	tst_check(r == (long)sizeof(buf), "libc getrandom(64) returns 64");
	return tst_exit();
}
