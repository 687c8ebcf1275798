/* Kernel heap filled by sends nobody reads, round after round in one boot: the OOM victim
 * must end by SIGKILL every round and the kernel must never panic (the oom.rs guest test
 * `sends_that_fill_the_heap_round_after_round_end_by_sigkill`).
 *
 * usage: oom_send_rounds MODE ROUNDS
 *
 * Each round a child fills the kernel heap, its own memory small (its buffers are kernel
 * heap, which no reaper can take back before it exits):
 *   dgram   sendmmsg(2) of 64 datagrams of 192 KiB at a time into an unread AF_UNIX
 *           datagram socket (one call keeps allocating after the kill: with 2 vCPUs the
 *           socket call runs without the kernel lock, so the reap waits for its return);
 *   stream  sends of 192 KiB into many unread AF_UNIX stream socketpairs;
 *   pipe    writev(2) of 64 MiB (one 1 MiB buffer 64 times) into pipes grown to 64 MiB;
 *   tcp     sends of 192 KiB into many unread loopback TCP connections.
 * The parent waits for it and prints "round R: killed by signal S" (or "exited with E").
 * Exit status 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB 1024ul
#define MIB (1024ul * KIB)
#define SEND (192 * KIB)

static char buf[MIB];

static void more_files(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int fill_dgram(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        return 3;
    struct iovec iov = {buf, SEND};
    struct mmsghdr msgs[64];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < 64; i++) {
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (;;) {
        int n = sendmmsg(sv[0], msgs, 64, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN) {
            /* The queue's 512 datagrams are full: another unread socket. */
            if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
                return 3;
        }
    }
}

static int fill_stream(void) {
    for (;;) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
            continue; /* ENOMEM, ENFILE: try again (the killer comes) */
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        while (send(sv[0], buf, SEND, 0) > 0)
            ;
    }
}

static int fill_pipe(void) {
    struct iovec iov[64];
    for (int i = 0; i < 64; i++)
        iov[i] = (struct iovec){buf, MIB};
    for (;;) {
        int fds[2];
        if (pipe2(fds, O_NONBLOCK) < 0)
            continue;
        fcntl(fds[1], F_SETPIPE_SZ, 64 * MIB);
        while (writev(fds[1], iov, 64) > 0)
            ;
    }
}

static int fill_tcp(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0)
        return 3;
    for (;;) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0)
            continue;
        if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
            close(c);
            continue;
        }
        int s = accept(l, NULL, NULL);
        (void)s; /* never read */
        fcntl(c, F_SETFL, O_NONBLOCK);
        while (send(c, buf, SEND, 0) > 0)
            ;
    }
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    const char *mode = argv[1];
    int rounds = atoi(argv[2]);
    for (int r = 1; r <= rounds; r++) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("round %d: fork: %s\n", r, strerror(errno));
            return 1;
        }
        if (pid == 0) {
            more_files();
            memset(buf, 0xa5, sizeof buf);
            if (strcmp(mode, "dgram") == 0)
                _exit(fill_dgram());
            if (strcmp(mode, "stream") == 0)
                _exit(fill_stream());
            if (strcmp(mode, "pipe") == 0)
                _exit(fill_pipe());
            if (strcmp(mode, "tcp") == 0)
                _exit(fill_tcp());
            _exit(2);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) {
            printf("round %d: waitpid: %s\n", r, strerror(errno));
            return 1;
        }
        if (WIFSIGNALED(status))
            printf("round %d: killed by signal %d\n", r, WTERMSIG(status));
        else
            printf("round %d: exited with %d\n", r, WEXITSTATUS(status));
        fflush(stdout);
    }
    return 0;
}
