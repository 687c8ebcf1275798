// oxv-args: plain "two words" ünïcødé→✓ 100% %s%n key=value=more "  padded  " --flag=-x
// oxv-env: A_FIRST=1
// oxv-env: EQUALS=a=b=c
// oxv-env: SPACED=hello world
// oxv-env: UTF8=héllo wörld ✓
// oxv-env: PERCENT=100%s%%
// oxv-env: EMPTY=
//
// argv and envp reach main exactly as given (spaces, UTF-8, `%`, `=`, empty
// values), nothing is added to the environment, and the initial stack has the
// layout execve(2) gives it: argv[argc] == NULL, envp right after it, argv and
// envp strings packed one after another (setproctitle-style code relies on
// it), plus the auxv entries every libc reads (getauxval(3)).
#include "tst.h"

#include <stdlib.h>
#include <sys/auxv.h>

extern char **environ;

static const char *const want_args[] = {
	"plain", "two words", "ünïcødé→✓", "100%", "%s%n", "key=value=more", "  padded  ",
	"--flag=-x",
};
#define NWANT_ARGS (sizeof(want_args) / sizeof(want_args[0]))

static const char *const want_env[] = {
	"A_FIRST=1",        "EMPTY=",   "EQUALS=a=b=c", "PERCENT=100%s%%", "SPACED=hello world",
	"UTF8=héllo wörld ✓",
};
#define NWANT_ENV (sizeof(want_env) / sizeof(want_env[0]))

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_args(int argc, char **argv)
{
	int i;

	tst_check(argv[0] != NULL && argv[0][0] == '/', "argv[0] is the absolute path of the binary");
	if (argc != (int)NWANT_ARGS + 1) {
		tfail("argc: got %d, want %d", argc, (int)NWANT_ARGS + 1);
	} else {
		tpass("argc == %d", argc);
	}
	tst_check(argv[argc] == NULL, "argv[argc] == NULL");
	for (i = 1; i < argc; i++)
		printf("argv[%d]=[%s]\n", i, argv[i]);
	for (i = 1; i < argc && i <= (int)NWANT_ARGS; i++) {
		if (strcmp(argv[i], want_args[i - 1]) == 0)
			tpass("argv[%d] is exact", i);
		else
			tfail("argv[%d]: got [%s], want [%s]", i, argv[i], want_args[i - 1]);
	}
}

static void check_env(int argc, char **argv, char **envp)
{
	const char *sorted[64];
	size_t n = 0, i;
	int same;

	tst_check(envp == environ, "envp (main's third argument) == environ");
	tst_check(envp == argv + argc + 1, "envp starts right after argv's NULL");
	while (envp[n] != NULL && n < 64)
		n++;
	if (n != NWANT_ENV) {
		tfail("environment size: got %zu entries, want %zu", n, NWANT_ENV);
	} else {
		tpass("environment has exactly %zu entries", n);
	}
	memcpy(sorted, envp, n * sizeof(sorted[0]));
	/* The host runner may pass variables sorted by name; compare as a set. */
	qsort(sorted, n, sizeof(sorted[0]), cmp_str);
	for (i = 0; i < n; i++)
		printf("env: [%s]\n", sorted[i]);
	same = n == NWANT_ENV;
	for (i = 0; same && i < n; i++)
		same = strcmp(sorted[i], want_env[i]) == 0;
	tst_check(same, "environment is exactly the configured variables");

	tst_check(getenv("SPACED") && strcmp(getenv("SPACED"), "hello world") == 0,
		  "getenv(SPACED) == \"hello world\"");
	tst_check(getenv("EQUALS") && strcmp(getenv("EQUALS"), "a=b=c") == 0,
		  "getenv(EQUALS) keeps '=' in the value");
	tst_check(getenv("EMPTY") && getenv("EMPTY")[0] == '\0', "getenv(EMPTY) is \"\"");
	tst_check(getenv("PATH") == NULL, "PATH is not added");
	tst_check(getenv("HOME") == NULL, "HOME is not added");
	tst_check(getenv("TERM") == NULL, "TERM is not added");
}

static void check_string_area(int argc, char **argv, char **envp)
{
	/* execve(2) copies argv then envp strings into one area of the stack. */
	const char *expect = argv[0];
	int i, packed = 1;

	for (i = 0; i < argc && packed; i++) {
		packed = argv[i] == expect;
		expect = argv[i] + strlen(argv[i]) + 1;
	}
	for (i = 0; envp[i] != NULL && packed; i++) {
		packed = envp[i] == expect;
		expect = envp[i] + strlen(envp[i]) + 1;
	}
	tst_check(packed, "argv and envp strings are contiguous, in order");
}

static void check_auxv(void)
{
	tst_check(getauxval(AT_PAGESZ) == 4096, "auxv AT_PAGESZ == 4096");
	tst_check(getauxval(AT_RANDOM) != 0, "auxv AT_RANDOM is present");
	tst_check(getauxval(AT_PHDR) != 0, "auxv AT_PHDR is present");
	tst_check(getauxval(AT_ENTRY) != 0, "auxv AT_ENTRY is present");
	tst_check(getauxval(AT_SECURE) == 0, "auxv AT_SECURE == 0");
}

int main(int argc, char **argv, char **envp)
{
	check_args(argc, argv);
	check_env(argc, argv, envp);
	check_string_area(argc, argv, envp);
	check_auxv();
	return tst_exit();
}
