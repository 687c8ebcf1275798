// inotify(7): inotify_init1 flags; a directory watch sees IN_CREATE, IN_OPEN, IN_MODIFY
// (identical unread events merged), IN_CLOSE_WRITE/NOWRITE, IN_ATTRIB, IN_MOVED_FROM/TO with
// one cookie, IN_CREATE|IN_ISDIR, IN_DELETE with names; a file watch sees IN_ATTRIB,
// IN_DELETE_SELF and IN_IGNORED when the file is unlinked; IN_ONESHOT, IN_MASK_ADD,
// IN_MASK_CREATE, IN_ONLYDIR; inotify_rm_watch queues IN_IGNORED; read(2) of a too-small
// buffer is EINVAL, of an empty queue EAGAIN; FIONREAD; poll and epoll readiness; the
// errors of inotify_add_watch and inotify_rm_watch; listing a watched directory is IN_OPEN,
// IN_ACCESS (merged) and IN_CLOSE_NOWRITE, each with IN_ISDIR.
#include "tst.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* tst_libc_err with errno read after the call (argument order is unspecified). */
#define LIBC_ERR(what, call, e_unused, want)                                                  \
	do {                                                                                   \
		long r_ = (call);                                                              \
		tst_libc_err((what), r_, errno, (want));                                       \
	} while (0)

static char dir[64];
static char buf[4096] __attribute__((aligned(8)));

static void path(char *out, const char *name)
{
	snprintf(out, 128, "%s/%s", dir, name);
}

static void mask_name(uint32_t m, char *out)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ IN_ACCESS, "ACCESS" },	 { IN_MODIFY, "MODIFY" },
		{ IN_ATTRIB, "ATTRIB" },	 { IN_CLOSE_WRITE, "CLOSE_WRITE" },
		{ IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" }, { IN_OPEN, "OPEN" },
		{ IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" },
		{ IN_CREATE, "CREATE" },	 { IN_DELETE, "DELETE" },
		{ IN_DELETE_SELF, "DELETE_SELF" }, { IN_MOVE_SELF, "MOVE_SELF" },
		{ IN_Q_OVERFLOW, "Q_OVERFLOW" }, { IN_IGNORED, "IGNORED" },
		{ IN_ISDIR, "ISDIR" },
	};
	out[0] = 0;
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (m & names[i].bit) {
			if (out[0])
				strcat(out, "|");
			strcat(out, names[i].name);
			m &= ~names[i].bit;
		}
	}
	if (m)
		sprintf(out + strlen(out), "|%#x", m);
}

/* Reads every queued event (non-blocking fd) and prints one line each. */
static void drain(int fd, const char *what)
{
	uint32_t cookie = 0;
	ssize_t n;

	printf("events %s:\n", what);
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			char m[256];
			const char *c = "";

			mask_name(ev->mask, m);
			if (ev->mask & IN_MOVED_FROM) {
				cookie = ev->cookie;
				c = ev->cookie ? " cookie=set" : " cookie=0";
			} else if (ev->mask & IN_MOVED_TO) {
				c = ev->cookie && ev->cookie == cookie ? " cookie=same" : " cookie=other";
			} else if (ev->cookie) {
				c = " cookie=unexpected";
			}
			printf("  wd=%d %s%s name=\"%s\" len%%16=%u\n", ev->wd, m, c,
			       ev->len ? ev->name : "", ev->len % 16);
			p += sizeof *ev + ev->len;
		}
	}
	LIBC_ERR("read of the drained queue", n, errno, EAGAIN);
	fflush(stdout);
}

