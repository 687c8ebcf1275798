/* /init of the Linux guest of `oxv bench`: brings up the loopback interface,
 * runs each benchmark command given on the kernel command line after `--`
 * (commands separated by a `::` argument) with exactly that argv and an empty
 * environment, as oxv runs them, reports each exit status on the console, and
 * powers the VM off. Built with gcc -static; the kernel gives it /dev/console
 * as fds 0-2. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
			printf("oxv-bench-init: cannot bring lo up: %s\n", strerror(errno));
	}
	close(s);
}

static int run(char **argv)
{
	char *envp[] = {NULL};
	pid_t pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		execve(argv[0], argv, envp);
		printf("oxv-bench-init: cannot run %s: %s\n", argv[0], strerror(errno));
		fflush(stdout);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	loopback_up();
	int i = 1;
	while (i < argc) {
		int end = i;
		while (end < argc && strcmp(argv[end], "::") != 0)
			end++;
		argv[end < argc ? end : argc] = NULL;
		int status = run(&argv[i]);
		printf("oxv-bench-init status=%d program=%s\n", status, argv[i]);
		i = end + 1;
	}
	printf("oxv-bench-init done\n");
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
