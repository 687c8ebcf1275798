/* /init of the Linux guest of `oxv bench`: brings up the loopback interface,
 * and, when the initramfs has /modules/order (runs that need the network), loads
 * those kernel modules in that order and gives eth0 QEMU user networking's guest
 * address (10.0.2.15/24, as DHCP would), then runs each benchmark command given on the kernel command line after `--`
 * (commands separated by a `::` argument) with exactly that argv and an empty
 * environment, as oxv runs them, reports each exit status on the console, and
 * powers the VM off. Built with gcc -static; the kernel gives it /dev/console
 * as fds 0-2. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

/* Loads the modules /modules/order names (one file name of /modules a line). */
static int load_modules(void)
{
	FILE *order = fopen("/modules/order", "r");
	if (!order)
		return 0;
	char line[256], path[300];
	while (fgets(line, sizeof line, order)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		snprintf(path, sizeof path, "/modules/%s", line);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0)
			printf("oxv-bench-init: cannot load %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	fclose(order);
	return 1;
}

static int set_addr(int s, unsigned long req, const char *dev, const char *addr)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, dev);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	return ioctl(s, req, &ifr);
}

/* eth0 up as 10.0.2.15/24; waits up to 10 s for the driver to register it. */
static void eth0_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	for (int i = 0; i < 1000 && if_nametoindex("eth0") == 0; i++) {
		struct timespec ten_ms = {0, 10000000};
		nanosleep(&ten_ms, NULL);
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "eth0");
	if (set_addr(s, SIOCSIFADDR, "eth0", "10.0.2.15") != 0 ||
	    set_addr(s, SIOCSIFNETMASK, "eth0", "255.255.255.0") != 0 ||
	    ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		printf("oxv-bench-init: cannot configure eth0: %s\n", strerror(errno));
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		printf("oxv-bench-init: cannot bring eth0 up: %s\n", strerror(errno));
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
	if (load_modules())
		eth0_up();
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