int main(void)
{
	char a[128], b[128], sub[128], c[128], f[128];
	struct pollfd pfd;
	int fd, wd, wd2, t, pfds[2], ep, avail;
	struct epoll_event ee = { .events = EPOLLIN }, out;

	snprintf(dir, sizeof dir, "/tmp/oxv-inotify-%d", getpid());
	path(a, "a");
	path(b, "b");
	path(sub, "sub");
	path(c, "c");
	path(f, "f");
	if (mkdir(dir, 0755) != 0) {
		tfail("mkdir: %s", tst_errname(errno));
		return tst_exit();
	}

	/* init */
	LIBC_ERR("inotify_init1(bad flag)", inotify_init1(1), errno, EINVAL);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	tst_check(fd >= 0, "inotify_init1(IN_NONBLOCK | IN_CLOEXEC)");
	tst_check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "IN_CLOEXEC sets FD_CLOEXEC");
	tst_checkf((fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK),
		   "F_GETFL is O_RDONLY | O_NONBLOCK");
	t = inotify_init();
	tst_check(t >= 0 && fcntl(t, F_GETFD) == 0, "inotify_init()");
	close(t);
	LIBC_ERR("read with nothing queued", read(fd, buf, sizeof buf), errno, EAGAIN);
	pfd.fd = fd;
	pfd.events = POLLIN;
	tst_check(poll(&pfd, 1, 0) == 0, "poll: not readable while empty");

	/* add_watch errors */
	LIBC_ERR("add_watch IN_MASK_ADD | IN_MASK_CREATE",
		     inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE), errno,
		     EINVAL);
	LIBC_ERR("add_watch mask 0", inotify_add_watch(fd, dir, 0), errno, EINVAL);
	LIBC_ERR("add_watch bad fd", inotify_add_watch(999, dir, IN_CREATE), errno, EBADF);
	if (pipe(pfds) == 0) {
		LIBC_ERR("add_watch on a pipe", inotify_add_watch(pfds[0], dir, IN_CREATE), errno,
			     EINVAL);
		LIBC_ERR("rm_watch on a pipe", inotify_rm_watch(pfds[0], 1), errno, EINVAL);
		close(pfds[0]);
		close(pfds[1]);
	}
	LIBC_ERR("add_watch missing path", inotify_add_watch(fd, a, IN_CREATE), errno, ENOENT);
	LIBC_ERR("add_watch empty path", inotify_add_watch(fd, "", IN_CREATE), errno, ENOENT);

	/* A directory watch. */
	wd = inotify_add_watch(fd, dir,
			       IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM |
				       IN_MOVED_TO | IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE);
	tst_checkf(wd == 1, "first watch is wd 1 (got %d)", wd);
	tst_check(inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB |
						     IN_MOVED_FROM | IN_MOVED_TO | IN_OPEN |
						     IN_CLOSE_WRITE | IN_CLOSE_NOWRITE) == wd,
		  "watching the same inode again gives the same wd");
	LIBC_ERR("IN_MASK_CREATE on a watched inode",
		     inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_CREATE), errno, EEXIST);

	t = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
	tst_check(t >= 0 && write(t, "hi", 2) == 2 && write(t, "there", 5) == 5,
		  "create and write a");
	close(t);
	t = open(a, O_RDONLY);
	close(t);
	chmod(a, 0600);
	tst_check(rename(a, b) == 0, "rename a b");
	tst_check(mkdir(sub, 0755) == 0 && rmdir(sub) == 0, "mkdir and rmdir sub");
	tst_check(symlink("b", c) == 0 && unlink(c) == 0, "symlink and unlink c");

	tst_check(poll(&pfd, 1, 0) == 1 && pfd.revents == POLLIN, "poll: readable with events");
	avail = -1;
	tst_check(ioctl(fd, FIONREAD, &avail) == 0 && avail > 0, "FIONREAD counts queued bytes");
	LIBC_ERR("read into 8 bytes", read(fd, buf, 8), errno, EINVAL);
	{
		ssize_t n = read(fd, buf, sizeof buf);

		tst_checkf(n == avail, "read returns the FIONREAD byte count (%zd vs %d)", n,
			   avail);
		/* Print what was read, then the rest (none). */
		for (char *p = buf; p < buf + (n > 0 ? n : 0);) {
			struct inotify_event *ev = (struct inotify_event *)p;
			char m[256];

			mask_name(ev->mask, m);
			printf("  wd=%d %s%s name=\"%s\" len%%16=%u\n", ev->wd, m,
			       (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO)) ?
				       (ev->cookie ? " cookie=set" : " cookie=0") :
				       (ev->cookie ? " cookie=unexpected" : ""),
			       ev->len ? ev->name : "", ev->len % 16);
			p += sizeof *ev + ev->len;
		}
		if (n > 0) {
			/* The two MOVED events share their cookie. */
			uint32_t from = 0, to = 1;

			for (char *p = buf; p < buf + n;) {
				struct inotify_event *ev = (struct inotify_event *)p;

				if (ev->mask & IN_MOVED_FROM)
					from = ev->cookie;
				if (ev->mask & IN_MOVED_TO)
					to = ev->cookie;
				p += sizeof *ev + ev->len;
			}
			tst_check(from == to, "IN_MOVED_FROM and IN_MOVED_TO share a cookie");
		}
	}
	drain(fd, "after the first read");

	/* epoll sees it too. */
	ep = epoll_create1(0);
	ee.data.fd = fd;
	tst_check(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee) == 0, "epoll_ctl ADD inotify fd");
	tst_check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: nothing while empty");
	t = open(b, O_WRONLY);
	tst_check(epoll_wait(ep, &out, 1, 0) == 1 && out.data.fd == fd, "epoll: ready after open");
	close(t);
	close(ep);
	drain(fd, "open and close b for writing");

	/* rm_watch */
	tst_check(inotify_rm_watch(fd, wd) == 0, "rm_watch");
	LIBC_ERR("rm_watch again", inotify_rm_watch(fd, wd), errno, EINVAL);
	LIBC_ERR("rm_watch bad fd", inotify_rm_watch(999, wd), errno, EBADF);
	t = open(b, O_RDONLY);
	close(t);
	drain(fd, "after rm_watch (then nothing)");

	/* A file watch: IN_ONLYDIR, IN_MASK_ADD, IN_ONESHOT. */
	LIBC_ERR("IN_ONLYDIR on a file", inotify_add_watch(fd, b, IN_OPEN | IN_ONLYDIR), errno,
		     ENOTDIR);
	wd2 = inotify_add_watch(fd, b, IN_OPEN | IN_ONESHOT);
	tst_checkf(wd2 == 2, "next watch is wd 2 (got %d)", wd2);
	tst_check(inotify_add_watch(fd, b, IN_CLOSE_NOWRITE | IN_MASK_ADD) == wd2,
		  "IN_MASK_ADD keeps the wd");
	t = open(b, O_RDONLY);
	close(t);
	t = open(b, O_RDONLY);
	close(t);
	drain(fd, "one-shot file watch, opened twice");

	/* Unlinking a watched file: IN_ATTRIB, IN_DELETE_SELF, IN_IGNORED. */
	t = open(f, O_CREAT | O_WRONLY, 0644);
	close(t);
	wd = inotify_add_watch(fd, f, IN_ATTRIB | IN_DELETE_SELF | IN_MODIFY);
	tst_checkf(wd == 3, "third watch is wd 3 (got %d)", wd);
	truncate(f, 10);
	unlink(f);
	drain(fd, "truncate and unlink of a watched file");
	LIBC_ERR("rm_watch of a watch ended by the deletion", inotify_rm_watch(fd, wd), errno,
		     EINVAL);

	/* The watched directory itself, listed: its own watch hears it, without a name. */
	wd = inotify_add_watch(fd, dir, IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE);
	tst_checkf(wd == 4, "fourth watch is wd 4 (got %d)", wd);
	{
		DIR *d = opendir(dir);
		int entries = 0;

		while (d && readdir(d))
			entries++;
		tst_checkf(d && entries == 3, "listing shows ., .. and b (%d)", entries);
		if (d)
			closedir(d);
	}
	drain(fd, "opendir, readdir to the end, closedir of the watched directory");

	close(fd);
	unlink(b);
	rmdir(dir);
	return tst_exit();
}
