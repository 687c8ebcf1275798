// pty_basic: /dev/ptmx and /dev/pts (pty(7), posix_openpt(3), grantpt(3), unlockpt(3),
// ptsname(3)): a new master's slave is locked until unlockpt, data flows both ways, raw
// mode passes bytes as they are, canonical mode delivers lines and echoes them to the
// master (NL as CR NL), the window size set on the master is the slave's, poll readiness,
// and what each side sees once the other closes.
#include "tst.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

// Linux moves pty data through a work queue: what one side wrote becomes readable on the
// other a moment later. Positive checks wait for it (up to a second); negative checks look now.
static int readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static int readable(int fd)
{
    return readable_within(fd, 0);
}

static void *write_later(void *arg)
{
    usleep(50000);
    write(*(int *)arg, "late", 4);
    return NULL;
}

static void read_exact(int fd, const char *want, size_t len, const char *what)
{
    char buf[64] = {0};
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    tst_checkf(got == len && memcmp(buf, want, len) == 0, "%s (%zu bytes)", what, got);
}

int main(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0) {
        tfail("posix_openpt: %s", tst_errname(errno));
        return tst_exit();
    }
    tpass("posix_openpt");
    tst_check(grantpt(m) == 0, "grantpt");
    char *name = ptsname(m);
    tst_check(name != NULL && strncmp(name, "/dev/pts/", 9) == 0, "ptsname starts with /dev/pts/");
    char path[64];
    snprintf(path, sizeof path, "%s", name ? name : "");
    unsigned int n = 12345;
    tst_check(ioctl(m, TIOCGPTN, &n) == 0 && n == (unsigned)atoi(path + 9), "TIOCGPTN matches ptsname");
    struct stat st;
    tst_check(stat(path, &st) == 0 && S_ISCHR(st.st_mode), "slave node is a char device");

    int r = open(path, O_RDWR | O_NOCTTY);
    tst_libc_err("slave open while locked", r, errno, EIO);
    int lock = 1;
    tst_check(ioctl(m, TIOCGPTLCK, &lock) == 0 && lock == 1, "TIOCGPTLCK says locked");
    tst_check(unlockpt(m) == 0, "unlockpt");
    int s = open(path, O_RDWR | O_NOCTTY);
    tst_check(s >= 0, "slave open after unlockpt");
    tst_check(isatty(s) && isatty(m), "both ends are terminals");
    const char *tn = ttyname(s);
    tst_check(tn != NULL && strcmp(tn, path) == 0, "ttyname(slave) is ptsname");
    tst_check(!readable(m) && !readable(s), "nothing readable at first");

    struct termios t;
    tst_check(tcgetattr(s, &t) == 0 && (t.c_lflag & ICANON) && (t.c_lflag & ECHO),
              "slave starts canonical with echo");

    // Canonical mode: a line is delivered whole, and echoed to the master.
    write(m, "ab", 2);
    tst_check(!readable(s), "canonical: no line yet");
    write(m, "c\n", 2);
    tst_check(readable_within(s, 1000), "canonical: line readable");
    read_exact(s, "abc\n", 4, "canonical: slave reads abc\\n");
    read_exact(m, "abc\r\n", 5, "canonical: echo on master abc\\r\\n");
    write(s, "out\n", 4);
    read_exact(m, "out\r\n", 5, "slave output NL becomes CR NL");

    // Raw mode.
    cfmakeraw(&t);
    tst_check(tcsetattr(s, TCSANOW, &t) == 0, "cfmakeraw on slave");
    struct termios tm;
    tst_check(tcgetattr(m, &tm) == 0 && !(tm.c_lflag & ICANON), "master sees the slave's termios");
    write(m, "x\ry\n\x03", 5);
    read_exact(s, "x\ry\n\x03", 5, "raw: master to slave exact");
    tst_check(!readable(m), "raw: no echo");
    write(s, "p\nq", 3);
    read_exact(m, "p\nq", 3, "raw: slave to master exact");
    int avail = -1;
    write(m, "1234", 4);
    for (int i = 0; i < 100 && avail != 4; i++) {
        if (ioctl(s, FIONREAD, &avail) != 0)
            break;
        if (avail != 4)
            usleep(10000);
    }
    tst_check(avail == 4, "FIONREAD on slave");
    read_exact(s, "1234", 4, "raw: read back");

    // VMIN/VTIME: MIN 0 TIME 0 polls; MIN 0 TIME 1 waits a tenth of a second.
    char c;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    tst_check(read(s, &c, 1) == 0, "MIN 0 TIME 0: empty read returns 0");
    t.c_cc[VTIME] = 1;
    tcsetattr(s, TCSANOW, &t);
    tst_check(read(s, &c, 1) == 0, "MIN 0 TIME 1: empty read returns 0 after the timeout");
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);

    // Window size.
    struct winsize ws = {.ws_row = 33, .ws_col = 101};
    tst_check(ioctl(m, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ on master");
    struct winsize got = {0};
    tst_check(ioctl(s, TIOCGWINSZ, &got) == 0 && got.ws_row == 33 && got.ws_col == 101,
              "TIOCGWINSZ on slave");

    // Poll.
    struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};
    int pr;
    pr = poll(&p, 1, 0);
    tst_checkf(pr == 1 && p.revents == POLLOUT, "slave idle: POLLOUT only (%#x)", p.revents);
    write(m, "z", 1);
    readable_within(s, 1000);
    p.revents = 0;
    pr = poll(&p, 1, 0);
    tst_checkf(pr == 1 && p.revents == (POLLIN | POLLOUT), "slave with input: POLLIN|POLLOUT (%#x)", p.revents);
    read_exact(s, "z", 1, "raw: z");

    // A blocked slave read wakes when the master writes; epoll sees the master's input.
    pthread_t th;
    pthread_create(&th, NULL, write_later, &m);
    read_exact(s, "late", 4, "blocked slave read woken by master write");
    pthread_join(th, NULL);
    int ep = epoll_create1(0);
    struct epoll_event ee = {.events = EPOLLIN};
    tst_check(epoll_ctl(ep, EPOLL_CTL_ADD, m, &ee) == 0, "epoll_ctl ADD master");
    tst_check(epoll_wait(ep, &ee, 1, 0) == 0, "epoll: master idle");
    write(s, "e", 1);
    tst_check(epoll_wait(ep, &ee, 1, 1000) == 1 && ee.events == EPOLLIN, "epoll: master EPOLLIN");
    read_exact(m, "e", 1, "master reads e");
    close(ep);

    // Nonblocking read of an empty slave.
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    ssize_t rr = read(s, &c, 1);
    tst_libc_err("empty nonblocking slave read", rr, errno, EAGAIN);
    fcntl(s, F_SETFL, fl);

    // A second slave open, then the master closes.
    int s2 = open(path, O_RDWR | O_NOCTTY);
    tst_check(s2 >= 0, "second slave open");
    close(s2);
    write(s, "left", 4);
    close(m);
    tst_check(stat(path, &st) != 0 && errno == ENOENT, "slave node gone after master close");
    p.fd = s;
    p.events = POLLIN;
    p.revents = 0;
    pr = poll(&p, 1, 0);
    tst_checkf(pr == 1 && (p.revents & POLLHUP), "slave POLLHUP after master close (%#x)", p.revents);
    rr = read(s, &c, 1);
    if (rr < 0)
        tpass("slave read after master close: %s", tst_errname(errno));
    else
        tpass("slave read after master close: returns %zd", rr);
    rr = write(s, "x", 1);
    if (rr < 0)
        tpass("slave write after master close: %s", tst_errname(errno));
    else
        tpass("slave write after master close: returns %zd", rr);
    close(s);

    // The master sees EIO once every slave has closed.
    m = posix_openpt(O_RDWR | O_NOCTTY);
    tst_check(m >= 0 && unlockpt(m) == 0, "second pty");
    s = open(ptsname(m), O_RDWR | O_NOCTTY);
    tst_check(s >= 0, "second slave");
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    write(s, "bye", 3);
    tst_check(readable_within(m, 1000), "master readable");
    close(s);
    p.fd = m;
    p.revents = 0;
    pr = poll(&p, 1, 0);
    tst_checkf(pr == 1 && p.revents == (POLLIN | POLLHUP), "master after slave close: POLLIN|POLLHUP (%#x)", p.revents);
    read_exact(m, "bye", 3, "master reads what the slave wrote before closing");
    rr = read(m, &c, 1);
    tst_libc_err("master read with no slave", rr, errno, EIO);
    close(m);

    // forkpty(3): the child's stdout is a new slave; the parent reads it from the master
    // until the child's exit closes the last slave (EIO).
    struct winsize fws = {.ws_row = 24, .ws_col = 80};
    int fm = -1;
    pid_t pid = forkpty(&fm, NULL, NULL, &fws);
    if (pid == 0) {
        struct winsize cws = {0};
        int ok = isatty(1) && ioctl(1, TIOCGWINSZ, &cws) == 0 && cws.ws_col == 80;
        write(1, ok ? "child ok\n" : "child bad\n", ok ? 9 : 10);
        _exit(0);
    }
    tst_check(pid > 0, "forkpty");
    char out[64];
    size_t outlen = 0;
    for (;;) {
        ssize_t k = read(fm, out + outlen, sizeof out - outlen);
        if (k <= 0) {
            tst_libc_err("forkpty master read after the child exits", k, errno, EIO);
            break;
        }
        outlen += (size_t)k;
    }
    tst_check(outlen == 10 && memcmp(out, "child ok\r\n", 10) == 0, "forkpty child output with CR NL");
    int wst = 0;
    tst_check(waitpid(pid, &wst, 0) == pid && WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "forkpty child exit");
    close(fm);
    return tst_exit();
}
